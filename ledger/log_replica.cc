// The replication half of Log: the origin table and trust registry, serving
// partner logs, verifying received chunks and checkpoints, evidence of
// equivocation, and witness cosignatures.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <future>
#include <memory>

#include "ledger/limits.h"
#include "ledger/log.h"
#include "ledger/rocksdb_status.h"
#include "ledger/store_subtrees.h"

namespace ledger {
namespace {

bool InOrigin(const rocksdb::Iterator& it, uint32_t origin_id) {
  if (!it.Valid() || it.key().size() < 4) return false;
  return GetBigEndian32(it.key().ToStringView()) == origin_id;
}

// The note with only the signature lines of `keys` that verify; NotFound if
// none does, DataLoss if one of them is bad.
StatusOr<std::string> VerifiedNote(const SignedNote& note, const std::vector<NoteVerifier>& keys) {
  SignedNote kept{note.text, {}};
  for (const NoteVerifier& key : keys) {
    Status verified = VerifyNote(note, key);
    if (verified.code() == Status::Code::kNotFound) continue;
    LEDGER_RETURN_IF_ERROR(verified);
    for (const NoteSignature& line : note.signatures) {
      if (line.name == key.name() && line.key_id == key.key_id()) kept.signatures.push_back(line);
    }
  }
  if (kept.signatures.empty()) return Status::NotFound("no signature by a trusted key");
  return FormatNote(kept);
}

std::string EvidenceValue(const std::string& theirs, const std::string& ours) {
  std::string value;
  PutBigEndian32(&value, static_cast<uint32_t>(theirs.size()));
  return value + theirs + ours;
}

}  // namespace

Status Log::LoadOrigins() {
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->handle(Column::kOrigins)));
  for (it->Seek("o"); it->Valid() && it->key().starts_with("o"); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.size() != 5) return Status::DataLoss("origins: bad origin record key");
    uint32_t id = GetBigEndian32(key.substr(1));
    OriginState state;
    LEDGER_ASSIGN_OR_RETURN(state.record, OriginRecord::Decode(id, it->value().ToStringView()));
    LEDGER_ASSIGN_OR_RETURN(std::string head, store_->Get(Column::kOrigins, HeadKey(id)));
    LEDGER_ASSIGN_OR_RETURN(Head decoded, DecodeHead(head));
    state.size = decoded.size;
    StatusOr<std::string> stopped = store_->Get(Column::kOrigins, StoppedKey(id));
    if (stopped.ok()) {
      state.equivocation = *stopped;
    } else if (stopped.status().code() != Status::Code::kNotFound) {
      return stopped.status();
    }
    origin_ids_[state.record.origin] = id;
    origins_[id] = std::move(state);
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "origins");
  return Status::Ok();
}

uint64_t Log::HeldSize(uint32_t origin_id) const {
  if (origin_id == local_origin_id_) return size();
  std::shared_lock<std::shared_mutex> lock(origins_mutex_);
  auto it = origins_.find(origin_id);
  return it == origins_.end() ? 0 : it->second.size;
}

