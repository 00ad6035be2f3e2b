// Tests of ledger/totals.h: amount formatting in yuan, wan and yi, parsing
// of query arguments, answering queries from view rows written by hand, and
// the table and JSON renderings. Expected texts come from an independent
// reference formatter or from the rules in totals.h.
#include "ledger/totals.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace ledger {
namespace {

using Values = std::array<int64_t, 5>;

// ---- An independent formatter: exact 128-bit arithmetic. ----

std::string Digits(unsigned __int128 value) {
  std::string text;
  do {
    text.insert(text.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value != 0);
  return text;
}

// fen in the unit (1 yuan = 10^2 fen, 1 wan = 10^6, 1 yi = 10^10) with 2, 2
// or 4 decimals, rounded half away from zero.
std::string ReferenceAmount(int64_t fen, Unit unit) {
  int fen_exponent = unit == Unit::kYuan ? 2 : unit == Unit::kWan ? 6 : 10;
  int decimals = unit == Unit::kYi ? 4 : 2;
  unsigned __int128 divisor = 1;
  for (int i = 0; i < fen_exponent - decimals; ++i) divisor *= 10;
  __int128 signed_fen = fen;
  unsigned __int128 magnitude =
      static_cast<unsigned __int128>(signed_fen < 0 ? -signed_fen : signed_fen);
  // Rounds the magnitude to the nearest multiple, halves upwards.
  unsigned __int128 steps = (2 * magnitude + divisor) / (2 * divisor);
  std::string digits = Digits(steps);
  if (digits.size() < static_cast<size_t>(decimals) + 1) {
    digits.insert(0, decimals + 1 - digits.size(), '0');
  }
  digits.insert(digits.size() - decimals, ".");
  return (fen < 0 && steps != 0 ? "-" : "") + digits;
}

// ---- FormatAmount. ----

// Hand-worked examples of each unit, including the rounding of halves away
// from zero, negative amounts, carries and the ends of int64.
TEST(TotalsTest, FormatAmountExamples) {
  struct Case {
    int64_t fen;
    Unit unit;
    const char* text;
  };
  const Case cases[] = {
      {0, Unit::kYuan, "0.00"},
      {125000000, Unit::kYuan, "1250000.00"},
      {-5, Unit::kYuan, "-0.05"},
      {22000000000, Unit::kYuan, "220000000.00"},
      {INT64_MAX, Unit::kYuan, "92233720368547758.07"},
      {INT64_MIN, Unit::kYuan, "-92233720368547758.08"},
      {0, Unit::kWan, "0.00"},
      {125000000, Unit::kWan, "125.00"},
      {22000000000, Unit::kWan, "22000.00"},
      {4999, Unit::kWan, "0.00"},
      {5000, Unit::kWan, "0.01"},
      {-4999, Unit::kWan, "0.00"},
      {-5000, Unit::kWan, "-0.01"},
      {15000, Unit::kWan, "0.02"},
      {25000, Unit::kWan, "0.03"},  // half away from zero, not to even
      {-25000, Unit::kWan, "-0.03"},
      {999995000, Unit::kWan, "1000.00"},
      {999994999, Unit::kWan, "999.99"},
      {INT64_MAX, Unit::kWan, "9223372036854.78"},
      {INT64_MIN, Unit::kWan, "-9223372036854.78"},
      {0, Unit::kYi, "0.0000"},
      {22000000000, Unit::kYi, "2.2000"},
      {-22000000000, Unit::kYi, "-2.2000"},
      {10000000000, Unit::kYi, "1.0000"},
      {499999, Unit::kYi, "0.0000"},
      {500000, Unit::kYi, "0.0001"},
      {-499999, Unit::kYi, "0.0000"},
      {-500000, Unit::kYi, "-0.0001"},
      {1500000, Unit::kYi, "0.0002"},
      {2500000, Unit::kYi, "0.0003"},
      {9999500000, Unit::kYi, "1.0000"},
      {INT64_MAX, Unit::kYi, "922337203.6855"},
      {INT64_MIN, Unit::kYi, "-922337203.6855"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FormatAmount(c.fen, c.unit), c.text) << c.fen << " unit " << static_cast<int>(c.unit);
    // The reference formatter agrees with the hand-worked text.
    EXPECT_EQ(ReferenceAmount(c.fen, c.unit), c.text) << c.fen;
  }
}

// FormatAmount agrees with exact arithmetic on random amounts of every
// magnitude, and around every rounding boundary.
TEST(TotalsTest, FormatAmountMatchesExactArithmetic) {
  std::mt19937_64 rng(20210928);
  for (int i = 0; i < 20000; ++i) {
    int shift = static_cast<int>(rng() % 64);
    int64_t fen = static_cast<int64_t>(rng() >> shift);
    if (rng() % 2) fen = -fen;
    for (Unit unit : {Unit::kYuan, Unit::kWan, Unit::kYi}) {
      ASSERT_EQ(FormatAmount(fen, unit), ReferenceAmount(fen, unit)) << fen;
    }
  }
  for (int64_t step : {int64_t{10000}, int64_t{1000000}}) {
    Unit unit = step == 10000 ? Unit::kWan : Unit::kYi;
    for (int64_t multiple : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{123456789}}) {
      for (int64_t offset : {step / 2 - 1, step / 2, step / 2 + 1}) {
        for (int64_t sign : {1, -1}) {
          int64_t fen = sign * (multiple * step + offset);
          EXPECT_EQ(FormatAmount(fen, unit), ReferenceAmount(fen, unit)) << fen;
        }
      }
    }
  }
}

// ---- Parsing arguments. ----

// Months are exactly YYYY-MM with a month 01..12.
TEST(TotalsTest, ParseMonthAcceptsOnlyYyyyMm) {
  const std::pair<const char*, int32_t> good[] = {
      {"2021-09", 202109}, {"2021-01", 202101}, {"2021-12", 202112}, {"1990-10", 199010}};
  for (const auto& [text, month] : good) {
    StatusOr<int32_t> parsed = ParseMonth(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, month);
  }
  for (const char* text : {"2021-13", "2021-00", "2021-9", "21-09", "2021-09x", "", "2021/09",
                           "2021-0a", " 2021-09", "-021-09", "2021-09-01", "202109", "2021--9"}) {
    StatusOr<int32_t> parsed = ParseMonth(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument) << text;
  }
}

// Every dimension name parses to its dimension and back; others are
// InvalidArgument.
TEST(TotalsTest, ParseDimensionKnowsEveryName) {
  const std::pair<const char*, Dimension> names[] = {{"market", Dimension::kMarket},
                                                     {"month", Dimension::kMonth},
                                                     {"type", Dimension::kType},
                                                     {"field", Dimension::kField},
                                                     {"seller_region", Dimension::kSellerRegion},
                                                     {"buyer_region", Dimension::kBuyerRegion},
                                                     {"mode", Dimension::kMode}};
  for (const auto& [name, dimension] : names) {
    StatusOr<Dimension> parsed = ParseDimension(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(*parsed, dimension) << name;
    EXPECT_EQ(DimensionName(dimension), name);
  }
  for (const char* name : {"Market", "", "region", "seller", "month ", "types", "deals"}) {
    StatusOr<Dimension> parsed = ParseDimension(name);
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument);
  }
}

// Units are exactly yuan, wan or yi; anything else is InvalidArgument.
TEST(TotalsTest, ParseUnitKnowsYuanWanYi) {
  EXPECT_EQ(*ParseUnit("yuan"), Unit::kYuan);
  EXPECT_EQ(*ParseUnit("wan"), Unit::kWan);
  EXPECT_EQ(*ParseUnit("yi"), Unit::kYi);
  for (const char* name : {"Yuan", "元", "", "wan ", "fen", "YI"}) {
    StatusOr<Unit> parsed = ParseUnit(name);
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument);
  }
}

