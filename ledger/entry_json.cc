#include "ledger/entry_json.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <vector>

#include "ledger/civil_date.h"
#include "ledger/encoding.h"
#include "ledger/limits.h"
#include "ledger/money.h"
#include "ledger/validate.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

namespace fbs = flatbuffers;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;
using BodyOffset = fbs::Offset<void>;

// The containers of an entry (a party, a list) open at depth 1. One more
// level is let through so that such a mistake gets a type error naming the
// field; anything deeper is not an entry and is refused outright.
constexpr int kJsonDepthMax = 2;
// FlatBuffers reads int64 fields in place.
constexpr uintptr_t kEntryAlignmentBytes = 8;
// An Entry holds at most four tables (entry, event, two parties) two levels
// deep; the margins leave room for schema growth.
constexpr fbs::uoffset_t kVerifierDepthMax = 8;
constexpr fbs::uoffset_t kVerifierTablesMax = 16;
constexpr size_t kRequestIdHexDigits = 2 * kRequestIdBytes;
constexpr size_t kRegionDigits = 6;

// Member names of the JSON form, in schema order (the order of output).
constexpr std::string_view kPartyMembers[] = {"name", "entity", "region"};
constexpr std::string_view kContractRegisteredMembers[] = {
    "contract_id", "registration_no", "type",          "subtype",         "title",
    "field",       "seller",          "buyer",         "contract_amount", "tech_amount",
    "signed_on",   "ip_types",        "matchmaking_id"};
constexpr std::string_view kContractAmendedMembers[] = {"contract_id", "contract_amount",
                                                        "tech_amount", "reason", "amended_on"};
constexpr std::string_view kContractTerminatedMembers[] = {"contract_id", "reason",
                                                           "terminated_on"};
constexpr std::string_view kPaymentReceivedMembers[] = {"contract_id", "amount", "paid_on"};
constexpr std::string_view kTransferDealSignedMembers[] = {
    "deal_id", "achievement_title", "mode",          "institution", "enterprise",
    "amount",  "signed_on",         "matchmaking_id"};
constexpr std::string_view kMatchmakingHeldMembers[] = {"matchmaking_id", "name", "kind", "markets",
                                                        "held_on"};
constexpr std::string_view kRecordedAtMember = "recorded_at_ms";
// "recorded_at_ms" is known here so that, when not accepted, its error can
// say why instead of calling it unknown.
constexpr std::string_view kEntryMembers[] = {"event", "request_id", "actor", kRecordedAtMember};

Status Invalid(std::string_view path, std::string_view problem) {
  std::string message(path);
  if (!message.empty()) message += ": ";
  message += problem;
  return Status::InvalidArgument(message);
}

