#include "ledger/encoding.h"

#include <cassert>
#include <cstring>

namespace ledger {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string_view AsBytes(const Hash& hash) {
  return std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size());
}

Hash HashFromBytes(std::string_view bytes) {
  assert(bytes.size() == 32);
  Hash hash;
  std::memcpy(hash.data(), bytes.data(), hash.size());
  return hash;
}

std::string HexEncode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 0xf]);
  }
  return out;
}

std::string HexEncode(const Hash& hash) { return HexEncode(AsBytes(hash)); }

StatusOr<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::InvalidArgument("hex: odd number of digits");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int high = HexValue(hex[i]);
    int low = HexValue(hex[i + 1]);
    if (high < 0 || low < 0) return Status::InvalidArgument("hex: not a hex digit");
    out.push_back(static_cast<char>(high << 4 | low));
  }
  return out;
}

StatusOr<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != 64) return Status::InvalidArgument("hash: want 64 hex digits");
  LEDGER_ASSIGN_OR_RETURN(std::string bytes, HexDecode(hex));
  return HashFromBytes(bytes);
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 |
                 uint8_t(bytes[i + 2]);
    out.push_back(kBase64Alphabet[v >> 18 & 63]);
    out.push_back(kBase64Alphabet[v >> 12 & 63]);
    out.push_back(kBase64Alphabet[v >> 6 & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    out.push_back(kBase64Alphabet[v >> 18 & 63]);
    out.push_back(kBase64Alphabet[v >> 12 & 63]);
    out += "==";
  } else if (rest == 2) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8;
    out.push_back(kBase64Alphabet[v >> 18 & 63]);
    out.push_back(kBase64Alphabet[v >> 12 & 63]);
    out.push_back(kBase64Alphabet[v >> 6 & 63]);
    out.push_back('=');
  }
  return out;
}

StatusOr<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::InvalidArgument("base64: length not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t padding = 0;
    if (last && text[i + 3] == '=') padding = text[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      if (j >= 4 - padding) {
        v <<= 6;
        continue;
      }
      int d = Base64Value(text[i + j]);
      if (d < 0) return Status::InvalidArgument("base64: invalid character");
      v = v << 6 | uint32_t(d);
    }
    out.push_back(static_cast<char>(v >> 16));
    if (padding < 2) out.push_back(static_cast<char>(v >> 8));
    if (padding < 1) out.push_back(static_cast<char>(v));
    // Canonical form: the bits below the last encoded byte must be zero.
    if ((padding == 1 && (v & 0xff) != 0) || (padding == 2 && (v & 0xffff) != 0)) {
      return Status::InvalidArgument("base64: non-canonical trailing bits");
    }
  }
  return out;
}

// One append instead of one push_back per byte: keys are built per entry.
void PutBigEndian64(std::string* out, uint64_t value) {
  char bytes[8];
  for (int i = 7; i >= 0; --i, value >>= 8) bytes[i] = static_cast<char>(value);
  out->append(bytes, 8);
}

void PutBigEndian32(std::string* out, uint32_t value) {
  char bytes[4];
  for (int i = 3; i >= 0; --i, value >>= 8) bytes[i] = static_cast<char>(value);
  out->append(bytes, 4);
}

uint64_t GetBigEndian64(std::string_view bytes) {
  assert(bytes.size() >= 8);
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | uint8_t(bytes[i]);
  return value;
}

uint32_t GetBigEndian32(std::string_view bytes) {
  assert(bytes.size() >= 4);
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = value << 8 | uint8_t(bytes[i]);
  return value;
}

}  // namespace ledger
