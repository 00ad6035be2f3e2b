// The JSON form of entries (DESIGN.md section 2) and the checked way to read
// stored Entry bytes.
//
// One JSON object per entry: "event" names the union member, its fields
// follow under their schema names, then optional "request_id" (32 hex
// digits) and "actor". Money is a decimal yuan string without the `_fen`
// suffix in its name ("contract_amount": "1250000.00"), dates are
// "YYYY-MM-DD", enums their lower snake_case names, a region a 6-digit string.
//
// Reading JSON is strict, and errors are InvalidArgument naming the field
// path ("seller.region: want 6 digits"):
// - unknown members, duplicate keys, wrong JSON types and `null` are errors;
// - strings must be non-empty and within the limits of ledger/validate.h
//   (an optional member is left out, never given as "");
// - "subtype", "ip_types", "matchmaking_id", "request_id" and "actor" may be
//   left out; every other member of the event is required. Enum names
//   include "unspecified" so that every stored value has a JSON form;
//   ValidateEntry rejects it where it is not allowed.
// Parsing only checks the form; call ValidateEntry for the rules.
//
// Writing JSON gives one compact line with a stable member order: "event",
// the event's fields in schema order, "request_id", "actor",
// "recorded_at_ms". Absent members are left out, and so are "subtype" when
// unspecified and "ip_types" when empty. Enum values unknown to this build
// (from a newer schema) are written as JSON integers.
//
// Thread-safety: pure functions (EntryFromJson reads OpenSSL's thread-safe
// random generator).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace ledger {

namespace fb {
struct Entry;
}

// One JSON line; a valid entry is a few KiB at most.
inline constexpr size_t kJsonTextBytesMax = 64u << 10;

struct JsonOptions {
  int64_t recorded_at_ms = 0;       // set into Entry.recorded_at_ms
  std::string default_actor;        // used when the JSON has no "actor" (none if empty)
  bool accept_recorded_at = false;  // when true, an integer "recorded_at_ms" member in the
                                    // JSON is taken instead (used for round trips); when false
                                    // that member is an error, since the node sets it
};

// Parses one JSON object (one line of JSON Lines) and returns the Entry bytes,
// finished with the file identifier "TLE1". Without "request_id", 16 random
// bytes from OpenSSL RAND_bytes are used.
StatusOr<std::string> EntryFromJson(std::string_view json_text, const JsonOptions& options);

// Renders Entry bytes as one line of compact JSON (no trailing newline), with
// "recorded_at_ms" as an integer. DataLoss if the bytes fail the Verifier.
// Any alignment of `entry_bytes` is accepted.
StatusOr<std::string> EntryToJson(std::string_view entry_bytes);

// Runs the FlatBuffers Verifier (file identifier "TLE1", at most
// limits::kEntryBytesMax bytes) and returns the root, or DataLoss.
// The result points into `entry_bytes` and lives as long as they do.
// REQUIRES: entry_bytes.data() is 8-byte aligned, as std::string storage is,
// because FlatBuffers reads int64 fields in place; otherwise InvalidArgument.
StatusOr<const fb::Entry*> VerifiedEntry(std::string_view entry_bytes);

}  // namespace ledger
