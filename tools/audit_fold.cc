#include "tools/audit_fold.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/civil_date.h"
#include "ledger/crypto.h"
#include "ledger/encoding.h"
#include "ledger/money.h"
#include "schemas/entry_generated.h"

namespace ledger::audit {
namespace {

// ---- What a market's log has built up. ----

// The values of one row in the order of the published columns: contract rows
// (volume and flow) use all five, deal rows the first two.
constexpr size_t kContractColumnCount = 5;
constexpr size_t kDealColumnCount = 2;
using Values = std::array<int64_t, kContractColumnCount>;
constexpr const char* kContractColumns[] = {"contracts", "contract_amount", "tech_amount",
                                            "payments", "terminated"};
constexpr bool kContractMoney[] = {false, true, true, true, false};
constexpr const char* kDealColumns[] = {"deals", "amount"};
constexpr bool kDealMoney[] = {false, true};

// splitmix64's finaliser: a bijection in which every input bit moves every
// output bit.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9;
  x ^= x >> 27;
  x *= 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

// Ids and request ids are chosen by clients, so their hashes take a seed
// drawn per fold: a log cannot be crafted to make them collide.
uint64_t NewSeed() {
  std::random_device random;
  return uint64_t{random()} << 32 | random();
}

// A seeded hash of text, 8 bytes at a time.
uint64_t HashText(std::string_view text, uint64_t seed) {
  uint64_t hash = Mix(seed ^ text.size());
  for (; text.size() >= sizeof(uint64_t); text.remove_prefix(sizeof(uint64_t))) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, text.data(), sizeof(uint64_t));
    hash = Mix(hash ^ chunk);
  }
  if (!text.empty()) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, text.data(), text.size());
    hash = Mix(hash ^ chunk);
  }
  return hash;
}

// An open-addressing index from keys to the positions 0, 1, 2, ... of the
// records that hold them, which the caller keeps in a vector in that order.
// A slot is the high half of the key's hash and the position: 8 bytes, so
// the index of a 1,000,000-entry log's request ids is 16 MB, where a
// node-based map would allocate per key and chase two pointers per lookup.
// Linear probing in a power-of-two table at most half full; a key's home
// slot is the top bits of its hash, so growing sweeps the old table in order
// and writes the new one almost sequentially, without reading the records.
class FlatIndex {
 public:
  // Positions are 32 bits and the home slot comes from the 32 high bits of
  // the hash: at most 2^31 slots, half of them used.
  static constexpr uint32_t kSizeMax = uint32_t{1} << 30;

  // The position of the record, among those whose key has `hash`, for which
  // `matches(position)` is true.
  template <typename Matches>
  std::optional<uint32_t> Find(uint64_t hash, const Matches& matches) const {
    if (slots_.empty()) return std::nullopt;
    const uint32_t tag = Tag(hash);
    for (size_t at = Home(tag);; at = (at + 1) & (slots_.size() - 1)) {
      const Slot slot = slots_[at];
      if (slot.tag == 0) return std::nullopt;
      if (slot.tag == tag && matches(slot.position)) return slot.position;
    }
  }

  // Starts loading the slot where a lookup of `hash` begins.
  void Prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Home(Tag(hash))]);
  }

  // How many positions were added; the next one added is this.
  uint32_t size() const { return size_; }

  // Adds position size() under `hash`.
  // REQUIRES: no record added before has the same key; size() < kSizeMax.
  void Insert(uint64_t hash) {
    assert(size_ < kSizeMax);
    if (2 * (size_t{size_} + 1) > slots_.size()) Grow();
    Place({Tag(hash), size_});
    ++size_;
  }

 private:
  static constexpr int kSlotsBitsMin = 10;
  struct Slot {
    uint32_t tag = 0;  // the hash's high half, never 0; 0: empty
    uint32_t position = 0;
  };

  static uint32_t Tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32) | 1; }
  size_t Home(uint32_t tag) const { return tag >> (32 - slots_bits_); }

  void Place(const Slot& slot) {
    size_t at = Home(slot.tag);
    while (slots_[at].tag != 0) at = (at + 1) & (slots_.size() - 1);
    slots_[at] = slot;
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_bits_ = old.empty() ? kSlotsBitsMin : slots_bits_ + 1;
    slots_.assign(size_t{1} << slots_bits_, Slot());
    for (const Slot& slot : old) {
      if (slot.tag != 0) Place(slot);
    }
  }

  std::vector<Slot> slots_;
  int slots_bits_ = 0;
  uint32_t size_ = 0;
};

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

