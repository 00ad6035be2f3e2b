// The append pipeline: the writer builds batches while the applier writes
// earlier ones to RocksDB and the syncer syncs them. A batch built on rows
// that are not in RocksDB yet must see them (contract state, request ids,
// hash tiles), rows read ahead on a caller's thread must never hide a newer
// row, and a write that fails must acknowledge nothing and stop the log.
// A file system that slows (or fails) appends to the WAL keeps the applier
// behind the writer, so these paths are taken on every batch.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ledger/log.h"
#include "ledger/totals.h"
#include "tests/test_util.h"
#include "tests/wal_fault_fs.h"

namespace ledger {
namespace {

using test::AmendJson;
using test::ContractJson;
using test::Entry;
using test::PaymentJson;
using test::TerminateJson;

// A call whose later entries depend on earlier ones of the same call:
// registrations, then payments, amendments and terminations of them, a
// payment that is too large only after an amendment lowered the amount,
// and resubmissions of earlier entries (duplicates).
std::vector<std::string> DependentCall(const std::string& prefix, int contracts) {
  std::vector<std::string> entries;
  for (int i = 0; i < contracts; ++i) {
    entries.push_back(Entry(ContractJson(prefix + std::to_string(i), "100000.00", "80000.00")));
  }
  for (int i = 0; i < contracts; ++i) {
    std::string id = prefix + std::to_string(i);
    switch (i % 4) {
      case 0:
        entries.push_back(Entry(PaymentJson(id, "30000.00")));
        break;
      case 1:
        entries.push_back(Entry(AmendJson(id, "50000.00", "40000.00")));
        break;
      case 2:
        entries.push_back(Entry(TerminateJson(id)));
        break;
      case 3:
        entries.push_back(entries[i]);  // the registration again
        break;
    }
  }
  for (int i = 0; i < contracts; ++i) {
    std::string id = prefix + std::to_string(i);
    // Over the amended amount (50,000) for i % 4 == 1: refused; refused
    // too after a termination (i % 4 == 2); accepted otherwise.
    entries.push_back(Entry(PaymentJson(id, "60000.00")));
  }
  return entries;
}

struct Outcome {
  std::vector<std::string> results;  // per entry: index and duplicate, or the error code
  uint64_t size = 0;
  std::string checkpoint_root;
  std::string columns;
};

Outcome AppendAndInspect(const std::vector<std::string>& entries, const LogOptions& options) {
  test::TempDir dir;
  EXPECT_TRUE(Log::Init(dir.path(), "xining", "techmarket.cn/xining").ok());
  auto log = Log::Open(dir.path(), options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  Outcome outcome;
  for (const auto& result : (*log)->Append(entries)) {
    outcome.results.push_back(
        result.ok() ? std::to_string(result->index) + (result->duplicate ? " dup" : "")
                    : "error " + std::to_string(static_cast<int>(result.status().code())));
  }
  outcome.size = (*log)->size();
  EXPECT_TRUE((*log)->Verify(nullptr).ok()) << (*log)->Verify(nullptr).ToString();
  auto rebuilt = (*log)->RebuildViews();
  EXPECT_TRUE(rebuilt.ok());
  if (rebuilt.ok()) {
    EXPECT_EQ(rebuilt->before, rebuilt->after) << "views drifted from the log";
  }
  auto root = (*log)->RootAt(outcome.size);
  EXPECT_TRUE(root.ok());
  if (root.ok()) outcome.checkpoint_root = HexEncode(*root);
  outcome.columns = test::ColumnsDigest(
      *(*log)->store(), {Column::kEntries, Column::kContracts, Column::kRequests, Column::kViews});
  return outcome;
}

// The same call committed as one batch and as a pipeline of 16-entry
// batches whose writes lag behind: same receipts, same rows, same root.
TEST(LogPipelineTest, BatchesBuiltOnUnwrittenRowsMatchOneBatch) {
  const std::vector<std::string> entries = DependentCall("PL-", 120);
  ASSERT_LT(entries.size(), limits::kBatchEntriesMax) << "the reference must be one batch";
  Outcome one_batch = AppendAndInspect(entries, LogOptions{.append_piece_entries = 0});

  auto fs = std::make_shared<test::WalFaultFs>(
      test::WalFaults{.append_delay = std::chrono::microseconds(3000)});
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  Outcome pipelined = AppendAndInspect(entries, LogOptions{.append_piece_entries = 16, .env = env.get()});

  EXPECT_EQ(pipelined.results, one_batch.results);
  EXPECT_EQ(pipelined.size, one_batch.size);
  EXPECT_EQ(pipelined.checkpoint_root, one_batch.checkpoint_root);
  EXPECT_EQ(pipelined.columns, one_batch.columns);
  // The expected shape, independently of either run: 120 registrations,
  // 90 follow-ups appended (30 resubmissions are duplicates), and the last
  // 120 payments accepted only for the 60 contracts paid 30,000 or untouched.
  ASSERT_EQ(one_batch.results.size(), 360u);
  EXPECT_EQ(one_batch.size, 120u + 90u + 60u);
  EXPECT_EQ(one_batch.results[120 + 3], "3 dup");
  EXPECT_EQ(one_batch.results[240 + 1].rfind("error", 0), 0u) << "over the amended amount";
  EXPECT_EQ(one_batch.results[240 + 2].rfind("error", 0), 0u) << "after termination";
}

// Several callers at once, each appending calls whose second half pays the
// contracts its first half registers: the rows read ahead for one caller's
// piece go stale while other callers' batches are written, and must not be
// used then.
TEST(LogPipelineTest, ConcurrentCallersSeeEachOthersRowsThroughTheReadAhead) {
  auto fs = std::make_shared<test::WalFaultFs>(
      test::WalFaults{.append_delay = std::chrono::microseconds(1000)});
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  test::TempDir dir;
  ASSERT_TRUE(Log::Init(dir.path(), "xining", "techmarket.cn/xining").ok());
  auto log = Log::Open(dir.path(), LogOptions{.append_piece_entries = 8, .env = env.get()});
  ASSERT_TRUE(log.ok());
  constexpr int kCallers = 4, kCalls = 6, kContracts = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int call = 0; call < kCalls; ++call) {
        std::string prefix = "C" + std::to_string(c) + "-" + std::to_string(call) + "-";
        std::vector<std::string> entries;
        for (int i = 0; i < kContracts; ++i) {
          entries.push_back(Entry(ContractJson(prefix + std::to_string(i))));
        }
        // Exactly the contract amount: a second such payment is refused.
        for (int i = 0; i < kContracts; ++i) {
          entries.push_back(Entry(PaymentJson(prefix + std::to_string(i), "100000.00")));
        }
        // Each contract of the previous call (registered by an earlier
        // call, possibly in a batch not yet written) is fully paid: refused.
        if (call > 0) {
          std::string earlier = "C" + std::to_string(c) + "-" + std::to_string(call - 1) + "-";
          for (int i = 0; i < kContracts; ++i) {
            entries.push_back(Entry(PaymentJson(earlier + std::to_string(i), "1.00")));
          }
        }
        auto results = (*log)->Append(entries);
        for (size_t i = 0; i < results.size(); ++i) {
          bool want_ok = i < 2 * kContracts;
          if (results[i].ok() != want_ok) ++failures;
        }
      }
    });
  }
  for (auto& thread : callers) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*log)->size(), uint64_t{kCallers} * kCalls * 2 * kContracts);
  EXPECT_TRUE((*log)->Verify(nullptr).ok());
  auto rebuilt = (*log)->RebuildViews();
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->before, rebuilt->after);
}

