#include "ledger/log.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <thread>

#include "ledger/checkpoint.h"
#include "ledger/entry_json.h"
#include "ledger/merkle.h"
#include "ledger/store_subtrees.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

using test::ContractJson;
using test::Entry;

const std::vector<Column> kDataColumns = {Column::kEntries, Column::kHashes, Column::kRequests,
                                          Column::kViews, Column::kContracts};

// Appended entries read back byte for byte, and the signed checkpoint commits
// to exactly the root an independent in-memory tree computes over them.
TEST(LogTest, AppendedEntriesAreSignedUnderTheirRoot) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  std::vector<std::string> entries;
  for (int i = 0; i < 5; ++i) entries.push_back(Entry(ContractJson("XN-" + std::to_string(i))));
  auto results = log->Append(entries);
  MemoryTree tree;
  for (size_t i = 0; i < entries.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_EQ(results[i]->index, i);
    EXPECT_EQ(results[i]->checkpoint_size, 5u);
    EXPECT_EQ(*log->ReadEntry(i), entries[i]);
    tree.Append(LeafHash(entries[i]));
  }
  auto note = ParseNote(*log->LatestCheckpoint());
  ASSERT_TRUE(note.ok());
  auto verifier = NoteVerifier::FromVkey(log->vkey());
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE(VerifyNote(*note, *verifier).ok());
  auto checkpoint = ParseCheckpoint(note->text);
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(checkpoint->origin, "techmarket.cn/xining");
  EXPECT_EQ(checkpoint->size, 5u);
  EXPECT_EQ(checkpoint->root, tree.Root());
}

// One large batch is signed at least every 4096 entries, so each of those
// sizes has its own checkpoint and receipts name the first one covering them.
TEST(LogTest, LargeBatchSignsEvery4096Entries) {
  test::TempDir dir;
  ASSERT_TRUE(Log::Init(dir.path(), "xining", "techmarket.cn/xining").ok());
  auto log = Log::Open(dir.path(), LogOptions{.append_piece_entries = 0});
  ASSERT_TRUE(log.ok());
  std::vector<std::string> entries;
  for (int i = 0; i < 9000; ++i) entries.push_back(Entry(ContractJson("C" + std::to_string(i))));
  auto results = (*log)->Append(entries);
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0]->checkpoint_size, 4096u);
  EXPECT_EQ(results[4096]->checkpoint_size, 8192u);
  EXPECT_EQ(results[8999]->checkpoint_size, 9000u);
  for (uint64_t size : {0u, 4096u, 8192u, 9000u}) {
    EXPECT_TRUE((*log)->CheckpointAt(size).ok()) << size;
  }
  EXPECT_FALSE((*log)->CheckpointAt(100).ok());
  EXPECT_TRUE((*log)->Verify(nullptr).ok()) << (*log)->Verify(nullptr).ToString();
}

// A call handed to the writer in pieces still gets receipts in order, each
// naming the first signed checkpoint that covers it.
TEST(LogTest, PiecewiseCallReceiptsNameTheFirstCoveringCheckpoint) {
  test::TempDir dir;
  ASSERT_TRUE(Log::Init(dir.path(), "xining", "techmarket.cn/xining").ok());
  auto log = Log::Open(dir.path(), LogOptions{.append_piece_entries = 100});
  ASSERT_TRUE(log.ok());
  std::vector<std::string> entries;
  for (int i = 0; i < 1050; ++i) entries.push_back(Entry(ContractJson("P" + std::to_string(i))));
  auto results = (*log)->Append(entries);
  ASSERT_EQ(results.size(), entries.size());
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << i;
    EXPECT_EQ(results[i]->index, i);
    EXPECT_EQ(*(*log)->ReadEntry(i), entries[i]);
    uint64_t covering = results[i]->checkpoint_size;
    ASSERT_GT(covering, i);
    EXPECT_TRUE((*log)->CheckpointAt(covering).ok()) << covering;
    for (uint64_t size = i + 1; size < covering; ++size) {
      EXPECT_FALSE((*log)->CheckpointAt(size).ok()) << "earlier checkpoint " << size;
    }
  }
  EXPECT_TRUE((*log)->Verify(nullptr).ok());
}

// Resubmitting a request_id returns the original receipt and appends nothing,
// whether the first copy is already stored or in the same batch.
TEST(LogTest, ResubmittedRequestIsIdempotent) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  std::string first = Entry(ContractJson("XN-1"));
  auto original = log->Append({first});
  ASSERT_TRUE(original[0].ok());
  auto again = log->Append({first, Entry(ContractJson("XN-2"))});
  ASSERT_TRUE(again[0].ok());
  EXPECT_TRUE(again[0]->duplicate);
  EXPECT_EQ(again[0]->index, original[0]->index);
  EXPECT_EQ(again[0]->leaf_hash, original[0]->leaf_hash);
  EXPECT_EQ(log->size(), 2u);

  std::string third = Entry(ContractJson("XN-3"));
  auto same_batch = log->Append({third, third});
  ASSERT_TRUE(same_batch[0].ok() && same_batch[1].ok());
  EXPECT_FALSE(same_batch[0]->duplicate);
  EXPECT_TRUE(same_batch[1]->duplicate);
  EXPECT_EQ(same_batch[1]->index, 2u);
  EXPECT_EQ(log->size(), 3u);
}