// JSON-escaped, so that odd member names print unambiguously.
std::string Quoted(std::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

std::string Indexed(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

// ---------------------------------------------------------------------------
// Text to a JSON value.

// nlohmann keeps the last of duplicate keys silently; a parse callback sees
// every key, so it can reject them. It also bounds the nesting depth.
struct ParseTracker {
  struct Frame {
    std::set<std::string> keys;
    std::string key;  // the latest key of this object
  };
  std::vector<Frame> frames;
  std::string error;

  void Fail(std::string message) {
    if (error.empty()) error = std::move(message);
  }
  std::string PathTo(std::string_view key) const {
    std::string path;
    for (size_t i = 0; i + 1 < frames.size(); ++i) path = Join(path, frames[i].key);
    return Join(path, key);
  }
};

bool Track(ParseTracker* tracker, int depth, Json::parse_event_t event, const Json& parsed) {
  using Event = Json::parse_event_t;
  if ((event == Event::object_start || event == Event::array_start) && depth > kJsonDepthMax) {
    tracker->Fail("json: nested more than " + std::to_string(kJsonDepthMax) + " levels");
  }
  if (event == Event::object_start) tracker->frames.emplace_back();
  if (event == Event::object_end) tracker->frames.pop_back();
  if (event == Event::key) {
    const std::string& key = parsed.get_ref<const std::string&>();
    ParseTracker::Frame& frame = tracker->frames.back();
    if (!frame.keys.insert(key).second) tracker->Fail(tracker->PathTo(key) + ": duplicate key");
    frame.key = key;
  }
  return true;  // Keep everything: discarding would skip object_end events.
}

// nlohmann messages start with "[json.exception.parse_error.101] ".
std::string WithoutExceptionId(const char* what) {
  std::string_view message(what);
  size_t end = message.find("] ");
  if (!message.empty() && message[0] == '[' && end != std::string_view::npos) {
    message.remove_prefix(end + 2);
  }
  return std::string(message);
}

StatusOr<Json> ParseObject(std::string_view text) {
  if (text.size() > kJsonTextBytesMax) {
    return Status::InvalidArgument("json: longer than " + std::to_string(kJsonTextBytesMax) +
                                   " bytes");
  }
  ParseTracker tracker;
  Json value;
  try {
    value = Json::parse(text.begin(), text.end(),
                        [&tracker](int depth, Json::parse_event_t event, Json& parsed) {
                          return Track(&tracker, depth, event, parsed);
                        });
  } catch (const Json::exception& e) {
    return Status::InvalidArgument("json: " + WithoutExceptionId(e.what()));
  }
  if (!tracker.error.empty()) return Status::InvalidArgument(tracker.error);
  if (!value.is_object()) return Status::InvalidArgument("json: want an object");
  return value;
}

// ---------------------------------------------------------------------------
// JSON values to FlatBuffers values.

StatusOr<std::string> StringValue(std::string_view path, const Json& value, size_t bytes_max) {
  if (!value.is_string()) return Invalid(path, "want a string");
  const std::string& text = value.get_ref<const std::string&>();
  if (text.empty()) return Invalid(path, "empty");
  if (text.size() > bytes_max) {
    return Invalid(path, "longer than " + std::to_string(bytes_max) + " bytes");
  }
  return text;
}

// The generated names tables are indexed by value; every enum of entry.fbs is
// dense from 0. Empty names are refused before they could match a gap.
template <typename Enum>
StatusOr<Enum> EnumFromName(std::string_view path, const std::string& name,
                            const char* const* names) {
  for (int value = 0; names[value] != nullptr; ++value) {
    if (name == names[value]) return static_cast<Enum>(value);
  }
  return Invalid(path, "unknown value " + Quoted(name));
}

// Reads the members of one JSON object, naming each by its path
// ("seller.region") in errors, and creates FlatBuffers strings, vectors and
// tables in `builder` (always before the table that refers to them starts).
class MemberReader {
 public:
  MemberReader(const Json& object, std::string path, fbs::FlatBufferBuilder* builder)
      : object_(object), path_(std::move(path)), builder_(builder) {}

  fbs::FlatBufferBuilder& builder() const { return *builder_; }
  std::string Path(std::string_view key) const { return Join(path_, key); }
  // nullptr when absent.
  const Json* Find(std::string_view key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  StatusOr<const Json*> Required(std::string_view key) const {
    const Json* value = Find(key);
    if (value == nullptr) return Invalid(Path(key), "missing");
    return value;
  }

  Status CheckMembers(std::span<const std::string_view> allowed,
                      std::span<const std::string_view> also_allowed = {}) const;
  StatusOr<std::string> String(std::string_view key, size_t bytes_max) const;
  StatusOr<fbs::Offset<fbs::String>> Id(std::string_view key);
  StatusOr<fbs::Offset<fbs::String>> OptionalId(std::string_view key);
  StatusOr<fbs::Offset<fbs::String>> Text(std::string_view key);
  StatusOr<int64_t> Yuan(std::string_view key) const;
  StatusOr<int32_t> Date(std::string_view key) const;
  StatusOr<uint32_t> Region(std::string_view key) const;
  template <typename Enum>
  StatusOr<Enum> EnumValue(std::string_view key, const char* const* names) const;
  template <typename Enum>
  StatusOr<Enum> OptionalEnumValue(std::string_view key, const char* const* names) const;
  StatusOr<fbs::Offset<fb::Party>> Party(std::string_view key);
  StatusOr<fbs::Offset<fbs::Vector<fb::IpType>>> IpTypes(std::string_view key);
  StatusOr<fbs::Offset<fbs::Vector<fbs::Offset<fbs::String>>>> Markets(std::string_view key);

 private:
  const Json& object_;
  std::string path_;
  fbs::FlatBufferBuilder* builder_;
};

Status MemberReader::CheckMembers(std::span<const std::string_view> allowed,
                                  std::span<const std::string_view> also_allowed) const {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    const std::string& key = it.key();
    bool known = std::find(allowed.begin(), allowed.end(), key) != allowed.end() ||
                 std::find(also_allowed.begin(), also_allowed.end(), key) != also_allowed.end();
    if (!known) return Invalid(path_, "unknown field " + Quoted(key));
  }
  return Status::Ok();
}

StatusOr<std::string> MemberReader::String(std::string_view key, size_t bytes_max) const {
  LEDGER_ASSIGN_OR_RETURN(const Json* value, Required(key));
  return StringValue(Path(key), *value, bytes_max);
}

StatusOr<fbs::Offset<fbs::String>> MemberReader::Id(std::string_view key) {
  LEDGER_ASSIGN_OR_RETURN(std::string id, String(key, kIdBytesMax));
  return builder_->CreateString(id);
}

StatusOr<fbs::Offset<fbs::String>> MemberReader::OptionalId(std::string_view key) {
  if (Find(key) == nullptr) return fbs::Offset<fbs::String>();
  return Id(key);
}

StatusOr<fbs::Offset<fbs::String>> MemberReader::Text(std::string_view key) {
  LEDGER_ASSIGN_OR_RETURN(std::string text, String(key, kTextBytesMax));
  return builder_->CreateString(text);
}

StatusOr<int64_t> MemberReader::Yuan(std::string_view key) const {
  LEDGER_ASSIGN_OR_RETURN(const Json* value, Required(key));
  if (!value->is_string()) {
    return Invalid(Path(key), "want a decimal string of yuan, like \"1250000.00\"");
  }
  StatusOr<int64_t> fen = ParseYuan(value->get_ref<const std::string&>());
  if (!fen.ok()) return fen.status().WithContext(Path(key));
  return fen;
}

StatusOr<int32_t> MemberReader::Date(std::string_view key) const {
  LEDGER_ASSIGN_OR_RETURN(const Json* value, Required(key));
  if (!value->is_string()) return Invalid(Path(key), "want a date string YYYY-MM-DD");
  StatusOr<int32_t> days = ParseDate(value->get_ref<const std::string&>());
  if (!days.ok()) return days.status().WithContext(Path(key));
  return days;
}

StatusOr<uint32_t> MemberReader::Region(std::string_view key) const {
  LEDGER_ASSIGN_OR_RETURN(const Json* value, Required(key));
  if (!value->is_string()) return Invalid(Path(key), "want a string of 6 digits");
  const std::string& text = value->get_ref<const std::string&>();
  uint32_t region = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Invalid(Path(key), "want 6 digits");
    region = region * 10 + static_cast<uint32_t>(c - '0');
  }
  if (text.size() != kRegionDigits) return Invalid(Path(key), "want 6 digits");
  return region;
}

template <typename Enum>
StatusOr<Enum> MemberReader::EnumValue(std::string_view key, const char* const* names) const {
  LEDGER_ASSIGN_OR_RETURN(std::string name, String(key, kIdBytesMax));
  return EnumFromName<Enum>(Path(key), name, names);
}

template <typename Enum>
StatusOr<Enum> MemberReader::OptionalEnumValue(std::string_view key,
                                               const char* const* names) const {
  if (Find(key) == nullptr) return Enum::unspecified;
  return EnumValue<Enum>(key, names);
}

StatusOr<fbs::Offset<fb::Party>> MemberReader::Party(std::string_view key) {
  LEDGER_ASSIGN_OR_RETURN(const Json* value, Required(key));
  if (!value->is_object()) return Invalid(Path(key), "want an object with name, entity, region");
  MemberReader party(*value, Path(key), builder_);
  LEDGER_RETURN_IF_ERROR(party.CheckMembers(kPartyMembers));
  LEDGER_ASSIGN_OR_RETURN(auto name, party.Text("name"));
  LEDGER_ASSIGN_OR_RETURN(auto entity,
                          party.EnumValue<fb::EntityType>("entity", fb::EnumNamesEntityType()));
  LEDGER_ASSIGN_OR_RETURN(uint32_t region, party.Region("region"));
  return fb::CreateParty(*builder_, name, entity, region);
}

// Optional; an empty array stores nothing, like an absent one.
StatusOr<fbs::Offset<fbs::Vector<fb::IpType>>> MemberReader::IpTypes(std::string_view key) {
  const Json* value = Find(key);
  if (value == nullptr) return fbs::Offset<fbs::Vector<fb::IpType>>();
  if (!value->is_array()) return Invalid(Path(key), "want an array of strings");
  if (value->size() > kIpTypesCountMax) {
    return Invalid(Path(key), "more than " + std::to_string(kIpTypesCountMax) + " items");
  }
  std::vector<fb::IpType> types;
  for (size_t i = 0; i < value->size(); ++i) {
    std::string path = Indexed(Path(key), i);
    LEDGER_ASSIGN_OR_RETURN(std::string name, StringValue(path, (*value)[i], kIdBytesMax));
    LEDGER_ASSIGN_OR_RETURN(fb::IpType type,
                            EnumFromName<fb::IpType>(path, name, fb::EnumNamesIpType()));
    types.push_back(type);
  }
  if (types.empty()) return fbs::Offset<fbs::Vector<fb::IpType>>();
  return builder_->CreateVector(types);
}

StatusOr<fbs::Offset<fbs::Vector<fbs::Offset<fbs::String>>>> MemberReader::Markets(
    std::string_view key) {
  LEDGER_ASSIGN_OR_RETURN(const Json* value, Required(key));
  if (!value->is_array()) return Invalid(Path(key), "want an array of strings");
  if (value->size() > kMarketsCountMax) {
    return Invalid(Path(key), "more than " + std::to_string(kMarketsCountMax) + " markets");
  }
  std::vector<fbs::Offset<fbs::String>> markets;
  for (size_t i = 0; i < value->size(); ++i) {
    LEDGER_ASSIGN_OR_RETURN(std::string market,
                            StringValue(Indexed(Path(key), i), (*value)[i], kIdBytesMax));
    markets.push_back(builder_->CreateString(market));
  }
  return builder_->CreateVector(markets);
}

// ---------------------------------------------------------------------------
// One reader per event. Locals are read in schema order so that the first
// error is the first bad field.

StatusOr<BodyOffset> ReadContractRegistered(MemberReader* in) {
  LEDGER_ASSIGN_OR_RETURN(auto contract_id, in->Id("contract_id"));
  LEDGER_ASSIGN_OR_RETURN(auto registration_no, in->Id("registration_no"));
  LEDGER_ASSIGN_OR_RETURN(auto type,
                          in->EnumValue<fb::ContractType>("type", fb::EnumNamesContractType()));
  LEDGER_ASSIGN_OR_RETURN(auto subtype, in->OptionalEnumValue<fb::ContractSubtype>(
                                            "subtype", fb::EnumNamesContractSubtype()));
  LEDGER_ASSIGN_OR_RETURN(auto title, in->Text("title"));
  LEDGER_ASSIGN_OR_RETURN(auto field,
                          in->EnumValue<fb::TechField>("field", fb::EnumNamesTechField()));
  LEDGER_ASSIGN_OR_RETURN(auto seller, in->Party("seller"));
  LEDGER_ASSIGN_OR_RETURN(auto buyer, in->Party("buyer"));
  LEDGER_ASSIGN_OR_RETURN(int64_t contract_fen, in->Yuan("contract_amount"));
  LEDGER_ASSIGN_OR_RETURN(int64_t tech_fen, in->Yuan("tech_amount"));
  LEDGER_ASSIGN_OR_RETURN(int32_t signed_on, in->Date("signed_on"));
  LEDGER_ASSIGN_OR_RETURN(auto ip_types, in->IpTypes("ip_types"));
  LEDGER_ASSIGN_OR_RETURN(auto matchmaking_id, in->OptionalId("matchmaking_id"));
  return fb::CreateContractRegistered(in->builder(), contract_id, registration_no, type, subtype,
                                      title, field, seller, buyer, contract_fen, tech_fen,
                                      signed_on, ip_types, matchmaking_id)
      .Union();
}

StatusOr<BodyOffset> ReadContractAmended(MemberReader* in) {
  LEDGER_ASSIGN_OR_RETURN(auto contract_id, in->Id("contract_id"));
  LEDGER_ASSIGN_OR_RETURN(int64_t contract_fen, in->Yuan("contract_amount"));
  LEDGER_ASSIGN_OR_RETURN(int64_t tech_fen, in->Yuan("tech_amount"));
  LEDGER_ASSIGN_OR_RETURN(auto reason, in->Text("reason"));
  LEDGER_ASSIGN_OR_RETURN(int32_t amended_on, in->Date("amended_on"));
  return fb::CreateContractAmended(in->builder(), contract_id, contract_fen, tech_fen, reason,
                                   amended_on)
      .Union();
}

StatusOr<BodyOffset> ReadContractTerminated(MemberReader* in) {
  LEDGER_ASSIGN_OR_RETURN(auto contract_id, in->Id("contract_id"));
  LEDGER_ASSIGN_OR_RETURN(auto reason, in->Text("reason"));
  LEDGER_ASSIGN_OR_RETURN(int32_t terminated_on, in->Date("terminated_on"));
  return fb::CreateContractTerminated(in->builder(), contract_id, reason, terminated_on).Union();
}

StatusOr<BodyOffset> ReadPaymentReceived(MemberReader* in) {
  LEDGER_ASSIGN_OR_RETURN(auto contract_id, in->Id("contract_id"));
  LEDGER_ASSIGN_OR_RETURN(int64_t amount_fen, in->Yuan("amount"));
  LEDGER_ASSIGN_OR_RETURN(int32_t paid_on, in->Date("paid_on"));
  return fb::CreatePaymentReceived(in->builder(), contract_id, amount_fen, paid_on).Union();
}

StatusOr<BodyOffset> ReadTransferDealSigned(MemberReader* in) {
  LEDGER_ASSIGN_OR_RETURN(auto deal_id, in->Id("deal_id"));
  LEDGER_ASSIGN_OR_RETURN(auto achievement_title, in->Text("achievement_title"));
  LEDGER_ASSIGN_OR_RETURN(auto mode, in->EnumValue<fb::DealMode>("mode", fb::EnumNamesDealMode()));
  LEDGER_ASSIGN_OR_RETURN(auto institution, in->Party("institution"));
  LEDGER_ASSIGN_OR_RETURN(auto enterprise, in->Party("enterprise"));
  LEDGER_ASSIGN_OR_RETURN(int64_t amount_fen, in->Yuan("amount"));
  LEDGER_ASSIGN_OR_RETURN(int32_t signed_on, in->Date("signed_on"));
  LEDGER_ASSIGN_OR_RETURN(auto matchmaking_id, in->OptionalId("matchmaking_id"));
  return fb::CreateTransferDealSigned(in->builder(), deal_id, achievement_title, mode, institution,
                                      enterprise, amount_fen, signed_on, matchmaking_id)
      .Union();
}

StatusOr<BodyOffset> ReadMatchmakingHeld(MemberReader* in) {
  LEDGER_ASSIGN_OR_RETURN(auto matchmaking_id, in->Id("matchmaking_id"));
  LEDGER_ASSIGN_OR_RETURN(auto name, in->Text("name"));
  LEDGER_ASSIGN_OR_RETURN(
      auto kind, in->EnumValue<fb::MatchmakingKind>("kind", fb::EnumNamesMatchmakingKind()));
  LEDGER_ASSIGN_OR_RETURN(auto markets, in->Markets("markets"));
  LEDGER_ASSIGN_OR_RETURN(int32_t held_on, in->Date("held_on"));
  return fb::CreateMatchmakingHeld(in->builder(), matchmaking_id, name, kind, markets, held_on)
      .Union();
}

// ---------------------------------------------------------------------------
// FlatBuffers values to JSON. Absent strings and tables are left out, so
// that what is written is exactly what is stored.

void PutString(OrderedJson* out, const char* key, const fbs::String* value) {
  if (value != nullptr) (*out)[key] = value->str();
}

// A value from a newer schema keeps its number rather than being lost.
template <typename Enum>
OrderedJson EnumJson(Enum value, const char* const* names) {
  int number = static_cast<int>(value);
  if (number <= static_cast<int>(Enum::MAX)) return names[number];
  return number;
}

template <typename Enum>
void PutEnum(OrderedJson* out, const char* key, Enum value, const char* const* names) {
  (*out)[key] = EnumJson(value, names);
}

void PutParty(OrderedJson* out, const char* key, const fb::Party* party) {
  if (party == nullptr) return;
  OrderedJson object = OrderedJson::object();
  PutString(&object, "name", party->name());
  PutEnum(&object, "entity", party->entity(), fb::EnumNamesEntityType());
  char region[16];
  std::snprintf(region, sizeof(region), "%06u", static_cast<unsigned>(party->region()));
  object["region"] = region;
  (*out)[key] = std::move(object);
}

void PutIpTypes(OrderedJson* out, const fbs::Vector<fb::IpType>* ip_types) {
  if (ip_types == nullptr || ip_types->size() == 0) return;
  OrderedJson array = OrderedJson::array();
  for (fb::IpType type : *ip_types) array.push_back(EnumJson(type, fb::EnumNamesIpType()));
  (*out)["ip_types"] = std::move(array);
}

void WriteContractRegistered(const fb::Entry& entry, OrderedJson* out) {
  const fb::ContractRegistered& event = *entry.body_as_ContractRegistered();
  PutString(out, "contract_id", event.contract_id());
  PutString(out, "registration_no", event.registration_no());
  PutEnum(out, "type", event.type(), fb::EnumNamesContractType());
  if (event.subtype() != fb::ContractSubtype::unspecified) {
    PutEnum(out, "subtype", event.subtype(), fb::EnumNamesContractSubtype());
  }
  PutString(out, "title", event.title());
  PutEnum(out, "field", event.field(), fb::EnumNamesTechField());
  PutParty(out, "seller", event.seller());
  PutParty(out, "buyer", event.buyer());
  (*out)["contract_amount"] = FormatYuan(event.contract_amount_fen());
  (*out)["tech_amount"] = FormatYuan(event.tech_amount_fen());
  (*out)["signed_on"] = FormatDate(event.signed_on());
  PutIpTypes(out, event.ip_types());
  PutString(out, "matchmaking_id", event.matchmaking_id());
}

void WriteContractAmended(const fb::Entry& entry, OrderedJson* out) {
  const fb::ContractAmended& event = *entry.body_as_ContractAmended();
  PutString(out, "contract_id", event.contract_id());
  (*out)["contract_amount"] = FormatYuan(event.contract_amount_fen());
  (*out)["tech_amount"] = FormatYuan(event.tech_amount_fen());
  PutString(out, "reason", event.reason());
  (*out)["amended_on"] = FormatDate(event.amended_on());
}

void WriteContractTerminated(const fb::Entry& entry, OrderedJson* out) {
  const fb::ContractTerminated& event = *entry.body_as_ContractTerminated();
  PutString(out, "contract_id", event.contract_id());
  PutString(out, "reason", event.reason());
  (*out)["terminated_on"] = FormatDate(event.terminated_on());
}

void WritePaymentReceived(const fb::Entry& entry, OrderedJson* out) {
  const fb::PaymentReceived& event = *entry.body_as_PaymentReceived();
  PutString(out, "contract_id", event.contract_id());
  (*out)["amount"] = FormatYuan(event.amount_fen());
  (*out)["paid_on"] = FormatDate(event.paid_on());
}

void WriteTransferDealSigned(const fb::Entry& entry, OrderedJson* out) {
  const fb::TransferDealSigned& event = *entry.body_as_TransferDealSigned();
  PutString(out, "deal_id", event.deal_id());
  PutString(out, "achievement_title", event.achievement_title());
  PutEnum(out, "mode", event.mode(), fb::EnumNamesDealMode());
  PutParty(out, "institution", event.institution());
  PutParty(out, "enterprise", event.enterprise());
  (*out)["amount"] = FormatYuan(event.amount_fen());
  (*out)["signed_on"] = FormatDate(event.signed_on());
  PutString(out, "matchmaking_id", event.matchmaking_id());
}

void WriteMatchmakingHeld(const fb::Entry& entry, OrderedJson* out) {
  const fb::MatchmakingHeld& event = *entry.body_as_MatchmakingHeld();
  PutString(out, "matchmaking_id", event.matchmaking_id());
  PutString(out, "name", event.name());
  PutEnum(out, "kind", event.kind(), fb::EnumNamesMatchmakingKind());
  if (event.markets() != nullptr) {
    OrderedJson markets = OrderedJson::array();
    for (const fbs::String* market : *event.markets()) markets.push_back(market->str());
    (*out)["markets"] = std::move(markets);
  }
  (*out)["held_on"] = FormatDate(event.held_on());
}

// ---------------------------------------------------------------------------
// The union members, driving both directions.

struct EventSpec {
  fb::Event event;
  std::span<const std::string_view> members;
  StatusOr<BodyOffset> (*read)(MemberReader* in);
  void (*write)(const fb::Entry& entry, OrderedJson* out);
};

constexpr EventSpec kEvents[] = {
    {fb::Event::ContractRegistered, kContractRegisteredMembers, ReadContractRegistered,
     WriteContractRegistered},
    {fb::Event::ContractAmended, kContractAmendedMembers, ReadContractAmended,
     WriteContractAmended},
    {fb::Event::ContractTerminated, kContractTerminatedMembers, ReadContractTerminated,
     WriteContractTerminated},
    {fb::Event::PaymentReceived, kPaymentReceivedMembers, ReadPaymentReceived,
     WritePaymentReceived},
    {fb::Event::TransferDealSigned, kTransferDealSignedMembers, ReadTransferDealSigned,
     WriteTransferDealSigned},
    {fb::Event::MatchmakingHeld, kMatchmakingHeldMembers, ReadMatchmakingHeld,
     WriteMatchmakingHeld},
};
static_assert(std::size(kEvents) == static_cast<size_t>(fb::Event::MAX),
              "every union member has a JSON form");

const EventSpec* FindEvent(fb::Event event) {
  for (const EventSpec& spec : kEvents) {
    if (spec.event == event) return &spec;
  }
  return nullptr;
}

StatusOr<const EventSpec*> ReadEventName(const MemberReader& in) {
  LEDGER_ASSIGN_OR_RETURN(std::string name, in.String("event", kIdBytesMax));
  for (const EventSpec& spec : kEvents) {
    if (name == fb::EnumNameEvent(spec.event)) return &spec;
  }
  return Invalid("event", "unknown value " + Quoted(name));
}

// ---------------------------------------------------------------------------
// The Entry's own members.

StatusOr<fbs::Offset<fbs::Vector<uint8_t>>> ReadRequestId(const MemberReader& in,
                                                          fbs::FlatBufferBuilder* builder) {
  std::string bytes(kRequestIdBytes, '\0');
  if (in.Find("request_id") != nullptr) {
    LEDGER_ASSIGN_OR_RETURN(std::string hex, in.String("request_id", kRequestIdHexDigits));
    StatusOr<std::string> decoded = HexDecode(hex);
    if (hex.size() != kRequestIdHexDigits || !decoded.ok()) {
      return Invalid("request_id", "want " + std::to_string(kRequestIdHexDigits) + " hex digits");
    }
    bytes = *decoded;
  } else if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()),
                        static_cast<int>(bytes.size())) != 1) {
    return Status::Internal("request_id: RAND_bytes failed");
  }
  return builder->CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

