// A WAL sync that fails (a disk error, through a fault-injecting RocksDB file
// system) acknowledges nothing of the batches it covered, stops the log
// from appending, and leaves a database that reopens and verifies with every
// earlier receipt intact.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <atomic>

#include "ledger/log.h"
#include "tests/test_util.h"
#include "tests/wal_fault_fs.h"

namespace ledger {
namespace {

std::vector<std::string> Entries(const std::string& prefix, int count) {
  std::vector<std::string> entries;
  for (int i = 0; i < count; ++i) {
    entries.push_back(test::Entry(test::ContractJson(prefix + std::to_string(i))));
  }
  return entries;
}

TEST(LogFaultTest, FailedWalSyncAcknowledgesNothingAndStopsAppends) {
  test::TempDir dir;
  ASSERT_TRUE(Log::Init(dir.path(), "xining", "techmarket.cn/xining").ok());
  std::atomic<bool> fail{false};
  auto fs = std::make_shared<test::WalFaultFs>(test::WalFaults{.fail_sync = &fail});
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::string checkpoint_before;
  // Entry() gives each entry a fresh request id: keep the bytes to compare.
  const std::vector<std::string> acknowledged = Entries("OK-", 10);
  {
    auto log = Log::Open(dir.path(), LogOptions{.env = env.get()});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (const auto& result : (*log)->Append(acknowledged)) ASSERT_TRUE(result.ok());
    checkpoint_before = *(*log)->LatestCheckpoint();

    fail = true;
    for (const auto& result : (*log)->Append(Entries("LOST-", 5))) {
      ASSERT_FALSE(result.ok()) << "acknowledged an entry whose sync failed";
    }
    fail = false;
    // Readers never saw the failed batch, and the log refuses to go on.
    EXPECT_EQ((*log)->size(), 10u);
    EXPECT_EQ((*log)->ReadEntry(10).status().code(), Status::Code::kOutOfRange);
    EXPECT_EQ(*(*log)->LatestCheckpoint(), checkpoint_before);
    auto refused = (*log)->Append(Entries("AFTER-", 1));
    ASSERT_FALSE(refused[0].ok());
    EXPECT_NE(refused[0].status().message().find("failed write or WAL sync"), std::string::npos)
        << refused[0].status().ToString();
  }
  // Reopened on the ordinary file system: the ten receipts are there, and
  // whatever else recovery found is a whole, verifiable log.
  auto log = Log::Open(dir.path(), LogOptions());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_GE((*log)->size(), 10u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(*(*log)->ReadEntry(i), acknowledged[i]) << i;
  EXPECT_TRUE((*log)->Verify(nullptr).ok()) << (*log)->Verify(nullptr).ToString();
  auto rebuilt = (*log)->RebuildViews();
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->before, rebuilt->after);
  EXPECT_TRUE((*log)->Append(Entries("AGAIN-", 1))[0].ok());
}

}  // namespace
}  // namespace ledger
