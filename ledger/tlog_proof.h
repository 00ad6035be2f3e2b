// C2SP tlog-proof (https://c2sp.org/tlog-proof): an offline proof that one
// entry is in a log, as text:
//
//   c2sp.org/tlog-proof@v1
//   extra <base64>          (optional; here: the entry's exact bytes)
//   index <N>
//   <base64 hash>           the inclusion proof, leaf side first, one per line
//   ...
//   <blank line>
//   <the checkpoint note, with any cosignatures, verbatim>
//
// Whoever holds the bundle and the federation's keys can check, without the
// node, that the entry is the one the market signed at that index.
//
// Thread-safety: pure functions, and reads of a Log (thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/encoding.h"
#include "ledger/status.h"

namespace ledger {

class Log;

inline constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";

struct TlogProof {
  std::string extra;  // unauthenticated; empty when absent
  uint64_t index = 0;
  std::vector<Hash> hashes;
  std::string checkpoint;  // a signed note
};

std::string FormatTlogProof(const TlogProof& proof);
// InvalidArgument naming the line unless text is a well-formed proof (the
// checkpoint itself is parsed by ParseNote / ParseCheckpoint, not here).
StatusOr<TlogProof> ParseTlogProof(std::string_view text);

// The proof of entry `index` of an origin's log in its tree of `size`, which
// must be a size the origin signed; the entry's bytes go in `extra`.
StatusOr<TlogProof> MakeTlogProof(const Log& log, uint32_t origin_id, uint64_t index,
                                  uint64_t size);

}  // namespace ledger
