#include "ledger/civil_date.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace ledger {
namespace {

namespace chrono = std::chrono;

// Formats a std::chrono civil date independently of FormatDate.
std::string ChronoText(const chrono::year_month_day& date) {
  char text[16];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

// The date of the DESIGN.md example is day 18898 and month 202109.
TEST(CivilDateTest, KnownDates) {
  EXPECT_EQ(ParseDate("1970-01-01").value(), 0);
  EXPECT_EQ(ParseDate("2021-09-28").value(), 18898);
  EXPECT_EQ(ParseDate("1969-12-31").value(), -1);
  EXPECT_EQ(ParseDate("2000-03-01").value(), 11017);
  EXPECT_EQ(FormatDate(18898), "2021-09-28");
  EXPECT_EQ(MonthOf(18898), 202109);
  EXPECT_EQ(MonthOf(-1), 196912);
  static_assert(DaysFromCivil(2021, 9, 28) == 18898);
}

// Leap days exist exactly in leap years (divisible by 4, centuries only by 400).
TEST(CivilDateTest, LeapYears) {
  EXPECT_TRUE(ParseDate("2020-02-29").ok());
  EXPECT_TRUE(ParseDate("2000-02-29").ok());
  EXPECT_FALSE(ParseDate("2021-02-29").ok());
  EXPECT_FALSE(ParseDate("1900-02-29").ok());
  EXPECT_FALSE(ParseDate("2100-02-29").ok());
  EXPECT_EQ(ParseDate("2020-03-01").value() - ParseDate("2020-02-28").value(), 2);
  EXPECT_EQ(ParseDate("2021-03-01").value() - ParseDate("2021-02-28").value(), 1);
}

// Anything but a strict, real YYYY-MM-DD within 1900..2199 is refused with a
// reason.
TEST(CivilDateTest, RejectsMalformedDates) {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {"", "YYYY-MM-DD"},
      {"2021-9-28", "YYYY-MM-DD"},
      {"2021/09/28", "YYYY-MM-DD"},
      {"20210928", "YYYY-MM-DD"},
      {" 2021-09-28", "YYYY-MM-DD"},
      {"2021-09-28 ", "YYYY-MM-DD"},
      {"2021-09-2x", "YYYY-MM-DD"},
      {"+021-09-28", "YYYY-MM-DD"},
      {"2021-09-28T00", "YYYY-MM-DD"},
      {"2021-13-01", "month"},
      {"2021-00-10", "month"},
      {"2021-04-31", "no such day"},
      {"2021-01-00", "no such day"},
      {"2021-02-29", "no such day"},
      {"1899-12-31", "year 1899"},
      {"2200-01-01", "year 2200"},
  };
  for (const Case& c : cases) {
    StatusOr<int32_t> days = ParseDate(c.text);
    ASSERT_FALSE(days.ok()) << "accepted \"" << c.text << "\"";
    EXPECT_EQ(days.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(days.status().message().find(c.reason), std::string::npos)
        << c.text << " -> " << days.status().message();
  }
}

// Every day of 1900..2199 parses, formats and gives its month exactly as
// std::chrono computes them.
TEST(CivilDateTest, AgreesWithChronoOverTheAcceptedRange) {
  const int32_t first = ParseDate("1900-01-01").value();
  const int32_t last = ParseDate("2199-12-31").value();
  ASSERT_EQ(last - first + 1, 109573);  // 300 years with 73 leap days.
  for (int32_t days = first; days <= last; ++days) {
    chrono::year_month_day date{chrono::sys_days{chrono::days{days}}};
    std::string text = ChronoText(date);
    ASSERT_EQ(FormatDate(days), text);
    ASSERT_EQ(ParseDate(text).value(), days) << text;
    ASSERT_EQ(MonthOf(days), static_cast<int>(date.year()) * 100 +
                                 static_cast<int>(static_cast<unsigned>(date.month())));
  }
  EXPECT_FALSE(
      ParseDate(ChronoText(chrono::year_month_day{chrono::sys_days{chrono::days{first - 1}}}))
          .ok());
  EXPECT_FALSE(
      ParseDate(ChronoText(chrono::year_month_day{chrono::sys_days{chrono::days{last + 1}}})).ok());
}

// The conversions stay exact far outside the accepted years, and at the ends
// of int32 they do not overflow.
TEST(CivilDateTest, AgreesWithChronoOverAWideRange) {
  for (int64_t days = -10'000'000; days <= 10'000'000; days += 997) {
    chrono::year_month_day date{chrono::sys_days{chrono::days{days}}};
    CivilDate civil = CivilFromDays(static_cast<int32_t>(days));
    ASSERT_EQ(civil.year, static_cast<int>(date.year())) << days;
    ASSERT_EQ(civil.month, static_cast<int>(static_cast<unsigned>(date.month()))) << days;
    ASSERT_EQ(civil.day, static_cast<int>(static_cast<unsigned>(date.day()))) << days;
    ASSERT_EQ(DaysFromCivil(civil.year, civil.month, civil.day), days);
  }
  for (int32_t days : {INT32_MIN, INT32_MIN + 1, INT32_MAX - 1, INT32_MAX}) {
    CivilDate civil = CivilFromDays(days);
    EXPECT_EQ(DaysFromCivil(civil.year, civil.month, civil.day), days);
    EXPECT_FALSE(FormatDate(days).empty());
  }
}

}  // namespace
}  // namespace ledger
