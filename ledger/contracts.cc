#include "ledger/contracts.h"

#include <rocksdb/write_batch.h>

#include "ledger/encoding.h"
#include "ledger/store.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

constexpr uint8_t kContractStateVersion = 1;
constexpr size_t kContractStateBytes = 1 + 1 + 1 + 1 + 4 + 4 + 4 + 8 + 8 + 8 + 8;

std::string RowKey(char tag, uint32_t origin_id, std::string_view id) {
  std::string key(1, tag);
  PutBigEndian32(&key, origin_id);
  key += id;
  return key;
}

std::string_view View(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->data(), s->size());
}

std::string IndexValue(uint64_t index) {
  std::string value;
  PutBigEndian64(&value, index);
  return value;
}

}  // namespace

std::string ContractState::Encode() const {
  std::string out;
  out.reserve(kContractStateBytes);
  out.push_back(static_cast<char>(kContractStateVersion));
  out.push_back(static_cast<char>(status));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(field));
  PutBigEndian32(&out, static_cast<uint32_t>(signed_on));
  PutBigEndian32(&out, seller_region);
  PutBigEndian32(&out, buyer_region);
  PutBigEndian64(&out, static_cast<uint64_t>(contract_fen));
  PutBigEndian64(&out, static_cast<uint64_t>(tech_fen));
  PutBigEndian64(&out, static_cast<uint64_t>(paid_fen));
  PutBigEndian64(&out, registered_index);
  return out;
}

StatusOr<ContractState> ContractState::Decode(std::string_view bytes) {
  if (bytes.size() != kContractStateBytes || uint8_t(bytes[0]) != kContractStateVersion) {
    return Status::DataLoss("contract state row: bad size or version");
  }
  ContractState state;
  uint8_t status = uint8_t(bytes[1]);
  if (status != uint8_t(ContractStatus::kLive) && status != uint8_t(ContractStatus::kTerminated)) {
    return Status::DataLoss("contract state row: bad status");
  }
  state.status = ContractStatus(status);
  state.type = uint8_t(bytes[2]);
  state.field = uint8_t(bytes[3]);
  state.signed_on = static_cast<int32_t>(GetBigEndian32(bytes.substr(4)));
  state.seller_region = GetBigEndian32(bytes.substr(8));
  state.buyer_region = GetBigEndian32(bytes.substr(12));
  state.contract_fen = static_cast<int64_t>(GetBigEndian64(bytes.substr(16)));
  state.tech_fen = static_cast<int64_t>(GetBigEndian64(bytes.substr(24)));
  state.paid_fen = static_cast<int64_t>(GetBigEndian64(bytes.substr(32)));
  state.registered_index = GetBigEndian64(bytes.substr(40));
  return state;
}

std::string ContractKey(uint32_t origin_id, std::string_view contract_id) {
  return RowKey('c', origin_id, contract_id);
}
std::string DealKey(uint32_t origin_id, std::string_view deal_id) {
  return RowKey('d', origin_id, deal_id);
}
std::string MatchmakingKey(uint32_t origin_id, std::string_view matchmaking_id) {
  return RowKey('m', origin_id, matchmaking_id);
}

StatusOr<std::string> StateOverlay::Read(const std::string& key) const {
  auto it = pending_.find(key);
  if (it != pending_.end()) return it->second;
  if (rows_ == nullptr) return Status::NotFound("contracts: no row");
  return rows_->Get(Column::kContracts, key);
}

void StateOverlay::Apply(const Effect& effect) { pending_[effect.key] = effect.value; }

StatusOr<ContractState> StateOverlay::LiveContract(std::string_view contract_id,
                                                   std::string* key) const {
  *key = ContractKey(origin_id_, contract_id);
  StatusOr<std::string> row = Read(*key);
  if (!row.ok()) {
    if (row.status().code() == Status::Code::kNotFound) {
      return Status::FailedPrecondition("contract_id: unknown contract \"" +
                                        std::string(contract_id) + "\"");
    }
    return row.status();
  }
  LEDGER_ASSIGN_OR_RETURN(ContractState state, ContractState::Decode(*row));
  if (state.status != ContractStatus::kLive) {
    return Status::FailedPrecondition("contract_id: contract \"" + std::string(contract_id) +
                                      "\" is terminated");
  }
  return state;
}

StatusOr<Effect> StateOverlay::UniqueId(std::string key, std::string_view field,
                                        uint64_t index) const {
  StatusOr<std::string> existing = Read(key);
  if (existing.ok()) {
    return Status::AlreadyExists(std::string(field) + ": already registered at index " +
                                 std::to_string(GetBigEndian64(*existing)));
  }
  if (existing.status().code() != Status::Code::kNotFound) return existing.status();
  Effect effect;
  effect.key = std::move(key);
  effect.value = IndexValue(index);
  return effect;
}

