#include "ledger/log.h"

#include <pthread.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>

#include <cassert>
#include <filesystem>
#include <unordered_map>

#include "ledger/contracts.h"
#include "ledger/entry_json.h"
#include "ledger/limits.h"
#include "ledger/store_subtrees.h"
#include "ledger/validate.h"
#include "schemas/entry_generated.h"

namespace ledger {

std::string DatabasePath(const std::string& dir) { return dir + "/db"; }
std::string KeyPath(const std::string& dir) { return dir + "/key.pem"; }

StatusOr<std::string> Log::Init(const std::string& dir, const std::string& market_id,
                                const std::string& origin) {
  if (!IsValidMarketId(market_id)) {
    return Status::InvalidArgument("market: want 1-64 of [a-z0-9_-], got \"" + market_id + "\"");
  }
  if (!IsValidKeyName(origin)) {
    return Status::InvalidArgument("origin: want a non-empty name without spaces or '+'");
  }
  std::error_code ec;
  if (std::filesystem::exists(DatabasePath(dir), ec)) {
    return Status::AlreadyExists("init: " + dir + " already holds a database");
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("init: create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);

  LEDGER_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
  LEDGER_RETURN_IF_ERROR(key.SavePem(KeyPath(dir)));
  NoteSigner signer(origin, std::move(key));

  StoreOptions store_options;
  store_options.create_if_missing = true;
  LEDGER_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                          Store::Open(DatabasePath(dir), store_options));
  std::string id;
  PutBigEndian32(&id, kLocalOriginId);
  Hash empty = EmptyRoot();
  Checkpoint checkpoint{origin, 0, empty, {}};
  rocksdb::WriteBatch batch;
  auto* origins = store->handle(Column::kOrigins);
  batch.Put(origins, OriginNameKey(origin), id).PermitUncheckedError();
  batch.Put(origins, OriginRecordKey(kLocalOriginId), market_id + "\n" + signer.VerifierKey())
      .PermitUncheckedError();
  batch.Put(origins, kLocalOriginKey, id).PermitUncheckedError();
  batch.Put(origins, HeadKey(kLocalOriginId), HeadValue(0, empty)).PermitUncheckedError();
  batch
      .Put(store->handle(Column::kCheckpoints), CheckpointKey(kLocalOriginId, 0),
           SignNote(FormatCheckpoint(checkpoint), signer))
      .PermitUncheckedError();
  LEDGER_RETURN_IF_ERROR(store->Write(&batch, /*sync=*/true));
  return signer.VerifierKey();
}

StatusOr<std::unique_ptr<Log>> Log::Open(const std::string& dir, const LogOptions& options) {
  std::unique_ptr<Log> log(new Log());
  LEDGER_RETURN_IF_ERROR(log->Load(dir, options));
  if (!options.read_only) {
    log->writer_ = std::thread([raw = log.get()] { raw->WriterLoop(); });
    log->applier_ = std::thread([raw = log.get()] { raw->ApplyLoop(); });
    log->syncer_ = std::thread([raw = log.get()] { raw->SyncLoop(); });
  }
  return log;
}

Status Log::Load(const std::string& dir, const LogOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(DatabasePath(dir) + "/CURRENT", ec)) {
    return Status::NotFound("no ledger database in " + dir + " (run `ledgerctl init` first)");
  }
  StoreOptions store_options;
  store_options.read_only = options.read_only;
  store_options.env = options.env;
  LEDGER_ASSIGN_OR_RETURN(store_, Store::Open(DatabasePath(dir), store_options));
  append_piece_entries_ = options.append_piece_entries;
  benchmark_without_views_ = options.benchmark_without_views;

  LEDGER_ASSIGN_OR_RETURN(std::string id, store_->Get(Column::kOrigins, kLocalOriginKey));
  if (id.size() != 4) return Status::DataLoss("origins: local origin id has a bad size");
  local_origin_id_ = GetBigEndian32(id);
  LEDGER_RETURN_IF_ERROR(LoadOrigins());
  auto local = origins_.find(local_origin_id_);
  if (local == origins_.end()) return Status::DataLoss("origins: no record for the local log");
  market_id_ = local->second.record.market;
  // Set by StopOwnLog on an earlier run.
  if (!local->second.equivocation.empty()) own_log_behind_.store(true, std::memory_order_release);
  const NoteVerifier& verifier = local->second.record.checkpoint_keys.front();
  vkey_ = verifier.ToVkey();
  origin_ = verifier.name();

  LEDGER_ASSIGN_OR_RETURN(std::string head,
                          store_->Get(Column::kOrigins, HeadKey(local_origin_id_)));
  if (head.size() != 40) return Status::DataLoss("origins: bad head record");
  uint64_t size = GetBigEndian64(head);
  size_.store(size, std::memory_order_release);
  last_checkpoint_size_ = size;
  written_size_ = size;
  // Damaged views do not stop the node: the log is intact, queries report the
  // damage, and `ledgerctl views rebuild` repairs it.
  Status views = LoadViewPages(*store_, &durable_views_);
  if (views.code() == Status::Code::kDataLoss) {
    views_damage_ = Status::DataLoss("views are damaged (" + views.message() +
                                     "); run `ledgerctl views rebuild`");
    views_damaged_.store(true, std::memory_order_release);
  } else if (!views.ok()) {
    return views;
  }
  if (options.read_only) return Status::Ok();

  LEDGER_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::LoadPem(KeyPath(dir)));
  if (key.public_key().raw() != verifier.key().raw()) {
    return Status::FailedPrecondition(KeyPath(dir) + " does not match the log's verifier key");
  }
  cosigner_ = std::make_unique<CosignatureSigner>(origin_, key);
  signer_ = std::make_unique<NoteSigner>(origin_, std::move(key));
  written_views_ = durable_views_;  // shares the pages
  unapplied_ = std::make_unique<UnappliedRows>(store_.get());
  // What recovery replayed from the WAL counts as durable from here on.
  LEDGER_RETURN_IF_ERROR(store_->SyncWal());
  StoreSubtrees subtrees(store_.get(), local_origin_id_);
  LEDGER_ASSIGN_OR_RETURN(frontier_, Frontier::Load(subtrees, size));
  if (frontier_.Root() != HashFromBytes(std::string_view(head).substr(8))) {
    return Status::DataLoss("head root does not match the stored hashes at size " +
                            std::to_string(size));
  }
  return Status::Ok();
}

