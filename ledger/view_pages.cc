// The storage of the views (views.h, Storage): pages, the difference pages
// a batch merges into them, and the merge operator that adds them up.
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>

#include "ledger/encoding.h"
#include "ledger/rocksdb_status.h"
#include "ledger/store.h"
#include "ledger/view_format.h"
#include "ledger/views.h"

namespace ledger {
namespace {

using view_format::FieldCount;
using view_format::PageOf;
using view_format::SuffixBytes;
using view_format::ValidKind;

std::string EncodePage(ViewKind kind, const ViewPage& rows) {
  std::string page;
  page.reserve(rows.size() * (SuffixBytes(kind) + FieldCount(kind) * 8));
  for (const auto& [suffix, values] : rows) {
    page += suffix;
    page += values.Encode(kind);
  }
  return page;
}

StatusOr<ViewPage> DecodePage(std::string_view page_key, std::string_view page) {
  auto bad = [&](const std::string& what) {
    return Status::DataLoss("view page " + HexEncode(page_key) + ": " + what);
  };
  if (page_key.empty() || !ValidKind(page_key[0])) return bad("bad key");
  ViewKind kind = static_cast<ViewKind>(page_key[0]);
  size_t suffix_bytes = SuffixBytes(kind);
  size_t record = suffix_bytes + FieldCount(kind) * 8;
  if (page.empty() || page.size() % record != 0) return bad("bad size");
  ViewPage rows;
  for (size_t at = 0; at < page.size(); at += record) {
    std::string suffix(page.substr(at, suffix_bytes));
    if (!ViewKey::Decode(std::string(page_key) + suffix).ok()) return bad("bad key");
    LEDGER_ASSIGN_OR_RETURN(
        ViewValues values,
        ViewValues::Decode(kind, page.substr(at + suffix_bytes, record - suffix_bytes)));
    if (values.IsZero()) return bad("zero row");
    if (!rows.empty() && rows.rbegin()->first >= suffix) return bad("rows out of order");
    rows.emplace_hint(rows.end(), std::move(suffix), values);
  }
  return rows;
}

// Not a page of any kind: its size is no multiple of a record's.
constexpr std::string_view kBadPage = "!";

// a + b row by row (see Storage in views.h), or kBadPage if either is not a
// page of the kind `page_key` names. Rows are matched on their last part
// as the pages order them; a row whose fields sum to zero is left out.
std::string SumPages(std::string_view page_key, std::string_view a, std::string_view b) {
  if (page_key.empty() || !ValidKind(page_key[0])) return std::string(kBadPage);
  const ViewKind kind = static_cast<ViewKind>(page_key[0]);
  const size_t suffix_bytes = SuffixBytes(kind);
  const size_t fields = FieldCount(kind);
  const size_t record = suffix_bytes + fields * 8;
  if (a.size() % record != 0 || b.size() % record != 0) return std::string(kBadPage);
  std::string sum;
  sum.reserve(a.size() + b.size());
  while (!a.empty() || !b.empty()) {
    int order = a.empty()   ? 1
                : b.empty() ? -1
                            : a.substr(0, suffix_bytes).compare(b.substr(0, suffix_bytes));
    if (order != 0) {
      std::string_view& first = order < 0 ? a : b;
      sum.append(first.data(), record);
      first.remove_prefix(record);
      continue;
    }
    const size_t start = sum.size();
    sum.append(a.data(), suffix_bytes);
    bool zero = true;
    for (size_t i = 0; i < fields; ++i) {
      const size_t at = suffix_bytes + i * 8;
      uint64_t field = GetBigEndian64(a.substr(at)) + GetBigEndian64(b.substr(at));
      zero = zero && field == 0;
      PutBigEndian64(&sum, field);
    }
    if (zero) sum.resize(start);
    a.remove_prefix(record);
    b.remove_prefix(record);
  }
  return sum;
}

class ViewPageMerge : public rocksdb::AssociativeMergeOperator {
 public:
  const char* Name() const override { return "techledger.ViewPageSum"; }

  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    *new_value =
        SumPages(key.ToStringView(),
                 existing_value == nullptr ? std::string_view() : existing_value->ToStringView(),
                 value.ToStringView());
    return true;
  }
};

// The rows of `page` that differ from `base`, as a page of differences.
// REQUIRES: page holds every row of base (it started as a copy of it).
std::string DifferencePage(ViewKind kind, const ViewPage& page, const ViewPage* base) {
  static const ViewPage kNone;
  if (base == nullptr) base = &kNone;
  std::string out;
  auto old_row = base->begin();
  for (const auto& [suffix, values] : page) {
    while (old_row != base->end() && old_row->first < suffix) ++old_row;
    const bool existed = old_row != base->end() && old_row->first == suffix;
    std::array<uint64_t, ViewValues::kVolumeFields> difference{};
    bool changed = false;
    for (size_t i = 0; i < FieldCount(kind); ++i) {
      difference[i] = static_cast<uint64_t>(values.v[i]) -
                      (existed ? static_cast<uint64_t>(old_row->second.v[i]) : 0);
      changed = changed || difference[i] != 0;
    }
    if (!changed) continue;
    out += suffix;
    for (size_t i = 0; i < FieldCount(kind); ++i) PutBigEndian64(&out, difference[i]);
  }
  return out;
}

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewViewPageMerge() {
  return std::make_shared<ViewPageMerge>();
}

ViewPageMap PagesOf(const ViewRows& rows) {
  std::map<std::string, ViewPage, std::less<>> pages;
  for (const auto& [key, values] : rows) {
    std::string_view page = PageOf(key);
    pages[std::string(page)].emplace(key.substr(page.size()), values);
  }
  ViewPageMap shared;
  for (auto& [key, page] : pages) {
    shared.emplace(key, std::make_shared<const ViewPage>(std::move(page)));
  }
  return shared;
}

Status LoadViewPages(const Store& store, ViewPageMap* pages) {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(options, store.handle(Column::kViews)));
  pages->clear();
  Status damage;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    StatusOr<ViewPage> page = DecodePage(it->key().ToStringView(), it->value().ToStringView());
    if (!page.ok()) {
      if (damage.ok()) damage = page.status();
      continue;
    }
    pages->emplace_hint(pages->end(), it->key().ToString(),
                        std::make_shared<const ViewPage>(std::move(*page)));
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "views");
  return damage;
}