StatusOr<fbs::Offset<fbs::String>> ReadActor(const MemberReader& in, const JsonOptions& options,
                                             fbs::FlatBufferBuilder* builder) {
  if (in.Find("actor") != nullptr) {
    LEDGER_ASSIGN_OR_RETURN(std::string actor, in.String("actor", kActorBytesMax));
    return builder->CreateString(actor);
  }
  if (options.default_actor.empty()) return fbs::Offset<fbs::String>();
  return builder->CreateString(options.default_actor);
}

StatusOr<int64_t> ReadRecordedAt(const MemberReader& in, const JsonOptions& options) {
  const Json* value = in.Find(kRecordedAtMember);
  if (value == nullptr) return options.recorded_at_ms;
  if (!options.accept_recorded_at) {
    return Invalid(kRecordedAtMember, "set by the node, not accepted here");
  }
  if (!value->is_number_integer()) return Invalid(kRecordedAtMember, "want an integer");
  if (value->is_number_unsigned() && value->get<uint64_t>() > uint64_t{INT64_MAX}) {
    return Invalid(kRecordedAtMember, "out of range");
  }
  return value->get<int64_t>();
}

StatusOr<std::string> BuildEntry(std::string_view json_text, const JsonOptions& options) {
  LEDGER_ASSIGN_OR_RETURN(Json object, ParseObject(json_text));
  fbs::FlatBufferBuilder builder(1024);
  MemberReader in(object, "", &builder);
  LEDGER_ASSIGN_OR_RETURN(const EventSpec* spec, ReadEventName(in));
  LEDGER_RETURN_IF_ERROR(in.CheckMembers(spec->members, kEntryMembers));
  LEDGER_ASSIGN_OR_RETURN(int64_t recorded_at_ms, ReadRecordedAt(in, options));
  LEDGER_ASSIGN_OR_RETURN(BodyOffset body, spec->read(&in));
  LEDGER_ASSIGN_OR_RETURN(auto request_id, ReadRequestId(in, &builder));
  LEDGER_ASSIGN_OR_RETURN(auto actor, ReadActor(in, options, &builder));
  auto root = fb::CreateEntry(builder, spec->event, body, recorded_at_ms, request_id, actor);
  fb::FinishEntryBuffer(builder, root);
  return std::string(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
}

OrderedJson EntryObject(const fb::Entry& entry) {
  OrderedJson out = OrderedJson::object();
  const EventSpec* spec = FindEvent(entry.body_type());
  if (spec != nullptr && entry.body() != nullptr) {
    out["event"] = fb::EnumNameEvent(spec->event);
    spec->write(entry, &out);
  } else if (entry.body_type() != fb::Event::NONE) {
    out["event"] = static_cast<int>(entry.body_type());  // From a newer schema.
  }
  if (entry.request_id() != nullptr) {
    out["request_id"] = HexEncode(std::string_view(
        reinterpret_cast<const char*>(entry.request_id()->data()), entry.request_id()->size()));
  }
  PutString(&out, "actor", entry.actor());
  out[std::string(kRecordedAtMember)] = entry.recorded_at_ms();
  return out;
}

}  // namespace

