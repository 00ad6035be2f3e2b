// What ledger-audit remembers between runs (--state FILE), like a witness:
// per log, the checkpoint it last verified, plus the first 8 bytes of every
// leaf hash under it. The checkpoint proves that a later tree extends the
// same history; the leaf prefixes let the auditor name the first entry a
// rewritten history changed instead of only saying the roots differ.
//
// The file is JSON, replaced atomically (written beside, then renamed).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ledger/encoding.h"
#include "ledger/status.h"

namespace ledger::audit {

inline constexpr size_t kLeafPrefixBytes = 8;

struct RememberedLog {
  std::string market;
  uint64_t size = 0;
  Hash root{};
  std::string checkpoint;     // the signed note as verified
  std::string leaf_prefixes;  // size * kLeafPrefixBytes bytes
};

struct AuditState {
  std::map<std::string, RememberedLog> logs;  // by origin
};

// A missing file is an empty state; a malformed one is InvalidArgument
// naming the problem (the auditor must not silently forget).
StatusOr<AuditState> LoadAuditState(const std::string& path);
Status SaveAuditState(const std::string& path, const AuditState& state);

}  // namespace ledger::audit
