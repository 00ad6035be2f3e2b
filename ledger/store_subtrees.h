// StoreSubtrees: the Merkle subtree hashes of one origin, read from the
// Store's `hashes` column family. Thread-safe (reads only).
#pragma once

#include <string>

#include "ledger/merkle.h"
#include "ledger/store.h"

namespace ledger {

class StoreSubtrees : public SubtreeSource {
 public:
  // REQUIRES: store outlives this object.
  StoreSubtrees(const Store* store, uint32_t origin_id) : store_(store), origin_id_(origin_id) {}

  StatusOr<Hash> Subtree(uint32_t level, uint64_t index) const override {
    StatusOr<std::string> value = store_->Get(Column::kHashes, HashKey(origin_id_, level, index));
    if (!value.ok()) return value.status();
    if (value->size() != 32) {
      return Status::DataLoss("hash row level " + std::to_string(level) + " index " +
                              std::to_string(index) + ": bad size");
    }
    return HashFromBytes(*value);
  }

 private:
  const Store* store_;
  uint32_t origin_id_;
};

}  // namespace ledger