StatusOr<Effect> StateOverlay::Register(const fb::Entry& entry, uint64_t index) const {
  const fb::ContractRegistered* event = entry.body_as_ContractRegistered();
  Effect effect;
  effect.key = ContractKey(origin_id_, View(event->contract_id()));
  StatusOr<std::string> existing = Read(effect.key);
  if (existing.ok()) return Status::AlreadyExists("contract_id: already registered");
  if (existing.status().code() != Status::Code::kNotFound) return existing.status();
  ContractState& state = effect.after;
  state.type = static_cast<uint8_t>(event->type());
  state.field = static_cast<uint8_t>(event->field());
  state.signed_on = event->signed_on();
  state.seller_region = event->seller()->region();
  state.buyer_region = event->buyer()->region();
  state.contract_fen = event->contract_amount_fen();
  state.tech_fen = event->tech_amount_fen();
  state.registered_index = index;
  effect.date = event->signed_on();
  effect.matchmaking_id = View(event->matchmaking_id());
  effect.value = state.Encode();
  return effect;
}

StatusOr<Effect> StateOverlay::Amend(const fb::Entry& entry) const {
  const fb::ContractAmended* event = entry.body_as_ContractAmended();
  Effect effect;
  LEDGER_ASSIGN_OR_RETURN(effect.before, LiveContract(View(event->contract_id()), &effect.key));
  if (event->amended_on() < effect.before.signed_on) {
    return Status::InvalidArgument("amended_on: before the contract was signed");
  }
  if (event->contract_amount_fen() < effect.before.paid_fen) {
    return Status::FailedPrecondition("contract_amount: below the payments already received");
  }
  effect.after = effect.before;
  effect.after.contract_fen = event->contract_amount_fen();
  effect.after.tech_fen = event->tech_amount_fen();
  effect.date = event->amended_on();
  effect.value = effect.after.Encode();
  return effect;
}

StatusOr<Effect> StateOverlay::Terminate(const fb::Entry& entry) const {
  const fb::ContractTerminated* event = entry.body_as_ContractTerminated();
  Effect effect;
  LEDGER_ASSIGN_OR_RETURN(effect.before, LiveContract(View(event->contract_id()), &effect.key));
  if (event->terminated_on() < effect.before.signed_on) {
    return Status::InvalidArgument("terminated_on: before the contract was signed");
  }
  effect.after = effect.before;
  effect.after.status = ContractStatus::kTerminated;
  effect.date = event->terminated_on();
  effect.value = effect.after.Encode();
  return effect;
}

StatusOr<Effect> StateOverlay::Pay(const fb::Entry& entry) const {
  const fb::PaymentReceived* event = entry.body_as_PaymentReceived();
  Effect effect;
  LEDGER_ASSIGN_OR_RETURN(effect.before, LiveContract(View(event->contract_id()), &effect.key));
  if (event->paid_on() < effect.before.signed_on) {
    return Status::InvalidArgument("paid_on: before the contract was signed");
  }
  effect.after = effect.before;
  if (__builtin_add_overflow(effect.before.paid_fen, event->amount_fen(), &effect.after.paid_fen) ||
      effect.after.paid_fen > effect.before.contract_fen) {
    return Status::FailedPrecondition("amount: payments would exceed the contract amount");
  }
  effect.date = event->paid_on();
  effect.amount_fen = event->amount_fen();
  effect.value = effect.after.Encode();
  return effect;
}

StatusOr<Effect> StateOverlay::Check(const fb::Entry& entry, uint64_t index) const {
  StatusOr<Effect> effect = Status::InvalidArgument("event: missing or unknown");
  switch (entry.body_type()) {
    case fb::Event::ContractRegistered:
      effect = Register(entry, index);
      break;
    case fb::Event::ContractAmended:
      effect = Amend(entry);
      break;
    case fb::Event::ContractTerminated:
      effect = Terminate(entry);
      break;
    case fb::Event::PaymentReceived:
      effect = Pay(entry);
      break;
    case fb::Event::TransferDealSigned: {
      const fb::TransferDealSigned* deal = entry.body_as_TransferDealSigned();
      effect = UniqueId(DealKey(origin_id_, View(deal->deal_id())), "deal_id", index);
      if (effect.ok()) {
        effect->date = deal->signed_on();
        effect->amount_fen = deal->amount_fen();
        effect->mode = static_cast<uint8_t>(deal->mode());
        effect->matchmaking_id = View(deal->matchmaking_id());
      }
      break;
    }
    case fb::Event::MatchmakingHeld:
      effect = UniqueId(
          MatchmakingKey(origin_id_, View(entry.body_as_MatchmakingHeld()->matchmaking_id())),
          "matchmaking_id", index);
      break;
    case fb::Event::NONE:
      break;
  }
  if (effect.ok()) effect->event = entry.body_type();
  return effect;
}

}  // namespace ledger