struct RuleCase {
  const char* name;
  std::string json;
  const char* field;  // must be named in the error
};

// Every stateful rule rejects its entry with an error naming the field, and
// the database afterwards is byte-identical to one that never saw it.
TEST(LogTest, StatefulRulesRejectAndWriteNothing) {
  std::vector<RuleCase> cases = {
      {"amend unknown contract", test::AmendJson("NOPE", "10.00", "5.00"), "contract_id"},
      {"terminate unknown contract", test::TerminateJson("NOPE"), "contract_id"},
      {"payment unknown contract", test::PaymentJson("NOPE", "1.00"), "contract_id"},
      {"payment above amount", test::PaymentJson("LIVE", "100000.01"), "amount"},
      {"payments add up above amount", test::PaymentJson("PAID", "50000.01"), "amount"},
      {"amend terminated contract", test::AmendJson("DEAD", "10.00", "5.00"), "contract_id"},
      {"pay terminated contract", test::PaymentJson("DEAD", "1.00"), "contract_id"},
      {"amend below payments", test::AmendJson("PAID", "40000.00", "1.00"), "contract_amount"},
      {"payment before signing", test::PaymentJson("LIVE", "1.00", "2020-01-01"), "paid_on"},
      {"duplicate contract id", ContractJson("LIVE"), "contract_id"},
      {"duplicate deal id", test::DealJson("D-1"), "deal_id"},
      {"duplicate matchmaking id", test::MatchmakingJson("XN-WH-2021"), "matchmaking_id"},
  };
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  std::vector<std::string> setup = {Entry(ContractJson("LIVE")),
                                    Entry(ContractJson("DEAD")),
                                    Entry(test::TerminateJson("DEAD")),
                                    Entry(ContractJson("PAID")),
                                    Entry(test::PaymentJson("PAID", "50000.00")),
                                    Entry(test::DealJson("D-1")),
                                    Entry(test::MatchmakingJson("XN-WH-2021"))};
  for (const auto& result : log->Append(setup))
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  for (const RuleCase& rule : cases) {
    std::string before = test::ColumnsDigest(*log->store(), kDataColumns);
    uint64_t size = log->size();
    auto results = log->Append({Entry(rule.json)});
    ASSERT_FALSE(results[0].ok()) << rule.name;
    EXPECT_NE(results[0].status().message().find(rule.field), std::string::npos)
        << rule.name << ": " << results[0].status().ToString();
    EXPECT_EQ(log->size(), size) << rule.name;
    EXPECT_EQ(test::ColumnsDigest(*log->store(), kDataColumns), before) << rule.name;
  }
}

// In a batch mixing good and bad entries, only the good ones are written:
// the data equals that of a node that was only ever given the good ones.
TEST(LogTest, MixedBatchWritesOnlyTheGoodEntries) {
  std::string good1 = Entry(ContractJson("A"));
  std::string bad1 = Entry(test::PaymentJson("A", "999999.00"));
  std::string good2 = Entry(test::PaymentJson("A", "10.00"));
  std::string bad2 = "not a flatbuffer at all";
  test::TempDir mixed_dir, clean_dir;
  auto mixed = test::InitAndOpen(mixed_dir.path());
  auto clean = test::InitAndOpen(clean_dir.path());
  auto results = mixed->Append({good1, bad1, good2, bad2});
  EXPECT_TRUE(results[0].ok());
  EXPECT_FALSE(results[1].ok());
  EXPECT_TRUE(results[2].ok());
  EXPECT_EQ(results[3].status().code(), Status::Code::kInvalidArgument);
  for (const auto& result : clean->Append({good1, good2})) ASSERT_TRUE(result.ok());
  EXPECT_EQ(test::ColumnsDigest(*mixed->store(), kDataColumns),
            test::ColumnsDigest(*clean->store(), kDataColumns));
}

// Proofs served by the log verify against its signed roots with the
// independent RFC 9162 verifiers.
TEST(LogTest, ProofsVerifyAgainstSignedRoots) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  std::vector<uint64_t> sizes;
  for (int batch = 0; batch < 6; ++batch) {
    std::vector<std::string> entries;
    for (int i = 0; i <= batch * 3; ++i) {
      entries.push_back(Entry(ContractJson("P" + std::to_string(batch) + "-" + std::to_string(i))));
    }
    log->Append(entries);
    sizes.push_back(log->size());
  }
  for (uint64_t size : sizes) {
    auto checkpoint = ParseCheckpoint(ParseNote(*log->CheckpointAt(size))->text);
    ASSERT_TRUE(checkpoint.ok());
    for (uint64_t index = 0; index < size; ++index) {
      auto proof = log->InclusionProof(index, size);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(
          VerifyInclusion(LeafHash(*log->ReadEntry(index)), index, size, *proof, checkpoint->root)
              .ok());
    }
    auto consistency = log->ConsistencyProof(sizes[0], size);
    ASSERT_TRUE(consistency.ok());
    EXPECT_TRUE(
        VerifyConsistency(sizes[0], size, *log->RootAt(sizes[0]), checkpoint->root, *consistency)
            .ok());
  }
  EXPECT_EQ(log->InclusionProof(log->size(), log->size() + 1).status().code(),
            Status::Code::kOutOfRange);
}

