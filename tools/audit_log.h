// ledger-audit's check of one market's log, read as tlog-tiles from a
// TileSource and trusting nothing but the federation's keys:
//   1. the checkpoint parses, names a trusted origin, carries a valid
//      signature of that origin, and at least `cosigners` valid witness
//      cosignatures of other markets;
//   2. the tree does not shrink below, and extends, the checkpoint
//      remembered from the last audit (state);
//   3. every entry, in order: hashes to the leaf hash the tiles list (so a
//      changed, removed or moved entry is named by its index), matches the
//      remembered history, is a well-formed Entry, and obeys the domain rules
//      given all before it (audit_fold.h, which also recomputes the totals);
//   4. the root recomputed from all entries equals the signed one.
// The first failure ends the log's audit and is reported with its index.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/origins.h"
#include "tools/audit_fold.h"
#include "tools/audit_source.h"
#include "tools/audit_state.h"

namespace ledger::audit {

struct Failure {
  std::optional<uint64_t> index;  // the entry, when the failure is one's
  std::string check;              // "signature", "leaf hash", "rule", ...
  std::string expected;
  std::string found;
  std::string detail;  // one sentence
};

struct LogReport {
  std::string source;
  std::string origin;
  std::string market;
  uint64_t size = 0;  // the signed size
  std::string root;   // base64, as signed
  std::vector<std::string> cosigners;  // markets whose cosignature verified
  uint64_t remembered_size = 0;        // 0 when nothing was remembered
  uint64_t entries_checked = 0;
  double seconds = 0;
  std::optional<Failure> failure;
  // The recomputed state, for the totals and for the next audit.
  std::unique_ptr<Fold> fold;
  RememberedLog verified;
};

struct AuditOptions {
  size_t cosigners = 0;  // witness cosignatures the checkpoint needs
  // Called after every entry bundle with (entries done, total).
  std::function<void(uint64_t, uint64_t)> progress;
};

// `remembered` is what the last audit of any log kept (by origin).
LogReport AuditLog(TileSource& source, const std::vector<OriginRecord>& trust,
                   const AuditState& remembered, const AuditOptions& options);

}  // namespace ledger::audit