// ---- QueryTotals over hand-written rows. ----

// View rows a test writes by hand, keyed as the views column family keys
// them.
class RowsBuilder {
 public:
  const ViewRows& rows() const { return rows_; }

  void Volume(const std::string& market, int32_t month, uint8_t type, uint8_t field,
              const Values& values) {
    Put(ViewKey{.kind = ViewKind::kVolume,
                .market = market,
                .month = month,
                .type = type,
                .field = field},
        values);
  }
  void Flow(const std::string& market, int32_t month, uint32_t seller, uint32_t buyer,
            const Values& values) {
    Put(ViewKey{.kind = ViewKind::kFlow,
                .market = market,
                .month = month,
                .seller_region = seller,
                .buyer_region = buyer},
        values);
  }
  void Deal(const std::string& market, int32_t month, uint8_t mode, int64_t deals,
            int64_t amount_fen) {
    Put(ViewKey{.kind = ViewKind::kDeal, .market = market, .month = month, .mode = mode},
        {deals, amount_fen, 0, 0, 0});
  }
  void PutRaw(const std::string& key, const Values& values) { rows_[key].v = values; }

 private:
  void Put(const ViewKey& key, const Values& values) { PutRaw(key.Encode(), values); }

  ViewRows rows_;
};

// Enum numbers of schemas/entry.fbs.
constexpr uint8_t kDevelopment = 1, kTransfer = 2, kService = 5;
constexpr uint8_t kBiomedicine = 4, kNewEnergy = 6;
constexpr uint8_t kLicense = 2, kEquity = 3;