Status Log::Trust(const std::vector<TrustedOrigin>& registry) {
  std::lock_guard<std::mutex> serial(trust_mutex_);
  std::map<uint32_t, OriginState> origins;
  std::map<std::string, uint32_t, std::less<>> ids;
  {
    std::shared_lock<std::shared_mutex> lock(origins_mutex_);
    origins = origins_;
    ids = origin_ids_;
  }
  uint32_t next_id = origins.empty() ? kLocalOriginId + 1 : origins.rbegin()->first + 1;
  rocksdb::WriteBatch batch;
  auto* column = store_->handle(Column::kOrigins);
  std::map<std::string, std::string> markets;  // market -> origin, for duplicates
  for (const TrustedOrigin& trusted : registry) {
    LEDGER_ASSIGN_OR_RETURN(OriginRecord record, RecordOf(trusted));
    auto [seen, fresh] = markets.emplace(record.market, record.origin);
    if (!fresh) return Status::InvalidArgument("registry lists market " + record.market + " twice");
    auto known = ids.find(record.origin);
    if (known != ids.end()) {
      OriginState& state = origins[known->second];
      if (state.record.market != record.market) {
        return Status::FailedPrecondition("registry names origin " + record.origin + " market " +
                                          record.market + ", but it is held as " +
                                          state.record.market);
      }
      if (known->second == local_origin_id_) {
        bool listed = false;
        for (const NoteVerifier& key : record.checkpoint_keys) listed |= key.ToVkey() == vkey_;
        if (!listed) {
          return Status::FailedPrecondition("registry does not list this node's own key " + vkey_);
        }
        // The local log keeps signing with its own key, listed first.
        record.checkpoint_keys = state.record.checkpoint_keys;
      }
      record.id = known->second;
      state.record = record;
    } else {
      for (const auto& [id, state] : origins) {
        if (state.record.market == record.market) {
          return Status::FailedPrecondition("registry names market " + record.market +
                                            " with origin " + record.origin +
                                            ", but it is held as " + state.record.origin);
        }
      }
      if (origins.size() >= limits::kOriginsMax) {
        return Status::ResourceExhausted("more than " + std::to_string(limits::kOriginsMax) +
                                         " origins");
      }
      record.id = next_id++;
      std::string id;
      PutBigEndian32(&id, record.id);
      batch.Put(column, OriginNameKey(record.origin), id).PermitUncheckedError();
      batch.Put(column, HeadKey(record.id), HeadValue(0, EmptyRoot())).PermitUncheckedError();
      ids[record.origin] = record.id;
      origins[record.id].record = record;
    }
    batch.Put(column, OriginRecordKey(record.id), record.Encode()).PermitUncheckedError();
  }
  LEDGER_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  std::unique_lock<std::shared_mutex> lock(origins_mutex_);
  for (auto& [id, state] : origins) {
    // Sizes may have moved since the copy; keep the live ones.
    auto live = origins_.find(id);
    if (live != origins_.end()) state.size = live->second.size;
  }
  origins_ = std::move(origins);
  origin_ids_ = std::move(ids);
  return Status::Ok();
}

std::vector<OriginHead> Log::Heads() const {
  std::vector<OriginHead> heads;
  {
    std::shared_lock<std::shared_mutex> lock(origins_mutex_);
    for (const auto& [id, state] : origins_) {
      OriginHead head;
      head.id = id;
      head.market = state.record.market;
      head.origin = state.record.origin;
      head.size = id == local_origin_id_ ? size() : state.size;
      head.equivocation = state.equivocation;
      heads.push_back(std::move(head));
    }
  }
  for (OriginHead& head : heads) {
    StatusOr<std::string> note =
        store_->Get(Column::kCheckpoints, CheckpointKey(head.id, head.size));
    if (note.ok()) head.checkpoint = *std::move(note);
  }
  std::stable_partition(heads.begin(), heads.end(),
                        [&](const OriginHead& head) { return head.id == local_origin_id_; });
  return heads;
}

StatusOr<OriginHead> Log::HeadOfMarket(std::string_view market) const {
  OriginHead head;
  {
    std::shared_lock<std::shared_mutex> lock(origins_mutex_);
    for (const auto& [id, state] : origins_) {
      if (market.empty() ? id != local_origin_id_ : state.record.market != market) continue;
      head.id = id;
      head.market = state.record.market;
      head.origin = state.record.origin;
      head.size = id == local_origin_id_ ? size() : state.size;
      head.equivocation = state.equivocation;
    }
  }
  if (head.id == 0) {
    return Status::NotFound("market \"" + std::string(market) + "\" is not held by this node");
  }
  StatusOr<std::string> note = store_->Get(Column::kCheckpoints, CheckpointKey(head.id, head.size));
  if (note.ok()) head.checkpoint = *std::move(note);
  return head;
}

StatusOr<OriginRecord> Log::OriginNamed(std::string_view origin) const {
  std::shared_lock<std::shared_mutex> lock(origins_mutex_);
  auto id = origin_ids_.find(origin);
  if (id == origin_ids_.end()) {
    return Status::NotFound("origin " + std::string(origin) + " is not in the trust registry");
  }
  return origins_.at(id->second).record;
}

std::map<uint32_t, std::string> Log::OriginNames() const {
  std::map<uint32_t, std::string> names;
  std::shared_lock<std::shared_mutex> lock(origins_mutex_);
  for (const auto& [id, state] : origins_) names[id] = state.record.origin;
  return names;
}

