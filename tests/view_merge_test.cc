// The `views` column family's merge operator (views.h, Storage): pages of
// differences merged into a page add up row by row, modulo 2^64, and rows
// that come to zero disappear, whether RocksDB folds them in the memtable,
// in a flush or in a compaction. Input that is not a page gives a value
// that does not load, without stopping RocksDB.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ledger/store.h"
#include "ledger/views.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

// Volume rows: the last part of the key is type and field, the value five
// big-endian 64-bit fields. Encoded here by hand, not with the project's
// encoders.
using Fields = std::array<uint64_t, 5>;
using Page = std::map<std::string, Fields>;  // last part of the key -> fields

std::string EncodePage(const Page& page) {
  std::string out;
  for (const auto& [suffix, fields] : page) {
    out += suffix;
    for (uint64_t field : fields) {
      for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(field >> shift));
    }
  }
  return out;
}

// 'v', the market's length and name, the month (202103): a volume page key.
std::string PageKey(int month) {
  std::string key = "v\x06xining";
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>(month >> shift));
  return key;
}

class ViewMergeTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    store_.reset();
    StoreOptions options;
    options.create_if_missing = true;
    auto store = Store::Open(dir_.path() + "/db", options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  rocksdb::ColumnFamilyHandle* views() { return store_->handle(Column::kViews); }

  // The page as stored, or "" when there is none.
  std::string Stored(const std::string& key) {
    StatusOr<std::string> value = store_->Get(Column::kViews, key);
    if (!value.ok()) {
      EXPECT_EQ(value.status().code(), Status::Code::kNotFound) << value.status().ToString();
      return "";
    }
    EXPECT_FALSE(value->empty()) << "an empty page is stored under " << HexEncode(key);
    return *value;
  }

  void Write(rocksdb::WriteBatch* batch) { ASSERT_TRUE(store_->Write(batch, false).ok()); }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

// Random changes to a few pages, each written as the rows that changed
// (new minus old), or as a deletion when the page is left with no rows,
// with flushes and compactions in between: every read gives the page
// itself, and so does every read after reopening.
TEST_F(ViewMergeTest, DifferencesAddUpToThePageThroughFlushesAndCompactions) {
  std::mt19937_64 rng(20211);
  const std::vector<uint64_t> interesting = {
      0,
      1,
      static_cast<uint64_t>(-1),
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
      static_cast<uint64_t>(std::numeric_limits<int64_t>::min()),
      1000000,
      2};
  std::map<std::string, Page> pages;  // what each page must read as
  auto random_field = [&]() -> uint64_t {
    return rng() % 3 == 0 ? rng() : interesting[rng() % interesting.size()];
  };
  int deletions = 0, zeroed_rows = 0;
  for (int step = 0; step < 600; ++step) {
    const std::string key = PageKey(202101 + static_cast<int>(rng() % 3));
    Page& page = pages[key];
    const bool existed = !page.empty();
    Page difference;
    for (int changes = 1 + static_cast<int>(rng() % 4); changes > 0; --changes) {
      std::string suffix = {static_cast<char>(1 + rng() % 2), static_cast<char>(1 + rng() % 3)};
      Fields old_fields = page.count(suffix) != 0 ? page[suffix] : Fields{};
      Fields new_fields{};
      if (rng() % 3 == 0) {
        for (uint64_t& field : new_fields) field = random_field();
      }
      Fields& delta = difference[suffix];
      for (size_t i = 0; i < delta.size(); ++i) delta[i] += new_fields[i] - old_fields[i];
      if (new_fields == Fields{}) {
        zeroed_rows += page.erase(suffix) != 0 ? 1 : 0;
      } else {
        page[suffix] = new_fields;
      }
    }
    std::erase_if(difference, [](const auto& row) { return row.second == Fields{}; });
    rocksdb::WriteBatch batch;
    if (page.empty()) {
      deletions += existed ? 1 : 0;
      ASSERT_TRUE(batch.Delete(views(), key).ok());
    } else if (!difference.empty()) {
      ASSERT_TRUE(batch.Merge(views(), key, EncodePage(difference)).ok());
    }
    Write(&batch);
    if (page.empty()) pages.erase(key);
    if (step % 17 == 16) {
      ASSERT_TRUE(store_->db()->Flush(rocksdb::FlushOptions(), views()).ok());
    }
    if (step % 101 == 100) {
      ASSERT_TRUE(store_->db()
                      ->CompactRange(rocksdb::CompactRangeOptions(), views(), nullptr, nullptr)
                      .ok());
    }
    for (int month = 202101; month <= 202103; ++month) {
      auto expected = pages.find(PageKey(month));
      ASSERT_EQ(HexEncode(Stored(PageKey(month))),
                HexEncode(expected == pages.end() ? "" : EncodePage(expected->second)))
          << "step " << step << " month " << month;
    }
  }
  // The run went through what it is meant to test.
  EXPECT_GT(deletions, 20) << deletions;
  EXPECT_GT(zeroed_rows, 100) << zeroed_rows;

  Open();
  ViewPageMap loaded;
  ASSERT_TRUE(LoadViewPages(*store_, &loaded).ok());
  ASSERT_EQ(loaded.size(), pages.size());
  for (const auto& [key, page] : pages) {
    EXPECT_EQ(HexEncode(Stored(key)), HexEncode(EncodePage(page)));
    ASSERT_EQ(loaded.count(key), 1u);
    EXPECT_EQ(loaded[key]->size(), page.size());
  }
}

// A stored page damaged into something that is not a page stays damaged
// through later merges, flushes and compactions: the database keeps
// working, and loading the views names the page while still loading the
// others.
TEST_F(ViewMergeTest, MergingIntoADamagedPageGivesAPageThatDoesNotLoad) {
  const Page row = {{std::string("\x01\x02", 2), Fields{1, 100, 80, 0, 0}}};
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(views(), PageKey(202101), "five!").ok());
  ASSERT_TRUE(batch.Merge(views(), PageKey(202101), EncodePage(row)).ok());
  ASSERT_TRUE(batch.Merge(views(), PageKey(202102), EncodePage(row)).ok());
  // Not a page key at all.
  ASSERT_TRUE(batch.Merge(views(), "x", EncodePage(row)).ok());
  Write(&batch);
  ASSERT_TRUE(store_->db()->Flush(rocksdb::FlushOptions(), views()).ok());
  rocksdb::WriteBatch more;
  ASSERT_TRUE(more.Merge(views(), PageKey(202101), EncodePage(row)).ok());
  Write(&more);
  ASSERT_TRUE(
      store_->db()->CompactRange(rocksdb::CompactRangeOptions(), views(), nullptr, nullptr).ok());
  rocksdb::WriteBatch after;
  ASSERT_TRUE(after.Put(views(), PageKey(202103), EncodePage(row)).ok());
  ASSERT_TRUE(store_->Write(&after, true).ok()) << "the database must still take writes";

  ViewPageMap loaded;
  Status status = LoadViewPages(*store_, &loaded);
  EXPECT_EQ(status.code(), Status::Code::kDataLoss);
  EXPECT_NE(status.message().find(HexEncode(PageKey(202101))), std::string::npos)
      << status.ToString();
  EXPECT_EQ(loaded.count(PageKey(202101)), 0u);
  EXPECT_EQ(loaded.count("x"), 0u);
  ASSERT_EQ(loaded.count(PageKey(202102)), 1u);
  ASSERT_EQ(loaded.count(PageKey(202103)), 1u);
  EXPECT_EQ(HexEncode(Stored(PageKey(202102))), HexEncode(EncodePage(row)));
}

}  // namespace
}  // namespace ledger
