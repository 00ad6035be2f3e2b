#include "ledger/money.h"

#include <cstdio>

namespace ledger {
namespace {

constexpr int kFenPerYuan = 100;
constexpr int kDecimalsMax = 2;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Names the first character that cannot appear in a yuan amount, so a
// clerk sees "sign not allowed" rather than a generic syntax error.
Status BadCharacter(char c, size_t position) {
  if (c == '-' || c == '+') return Status::InvalidArgument("sign not allowed");
  if (c == 'e' || c == 'E') return Status::InvalidArgument("exponent not allowed");
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
    return Status::InvalidArgument("spaces not allowed");
  }
  char text[64];
  unsigned char byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) {
    std::snprintf(text, sizeof(text), "unexpected character '%c' at position %zu", c, position);
  } else {
    std::snprintf(text, sizeof(text), "unexpected byte 0x%02X at position %zu", byte, position);
  }
  return Status::InvalidArgument(text);
}

Status TooLarge() {
  return Status::InvalidArgument("too large (more than " + FormatYuan(INT64_MAX) + " yuan)");
}

// Appends one decimal digit to *fen, detecting overflow.
bool PushDigit(char c, int64_t* fen) {
  return !__builtin_mul_overflow(*fen, 10, fen) && !__builtin_add_overflow(*fen, c - '0', fen);
}

}  // namespace

StatusOr<int64_t> ParseYuan(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty");
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view decimals = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsDigit(text[i]) && i != dot) return BadCharacter(text[i], i);
  }
  // A second '.' is caught above: find() returned the first one.
  if (whole.empty()) return Status::InvalidArgument("no digits before '.'");
  if (dot != std::string_view::npos && decimals.empty()) {
    return Status::InvalidArgument("no digits after '.'");
  }
  if (decimals.size() > kDecimalsMax) return Status::InvalidArgument("more than two decimals");

  int64_t fen = 0;
  for (char c : whole) {
    if (!PushDigit(c, &fen)) return TooLarge();
  }
  for (size_t i = 0; i < kDecimalsMax; ++i) {
    if (!PushDigit(i < decimals.size() ? decimals[i] : '0', &fen)) return TooLarge();
  }
  return fen;
}

std::string FormatYuan(int64_t fen) {
  // The magnitude as unsigned, so that INT64_MIN has one too.
  uint64_t magnitude = fen < 0 ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  char text[32];
  std::snprintf(text, sizeof(text), "%s%llu.%02llu", fen < 0 ? "-" : "",
                static_cast<unsigned long long>(magnitude / kFenPerYuan),
                static_cast<unsigned long long>(magnitude % kFenPerYuan));
  return text;
}

bool AddFen(int64_t a, int64_t b, int64_t* sum) {
  int64_t result;
  if (__builtin_add_overflow(a, b, &result)) return false;
  *sum = result;
  return true;
}

bool SubtractFen(int64_t a, int64_t b, int64_t* difference) {
  int64_t result;
  if (__builtin_sub_overflow(a, b, &result)) return false;
  *difference = result;
  return true;
}

}  // namespace ledger