// Two markets' rows; the expectations below are summed by hand from them.
void WriteSample(RowsBuilder* rows) {
  rows->Volume("xining", 202101, kDevelopment, kBiomedicine, {2, 300, 200, 50, 0});
  rows->Volume("xining", 202101, kService, kBiomedicine, {1, 100, 0, 0, 0});
  rows->Volume("xining", 202102, kDevelopment, kNewEnergy, {-1, -300, -100, 20, 1});
  rows->Volume("xining", 202203, kTransfer, kBiomedicine, {1, 1000, 1000, 0, 0});
  rows->Flow("xining", 202101, 630100, 420100, {3, 400, 200, 50, 0});
  rows->Flow("xining", 202102, 630100, 420100, {-1, -300, -100, 20, 1});
  rows->Flow("xining", 202203, 610100, 630100, {1, 1000, 1000, 0, 0});
  rows->Deal("xining", 202101, kLicense, 2, 500);
  rows->Deal("xining", 202203, kEquity, 1, 70);
  rows->Volume("wuhan", 202102, kDevelopment, kBiomedicine, {5, 5000, 4000, 100, 0});
  rows->Flow("wuhan", 202102, 420100, 420100, {5, 5000, 4000, 100, 0});
  rows->Deal("wuhan", 202102, kLicense, 1, 9);
  // A market held by nobody here, and one whose id is a prefix of another.
  rows->Volume("beijing", 202101, kDevelopment, kBiomedicine, {40, 4000, 4000, 0, 0});
  rows->Volume("xi", 202101, kDevelopment, kBiomedicine, {9, 900, 900, 0, 0});
}

const std::vector<std::string> kHeld = {"xining", "wuhan"};

struct Row {
  std::vector<std::string> keys;
  Values values;
  bool operator==(const Row&) const = default;
};
void PrintTo(const Row& row, std::ostream* out) {
  *out << testing::PrintToString(row.keys) << " -> " << testing::PrintToString(row.values);
}

TotalsQuery Query(std::vector<Dimension> by, bool deals = false, int32_t from = 0,
                  int32_t to = 999912, std::vector<std::string> markets = {}) {
  TotalsQuery query;
  query.by = std::move(by);
  query.deals = deals;
  query.from_month = from;
  query.to_month = to;
  query.markets = std::move(markets);
  return query;
}

