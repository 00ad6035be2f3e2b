// Log: a node's append-only, signed event log on top of the Store.
//
// The node's own market (the local origin) is appended to through one writer
// thread with group commit: callers enqueue entries and wait; the writer
// drains the queue, validates each entry, hashes it into the Merkle tree and
// builds one WriteBatch (entries, subtree hashes, contract state, request ids,
// head, checkpoints). A second thread, the applier, writes the batches to
// RocksDB in order; a third, the syncer, syncs the WAL once for every batch
// written since its last sync and only then completes their callers. So one
// batch is synced while the next is written and a third is built (reading
// the rows of batches not written yet, unapplied_rows.h). Callers read ahead
// the rows their entries look up, so the writer seldom waits on RocksDB.
// Readers see a batch only once it is durable: size() moves after the sync.
// A checkpoint is signed for every batch and at least every
// limits::kEntriesPerCheckpointMax entries inside one, so every stored size is
// a signed size.
//
// Each entry of a call is accepted or rejected on its own: a rejected entry
// writes nothing and does not affect the others.
//
// Thread-safety: all methods may be called from any thread. Reads see only
// committed (durable) data.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/encoding.h"
#include "ledger/merkle.h"
#include "ledger/metrics.h"
#include "ledger/origins.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "ledger/unapplied_rows.h"
#include "ledger/views.h"

