// ledger-bench audit: ledger-audit's check of a whole log exported as C2SP
// tlog-tiles, against the bare cost of reading and hashing the same files
// (leaf hashes and the tree only), measured in the same run.
#include <cstdio>
#include <filesystem>

#include "ledger/merkle.h"
#include "ledger/tiles.h"
#include "net/config.h"
#include "tools/audit_log.h"
#include "tools/bench_common.h"

namespace ledger::bench {
namespace {

[[noreturn]] void Die(const Status& status) {
  std::fprintf(stderr, "ledger-bench: %s\n", status.ToString().c_str());
  std::exit(2);
}

// The floor under any audit: read every bundle, hash every entry into the
// tree. Returns the root.
Hash HashOnly(audit::TileSource& source, uint64_t size) {
  Frontier frontier;
  std::vector<std::string_view> entries;
  for (const TileRef& tile : TilesOf(size)) {
    if (!tile.entries) continue;
    StatusOr<std::string> bundle = source.Get(TilePath(tile));
    if (!bundle.ok()) Die(bundle.status());
    entries.clear();
    if (Status split = SplitBundle(*bundle, &entries); !split.ok()) Die(split);
    for (std::string_view entry : entries) frontier.Append(LeafHash(entry));
  }
  return frontier.Root();
}

// Exports `source` to `tiles` unless an earlier export of it is there, then
// times the audit of that export and its hash-only floor.
void AuditExport(const Log& source, const std::string& tiles, uint64_t count) {
  if (!std::filesystem::exists(tiles)) {
    auto start = Clock::now();
    StatusOr<ExportReport> exported = ExportTiles(source, source.local_origin_id(), tiles, {});
    if (!exported.ok()) Die(exported.status());
    Print({{"bench", "audit_export"},
           {"entries", count},
           {"seconds", Seconds(start)},
           {"bytes", exported->bytes}});
  }
  StatusOr<OriginRecord> record =
      RecordOf({source.market_id(),
                source.origin(),
                {source.vkey(), WitnessVkeyOf(*NoteVerifier::FromVkey(source.vkey()))}});
  if (!record.ok()) Die(record.status());
  std::unique_ptr<audit::TileSource> files = audit::DirectorySource(tiles);

  auto start = Clock::now();
  Hash root = HashOnly(*files, count);
  double hash_seconds = Seconds(start);
  start = Clock::now();
  audit::LogReport report = audit::AuditLog(*files, {*record}, audit::AuditState(), {});
  double audit_seconds = Seconds(start);
  if (report.failure)
    Die(Status::DataLoss("audit failed: " + report.failure->check + " " + report.failure->detail));
  StatusOr<Hash> signed_root = source.RootAt(count);
  if (!signed_root.ok() || *signed_root != root) Die(Status::DataLoss("hash-only root differs"));
  Print({{"bench", "audit"},
         {"entries", count},
         {"seconds", audit_seconds},
         {"entries_per_s", count / audit_seconds},
         {"hash_only_entries_per_s", count / hash_seconds},
         {"ratio_to_hash_only", hash_seconds / audit_seconds},
         {"source", "tlog-tiles directory"},
         {"checks",
          "signature, leaf hashes against tiles, structure, domain rules, totals fold, root"}});
}

}  // namespace

void BenchAudit(const std::string& dir, uint64_t count, bool reuse_source) {
  std::string tiles = dir + "/tiles";
  std::unique_ptr<Log> source;
  if (reuse_source) {
    StatusOr<std::unique_ptr<Log>> kept = Log::Open(dir + "/source", LogOptions());
    if (kept.ok() && (*kept)->size() == count) source = std::move(*kept);
  }
  if (!source) {
    source = FreshLog(dir + "/source", LogOptions(), "source");
    AppendAll(source.get(), MakeWorkload(31, count), 1);
    std::filesystem::remove_all(tiles);
  }
  AuditExport(*source, tiles, count);
}

void BenchAuditOf(const Log& log, const std::string& tiles) {
  std::filesystem::remove_all(tiles);
  AuditExport(log, tiles, log.size());
}

}  // namespace ledger::bench