// 64 threads appending one entry each, many times, all get distinct durable
// indices (group commit), and the log verifies afterwards.
TEST(LogTest, ConcurrentSingleAppendsGetDistinctIndices) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  constexpr int kThreads = 64, kPerThread = 20;
  std::vector<std::vector<uint64_t>> indices(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto result =
            log->Append({Entry(ContractJson("T" + std::to_string(t) + "-" + std::to_string(i)))});
        if (result[0].ok()) indices[t].push_back(result[0]->index);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<bool> seen(kThreads * kPerThread, false);
  for (const auto& list : indices) {
    EXPECT_EQ(list.size(), size_t(kPerThread));
    for (uint64_t index : list) {
      ASSERT_LT(index, seen.size());
      EXPECT_FALSE(seen[index]);
      seen[index] = true;
    }
  }
  EXPECT_EQ(log->size(), uint64_t(kThreads * kPerThread));
  EXPECT_TRUE(log->Verify(nullptr).ok()) << log->Verify(nullptr).ToString();
}

// Reopening a log resumes at its head: the next entry gets the next index
// and the tree extends the old one.
TEST(LogTest, ReopenResumesAtHead) {
  test::TempDir dir;
  Hash old_root;
  {
    auto log = test::InitAndOpen(dir.path());
    log->Append({Entry(ContractJson("R1")), Entry(ContractJson("R2")), Entry(ContractJson("R3"))});
    old_root = *log->RootAt(3);
  }
  auto log = Log::Open(dir.path(), LogOptions());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->size(), 3u);
  auto results = (*log)->Append({Entry(ContractJson("R4"))});
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(results[0]->index, 3u);
  EXPECT_TRUE(
      VerifyConsistency(3, 4, old_root, *(*log)->RootAt(4), *(*log)->ConsistencyProof(3, 4)).ok());
  EXPECT_TRUE((*log)->Verify(nullptr).ok());
}

// Hash tiles fill across batches of awkward sizes and across a reopen: every
// complete subtree reads back equal to an independent in-memory tree, and
// incomplete ones are not found.
TEST(LogTest, StoredSubtreesMatchAnIndependentTreeAcrossTiles) {
  test::TempDir dir;
  MemoryTree tree;
  int next = 0;
  auto append = [&](Log* log, int count) {
    std::vector<std::string> entries;
    for (int i = 0; i < count; ++i)
      entries.push_back(Entry(ContractJson("T" + std::to_string(next++))));
    for (const auto& result : log->Append(entries))
      ASSERT_TRUE(result.ok()) << result.status().ToString();
    for (const auto& entry : entries) tree.Append(LeafHash(entry));
  };
  {
    auto log = test::InitAndOpen(dir.path());
    for (int count : {1, 254, 1, 1, 300}) append(log.get(), count);
  }
  auto log = Log::Open(dir.path(), LogOptions());
  ASSERT_TRUE(log.ok());
  for (int count : {211, 256, 513}) append(log->get(), count);
  StoreSubtrees stored((*log)->store(), (*log)->local_origin_id());
  for (uint32_t level = 0; (tree.size() >> level) > 0; ++level) {
    uint64_t complete = tree.size() >> level;
    for (uint64_t index = 0; index <= complete; ++index) {
      auto hash = stored.Subtree(level, index);
      if (index == complete) {
        EXPECT_EQ(hash.status().code(), Status::Code::kNotFound) << level << "/" << index;
      } else {
        ASSERT_TRUE(hash.ok()) << level << "/" << index << ": " << hash.status().ToString();
        EXPECT_EQ(*hash, *tree.Subtree(level, index)) << level << "/" << index;
      }
    }
  }
  EXPECT_EQ(*(*log)->RootAt(tree.size()), tree.Root());
  EXPECT_TRUE((*log)->Verify(nullptr).ok());
}

// A second Init in the same directory refuses instead of replacing the key.
TEST(LogTest, InitRefusesExistingNode) {
  test::TempDir dir;
  ASSERT_TRUE(Log::Init(dir.path(), "xining", "techmarket.cn/xining").ok());
  EXPECT_EQ(Log::Init(dir.path(), "xining", "techmarket.cn/xining").status().code(),
            Status::Code::kAlreadyExists);
  EXPECT_EQ(Log::Init(dir.path() + "/b", "Bad Id", "x").status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace ledger