// The rows of an answer in the order given, and its total.
std::vector<Row> Answer(const ViewRows& view_rows, const std::vector<std::string>& held,
                        const TotalsQuery& query, Values* total) {
  StatusOr<TotalsResult> result = QueryTotals(view_rows, held, query);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return {};
  EXPECT_EQ(result->by, query.by);
  EXPECT_EQ(result->deals, query.deals);
  std::vector<Row> rows;
  for (const TotalsRow& row : result->rows) rows.push_back({row.keys, row.values.v});
  *total = result->total.v;
  return rows;
}

// Sums and groups by market, month, type, field, region pair and mode, in
// the promised order, with inclusive month bounds and market filters.
TEST(TotalsTest, QueryTotalsGroupsAndSumsTheRows) {
  RowsBuilder rows;
  WriteSample(&rows);
  Values total;

  EXPECT_EQ(Answer(rows.rows(), kHeld, Query({}), &total),
            (std::vector<Row>{{{}, {8, 6100, 5100, 170, 1}}}));
  EXPECT_EQ(total, (Values{8, 6100, 5100, 170, 1}));

  EXPECT_EQ(Answer(rows.rows(), kHeld, Query({Dimension::kMarket}), &total),
            (std::vector<Row>{{{"wuhan"}, {5, 5000, 4000, 100, 0}},
                              {{"xining"}, {3, 1100, 1100, 70, 1}}}));

  EXPECT_EQ(Answer(rows.rows(), kHeld, Query({Dimension::kMonth}, false, 202102, 202112), &total),
            (std::vector<Row>{{{"2021-02"}, {4, 4700, 3900, 120, 1}}}));
  EXPECT_EQ(total, (Values{4, 4700, 3900, 120, 1}));

  EXPECT_EQ(Answer(rows.rows(), kHeld, Query({Dimension::kMonth, Dimension::kMarket}), &total),
            (std::vector<Row>{{{"2021-01", "xining"}, {3, 400, 200, 50, 0}},
                              {{"2021-02", "wuhan"}, {5, 5000, 4000, 100, 0}},
                              {{"2021-02", "xining"}, {-1, -300, -100, 20, 1}},
                              {{"2022-03", "xining"}, {1, 1000, 1000, 0, 0}}}));

  EXPECT_EQ(
      Answer(rows.rows(), kHeld, Query({Dimension::kType}, false, 0, 999912, {"xining"}), &total),
      (std::vector<Row>{{{"development"}, {1, 0, 100, 70, 1}},
                        {{"transfer"}, {1, 1000, 1000, 0, 0}},
                        {{"service"}, {1, 100, 0, 0, 0}}}));
  EXPECT_EQ(total, (Values{3, 1100, 1100, 70, 1}));

  EXPECT_EQ(Answer(rows.rows(), kHeld, Query({Dimension::kField, Dimension::kType}), &total),
            (std::vector<Row>{{{"biomedicine", "development"}, {7, 5300, 4200, 150, 0}},
                              {{"biomedicine", "transfer"}, {1, 1000, 1000, 0, 0}},
                              {{"biomedicine", "service"}, {1, 100, 0, 0, 0}},
                              {{"new_energy", "development"}, {-1, -300, -100, 20, 1}}}));

  EXPECT_EQ(Answer(rows.rows(), kHeld, Query({Dimension::kSellerRegion, Dimension::kBuyerRegion}),
                   &total),
            (std::vector<Row>{{{"420100", "420100"}, {5, 5000, 4000, 100, 0}},
                              {{"610100", "630100"}, {1, 1000, 1000, 0, 0}},
                              {{"630100", "420100"}, {2, 100, 100, 70, 1}}}));
  EXPECT_EQ(total, (Values{8, 6100, 5100, 170, 1}));

  EXPECT_EQ(
      Answer(rows.rows(), kHeld, Query({Dimension::kBuyerRegion}, false, 202101, 202101), &total),
      (std::vector<Row>{{{"420100"}, {3, 400, 200, 50, 0}}}));

  EXPECT_EQ(Answer(rows.rows(), kHeld, Query({Dimension::kMode}, true), &total),
            (std::vector<Row>{{{"license"}, {3, 509, 0, 0, 0}}, {{"equity"}, {1, 70, 0, 0, 0}}}));
  EXPECT_EQ(total, (Values{4, 579, 0, 0, 0}));

  EXPECT_EQ(
      Answer(rows.rows(), kHeld, Query({Dimension::kMarket, Dimension::kMonth}, true), &total),
      (std::vector<Row>{{{"wuhan", "2021-02"}, {1, 9, 0, 0, 0}},
                        {{"xining", "2021-01"}, {2, 500, 0, 0, 0}},
                        {{"xining", "2022-03"}, {1, 70, 0, 0, 0}}}));

  // Only held markets count when none is named; a market whose id is a
  // prefix of another's gets only its own rows.
  EXPECT_EQ(Answer(rows.rows(), {"xining"}, Query({}), &total),
            (std::vector<Row>{{{}, {3, 1100, 1100, 70, 1}}}));
  EXPECT_EQ(Answer(rows.rows(), {"xi", "xining"},
                   Query({Dimension::kMarket}, false, 0, 999912, {"xi"}), &total),
            (std::vector<Row>{{{"xi"}, {9, 900, 900, 0, 0}}}));

  // A range without rows has no rows and a zero total.
  EXPECT_EQ(Answer(rows.rows(), kHeld, Query({Dimension::kMonth}, false, 202104, 202201), &total),
            std::vector<Row>{});
  EXPECT_EQ(total, Values{});
}