// Row keys packed so that numeric order is the node's row order (months as
// unsigned, as the node's big-endian keys sort them).
uint64_t VolumeKey(int32_t month, uint8_t type, uint8_t field) {
  return uint64_t{static_cast<uint32_t>(month)} << 16 | uint64_t{type} << 8 | field;
}
uint64_t DealKey(int32_t month, uint8_t mode) {
  return uint64_t{static_cast<uint32_t>(month)} << 8 | mode;
}
struct FlowKey {
  uint32_t month = 0;
  uint32_t seller_region = 0;
  uint32_t buyer_region = 0;
  bool operator==(const FlowKey&) const = default;
  auto operator<=>(const FlowKey&) const = default;
};
struct FlowKeyHash {
  size_t operator()(const FlowKey& key) const {
    return Mix(uint64_t{key.month} << 32 ^
               Mix(uint64_t{key.seller_region} << 32 | key.buyer_region));
  }
};
struct KeyHash {
  size_t operator()(uint64_t key) const { return Mix(key); }
};
// A round row: month, matchmaking id, and 'c' (contracts) or 'd' (deals).
// Few rows, so an ordered map; answers and the digest order them themselves.
using RoundKey = std::tuple<uint32_t, std::string, char>;
using RoundRows = std::map<RoundKey, Values, std::less<>>;

// The rows of one kind by key, values inline: open addressing in a
// power-of-two table at most half full. A market has thousands of rows, not
// millions, so the table stays in cache and a lookup is a hash and a probe
// or two.
template <typename Key, typename Hash>
class RowMap {
 public:
  // The values of `key`'s row, all zero if it is new. The reference lives
  // until the next call of operator[].
  Values& operator[](const Key& key) {
    if (2 * (size_ + 1) > slots_.size()) Grow();
    Slot& slot = slots_[SlotOf(key)];
    if (!slot.used) {
      slot = {key, Values{}, true};
      ++size_;
    }
    return slot.values;
  }

  // Every row, in key order.
  std::vector<std::pair<Key, Values>> Sorted() const {
    std::vector<std::pair<Key, Values>> rows;
    rows.reserve(size_);
    for (const Slot& slot : slots_) {
      if (slot.used) rows.emplace_back(slot.key, slot.values);
    }
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return rows;
  }

 private:
  static constexpr size_t kSlotsMin = 64;
  struct Slot {
    Key key{};
    Values values{};
    bool used = false;
  };

