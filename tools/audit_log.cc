#include "tools/audit_log.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "schemas/entry_generated.h"
#include "ledger/checkpoint.h"
#include "ledger/entry_json.h"
#include "ledger/merkle.h"
#include "ledger/tiles.h"
#include "ledger/validate.h"

namespace ledger::audit {
namespace {

std::string B64(const Hash& hash) {
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

Failure Fail(std::optional<uint64_t> index, std::string check, std::string expected,
             std::string found, std::string detail) {
  return Failure{index, std::move(check), std::move(expected), std::move(found),
                 std::move(detail)};
}

// Step 1: the checkpoint and its signatures. Fills origin, market, size,
// root and cosigners.
std::optional<Failure> CheckCheckpoint(const std::string& note_text,
                                       const std::vector<OriginRecord>& trust,
                                       const AuditOptions& options, LogReport* report,
                                       Checkpoint* checkpoint) {
  StatusOr<SignedNote> note = ParseNote(note_text);
  if (!note.ok()) return Fail({}, "checkpoint", "a signed note", "malformed", note.status().message());
  StatusOr<Checkpoint> parsed = ParseCheckpoint(note->text);
  if (!parsed.ok()) {
    return Fail({}, "checkpoint", "a tlog-checkpoint", "malformed", parsed.status().message());
  }
  *checkpoint = *parsed;
  report->origin = parsed->origin;
  report->size = parsed->size;
  report->root = B64(parsed->root);
  const OriginRecord* origin = nullptr;
  for (const OriginRecord& record : trust) {
    if (record.origin == parsed->origin) origin = &record;
  }
  if (origin == nullptr) {
    return Fail({}, "origin", "an origin of the trust file", parsed->origin,
                "the checkpoint's origin is not in the federation");
  }
  report->market = origin->market;
  bool signed_by_origin = false;
  for (const NoteVerifier& key : origin->checkpoint_keys) {
    Status verified = VerifyNote(*note, key);
    if (verified.code() == Status::Code::kDataLoss) {
      return Fail({}, "signature", "a valid signature by " + key.name(), "a forged one",
                  verified.message());
    }
    signed_by_origin = signed_by_origin || verified.ok();
  }
  if (!signed_by_origin) {
    return Fail({}, "signature", "a signature by " + origin->market + "'s key", "none",
                "no line of the checkpoint verifies with the origin's key");
  }
  for (const OriginRecord& witness : trust) {
    if (witness.market == origin->market) continue;
    for (const NoteVerifier& key : witness.witness_keys) {
      Status verified = VerifyNote(*note, key);
      if (verified.code() == Status::Code::kDataLoss) {
        return Fail({}, "cosignatures", "valid cosignatures", "a forged one by " + witness.market,
                    verified.message());
      }
      if (verified.ok()) {
        report->cosigners.push_back(witness.market);
        break;
      }
    }
  }
  if (report->cosigners.size() < options.cosigners) {
    std::string found = std::to_string(report->cosigners.size());
    for (size_t i = 0; i < report->cosigners.size(); ++i) {
      found += (i == 0 ? " (" : ", ") + report->cosigners[i];
    }
    if (!report->cosigners.empty()) found += ")";
    return Fail({}, "cosignatures", "at least " + std::to_string(options.cosigners), found,
                "too few partner markets cosigned the checkpoint");
  }
  return std::nullopt;
}

// The entries of one bundle, checked by the reader thread: everything that
// needs no domain state. `failure`, if set, is the first such failure; the
// entries before it are ready for the fold.
struct CheckedBundle {
  uint64_t first = 0;                // index of entries[0]
  std::vector<std::string> entries;  // copies, aligned for FlatBuffers
  std::optional<Failure> failure;
  bool last = false;  // no bundle follows
};

// Reads and checks the entries of a tree of checkpoint.size leaves, bundle
// by bundle, on its own thread: leaf hashes against the tiles and the
// remembered history, FlatBuffers structure, stateless rules, the tree
// itself. The fold, which needs every entry before, runs on the caller's
// thread meanwhile, so the two cores share the work.
class Reader {
 public:
  Reader(TileSource& source, const Checkpoint& checkpoint, const RememberedLog* remembered,
         RememberedLog* verified)
      : source_(source), checkpoint_(checkpoint), remembered_(remembered), verified_(verified) {
    verified_->leaf_prefixes.reserve(checkpoint.size * kLeafPrefixBytes);
    thread_ = std::thread([this] { Run(); });
  }
  ~Reader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // The next bundle, in order; the one with `last` set ends the walk.
  CheckedBundle Next() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !ready_.empty(); });
    CheckedBundle bundle = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    return bundle;
  }