namespace rocksdb {
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace ledger {

struct TotalsQuery;
struct TotalsResult;

struct Receipt {
  uint64_t index = 0;
  Hash leaf_hash{};
  // The size of the first signed checkpoint that covers this entry.
  uint64_t checkpoint_size = 0;
  // True when the request_id was seen before: nothing was appended and this
  // is the original receipt (its checkpoint_size is the current size).
  bool duplicate = false;
};

// A run of a partner's log as received from a peer: entries [from, from + n)
// of `origin`, ending at a size the origin signed (checkpoint, a signed note
// that may carry other lines, which are ignored).
struct ReplicaChunk {
  uint64_t from = 0;
  std::vector<std::string> entries;
  std::string checkpoint;
};

// Where one origin's log stands on this node.
struct OriginHead {
  uint32_t id = 0;
  std::string market;
  std::string origin;
  uint64_t size = 0;
  // The origin's signed checkpoint at `size`, only its verified signature
  // lines; empty when none is held (a partner log not yet fetched).
  std::string checkpoint;
  // Non-empty once a conflicting checkpoint was seen: why the origin stopped
  // syncing (the signed notes are in the evidence column family).
  std::string equivocation;
};

// A verified checkpoint of a held origin (Log::ObserveCheckpoint).
struct ObservedCheckpoint {
  uint32_t origin_id = 0;
  Checkpoint checkpoint;
  std::string note;   // the note with only the origin's verified lines
  uint64_t held = 0;  // our durable size of that origin
};

// Evidence that an origin signed two inconsistent checkpoints.
struct Equivocation {
  std::string origin;
  std::string theirs;  // the checkpoint received
  std::string ours;    // the checkpoint held whose tree contradicts it
};

// Checks what can be checked of one entry alone (size, FlatBuffers
// structure, every stateless rule of validate.h) and returns its leaf hash.
// Log::Append runs it on the caller's thread.
StatusOr<Hash> Precheck(const std::string& entry_bytes);

struct LogOptions {
  bool read_only = false;
  // Append hands a call to the writer in pieces of this many entries (the
  // first a quarter of it), each as soon as it is prechecked, so checking
  // and committing overlap. 0 hands over the whole call at once (one batch,
  // unless others are queued).
  size_t append_piece_entries = 256;
  // Benchmark baseline only: appends leave the views untouched, so they no
  // longer agree with the log (`ledgerctl views rebuild` repairs them).
  bool benchmark_without_views = false;
  // Passed to the Store (see StoreOptions::env); for fault-injection tests.
  rocksdb::Env* env = nullptr;
};

// The files of a node's data directory.
std::string DatabasePath(const std::string& dir);
std::string KeyPath(const std::string& dir);

class Log {
 public:
  // Creates a new node in `dir` (which must not hold one): an Ed25519 key in
  // key.pem (mode 0600), the database, and a signed checkpoint of the empty
  // log. Returns the verifier key (vkey) of the new log.
  static StatusOr<std::string> Init(const std::string& dir, const std::string& market_id,
                                    const std::string& origin);
  static StatusOr<std::unique_ptr<Log>> Open(const std::string& dir, const LogOptions& options);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Appends entries (FlatBuffers Entry bytes) to the local log and returns
  // once the accepted ones are durable. results[i] belongs to entries[i].
  // REQUIRES: !read_only, entries.size() <= limits::kAppendCallEntriesMax.
  std::vector<StatusOr<Receipt>> Append(std::vector<std::string> entries);

  const std::string& market_id() const { return market_id_; }
  const std::string& origin() const { return origin_; }
  const std::string& vkey() const { return vkey_; }
  uint32_t local_origin_id() const { return local_origin_id_; }
  // Size of the local log: all of it is durable and signed.
  uint64_t size() const { return size_.load(std::memory_order_acquire); }
  Store* store() const { return store_.get(); }

  StatusOr<std::string> ReadEntry(uint64_t index) const;
  StatusOr<Hash> LeafHashAt(uint64_t index) const;
  // The latest signed checkpoint, exactly as signed.
  StatusOr<std::string> LatestCheckpoint() const;
  // The checkpoint signed at exactly `size`; NotFound if none was.
  StatusOr<std::string> CheckpointAt(uint64_t size) const;
  StatusOr<Hash> RootAt(uint64_t size) const;
  StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;
  StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;
  // The same for any held origin's log (the local ones above are these for
  // local_origin_id()). OutOfRange when a size is above the held size.
  StatusOr<Hash> RootOf(uint32_t origin_id, uint64_t size) const;
  StatusOr<std::vector<Hash>> InclusionProofOf(uint32_t origin_id, uint64_t index,
                                               uint64_t size) const;
  StatusOr<std::vector<Hash>> ConsistencyProofOf(uint32_t origin_id, uint64_t old_size,
                                                 uint64_t new_size) const;

  // Counters of the log's work since it was opened (ledger/metrics.h).
  const LogMetrics& metrics() const { return metrics_; }

  // The market ids whose logs this node holds, sorted.
  StatusOr<std::vector<std::string>> Markets() const;
  // Totals from the views (totals.h), as of the last durable batch, with the
  // digest of the views they were read from.
  StatusOr<TotalsResult> Totals(const TotalsQuery& query) const;
  // The view digest (views.h) as of the last durable batch.
  StatusOr<Hash> ViewDigest() const;

  struct RebuildReport {
    Hash before{};  // digest of the stored views
    Hash after{};   // digest of the views recomputed from the logs
    uint64_t entries = 0;
  };
  // Recomputes every view from the logs alone, replaces the stored rows with
  // the result in one synced write, and reports both digests (equal unless
  // the stored views were damaged). REQUIRES: !read_only, no Append running.
  StatusOr<RebuildReport> RebuildViews();

  // Writes a copy of the whole database, consistent as of one moment during
  // the call, into the new directory `dir` as a data directory of its own:
  // dir/db, which Open(dir, read_only) opens and Verify checks like the
  // original. Every change is one WriteBatch, so the copy's log, hashes,
  // checkpoints and views always agree; it holds at least every entry
  // durable when the call began. The signing key is not copied: it is a
  // secret kept apart from the data, and a restored node needs its key.pem
  // put back beside db/. AlreadyExists when `dir` exists, NotFound when its
  // parent does not; on any failure nothing is left at `dir`. Safe while
  // appends and replication run. A read_only log can be backed up too, but
  // only while no other process writes the database: that writer may delete
  // files the read-only view still lists.
  Status Backup(const std::string& dir) const;

  // --- Replication (log_replica.cc) ---

  // Adds the markets of the trust registry that are new and updates the keys
  // of known ones. The node's own market must be listed with its own key.
  // Call before serving peers. REQUIRES: !read_only.
  Status Trust(const std::vector<TrustedOrigin>& registry);
  // Every origin held, by id; the local one first.
  std::vector<OriginHead> Heads() const;
  StatusOr<OriginRecord> OriginNamed(std::string_view origin) const;
  // The head of one market's log (the local one for an empty market), reading
  // only that origin's checkpoint: for paths served per request, where
  // Heads() would read every origin's. NotFound for a market not held.
  StatusOr<OriginHead> HeadOfMarket(std::string_view market) const;
  // Every origin's name by id, from memory (no reads).
  std::map<uint32_t, std::string> OriginNames() const;

  // Durable entries [from, to) of an origin. REQUIRES: to - from is small
  // enough to hold in memory.
  StatusOr<std::vector<std::string>> ReadEntries(uint32_t origin_id, uint64_t from,
                                                 uint64_t to) const;
  // The signed sizes in (from, limit] of an origin's durable log, ascending.
  StatusOr<std::vector<uint64_t>> SignedSizes(uint32_t origin_id, uint64_t from,
                                              uint64_t limit) const;
  // The durable size of an origin's log (0 for an unknown id).
  // The durable size of an origin's log (0 for an unknown id).
  uint64_t HeldSize(uint32_t origin_id) const;
  // Called on an internal thread after each durable batch with the origin
  // and its new size; must not block. Set it before appends start.
  void SetDurableListener(std::function<void(uint32_t origin_id, uint64_t size)> listener);
  // The stored checkpoint of an origin at `size` followed by the witness
  // cosignatures held for it.
  StatusOr<std::string> CheckpointOf(uint32_t origin_id, uint64_t size) const;

  // Verifies a signed checkpoint of a held origin against the registry and,
  // when we hold its size, against our own tree. A conflict is equivocation:
  // both notes are stored as evidence, the origin stops syncing, and the
  // result is DataLoss starting with "equivocation". NotFound: unknown
  // origin or no trusted signature; DataLoss: a bad signature;
  // FailedPrecondition: the origin has stopped syncing.
  StatusOr<ObservedCheckpoint> ObserveCheckpoint(std::string_view note);

  // Verifies and stores a chunk of a partner's log: the checkpoint is
  // verified as ObserveCheckpoint does, every entry against the stateless
  // and stateful rules, and the root recomputed from the stored subtrees
  // plus the new leaves must equal the signed one. Only then are entries,
  // hashes, checkpoint, head and views written, in one batch. Entries we
  // already hold are skipped. `done` gets the new durable size, or:
  // AlreadyExists (nothing new), OutOfRange (a gap: fetch from the head),
  // DataLoss (forged or wrong data), FailedPrecondition (origin stopped).
  // `done` runs on an internal thread and must not block.
  // REQUIRES: !read_only.
  using ReplicaDone = std::function<void(StatusOr<uint64_t>)>;
  void Replicate(ReplicaChunk chunk, ReplicaDone done);
  StatusOr<uint64_t> Replicate(ReplicaChunk chunk);  // waits for the result

  // The node's witness cosignature line of a checkpoint text, signed now.
  // REQUIRES: !read_only; text ends in "\n".
  std::string Cosign(std::string_view checkpoint_text) const;
  // Stores the cosignatures on a note whose checkpoint we hold byte for
  // byte, each verified against a market's witness key. Returns how many were
  // new; NotFound if the checkpoint is not held or no line verifies.
  StatusOr<size_t> AddCosignatures(std::string_view note);
  StatusOr<std::vector<Equivocation>> Evidence() const;

  // Re-reads the whole local log and checks every entry against its stored
  // leaf hash, every stored subtree hash, every checkpoint's root and
  // signature, and the head. DataLoss names the first bad index.
  // `progress(done, total)` is called now and then.
  Status Verify(const std::function<void(uint64_t, uint64_t)>& progress) const;

 private:
  // What the writer needs beyond the entries to commit a partner's chunk.
  struct ReplicaWork {
    uint32_t origin_id = 0;
    std::string market;
    uint64_t from = 0;
    uint64_t end = 0;  // the signed size
    Hash root{};       // the signed root
    std::string note;  // the checkpoint, verified lines only
    // A WriteBatch representation holding the `entries` rows of the whole
    // chunk, built by the caller's thread so that the writer does not copy
    // the entry bytes itself.
    std::string entry_rows;
    ReplicaDone done;
    Status status;  // the outcome
  };
  // One Append call (or one partner chunk) waiting for the writer.
  struct Request {
    std::vector<std::string> entries;
    // Filled by the caller's thread before queueing (stateless checks and
    // hashing need no shared state, so they run in parallel): per entry,
    // its leaf hash if it passed, or why it failed.
    std::vector<StatusOr<Hash>> prechecked;
    // The rows the entries look up, read by the caller's thread too.
    PrefetchedRows prefetched;
    std::vector<StatusOr<Receipt>> results;
    bool done = false;
    // Set for a partner's chunk, which the writer commits alone; the
    // syncer then calls its `done` and deletes the request.
    std::unique_ptr<ReplicaWork> replica;
  };
  // A batch the writer is done with, waiting for the applier to write it
  // and the syncer to sync the WAL.
  struct Written {
    Written();
    Written(Written&&) noexcept;
    ~Written();
    std::vector<Request*> requests;
    uint32_t origin_id = 0;  // whose log the batch extends
    uint64_t size = 0;       // the log size once it is durable
    // What to write (null when nothing is), and its number for
    // UnappliedRows.
    std::unique_ptr<rocksdb::WriteBatch> batch;
    uint64_t batch_no = 0;
    bool wrote = false;  // the applier wrote it
    Status status;       // why the batch as a whole failed
    // The view rows the batch changed, for the readers' copy.
    ViewChanges view_changes;
  };
  Log() = default;
  Status Load(const std::string& dir, const LogOptions& options);
  void WriterLoop();
  // On the caller's thread: reads the rows the writer will look up for the
  // request into request->prefetched.
  void Prefetch(Request* request) const;
  Written ProcessBatch(std::vector<Request*> requests);
  Written ProcessReplica(Request* request);
  // Why the writer must refuse every batch now, or OK.
  Status Refusal() const;
  // The in-memory origin table from the origins column family.
  Status LoadOrigins();
  Status RecordEquivocation(uint32_t origin_id, const std::string& theirs, uint64_t size);
  // Stops local appends for good (see own_log_behind_); `what` completes
  // "this market's own log ..." with what a partner showed. Returns the
  // refusal (FailedPrecondition).
  Status StopOwnLog(const std::string& what);
  // Why local appends are refused now, or OK.
  Status OwnLogRefusal() const;
  void ApplyLoop();
  void SyncLoop();
  // Writes the batch to RocksDB (unless the log has stopped) and sets
  // written.wrote or written.status.
  void WriteOne(Written& written);
  // Readies a finished batch for the applier: records its read-back rows.
  void HandOver(Written& written, rocksdb::WriteBatch&& batch);
  // Gives each of the batch's accepted entries its final result.
  void Complete(Written& written, const Status& synced);
  // REQUIRES: views_mutex_ held (shared is enough).
  Hash DigestLocked() const;
  std::string SignCheckpoint(uint64_t size, const Hash& root) const;

  // What the node knows of one origin; guarded by origins_mutex_.
  struct OriginState {
    OriginRecord record;
    uint64_t size = 0;  // durable; size_ is authoritative for the local log
    std::string equivocation;
  };
  // The writer's view of a partner log: the state after its last written
  // chunk, which may not be durable yet.
  struct ReplicaCursor {
    Frontier frontier;
    uint64_t size = 0;
  };

  std::unique_ptr<Store> store_;
  std::unique_ptr<NoteSigner> signer_;
  std::unique_ptr<CosignatureSigner> cosigner_;
  std::function<void(uint32_t, uint64_t)> durable_listener_;
  std::string market_id_;
  std::string origin_;
  std::string vkey_;
  uint32_t local_origin_id_ = 0;
  size_t append_piece_entries_ = 0;
  bool benchmark_without_views_ = false;
  std::atomic<uint64_t> size_{0};
  LogMetrics metrics_;

  // Owned by the writer thread once started: the state after the last
  // batch written, which may not be durable yet.
  Frontier frontier_;
  uint64_t last_checkpoint_size_ = 0;
  uint64_t written_size_ = 0;
  ViewPageMap written_views_;
  std::map<uint32_t, ReplicaCursor> cursors_;
  // Rows of batches handed to the applier and not yet written by it.
  std::unique_ptr<UnappliedRows> unapplied_;
  uint64_t next_batch_no_ = 1;
  // The number of the last batch the applier wrote to RocksDB.
  std::atomic<uint64_t> applied_batch_no_{0};
  // Set by the applier or syncer when a write or a WAL sync failed: what was written
  // since may be lost, and the writer's later batches build on it, so the
  // log refuses further appends until it is reopened.
  std::atomic<bool> stopped_{false};
  // Set once a checkpoint signed with this market's own key is seen beyond
  // the log held here: the node was restored from an older copy (or its key
  // signs elsewhere), and signing more entries would give indices it has
  // signed before a second history. Local appends are refused from then
  // on; the reason is kept as the local origin's stopped record, so a
  // restart does not forget it.
  std::atomic<bool> own_log_behind_{false};

  mutable std::shared_mutex origins_mutex_;
  std::map<uint32_t, OriginState> origins_;
  std::map<std::string, uint32_t, std::less<>> origin_ids_;  // by origin name
  std::mutex trust_mutex_;                                   // serialises Trust and evidence writes

  // The views as of the last durable batch, for queries: a copy of the
  // views column family kept in memory (it is small), changed by the syncer.
  mutable std::shared_mutex views_mutex_;
  ViewPageMap durable_views_;
  uint64_t views_version_ = 0;  // counts changes to durable_views_
  // Not OK when stored rows did not decode at open: queries and appends
  // (which would build on the damage) fail with it until RebuildViews.
  Status views_damage_;
  std::atomic<bool> views_damaged_{false};
  // The digest of durable_views_ at one version, computed on demand.
  mutable std::mutex digest_mutex_;
  mutable uint64_t digest_version_ = ~uint64_t{0};
  mutable Hash digest_{};

  std::mutex mutex_;
  std::condition_variable queue_cv_;  // writer waits for work
  std::condition_variable done_cv_;   // callers wait for results and space
  std::condition_variable apply_cv_;  // applier waits for built batches
  std::condition_variable sync_cv_;   // syncer waits for written batches
  std::deque<Request*> queue_;
  std::deque<Written> applying_;  // built, to be written
  std::deque<Written> syncing_;   // written, to be synced
  size_t queued_entries_ = 0;
  bool stopping_ = false;
  bool writer_done_ = false;
  bool applier_done_ = false;
  std::thread writer_;
  std::thread applier_;
  std::thread syncer_;
};

}  // namespace ledger