Log::~Log() {
  if (writer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    writer_.join();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      writer_done_ = true;
    }
    apply_cv_.notify_all();
    applier_.join();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      applier_done_ = true;
    }
    sync_cv_.notify_all();
    syncer_.join();
  }
}

std::vector<StatusOr<Receipt>> Log::Append(std::vector<std::string> entries) {
  assert(!store_->read_only());
  assert(entries.size() <= limits::kAppendCallEntriesMax);
  // A large call goes to the writer in pieces, each as soon as it is
  // prechecked, so the writer commits one piece while this thread checks the
  // next. Pieces are committed in order. The first is a quarter of the
  // others, so that the writer starts early.
  size_t count = entries.size();
  size_t piece_size =
      append_piece_entries_ == 0 ? std::max<size_t>(count, 1) : append_piece_entries_;
  std::vector<size_t> ends;
  for (size_t end = 0; end < count;) {
    size_t size =
        ends.empty() && count > piece_size ? std::max<size_t>(piece_size / 4, 1) : piece_size;
    end = std::min(count, end + size);
    ends.push_back(end);
  }
  std::vector<Request> pieces(ends.size());
  for (size_t p = 0; p < pieces.size(); ++p) {
    Request& piece = pieces[p];
    size_t begin = p == 0 ? 0 : ends[p - 1];
    size_t end = ends[p];
    piece.entries.assign(std::make_move_iterator(entries.begin() + begin),
                         std::make_move_iterator(entries.begin() + end));
    piece.prechecked.reserve(piece.entries.size());
    for (const std::string& bytes : piece.entries) piece.prechecked.push_back(Precheck(bytes));
    Prefetch(&piece);
    std::unique_lock<std::mutex> lock(mutex_);
    // Backpressure: wait for room unless the queue is empty (a piece larger
    // than the bound must still make progress).
    done_cv_.wait(lock, [&] {
      return stopping_ || queued_entries_ == 0 ||
             queued_entries_ + piece.entries.size() <= limits::kQueueEntriesMax;
    });
    if (stopping_) {
      piece.results.assign(piece.entries.size(), Status::Unavailable("log is closing"));
      piece.done = true;
      continue;
    }
    queue_.push_back(&piece);
    queued_entries_ += piece.entries.size();
    queue_cv_.notify_one();
  }
  std::vector<StatusOr<Receipt>> results;
  results.reserve(count);
  std::unique_lock<std::mutex> lock(mutex_);
  for (Request& piece : pieces) {
    done_cv_.wait(lock, [&] { return piece.done; });
    std::move(piece.results.begin(), piece.results.end(), std::back_inserter(results));
  }
  return results;
}

void Log::WriterLoop() {
  pthread_setname_np(pthread_self(), "ledger-writer");
  for (;;) {
    std::vector<Request*> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      size_t entries = 0;
      size_t bytes = 0;
      // A partner's chunk is committed alone, local appends together.
      bool replica = queue_.front()->replica != nullptr;
      while (!queue_.empty() && (queue_.front()->replica != nullptr) == replica &&
             (batch.empty() ||
              (!replica && entries < limits::kBatchEntriesMax && bytes < limits::kBatchBytesMax))) {
        Request* request = queue_.front();
        queue_.pop_front();
        entries += request->entries.size();
        for (const auto& entry : request->entries) bytes += entry.size();
        batch.push_back(request);
      }
    }
    Written written =
        batch.front()->replica ? ProcessReplica(batch.front()) : ProcessBatch(std::move(batch));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      applying_.push_back(std::move(written));
    }
    apply_cv_.notify_one();
  }
}