StatusOr<std::vector<std::string>> Log::ReadEntries(uint32_t origin_id, uint64_t from,
                                                    uint64_t to) const {
  uint64_t held = HeldSize(origin_id);
  if (from > to || to > held) {
    return Status::OutOfRange("entries [" + std::to_string(from) + ", " + std::to_string(to) +
                              ") are beyond the held size " + std::to_string(held));
  }
  std::vector<std::string> entries;
  entries.reserve(to - from);
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(options, store_->handle(Column::kEntries)));
  it->Seek(EntryKey(origin_id, from));
  for (uint64_t index = from; index < to; ++index, it->Next()) {
    if (!it->Valid() || it->key().ToStringView() != EntryKey(origin_id, index)) {
      if (!it->status().ok()) return FromRocksDb(it->status(), "entries");
      return Status::DataLoss("entry " + std::to_string(index) + " is missing");
    }
    entries.push_back(it->value().ToString());
  }
  return entries;
}

StatusOr<std::vector<uint64_t>> Log::SignedSizes(uint32_t origin_id, uint64_t from,
                                                 uint64_t limit) const {
  limit = std::min(limit, HeldSize(origin_id));
  std::vector<uint64_t> sizes;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->handle(Column::kCheckpoints)));
  for (it->Seek(CheckpointKey(origin_id, from + 1)); InOrigin(*it, origin_id); it->Next()) {
    if (it->key().size() != 12) return Status::DataLoss("checkpoints: bad key");
    uint64_t size = GetBigEndian64(it->key().ToStringView().substr(4));
    if (size > limit) break;
    sizes.push_back(size);
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "checkpoints");
  return sizes;
}

void Log::SetDurableListener(std::function<void(uint32_t origin_id, uint64_t size)> listener) {
  std::lock_guard<std::mutex> lock(mutex_);
  durable_listener_ = std::move(listener);
}

StatusOr<std::string> Log::CheckpointOf(uint32_t origin_id, uint64_t size) const {
  if (size > HeldSize(origin_id)) {
    return Status::NotFound("no checkpoint is held at size " + std::to_string(size));
  }
  LEDGER_ASSIGN_OR_RETURN(std::string note,
                          store_->Get(Column::kCheckpoints, CheckpointKey(origin_id, size)));
  std::string prefix = CheckpointKey(origin_id, size);
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->handle(Column::kCosignatures)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    note += it->value().ToString();
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "cosignatures");
  return note;
}

StatusOr<ObservedCheckpoint> Log::ObserveCheckpoint(std::string_view note) {
  LEDGER_ASSIGN_OR_RETURN(SignedNote parsed, ParseNote(note));
  LEDGER_ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpoint(parsed.text));
  LEDGER_ASSIGN_OR_RETURN(OriginRecord record, OriginNamed(checkpoint.origin));
  ObservedCheckpoint observed;
  observed.origin_id = record.id;
  StatusOr<std::string> kept = VerifiedNote(parsed, record.checkpoint_keys);
  if (!kept.ok()) {
    // A trusted origin's name with no trusted signature is forged data, not
    // an unknown origin.
    Status why = kept.status().code() == Status::Code::kNotFound
                     ? Status::DataLoss(kept.status().message())
                     : kept.status();
    return why.WithContext("checkpoint of " + record.market + " at size " +
                           std::to_string(checkpoint.size));
  }
  observed.note = *std::move(kept);
  observed.checkpoint = std::move(checkpoint);
  {
    std::shared_lock<std::shared_mutex> lock(origins_mutex_);
    const OriginState& state = origins_.at(record.id);
    if (!state.equivocation.empty()) {
      return Status::FailedPrecondition(record.market + " stopped syncing: " + state.equivocation);
    }
  }
  observed.held = HeldSize(record.id);
  uint64_t size = observed.checkpoint.size;
  if (size > observed.held) {
    // This node publishes only durable checkpoints: one of its own beyond
    // what it holds means it lost what it had signed.
    if (record.id == local_origin_id_) {
      return StopOwnLog("is behind what it signed: a checkpoint signed with its key is at size " +
                        std::to_string(size) + ", beyond the " + std::to_string(observed.held) +
                        " entries held here (was the node restored from an older copy?)");
    }
    return observed;
  }
  LEDGER_ASSIGN_OR_RETURN(Hash ours, ledger::RootAt(StoreSubtrees(store_.get(), record.id), size));
  if (ours == observed.checkpoint.root) return observed;
  LEDGER_RETURN_IF_ERROR(RecordEquivocation(record.id, observed.note, size));
  if (record.id == local_origin_id_) {
    // Restored from an older copy and appended since, or the key signs
    // elsewhere: either way more entries would only extend the fork.
    return StopOwnLog("forked from what it signed: a checkpoint signed with its key at size " +
                      std::to_string(size) +
                      " contradicts the log held here (evidence stored; was the node restored "
                      "from an older copy and appended to since?)");
  }
  return Status::DataLoss("equivocation: " + record.market + " signed a checkpoint at size " +
                          std::to_string(size) + " that contradicts the log we hold");
}

