#include "ledger/unapplied_rows.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

namespace ledger {
namespace {

// The columns whose rows the writer reads back while building a batch.
constexpr std::array<Column, 3> kReadBack = {Column::kContracts, Column::kRequests,
                                             Column::kHashes};

struct CopiedPut {
  Column column;
  size_t key_offset, key_size, value_offset, value_size;
};

// Copies the batch's Puts into the columns of kReadBack into `bytes` and
// lists where each went.
class ReadBackPuts : public rocksdb::WriteBatch::Handler {
 public:
  ReadBackPuts(const Store* store, std::string* bytes, std::vector<CopiedPut>* puts)
      : bytes_(bytes), puts_(puts) {
    for (size_t i = 0; i < kReadBack.size(); ++i) ids_[i] = store->handle(kReadBack[i])->GetID();
  }

  rocksdb::Status PutCF(uint32_t column_family_id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    for (size_t i = 0; i < kReadBack.size(); ++i) {
      if (ids_[i] != column_family_id) continue;
      CopiedPut put{kReadBack[i], bytes_->size(), key.size(), bytes_->size() + key.size(),
                    value.size()};
      bytes_->append(key.data(), key.size());
      bytes_->append(value.data(), value.size());
      puts_->push_back(put);
      break;
    }
    return rocksdb::Status::OK();
  }
  // No other kind of record is read back, but each must be passed over (the
  // Handler's defaults stop the iteration with an error).
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }

 private:
  std::string* bytes_;
  std::vector<CopiedPut>* puts_;
  std::array<uint32_t, kReadBack.size()> ids_{};
};

}  // namespace

const std::string_view* UnappliedRows::Find(Column column, std::string_view key) const {
  for (auto batch = batches_.rbegin(); batch != batches_.rend(); ++batch) {
    const std::vector<Row>& rows = batch->rows[static_cast<size_t>(column)];
    // The last row with this key is the batch's final version of it.
    auto after = std::upper_bound(rows.begin(), rows.end(), key,
                                  [](std::string_view k, const Row& row) { return k < row.key; });
    if (after != rows.begin() && std::prev(after)->key == key) return &std::prev(after)->value;
  }
  return nullptr;
}

void UnappliedRows::Record(uint64_t batch_no, const rocksdb::WriteBatch& batch) {
  Batch& recorded = batches_.emplace_back();
  recorded.batch_no = batch_no;
  std::vector<CopiedPut> puts;
  ReadBackPuts handler(store_, &recorded.bytes, &puts);
  // Iterating a batch this process built only fails on a bug.
  batch.Iterate(&handler).PermitUncheckedError();
  std::string_view bytes = recorded.bytes;  // final: no more appends
  for (const CopiedPut& put : puts) {
    recorded.rows[static_cast<size_t>(put.column)].push_back(
        {bytes.substr(put.key_offset, put.key_size),
         bytes.substr(put.value_offset, put.value_size)});
  }
  for (std::vector<Row>& rows : recorded.rows) {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.key < b.key; });
  }
}

void UnappliedRows::Forget(uint64_t applied_batch_no) {
  while (!batches_.empty() && batches_.front().batch_no <= applied_batch_no) {
    batches_.pop_front();
  }
  forgotten_through_ = std::max(forgotten_through_, applied_batch_no);
}

StatusOr<std::string> PrefetchedRows::Get(Column column, std::string_view key) const {
  if (store_ != nullptr)
    reads_[static_cast<size_t>(column)].push_back({std::string(key), false, {}});
  return Status::NotFound("not read yet");
}

void PrefetchedRows::Fetch() {
  if (store_ == nullptr) return;
  for (size_t column = 0; column < kColumnCount; ++column) {
    std::vector<Read>& reads = reads_[column];
    if (reads.empty()) continue;
    std::sort(reads.begin(), reads.end(),
              [](const Read& a, const Read& b) { return a.key < b.key; });
    reads.erase(std::unique(reads.begin(), reads.end(),
                            [](const Read& a, const Read& b) { return a.key == b.key; }),
                reads.end());
    std::vector<std::string> keys;
    keys.reserve(reads.size());
    for (const Read& read : reads) keys.push_back(read.key);
    std::vector<StatusOr<std::string>> rows = store_->MultiGet(static_cast<Column>(column), keys);
    // Errors other than NotFound are not kept: the writer reads again and
    // reports them.
    size_t kept = 0;
    for (size_t i = 0; i < reads.size(); ++i) {
      if (!rows[i].ok() && rows[i].status().code() != Status::Code::kNotFound) continue;
      // (No self-move: it may empty the key.)
      if (kept != i) reads[kept].key = std::move(reads[i].key);
      reads[kept].found = rows[i].ok();
      if (rows[i].ok()) reads[kept].value = std::move(*rows[i]);
      ++kept;
    }
    reads.resize(kept);
  }
  store_ = nullptr;
}

bool PrefetchedRows::Find(Column column, std::string_view key, StatusOr<std::string>* row) const {
  const std::vector<Read>& reads = reads_[static_cast<size_t>(column)];
  auto it = std::lower_bound(reads.begin(), reads.end(), key,
                             [](const Read& read, std::string_view k) { return read.key < k; });
  if (it == reads.end() || it->key != key) return false;
  *row = it->found ? StatusOr<std::string>(it->value)
                   : StatusOr<std::string>(Status::NotFound("not found"));
  return true;
}

void LayeredRows::UsePrefetched(const PrefetchedRows* prefetched) {
  bool current = prefetched != nullptr && prefetched->read_after >= unapplied_->forgotten_through();
  prefetched_ = current ? prefetched : nullptr;
}

StatusOr<std::string> LayeredRows::Get(Column column, std::string_view key) const {
  if (const std::string_view* value = unapplied_->Find(column, key)) return std::string(*value);
  StatusOr<std::string> row = Status::NotFound("");
  if (prefetched_ != nullptr && prefetched_->Find(column, key, &row)) return row;
  return store_->Get(column, key);
}

}  // namespace ledger
