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

namespace rocksdb {
class WriteBatch;
}

namespace ledger {

namespace fb {
struct Entry;
}
class Store;

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

// Reads state through the rows not yet committed in the current batch.
class StateOverlay {
 public:
  StateOverlay(const Store* store, uint32_t origin_id) : store_(store), origin_id_(origin_id) {}

  // Checks `entry` (already statelessly valid) against the state so far and,
  // if it is acceptable, records its effect in the overlay and in `batch`.
  // On error nothing is recorded; the message names the field.
  Status CheckAndApply(const fb::Entry& entry, uint64_t index, rocksdb::WriteBatch* batch);

  // Forgets pending rows once their batch is committed (or abandoned).
  void Clear() { pending_.clear(); }

 private:
  // NotFound when absent in both the overlay and the store.
  StatusOr<std::string> Read(const std::string& key) const;
  void Put(const std::string& key, std::string value, rocksdb::WriteBatch* batch);
  StatusOr<ContractState> LiveContract(std::string_view contract_id) const;
  Status Register(const fb::Entry& entry, uint64_t index, rocksdb::WriteBatch* batch);
  Status Amend(const fb::Entry& entry, rocksdb::WriteBatch* batch);
  Status Terminate(const fb::Entry& entry, rocksdb::WriteBatch* batch);
  Status Pay(const fb::Entry& entry, rocksdb::WriteBatch* batch);
  Status UniqueId(const std::string& key, std::string_view field, uint64_t index,
                  rocksdb::WriteBatch* batch);

  const Store* store_;
  uint32_t origin_id_;
  std::unordered_map<std::string, std::string> pending_;
};

}  // namespace ledger