 private:
  static constexpr size_t kBundlesAhead = 8;

  void Run() {
    std::vector<TileRef> bundles;
    for (const TileRef& tile : TilesOf(checkpoint_.size)) {
      if (tile.entries) bundles.push_back(tile);
    }
    for (const TileRef& tile : bundles) {
      CheckedBundle bundle = Check(tile);
      bool failed = bundle.failure.has_value();
      if (!Push(std::move(bundle)) || failed) return;
    }
    CheckedBundle end;
    end.first = index_;
    end.last = true;
    Hash root = frontier_.Root();
    if (root != checkpoint_.root) {
      end.failure = Fail({}, "root", B64(checkpoint_.root), B64(root),
                         "the entries do not hash to the signed root");
    }
    Push(std::move(end));
  }

  // False once the consumer is gone.
  bool Push(CheckedBundle bundle) {
    if (bundle.failure) bundle.last = true;
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return stopping_ || ready_.size() < kBundlesAhead; });
    if (stopping_) return false;
    ready_.push_back(std::move(bundle));
    cv_.notify_all();
    return true;
  }

  CheckedBundle Check(const TileRef& tile) {
    CheckedBundle bundle;
    bundle.first = index_;
    std::string path = TilePath(tile);
    StatusOr<std::string> bytes = source_.Get(path);
    if (!bytes.ok()) {
      bundle.failure = Fail(index_, "bundle", path, "unreadable", bytes.status().message());
      return bundle;
    }
    TileRef leaves = tile;
    leaves.entries = false;
    StatusOr<std::string> hashes = source_.Get(TilePath(leaves));
    if (!hashes.ok()) {
      bundle.failure =
          Fail(index_, "tile", TilePath(leaves), "unreadable", hashes.status().message());
      return bundle;
    }
    if (hashes->size() != size_t{tile.width} * 32) {
      bundle.failure = Fail(index_, "tile", std::to_string(tile.width * 32) + " bytes",
                            std::to_string(hashes->size()) + " bytes",
                            TilePath(leaves) + " has the wrong size");
      return bundle;
    }
    std::vector<std::string_view> entries;
    Status split = SplitBundle(*bytes, &entries);
    for (size_t i = 0; i < entries.size() && i < tile.width; ++i) {
      Hash listed = HashFromBytes(std::string_view(*hashes).substr(i * 32, 32));
      bundle.failure = Entry(entries[i], listed, &bundle.entries);
      if (bundle.failure) return bundle;
    }
    if (!split.ok()) {
      bundle.failure = Fail(index_, "bundle", path, "malformed", split.message());
    } else if (entries.size() != tile.width) {
      bundle.failure = Fail(index_, "bundle", std::to_string(tile.width) + " entries",
                            std::to_string(entries.size()) + " entries",
                            path + " holds the wrong number");
    }
    return bundle;
  }

  std::optional<Failure> Entry(std::string_view bytes, const Hash& listed,
                               std::vector<std::string>* ready) {
    uint64_t index = index_;
    Hash leaf = LeafHash(bytes);
    if (leaf != listed) {
      return Fail(index, "leaf hash", B64(listed), B64(leaf),
                  "the entry does not hash to the leaf the log's tiles list: it was changed, "
                  "removed or moved");
    }
    std::string_view prefix(reinterpret_cast<const char*>(leaf.data()), kLeafPrefixBytes);
    if (remembered_ != nullptr && index < remembered_->size) {
      std::string_view before(remembered_->leaf_prefixes.data() + index * kLeafPrefixBytes,
                              kLeafPrefixBytes);
      if (before != prefix) {
        return Fail(index, "history", HexEncode(before) + "...", HexEncode(prefix) + "...",
                    "the entry differs from the one audited before at this index: history was "
                    "rewritten");
      }
    }
    // FlatBuffers wants its buffer aligned; a bundle packs entries at odd
    // offsets, so each entry is copied into its own string.
    std::string& entry = ready->emplace_back(bytes);
    StatusOr<const fb::Entry*> parsed = VerifiedEntry(entry);
    if (!parsed.ok()) {
      return Fail(index, "entry", "an Entry FlatBuffer", "malformed", parsed.status().message());
    }
    Status valid = ValidateEntry(**parsed);
    if (!valid.ok()) return Fail(index, "entry", "a valid entry", "invalid", valid.message());
    frontier_.Append(leaf);
    verified_->leaf_prefixes.append(prefix);
    ++index_;
    if (remembered_ != nullptr && index_ == remembered_->size &&
        frontier_.Root() != remembered_->root) {
      return Fail(index, "consistency", B64(remembered_->root), B64(frontier_.Root()),
                  "the first " + std::to_string(index_) +
                      " entries no longer hash to the root audited before");
    }
    return std::nullopt;
  }

  TileSource& source_;
  const Checkpoint& checkpoint_;
  const RememberedLog* remembered_;
  RememberedLog* verified_;
  Frontier frontier_;
  uint64_t index_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<CheckedBundle> ready_;
  bool stopping_ = false;
  std::thread thread_;
};

