// UnappliedRows: the writer thread's view of the rows it has written.
//
// The writer builds a batch and hands it to the applier, which writes it to
// RocksDB (memtable and WAL) while the writer already builds the next batch. The next batch must see the rows of the earlier
// ones (a contract registered one batch before is amended in this one; a
// hash tile grows across batches), so the writer records the rows it reads
// back (contract state, request ids, hash tiles) here until the applier has
// written them; reads look here first, newest batch first, then in the Store.
//
// Thread-safety: owned by the writer thread. The applier publishes how far
// it has written through an atomic the writer passes to Forget.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/store.h"

namespace rocksdb {
class WriteBatch;
}

namespace ledger {

// Read through LayeredRows, which falls back to the Store.
class UnappliedRows {
 public:
  // REQUIRES: store outlives this object.
  explicit UnappliedRows(const Store* store) : store_(store) {}

  // The newest unapplied row; null when no held batch put it.
  const std::string_view* Find(Column column, std::string_view key) const;

  // Records the rows `batch` puts into the columns the writer reads back,
  // as the rows of batch number `batch_no` (increasing with each call).
  void Record(uint64_t batch_no, const rocksdb::WriteBatch& batch);
  // Drops the rows of batches up to `applied_batch_no`: they are in the
  // Store now.
  void Forget(uint64_t applied_batch_no);
  // Every batch numbered above this is held (the largest Forget argument).
  uint64_t forgotten_through() const { return forgotten_through_; }

 private:
  struct Row {
    std::string_view key;
    std::string_view value;
  };
  // One recorded batch: its rows per column sorted by key (a key put twice
  // keeps both, in batch order), viewing into `bytes`.
  struct Batch {
    uint64_t batch_no = 0;
    std::string bytes;
    std::array<std::vector<Row>, kColumnCount> rows;
  };

  const Store* store_;
  std::deque<Batch> batches_;  // oldest first
  uint64_t forgotten_through_ = 0;
};

// Rows of the Store read ahead on a caller's thread, so that the writer
// finds them in memory: the rows one request's entries will look up.
// Read as of some moment after batch `read_after` was written; together
// with the UnappliedRows of every later batch they give the current rows.
class PrefetchedRows : public RowReader {
 public:
  // Collects the keys asked for (answering NotFound) until Fetch reads them
  // all from `store` at once. Null: an empty set.
  explicit PrefetchedRows(const Store* store = nullptr) : store_(store) {}

  StatusOr<std::string> Get(Column column, std::string_view key) const override;
  // Reads every key collected; Find works from here on.
  void Fetch();
  // True when (column, key) was read: *row is the row or NotFound.
  bool Find(Column column, std::string_view key, StatusOr<std::string>* row) const;

  uint64_t read_after = 0;

 private:
  struct Read {
    std::string key;
    bool found = false;
    std::string value;
  };
  const Store* store_;
  mutable std::array<std::vector<Read>, kColumnCount> reads_;
};

// What the writer reads through: the held batches' rows, then a request's
// prefetched rows (when still valid), then the Store.
class LayeredRows : public RowReader {
 public:
  LayeredRows(const Store* store, const UnappliedRows* unapplied)
      : store_(store), unapplied_(unapplied) {}

  StatusOr<std::string> Get(Column column, std::string_view key) const override;
  // The read-ahead rows of the entries read next; null for none. They are
  // used only while every batch written since they were read is still held
  // (else a row they saw as absent or older could hide a newer one).
  // REQUIRES: prefetched outlives its use here.
  void UsePrefetched(const PrefetchedRows* prefetched);

 private:
  const Store* store_;
  const UnappliedRows* unapplied_;
  const PrefetchedRows* prefetched_ = nullptr;
};

}  // namespace ledger
