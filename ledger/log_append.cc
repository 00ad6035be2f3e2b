// The writer thread's half of Log: turning a drained queue into one signed
// WriteBatch for the applier to write and the syncer to make durable.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <unordered_map>

#include "ledger/contracts.h"
#include "ledger/entry_json.h"
#include "ledger/limits.h"
#include "ledger/log.h"
#include "ledger/store_subtrees.h"
#include "ledger/validate.h"
#include "ledger/views.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

// Builds one commit batch. Nothing here touches the Log's committed state:
// the caller adopts `frontier` and `size` only after the batch is durable.
class BatchBuilder {
 public:
  // `local`: the node's own log, whose request ids are kept for idempotency.
  // `unapplied`: what earlier batches wrote that is not in the store yet.
  BatchBuilder(const Store* store, const UnappliedRows* unapplied, uint32_t origin_id,
               std::string market, bool local, bool with_views, const ViewPageMap* views,
               const Frontier& frontier, uint64_t size)
      : store_(store),
        rows_(store, unapplied),
        local_(local),
        with_views_(with_views),
        origin_id_(origin_id),
        market_(std::move(market)),
        overlay_(&rows_, origin_id),
        views_(views),
        tiles_(&rows_, store->handle(Column::kHashes), origin_id),
        frontier_(frontier),
        size_(size) {}

  // REQUIRES: Precheck(bytes) returned leaf_hash.
  StatusOr<Receipt> Add(const std::string& bytes, const Hash& leaf_hash);
  // The rows read ahead for the entries added next; null for none.
  void UsePrefetched(const PrefetchedRows* prefetched) { rows_.UsePrefetched(prefetched); }

  // Completes the batch with the hash tiles and view rows; call once, before
  // writing it.
  rocksdb::WriteBatch* Finish() {
    tiles_.Flush(&batch_);
    view_changes_ = views_.Flush(&batch_, store_->handle(Column::kViews));
    return &batch_;
  }
  rocksdb::WriteBatch* batch() { return &batch_; }
  // Starts from a batch that already holds the entries' rows (a partner's
  // chunk, prepared off the writer thread); Add then leaves them out.
  // REQUIRES: nothing added yet.
  void AdoptEntryRows(std::string rep) {
    batch_ = rocksdb::WriteBatch(std::move(rep));
    entry_rows_adopted_ = true;
  }
  // The view rows Finish wrote.
  ViewChanges& view_changes() { return view_changes_; }
  // Not OK once the batch must be abandoned as a whole.
  const Status& fatal() const { return fatal_; }
  const Frontier& frontier() const { return frontier_; }
  uint64_t size() const { return size_; }

 private:
  // The original receipt of an earlier request with this id, or NotFound.
  StatusOr<Receipt> EarlierReceipt(const std::string& request_id) const;

  const Store* store_;
  LayeredRows rows_;
  bool local_;
  bool with_views_;
  uint32_t origin_id_;
  std::string market_;
  StateOverlay overlay_;
  ViewAccumulator views_;
  TileWriter tiles_;
  Frontier frontier_;
  uint64_t size_;
  rocksdb::WriteBatch batch_;
  bool entry_rows_adopted_ = false;
  std::unordered_map<std::string, Receipt> batch_requests_;
  ViewChanges view_changes_;
  Status fatal_;
};

std::string_view RequestId(const fb::Entry& entry) {
  return std::string_view(reinterpret_cast<const char*>(entry.request_id()->data()),
                          entry.request_id()->size());
}

StatusOr<uint64_t> DecodeRequestRow(const std::string& row) {
  if (row.size() != 8) return Status::DataLoss("requests: bad receipt row");
  return GetBigEndian64(row);
}

StatusOr<Receipt> BatchBuilder::EarlierReceipt(const std::string& request_id) const {
  auto it = batch_requests_.find(request_id);
  if (it != batch_requests_.end()) return it->second;
  Receipt receipt;
  LEDGER_ASSIGN_OR_RETURN(std::string row, rows_.Get(Column::kRequests, request_id));
  LEDGER_ASSIGN_OR_RETURN(receipt.index, DecodeRequestRow(row));
  LEDGER_ASSIGN_OR_RETURN(receipt.leaf_hash,
                          StoreSubtrees(&rows_, origin_id_).Subtree(0, receipt.index));
  return receipt;
}

