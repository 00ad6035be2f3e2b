// Origins: the logs a node holds, its own and its partners', and the keys it
// trusts for each (the trust registry, federation.json).
//
// Each origin has a small id (1 is the node's own log) and a record in the
// `origins` column family (on-disk format, never changes):
//   'o' origin_id(4) -> market '\n' vkey ('\n' vkey)*
// Every vkey is a signed-note verifier key: type 0x01 keys verify the
// origin's checkpoints, a type 0x04 key verifies the market's witness
// cosignatures. The first line is the market id.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/status.h"

namespace ledger {

// Id of the node's own log in every database; never changes.
inline constexpr uint32_t kLocalOriginId = 1;

// What the registry says about one market.
struct TrustedOrigin {
  std::string market;              // e.g. "xining"
  std::string origin;              // checkpoint origin line, e.g. "techmarket.cn/xining"
  std::vector<std::string> vkeys;  // type 0x01 (checkpoints) and 0x04 (cosignatures)
};

// A decoded origin record with its keys parsed.
struct OriginRecord {
  uint32_t id = 0;
  std::string market;
  std::string origin;
  std::vector<NoteVerifier> checkpoint_keys;  // type 0x01, at least one
  std::vector<NoteVerifier> witness_keys;     // type 0x04

  // The record's stored value.
  std::string Encode() const;
  static StatusOr<OriginRecord> Decode(uint32_t id, std::string_view value);
  // Every vkey, checkpoint keys first.
  std::vector<std::string> Vkeys() const;
};

// Parses and checks a registry entry: market id syntax, every vkey, at least
// one checkpoint key, and all checkpoint keys named after the origin.
StatusOr<OriginRecord> RecordOf(const TrustedOrigin& trusted);

// Market ids appear in paths, URLs and contract ids: 1-64 of [a-z0-9_-].
bool IsValidMarketId(std::string_view id);

// The witness (cosignature) vkey of a log's signing key: same name and key,
// type 0x04.
std::string WitnessVkeyOf(const NoteVerifier& checkpoint_key);

}  // namespace ledger
