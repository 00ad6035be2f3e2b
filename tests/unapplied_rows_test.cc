// The writer's read path over rows RocksDB does not hold yet
// (ledger/unapplied_rows.h): held batches first, newest first, then rows a
// caller read ahead, then the store; stale read-ahead rows are never used.
#include "ledger/unapplied_rows.h"

#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>

#include "tests/test_util.h"

namespace ledger {
namespace {

class UnappliedRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.create_if_missing = true;
    auto store = Store::Open(dir_.path() + "/db", options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  rocksdb::WriteBatch Batch(std::vector<std::pair<std::string, std::string>> rows) {
    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : rows) {
      batch.Put(store_->handle(Column::kContracts), key, value).PermitUncheckedError();
    }
    // Rows of a column the writer does not read back are not kept.
    batch.Put(store_->handle(Column::kEntries), "k", "entry").PermitUncheckedError();
    return batch;
  }

  // The row as `rows` sees it: its value, or "absent".
  static std::string Read(const RowReader& rows, const std::string& key) {
    StatusOr<std::string> row = rows.Get(Column::kContracts, key);
    if (row.ok()) return *row;
    EXPECT_EQ(row.status().code(), Status::Code::kNotFound) << row.status().ToString();
    return "absent";
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(UnappliedRowsTest, NewestHeldBatchWinsThenTheStore) {
  UnappliedRows unapplied(store_.get());
  rocksdb::WriteBatch stored = Batch({{"a", "stored"}});
  ASSERT_TRUE(store_->Write(&stored, false).ok());
  unapplied.Record(1, Batch({{"b", "one"}, {"c", "first"}, {"c", "second"}}));
  unapplied.Record(2, Batch({{"b", "two"}}));
  LayeredRows rows(store_.get(), &unapplied);
  EXPECT_EQ(Read(rows, "a"), "stored");
  EXPECT_EQ(Read(rows, "b"), "two");
  EXPECT_EQ(Read(rows, "c"), "second") << "the batch's last put of a key";
  EXPECT_EQ(Read(rows, "d"), "absent");
  EXPECT_EQ(unapplied.Find(Column::kEntries, "k"), nullptr);

  unapplied.Forget(1);
  EXPECT_EQ(Read(rows, "b"), "two");
  EXPECT_EQ(Read(rows, "c"), "absent") << "batch 1 was never written to this store";
  EXPECT_EQ(unapplied.forgotten_through(), 1u);
}

// A caller reads ahead while batch 1, which registers "x", is held but not
// written: it sees "x" absent. Once batch 1 is written and forgotten, those
// rows would hide "x"; they must be passed over for the store.
TEST_F(UnappliedRowsTest, StaleReadAheadRowsAreNotUsed) {
  UnappliedRows unapplied(store_.get());
  rocksdb::WriteBatch batch1 = Batch({{"x", "registered"}});
  unapplied.Record(1, batch1);

  PrefetchedRows ahead(store_.get());
  ahead.read_after = 0;
  EXPECT_EQ(Read(ahead, "x"), "absent") << "collecting answers absent";
  ahead.Fetch();
  StatusOr<std::string> seen = Status::Ok();
  ASSERT_TRUE(ahead.Find(Column::kContracts, "x", &seen));
  EXPECT_EQ(seen.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(ahead.Find(Column::kContracts, "y", &seen)) << "never asked for";

  LayeredRows rows(store_.get(), &unapplied);
  rows.UsePrefetched(&ahead);
  EXPECT_EQ(Read(rows, "x"), "registered") << "the held batch comes before read-ahead rows";

  ASSERT_TRUE(store_->Write(&batch1, false).ok());
  unapplied.Forget(1);
  rows.UsePrefetched(&ahead);
  EXPECT_EQ(Read(rows, "x"), "registered") << "stale read-ahead rows were used";

  // Read after batch 1 was written: current, and used.
  PrefetchedRows fresh(store_.get());
  fresh.read_after = 1;
  fresh.Get(Column::kContracts, "x").status().IgnoreError();
  fresh.Fetch();
  rocksdb::WriteBatch behind = Batch({{"x", "changed behind the read-ahead"}});
  ASSERT_TRUE(store_->Write(&behind, false).ok());
  rows.UsePrefetched(&fresh);
  EXPECT_EQ(Read(rows, "x"), "registered") << "current read-ahead rows are used";
}

}  // namespace
}  // namespace ledger
