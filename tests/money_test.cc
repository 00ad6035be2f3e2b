#include "ledger/money.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

namespace ledger {
namespace {

// Yuan strings with zero, one or two decimals all mean the same fen amount.
TEST(MoneyTest, ParsesYuanWithUpToTwoDecimals) {
  struct Case {
    const char* text;
    int64_t fen;
  };
  const Case cases[] = {
      {"1250000.00", 125000000},
      {"1250000", 125000000},
      {"0.5", 50},
      {"0.05", 5},
      {"0", 0},
      {"0.00", 0},
      {"007.10", 710},
      {"1.2", 120},
      {"92233720368547758.07", INT64_MAX},
  };
  for (const Case& c : cases) {
    StatusOr<int64_t> fen = ParseYuan(c.text);
    ASSERT_TRUE(fen.ok()) << c.text << ": " << fen.status().ToString();
    EXPECT_EQ(*fen, c.fen) << c.text;
  }
}

// Each malformed amount is refused with a message saying what is wrong.
TEST(MoneyTest, RejectsMalformedAmountsWithReason) {
  struct Case {
    std::string text;
    const char* reason;
  };
  const Case cases[] = {
      {"", "empty"},
      {"-1.00", "sign"},
      {"+1.00", "sign"},
      {"1e5", "exponent"},
      {"1E5", "exponent"},
      {" 1.00", "spaces"},
      {"1.00 ", "spaces"},
      {"1.234", "more than two decimals"},
      {"0.001", "more than two decimals"},
      {".5", "no digits before '.'"},
      {"1.", "no digits after '.'"},
      {"1,000.00", "unexpected character ','"},
      {"1.2.3", "unexpected character '.'"},
      {"abc", "unexpected character 'a'"},
      {"\xEF\xBC\x91", "unexpected byte 0xEF"},  // A full-width digit one.
      {std::string("1\0", 2), "unexpected byte 0x00"},
      {"92233720368547758.08", "too large"},
      {"92233720368547759", "too large"},
      {"99999999999999999999999", "too large"},
  };
  for (const Case& c : cases) {
    StatusOr<int64_t> fen = ParseYuan(c.text);
    ASSERT_FALSE(fen.ok()) << "accepted \"" << c.text << "\"";
    EXPECT_EQ(fen.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(fen.status().message().find(c.reason), std::string::npos)
        << c.text << " -> " << fen.status().message();
  }
}

// Formatting always shows two decimals and handles signs and both int64 ends.
TEST(MoneyTest, FormatsWithTwoDecimals) {
  EXPECT_EQ(FormatYuan(125000000), "1250000.00");
  EXPECT_EQ(FormatYuan(0), "0.00");
  EXPECT_EQ(FormatYuan(5), "0.05");
  EXPECT_EQ(FormatYuan(50), "0.50");
  EXPECT_EQ(FormatYuan(-5), "-0.05");
  EXPECT_EQ(FormatYuan(-12345), "-123.45");
  EXPECT_EQ(FormatYuan(INT64_MAX), "92233720368547758.07");
  EXPECT_EQ(FormatYuan(INT64_MIN), "-92233720368547758.08");
}

// Every non-negative amount reads back exactly from its formatted text.
TEST(MoneyTest, FormatThenParseRoundTrips) {
  std::mt19937_64 random(20210928);
  for (int i = 0; i < 100000; ++i) {
    // Spread over all magnitudes, not just huge numbers.
    int64_t fen = static_cast<int64_t>(random() >> (random() % 64)) & INT64_MAX;
    StatusOr<int64_t> parsed = ParseYuan(FormatYuan(fen));
    ASSERT_TRUE(parsed.ok()) << FormatYuan(fen);
    ASSERT_EQ(*parsed, fen);
  }
}

// Checked addition and subtraction report overflow and leave the result
// untouched instead of wrapping.
TEST(MoneyTest, CheckedArithmeticDetectsOverflow) {
  int64_t result = 7;
  EXPECT_TRUE(AddFen(100, 23, &result));
  EXPECT_EQ(result, 123);
  EXPECT_TRUE(AddFen(INT64_MAX - 1, 1, &result));
  EXPECT_EQ(result, INT64_MAX);

  result = 7;
  EXPECT_FALSE(AddFen(INT64_MAX, 1, &result));
  EXPECT_EQ(result, 7);
  EXPECT_FALSE(AddFen(INT64_MIN, -1, &result));
  EXPECT_EQ(result, 7);

  EXPECT_TRUE(SubtractFen(100, 123, &result));
  EXPECT_EQ(result, -23);
  result = 7;
  EXPECT_FALSE(SubtractFen(INT64_MIN, 1, &result));
  EXPECT_FALSE(SubtractFen(0, INT64_MIN, &result));
  EXPECT_EQ(result, 7);
}

}  // namespace
}  // namespace ledger
