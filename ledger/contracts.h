// Contract state: what the log must know about earlier entries to accept a
// new one (a known, live contract for an amendment, termination or payment;
// payments within the amount; unique contract, deal and matchmaking ids).
//
// State rows live in the `contracts` column family and are written in the same
// WriteBatch as the entries that change them, so they always agree with the
// log. Row layouts (on-disk format, never change):
//   'c' origin_id(4) contract_id -> ContractState (see Encode)
//   'd' origin_id(4) deal_id     -> index(8)
//   'm' origin_id(4) matchmaking_id -> index(8)
//
// Thread-safety: a StateOverlay belongs to the single writer thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ledger/status.h"

namespace ledger {

namespace fb {
struct Entry;
enum class Event : uint8_t;
}  // namespace fb
class RowReader;

enum class ContractStatus : uint8_t { kLive = 1, kTerminated = 2 };

struct ContractState {
  ContractStatus status = ContractStatus::kLive;
  uint8_t type = 0;   // fb::ContractType
  uint8_t field = 0;  // fb::TechField
  int32_t signed_on = 0;
  uint32_t seller_region = 0;
  uint32_t buyer_region = 0;
  int64_t contract_fen = 0;
  int64_t tech_fen = 0;
  int64_t paid_fen = 0;
  uint64_t registered_index = 0;

  std::string Encode() const;
  static StatusOr<ContractState> Decode(std::string_view bytes);
};

std::string ContractKey(uint32_t origin_id, std::string_view contract_id);
std::string DealKey(uint32_t origin_id, std::string_view deal_id);
std::string MatchmakingKey(uint32_t origin_id, std::string_view matchmaking_id);

// What one accepted entry changes: the state row it writes and what the
// views need to know (see views.h).
struct Effect {
  fb::Event event{};  // NONE
  std::string key;    // the state row it writes (ContractKey, DealKey or MatchmakingKey)
  std::string value;  // its new value
  // Contract events: the contract before and after the entry (before is
  // meaningless for a registration).
  ContractState before;
  ContractState after;
  // The entry's business date: signed_on, amended_on, terminated_on,
  // paid_on, or the deal's signed_on.
  int32_t date = 0;
  int64_t amount_fen = 0;  // a payment's or a deal's amount
  uint8_t mode = 0;        // fb::DealMode of a deal
  // The matchmaking round (对接会) a registration or a deal came from; empty
  // when none. Points into the entry, which outlives the effect's use.
  std::string_view matchmaking_id;
};

// Reads state through the rows not yet committed in the current batch.
class StateOverlay {
 public:
  // `rows` may be null: the overlay then starts from empty state and keeps
  // everything in memory (rebuilding views from the log).
  StateOverlay(const RowReader* rows, uint32_t origin_id) : rows_(rows), origin_id_(origin_id) {}

  // Checks `entry` (already statelessly valid, to be appended at `index`)
  // against the state so far and returns its effect, changing nothing. The
  // error message names the field.
  StatusOr<Effect> Check(const fb::Entry& entry, uint64_t index) const;

  // Records an effect from Check in the overlay (the caller writes
  // effect.key -> effect.value to the contracts column family).
  void Apply(const Effect& effect);

 private:
  // NotFound when absent in both the overlay and the store.
  StatusOr<std::string> Read(const std::string& key) const;
  StatusOr<ContractState> LiveContract(std::string_view contract_id, std::string* key) const;
  StatusOr<Effect> Register(const fb::Entry& entry, uint64_t index) const;
  StatusOr<Effect> Amend(const fb::Entry& entry) const;
  StatusOr<Effect> Terminate(const fb::Entry& entry) const;
  StatusOr<Effect> Pay(const fb::Entry& entry) const;
  StatusOr<Effect> UniqueId(std::string key, std::string_view field, uint64_t index) const;

  const RowReader* rows_;
  uint32_t origin_id_;
  std::unordered_map<std::string, std::string> pending_;
};

}  // namespace ledger
