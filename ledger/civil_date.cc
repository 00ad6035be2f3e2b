#include "ledger/civil_date.h"

#include <cassert>
#include <cstdio>

namespace ledger {
namespace {

bool IsLeapYear(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

// Reads a fixed-width run of ASCII digits; false if any is not a digit.
bool ReadDigits(std::string_view text, int32_t* value) {
  int32_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    result = result * 10 + (c - '0');
  }
  *value = result;
  return true;
}

}  // namespace

CivilDate CivilFromDays(int32_t days) {
  // 64-bit throughout: the shifted day count of INT32_MAX overflows int32.
  const int64_t z = int64_t{days} + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t day_of_era = z - era * 146097;  // [0, 146096]
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_from_march = (5 * day_of_year + 2) / 153;  // [0, 11], March = 0
  const int64_t day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
  const int64_t month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  return CivilDate{static_cast<int32_t>(year), static_cast<int32_t>(month),
                   static_cast<int32_t>(day)};
}

int32_t DaysInMonth(int32_t year, int32_t month) {
  assert(month >= 1 && month <= 12);
  static constexpr int32_t kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

StatusOr<int32_t> ParseDate(std::string_view text) {
  int32_t year = 0;
  int32_t month = 0;
  int32_t day = 0;
  bool shaped = text.size() == 10 && text[4] == '-' && text[7] == '-' &&
                ReadDigits(text.substr(0, 4), &year) && ReadDigits(text.substr(5, 2), &month) &&
                ReadDigits(text.substr(8, 2), &day);
  if (!shaped) return Status::InvalidArgument("want a date YYYY-MM-DD");
  if (year < kDateYearMin || year > kDateYearMax) {
    return Status::InvalidArgument("year " + std::to_string(year) + " outside " +
                                   std::to_string(kDateYearMin) + ".." +
                                   std::to_string(kDateYearMax));
  }
  if (month < 1 || month > 12) return Status::InvalidArgument("month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return Status::InvalidArgument("no such day: " + std::string(text));
  }
  return DaysFromCivil(year, month, day);
}

std::string FormatDate(int32_t days) {
  CivilDate date = CivilFromDays(days);
  char text[32];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02d", static_cast<int>(date.year),
                static_cast<int>(date.month), static_cast<int>(date.day));
  return text;
}

int32_t MonthOf(int32_t days) {
  CivilDate date = CivilFromDays(days);
  return date.year * 100 + date.month;
}

}  // namespace ledger
