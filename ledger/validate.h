// Stateless validation of one entry before it is appended.
//
// ValidateEntry checks everything that can be decided from the entry alone:
// a known event, a 16-byte request id, well-formed ids, positive amounts,
// known enum values, a subtype that belongs to the type, real GB/T 2260
// regions, dates in range, non-empty names. Rules that need earlier entries
// (a known live contract, payments within the amount, unique ids) belong to
// the log (ledger/contracts.h).
//
// Errors are InvalidArgument and start with the field's path in the JSON form
// of entries (money without its `_fen` suffix): "seller.region: ...",
// "tech_amount: ...", "markets[1]: ...".
//
// Decisions others rely on:
// - tech_amount may be 0 (0 <= tech_amount <= contract_amount); every other
//   amount (contract_amount, payment and deal amount) must be > 0.
// - subtype `unspecified` is allowed only for consulting contracts.
// - actor is optional; when present it is 1..kActorBytesMax bytes of text.
// - recorded_at_ms is the node's business and is not checked here.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ledger/status.h"

namespace ledger {

namespace fb {
struct Entry;
}

// Ids (contract, registration, deal, matchmaking, market) become parts of
// RocksDB keys and of namespaced ids "market/contract_id": short and plain
// (printable ASCII, no space, no '/').
inline constexpr size_t kIdBytesMax = 128;
// Titles, party names and reasons: 512 bytes is about 170 Chinese
// characters, longer than any field of the official registration forms, and
// keeps an entry far below limits::kEntryBytesMax.
inline constexpr size_t kTextBytesMax = 512;
// Clerk or system account names.
inline constexpr size_t kActorBytesMax = 128;
// Markets taking part in one matchmaking event: the federation is tens of
// markets; the limit bounds the entry.
inline constexpr size_t kMarketsCountMax = 64;
// Each known IP type at most once.
inline constexpr size_t kIpTypesCountMax = 8;
// The request id chosen by the client (idempotency key).
inline constexpr size_t kRequestIdBytes = 16;
// Event dates (signed, paid, amended, terminated, held) must lie within
// 1990-01-01..2100-12-31: the technology contract registration system dates
// from the late 1980s, and later dates are typos.
inline constexpr int32_t kEventDateYearMin = 1990;
inline constexpr int32_t kEventDateYearMax = 2100;

// REQUIRES: `entry` passed the FlatBuffers Verifier (see VerifiedEntry).
Status ValidateEntry(const fb::Entry& entry);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
// Exposed for the importers, which check text before it reaches JSON.
bool IsValidUtf8(std::string_view text);

}  // namespace ledger
