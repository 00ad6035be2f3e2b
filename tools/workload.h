// A seeded generator of a realistic year of a technology market's activity,
// as JSON lines of the entry JSON form: contract registrations of the five
// types and twelve fields between parties of every entity type across
// GB/T 2260 regions, then payments, amendments, terminations and
// achievement-transfer deals against them. Amounts are heavily skewed: about
// 4% of contracts carry about 80% of the value. Every event it produces is
// valid against everything generated before it by the same Workload.
//
// Matchmaking rounds (对接会) come first: the MatchmakingHeld of each round
// the market holds, then the contracts this market registered at each round,
// signed on the day it was held, whose count and amounts add up exactly to
// the round's share given in the options (so that a federation's totals by
// round are known in advance).
//
// Thread-safety: one Workload per thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ledger::tools {

// What one market registered at one matchmaking round.
struct RoundShare {
  std::string id;                    // matchmaking_id, e.g. "XN-WH-2021"
  std::string name;                  // for the MatchmakingHeld event
  std::vector<std::string> markets;  // participating markets
  std::string held_on;               // YYYY-MM-DD
  bool held_here = false;            // this market records the MatchmakingHeld
  int contracts = 0;                 // contracts this market registered there
  int64_t amount_fen = 0;            // their contract amounts, summed exactly
  uint32_t partner_region = 0;       // where the other side of them is
};

struct WorkloadOptions {
  uint64_t seed = 1;
  std::string id_prefix = "XN";  // contract ids are <prefix>-<year>-<seq>
  int year = 2021;
  // The market's own regions (GB/T 2260); most sellers are local.
  std::vector<uint32_t> home_regions = {630100, 630200, 632800};
  std::vector<RoundShare> rounds = {};
};

class Workload {
 public:
  explicit Workload(WorkloadOptions options);

  // The next event as one line of JSON (no newline), with a request_id.
  std::string Next();

 private:
  struct Contract {
    std::string id;
    int32_t signed_on = 0;  // days
    int64_t contract_fen = 0;
    int64_t paid_fen = 0;
    bool live = true;
  };
  std::string Register();
  std::string Pay(Contract& contract);
  std::string Amend(Contract& contract);
  std::string Terminate(Contract& contract);
  std::string Deal();
  // The round events, in the order Next returns them.
  void PlanRounds();
  std::string RequestId();
  int32_t DayInYear();
  int64_t AmountFen();
  uint32_t Region(bool local_bias);

  WorkloadOptions options_;
  std::mt19937_64 rng_;
  uint64_t contracts_made_ = 0;
  uint64_t deals_made_ = 0;
  std::vector<Contract> contracts_;
  std::vector<std::string> round_events_;  // not yet returned, last first
};

}  // namespace ledger::tools