Status Log::RecordEquivocation(uint32_t origin_id, const std::string& theirs, uint64_t size) {
  std::lock_guard<std::mutex> serial(trust_mutex_);
  // Ours: the first signed checkpoint at or after `size`, whose tree fixes
  // the root at `size`.
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->handle(Column::kCheckpoints)));
  it->Seek(CheckpointKey(origin_id, size));
  if (!InOrigin(*it, origin_id)) {
    if (!it->status().ok()) return FromRocksDb(it->status(), "checkpoints");
    return Status::DataLoss("no held checkpoint covers size " + std::to_string(size));
  }
  std::string ours = it->value().ToString();
  std::string reason = "equivocation at size " + std::to_string(size) + " (evidence stored)";
  rocksdb::WriteBatch batch;
  batch
      .Put(store_->handle(Column::kEvidence), CheckpointKey(origin_id, size),
           EvidenceValue(theirs, ours))
      .PermitUncheckedError();
  // The node's own log is stopped by the caller (StopOwnLog), which says why.
  if (origin_id != local_origin_id_) {
    batch.Put(store_->handle(Column::kOrigins), StoppedKey(origin_id), reason)
        .PermitUncheckedError();
  }
  LEDGER_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  if (origin_id != local_origin_id_) {
    std::unique_lock<std::shared_mutex> lock(origins_mutex_);
    origins_[origin_id].equivocation = reason;
  }
  return Status::Ok();
}

Status Log::StopOwnLog(const std::string& what) {
  std::lock_guard<std::mutex> serial(trust_mutex_);
  if (own_log_behind_.load(std::memory_order_acquire)) return OwnLogRefusal();
  const std::string reason =
      "this market's own log " + what +
      "; appending would give indices signed before a second history, so appends are refused "
      "until the latest backup is restored";
  rocksdb::WriteBatch batch;
  batch.Put(store_->handle(Column::kOrigins), StoppedKey(local_origin_id_), reason)
      .PermitUncheckedError();
  Status written = store_->Write(&batch, /*sync=*/true);
  {
    std::unique_lock<std::shared_mutex> lock(origins_mutex_);
    origins_[local_origin_id_].equivocation =
        written.ok() ? reason : reason + " (not kept across a restart: " + written.ToString() + ")";
  }
  own_log_behind_.store(true, std::memory_order_release);
  return OwnLogRefusal();
}

Status Log::OwnLogRefusal() const {
  if (!own_log_behind_.load(std::memory_order_acquire)) return Status::Ok();
  std::shared_lock<std::shared_mutex> lock(origins_mutex_);
  return Status::FailedPrecondition("appends refused: " +
                                    origins_.at(local_origin_id_).equivocation);
}

StatusOr<std::vector<Equivocation>> Log::Evidence() const {
  std::map<uint32_t, std::string> names = OriginNames();
  std::vector<Equivocation> evidence;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->handle(Column::kEvidence)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view value = it->value().ToStringView();
    if (it->key().size() != 12 || value.size() < 4 || GetBigEndian32(value) > value.size() - 4) {
      return Status::DataLoss("evidence: bad record");
    }
    uint32_t theirs_bytes = GetBigEndian32(value);
    evidence.push_back({names[GetBigEndian32(it->key().ToStringView())],
                        std::string(value.substr(4, theirs_bytes)),
                        std::string(value.substr(4 + theirs_bytes))});
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "evidence");
  return evidence;
}