void PutViewPages(const ViewPageMap& pages, rocksdb::WriteBatch* batch,
                  rocksdb::ColumnFamilyHandle* views) {
  for (const auto& [key, page] : pages) {
    batch->Put(views, key, EncodePage(static_cast<ViewKind>(key[0]), *page)).PermitUncheckedError();
  }
}

void ApplyViewChanges(const ViewChanges& changes, ViewPageMap* pages) {
  for (const auto& [key, page] : changes) {
    if (page == nullptr) {
      pages->erase(key);
    } else {
      (*pages)[key] = page;
    }
  }
}

ViewChanges ViewAccumulator::Flush(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* views) {
  ViewChanges changes;
  changes.reserve(pages_.size());
  for (auto& [key, touched] : pages_) {
    ViewPage& rows = touched.rows;
    std::string difference;
    if (batch != nullptr)
      difference = DifferencePage(static_cast<ViewKind>(key[0]), rows, touched.base);
    std::erase_if(rows, [](const auto& row) { return row.second.IsZero(); });
    if (batch != nullptr) {
      if (rows.empty()) {
        if (touched.base != nullptr) batch->Delete(views, key).PermitUncheckedError();
      } else if (!difference.empty()) {
        batch->Merge(views, key, difference).PermitUncheckedError();
      }
    }
    ViewPagePtr page = rows.empty() ? nullptr : std::make_shared<const ViewPage>(std::move(rows));
    changes.emplace_back(key, std::move(page));
  }
  pages_.clear();
  return changes;
}

}  // namespace ledger