// Folds the reader's bundles in order; returns the first failure, whoever
// found it: an entry the fold refuses comes before any later one the reader
// refused, and the reader's failure of an entry comes before its fold.
std::optional<Failure> Walk(Reader& reader, uint64_t size, const AuditOptions& options,
                            LogReport* report) {
  while (true) {
    CheckedBundle bundle = reader.Next();
    // A failing entry is copied before the reader refuses it; it is not
    // folded.
    size_t folded = bundle.entries.size() - (bundle.failure && bundle.failure->index &&
                                                     *bundle.failure->index <
                                                         bundle.first + bundle.entries.size()
                                                 ? 1
                                                 : 0);
    for (size_t i = 0; i < folded; ++i) {
      const auto* entry = flatbuffers::GetRoot<fb::Entry>(bundle.entries[i].data());
      uint64_t index = bundle.first + i;
      if (std::optional<std::string> broken = report->fold->Add(index, *entry)) {
        return Fail(index, "rule", "", "", *broken);
      }
      report->entries_checked = index + 1;
    }
    if (options.progress && !bundle.entries.empty()) options.progress(report->entries_checked, size);
    if (bundle.failure) return bundle.failure;
    if (bundle.last) return std::nullopt;
  }
}

}  // namespace

LogReport AuditLog(TileSource& source, const std::vector<OriginRecord>& trust,
                   const AuditState& remembered, const AuditOptions& options) {
  auto start = std::chrono::steady_clock::now();
  LogReport report;
  report.source = source.Describe();
  auto finish = [&](std::optional<Failure> failure) {
    report.failure = std::move(failure);
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::move(report);
  };
  StatusOr<std::string> note = source.Get("checkpoint");
  if (!note.ok()) return finish(Fail({}, "checkpoint", "checkpoint", "unreadable", note.status().message()));
  Checkpoint checkpoint;
  if (auto failure = CheckCheckpoint(*note, trust, options, &report, &checkpoint)) {
    return finish(failure);
  }
  const RememberedLog* before = nullptr;
  auto it = remembered.logs.find(report.origin);
  if (it != remembered.logs.end()) {
    before = &it->second;
    report.remembered_size = before->size;
    if (before->size > checkpoint.size) {
      return finish(Fail({}, "rollback", "at least " + std::to_string(before->size),
                         std::to_string(checkpoint.size),
                         "the log is smaller than when it was audited before"));
    }
  }
  report.fold = std::make_unique<Fold>(report.market);
  std::optional<Failure> failure;
  {
    Reader reader(source, checkpoint, before, &report.verified);
    failure = Walk(reader, checkpoint.size, options, &report);
  }
  if (failure) return finish(failure);
  report.verified.market = report.market;
  report.verified.size = checkpoint.size;
  report.verified.root = checkpoint.root;
  report.verified.checkpoint = *note;
  return finish(std::nullopt);
}

}  // namespace ledger::audit