void Log::Replicate(ReplicaChunk chunk, ReplicaDone done) {
  assert(!store_->read_only());
  StatusOr<ObservedCheckpoint> observed = ObserveCheckpoint(chunk.checkpoint);
  if (!observed.ok()) return done(observed.status());
  uint64_t count = chunk.entries.size();
  if (observed->checkpoint.size != chunk.from + count || count > limits::kChunkEntriesMax) {
    return done(Status::DataLoss("chunk of " + std::to_string(count) + " entries from " +
                                 std::to_string(chunk.from) + " does not end at its checkpoint (" +
                                 std::to_string(observed->checkpoint.size) + ")"));
  }
  if (observed->origin_id == local_origin_id_) {
    return done(Status::AlreadyExists("this node's own log is never replicated into it"));
  }
  if (observed->checkpoint.size <= observed->held) {
    return done(Status::AlreadyExists("already held up to " + std::to_string(observed->held)));
  }
  auto request = std::make_unique<Request>();
  request->prechecked.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    StatusOr<Hash> leaf = Precheck(chunk.entries[i]);
    if (!leaf.ok()) {
      return done(Status::DataLoss("entry " + std::to_string(chunk.from + i) + ": " +
                                   leaf.status().message()));
    }
    request->prechecked.push_back(*leaf);
  }
  request->entries = std::move(chunk.entries);
  request->replica = std::make_unique<ReplicaWork>();
  ReplicaWork& work = *request->replica;
  work.origin_id = observed->origin_id;
  {
    std::shared_lock<std::shared_mutex> lock(origins_mutex_);
    work.market = origins_.at(work.origin_id).record.market;
  }
  work.from = chunk.from;
  work.end = observed->checkpoint.size;
  work.root = observed->checkpoint.root;
  work.note = std::move(observed->note);
  work.done = std::move(done);
  {
    rocksdb::WriteBatch rows(0, limits::kBatchBytesMax * 2);
    auto* column = store_->handle(Column::kEntries);
    for (size_t i = 0; i < count; ++i) {
      rows.Put(column, EntryKey(work.origin_id, chunk.from + i), request->entries[i])
          .PermitUncheckedError();
    }
    work.entry_rows = rows.Data();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) {
    work.done(Status::Unavailable("log is closing"));
    return;
  }
  // No wait for room: the caller bounds its chunks in flight.
  queued_entries_ += count;
  queue_.push_back(request.release());
  queue_cv_.notify_one();
}

StatusOr<uint64_t> Log::Replicate(ReplicaChunk chunk) {
  std::promise<StatusOr<uint64_t>> promise;
  std::future<StatusOr<uint64_t>> future = promise.get_future();
  Replicate(std::move(chunk), [&](StatusOr<uint64_t> result) { promise.set_value(result); });
  return future.get();
}

std::string Log::Cosign(std::string_view checkpoint_text) const {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  uint64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  return FormatSignatureLine(cosigner_->Cosign(checkpoint_text, seconds));
}

StatusOr<size_t> Log::AddCosignatures(std::string_view note) {
  LEDGER_ASSIGN_OR_RETURN(SignedNote parsed, ParseNote(note));
  LEDGER_ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpoint(parsed.text));
  LEDGER_ASSIGN_OR_RETURN(OriginRecord record, OriginNamed(checkpoint.origin));
  std::string where =
      "cosignature of " + record.market + " at size " + std::to_string(checkpoint.size) + ": ";
  StatusOr<std::string> held = CheckpointOf(record.id, checkpoint.size);
  if (!held.ok() || !held->starts_with(parsed.text + "\n")) {
    return Status::NotFound(where + "that checkpoint is not held");
  }
  std::vector<NoteVerifier> witnesses;
  {
    std::shared_lock<std::shared_mutex> lock(origins_mutex_);
    for (const auto& [id, state] : origins_) {
      for (const NoteVerifier& key : state.record.witness_keys) witnesses.push_back(key);
    }
  }
  rocksdb::WriteBatch batch;
  size_t added = 0;
  for (const NoteVerifier& witness : witnesses) {
    Status verified = VerifyNote(parsed, witness);
    if (verified.code() == Status::Code::kNotFound) continue;
    LEDGER_RETURN_IF_ERROR(verified.WithContext(where + witness.name()));
    for (const NoteSignature& line : parsed.signatures) {
      if (line.name != witness.name() || line.key_id != witness.key_id()) continue;
      std::string key = CosignatureKey(record.id, checkpoint.size, witness.key_id());
      std::string text = FormatSignatureLine(line);
      if (held->find(text) != std::string::npos) continue;
      batch.Put(store_->handle(Column::kCosignatures), key, text).PermitUncheckedError();
      ++added;
    }
  }
  if (added == 0 && batch.Count() == 0) {
    bool any_known = false;
    for (const NoteVerifier& witness : witnesses) {
      for (const NoteSignature& line : parsed.signatures) {
        any_known |= line.name == witness.name() && line.key_id == witness.key_id();
      }
    }
    if (!any_known) return Status::NotFound(where + "no line by a trusted witness key");
    return size_t{0};
  }
  LEDGER_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  return added;
}

}  // namespace ledger