// Groups of several markets come out in the order of the market ids
// ("beijing" before "wuhan" before "xining"), as totals.h promises.
TEST(TotalsTest, RowsAreOrderedByMarketId) {
  RowsBuilder rows;
  WriteSample(&rows);
  Values total;
  EXPECT_EQ(
      Answer(rows.rows(), {"xining", "wuhan", "beijing"}, Query({Dimension::kMarket}), &total),
      (std::vector<Row>{{{"beijing"}, {40, 4000, 4000, 0, 0}},
                        {{"wuhan"}, {5, 5000, 4000, 100, 0}},
                        {{"xining"}, {3, 1100, 1100, 70, 1}}}));
}

// Groupings the rows cannot answer, a reversed range and a market not held
// are refused.
TEST(TotalsTest, QueryTotalsRefusesWhatItCannotAnswer) {
  RowsBuilder rows;
  WriteSample(&rows);
  struct Case {
    const char* name;
    TotalsQuery query;
    Status::Code code;
  };
  const Case cases[] = {
      {"region with type", Query({Dimension::kSellerRegion, Dimension::kType}),
       Status::Code::kInvalidArgument},
      {"region with field", Query({Dimension::kField, Dimension::kBuyerRegion}),
       Status::Code::kInvalidArgument},
      {"mode without deals", Query({Dimension::kMode}), Status::Code::kInvalidArgument},
      {"type with deals", Query({Dimension::kType}, true), Status::Code::kInvalidArgument},
      {"field with deals", Query({Dimension::kField}, true), Status::Code::kInvalidArgument},
      {"region with deals", Query({Dimension::kSellerRegion}, true),
       Status::Code::kInvalidArgument},
      {"from after to", Query({}, false, 202103, 202102), Status::Code::kInvalidArgument},
      {"unknown market", Query({}, false, 0, 999912, {"beijing"}), Status::Code::kNotFound},
      {"held and unknown market", Query({}, false, 0, 999912, {"xining", "chengdu"}),
       Status::Code::kNotFound},
  };
  for (const Case& c : cases) {
    StatusOr<TotalsResult> result = QueryTotals(rows.rows(), kHeld, c.query);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.status().code(), c.code) << c.name << ": " << result.status().ToString();
  }
  // Allowed combinations near those.
  for (const TotalsQuery& query :
       {Query({Dimension::kMarket, Dimension::kMonth, Dimension::kMode}, true),
        Query({Dimension::kMonth, Dimension::kSellerRegion, Dimension::kBuyerRegion}),
        Query({}, false, 202102, 202102)}) {
    StatusOr<TotalsResult> result = QueryTotals(rows.rows(), kHeld, query);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
  }
}