Log::Written::Written() = default;
Log::Written::Written(Written&&) noexcept = default;
Log::Written::~Written() = default;

void Log::HandOver(Written& written, rocksdb::WriteBatch&& batch) {
  written.batch = std::make_unique<rocksdb::WriteBatch>(std::move(batch));
  written.batch_no = next_batch_no_++;
  unapplied_->Record(written.batch_no, *written.batch);
}

void Log::WriteOne(Written& written) {
  if (!written.batch || !written.status.ok()) return;
  // The writer built this batch on the ones before it: after a failed
  // write none of them may follow.
  if (stopped_.load(std::memory_order_acquire)) {
    written.status = Status::Unavailable("not written: an earlier write or WAL sync failed");
  } else {
    written.status = store_->Write(written.batch.get(), /*sync=*/false);
    if (written.status.ok()) {
      written.wrote = true;
      applied_batch_no_.store(written.batch_no, std::memory_order_release);
    } else {
      stopped_.store(true, std::memory_order_release);
    }
  }
  written.batch.reset();
}

void Log::ApplyLoop() {
  pthread_setname_np(pthread_self(), "ledger-apply");
  for (;;) {
    std::deque<Written> batches;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      apply_cv_.wait(lock, [&] { return writer_done_ || !applying_.empty(); });
      if (applying_.empty()) return;  // the writer has stopped and all is written
      batches.swap(applying_);
    }
    // In the order the writer built them; each goes to the syncer as soon
    // as it is written, so one batch's fsync overlaps the next one's write.
    for (Written& written : batches) {
      WriteOne(written);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        syncing_.push_back(std::move(written));
      }
      sync_cv_.notify_one();
    }
  }
}

void Log::SyncLoop() {
  pthread_setname_np(pthread_self(), "ledger-sync");
  for (;;) {
    std::deque<Written> batches;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      sync_cv_.wait(lock, [&] { return applier_done_ || !syncing_.empty(); });
      if (syncing_.empty()) return;  // the applier has stopped and all is synced
      batches.swap(syncing_);
    }
    // One fsync for every batch written so far, in order: a batch that
    // survives a crash implies all before it survive too.
    bool wrote = false;
    for (const Written& written : batches) wrote |= written.wrote;
    Status synced = wrote ? store_->SyncWal() : Status::Ok();
    if (!synced.ok()) stopped_.store(true, std::memory_order_release);
    for (Written& written : batches) Complete(written, synced);
    std::function<void(uint32_t, uint64_t)> listener;
    // Partner chunks belong to no waiting caller; an Append's requests may
    // be gone as soon as they are marked done.
    std::vector<Request*> replicas;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      listener = durable_listener_;
      for (Written& written : batches) {
        for (Request* request : written.requests) {
          queued_entries_ -= request->entries.size();
          if (request->replica) {
            replicas.push_back(request);
          } else {
            request->done = true;
          }
        }
      }
    }
    done_cv_.notify_all();
    if (listener && synced.ok()) {
      for (const Written& written : batches) {
        if (written.wrote && written.status.ok()) listener(written.origin_id, written.size);
      }
    }
    for (Request* request : replicas) {
      ReplicaWork& work = *request->replica;
      if (work.status.ok()) {
        work.done(work.end);
      } else {
        work.done(work.status);
      }
      delete request;
    }
  }
}

void Log::Complete(Written& written, const Status& synced) {
  Status failure = written.status;
  if (failure.ok() && written.wrote) failure = synced;
  // A batch that wrote nothing (only duplicates or refusals) reports the
  // size after the batches before it; once the log stopped, that size may
  // not be durable.
  if (failure.ok() && !written.wrote && stopped_.load(std::memory_order_acquire)) {
    failure = Status::Unavailable("an earlier write or WAL sync failed");
  }
  for (Request* request : written.requests) {
    if (request->replica && request->replica->status.ok()) request->replica->status = failure;
  }
  for (Request* request : written.requests) {
    for (StatusOr<Receipt>& result : request->results) {
      if (!result.ok()) continue;
      if (!failure.ok()) {
        result = failure.WithContext("entry not appended");
      } else if (result->duplicate) {
        result->checkpoint_size = written.size;
      }
    }
  }
  if (failure.ok() && !written.view_changes.empty()) {
    std::unique_lock<std::shared_mutex> lock(views_mutex_);
    ApplyViewChanges(written.view_changes, &durable_views_);
    ++views_version_;
  }
  if (failure.ok() && written.wrote && written.origin_id != local_origin_id_) {
    std::unique_lock<std::shared_mutex> lock(origins_mutex_);
    origins_[written.origin_id].size = written.size;
  }
  if (failure.ok() && written.origin_id == local_origin_id_) {
    size_.store(written.size, std::memory_order_release);
  }
}

std::string Log::SignCheckpoint(uint64_t size, const Hash& root) const {
  return SignNote(FormatCheckpoint(Checkpoint{origin_, size, root, {}}), *signer_);
}

}  // namespace ledger
