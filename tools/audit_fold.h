// The auditor's own fold over market logs: the stateful domain rules and the
// published totals, recomputed with code that shares nothing with
// ledger/contracts, ledger/views or ledger/totals, so that a bug there is
// caught here rather than repeated (DESIGN.md sections 2, 5 and 7).
//
// A Fold takes one market's entries in log order. For each it checks every
// rule that depends on the entries before it:
// - contract_id is unique within the market (terminated contracts included);
// - amendments, terminations and payments name a registered contract that is
//   still live, and are dated no earlier than its signed_on;
// - tech_amount <= contract_amount, at registration and after an amendment;
// - payments never exceed the current contract amount, so an amendment below
//   what was already received is refused;
// - deal_id (TransferDealSigned) and matchmaking_id (MatchmakingHeld) are
//   unique within the market;
// - a request_id never repeats: the ledger answers a repeated request with
//   the earlier receipt and appends nothing, so a repeat in a log is
//   tampering.
// It also rejects the few stateless faults its arithmetic depends on (missing
// event or party, amounts that are not positive, a request_id that is not 16
// bytes); every other stateless rule is ValidateEntry's (ledger/validate.h),
// which the auditor runs before the fold.
//
// An accepted entry posts deltas, in the month of its business date, to the
// rows GET /v1/totals publishes:
//   registration  month(signed_on):     contracts +1, contract and tech amount
//   amendment     month(amended_on):    amounts + (new - old)
//   termination   month(terminated_on): contracts -1, amounts - current
//                                       amounts, terminated +1 (payments stay)
//   payment       month(paid_on):       payments + amount
//   deal          month(signed_on):     deals +1, amount + amount
// and a registration or deal that names a matchmaking_id also adds one and
// its amount (contract amount, or deal amount) to the round row (market,
// month(signed_on), round, contracts or deals), which later events never
// change. Contract deltas go to the volume row (market, month, type, field) and to
// the flow row (market, month, seller region, buyer region). A row whose
// values are all zero does not exist. Money is int64 fen; a sum that would
// overflow refuses the entry.
//
// Cost: Add hashes the entry's ids, probes two flat tables (request ids,
// contract ids) whose slots are loaded together, and touches at most two
// small row maps; it allocates only as tables and vectors grow (amortized),
// for a contract id longer than the string's inline buffer, and for new deal
// and matchmaking ids and rows. No JSON work happens before RecomputeTotals.
// Memory, kept until the Fold is destroyed: per request id 24 bytes plus 16
// to 32 of index; per contract about 110 plus 16 to 32 (a 1,000,000-entry
// log of the workload's mix: about 150 MB).
//
// Thread-safety: a Fold belongs to one thread; the free functions only read
// the folds they are given.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace ledger::fb {
struct Entry;
}

namespace ledger::audit {

struct MarketRows;
struct Published;

// One market's log folded in order.
class Fold {
 public:
  // `market` is the market id, e.g. "xining".
  explicit Fold(std::string market);
  ~Fold();
  Fold(const Fold&) = delete;
  Fold& operator=(const Fold&) = delete;

  // Checks entry `index` of the market's log against every rule above, given
  // the entries accepted before it. On success adds its effect and returns
  // nullopt. On failure returns the rule broken, naming the event, the field
  // and the values ("PaymentReceived: amount 500.00 would bring payments of
  // contract \"XN-1\" to 900.00, above its contract amount 800.00"), and
  // changes nothing. `index` is only used to name earlier entries in later
  // messages. The entry need not outlive the call.
  // REQUIRES: `entry` passed the FlatBuffers Verifier.
  std::optional<std::string> Add(uint64_t index, const fb::Entry& entry);

  const std::string& market() const;
  // How many entries were accepted.
  uint64_t entries() const;
  // What the accepted entries added up to (audit_rows.h).
  const MarketRows& rows() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The answers of GET /v1/totals, parsed:
//   volume: by=market,month,type,field
//   flows:  by=market,month,seller_region,buyer_region
//   deals:  deals=true&by=market,month,mode
//   rounds: by=market,month,round (columns contracts, contract_amount)
//   round_deals: deals=true&by=market,month,round (columns deals, amount)
// each {"rows":[...], "total":{...}, "digest":hex} as ledger::TotalsJson
// writes it: key members as text ("xining", "2021-09", "development",
// "630100", "license"), counts as integers, money as yuan text ("1250.00").
struct Published {
  nlohmann::json volume;
  nlohmann::json flows;
  nlohmann::json deals;
  nlohmann::json rounds;
  nlohmann::json round_deals;
};

// The answers recomputed from `folds`, rows in the node's order. The
// digest is the view digest of views.h (SHA-256 over every volume, flow,
// deal and round row of every fold, encoded as that header documents); it equals the
// node's when `folds` covers every market the node holds.
// InvalidArgument: a market folded twice; OutOfRange: a total beyond int64.
StatusOr<Published> RecomputeTotals(const std::vector<const Fold*>& folds);

// Compares the recomputed answers with published ones: the same rows (no
// more, no fewer, none twice), the same values, the same total, and the same
// digest when the published answer carries one. Returns the first
// difference, naming the answer, the row's keys, the value, what was expected
// (recomputed) and what was found (published); nullopt when they agree.
// REQUIRES: `folds` covers every market the node holds (its totals span
// them all).
std::optional<std::string> CompareTotals(const std::vector<const Fold*>& folds,
                                         const Published& published);

}  // namespace ledger::audit
