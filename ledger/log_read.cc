// The read half of Log: entries, checkpoints, proofs and the full verify.
#include <rocksdb/db.h>

#include <memory>

#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/rocksdb_status.h"
#include "ledger/store_subtrees.h"

namespace ledger {
namespace {

Status CheckIndex(uint64_t index, uint64_t size) {
  if (index >= size) {
    return Status::OutOfRange("index " + std::to_string(index) + " is beyond the log size " +
                              std::to_string(size));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> Log::ReadEntry(uint64_t index) const {
  LEDGER_RETURN_IF_ERROR(CheckIndex(index, size()));
  return store_->Get(Column::kEntries, EntryKey(local_origin_id_, index));
}

StatusOr<Hash> Log::LeafHashAt(uint64_t index) const {
  LEDGER_RETURN_IF_ERROR(CheckIndex(index, size()));
  return StoreSubtrees(store_.get(), local_origin_id_).Subtree(0, index);
}

StatusOr<std::string> Log::LatestCheckpoint() const { return CheckpointAt(size()); }

StatusOr<std::string> Log::CheckpointAt(uint64_t size) const {
  // Checkpoints of batches not yet durable are not served.
  if (size > this->size()) {
    return Status::NotFound("no checkpoint was signed at size " + std::to_string(size));
  }
  StatusOr<std::string> note =
      store_->Get(Column::kCheckpoints, CheckpointKey(local_origin_id_, size));
  if (!note.ok() && note.status().code() == Status::Code::kNotFound) {
    return Status::NotFound("no checkpoint was signed at size " + std::to_string(size));
  }
  return note;
}

StatusOr<Hash> Log::RootAt(uint64_t size) const { return RootOf(local_origin_id_, size); }

StatusOr<std::vector<Hash>> Log::InclusionProof(uint64_t index, uint64_t size) const {
  return InclusionProofOf(local_origin_id_, index, size);
}

StatusOr<std::vector<Hash>> Log::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  return ConsistencyProofOf(local_origin_id_, old_size, new_size);
}

// Sizes above the held one would read subtrees that are not durable yet (or
// not stored at all), so they are refused before any read.
StatusOr<Hash> Log::RootOf(uint32_t origin_id, uint64_t size) const {
  uint64_t held = HeldSize(origin_id);
  if (size > held) return CheckIndex(size - 1, held);
  return ledger::RootAt(StoreSubtrees(store_.get(), origin_id), size);
}

StatusOr<std::vector<Hash>> Log::InclusionProofOf(uint32_t origin_id, uint64_t index,
                                                  uint64_t size) const {
  uint64_t held = HeldSize(origin_id);
  if (size > held) return CheckIndex(size - 1, held);
  return ledger::InclusionProof(StoreSubtrees(store_.get(), origin_id), index, size);
}

StatusOr<std::vector<Hash>> Log::ConsistencyProofOf(uint32_t origin_id, uint64_t old_size,
                                                    uint64_t new_size) const {
  uint64_t held = HeldSize(origin_id);
  if (new_size > held) return CheckIndex(new_size - 1, held);
  return ledger::ConsistencyProof(StoreSubtrees(store_.get(), origin_id), old_size, new_size);
}

namespace {

// Walks one origin's log in order, recomputing everything that is stored.
class Verifier {
 public:
  Verifier(const Store* store, uint32_t origin_id, const NoteVerifier& key, std::string origin)
      : store_(store), origin_id_(origin_id), key_(key), origin_(std::move(origin)) {}

  Status Run(uint64_t size, const std::function<void(uint64_t, uint64_t)>& progress);

 private:
  Status CheckEntry(uint64_t index, std::string_view bytes);
  Status CheckCheckpoint(uint64_t size, std::string_view note);
  // The stored hash of one subtree, reading each tile once.
  StatusOr<std::string_view> StoredHash(uint32_t level, uint64_t index);

  const Store* store_;
  uint32_t origin_id_;
  const NoteVerifier& key_;
  std::string origin_;
  Frontier frontier_;
  // Per level, the tile read last: (tile index, bytes).
  std::vector<std::pair<uint64_t, std::string>> tiles_;
};

std::string At(uint64_t index) { return "index " + std::to_string(index) + ": "; }

Status Verifier::CheckEntry(uint64_t index, std::string_view bytes) {
  if (!VerifiedEntry(bytes).ok()) return Status::DataLoss(At(index) + "entry is not a valid Entry");
  Hash leaf = LeafHash(bytes);
  Status mismatch;
  frontier_.Append(leaf, [&](uint32_t level, uint64_t subtree, const Hash& hash) {
    if (!mismatch.ok()) return;
    StatusOr<std::string_view> stored = StoredHash(level, subtree);
    if (!stored.ok()) {
      mismatch = Status::DataLoss(At(index) + "hash level " + std::to_string(level) + ": " +
                                  stored.status().message());
    } else if (*stored != AsBytes(hash)) {
      mismatch = Status::DataLoss(
          At(index) + (level == 0 ? std::string("entry bytes do not match the stored leaf hash")
                                  : "stored hash at level " + std::to_string(level) + " index " +
                                        std::to_string(subtree) + " is wrong"));
    }
  });
  return mismatch;
}

StatusOr<std::string_view> Verifier::StoredHash(uint32_t level, uint64_t index) {
  if (tiles_.size() <= level) tiles_.resize(level + 1);
  auto& [tile, bytes] = tiles_[level];
  if (bytes.empty() || tile != index / kTileWidth) {
    tile = index / kTileWidth;
    LEDGER_ASSIGN_OR_RETURN(bytes,
                            store_->Get(Column::kHashes, HashTileKey(origin_id_, level, tile)));
  }
  size_t offset = (index % kTileWidth) * 32;
  if (bytes.size() % 32 != 0 || bytes.size() < offset + 32) {
    return Status::DataLoss("tile " + std::to_string(tile) + " holds " +
                            std::to_string(bytes.size()) + " bytes, too few for index " +
                            std::to_string(index));
  }
  return std::string_view(bytes).substr(offset, 32);
}

Status Verifier::CheckCheckpoint(uint64_t size, std::string_view note_text) {
  std::string where = "checkpoint at size " + std::to_string(size) + ": ";
  StatusOr<SignedNote> note = ParseNote(note_text);
  if (!note.ok()) return Status::DataLoss(where + note.status().message());
  Status signature = VerifyNote(*note, key_);
  if (!signature.ok()) return Status::DataLoss(where + "signature: " + signature.message());
  StatusOr<Checkpoint> checkpoint = ParseCheckpoint(note->text);
  if (!checkpoint.ok()) return Status::DataLoss(where + checkpoint.status().message());
  if (checkpoint->origin != origin_ || checkpoint->size != size) {
    return Status::DataLoss(where + "origin or size does not match its key");
  }
  if (checkpoint->root != frontier_.Root()) {
    return Status::DataLoss(where +
                            "root does not match the entries (first bad index at or below " +
                            std::to_string(size == 0 ? 0 : size - 1) + ")");
  }
  return Status::Ok();
}

Status Verifier::Run(uint64_t size, const std::function<void(uint64_t, uint64_t)>& progress) {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> entries(
      store_->db()->NewIterator(options, store_->handle(Column::kEntries)));
  std::unique_ptr<rocksdb::Iterator> checkpoints(
      store_->db()->NewIterator(options, store_->handle(Column::kCheckpoints)));
  std::string prefix;
  PutBigEndian32(&prefix, origin_id_);
  entries->Seek(EntryKey(origin_id_, 0));
  checkpoints->Seek(CheckpointKey(origin_id_, 0));
  auto in_origin = [&](rocksdb::Iterator* it) {
    return it->Valid() && it->key().starts_with(prefix);
  };
  for (uint64_t index = 0;; ++index) {
    // Checkpoints at the current size are checked before the next entry.
    while (in_origin(checkpoints.get()) &&
           GetBigEndian64(checkpoints->key().ToStringView().substr(4)) == index) {
      LEDGER_RETURN_IF_ERROR(CheckCheckpoint(index, checkpoints->value().ToStringView()));
      checkpoints->Next();
    }
    if (index == size) break;
    if (!entries->status().ok()) {
      return Status::DataLoss(At(index) + FromRocksDb(entries->status(), "read").message());
    }
    if (!in_origin(entries.get()) ||
        GetBigEndian64(entries->key().ToStringView().substr(4)) != index) {
      return Status::DataLoss(At(index) + "entry is missing");
    }
    // A copy: FlatBuffers verifies alignment, and iterator slices have none.
    LEDGER_RETURN_IF_ERROR(CheckEntry(index, entries->value().ToString()));
    entries->Next();
    if (progress && (index + 1) % 65536 == 0) progress(index + 1, size);
  }
  if (in_origin(entries.get())) {
    return Status::DataLoss(At(size) + "entry stored beyond the head");
  }
  if (in_origin(checkpoints.get())) {
    return Status::DataLoss("checkpoint stored beyond the head size " + std::to_string(size));
  }
  if (progress) progress(size, size);
  return Status::Ok();
}

}  // namespace

Status Log::Verify(const std::function<void(uint64_t, uint64_t)>& progress) const {
  LEDGER_ASSIGN_OR_RETURN(NoteVerifier key, NoteVerifier::FromVkey(vkey_));
  LEDGER_ASSIGN_OR_RETURN(std::string head_value,
                          store_->Get(Column::kOrigins, HeadKey(local_origin_id_)));
  LEDGER_ASSIGN_OR_RETURN(Head head, DecodeHead(head_value));
  Verifier verifier(store_.get(), local_origin_id_, key, origin_);
  LEDGER_RETURN_IF_ERROR(verifier.Run(head.size, progress));
  LEDGER_ASSIGN_OR_RETURN(Hash root, RootAt(head.size));
  if (root != head.root) return Status::DataLoss("head root does not match the log");
  return Status::Ok();
}

}  // namespace ledger