// A batch whose write fails acknowledges nothing, and neither do the
// batches the writer built on it; the log refuses to go on until reopened,
// and the reopened log holds every earlier receipt and verifies.
TEST(LogPipelineTest, FailedWriteAcknowledgesNothingAndStopsAppends) {
  test::TempDir dir;
  ASSERT_TRUE(Log::Init(dir.path(), "xining", "techmarket.cn/xining").ok());
  std::atomic<bool> fail{false};
  auto fs = std::make_shared<test::WalFaultFs>(test::WalFaults{.fail_append = &fail});
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 10; ++i) acknowledged.push_back(Entry(ContractJson("OK-" + std::to_string(i))));
  {
    auto log = Log::Open(dir.path(), LogOptions{.append_piece_entries = 4, .env = env.get()});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (const auto& result : (*log)->Append(acknowledged)) ASSERT_TRUE(result.ok());

    fail = true;
    std::vector<std::string> lost;
    for (int i = 0; i < 12; ++i) lost.push_back(Entry(ContractJson("LOST-" + std::to_string(i))));
    for (const auto& result : (*log)->Append(lost)) {
      ASSERT_FALSE(result.ok()) << "acknowledged an entry whose write failed";
    }
    fail = false;
    EXPECT_EQ((*log)->size(), 10u);
    auto refused = (*log)->Append({Entry(ContractJson("AFTER"))});
    ASSERT_FALSE(refused[0].ok());
    EXPECT_NE(refused[0].status().message().find("failed write"), std::string::npos)
        << refused[0].status().ToString();
  }
  auto log = Log::Open(dir.path(), LogOptions());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ((*log)->size(), 10u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(*(*log)->ReadEntry(i), acknowledged[i]) << i;
  EXPECT_TRUE((*log)->Verify(nullptr).ok()) << (*log)->Verify(nullptr).ToString();
  EXPECT_TRUE((*log)->Append({Entry(ContractJson("AGAIN"))})[0].ok());
}

}  // namespace
}  // namespace ledger