StatusOr<Receipt> BatchBuilder::Add(const std::string& bytes, const Hash& leaf_hash) {
  const fb::Entry* entry = fb::GetEntry(bytes.data());
  std::string request_id;
  if (local_) {
    request_id = RequestId(*entry);
    StatusOr<Receipt> earlier = EarlierReceipt(request_id);
    if (earlier.ok()) {
      earlier->duplicate = true;
      return earlier;
    }
    if (earlier.status().code() != Status::Code::kNotFound) return earlier.status();
  }

  LEDGER_ASSIGN_OR_RETURN(Effect effect, overlay_.Check(*entry, size_));
  if (with_views_) LEDGER_RETURN_IF_ERROR(views_.Add(market_, effect));
  overlay_.Apply(effect);
  batch_.Put(store_->handle(Column::kContracts), effect.key, effect.value).PermitUncheckedError();
  Receipt receipt;
  receipt.index = size_;
  receipt.leaf_hash = leaf_hash;
  if (!entry_rows_adopted_) {
    batch_.Put(store_->handle(Column::kEntries), EntryKey(origin_id_, size_), bytes)
        .PermitUncheckedError();
  }
  Status tiled;
  frontier_.Append(receipt.leaf_hash, [&](uint32_t level, uint64_t index, const Hash& hash) {
    if (tiled.ok()) tiled = tiles_.Add(level, index, hash);
  });
  // The stored tiles disagree with the frontier: the database is damaged and
  // nothing of this batch may be written.
  if (!tiled.ok()) {
    fatal_ = tiled;
    return tiled;
  }
  if (local_) {
    std::string index_bytes;
    PutBigEndian64(&index_bytes, size_);
    batch_.Put(store_->handle(Column::kRequests), request_id, index_bytes).PermitUncheckedError();
    batch_requests_.emplace(std::move(request_id), receipt);
  }
  ++size_;
  return receipt;
}

}  // namespace

Status Log::Refusal() const {
  if (stopped_.load(std::memory_order_acquire)) {
    return Status::Unavailable(
        "log stopped after a failed write or WAL sync; reopen it to recover what is durable");
  }
  if (views_damaged_.load(std::memory_order_acquire)) {
    return Status::FailedPrecondition(
        "appends refused: the stored views are damaged; run `ledgerctl views rebuild`");
  }
  return Status::Ok();
}

StatusOr<Hash> Precheck(const std::string& bytes) {
  if (bytes.size() > limits::kEntryBytesMax) {
    return Status::InvalidArgument("entry: larger than " + std::to_string(limits::kEntryBytesMax) +
                                   " bytes");
  }
  StatusOr<const fb::Entry*> entry = VerifiedEntry(bytes);
  if (!entry.ok()) return Status::InvalidArgument("entry: not a valid Entry FlatBuffer");
  LEDGER_RETURN_IF_ERROR(ValidateEntry(**entry));
  return LeafHash(bytes);
}

void Log::Prefetch(Request* request) const {
  PrefetchedRows& rows = request->prefetched;
  rows = PrefetchedRows(store_.get());
  rows.read_after = applied_batch_no_.load(std::memory_order_acquire);
  StateOverlay probe(&rows, local_origin_id_);
  for (size_t i = 0; i < request->entries.size(); ++i) {
    if (!request->prechecked[i].ok()) continue;
    const fb::Entry* entry = fb::GetEntry(request->entries[i].data());
    // Only the reads matter here; the writer checks again, in log order.
    rows.Get(Column::kRequests, RequestId(*entry)).status().IgnoreError();
    probe.Check(*entry, 0).status().IgnoreError();
  }
  rows.Fetch();
}

Log::Written Log::ProcessBatch(std::vector<Request*> requests) {
  Written written;
  written.requests = std::move(requests);
  written.origin_id = local_origin_id_;
  written.size = written_size_;
  written.status = Refusal();
  if (written.status.ok()) written.status = OwnLogRefusal();
  if (!written.status.ok()) {
    for (Request* request : written.requests) {
      request->results.assign(request->entries.size(), written.status);
    }
    return written;
  }
  // Rows of batches written since a request's rows were read ahead stay
  // held, so that the read-ahead rows and the held ones give today's rows.
  uint64_t forget = applied_batch_no_.load(std::memory_order_acquire);
  for (const Request* request : written.requests) {
    forget = std::min(forget, request->prefetched.read_after);
  }
  unapplied_->Forget(forget);
  BatchBuilder builder(store_.get(), unapplied_.get(), local_origin_id_, market_id_,
                       /*local=*/true, !benchmark_without_views_, &written_views_, frontier_,
                       written_size_);
  uint64_t signed_size = last_checkpoint_size_;
  size_t unsigned_bytes = 0;
  std::vector<Receipt*> unsigned_receipts;
  auto sign_up_to = [&](uint64_t size, const Hash& root) {
    builder.batch()
        ->Put(store_->handle(Column::kCheckpoints), CheckpointKey(local_origin_id_, size),
              SignCheckpoint(size, root))
        .PermitUncheckedError();
    for (Receipt* receipt : unsigned_receipts) receipt->checkpoint_size = size;
    unsigned_receipts.clear();
    unsigned_bytes = 0;
    signed_size = size;
  };

  for (Request* request : written.requests) {
    builder.UsePrefetched(&request->prefetched);
    request->results.reserve(request->entries.size());
    for (size_t i = 0; i < request->entries.size(); ++i) {
      const StatusOr<Hash>& prechecked = request->prechecked[i];
      request->results.push_back(prechecked.ok() ? builder.Add(request->entries[i], *prechecked)
                                                 : StatusOr<Receipt>(prechecked.status()));
      StatusOr<Receipt>& result = request->results.back();
      if (!result.ok() || result->duplicate) continue;
      unsigned_receipts.push_back(&result.value());
      unsigned_bytes += request->entries[i].size();
      if (builder.size() - signed_size >= limits::kEntriesPerCheckpointMax ||
          unsigned_bytes >= limits::kBytesPerCheckpointMax) {
        sign_up_to(builder.size(), builder.frontier().Root());
      }
    }
  }
  if (!builder.fatal().ok()) {
    written.status = builder.fatal();
    return written;
  }
  if (builder.size() == written_size_) return written;  // nothing new

  Hash root = builder.frontier().Root();
  if (builder.size() > signed_size) sign_up_to(builder.size(), root);
  builder.batch()
      ->Put(store_->handle(Column::kOrigins), HeadKey(local_origin_id_),
            HeadValue(builder.size(), root))
      .PermitUncheckedError();
  // Not written here: the applier writes this batch and the syncer makes it
  // durable (together with any written after it) before anyone learns of it.
  HandOver(written, std::move(*builder.Finish()));
  uint64_t appended = builder.size() - written_size_;
  metrics_.entries_appended.fetch_add(appended, std::memory_order_relaxed);
  metrics_.batch_entries.Observe(static_cast<double>(appended));
  ApplyViewChanges(builder.view_changes(), &written_views_);
  written.view_changes = std::move(builder.view_changes());
  written.size = builder.size();
  frontier_ = builder.frontier();
  last_checkpoint_size_ = signed_size;
  written_size_ = builder.size();
  return written;
}

}  // namespace ledger

