// Byte encodings used at the edges: hex, standard base64 (RFC 4648 with
// padding), and big-endian integers for RocksDB keys.
//
// Decoders are strict: they reject anything that a matching encoder would not
// have produced (bad characters, missing or misplaced padding, non-zero
// trailing bits), so that one value has exactly one text form.
//
// Byte strings are held in std::string, as RocksDB and FlatBuffers do.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace ledger {

// A SHA-256 digest: leaf hashes, node hashes, roots.
using Hash = std::array<uint8_t, 32>;

std::string_view AsBytes(const Hash& hash);
// REQUIRES: bytes.size() == 32.
Hash HashFromBytes(std::string_view bytes);

std::string HexEncode(std::string_view bytes);
std::string HexEncode(const Hash& hash);
// Accepts lower or upper case; rejects odd length and non-hex characters.
StatusOr<std::string> HexDecode(std::string_view hex);
StatusOr<Hash> HashFromHex(std::string_view hex);

std::string Base64Encode(std::string_view bytes);
StatusOr<std::string> Base64Decode(std::string_view text);

// Appends value as 8 (or 4) big-endian bytes, so that byte order sorts like
// numeric order.
void PutBigEndian64(std::string* out, uint64_t value);
void PutBigEndian32(std::string* out, uint32_t value);
// REQUIRES: bytes.size() >= 8 (or 4).
uint64_t GetBigEndian64(std::string_view bytes);
uint32_t GetBigEndian32(std::string_view bytes);

}  // namespace ledger
