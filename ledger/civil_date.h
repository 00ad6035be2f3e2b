// Civil dates (proleptic Gregorian calendar) stored as int32 days since
// 1970-01-01, as in entry.fbs.
//
// The text form is strict ISO 8601 "YYYY-MM-DD": exactly ten characters, a
// real calendar day (2020-02-29 exists, 2021-02-29 does not). Conversions use
// Howard Hinnant's days_from_civil / civil_from_days algorithms
// (http://howardhinnant.github.io/date_algorithms.html), exact for every
// int32 day count.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace ledger {

// ParseDate accepts only these years: wide enough for any contract of the
// technology markets (founded in the 1980s) with room for long terms, and
// narrow enough that a typo like "0221" or "20211" is caught.
inline constexpr int32_t kDateYearMin = 1900;
inline constexpr int32_t kDateYearMax = 2199;

struct CivilDate {
  int32_t year;
  int32_t month;  // 1..12
  int32_t day;    // 1..31
};

// Days since 1970-01-01 of a civil date.
// REQUIRES: month in 1..12, day in 1..31, year within +-5,000,000 (so that the
// result fits int32).
constexpr int32_t DaysFromCivil(int32_t year, int32_t month, int32_t day) {
  const int64_t y = int64_t{year} - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;  // [0, 399]
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // [0, 146096]
  return static_cast<int32_t>(era * 146097 + day_of_era - 719468);
}

// The civil date of a day count; exact for every int32.
CivilDate CivilFromDays(int32_t days);

// "2021-09-28" -> 18898. InvalidArgument says what is wrong (the caller adds
// the field name).
StatusOr<int32_t> ParseDate(std::string_view yyyy_mm_dd);

// 18898 -> "2021-09-28". Every int32 is formatted; years outside 0..9999 come
// out with more or fewer digits (and ParseDate rejects them).
std::string FormatDate(int32_t days);

// The month of a day count as the integer YYYYMM: 18898 -> 202109.
int32_t MonthOf(int32_t days);

// 28..31.
// REQUIRES: month in 1..12.
int32_t DaysInMonth(int32_t year, int32_t month);

}  // namespace ledger