// A sum beyond int64 is OutOfRange, and a row with a damaged key is DataLoss,
// never a wrong number.
TEST(TotalsTest, QueryTotalsReportsOverflowAndDamage) {
  {
    RowsBuilder rows;
    rows.Volume("xining", 202101, kDevelopment, kBiomedicine, {1, INT64_MAX, 0, 0, 0});
    rows.Volume("xining", 202102, kDevelopment, kBiomedicine, {1, 1, 0, 0, 0});
    StatusOr<TotalsResult> result = QueryTotals(rows.rows(), kHeld, Query({}));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), Status::Code::kOutOfRange);
    result = QueryTotals(rows.rows(), kHeld, Query({}, false, 202101, 202101));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->total.v[1], INT64_MAX);
  }
  {
    RowsBuilder rows;
    // A volume key one byte short: type but no field.
    rows.PutRaw(ViewKeyPrefix(ViewKind::kVolume, "xining", 202101) + '\x01', {1, 1, 0, 0, 0});
    StatusOr<TotalsResult> result = QueryTotals(rows.rows(), kHeld, Query({}));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), Status::Code::kDataLoss);
  }
}

// ---- TotalsTable. ----

// Columns a terminal gives a code point: two for CJK and full-width forms.
size_t CodePointWidth(uint32_t cp) {
  bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
              (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
              (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
              (cp >= 0xFFE0 && cp <= 0xFFE6);
  return wide ? 2 : 1;
}

struct Cell {
  size_t start = 0;  // display column of the first character
  size_t end = 0;    // display column after the last one
  std::string text;
};

// Splits a line on spaces into cells with their display columns.
std::vector<Cell> Cells(const std::string& line, size_t* width) {
  std::vector<Cell> cells;
  size_t column = 0;
  bool in_cell = false;
  for (size_t i = 0; i < line.size();) {
    unsigned char lead = static_cast<unsigned char>(line[i]);
    size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    uint32_t cp = length == 1 ? lead : lead & (0xFF >> (length + 1));
    for (size_t k = 1; k < length; ++k) cp = cp << 6 | (line[i + k] & 0x3F);
    if (cp == ' ') {
      in_cell = false;
    } else {
      if (!in_cell) cells.push_back({column, column, ""});
      in_cell = true;
      cells.back().text += line.substr(i, length);
      cells.back().end = column + CodePointWidth(cp);
    }
    column += CodePointWidth(cp);
    i += length;
  }
  *width = column;
  return cells;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string ValueText(int64_t value, bool money, Unit unit) {
  return money ? ReferenceAmount(value, unit) : std::to_string(value);
}

// Checks the layout of `table` for `result`: the header, one line per row,
// a rule and the total; keys left-aligned, numbers right-aligned so every
// numeric column ends at one display column; every line as wide as the rule.
void ExpectTable(const TotalsResult& result, Unit unit, const std::vector<std::string>& header,
                 const std::vector<bool>& money) {
  const std::string table = TotalsTable(result, unit);
  SCOPED_TRACE("table:\n" + table);
  ASSERT_FALSE(table.empty());
  EXPECT_EQ(table.back(), '\n');
  std::vector<std::string> lines = Lines(table);
  ASSERT_EQ(lines.size(), result.rows.size() + 3);
  const size_t keys = result.by.size();
  const size_t values = money.size();

  // The rule: dashes only, as wide as the widest line.
  const std::string& rule = lines[lines.size() - 2];
  ASSERT_FALSE(rule.empty());
  EXPECT_EQ(rule.find_first_not_of('-'), std::string::npos) << rule;

  // What each non-rule line should hold.
  std::vector<std::vector<std::string>> expected;
  expected.push_back(header);
  auto value_cells = [&](std::vector<std::string> cells, const ViewValues& v) {
    for (size_t i = 0; i < values; ++i) cells.push_back(ValueText(v.v[i], money[i], unit));
    return cells;
  };
  for (const TotalsRow& row : result.rows) expected.push_back(value_cells(row.keys, row.values));
  std::vector<std::string> total_keys;
  if (keys > 0) total_keys.push_back("total");
  expected.push_back(value_cells(total_keys, result.total));

  std::vector<size_t> value_ends(values, 0);
  std::vector<size_t> key_starts(keys, 0);
  for (size_t l = 0, e = 0; l < lines.size(); ++l) {
    if (l == lines.size() - 2) continue;  // the rule
    size_t width = 0;
    std::vector<Cell> cells = Cells(lines[l], &width);
    SCOPED_TRACE("line " + std::to_string(l) + ": " + lines[l]);
    EXPECT_EQ(width, rule.size()) << "every line ends where the rule does";
    std::vector<std::string> texts;
    for (const Cell& cell : cells) texts.push_back(cell.text);
    ASSERT_EQ(texts, expected[e++]);
    // Numbers end at one column.
    for (size_t i = 0; i < values; ++i) {
      const Cell& cell = cells[cells.size() - values + i];
      if (l == 0) value_ends[i] = cell.end;
      EXPECT_EQ(cell.end, value_ends[i]) << "value column " << i;
    }
    // Keys start at one column (the total line has only its first key).
    for (size_t k = 0; k < keys && k < cells.size() - values; ++k) {
      if (l == 0) key_starts[k] = cells[k].start;
      EXPECT_EQ(cells[k].start, key_starts[k]) << "key column " << k;
    }
  }
  EXPECT_EQ(value_ends.back(), rule.size());
  if (keys > 0) {
    EXPECT_EQ(key_starts[0], 0u);
  }
  // The last line is the total.
  EXPECT_EQ(lines.back().substr(0, keys > 0 ? 5 : 0), keys > 0 ? "total" : "");
}

ViewValues Vals(std::initializer_list<int64_t> list) {
  ViewValues values;
  size_t i = 0;
  for (int64_t v : list) values.v[i++] = v;
  return values;
}

TotalsResult ContractResult() {
  TotalsResult result;
  result.by = {Dimension::kMarket, Dimension::kMonth, Dimension::kType};
  result.rows = {
      {{"xining", "2021-01", "development"}, Vals({2, 125000000, 100000000, 5000, 0})},
      {{"xining", "2021-02", "service"}, Vals({-1, -22000000000, 0, 0, 1})},
      {{"wuhan-long-market", "2022-12", "transfer"}, Vals({123456, 922337203685477580, 7, 99, 12})},
  };
  for (const TotalsRow& row : result.rows) EXPECT_TRUE(result.total.Add(row.values));
  return result;
}

// Contract tables in every unit: aligned columns (CJK unit names two
// columns wide), a rule, and the total last.
TEST(TotalsTest, TotalsTableAlignsColumnsAndEndsWithTheTotal) {
  const std::vector<bool> money = {false, true, true, true, false};
  for (const auto& [unit, name] : {std::pair{Unit::kYuan, "元"}, std::pair{Unit::kWan, "万元"},
                                   std::pair{Unit::kYi, "亿元"}}) {
    SCOPED_TRACE(name);
    std::string u = std::string("(") + name + ")";
    ExpectTable(ContractResult(), unit,
                {"market", "month", "type", "contracts", "contract_amount" + u, "tech_amount" + u,
                 "payments" + u, "terminated"},
                money);
  }
  // 220000000 yuan shows as 2.2000 yi and 22000.00 wan in the total line.
  TotalsResult result;
  result.by = {Dimension::kMonth};
  result.rows = {{{"2021-09"}, Vals({1, 22000000000, 0, 0, 0})}};
  result.total = Vals({1, 22000000000, 0, 0, 0});
  EXPECT_NE(Lines(TotalsTable(result, Unit::kYi)).back().find(" 2.2000 "), std::string::npos);
  EXPECT_NE(Lines(TotalsTable(result, Unit::kWan)).back().find(" 22000.00 "), std::string::npos);
}

// Deal tables have two value columns; a table without grouping has no key
// columns and its last line is the total alone.
TEST(TotalsTest, TotalsTableOfDealsAndOfNoGrouping) {
  TotalsResult deals;
  deals.by = {Dimension::kMode};
  deals.deals = true;
  deals.rows = {{{"license"}, Vals({3, 509})}, {{"self_commercialization"}, Vals({1, 70})}};
  deals.total = Vals({4, 579});
  ExpectTable(deals, Unit::kWan, {"mode", "deals", "amount(万元)"}, {false, true});

  TotalsResult none;
  none.rows = {{{}, Vals({8, 6100, 5100, 170, 1})}};
  none.total = Vals({8, 6100, 5100, 170, 1});
  ExpectTable(none, Unit::kYuan,
              {"contracts", "contract_amount(元)", "tech_amount(元)", "payments(元)", "terminated"},
              {false, true, true, true, false});

  TotalsResult empty;
  empty.by = {Dimension::kMarket};
  ExpectTable(empty, Unit::kYi,
              {"market", "contracts", "contract_amount(亿元)", "tech_amount(亿元)",
               "payments(亿元)", "terminated"},
              {false, true, true, true, false});
}

// ---- TotalsJson. ----

// One line of JSON: rows with their keys and values, the total, and the
// digest in hex; counts are numbers and money is yuan text.
TEST(TotalsTest, TotalsJsonHasRowsTotalAndDigest) {
  TotalsResult result = ContractResult();
  std::string digest_hex;
  for (uint8_t i = 0; i < 32; ++i) {
    result.digest[i] = static_cast<uint8_t>(i * 7 + 1);
    char byte[3];
    std::snprintf(byte, sizeof(byte), "%02x", i * 7 + 1);
    digest_hex += byte;
  }
  std::string text = TotalsJson(result);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  nlohmann::json json = nlohmann::json::parse(text);
  ASSERT_TRUE(json["rows"].is_array());
  ASSERT_EQ(json["rows"].size(), result.rows.size());
  const char* names[] = {"contracts", "contract_amount", "tech_amount", "payments", "terminated"};
  const bool money[] = {false, true, true, true, false};
  auto expect_values = [&](const nlohmann::json& object, const ViewValues& values) {
    for (size_t i = 0; i < 5; ++i) {
      ASSERT_TRUE(object.contains(names[i])) << names[i];
      if (money[i]) {
        ASSERT_TRUE(object[names[i]].is_string()) << names[i];
        EXPECT_EQ(object[names[i]].get<std::string>(), ReferenceAmount(values.v[i], Unit::kYuan));
      } else {
        ASSERT_TRUE(object[names[i]].is_number_integer()) << names[i];
        EXPECT_EQ(object[names[i]].get<int64_t>(), values.v[i]);
      }
    }
  };
  for (size_t r = 0; r < result.rows.size(); ++r) {
    const nlohmann::json& row = json["rows"][r];
    EXPECT_EQ(row.size(), 3u + 5u);
    EXPECT_EQ(row["market"], result.rows[r].keys[0]);
    EXPECT_EQ(row["month"], result.rows[r].keys[1]);
    EXPECT_EQ(row["type"], result.rows[r].keys[2]);
    expect_values(row, result.rows[r].values);
  }
  EXPECT_EQ(json["rows"][1]["contract_amount"], "-220000000.00");
  EXPECT_EQ(json["total"].size(), 5u);
  expect_values(json["total"], result.total);
  EXPECT_EQ(json["digest"], digest_hex);

  TotalsResult deals;
  deals.by = {Dimension::kMode};
  deals.deals = true;
  deals.rows = {{{"license"}, Vals({3, 509})}};
  deals.total = Vals({3, 509});
  nlohmann::json deal_json = nlohmann::json::parse(TotalsJson(deals));
  EXPECT_EQ(deal_json["rows"][0],
            (nlohmann::json{{"mode", "license"}, {"deals", 3}, {"amount", "5.09"}}));
  EXPECT_EQ(deal_json["total"], (nlohmann::json{{"deals", 3}, {"amount", "5.09"}}));
  EXPECT_EQ(deal_json["digest"], std::string(64, '0'));
}

}  // namespace
}  // namespace ledger
