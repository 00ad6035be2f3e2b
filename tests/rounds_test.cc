// Matchmaking rounds (对接会): the round rows of the views (views.h), the
// totals grouped by round, the auditor's own fold of them, and the scenario
// generator behind the demo, whose rounds must add up to what the scenario
// says. Expected rows and keys are written out here from the views.h header.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/money.h"
#include "ledger/totals.h"
#include "ledger/validate.h"
#include "ledger/views.h"
#include "tests/test_util.h"
#include "tools/audit_fold.h"

namespace ledger {
namespace {

using json = nlohmann::json;

std::string Be32(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (24 - 8 * i));
  return out;
}

std::string Be64(int64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(static_cast<uint64_t>(value) >> (56 - 8 * i));
  return out;
}

// A registration of `amount` yuan (tech amount the same) signed on `date`,
// from round `round` (none when empty).
std::string Registration(const std::string& id, const std::string& amount, const std::string& date,
                         const std::string& round) {
  std::string text = test::ContractJson(id, amount, amount, date);
  if (round.empty()) return text;
  text.pop_back();  // the closing brace
  return text + R"(,"matchmaking_id":")" + round + R"("})";
}

std::string RoundDeal(const std::string& id, const std::string& round) {
  std::string text = test::DealJson(id);  // 300000.00 yuan, 2021-07-01, license
  text.pop_back();
  return text + R"(,"matchmaking_id":")" + round + R"("})";
}

void AppendAll(Log* log, const std::vector<std::string>& lines) {
  std::vector<std::string> entries;
  for (const std::string& line : lines) entries.push_back(test::Entry(line));
  for (const StatusOr<Receipt>& result : log->Append(std::move(entries))) {
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_FALSE(result->duplicate);
  }
}

using test::TotalsAnswer;

// Two rounds, a contract outside any round, a deal from a round, and an
// amendment and a termination of round contracts afterwards.
std::vector<std::string> RoundLog() {
  return {
      test::MatchmakingJson("R1"),
      Registration("C1", "1000.00", "2021-06-18", "R1"),
      Registration("C2", "500.00", "2021-06-18", "R1"),
      Registration("C3", "7000.00", "2021-06-20", ""),
      Registration("C4", "300.00", "2021-07-08", "R2"),
      RoundDeal("D1", "R1"),
      test::AmendJson("C1", "2000.00", "2000.00"),
      test::TerminateJson("C2"),
  };
}

// A round's rows count what was registered at it: the amendment and the
// termination that follow change the volume rows, not the round rows.
TEST(RoundsTest, RoundTotalsCountWhatWasRegisteredAtEachRound) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  ASSERT_NO_FATAL_FAILURE(AppendAll(log.get(), RoundLog()));

  const json contracts = TotalsAnswer(*log, {Dimension::kRound}, false);
  EXPECT_EQ(contracts["rows"],
            (json{{{"round", "R1"}, {"contracts", 2}, {"contract_amount", "1500.00"}},
                  {{"round", "R2"}, {"contracts", 1}, {"contract_amount", "300.00"}}}));
  EXPECT_EQ(contracts["total"], (json{{"contracts", 3}, {"contract_amount", "1800.00"}}));

  const json deals = TotalsAnswer(*log, {Dimension::kRound}, true);
  EXPECT_EQ(deals["rows"], (json{{{"round", "R1"}, {"deals", 1}, {"amount", "300000.00"}}}));

  const json by_month =
      TotalsAnswer(*log, {Dimension::kMarket, Dimension::kMonth, Dimension::kRound}, false);
  ASSERT_EQ(by_month["rows"].size(), 2u);
  EXPECT_EQ(by_month["rows"][0]["month"], "2021-06");
  EXPECT_EQ(by_month["rows"][1]["month"], "2021-07");
  EXPECT_EQ(by_month["rows"][1]["round"], "R2");

  // The volume rows did move: C1 amended up by 1000.00, C2 left.
  const json all = TotalsAnswer(*log, {}, false);
  EXPECT_EQ(all["total"]["contracts"], 3);
  EXPECT_EQ(all["total"]["contract_amount"], "9300.00");
}

