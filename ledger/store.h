// Store: the node's one RocksDB database and the layout of its keys.
//
// Column families (DESIGN.md section 4); their names and every key layout
// below are on-disk formats and never change:
//   entries      origin_id(4) index(8)            -> entry bytes, verbatim
//   hashes       origin_id(4) level(1) tile(8)    -> up to 256 subtree hashes
//                (see store_subtrees.h)
//   checkpoints  origin_id(4) size(8)             -> signed note
//   origins      'n' name                          -> origin_id(4)
//                'o' origin_id(4)                  -> OriginRecord
//                'h' origin_id(4)                  -> head: size(8) root(32)
//                's'                               -> local origin_id(4)
//                'x' origin_id(4)                  -> why it stopped syncing
//   requests     request_id(16)                    -> index(8) of the local log
//   views        projection rows (projections)
//   evidence     origin_id(4) size(8)             -> len(4) note received, note held
//                (two signed checkpoints that contradict each other)
//   contracts    per-origin state of contracts, deals and matchmaking ids
//                (see contracts.h); point lookups only
//   cosignatures origin_id(4) size(8) key_id(4)   -> a witness's cosignature line
// All integers are big-endian so that iteration order is log order.
//
// Thread-safety: a Store may be used from many threads; RocksDB serialises
// writes. The ledger's single writer thread is the only one that writes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/encoding.h"
#include "ledger/status.h"

namespace rocksdb {
class DB;
class Env;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace ledger {

enum class Column : uint8_t {
  kEntries = 0,
  kHashes,
  kCheckpoints,
  kOrigins,
  kRequests,
  kViews,
  kEvidence,
  kContracts,
  kCosignatures,
};
inline constexpr size_t kColumnCount = 9;

struct StoreOptions {
  bool create_if_missing = false;
  bool read_only = false;
  // The OS seam: tests pass an Env whose file system injects faults. Null:
  // RocksDB's default. Not owned; must outlive the Store.
  rocksdb::Env* env = nullptr;
};

// Point reads of rows: the Store itself, or a layer in front of it.
class RowReader {
 public:
  virtual ~RowReader() = default;
  // NotFound when absent.
  virtual StatusOr<std::string> Get(Column column, std::string_view key) const = 0;
};

class Store : public RowReader {
 public:
  // Opens (or, with create_if_missing, creates) the database at `path`.
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                               const StoreOptions& options);
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* handle(Column column) const;
  bool read_only() const { return read_only_; }

  // Point read; NotFound when absent.
  StatusOr<std::string> Get(Column column, std::string_view key) const override;
  // Point reads of many keys in one call (cheaper per key than Get); the
  // results in the order of `keys`, which must be sorted.
  std::vector<StatusOr<std::string>> MultiGet(Column column,
                                              const std::vector<std::string>& keys) const;
  // Applies the batch atomically; with sync, returns only once it is in the
  // synced WAL (acknowledged = durable).
  Status Write(rocksdb::WriteBatch* batch, bool sync);
  // Makes every write so far durable (fsync of the WAL). Safe to call while
  // another thread writes.
  Status SyncWal();

 private:
  Store() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, kColumnCount> handles_{};
  bool read_only_ = false;
};

// Key builders; see the layout above.
std::string EntryKey(uint32_t origin_id, uint64_t index);
std::string CheckpointKey(uint32_t origin_id, uint64_t size);
std::string OriginNameKey(std::string_view name);
std::string OriginRecordKey(uint32_t origin_id);
std::string HeadKey(uint32_t origin_id);
std::string StoppedKey(uint32_t origin_id);
std::string CosignatureKey(uint32_t origin_id, uint64_t size, uint32_t key_id);
inline constexpr std::string_view kLocalOriginKey = "s";

// The head record of an origin: size(8) root(32).
std::string HeadValue(uint64_t size, const Hash& root);
struct Head {
  uint64_t size = 0;
  Hash root{};
};
StatusOr<Head> DecodeHead(std::string_view value);

}  // namespace ledger