namespace ledger {

Log::Written Log::ProcessReplica(Request* request) {
  ReplicaWork& work = *request->replica;
  Written written;
  written.requests = {request};
  written.origin_id = work.origin_id;
  auto refuse = [&](Status status) {
    work.status = status;
    return std::move(written);
  };
  if (Status refusal = Refusal(); !refusal.ok()) return refuse(refusal);
  {
    std::shared_lock<std::shared_mutex> lock(origins_mutex_);
    const OriginState& state = origins_.at(work.origin_id);
    if (!state.equivocation.empty()) {
      return refuse(Status::FailedPrecondition(state.record.market +
                                               " stopped syncing: " + state.equivocation));
    }
  }
  auto cursor = cursors_.find(work.origin_id);
  if (cursor == cursors_.end()) {
    // First chunk of this origin since open: what is stored is durable.
    ReplicaCursor fresh;
    fresh.size = HeldSize(work.origin_id);
    StatusOr<Frontier> frontier =
        Frontier::Load(StoreSubtrees(store_.get(), work.origin_id), fresh.size);
    if (!frontier.ok()) return refuse(frontier.status());
    fresh.frontier = *frontier;
    cursor = cursors_.emplace(work.origin_id, fresh).first;
  }
  ReplicaCursor& at = cursor->second;
  written.size = at.size;
  if (work.end <= at.size) {
    return refuse(Status::AlreadyExists("already held up to " + std::to_string(at.size)));
  }
  if (work.from > at.size) {
    return refuse(Status::OutOfRange("chunk starts at " + std::to_string(work.from) +
                                     " but the log is held up to " + std::to_string(at.size)));
  }

  unapplied_->Forget(applied_batch_no_.load(std::memory_order_acquire));
  BatchBuilder builder(store_.get(), unapplied_.get(), work.origin_id, work.market,
                       /*local=*/false, !benchmark_without_views_, &written_views_, at.frontier,
                       at.size);
  // Rows of entries we hold already are rewritten with the same bytes (or
  // the root check below discards the whole batch).
  builder.AdoptEntryRows(std::move(work.entry_rows));
  for (uint64_t index = at.size; index < work.end; ++index) {
    size_t i = index - work.from;
    StatusOr<Receipt> added = builder.Add(request->entries[i], *request->prechecked[i]);
    if (!added.ok()) {
      return refuse(Status::DataLoss(work.market + " entry " + std::to_string(index) +
                                     " breaks a rule: " + added.status().message()));
    }
  }
  Hash root = builder.frontier().Root();
  if (root != work.root) {
    return refuse(Status::DataLoss(work.market + " entries [" + std::to_string(work.from) + ", " +
                                   std::to_string(work.end) + ") do not hash to the signed root"));
  }
  auto* batch = builder.batch();
  batch
      ->Put(store_->handle(Column::kCheckpoints), CheckpointKey(work.origin_id, work.end),
            work.note)
      .PermitUncheckedError();
  batch->Put(store_->handle(Column::kOrigins), HeadKey(work.origin_id), HeadValue(work.end, root))
      .PermitUncheckedError();
  HandOver(written, std::move(*builder.Finish()));
  metrics_.AddReplicated(work.origin_id, work.end - at.size);
  metrics_.batch_entries.Observe(static_cast<double>(work.end - at.size));
  ApplyViewChanges(builder.view_changes(), &written_views_);
  written.view_changes = std::move(builder.view_changes());
  written.size = work.end;
  at.frontier = builder.frontier();
  at.size = work.end;
  return written;
}

}  // namespace ledger
