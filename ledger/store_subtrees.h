// The Merkle subtree hashes of one origin in the Store's `hashes` column
// family, stored as tiles: one row holds up to kTileWidth consecutive hashes
// of one level,
//   hashes  origin_id(4) level(1) tile(8) -> hash[tile*256] .. hash[tile*256+k-1]
// (k = 1..256, 32 bytes each). A tile grows in place until it is full, so an
// append writes about one hash row per batch and level instead of about two
// rows per entry, and a reader finds 256 neighbours in one block.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "ledger/merkle.h"
#include "ledger/store.h"

namespace rocksdb {
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace ledger {

inline constexpr uint64_t kTileWidth = 256;

std::string HashTileKey(uint32_t origin_id, uint32_t level, uint64_t tile);

// Reads subtree hashes. Thread-safe (reads only).
class StoreSubtrees : public SubtreeSource {
 public:
  // REQUIRES: rows outlives this object.
  StoreSubtrees(const RowReader* rows, uint32_t origin_id) : rows_(rows), origin_id_(origin_id) {}

  // NotFound when the subtree is not stored (not complete yet).
  StatusOr<Hash> Subtree(uint32_t level, uint64_t index) const override;

 private:
  const RowReader* rows_;
  uint32_t origin_id_;
};

// Collects the hashes a batch adds (in the order Frontier emits them) and
// writes each tile it touched once. Belongs to the writer thread.
class TileWriter {
 public:
  // Reads the tiles it extends from `rows`; writes them to `hashes`.
  TileWriter(const RowReader* rows, rocksdb::ColumnFamilyHandle* hashes, uint32_t origin_id)
      : rows_(rows), hashes_(hashes), origin_id_(origin_id) {}

  // REQUIRES: `index` is the next hash of `level` (one after the last stored
  // or added one).
  Status Add(uint32_t level, uint64_t index, const Hash& hash);

  // Puts every tile added to since the last Flush into `batch`.
  void Flush(rocksdb::WriteBatch* batch);

 private:
  const RowReader* rows_;
  rocksdb::ColumnFamilyHandle* hashes_;
  uint32_t origin_id_;
  // (level, tile) -> the tile's bytes so far.
  std::map<std::pair<uint32_t, uint64_t>, std::string> tiles_;
};

}  // namespace ledger
