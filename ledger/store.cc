#include "ledger/store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <vector>

#include "ledger/encoding.h"
#include "ledger/rocksdb_status.h"
#include "ledger/views.h"

namespace ledger {
namespace {

// Column family names are part of the on-disk format: never rename.
constexpr std::array<const char*, kColumnCount> kColumnNames = {
    "entries", "hashes",   "checkpoints", "origins",     "requests",
    "views",   "evidence", "contracts",   "cosignatures"};

rocksdb::ColumnFamilyOptions ColumnOptions(Column column) {
  rocksdb::ColumnFamilyOptions options;
  options.write_buffer_size = 32u << 20;
  if (column == Column::kViews) {
    // View pages are few, and every batch merges its changed rows into
    // them: a small memtable keeps the versions a skiplist insert searches
    // through few, and a flush combines each page's pending differences
    // into one (pages are summed whole when read, or compacted together
    // with their base).
    options.write_buffer_size = 2u << 20;
    options.merge_operator = NewViewPageMerge();
  }
  rocksdb::BlockBasedTableOptions table;
  // Point lookups dominate requests and views (idempotency, contract state):
  // a Bloom filter makes the common "absent" answer skip the disk.
  if (column == Column::kRequests || column == Column::kContracts || column == Column::kOrigins) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  }
  table.block_size = 16u << 10;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Entries are written once in key order and read in ranges.
  if (column == Column::kEntries) options.compression = rocksdb::kZSTD;
  // Log-ordered keys arrive in increasing order within a prefix (the origin,
  // or origin and level for hashes): a per-prefix insert hint turns each
  // memtable insert from a skiplist search into an append.
  if (column == Column::kEntries || column == Column::kCheckpoints) {
    options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(4));
  } else if (column == Column::kHashes) {
    options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(5));
  } else if (column == Column::kViews) {
    // A batch writes its view rows in key order: each insert starts its
    // search where the previous row of the same kind went.
    options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));
  }
  if (column == Column::kRequests || column == Column::kContracts) {
    // Request ids and contract, deal and matchmaking ids are only ever
    // looked up whole, and arrive in no useful order: a hashed memtable
    // makes inserting and finding them O(1), where a skiplist pays a
    // cache-missing search for each (and a memtable Bloom filter would cost
    // more to keep up than it saves). Request ids are 16 bytes; the other
    // keys are hashed on their first 64 bytes, all of the usual id.
    options.prefix_extractor.reset(column == Column::kRequests
                                       ? rocksdb::NewFixedPrefixTransform(16)
                                       : rocksdb::NewCappedPrefixTransform(64));
    options.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1u << 18));
  }
  return options;
}

}  // namespace

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path, const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  if (options.env != nullptr) db_options.env = options.env;
  // A database made by an older version gains the families added since.
  db_options.create_missing_column_families = !options.read_only;
  db_options.max_background_jobs = 2;
  // Required by the hashed memtable of `requests`; there is one writer anyway.
  db_options.allow_concurrent_memtable_write = false;
  db_options.bytes_per_sync = 1u << 20;
  // Checksums are verified on every read; paranoid checks catch a damaged
  // file at open rather than at some later read.
  db_options.paranoid_checks = true;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (size_t i = 0; i < kColumnCount; ++i) {
    descriptors.emplace_back(kColumnNames[i], ColumnOptions(static_cast<Column>(i)));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw)
          : rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
  if (!status.ok()) return FromRocksDb(status, "open database " + path);

  std::unique_ptr<Store> store(new Store());
  store->db_.reset(raw);
  store->read_only_ = options.read_only;
  // handles[0] is the default family, owned by the DB.
  for (size_t i = 0; i < kColumnCount; ++i) store->handles_[i] = handles[i + 1];
  delete handles[0];
  return store;
}

Store::~Store() {
  if (!db_) return;
  for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

rocksdb::ColumnFamilyHandle* Store::handle(Column column) const {
  return handles_[static_cast<size_t>(column)];
}

StatusOr<std::string> Store::Get(Column column, std::string_view key) const {
  std::string value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), handle(column),
                                    rocksdb::Slice(key.data(), key.size()), &value);
  if (status.ok()) return value;
  // The common answer to the writer's lookups: kept cheap.
  if (status.IsNotFound()) {
    return Status::NotFound(std::string(kColumnNames[size_t(column)]) + ": not found");
  }
  return FromRocksDb(status, kColumnNames[size_t(column)]);
}

std::vector<StatusOr<std::string>> Store::MultiGet(Column column,
                                                   const std::vector<std::string>& keys) const {
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), handle(column), keys.size(), slices.data(), values.data(),
                statuses.data(), /*sorted_input=*/true);
  std::vector<StatusOr<std::string>> rows;
  rows.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) {
      rows.emplace_back(values[i].ToString());
    } else if (statuses[i].IsNotFound()) {
      rows.emplace_back(
          Status::NotFound(std::string(kColumnNames[size_t(column)]) + ": not found"));
    } else {
      rows.emplace_back(FromRocksDb(statuses[i], kColumnNames[size_t(column)]));
    }
  }
  return rows;
}

Status Store::Write(rocksdb::WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  return FromRocksDb(db_->Write(write_options, batch), "write batch");
}

Status Store::SyncWal() { return FromRocksDb(db_->SyncWAL(), "sync WAL"); }

std::string EntryKey(uint32_t origin_id, uint64_t index) {
  std::string key;
  key.reserve(12);
  PutBigEndian32(&key, origin_id);
  PutBigEndian64(&key, index);
  return key;
}

std::string CheckpointKey(uint32_t origin_id, uint64_t size) { return EntryKey(origin_id, size); }

std::string OriginNameKey(std::string_view name) {
  std::string key = "n";
  key += name;
  return key;
}

std::string OriginRecordKey(uint32_t origin_id) {
  std::string key = "o";
  PutBigEndian32(&key, origin_id);
  return key;
}

std::string HeadKey(uint32_t origin_id) {
  std::string key = "h";
  PutBigEndian32(&key, origin_id);
  return key;
}

std::string StoppedKey(uint32_t origin_id) {
  std::string key = "x";
  PutBigEndian32(&key, origin_id);
  return key;
}

std::string CosignatureKey(uint32_t origin_id, uint64_t size, uint32_t key_id) {
  std::string key = EntryKey(origin_id, size);
  PutBigEndian32(&key, key_id);
  return key;
}

std::string HeadValue(uint64_t size, const Hash& root) {
  std::string value;
  PutBigEndian64(&value, size);
  value += AsBytes(root);
  return value;
}

StatusOr<Head> DecodeHead(std::string_view value) {
  if (value.size() != 40) return Status::DataLoss("origins: head record has a bad size");
  return Head{GetBigEndian64(value), HashFromBytes(value.substr(8))};
}

}  // namespace ledger
