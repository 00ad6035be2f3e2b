// ledger-gen: a seeded, realistic year of each market's activity, as JSON
// lines of the entry JSON form, from a scenario file
// (tools/sample/federation-2021.json):
//
//   ledger-gen --scenario FILE --list            market, origin and name per line
//   ledger-gen --scenario FILE --market ID [--entries N] > ID.jsonl
//
// The scenario names each market's id prefix, home regions (GB/T 2260),
// entry count and seed, and the matchmaking rounds with the contracts each
// market registered there; the same scenario always gives the same lines.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "ledger/civil_date.h"
#include "ledger/money.h"
#include "ledger/status.h"
#include "tools/workload.h"

namespace ledger::tools {
namespace {

using Json = nlohmann::json;

struct ScenarioMarket {
  std::string market;
  std::string origin;
  std::string name;
  WorkloadOptions options;
  uint64_t entries = 0;
};

struct Scenario {
  std::vector<ScenarioMarket> markets;
};

Status Bad(const std::string& where, const std::string& problem) {
  return Status::InvalidArgument("scenario: " + where + ": " + problem);
}

StatusOr<std::string> Text(const Json& object, const std::string& where, const char* key) {
  if (!object.contains(key) || !object[key].is_string() || object[key].get<std::string>().empty()) {
    return Bad(where + "." + key, "want a non-empty string");
  }
  return object[key].get<std::string>();
}

StatusOr<uint64_t> Count(const Json& object, const std::string& where, const char* key,
                         uint64_t max) {
  if (!object.contains(key) || !object[key].is_number_unsigned() ||
      object[key].get<uint64_t>() > max) {
    return Bad(where + "." + key, "want a whole number from 0 to " + std::to_string(max));
  }
  return object[key].get<uint64_t>();
}

StatusOr<uint32_t> Region(const Json& value, const std::string& where) {
  if (!value.is_string()) return Bad(where, "want a 6-digit GB/T 2260 code as a string");
  const std::string text = value.get<std::string>();
  if (text.size() != 6 || text.find_first_not_of("0123456789") != std::string::npos ||
      text[0] == '0') {
    return Bad(where, "\"" + text + "\" is not a 6-digit GB/T 2260 code");
  }
  return static_cast<uint32_t>(std::stoul(text));
}

const ScenarioMarket* Find(const Scenario& scenario, const std::string& market) {
  for (const ScenarioMarket& m : scenario.markets) {
    if (m.market == market) return &m;
  }
  return nullptr;
}

Status ParseRounds(const Json& rounds, Scenario* scenario) {
  if (!rounds.is_array()) return Bad("rounds", "want an array");
  for (size_t r = 0; r < rounds.size(); ++r) {
    const Json& round = rounds[r];
    const std::string where = "rounds[" + std::to_string(r) + "]";
    if (!round.is_object()) return Bad(where, "want an object");
    RoundShare share;
    LEDGER_ASSIGN_OR_RETURN(share.id, Text(round, where, "id"));
    LEDGER_ASSIGN_OR_RETURN(share.name, Text(round, where, "name"));
    LEDGER_ASSIGN_OR_RETURN(share.held_on, Text(round, where, "held_on"));
    if (!ParseDate(share.held_on).ok()) return Bad(where + ".held_on", "want YYYY-MM-DD");
    LEDGER_ASSIGN_OR_RETURN(std::string held_by, Text(round, where, "held_by"));
    if (!round.contains("markets") || !round["markets"].is_array() || round["markets"].empty()) {
      return Bad(where + ".markets", "want a non-empty array of market ids");
    }
    for (const Json& market : round["markets"]) {
      if (!market.is_string() || Find(*scenario, market.get<std::string>()) == nullptr) {
        return Bad(where + ".markets", market.dump() + " is not a market of the scenario");
      }
      share.markets.push_back(market.get<std::string>());
    }
    if (Find(*scenario, held_by) == nullptr) {
      return Bad(where + ".held_by", "\"" + held_by + "\" is not a market of the scenario");
    }
    const Json& registered = round.contains("registered") ? round["registered"] : Json();
    if (!registered.is_object()) return Bad(where + ".registered", "want an object");
    for (auto& market : scenario->markets) {
      RoundShare mine = share;
      mine.held_here = market.market == held_by;
      if (registered.contains(market.market)) {
        const Json& counts = registered[market.market];
        const std::string at = where + ".registered." + market.market;
        LEDGER_ASSIGN_OR_RETURN(uint64_t contracts, Count(counts, at, "contracts", 100000));
        LEDGER_ASSIGN_OR_RETURN(std::string amount, Text(counts, at, "amount"));
        StatusOr<int64_t> fen = ParseYuan(amount);
        if (!fen.ok() || *fen < int64_t(contracts)) {
          return Bad(at + ".amount", "want yuan text of at least one fen per contract");
        }
        mine.contracts = static_cast<int>(contracts);
        mine.amount_fen = *fen;
      }
      if (!mine.held_here && mine.contracts == 0) continue;
      // The other side of this market's contracts: the first other market.
      for (const std::string& other : share.markets) {
        if (other != market.market) {
          mine.partner_region = Find(*scenario, other)->options.home_regions[0];
          break;
        }
      }
      if (mine.partner_region == 0) mine.partner_region = market.options.home_regions[0];
      market.options.rounds.push_back(std::move(mine));
    }
    for (auto it = registered.begin(); it != registered.end(); ++it) {
      if (Find(*scenario, it.key()) == nullptr) {
        return Bad(where + ".registered", "\"" + it.key() + "\" is not a market of the scenario");
      }
    }
  }
  return Status::Ok();
}

StatusOr<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("scenario: cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  Json json = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Bad(path, "not a JSON object");
  LEDGER_ASSIGN_OR_RETURN(uint64_t year, Count(json, "scenario", "year", 9999));
  if (!json.contains("markets") || !json["markets"].is_array() || json["markets"].empty()) {
    return Bad("markets", "want a non-empty array");
  }
  Scenario scenario;
  for (size_t i = 0; i < json["markets"].size(); ++i) {
    const Json& m = json["markets"][i];
    const std::string where = "markets[" + std::to_string(i) + "]";
    if (!m.is_object()) return Bad(where, "want an object");
    ScenarioMarket market;
    LEDGER_ASSIGN_OR_RETURN(market.market, Text(m, where, "market"));
    if (Find(scenario, market.market) != nullptr) {
      return Bad(where + ".market", "\"" + market.market + "\" appears twice");
    }
    LEDGER_ASSIGN_OR_RETURN(market.origin, Text(m, where, "origin"));
    LEDGER_ASSIGN_OR_RETURN(market.name, Text(m, where, "name"));
    LEDGER_ASSIGN_OR_RETURN(market.options.id_prefix, Text(m, where, "prefix"));
    LEDGER_ASSIGN_OR_RETURN(market.entries, Count(m, where, "entries", 100000000));
    LEDGER_ASSIGN_OR_RETURN(market.options.seed, Count(m, where, "seed", UINT64_MAX));
    market.options.year = static_cast<int>(year);
    if (!m.contains("home_regions") || !m["home_regions"].is_array() || m["home_regions"].empty()) {
      return Bad(where + ".home_regions", "want a non-empty array of region codes");
    }
    market.options.home_regions.clear();
    for (const Json& region : m["home_regions"]) {
      LEDGER_ASSIGN_OR_RETURN(uint32_t code, Region(region, where + ".home_regions"));
      market.options.home_regions.push_back(code);
    }
    scenario.markets.push_back(std::move(market));
  }
  if (json.contains("rounds")) LEDGER_RETURN_IF_ERROR(ParseRounds(json["rounds"], &scenario));
  return scenario;
}

int Run(const std::string& path, bool list, const std::string& market_id,
        std::optional<uint64_t> entries) {
  StatusOr<Scenario> scenario = LoadScenario(path);
  if (!scenario.ok()) {
    std::fprintf(stderr, "ledger-gen: %s\n", scenario.status().ToString().c_str());
    return 2;
  }
  if (list) {
    for (const ScenarioMarket& market : scenario->markets) {
      std::printf("%s %s %s\n", market.market.c_str(), market.origin.c_str(), market.name.c_str());
    }
    return 0;
  }
  const ScenarioMarket* market = Find(*scenario, market_id);
  if (market == nullptr) {
    std::fprintf(stderr, "ledger-gen: --market: \"%s\" is not in %s\n", market_id.c_str(),
                 path.c_str());
    return 2;
  }
  Workload workload(market->options);
  const uint64_t count = entries.value_or(market->entries);
  std::string out;
  for (uint64_t i = 0; i < count; ++i) {
    out += workload.Next();
    out += '\n';
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace
}  // namespace ledger::tools

int main(int argc, char** argv) {
  CLI::App app{"ledger-gen: a seeded, realistic year of each market's activity as JSON lines"};
  std::string scenario;
  bool list = false;
  std::string market;
  std::optional<uint64_t> entries;
  app.add_option("--scenario", scenario, "scenario file (tools/sample/federation-2021.json)")
      ->required();
  auto* list_flag = app.add_flag("--list", list, "print market, origin and name of each market");
  app.add_option("--market", market, "the market whose year to print")->excludes(list_flag);
  app.add_option("--entries", entries, "how many entries (default: the scenario's)");
  CLI11_PARSE(app, argc, argv);
  if (!list && market.empty()) {
    std::fprintf(stderr, "ledger-gen: want --market ID or --list\n");
    return 2;
  }
  return ledger::tools::Run(scenario, list, market, entries);
}
