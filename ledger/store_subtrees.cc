#include "ledger/store_subtrees.h"

#include <rocksdb/write_batch.h>

namespace ledger {

std::string HashTileKey(uint32_t origin_id, uint32_t level, uint64_t tile) {
  std::string key;
  key.reserve(13);
  PutBigEndian32(&key, origin_id);
  key.push_back(static_cast<char>(level));
  PutBigEndian64(&key, tile);
  return key;
}

StatusOr<Hash> StoreSubtrees::Subtree(uint32_t level, uint64_t index) const {
  StatusOr<std::string> tile =
      rows_->Get(Column::kHashes, HashTileKey(origin_id_, level, index / kTileWidth));
  if (!tile.ok()) return tile.status();
  if (tile->empty() || tile->size() % 32 != 0 || tile->size() > kTileWidth * 32) {
    return Status::DataLoss("hash tile level " + std::to_string(level) + " tile " +
                            std::to_string(index / kTileWidth) + ": bad size");
  }
  size_t offset = (index % kTileWidth) * 32;
  if (offset >= tile->size()) {
    return Status::NotFound("subtree level " + std::to_string(level) + " index " +
                            std::to_string(index) + " is not stored");
  }
  return HashFromBytes(std::string_view(*tile).substr(offset, 32));
}

Status TileWriter::Add(uint32_t level, uint64_t index, const Hash& hash) {
  auto key = std::make_pair(level, index / kTileWidth);
  auto it = tiles_.find(key);
  if (it == tiles_.end()) {
    std::string bytes;
    if (index % kTileWidth != 0) {
      LEDGER_ASSIGN_OR_RETURN(
          bytes, rows_->Get(Column::kHashes, HashTileKey(origin_id_, level, key.second)));
    }
    it = tiles_.emplace(key, std::move(bytes)).first;
    it->second.reserve(kTileWidth * 32);
  }
  if (it->second.size() != (index % kTileWidth) * 32) {
    return Status::DataLoss("hash tile level " + std::to_string(level) + " tile " +
                            std::to_string(key.second) + ": holds " +
                            std::to_string(it->second.size() / 32) + " hashes, expected " +
                            std::to_string(index % kTileWidth));
  }
  it->second.append(AsBytes(hash));
  return Status::Ok();
}

void TileWriter::Flush(rocksdb::WriteBatch* batch) {
  for (const auto& [key, bytes] : tiles_) {
    batch->Put(hashes_, HashTileKey(origin_id_, key.first, key.second), bytes)
        .PermitUncheckedError();
  }
  tiles_.clear();
}

}  // namespace ledger