// One registration from a round: the view digest covers exactly a volume
// row, a flow row and a round row laid out as views.h says.
TEST(RoundsTest, RoundRowIsLaidOutAsDocumented) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  ASSERT_NO_FATAL_FAILURE(
      AppendAll(log.get(), {Registration("C1", "1250.00", "2021-09-28", "XN-WH-2021")}));

  auto head = [](char kind) { return std::string(1, kind) + '\x06' + "xining" + Be32(202109); };
  const int64_t fen = 125000;
  std::map<std::string, std::string> rows;
  // development (1), biomedicine (4); seller 630100, buyer 420100 (test_util).
  rows[head('v') + '\x01' + '\x04'] = Be64(1) + Be64(fen) + Be64(fen) + Be64(0) + Be64(0);
  rows[head('f') + Be32(630100) + Be32(420100)] =
      Be64(1) + Be64(fen) + Be64(fen) + Be64(0) + Be64(0);
  rows[head('r') + '\x0a' + "XN-WH-2021" + 'c'] = Be64(1) + Be64(fen);
  std::string all;
  for (const auto& [key, value] : rows) {
    all += Be32(static_cast<uint32_t>(key.size())) + key;
    all += Be32(static_cast<uint32_t>(value.size())) + value;
  }
  StatusOr<Hash> digest = log->ViewDigest();
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(HexEncode(*digest), HexEncode(Sha256(all)));

  // Rebuilding from the log alone gives the same rows.
  StatusOr<Log::RebuildReport> rebuilt = log->RebuildViews();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(HexEncode(rebuilt->after), HexEncode(Sha256(all)));
}

TEST(RoundsTest, RoundKeysRoundTripAndBadOnesAreRefused) {
  ViewKey key;
  key.kind = ViewKind::kRound;
  key.market = "wuhan";
  key.month = 202106;
  key.round = "XN-WH-2021";
  key.source = kRoundDeals;
  const std::string bytes = key.Encode();
  EXPECT_EQ(bytes, std::string("r\x05wuhan") + Be32(202106) + "\x0aXN-WH-2021d");
  StatusOr<ViewKey> decoded = ViewKey::Decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->round, "XN-WH-2021");
  EXPECT_EQ(decoded->source, kRoundDeals);
  EXPECT_EQ(decoded->market, "wuhan");
  EXPECT_EQ(decoded->month, 202106);

  std::string bad_source = bytes;
  bad_source.back() = 'x';
  std::string long_length = bytes;
  long_length[2 + 5 + 4] = '\x0b';
  std::string empty_round = std::string("r\x05wuhan") + Be32(202106) + '\0' + 'c';
  for (const std::string& bad : {bad_source, long_length, empty_round, bytes.substr(0, 12)}) {
    EXPECT_EQ(ViewKey::Decode(bad).status().code(), Status::Code::kDataLoss) << HexEncode(bad);
  }
}

TEST(RoundsTest, RoundsGroupOnlyWithMarketAndMonth) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  for (auto [by, deals] : std::vector<std::pair<std::vector<Dimension>, bool>>{
           {{Dimension::kRound, Dimension::kType}, false},
           {{Dimension::kSellerRegion, Dimension::kRound}, false},
           {{Dimension::kRound, Dimension::kMode}, true}}) {
    TotalsQuery query;
    query.by = by;
    query.deals = deals;
    StatusOr<TotalsResult> result = log->Totals(query);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(result.status().message().find("round"), std::string::npos)
        << result.status().message();
  }
  EXPECT_TRUE(ParseDimension("round").ok());
}

// ---- The auditor's fold. ----

TEST(RoundsTest, AuditorRecomputesRoundRowsAndNamesAChangedOne) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  ASSERT_NO_FATAL_FAILURE(AppendAll(log.get(), RoundLog()));
  audit::Fold fold("xining");
  for (uint64_t i = 0; i < log->size(); ++i) {
    StatusOr<std::string> bytes = log->ReadEntry(i);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    StatusOr<const fb::Entry*> entry = VerifiedEntry(*bytes);
    ASSERT_TRUE(entry.ok());
    ASSERT_EQ(fold.Add(i, **entry), std::nullopt) << "index " << i;
  }
  const audit::Published published = test::PublishedBy(*log);
  EXPECT_EQ(audit::CompareTotals({&fold}, published), std::nullopt);

  audit::Published changed = published;
  changed.rounds["rows"][0]["contract_amount"] = "1500.01";
  std::optional<std::string> difference = audit::CompareTotals({&fold}, changed);
  ASSERT_TRUE(difference.has_value());
  EXPECT_NE(difference->find("rounds row market=xining month=2021-06 round=R1"), std::string::npos)
      << *difference;
  EXPECT_NE(difference->find("found 1500.01"), std::string::npos) << *difference;

  changed = published;
  changed.round_deals["rows"] = json::array();
  difference = audit::CompareTotals({&fold}, changed);
  ASSERT_TRUE(difference.has_value());
  EXPECT_NE(difference->find("round_deals row market=xining month=2021-07 round=R1"),
            std::string::npos)
      << *difference;
}

// ---- The scenario generator. ----

const std::string kScenario =
    std::string(LEDGER_TEST_DATA_DIR) + "/../../tools/sample/federation-2021.json";