StatusOr<const fb::Entry*> VerifiedEntry(std::string_view entry_bytes) {
  if (reinterpret_cast<uintptr_t>(entry_bytes.data()) % kEntryAlignmentBytes != 0) {
    return Status::InvalidArgument("entry: bytes not 8-byte aligned; copy them into a std::string");
  }
  if (entry_bytes.size() > limits::kEntryBytesMax) {
    return Status::DataLoss("entry: larger than " + std::to_string(limits::kEntryBytesMax) +
                            " bytes");
  }
  const auto* data = reinterpret_cast<const uint8_t*>(entry_bytes.data());
  fbs::Verifier::Options verifier_options;
  verifier_options.max_depth = kVerifierDepthMax;
  verifier_options.max_tables = kVerifierTablesMax;
  fbs::Verifier verifier(data, entry_bytes.size(), verifier_options);
  if (!fb::VerifyEntryBuffer(verifier)) {
    return Status::DataLoss("entry: not a valid Entry FlatBuffer (\"TLE1\")");
  }
  return fb::GetEntry(data);
}

StatusOr<std::string> EntryFromJson(std::string_view json_text, const JsonOptions& options) {
  // nlohmann and FlatBufferBuilder report allocation failure (and misuse) by
  // throwing; nothing may escape to the caller.
  try {
    return BuildEntry(json_text, options);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("json: ") + e.what());
  }
}

StatusOr<std::string> EntryToJson(std::string_view entry_bytes) {
  std::string aligned_copy;
  if (reinterpret_cast<uintptr_t>(entry_bytes.data()) % kEntryAlignmentBytes != 0) {
    aligned_copy.assign(entry_bytes);
    entry_bytes = aligned_copy;
  }
  LEDGER_ASSIGN_OR_RETURN(const fb::Entry* entry, VerifiedEntry(entry_bytes));
  try {
    // Stored text that is not UTF-8 (ValidateEntry refuses it, but these
    // bytes may never have passed it) is shown with U+FFFD, not refused.
    return EntryObject(*entry).dump(-1, ' ', false, Json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("entry json: ") + e.what());
  }
}

}  // namespace ledger
