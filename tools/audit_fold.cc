#include "tools/audit_fold.h"

#include <cstring>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/civil_date.h"
#include "ledger/crypto.h"
#include "ledger/encoding.h"
#include "ledger/money.h"
#include "schemas/entry_generated.h"
#include "tools/audit_index.h"
#include "tools/audit_rows.h"

namespace ledger::audit {
namespace {

// ---- What a market's log has built up, besides its rows (audit_rows.h). ----

struct Contract {
  std::string id;
  int64_t contract_fen = 0;
  int64_t tech_fen = 0;
  int64_t paid_fen = 0;
  uint64_t registered_index = 0;
  uint64_t terminated_index = 0;  // meaningful once !live
  int32_t signed_on = 0;
  uint32_t seller_region = 0;
  uint32_t buyer_region = 0;
  uint8_t type = 0;
  uint8_t field = 0;
  bool live = true;
};

struct Request {
  uint64_t high = 0;  // the 16 bytes of the request id
  uint64_t low = 0;
  uint64_t index = 0;  // of the entry that carried it
};

// Deal and matchmaking ids (a few percent of entries) live in plain maps,
// looked up by the entry's string_view without a copy.
struct IdHash {
  using is_transparent = void;
  uint64_t seed = 0;
  size_t operator()(std::string_view id) const { return HashText(id, seed); }
};
template <typename T>
using IdMap = std::unordered_map<std::string, T, IdHash, std::equal_to<>>;

// ---- Texts of messages and rows. ----

std::string_view View(const flatbuffers::String* text) {
  return text == nullptr ? std::string_view() : std::string_view(text->data(), text->size());
}

std::string Quoted(std::string_view id) { return "\"" + std::string(id) + "\""; }

std::string Fail(std::string_view event, const std::string& what) {
  return std::string(event) + ": " + what;
}

// Amounts of a registration or amendment. The ledger checks the same
// statelessly; the fold's arithmetic relies on them (a negated amount must
// not overflow), so it checks again.
std::optional<std::string> CheckAmounts(std::string_view event, int64_t contract_fen,
                                        int64_t tech_fen) {
  if (contract_fen <= 0) {
    return Fail(event, "contract_amount " + FormatYuan(contract_fen) + " is not positive");
  }
  if (tech_fen < 0) return Fail(event, "tech_amount " + FormatYuan(tech_fen) + " is negative");
  if (tech_fen > contract_fen) {
    return Fail(event, "tech_amount " + FormatYuan(tech_fen) + " is above contract_amount " +
                           FormatYuan(contract_fen));
  }
  return std::nullopt;
}

// The contract_id of a contract event; empty for other events.
std::string_view ContractIdOf(const fb::Entry& entry) {
  if (entry.body() == nullptr) return std::string_view();
  switch (entry.body_type()) {
    case fb::Event::ContractRegistered:
      return View(entry.body_as_ContractRegistered()->contract_id());
    case fb::Event::ContractAmended:
      return View(entry.body_as_ContractAmended()->contract_id());
    case fb::Event::ContractTerminated:
      return View(entry.body_as_ContractTerminated()->contract_id());
    case fb::Event::PaymentReceived:
      return View(entry.body_as_PaymentReceived()->contract_id());
    default:
      return std::string_view();
  }
}

// ---- One market's fold. ----

class Market {
 public:
  explicit Market(std::string market)
      : market_(std::move(market)),
        seed_(NewSeed()),
        deal_ids_(0, IdHash{seed_}),
        matchmaking_ids_(0, IdHash{seed_}) {}

  std::optional<std::string> Add(uint64_t index, const fb::Entry& entry);

  const std::string& market() const { return market_; }
  uint64_t entries() const { return entries_; }
  const MarketRows& rows() const { return rows_; }

 private:
  // `id_hash`: HashText of the entry's contract_id (contract events only).
  std::optional<std::string> Apply(uint64_t index, const fb::Entry& entry, uint64_t id_hash);
  std::optional<std::string> Register(uint64_t index, const fb::ContractRegistered& event,
                                      uint64_t id_hash);
  std::optional<std::string> Amend(const fb::ContractAmended& event, uint64_t id_hash);
  std::optional<std::string> Terminate(uint64_t index, const fb::ContractTerminated& event,
                                       uint64_t id_hash);
  std::optional<std::string> Pay(const fb::PaymentReceived& event, uint64_t id_hash);
  std::optional<std::string> Deal(uint64_t index, const fb::TransferDealSigned& event);
  std::optional<std::string> Matchmaking(uint64_t index, const fb::MatchmakingHeld& event);