  // Where `key` is, or the empty slot where it would go.
  size_t SlotOf(const Key& key) const {
    const size_t mask = slots_.size() - 1;
    size_t at = Hash()(key) & mask;
    while (slots_[at].used && !(slots_[at].key == key)) at = (at + 1) & mask;
    return at;
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max(kSlotsMin, 2 * old.size()), Slot());
    for (const Slot& slot : old) {
      if (slot.used) slots_[SlotOf(slot.key)] = slot;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// ---- Texts of messages and rows. ----

std::string_view View(const flatbuffers::String* text) {
  return text == nullptr ? std::string_view() : std::string_view(text->data(), text->size());
}

std::string Quoted(std::string_view id) { return "\"" + std::string(id) + "\""; }

std::string MonthText(int32_t month) {
  char text[24];
  std::snprintf(text, sizeof(text), "%04d-%02d", month / 100, month % 100);
  return text;
}

std::string RegionText(uint32_t region) {
  char text[16];
  std::snprintf(text, sizeof(text), "%06u", region);
  return text;
}

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
  const RowMap<uint64_t, KeyHash>& volume_rows() const { return volume_rows_; }
  const RowMap<FlowKey, FlowKeyHash>& flow_rows() const { return flow_rows_; }
  const RowMap<uint64_t, KeyHash>& deal_rows() const { return deal_rows_; }
  const RoundRows& round_rows() const { return round_rows_; }

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
  // Rows may hold all zeros here; they are left out of the answers.
  RowMap<uint64_t, KeyHash> volume_rows_;  // VolumeKey
  RowMap<FlowKey, FlowKeyHash> flow_rows_;
  RowMap<uint64_t, KeyHash> deal_rows_;  // DealKey
  RoundRows round_rows_;
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
  if (!round.empty()) round_rows_[std::move(round_key)] = round_values;
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
  Values& row = deal_rows_[DealKey(month, static_cast<uint8_t>(event.mode()))];
  int64_t deals = 0;
  int64_t sum_fen = 0;
  if (!AddFen(row[0], 1, &deals) || !AddFen(row[1], amount_fen, &sum_fen)) {
    return Fail(kEvent, "the deal totals of market " + market_ + " in " + MonthText(month) +
                            " would overflow int64");
  }
  row[0] = deals;
  row[1] = sum_fen;
  if (!round.empty()) round_rows_[std::move(round_key)] = round_values;
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
  if (auto found = round_rows_.find(*key); found != round_rows_.end()) values = found->second;
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
  Values& volume = volume_rows_[VolumeKey(month, contract.type, contract.field)];
  Values& flow = flow_rows_[FlowKey{static_cast<uint32_t>(month), contract.seller_region,
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

// ---- Answers. ----

// One /v1/totals answer being built: rows in order, their total, and the
// encoded view rows for the digest.
class Answer {
 public:
  Answer(const char* const* columns, const bool* money, size_t column_count)
      : columns_(columns), money_(money), column_count_(column_count) {}

  // Adds a row unless its values are all zero. `keys` holds the key members.
  Status AddRow(nlohmann::json keys, const Values& values) {
    if (std::all_of(values.begin(), values.begin() + column_count_,
                    [](int64_t value) { return value == 0; })) {
      return Status::Ok();
    }
    Values total;
    for (size_t i = 0; i < column_count_; ++i) {
      if (!AddFen(total_[i], values[i], &total[i])) {
        return Status::OutOfRange(std::string("totals: the total of ") + columns_[i] +
                                  " overflows int64");
      }
    }
    total_ = total;
    PutValues(&keys, values);
    rows_.push_back(std::move(keys));
    return Status::Ok();
  }

  nlohmann::json Finish(const std::string& digest_hex) {
    nlohmann::json total = nlohmann::json::object();
    PutValues(&total, total_);
    return {{"rows", std::move(rows_)}, {"total", std::move(total)}, {"digest", digest_hex}};
  }

 private:
  void PutValues(nlohmann::json* object, const Values& values) const {
    for (size_t i = 0; i < column_count_; ++i) {
      if (money_[i]) {
        (*object)[columns_[i]] = FormatYuan(values[i]);
      } else {
        (*object)[columns_[i]] = values[i];
      }
    }
  }

  const char* const* columns_;
  const bool* money_;
  size_t column_count_;
  nlohmann::json rows_ = nlohmann::json::array();
  Values total_{};
};

// The view rows as views.h lays them out, for the digest: key -> value.
class DigestRows {
 public:
  // `kind` 'v', 'f', 'd' or 'r'; `suffix` what follows the month.
  void Add(char kind, const std::string& market, uint32_t month, std::string_view suffix,
           const Values& values, size_t column_count) {
    if (std::all_of(values.begin(), values.begin() + column_count,
                    [](int64_t value) { return value == 0; })) {
      return;
    }
    std::string key(1, kind);
    key.push_back(static_cast<char>(market.size()));
    key += market;
    PutBigEndian32(&key, month);
    key += suffix;
    std::string value;
    for (size_t i = 0; i < column_count; ++i) {
      PutBigEndian64(&value, static_cast<uint64_t>(values[i]));
    }
    rows_.emplace(std::move(key), std::move(value));
  }

  // SHA-256 over the rows in key order, each as key_length(4) key
  // value_length(4) value.
  std::string DigestHex() const {
    Sha256Stream sha;
    for (const auto& [key, value] : rows_) {
      std::string length;
      PutBigEndian32(&length, static_cast<uint32_t>(key.size()));
      sha.Update(length);
      sha.Update(key);
      length.clear();
      PutBigEndian32(&length, static_cast<uint32_t>(value.size()));
      sha.Update(length);
      sha.Update(value);
    }
    return HexEncode(sha.Finish());
  }

 private:
  std::map<std::string, std::string> rows_;
};

// The answers /v1/totals publishes, being built.
struct Answers {
  Answer volume{kContractColumns, kContractMoney, kContractColumnCount};
  Answer flows{kContractColumns, kContractMoney, kContractColumnCount};
  Answer deals{kDealColumns, kDealMoney, kDealColumnCount};
  // Round rows have two columns: the first two of contracts, or of deals.
  Answer rounds{kContractColumns, kContractMoney, kDealColumnCount};
  Answer round_deals{kDealColumns, kDealMoney, kDealColumnCount};
};

// Adds one market's rows to the answers and the digest rows.
Status AddMarket(const Market& market, Answers* answers, DigestRows* digest) {
  Answer* volume = &answers->volume;
  Answer* flows = &answers->flows;
  Answer* deals = &answers->deals;
  const std::string& id = market.market();
  for (const auto& [key, values] : market.volume_rows().Sorted()) {
    const uint32_t month = static_cast<uint32_t>(key >> 16);
    const auto type = static_cast<uint8_t>(key >> 8);
    const auto field = static_cast<uint8_t>(key);
    LEDGER_RETURN_IF_ERROR(
        volume->AddRow({{"market", id},
                        {"month", MonthText(static_cast<int32_t>(month))},
                        {"type", fb::EnumNameContractType(static_cast<fb::ContractType>(type))},
                        {"field", fb::EnumNameTechField(static_cast<fb::TechField>(field))}},
                       values));
    digest->Add('v', id, month, std::string{static_cast<char>(type), static_cast<char>(field)},
                values, kContractColumnCount);
  }
  for (const auto& [key, values] : market.flow_rows().Sorted()) {
    LEDGER_RETURN_IF_ERROR(flows->AddRow({{"market", id},
                                          {"month", MonthText(static_cast<int32_t>(key.month))},
                                          {"seller_region", RegionText(key.seller_region)},
                                          {"buyer_region", RegionText(key.buyer_region)}},
                                         values));
    std::string regions;
    PutBigEndian32(&regions, key.seller_region);
    PutBigEndian32(&regions, key.buyer_region);
    digest->Add('f', id, key.month, regions, values, kContractColumnCount);
  }
  for (const auto& [key, values] : market.deal_rows().Sorted()) {
    const uint32_t month = static_cast<uint32_t>(key >> 8);
    const auto mode = static_cast<uint8_t>(key);
    LEDGER_RETURN_IF_ERROR(
        deals->AddRow({{"market", id},
                       {"month", MonthText(static_cast<int32_t>(month))},
                       {"mode", fb::EnumNameDealMode(static_cast<fb::DealMode>(mode))}},
                      values));
    digest->Add('d', id, month, std::string(1, static_cast<char>(mode)), values, kDealColumnCount);
  }
  for (const auto& [key, values] : market.round_rows()) {
    const auto& [month, round, source] = key;
    Answer* answer = source == 'c' ? &answers->rounds : &answers->round_deals;
    LEDGER_RETURN_IF_ERROR(answer->AddRow(
        {{"market", id}, {"month", MonthText(static_cast<int32_t>(month))}, {"round", round}},
        values));
    // Ids are at most 128 bytes (ledger/validate.h), so the length fits a byte.
    std::string suffix(1, static_cast<char>(round.size()));
    suffix += round;
    suffix.push_back(source);
    digest->Add('r', id, month, suffix, values, kDealColumnCount);
  }
  return Status::Ok();
}

// ---- Comparing answers. ----

struct AnswerShape {
  const char* name;  // "volume", "flows", "deals"
  std::vector<const char*> keys;
  const char* const* columns;
  size_t column_count;
};

const AnswerShape kVolumeShape = {
    "volume", {"market", "month", "type", "field"}, kContractColumns, kContractColumnCount};
const AnswerShape kFlowShape = {"flows",
                                {"market", "month", "seller_region", "buyer_region"},
                                kContractColumns,
                                kContractColumnCount};
const AnswerShape kDealShape = {
    "deals", {"market", "month", "mode"}, kDealColumns, kDealColumnCount};
const AnswerShape kRoundShape = {
    "rounds", {"market", "month", "round"}, kContractColumns, kDealColumnCount};
const AnswerShape kRoundDealShape = {
    "round_deals", {"market", "month", "round"}, kDealColumns, kDealColumnCount};

std::string ValueText(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// Equal JSON values of the same kind (a count as a number, money as text).
bool SameValue(const nlohmann::json& expected, const nlohmann::json& found) {
  if (expected.is_string()) return found.is_string() && expected == found;
  if (expected.is_number_integer()) return found.is_number_integer() && expected == found;
  return expected == found;
}

std::string RowName(const AnswerShape& shape, const std::vector<std::string>& keys) {
  std::string name = std::string(shape.name) + " row";
  for (size_t i = 0; i < keys.size(); ++i) name += " " + std::string(shape.keys[i]) + "=" + keys[i];
  return name;
}

std::string ValuesText(const AnswerShape& shape, const nlohmann::json& object) {
  std::string text;
  for (size_t i = 0; i < shape.column_count; ++i) {
    const char* column = shape.columns[i];
    text += (i > 0 ? " " : "") + std::string(column) + "=" +
            (object.contains(column) ? ValueText(object[column]) : "(none)");
  }
  return text;
}

// The first value of `found` that differs from `expected`, as a message
// about `what`; members other than keys and values are differences too.
std::optional<std::string> CompareValues(const AnswerShape& shape, const std::string& what,
                                         const nlohmann::json& expected,
                                         const nlohmann::json& found) {
  for (size_t i = 0; i < shape.column_count; ++i) {
    const char* column = shape.columns[i];
    if (!found.contains(column)) {
      return what + ": " + column + " expected " + ValueText(expected[column]) +
             " (recomputed), found nothing (published)";
    }
    if (!SameValue(expected[column], found[column])) {
      return what + ": " + column + " expected " + ValueText(expected[column]) +
             " (recomputed), found " +
             (expected[column].type() == found[column].type() ? ValueText(found[column])
                                                              : found[column].dump()) +
             " (published)";
    }
  }
  for (const auto& [member, value] : found.items()) {
    if (!expected.contains(member)) {
      return what + ": unexpected member \"" + member + "\" (published " + value.dump() + ")";
    }
  }
  return std::nullopt;
}

// The published rows by their keys, or the first malformed or repeated row.
std::optional<std::string> IndexRows(const AnswerShape& shape, const nlohmann::json& rows,
                                     std::map<std::vector<std::string>, size_t>* index) {
  for (size_t r = 0; r < rows.size(); ++r) {
    const nlohmann::json& row = rows[r];
    if (!row.is_object()) {
      return std::string(shape.name) + ": published row " + std::to_string(r) + " is not an object";
    }
    std::vector<std::string> keys;
    for (const char* key : shape.keys) {
      if (!row.contains(key) || !row[key].is_string()) {
        return std::string(shape.name) + ": published row " + std::to_string(r) +
               " has no text member \"" + key + "\"";
      }
      keys.push_back(row[key].get<std::string>());
    }
    auto [at, inserted] = index->emplace(keys, r);
    if (!inserted) {
      return RowName(shape, keys) + ": published twice (rows " + std::to_string(at->second) +
             " and " + std::to_string(r) + ")";
    }
  }
  return std::nullopt;
}

std::optional<std::string> CompareAnswer(const AnswerShape& shape, const nlohmann::json& expected,
                                         const nlohmann::json& found) {
  const std::string name = shape.name;
  if (!found.is_object() || !found.contains("rows") || !found["rows"].is_array()) {
    return name + ": the published answer has no \"rows\" array";
  }
  if (!found.contains("total") || !found["total"].is_object()) {
    return name + ": the published answer has no \"total\" object";
  }
  std::map<std::vector<std::string>, size_t> published;
  if (auto bad = IndexRows(shape, found["rows"], &published)) return bad;
  std::vector<bool> matched(found["rows"].size(), false);
  for (const nlohmann::json& row : expected["rows"]) {
    std::vector<std::string> keys;
    for (const char* key : shape.keys) keys.push_back(row[key].get<std::string>());
    auto at = published.find(keys);
    if (at == published.end()) {
      return RowName(shape, keys) + ": expected " + ValuesText(shape, row) +
             " (recomputed), found no such row (published)";
    }
    matched[at->second] = true;
    if (auto bad = CompareValues(shape, RowName(shape, keys), row, found["rows"][at->second])) {
      return bad;
    }
  }
  for (const auto& [keys, r] : published) {
    if (matched[r]) continue;
    return RowName(shape, keys) +
           ": expected no such row (recomputed: the log gives none), found " +
           ValuesText(shape, found["rows"][r]) + " (published)";
  }
  if (auto bad = CompareValues(shape, name + " total", expected["total"], found["total"])) {
    return bad;
  }
  if (found.contains("digest") && !SameValue(expected["digest"], found["digest"])) {
    return name + " digest: expected " + ValueText(expected["digest"]) +
           " (recomputed view digest), found " + ValueText(found["digest"]) + " (published)";
  }
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

StatusOr<Published> RecomputeTotals(const std::vector<const Fold*>& folds) {
  std::vector<const Market*> markets;
  for (const Fold* fold : folds) markets.push_back(&fold->state_->fold);
  std::sort(markets.begin(), markets.end(),
            [](const Market* a, const Market* b) { return a->market() < b->market(); });
  for (size_t i = 0; i < markets.size(); ++i) {
    // Row keys hold the id's length in one byte (views.h).
    if (markets[i]->market().size() > 255) {
      return Status::InvalidArgument("market id longer than 255 bytes: " + markets[i]->market());
    }
    if (i > 0 && markets[i]->market() == markets[i - 1]->market()) {
      return Status::InvalidArgument("market " + markets[i]->market() + " folded twice");
    }
  }
  Answers answers;
  DigestRows digest;
  for (const Market* market : markets) {
    LEDGER_RETURN_IF_ERROR(AddMarket(*market, &answers, &digest));
  }
  const std::string digest_hex = digest.DigestHex();
  Published published;
  published.volume = answers.volume.Finish(digest_hex);
  published.flows = answers.flows.Finish(digest_hex);
  published.deals = answers.deals.Finish(digest_hex);
  published.rounds = answers.rounds.Finish(digest_hex);
  published.round_deals = answers.round_deals.Finish(digest_hex);
  return published;
}

std::optional<std::string> CompareTotals(const std::vector<const Fold*>& folds,
                                         const Published& published) {
  StatusOr<Published> expected = RecomputeTotals(folds);
  if (!expected.ok()) return "recomputing the totals: " + expected.status().ToString();
  if (auto bad = CompareAnswer(kVolumeShape, expected->volume, published.volume)) return bad;
  if (auto bad = CompareAnswer(kFlowShape, expected->flows, published.flows)) return bad;
  if (auto bad = CompareAnswer(kDealShape, expected->deals, published.deals)) return bad;
  if (auto bad = CompareAnswer(kRoundShape, expected->rounds, published.rounds)) return bad;
  return CompareAnswer(kRoundDealShape, expected->round_deals, published.round_deals);
}

}  // namespace ledger::audit
