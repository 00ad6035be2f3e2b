// `ledgerctl totals` against an independent recomputation from what
// `ledgerctl log --json` prints: the statistics an administrator publishes
// must follow from the signed history to the fen. Nothing from ledger/ is
// used to compute the expected numbers.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "tests/test_util.h"

namespace ledger {
namespace {

using nlohmann::json;

std::string Ctl(const std::string& dir, const std::string& args, int* exit_code = nullptr) {
  std::string output;
  int code = test::RunCommand(test::ToolPath("ledgerctl") + " --data " + dir + " " + args, &output);
  if (exit_code != nullptr) *exit_code = code;
  return output;
}

// "1234.5" / "1234.56" / "1234" -> fen, by hand.
int64_t Fen(const std::string& yuan) {
  size_t dot = yuan.find('.');
  int64_t whole = std::stoll(yuan.substr(0, dot));
  int64_t cents = 0;
  if (dot != std::string::npos) {
    std::string fraction = yuan.substr(dot + 1);
    fraction.resize(2, '0');
    cents = std::stoll(fraction);
  }
  return whole * 100 + (yuan[0] == '-' ? -cents : cents);
}

std::string Yuan(int64_t fen) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%02lld", (long long)(fen / 100), (long long)(fen % 100));
  return text;
}

std::string Month(const std::string& date) { return date.substr(0, 7); }

struct Sums {
  int64_t contracts = 0, contract = 0, tech = 0, paid = 0, terminated = 0;
  bool operator==(const Sums&) const = default;
};

// A deterministic mixed workload as JSON lines: registrations across months,
// types, fields and regions; amendments, terminations, payments, deals.
std::string Workload() {
  std::mt19937 rng(20211028);
  const char* types[][2] = {{"development", "commissioned"},
                            {"transfer", "patent_right"},
                            {"licensing", "patent_license"},
                            {"service", "training"}};
  const char* fields[] = {"biomedicine", "new_energy", "new_materials", "agriculture"};
  const char* regions[] = {"630100", "630200", "420100", "320100", "620100"};
  const char* modes[] = {"transfer", "license", "equity"};
  std::ostringstream out;
  struct Live {
    std::string id, signed_on;
    int64_t amount, paid;
  };
  std::vector<Live> live;
  for (int i = 0; i < 400; ++i) {
    int roll = rng() % 100;
    char date[16];
    std::snprintf(date, sizeof date, "2021-%02d-%02d", int(rng() % 11) + 2, int(rng() % 28) + 1);
    if (roll < 60 || live.empty()) {
      auto& type = types[rng() % 4];
      int64_t amount = (1000 + rng() % 5000000) * 100;
      std::string id = "T-" + std::to_string(i);
      json entry = {
          {"event", "ContractRegistered"},
          {"contract_id", id},
          {"registration_no", "2021630100" + std::to_string(100000 + i)},
          {"type", type[0]},
          {"subtype", type[1]},
          {"title", "测试合同"},
          {"field", fields[rng() % 4]},
          {"seller", {{"name", "卖方"}, {"entity", "university"}, {"region", regions[rng() % 5]}}},
          {"buyer", {{"name", "买方"}, {"entity", "enterprise"}, {"region", regions[rng() % 5]}}},
          {"contract_amount", std::to_string(amount / 100) + ".00"},
          {"tech_amount", std::to_string(amount / 200) + ".50"},
          // Signed early in the year so later events fall in any month.
          {"signed_on", std::string("2021-01-") + (i % 2 ? "05" : "20")}};
      out << entry.dump() << "\n";
      live.push_back({id, entry["signed_on"], amount, 0});
    } else if (roll < 80) {
      Live& c = live[rng() % live.size()];
      int64_t amount = std::max<int64_t>(1, (c.amount - c.paid) / 3);
      if (c.paid + amount > c.amount) continue;
      c.paid += amount;
      out << json{{"event", "PaymentReceived"},
                  {"contract_id", c.id},
                  {"amount", Yuan(amount)},
                  {"paid_on", date}}
                 .dump()
          << "\n";
    } else if (roll < 88) {
      Live& c = live[rng() % live.size()];
      int64_t amount = std::max(c.paid, c.amount + 12345);
      c.amount = amount;
      out << json{{"event", "ContractAmended"},
                  {"contract_id", c.id},
                  {"contract_amount", std::to_string(amount / 100) + ".00"},
                  {"tech_amount", std::to_string(amount / 300) + ".00"},
                  {"reason", "调整"},
                  {"amended_on", date}}
                 .dump()
          << "\n";
    } else if (roll < 93) {
      size_t k = rng() % live.size();
      out << json{{"event", "ContractTerminated"},
                  {"contract_id", live[k].id},
                  {"reason", "解除"},
                  {"terminated_on", date}}
                 .dump()
          << "\n";
      live.erase(live.begin() + k);
    } else {
      out << json{{"event", "TransferDealSigned"},
                  {"deal_id", "D-" + std::to_string(i)},
                  {"achievement_title", "成果"},
                  {"mode", modes[rng() % 3]},
                  {"institution",
                   {{"name", "研究所"}, {"entity", "research_institute"}, {"region", "630100"}}},
                  {"enterprise",
                   {{"name", "企业"}, {"entity", "enterprise"}, {"region", "420100"}}},
                  {"amount", std::to_string(1 + rng() % 900000) + ".00"},
                  {"signed_on", date}}
                 .dump()
          << "\n";
    }
  }
  return out.str();
}

TEST(LedgerctlTotalsTest, TotalsEqualAnIndependentRecomputationFromTheLog) {
  test::TempDir dir;
  std::string node = dir.path() + "/n";
  Ctl(node, "init --market xining --origin techmarket.cn/xining");
  std::string file = dir.path() + "/events.jsonl";
  std::ofstream(file) << Workload();
  int code = 0;
  std::string appended = Ctl(node, "append " + file, &code);
  // Every generated event is valid.
  ASSERT_EQ(code, 0) << appended;

  // The independent fold, over `log --json` only.
  std::map<std::string, Sums> volume;                        // month|type|field
  std::map<std::string, Sums> flows;                         // seller|buyer
  std::map<std::string, std::pair<int64_t, int64_t>> deals;  // mode -> count, fen
  struct Contract {
    std::string type, field, seller, buyer;
    int64_t contract, tech;
  };
  std::map<std::string, Contract> contracts;
  std::istringstream lines(Ctl(node, "log --json"));
  int entries = 0;
  for (std::string line; std::getline(lines, line);) {
    json e = json::parse(line)["entry"];
    ++entries;
    std::string event = e["event"];
    auto post = [&](const Contract& c, const std::string& date, Sums delta) {
      for (auto* sums : {&volume[Month(date) + "|" + c.type + "|" + c.field],
                         &flows[c.seller + "|" + c.buyer]}) {
        sums->contracts += delta.contracts;
        sums->contract += delta.contract;
        sums->tech += delta.tech;
        sums->paid += delta.paid;
        sums->terminated += delta.terminated;
      }
    };
    if (event == "ContractRegistered") {
      Contract c{e["type"],
                 e["field"],
                 e["seller"]["region"],
                 e["buyer"]["region"],
                 Fen(e["contract_amount"]),
                 Fen(e["tech_amount"])};
      contracts[e["contract_id"]] = c;
      post(c, e["signed_on"], {1, c.contract, c.tech, 0, 0});
    } else if (event == "ContractAmended") {
      Contract& c = contracts.at(e["contract_id"]);
      int64_t contract = Fen(e["contract_amount"]), tech = Fen(e["tech_amount"]);
      post(c, e["amended_on"], {0, contract - c.contract, tech - c.tech, 0, 0});
      c.contract = contract;
      c.tech = tech;
    } else if (event == "ContractTerminated") {
      const Contract& c = contracts.at(e["contract_id"]);
      post(c, e["terminated_on"], {-1, -c.contract, -c.tech, 0, 1});
    } else if (event == "PaymentReceived") {
      post(contracts.at(e["contract_id"]), e["paid_on"], {0, 0, 0, Fen(e["amount"]), 0});
    } else if (event == "TransferDealSigned") {
      auto& [count, fen] = deals[e["mode"]];
      ++count;
      fen += Fen(e["amount"]);
    }
  }
  ASSERT_GT(entries, 300);

  auto sums_of = [](const json& row) {
    return Sums{row["contracts"], Fen(row["contract_amount"]), Fen(row["tech_amount"]),
                Fen(row["payments"]), row["terminated"]};
  };
  // Zero rows are left out by the node; drop them from the model too.
  auto nonzero = [](std::map<std::string, Sums> rows) {
    std::erase_if(rows, [](const auto& row) { return row.second == Sums{}; });
    return rows;
  };

  json by_volume = json::parse(Ctl(node, "totals --json --by month,type,field", &code));
  ASSERT_EQ(code, 0);
  std::map<std::string, Sums> node_volume;
  Sums grand;
  for (const json& row : by_volume["rows"]) {
    node_volume[row["month"].get<std::string>() + "|" + row["type"].get<std::string>() + "|" +
                row["field"].get<std::string>()] = sums_of(row);
  }
  EXPECT_EQ(node_volume.size(), nonzero(volume).size());
  for (const auto& [key, sums] : nonzero(volume)) {
    ASSERT_TRUE(node_volume.count(key)) << key;
    EXPECT_EQ(node_volume[key], sums) << key;
    grand.contracts += sums.contracts;
    grand.contract += sums.contract;
    grand.tech += sums.tech;
    grand.paid += sums.paid;
    grand.terminated += sums.terminated;
  }
  EXPECT_EQ(sums_of(by_volume["total"]), grand);

  json by_flow = json::parse(Ctl(node, "totals --json --by seller_region,buyer_region", &code));
  ASSERT_EQ(code, 0);
  std::map<std::string, Sums> node_flows;
  for (const json& row : by_flow["rows"]) {
    node_flows[row["seller_region"].get<std::string>() + "|" +
               row["buyer_region"].get<std::string>()] = sums_of(row);
  }
  EXPECT_EQ(node_flows, nonzero(flows));
  EXPECT_EQ(sums_of(by_flow["total"]), grand);

  json by_mode = json::parse(Ctl(node, "totals --json --deals --by mode", &code));
  ASSERT_EQ(code, 0);
  std::map<std::string, std::pair<int64_t, int64_t>> node_deals;
  for (const json& row : by_mode["rows"]) {
    node_deals[row["mode"]] = {row["deals"].get<int64_t>(), Fen(row["amount"])};
  }
  EXPECT_EQ(node_deals, deals);

  // The same digest from every query and from `views digest`, and a rebuild
  // from the log reproduces it.
  std::string digest = by_volume["digest"];
  EXPECT_EQ(by_flow["digest"], digest);
  EXPECT_EQ(Ctl(node, "views digest"), digest + "\n");
  std::string rebuilt = Ctl(node, "views rebuild", &code);
  EXPECT_EQ(code, 0) << rebuilt;
  EXPECT_NE(rebuilt.find("digest before   " + digest), std::string::npos) << rebuilt;
  EXPECT_NE(rebuilt.find("digest after    " + digest), std::string::npos) << rebuilt;
}

TEST(LedgerctlTotalsTest, BadTotalsFlagsFailClearly) {
  test::TempDir dir;
  std::string node = dir.path() + "/n";
  Ctl(node, "init --market xining --origin techmarket.cn/xining");
  struct Case {
    const char* args;
    const char* message;
  };
  for (const Case& c : {Case{"totals --by colour", "unknown dimension \"colour\""},
                        Case{"totals --from 2021-13", "--from"}, Case{"totals --to 202101", "--to"},
                        Case{"totals --unit jin", "--unit"},
                        Case{"totals --market wuhan", "holds no log of market \"wuhan\""},
                        Case{"totals --by type,seller_region", "cannot be combined"},
                        Case{"totals --by mode", "--deals"},
                        Case{"totals --from 2021-06 --to 2021-01", "--from is after --to"}}) {
    int code = 0;
    std::string output = Ctl(node, c.args, &code);
    EXPECT_EQ(code, 2) << c.args << "\n" << output;
    EXPECT_NE(output.find(c.message), std::string::npos) << c.args << "\n" << output;
  }
}

}  // namespace
}  // namespace ledger
