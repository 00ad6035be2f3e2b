// Exact money: amounts are int64 fen (分, 1/100 yuan), never floating point.
//
// The text form is a decimal number of yuan with at most two decimals
// ("1250000.00", "1250000", "0.5"), as in the JSON form of entries and in
// spreadsheet imports. Parsing is strict: no sign, exponent, spaces, digit
// grouping or leading '.', and an amount too large for int64 fen is an error,
// never a wrapped value.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace ledger {

// Returns the amount in fen, or InvalidArgument saying what is wrong with the
// text (the caller adds the field name, e.g. with Status::WithContext).
StatusOr<int64_t> ParseYuan(std::string_view text);

// Always two decimals: 125000000 -> "1250000.00", -5 -> "-0.05". Every int64
// is formatted, INT64_MIN included. ParseYuan reads back every non-negative
// result.
std::string FormatYuan(int64_t fen);

// Checked arithmetic for totals. They return false on int64 overflow and then
// leave *result unchanged, so a caller can report the overflow instead of
// storing a wrapped sum. (bool rather than StatusOr: these run once per entry
// per view row, and the caller names the total that overflowed.)
[[nodiscard]] bool AddFen(int64_t a, int64_t b, int64_t* sum);
[[nodiscard]] bool SubtractFen(int64_t a, int64_t b, int64_t* difference);

}  // namespace ledger