std::string Generate(const std::string& arguments, int* status) {
  std::string output;
  *status = test::RunCommand(test::ToolPath("ledger-gen") + " " + arguments + " 2>&1", &output);
  return output;
}

// Every market's generated year is accepted by a real log, and the
// federation's rounds add up to the scenario's 88 projects and 2.2亿元.
TEST(GeneratorTest, FederationScenarioRoundsAddUpTo88ProjectsAnd2Point2Yi) {
  int status = 0;
  std::string list = Generate("--scenario " + kScenario + " --list", &status);
  ASSERT_EQ(status, 0) << list;
  std::istringstream markets(list);
  std::string line;
  int64_t projects = 0;
  int64_t fen = 0;
  int held = 0;
  int market_count = 0;
  test::TempDir dir;
  while (std::getline(markets, line)) {
    const std::string market = line.substr(0, line.find(' '));
    ++market_count;
    std::string year = Generate("--scenario " + kScenario + " --market " + market, &status);
    ASSERT_EQ(status, 0) << year.substr(0, 500);
    std::vector<std::string> lines;
    std::istringstream in(year);
    for (std::string event; std::getline(in, event);) lines.push_back(event);
    EXPECT_GT(lines.size(), 1000u) << market;
    ASSERT_TRUE(Log::Init(dir.path() + "/" + market, market, "techmarket.cn/" + market).ok());
    StatusOr<std::unique_ptr<Log>> log = Log::Open(dir.path() + "/" + market, LogOptions());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_NO_FATAL_FAILURE(AppendAll(log->get(), lines)) << market;
    const json rounds = TotalsAnswer(**log, {Dimension::kRound}, false);
    for (const json& row : rounds["rows"]) {
      projects += row["contracts"].get<int64_t>();
      StatusOr<int64_t> amount = ParseYuan(row["contract_amount"].get<std::string>());
      ASSERT_TRUE(amount.ok());
      fen += *amount;
    }
    for (const std::string& event : lines)
      held += event.find("MatchmakingHeld") != std::string::npos;
  }
  EXPECT_EQ(market_count, 5);
  EXPECT_EQ(projects, 88);
  EXPECT_EQ(fen, int64_t{220000000} * 100);  // 2.2亿元
  EXPECT_EQ(held, 3);

  // Seeded: the same scenario gives the same lines.
  std::string first =
      Generate("--scenario " + kScenario + " --market xining --entries 300", &status);
  std::string second =
      Generate("--scenario " + kScenario + " --market xining --entries 300", &status);
  EXPECT_EQ(first, second);
}

TEST(GeneratorTest, BadScenarioIsRefusedNamingTheProblem) {
  test::TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.path() + "/" + name) << text;
    return dir.path() + "/" + name;
  };
  const std::string market =
      R"({"market":"xining","origin":"techmarket.cn/xining","name":"西宁","prefix":"XN",)"
      R"("home_regions":["630100"],"entries":10,"seed":1})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not a JSON object"},
      {R"({"year":2021,"markets":[]})", "markets: want a non-empty array"},
      {R"({"year":2021,"markets":[{"market":"xining"}]})", "markets[0].origin"},
      {R"({"year":2021,"markets":[)" + market.substr(0, market.find("630100")) + R"(63010"],)" +
           market.substr(market.find(R"("entries")")) + "]}",
       "\"63010\" is not a 6-digit GB/T 2260 code"},
      {R"({"year":2021,"markets":[)" + market +
           R"(],"rounds":[{"id":"R","name":"n","held_by":"xining","markets":["xining","mars"],"held_on":"2021-06-18","registered":{}}]})",
       "rounds[0].markets: \"mars\" is not a market of the scenario"},
      {R"({"year":2021,"markets":[)" + market +
           R"(],"rounds":[{"id":"R","name":"n","held_by":"xining","markets":["xining"],"held_on":"2021-06-31","registered":{}}]})",
       "rounds[0].held_on: want YYYY-MM-DD"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = write("s" + std::to_string(i) + ".json", cases[i].first);
    int status = 0;
    std::string output = Generate("--scenario " + path + " --market xining", &status);
    EXPECT_NE(status, 0) << cases[i].first;
    EXPECT_NE(output.find(cases[i].second), std::string::npos) << cases[i].first << "\n" << output;
  }
  int status = 0;
  std::string output = Generate("--scenario " + dir.path() + "/missing.json --list", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(output.find("cannot read"), std::string::npos) << output;
  output =
      Generate("--scenario " + write("ok.json", R"({"year":2021,"markets":[)" + market + "]}") +
                   " --market wuhan",
               &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(output.find("\"wuhan\" is not in"), std::string::npos) << output;
}

}  // namespace
}  // namespace ledger
