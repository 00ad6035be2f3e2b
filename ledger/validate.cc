#include "ledger/validate.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "ledger/civil_date.h"
#include "ledger/money.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

namespace fbs = flatbuffers;
using fb::ContractSubtype;
using fb::ContractType;

static_assert(kIpTypesCountMax == static_cast<size_t>(fb::IpType::MAX),
              "kIpTypesCountMax allows each known IP type once");

constexpr int32_t kEventDateDaysMin = DaysFromCivil(kEventDateYearMin, 1, 1);
constexpr int32_t kEventDateDaysMax = DaysFromCivil(kEventDateYearMax, 12, 31);

Status Invalid(std::string_view path, std::string_view problem) {
  std::string message(path);
  message += ": ";
  message += problem;
  return Status::InvalidArgument(message);
}

std::string Indexed(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Ids are key parts and the `market/contract_id` namespace uses '/'.
Status CheckIdText(std::string_view path, std::string_view id) {
  if (id.empty()) return Invalid(path, "empty");
  if (id.size() > kIdBytesMax) {
    return Invalid(path, "longer than " + std::to_string(kIdBytesMax) + " bytes");
  }
  for (unsigned char c : id) {
    if (c <= ' ' || c >= 0x7f || c == '/') {
      char problem[96];
      std::snprintf(problem, sizeof(problem),
                    "byte 0x%02X not allowed (want printable ASCII without spaces or '/')", c);
      return Invalid(path, problem);
    }
  }
  return Status::Ok();
}

Status CheckId(std::string_view path, const fbs::String* id) {
  if (id == nullptr) return Invalid(path, "missing");
  return CheckIdText(path, id->string_view());
}

Status CheckOptionalId(std::string_view path, const fbs::String* id) {
  return id == nullptr ? Status::Ok() : CheckIdText(path, id->string_view());
}

// Text meets people, terminals and CSV exports: valid UTF-8 without control
// characters.
Status CheckText(std::string_view path, const fbs::String* text, size_t bytes_max) {
  if (text == nullptr) return Invalid(path, "missing");
  if (text->size() == 0) return Invalid(path, "empty");
  if (text->size() > bytes_max) {
    return Invalid(path, "longer than " + std::to_string(bytes_max) + " bytes");
  }
  if (!IsValidUtf8(text->string_view())) return Invalid(path, "not valid UTF-8");
  for (unsigned char c : text->string_view()) {
    if (c < ' ' || c == 0x7f) return Invalid(path, "contains a control character");
  }
  return Status::Ok();
}

// Every enum of entry.fbs starts with `unspecified = 0` and ends at MAX.
template <typename Enum>
Status CheckEnumValue(std::string_view path, Enum value) {
  if (value == Enum::unspecified) return Invalid(path, "missing (unspecified)");
  if (static_cast<int>(value) > static_cast<int>(Enum::MAX)) {
    return Invalid(path, "unknown value " + std::to_string(static_cast<int>(value)));
  }
  return Status::Ok();
}

bool SubtypeBelongsTo(ContractType type, ContractSubtype subtype) {
  switch (type) {
    case ContractType::development:
      return subtype == ContractSubtype::commissioned || subtype == ContractSubtype::cooperative;
    case ContractType::transfer:
      return subtype == ContractSubtype::patent_right ||
             subtype == ContractSubtype::patent_application ||
             subtype == ContractSubtype::trade_secret || subtype == ContractSubtype::other;
    case ContractType::licensing:
      return subtype == ContractSubtype::patent_license ||
             subtype == ContractSubtype::trade_secret_license || subtype == ContractSubtype::other;
    case ContractType::consulting:
      return subtype == ContractSubtype::unspecified || subtype == ContractSubtype::other;
    case ContractType::service:
      return subtype == ContractSubtype::general || subtype == ContractSubtype::training ||
             subtype == ContractSubtype::intermediary;
    default:
      return false;
  }
}

// REQUIRES: type already checked.
Status CheckSubtype(ContractType type, ContractSubtype subtype) {
  if (static_cast<int>(subtype) > static_cast<int>(ContractSubtype::MAX)) {
    return Invalid("subtype", "unknown value " + std::to_string(static_cast<int>(subtype)));
  }
  if (!SubtypeBelongsTo(type, subtype)) {
    return Invalid("subtype", Quoted(fb::EnumNameContractSubtype(subtype)) +
                                  " does not belong to type " +
                                  Quoted(fb::EnumNameContractType(type)));
  }
  return Status::Ok();
}

// GB/T 2260 province-level codes (the first two digits of every code).
bool IsProvinceCode(uint32_t code) {
  return (code >= 11 && code <= 15) || (code >= 21 && code <= 23) || (code >= 31 && code <= 37) ||
         (code >= 41 && code <= 46) || (code >= 50 && code <= 54) || (code >= 61 && code <= 65) ||
         code == 71 || code == 81 || code == 82;
}

Status CheckRegion(std::string_view path, uint32_t region) {
  if (region == 0) return Invalid(path, "missing");
  if (region < 100000 || region > 999999) return Invalid(path, "want 6 digits");
  if (!IsProvinceCode(region / 10000)) {
    return Invalid(path, std::to_string(region) + " is not a GB/T 2260 code (no province " +
                             std::to_string(region / 10000) + ")");
  }
  return Status::Ok();
}

Status CheckParty(std::string_view path, const fb::Party* party) {
  if (party == nullptr) return Invalid(path, "missing");
  std::string prefix = std::string(path) + ".";
  LEDGER_RETURN_IF_ERROR(CheckText(prefix + "name", party->name(), kTextBytesMax));
  LEDGER_RETURN_IF_ERROR(CheckEnumValue(prefix + "entity", party->entity()));
  return CheckRegion(prefix + "region", party->region());
}

Status CheckDate(std::string_view path, int32_t days) {
  if (days < kEventDateDaysMin || days > kEventDateDaysMax) {
    return Invalid(path, FormatDate(days) + " outside " + FormatDate(kEventDateDaysMin) + ".." +
                             FormatDate(kEventDateDaysMax));
  }
  return Status::Ok();
}

Status CheckPositive(std::string_view path, int64_t fen) {
  if (fen <= 0) return Invalid(path, "must be positive, got " + FormatYuan(fen));
  return Status::Ok();
}

// A contract may have no technology share (tech_amount 0), never more than
// its whole amount.
Status CheckContractAmounts(int64_t contract_fen, int64_t tech_fen) {
  LEDGER_RETURN_IF_ERROR(CheckPositive("contract_amount", contract_fen));
  if (tech_fen < 0) return Invalid("tech_amount", "must not be negative");
  if (tech_fen > contract_fen) {
    return Invalid("tech_amount", FormatYuan(tech_fen) + " is more than contract_amount " +
                                      FormatYuan(contract_fen));
  }
  return Status::Ok();
}

Status CheckIpTypes(const fbs::Vector<fb::IpType>* ip_types) {
  if (ip_types == nullptr) return Status::Ok();
  if (ip_types->size() > kIpTypesCountMax) {
    return Invalid("ip_types", "more than " + std::to_string(kIpTypesCountMax) + " items");
  }
  uint32_t seen_mask = 0;
  for (uint32_t i = 0; i < ip_types->size(); ++i) {
    fb::IpType type = ip_types->Get(i);
    LEDGER_RETURN_IF_ERROR(CheckEnumValue(Indexed("ip_types", i), type));
    uint32_t bit = 1u << static_cast<int>(type);
    if (seen_mask & bit) {
      return Invalid(Indexed("ip_types", i), "duplicate " + Quoted(fb::EnumNameIpType(type)));
    }
    seen_mask |= bit;
  }
  return Status::Ok();
}

Status CheckMarkets(const fbs::Vector<fbs::Offset<fbs::String>>* markets) {
  if (markets == nullptr || markets->size() == 0) {
    return Invalid("markets", "want at least one market");
  }
  if (markets->size() > kMarketsCountMax) {
    return Invalid("markets", "more than " + std::to_string(kMarketsCountMax) + " markets");
  }
  for (uint32_t i = 0; i < markets->size(); ++i) {
    std::string_view market = markets->Get(i)->string_view();
    LEDGER_RETURN_IF_ERROR(CheckIdText(Indexed("markets", i), market));
    for (uint32_t k = 0; k < i; ++k) {
      if (markets->Get(k)->string_view() == market) {
        return Invalid(Indexed("markets", i), "duplicate " + Quoted(market));
      }
    }
  }
  return Status::Ok();
}

Status CheckContractRegistered(const fb::ContractRegistered& event) {
  LEDGER_RETURN_IF_ERROR(CheckId("contract_id", event.contract_id()));
  LEDGER_RETURN_IF_ERROR(CheckId("registration_no", event.registration_no()));
  LEDGER_RETURN_IF_ERROR(CheckEnumValue("type", event.type()));
  LEDGER_RETURN_IF_ERROR(CheckSubtype(event.type(), event.subtype()));
  LEDGER_RETURN_IF_ERROR(CheckText("title", event.title(), kTextBytesMax));
  LEDGER_RETURN_IF_ERROR(CheckEnumValue("field", event.field()));
  LEDGER_RETURN_IF_ERROR(CheckParty("seller", event.seller()));
  LEDGER_RETURN_IF_ERROR(CheckParty("buyer", event.buyer()));
  LEDGER_RETURN_IF_ERROR(
      CheckContractAmounts(event.contract_amount_fen(), event.tech_amount_fen()));
  LEDGER_RETURN_IF_ERROR(CheckDate("signed_on", event.signed_on()));
  LEDGER_RETURN_IF_ERROR(CheckIpTypes(event.ip_types()));
  return CheckOptionalId("matchmaking_id", event.matchmaking_id());
}

Status CheckContractAmended(const fb::ContractAmended& event) {
  LEDGER_RETURN_IF_ERROR(CheckId("contract_id", event.contract_id()));
  LEDGER_RETURN_IF_ERROR(
      CheckContractAmounts(event.contract_amount_fen(), event.tech_amount_fen()));
  LEDGER_RETURN_IF_ERROR(CheckText("reason", event.reason(), kTextBytesMax));
  return CheckDate("amended_on", event.amended_on());
}

Status CheckContractTerminated(const fb::ContractTerminated& event) {
  LEDGER_RETURN_IF_ERROR(CheckId("contract_id", event.contract_id()));
  LEDGER_RETURN_IF_ERROR(CheckText("reason", event.reason(), kTextBytesMax));
  return CheckDate("terminated_on", event.terminated_on());
}

Status CheckPaymentReceived(const fb::PaymentReceived& event) {
  LEDGER_RETURN_IF_ERROR(CheckId("contract_id", event.contract_id()));
  LEDGER_RETURN_IF_ERROR(CheckPositive("amount", event.amount_fen()));
  return CheckDate("paid_on", event.paid_on());
}

Status CheckTransferDealSigned(const fb::TransferDealSigned& event) {
  LEDGER_RETURN_IF_ERROR(CheckId("deal_id", event.deal_id()));
  LEDGER_RETURN_IF_ERROR(CheckText("achievement_title", event.achievement_title(), kTextBytesMax));
  LEDGER_RETURN_IF_ERROR(CheckEnumValue("mode", event.mode()));
  LEDGER_RETURN_IF_ERROR(CheckParty("institution", event.institution()));
  LEDGER_RETURN_IF_ERROR(CheckParty("enterprise", event.enterprise()));
  LEDGER_RETURN_IF_ERROR(CheckPositive("amount", event.amount_fen()));
  LEDGER_RETURN_IF_ERROR(CheckDate("signed_on", event.signed_on()));
  return CheckOptionalId("matchmaking_id", event.matchmaking_id());
}

Status CheckMatchmakingHeld(const fb::MatchmakingHeld& event) {
  LEDGER_RETURN_IF_ERROR(CheckId("matchmaking_id", event.matchmaking_id()));
  LEDGER_RETURN_IF_ERROR(CheckText("name", event.name(), kTextBytesMax));
  LEDGER_RETURN_IF_ERROR(CheckEnumValue("kind", event.kind()));
  LEDGER_RETURN_IF_ERROR(CheckMarkets(event.markets()));
  return CheckDate("held_on", event.held_on());
}

// The union is called "event" in the JSON form, so errors use that name.
Status CheckBody(const fb::Entry& entry) {
  if (entry.body_type() == fb::Event::NONE || entry.body() == nullptr) {
    return Invalid("event", "missing");
  }
  switch (entry.body_type()) {
    case fb::Event::ContractRegistered:
      return CheckContractRegistered(*entry.body_as_ContractRegistered());
    case fb::Event::ContractAmended:
      return CheckContractAmended(*entry.body_as_ContractAmended());
    case fb::Event::ContractTerminated:
      return CheckContractTerminated(*entry.body_as_ContractTerminated());
    case fb::Event::PaymentReceived:
      return CheckPaymentReceived(*entry.body_as_PaymentReceived());
    case fb::Event::TransferDealSigned:
      return CheckTransferDealSigned(*entry.body_as_TransferDealSigned());
    case fb::Event::MatchmakingHeld:
      return CheckMatchmakingHeld(*entry.body_as_MatchmakingHeld());
    default:
      return Invalid("event",
                     "unknown event type " + std::to_string(static_cast<int>(entry.body_type())));
  }
}

Status CheckRequestId(const fbs::Vector<uint8_t>* request_id) {
  if (request_id == nullptr) return Invalid("request_id", "missing");
  if (request_id->size() != kRequestIdBytes) {
    return Invalid("request_id", "want " + std::to_string(kRequestIdBytes) + " bytes, got " +
                                     std::to_string(request_id->size()));
  }
  return Status::Ok();
}

}  // namespace

namespace {

// The length of the UTF-8 sequence a lead byte starts; 0 for a byte that
// cannot start one.
size_t SequenceLength(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 0;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  static constexpr uint32_t kLeadBitsMask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  static constexpr uint32_t kCodePointMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < text.size()) {
    uint8_t lead = static_cast<uint8_t>(text[i]);
    size_t length = SequenceLength(lead);
    if (length == 0 || text.size() - i < length) return false;
    uint32_t code_point = lead & kLeadBitsMask[length];
    for (size_t k = 1; k < length; ++k) {
      uint8_t next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = code_point << 6 | (next & 0x3F);
    }
    if (code_point < kCodePointMin[length] || code_point > 0x10FFFF) return false;
    if (code_point >= 0xD800 && code_point <= 0xDFFF) return false;
    i += length;
  }
  return true;
}

Status ValidateEntry(const fb::Entry& entry) {
  LEDGER_RETURN_IF_ERROR(CheckBody(entry));
  LEDGER_RETURN_IF_ERROR(CheckRequestId(entry.request_id()));
  if (entry.actor() != nullptr) {
    LEDGER_RETURN_IF_ERROR(CheckText("actor", entry.actor(), kActorBytesMax));
  }
  return Status::Ok();
}

}  // namespace ledger
