// ledger-audit's output: a readable report, or one JSON document (--json).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tools/audit_log.h"

namespace ledger::audit {

struct TotalsCheck {
  bool checked = false;
  std::string source;  // where the published totals came from
  size_t rows = 0;     // rows compared, over every answer
  // False when only some of the node's markets were audited: the view
  // digest spans them all, so only the rows of the audited ones compare.
  bool digest_compared = true;
  std::optional<std::string> failure;
};

struct AuditReport {
  std::vector<LogReport> logs;
  std::vector<std::string> skipped;  // "market: why"
  TotalsCheck totals;
  size_t cosigners_required = 0;
  bool passed() const;
};

// "<origin> index <i>: <check>: expected <x>, found <y> (<detail>)" for the
// first failure, or empty when the audit passed.
std::string FirstFailure(const AuditReport& report);
std::string TextReport(const AuditReport& report);
std::string JsonReport(const AuditReport& report);

}  // namespace ledger::audit