  // The contract registered as `id`, or null.
  Contract* FindContract(std::string_view id, uint64_t id_hash);
  uint64_t HashRequest(const Request& request) const;
  // Why `request` may not be added: its id was seen before.
  std::optional<std::string> RepeatedRequest(std::string_view event, const Request& request,
                                             uint64_t request_hash) const;
  // The contract an amendment, termination or payment names, if it is live
  // and the event is dated no earlier than its signature; else why not.
  std::optional<std::string> LiveContract(std::string_view event, std::string_view id,
                                          uint64_t id_hash, std::string_view date_field,
                                          int32_t date, Contract** contract);
  // Adds `delta` to the volume and flow rows of the contract in the month of
  // `date`: both or neither.
  std::optional<std::string> PostContract(std::string_view event, const Contract& contract,
                                          int32_t date, const Values& delta);
  // The round row an entry with a matchmaking id adds to: its key and its
  // values after adding one and `amount_fen`, without changing it; or why
  // not.
  std::optional<std::string> RoundPost(std::string_view event, int32_t date, std::string_view round,
                                       char source, int64_t amount_fen, RoundKey* key,
                                       Values* after) const;

  std::string market_;
  uint64_t entries_ = 0;
  uint64_t seed_;
  std::vector<Contract> contracts_;  // in order of registration
  FlatIndex contract_index_;         // id -> position in contracts_
  std::vector<Request> requests_;    // in log order
  FlatIndex request_index_;          // request id -> position in requests_
  IdMap<uint64_t> deal_ids_;         // -> index of the deal
  IdMap<uint64_t> matchmaking_ids_;  // -> index of the MatchmakingHeld
  MarketRows rows_;
};

std::optional<std::string> Market::Add(uint64_t index, const fb::Entry& entry) {
  const std::string_view event = fb::EnumNameEvent(entry.body_type());
  const flatbuffers::Vector<uint8_t>* request_bytes = entry.request_id();
  Request request{0, 0, index};
  if (request_bytes != nullptr) {
    if (request_bytes->size() != sizeof(request.high) + sizeof(request.low)) {
      return Fail(event,
                  "request_id has " + std::to_string(request_bytes->size()) + " bytes, want 16");
    }
    if (request_index_.size() == FlatIndex::kSizeMax) {
      return Fail(event, "more request ids than the auditor can hold");
    }
    std::memcpy(&request.high, request_bytes->data(), sizeof(request.high));
    std::memcpy(&request.low, request_bytes->data() + sizeof(request.high), sizeof(request.low));
  }
  // On a large log each index lookup is a cache miss; starting both loads
  // before either lookup overlaps them, so an entry costs about one miss.
  const uint64_t request_hash = HashRequest(request);
  if (request_bytes != nullptr) request_index_.Prefetch(request_hash);
  const uint64_t id_hash = HashText(ContractIdOf(entry), seed_);
  contract_index_.Prefetch(id_hash);
  if (request_bytes != nullptr) {
    if (auto repeated = RepeatedRequest(event, request, request_hash)) return repeated;
  }
  if (std::optional<std::string> refusal = Apply(index, entry, id_hash)) return refusal;
  if (request_bytes != nullptr) {
    requests_.push_back(request);
    request_index_.Insert(request_hash);
  }
  ++entries_;
  return std::nullopt;
}

std::optional<std::string> Market::RepeatedRequest(std::string_view event, const Request& request,
                                                   uint64_t request_hash) const {
  std::optional<uint32_t> earlier = request_index_.Find(request_hash, [&](uint32_t position) {
    return requests_[position].high == request.high && requests_[position].low == request.low;
  });
  if (!earlier) return std::nullopt;
  char bytes[sizeof(request.high) + sizeof(request.low)];
  std::memcpy(bytes, &request.high, sizeof(request.high));
  std::memcpy(bytes + sizeof(request.high), &request.low, sizeof(request.low));
  return Fail(event, "request_id " + HexEncode(std::string_view(bytes, sizeof(bytes))) +
                         " repeats the request of index " +
                         std::to_string(requests_[*earlier].index) +
                         " (a repeated request gets the earlier receipt and appends nothing)");
}

uint64_t Market::HashRequest(const Request& request) const {
  return Mix(Mix(request.high ^ seed_) ^ request.low);
}

Contract* Market::FindContract(std::string_view id, uint64_t id_hash) {
  std::optional<uint32_t> position = contract_index_.Find(
      id_hash, [&](uint32_t candidate) { return contracts_[candidate].id == id; });
  return position ? &contracts_[*position] : nullptr;
}

std::optional<std::string> Market::Apply(uint64_t index, const fb::Entry& entry, uint64_t id_hash) {
  if (entry.body() == nullptr) return std::string("event: missing");
  switch (entry.body_type()) {
    case fb::Event::ContractRegistered:
      return Register(index, *entry.body_as_ContractRegistered(), id_hash);
    case fb::Event::ContractAmended:
      return Amend(*entry.body_as_ContractAmended(), id_hash);
    case fb::Event::ContractTerminated:
      return Terminate(index, *entry.body_as_ContractTerminated(), id_hash);
    case fb::Event::PaymentReceived:
      return Pay(*entry.body_as_PaymentReceived(), id_hash);
    case fb::Event::TransferDealSigned:
      return Deal(index, *entry.body_as_TransferDealSigned());
    case fb::Event::MatchmakingHeld:
      return Matchmaking(index, *entry.body_as_MatchmakingHeld());
    case fb::Event::NONE:
      break;
  }
  return "event: unknown type " + std::to_string(static_cast<int>(entry.body_type()));
}

std::optional<std::string> Market::Register(uint64_t index, const fb::ContractRegistered& event,
                                            uint64_t id_hash) {
  constexpr std::string_view kEvent = "ContractRegistered";
  const std::string_view id = View(event.contract_id());
  if (const Contract* earlier = FindContract(id, id_hash)) {
    return Fail(kEvent, "contract_id " + Quoted(id) + " is already registered in market " +
                            market_ + " (index " + std::to_string(earlier->registered_index) + ")");
  }
  if (contract_index_.size() == FlatIndex::kSizeMax) {
    return Fail(kEvent, "more contracts than the auditor can hold");
  }
  if (auto bad = CheckAmounts(kEvent, event.contract_amount_fen(), event.tech_amount_fen())) {
    return bad;
  }
  if (event.seller() == nullptr) return Fail(kEvent, "seller: missing");
  if (event.buyer() == nullptr) return Fail(kEvent, "buyer: missing");
  Contract contract;
  contract.contract_fen = event.contract_amount_fen();
  contract.tech_fen = event.tech_amount_fen();
  contract.registered_index = index;
  contract.signed_on = event.signed_on();
  contract.seller_region = event.seller()->region();
  contract.buyer_region = event.buyer()->region();
  contract.type = static_cast<uint8_t>(event.type());
  contract.field = static_cast<uint8_t>(event.field());
  const std::string_view round = View(event.matchmaking_id());
  RoundKey round_key;
  Values round_values{};
  if (!round.empty()) {
    if (auto bad = RoundPost(kEvent, contract.signed_on, round, 'c', contract.contract_fen,
                             &round_key, &round_values)) {
      return bad;
    }
  }
  if (auto bad = PostContract(kEvent, contract, contract.signed_on,
                              {1, contract.contract_fen, contract.tech_fen, 0, 0})) {
    return bad;
  }
  if (!round.empty()) rows_.round[std::move(round_key)] = round_values;
  contract.id = id;
  contracts_.push_back(std::move(contract));
  contract_index_.Insert(id_hash);
  return std::nullopt;
}

std::optional<std::string> Market::LiveContract(std::string_view event, std::string_view id,
                                                uint64_t id_hash, std::string_view date_field,
                                                int32_t date, Contract** contract) {
  Contract* found = FindContract(id, id_hash);
  if (found == nullptr) {
    return Fail(event, "contract_id " + Quoted(id) + " is not registered in market " + market_);
  }
  const Contract& state = *found;
  if (!state.live) {
    return Fail(event, "contract_id " + Quoted(id) + " was terminated at index " +
                           std::to_string(state.terminated_index) +
                           "; only a live contract may be amended, terminated or paid");
  }
  if (date < state.signed_on) {
    return Fail(event, std::string(date_field) + " " + FormatDate(date) + " is before signed_on " +
                           FormatDate(state.signed_on) + " of contract " + Quoted(id));
  }
  *contract = found;
  return std::nullopt;
}

std::optional<std::string> Market::Amend(const fb::ContractAmended& event, uint64_t id_hash) {
  constexpr std::string_view kEvent = "ContractAmended";
  const std::string_view id = View(event.contract_id());
  Contract* contract = nullptr;
  if (auto bad = LiveContract(kEvent, id, id_hash, "amended_on", event.amended_on(), &contract))
    return bad;
  const int64_t contract_fen = event.contract_amount_fen();
  const int64_t tech_fen = event.tech_amount_fen();
  if (auto bad = CheckAmounts(kEvent, contract_fen, tech_fen)) return bad;
  if (contract_fen < contract->paid_fen) {
    return Fail(kEvent, "contract_amount " + FormatYuan(contract_fen) +
                            " is below the payments already received on contract " + Quoted(id) +
                            " (" + FormatYuan(contract->paid_fen) + ")");
  }
  // Old and new amounts lie in [0, INT64_MAX]: their differences fit.
  const Values delta = {0, contract_fen - contract->contract_fen, tech_fen - contract->tech_fen, 0,
                        0};
  if (auto bad = PostContract(kEvent, *contract, event.amended_on(), delta)) return bad;
  contract->contract_fen = contract_fen;
  contract->tech_fen = tech_fen;
  return std::nullopt;
}

std::optional<std::string> Market::Terminate(uint64_t index, const fb::ContractTerminated& event,
                                             uint64_t id_hash) {
  constexpr std::string_view kEvent = "ContractTerminated";
  Contract* contract = nullptr;
  if (auto bad = LiveContract(kEvent, View(event.contract_id()), id_hash, "terminated_on",
                              event.terminated_on(), &contract)) {
    return bad;
  }
  // Amounts are positive (checked when set), so their negations fit.
  const Values delta = {-1, -contract->contract_fen, -contract->tech_fen, 0, 1};
  if (auto bad = PostContract(kEvent, *contract, event.terminated_on(), delta)) return bad;
  contract->live = false;
  contract->terminated_index = index;
  return std::nullopt;
}

std::optional<std::string> Market::Pay(const fb::PaymentReceived& event, uint64_t id_hash) {
  constexpr std::string_view kEvent = "PaymentReceived";
  const std::string_view id = View(event.contract_id());
  Contract* contract = nullptr;
  if (auto bad = LiveContract(kEvent, id, id_hash, "paid_on", event.paid_on(), &contract))
    return bad;
  const int64_t amount_fen = event.amount_fen();
  if (amount_fen <= 0) return Fail(kEvent, "amount " + FormatYuan(amount_fen) + " is not positive");
  int64_t paid_fen = 0;
  if (!AddFen(contract->paid_fen, amount_fen, &paid_fen)) {
    return Fail(kEvent, "amount " + FormatYuan(amount_fen) + " would bring payments of contract " +
                            Quoted(id) + " beyond int64 fen");
  }
  if (paid_fen > contract->contract_fen) {
    return Fail(kEvent, "amount " + FormatYuan(amount_fen) + " would bring payments of contract " +
                            Quoted(id) + " to " + FormatYuan(paid_fen) +
                            ", above its contract amount " + FormatYuan(contract->contract_fen));
  }
  if (auto bad = PostContract(kEvent, *contract, event.paid_on(), {0, 0, 0, amount_fen, 0})) {
    return bad;
  }
  contract->paid_fen = paid_fen;
  return std::nullopt;
}

std::optional<std::string> Market::Deal(uint64_t index, const fb::TransferDealSigned& event) {
  constexpr std::string_view kEvent = "TransferDealSigned";
  const std::string_view id = View(event.deal_id());
  if (auto earlier = deal_ids_.find(id); earlier != deal_ids_.end()) {
    return Fail(kEvent, "deal_id " + Quoted(id) + " is already used in market " + market_ +
                            " (index " + std::to_string(earlier->second) + ")");
  }
  const int64_t amount_fen = event.amount_fen();
  if (amount_fen <= 0) return Fail(kEvent, "amount " + FormatYuan(amount_fen) + " is not positive");
  const int32_t month = MonthOf(event.signed_on());
  const std::string_view round = View(event.matchmaking_id());
  RoundKey round_key;
  Values round_values{};
  if (!round.empty()) {
    if (auto bad = RoundPost(kEvent, event.signed_on(), round, 'd', amount_fen, &round_key,
                             &round_values)) {
      return bad;
    }
  }
  Values& row = rows_.deal[DealKey(month, static_cast<uint8_t>(event.mode()))];
  int64_t deals = 0;
  int64_t sum_fen = 0;
  if (!AddFen(row[0], 1, &deals) || !AddFen(row[1], amount_fen, &sum_fen)) {
    return Fail(kEvent, "the deal totals of market " + market_ + " in " + MonthText(month) +
                            " would overflow int64");
  }
  row[0] = deals;
  row[1] = sum_fen;
  if (!round.empty()) rows_.round[std::move(round_key)] = round_values;
  deal_ids_.emplace(id, index);
  return std::nullopt;
}

std::optional<std::string> Market::Matchmaking(uint64_t index, const fb::MatchmakingHeld& event) {
  const std::string_view id = View(event.matchmaking_id());
  if (auto earlier = matchmaking_ids_.find(id); earlier != matchmaking_ids_.end()) {
    return Fail("MatchmakingHeld", "matchmaking_id " + Quoted(id) + " is already used in market " +
                                       market_ + " (index " + std::to_string(earlier->second) +
                                       ")");
  }
  matchmaking_ids_.emplace(id, index);
  return std::nullopt;
}

std::optional<std::string> Market::RoundPost(std::string_view event, int32_t date,
                                             std::string_view round, char source,
                                             int64_t amount_fen, RoundKey* key,
                                             Values* after) const {
  const int32_t month = MonthOf(date);
  *key = RoundKey{static_cast<uint32_t>(month), std::string(round), source};
  Values values{};
  if (auto found = rows_.round.find(*key); found != rows_.round.end()) values = found->second;
  if (!AddFen(values[0], 1, &(*after)[0]) || !AddFen(values[1], amount_fen, &(*after)[1])) {
    return Fail(event, "the totals of round " + Quoted(round) + " in market " + market_ + " in " +
                           MonthText(month) + " would overflow int64");
  }
  return std::nullopt;
}

std::optional<std::string> Market::PostContract(std::string_view event, const Contract& contract,
                                                int32_t date, const Values& delta) {
  const int32_t month = MonthOf(date);
  // Two maps: the first reference survives the second lookup.
  Values& volume = rows_.volume[VolumeKey(month, contract.type, contract.field)];
  Values& flow = rows_.flow[FlowKey{static_cast<uint32_t>(month), contract.seller_region,
                                    contract.buyer_region}];
  Values new_volume;
  Values new_flow;
  for (size_t i = 0; i < delta.size(); ++i) {
    if (!AddFen(volume[i], delta[i], &new_volume[i]) || !AddFen(flow[i], delta[i], &new_flow[i])) {
      return Fail(event, std::string(kContractColumns[i]) + " of market " + market_ + " in " +
                             MonthText(month) + " would overflow int64");
    }
  }
  volume = new_volume;
  flow = new_flow;
  return std::nullopt;
}

}  // namespace

struct Fold::State {
  explicit State(std::string market) : fold(std::move(market)) {}
  Market fold;
};

Fold::Fold(std::string market) : state_(std::make_unique<State>(std::move(market))) {}
Fold::~Fold() = default;

std::optional<std::string> Fold::Add(uint64_t index, const fb::Entry& entry) {
  return state_->fold.Add(index, entry);
}

const std::string& Fold::market() const { return state_->fold.market(); }
uint64_t Fold::entries() const { return state_->fold.entries(); }
const MarketRows& Fold::rows() const { return state_->fold.rows(); }

}  // namespace ledger::audit
