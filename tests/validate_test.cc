#include "ledger/validate.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/civil_date.h"
#include "ledger/entry_json.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

namespace fbs = flatbuffers;
using fb::Event;
using Text = std::optional<std::string>;  // nullopt: the field is absent

struct PartySpec {
  Text name;
  fb::EntityType entity;
  uint32_t region;
};

// Every field of every event as plain values, so that a test can set any of
// them to anything the schema can hold, including what the JSON form would
// refuse. The defaults make a valid entry of `event`.
struct EntrySpec {
  Event event = Event::ContractRegistered;
  bool body_present = true;
  // ContractRegistered, ContractAmended, ContractTerminated, PaymentReceived.
  Text contract_id = "XN-2021-0001";
  Text registration_no = "2021630100000001";
  fb::ContractType type = fb::ContractType::development;
  fb::ContractSubtype subtype = fb::ContractSubtype::commissioned;
  Text title = "高原特色生物资源提取工艺";
  fb::TechField field = fb::TechField::biomedicine;
  std::optional<PartySpec> seller = PartySpec{"青海大学", fb::EntityType::university, 630100};
  std::optional<PartySpec> buyer =
      PartySpec{"某生物科技有限公司", fb::EntityType::enterprise, 630100};
  int64_t contract_fen = 125000000;
  int64_t tech_fen = 100000000;
  std::vector<fb::IpType> ip_types = {fb::IpType::invention_patent};
  Text matchmaking_id = "XN-WH-2021";
  Text reason = "补充协议";
  int64_t amount_fen = 50000000;  // PaymentReceived, TransferDealSigned
  // TransferDealSigned.
  Text deal_id = "LZ-2022-17";
  Text achievement_title = "旱作农业节水技术";
  fb::DealMode mode = fb::DealMode::transfer;
  std::optional<PartySpec> institution = PartySpec{"兰州大学", fb::EntityType::university, 620100};
  std::optional<PartySpec> enterprise = PartySpec{"某公司", fb::EntityType::enterprise, 620500};
  // MatchmakingHeld.
  Text name = "青海—武汉技术对接会";
  fb::MatchmakingKind kind = fb::MatchmakingKind::matchmaking;
  std::optional<std::vector<std::string>> markets = std::vector<std::string>{"xining", "wuhan"};
  // The event's date (signed_on, amended_on, terminated_on, paid_on, held_on).
  int32_t date = 18898;
  // Entry.
  Text request_id = std::string(16, 'r');
  Text actor = "clerk-01";
};

class EntryBuilder {
 public:
  std::string Build(const EntrySpec& spec) {
    fbs::Offset<void> body = Body(spec);
    fbs::Offset<fbs::Vector<uint8_t>> request_id;
    if (spec.request_id) {
      request_id = b_.CreateVector(reinterpret_cast<const uint8_t*>(spec.request_id->data()),
                                   spec.request_id->size());
    }
    auto root = fb::CreateEntry(b_, spec.event, spec.body_present ? body : 0, 1, request_id,
                                Str(spec.actor));
    fb::FinishEntryBuffer(b_, root);
    return std::string(reinterpret_cast<const char*>(b_.GetBufferPointer()), b_.GetSize());
  }

 private:
  fbs::Offset<fbs::String> Str(const Text& text) {
    return text ? b_.CreateString(*text) : fbs::Offset<fbs::String>();
  }
  fbs::Offset<fb::Party> Party(const std::optional<PartySpec>& party) {
    if (!party) return 0;
    auto name = Str(party->name);
    return fb::CreateParty(b_, name, party->entity, party->region);
  }
  fbs::Offset<void> Body(const EntrySpec& s) {
    switch (s.event) {
      case Event::ContractAmended:
        return fb::CreateContractAmended(b_, Str(s.contract_id), s.contract_fen, s.tech_fen,
                                         Str(s.reason), s.date)
            .Union();
      case Event::ContractTerminated:
        return fb::CreateContractTerminated(b_, Str(s.contract_id), Str(s.reason), s.date).Union();
      case Event::PaymentReceived:
        return fb::CreatePaymentReceived(b_, Str(s.contract_id), s.amount_fen, s.date).Union();
      case Event::TransferDealSigned:
        return fb::CreateTransferDealSigned(b_, Str(s.deal_id), Str(s.achievement_title), s.mode,
                                            Party(s.institution), Party(s.enterprise), s.amount_fen,
                                            s.date, Str(s.matchmaking_id))
            .Union();
      case Event::MatchmakingHeld: {
        fbs::Offset<fbs::Vector<fbs::Offset<fbs::String>>> markets;
        if (s.markets) markets = b_.CreateVectorOfStrings(*s.markets);
        return fb::CreateMatchmakingHeld(b_, Str(s.matchmaking_id), Str(s.name), s.kind, markets,
                                         s.date)
            .Union();
      }
      default:  // ContractRegistered, also used as the body of unknown events
        return fb::CreateContractRegistered(b_, Str(s.contract_id), Str(s.registration_no), s.type,
                                            s.subtype, Str(s.title), s.field, Party(s.seller),
                                            Party(s.buyer), s.contract_fen, s.tech_fen, s.date,
                                            b_.CreateVector(s.ip_types), Str(s.matchmaking_id))
            .Union();
    }
  }

  fbs::FlatBufferBuilder b_;
};

Status Validate(const EntrySpec& spec) {
  std::string bytes = EntryBuilder().Build(spec);
  StatusOr<const fb::Entry*> entry = VerifiedEntry(bytes);
  EXPECT_TRUE(entry.ok()) << entry.status().ToString();
  if (!entry.ok()) return entry.status();
  return ValidateEntry(**entry);
}

EntrySpec Valid(Event event) {
  EntrySpec spec;
  spec.event = event;
  return spec;
}

int32_t Day(const char* text) { return ParseDate(text).value(); }

std::optional<PartySpec> Party(Text name, fb::EntityType entity, uint32_t region) {
  return PartySpec{std::move(name), entity, region};
}

template <typename Enum>
Enum Unknown(int value) {
  return static_cast<Enum>(value);
}

struct Rule {
  Event event;
  std::function<void(EntrySpec*)> change;
  const char* message;  // expected start of the error message
};

constexpr Event kEvents[] = {Event::ContractRegistered, Event::ContractAmended,
                             Event::ContractTerminated, Event::PaymentReceived,
                             Event::TransferDealSigned, Event::MatchmakingHeld};

// The starting point of every rule below is valid, so each rejection is due
// to the one change the rule makes.
TEST(ValidateTest, BaseEntriesAreValid) {
  for (Event event : kEvents) {
    Status status = Validate(Valid(event));
    EXPECT_TRUE(status.ok()) << fb::EnumNameEvent(event) << ": " << status.ToString();
  }
}

// Each rule rejects one change to a valid entry, with a message naming the
// field.
TEST(ValidateTest, EveryRuleRejectsWithTheFieldName) {
  const std::string long_id(kIdBytesMax + 1, 'x');
  const std::string long_text(kTextBytesMax + 1, 'x');
  const Event kRegistered = Event::ContractRegistered;
  const Event kAmended = Event::ContractAmended;
  const Event kTerminated = Event::ContractTerminated;
  const Event kPayment = Event::PaymentReceived;
  const Event kDeal = Event::TransferDealSigned;
  const Event kMatchmaking = Event::MatchmakingHeld;
  const Rule rules[] = {
      // The entry itself.
      {kRegistered, [](EntrySpec* s) { s->body_present = false; }, "event: missing"},
      {kRegistered, [](EntrySpec* s) { s->event = Event::NONE; }, "event: missing"},
      {kRegistered, [](EntrySpec* s) { s->event = Unknown<Event>(9); },
       "event: unknown event type 9"},
      {kRegistered, [](EntrySpec* s) { s->request_id.reset(); }, "request_id: missing"},
      {kRegistered, [](EntrySpec* s) { s->request_id = std::string(15, 'r'); },
       "request_id: want 16 bytes, got 15"},
      {kRegistered, [](EntrySpec* s) { s->request_id = std::string(17, 'r'); },
       "request_id: want 16 bytes, got 17"},
      {kRegistered, [](EntrySpec* s) { s->actor = ""; }, "actor: empty"},
      {kRegistered, [](EntrySpec* s) { s->actor = std::string(kActorBytesMax + 1, 'a'); },
       "actor: longer than 128 bytes"},
      {kRegistered, [](EntrySpec* s) { s->actor = "clerk\x01"; },
       "actor: contains a control character"},
      {kRegistered, [](EntrySpec* s) { s->actor = "\xFF"; }, "actor: not valid UTF-8"},
      // ContractRegistered.
      {kRegistered, [](EntrySpec* s) { s->contract_id.reset(); }, "contract_id: missing"},
      {kRegistered, [](EntrySpec* s) { s->contract_id = ""; }, "contract_id: empty"},
      {kRegistered, [&](EntrySpec* s) { s->contract_id = long_id; },
       "contract_id: longer than 128 bytes"},
      {kRegistered, [](EntrySpec* s) { s->contract_id = "XN 1"; }, "contract_id: byte 0x20"},
      {kRegistered, [](EntrySpec* s) { s->contract_id = "XN/1"; }, "contract_id: byte 0x2F"},
      {kRegistered, [](EntrySpec* s) { s->contract_id = "XN\t1"; }, "contract_id: byte 0x09"},
      {kRegistered, [](EntrySpec* s) { s->contract_id = "合同1"; }, "contract_id: byte 0xE5"},
      {kRegistered, [](EntrySpec* s) { s->registration_no.reset(); }, "registration_no: missing"},
      {kRegistered, [](EntrySpec* s) { s->type = fb::ContractType::unspecified; },
       "type: missing (unspecified)"},
      {kRegistered, [](EntrySpec* s) { s->type = Unknown<fb::ContractType>(6); },
       "type: unknown value 6"},
      {kRegistered, [](EntrySpec* s) { s->subtype = fb::ContractSubtype::patent_right; },
       "subtype: \"patent_right\" does not belong to type \"development\""},
      {kRegistered, [](EntrySpec* s) { s->subtype = fb::ContractSubtype::unspecified; },
       "subtype: \"unspecified\" does not belong to type \"development\""},
      {kRegistered, [](EntrySpec* s) { s->subtype = Unknown<fb::ContractSubtype>(12); },
       "subtype: unknown value 12"},
      {kRegistered, [](EntrySpec* s) { s->title.reset(); }, "title: missing"},
      {kRegistered, [](EntrySpec* s) { s->title = ""; }, "title: empty"},
      {kRegistered, [&](EntrySpec* s) { s->title = long_text; }, "title: longer than 512 bytes"},
      {kRegistered, [](EntrySpec* s) { s->title = "line\nbreak"; },
       "title: contains a control character"},
      {kRegistered, [](EntrySpec* s) { s->title = "\xC0\xAF"; }, "title: not valid UTF-8"},
      {kRegistered, [](EntrySpec* s) { s->title = "\xED\xA0\x80"; }, "title: not valid UTF-8"},
      {kRegistered, [](EntrySpec* s) { s->title = "\xE9\xAB"; }, "title: not valid UTF-8"},
      {kRegistered, [](EntrySpec* s) { s->title = "\xF4\x90\x80\x80"; }, "title: not valid UTF-8"},
      {kRegistered, [](EntrySpec* s) { s->field = fb::TechField::unspecified; },
       "field: missing (unspecified)"},
      {kRegistered, [](EntrySpec* s) { s->field = Unknown<fb::TechField>(13); },
       "field: unknown value 13"},
      {kRegistered, [](EntrySpec* s) { s->seller.reset(); }, "seller: missing"},
      {kRegistered, [](EntrySpec* s) { s->seller->name.reset(); }, "seller.name: missing"},
      {kRegistered, [](EntrySpec* s) { s->seller->name = ""; }, "seller.name: empty"},
      {kRegistered, [](EntrySpec* s) { s->seller->entity = fb::EntityType::unspecified; },
       "seller.entity: missing (unspecified)"},
      {kRegistered, [](EntrySpec* s) { s->seller->entity = Unknown<fb::EntityType>(10); },
       "seller.entity: unknown value 10"},
      {kRegistered, [](EntrySpec* s) { s->seller->region = 0; }, "seller.region: missing"},
      {kRegistered, [](EntrySpec* s) { s->seller->region = 63010; },
       "seller.region: want 6 digits"},
      {kRegistered, [](EntrySpec* s) { s->seller->region = 1000000; },
       "seller.region: want 6 digits"},
      {kRegistered, [](EntrySpec* s) { s->seller->region = 990100; },
       "seller.region: 990100 is not a GB/T 2260 code"},
      {kRegistered, [](EntrySpec* s) { s->seller->region = 160000; },
       "seller.region: 160000 is not a GB/T 2260 code"},
      {kRegistered, [](EntrySpec* s) { s->buyer.reset(); }, "buyer: missing"},
      {kRegistered, [](EntrySpec* s) { s->buyer->region = 240100; },
       "buyer.region: 240100 is not a GB/T 2260 code"},
      {kRegistered, [](EntrySpec* s) { s->contract_fen = 0; }, "contract_amount: must be positive"},
      {kRegistered, [](EntrySpec* s) { s->contract_fen = -1; },
       "contract_amount: must be positive"},
      {kRegistered, [](EntrySpec* s) { s->tech_fen = -1; }, "tech_amount: must not be negative"},
      {kRegistered, [](EntrySpec* s) { s->tech_fen = s->contract_fen + 1; },
       "tech_amount: 1250000.01 is more than contract_amount 1250000.00"},
      {kRegistered, [](EntrySpec* s) { s->date = Day("1989-12-31"); },
       "signed_on: 1989-12-31 outside 1990-01-01..2100-12-31"},
      {kRegistered, [](EntrySpec* s) { s->date = Day("2101-01-01"); }, "signed_on: 2101-01-01"},
      {kRegistered, [](EntrySpec* s) { s->date = 0; }, "signed_on: 1970-01-01"},
      {kRegistered, [](EntrySpec* s) { s->ip_types = {fb::IpType::unspecified}; },
       "ip_types[0]: missing (unspecified)"},
      {kRegistered, [](EntrySpec* s) { s->ip_types.push_back(Unknown<fb::IpType>(9)); },
       "ip_types[1]: unknown value 9"},
      {kRegistered, [](EntrySpec* s) { s->ip_types.push_back(fb::IpType::invention_patent); },
       "ip_types[1]: duplicate \"invention_patent\""},
      {kRegistered, [](EntrySpec* s) { s->ip_types.assign(9, fb::IpType::other); },
       "ip_types: more than 8 items"},
      {kRegistered, [](EntrySpec* s) { s->matchmaking_id = ""; }, "matchmaking_id: empty"},
      {kRegistered, [](EntrySpec* s) { s->matchmaking_id = "XN/WH"; }, "matchmaking_id: byte 0x2F"},
      // ContractAmended.
      {kAmended, [](EntrySpec* s) { s->contract_id.reset(); }, "contract_id: missing"},
      {kAmended, [](EntrySpec* s) { s->contract_fen = 0; }, "contract_amount: must be positive"},
      {kAmended, [](EntrySpec* s) { s->tech_fen = -5; }, "tech_amount: must not be negative"},
      {kAmended, [](EntrySpec* s) { s->tech_fen = s->contract_fen + 100; },
       "tech_amount: 1250001.00 is more than contract_amount"},
      {kAmended, [](EntrySpec* s) { s->reason.reset(); }, "reason: missing"},
      {kAmended, [](EntrySpec* s) { s->reason = ""; }, "reason: empty"},
      {kAmended, [](EntrySpec* s) { s->date = Day("1989-12-31"); }, "amended_on: 1989-12-31"},
      // ContractTerminated.
      {kTerminated, [](EntrySpec* s) { s->contract_id = "a/b"; }, "contract_id: byte 0x2F"},
      {kTerminated, [](EntrySpec* s) { s->reason.reset(); }, "reason: missing"},
      {kTerminated, [](EntrySpec* s) { s->date = Day("2101-01-01"); }, "terminated_on: 2101-01-01"},
      // PaymentReceived.
      {kPayment, [](EntrySpec* s) { s->contract_id = ""; }, "contract_id: empty"},
      {kPayment, [](EntrySpec* s) { s->amount_fen = 0; }, "amount: must be positive, got 0.00"},
      {kPayment, [](EntrySpec* s) { s->amount_fen = -5; }, "amount: must be positive, got -0.05"},
      {kPayment, [](EntrySpec* s) { s->date = Day("1989-01-01"); }, "paid_on: 1989-01-01"},
      // TransferDealSigned.
      {kDeal, [](EntrySpec* s) { s->deal_id.reset(); }, "deal_id: missing"},
      {kDeal, [](EntrySpec* s) { s->deal_id = "D 1"; }, "deal_id: byte 0x20"},
      {kDeal, [](EntrySpec* s) { s->achievement_title = ""; }, "achievement_title: empty"},
      {kDeal, [](EntrySpec* s) { s->mode = fb::DealMode::unspecified; },
       "mode: missing (unspecified)"},
      {kDeal, [](EntrySpec* s) { s->mode = Unknown<fb::DealMode>(6); }, "mode: unknown value 6"},
      {kDeal, [](EntrySpec* s) { s->institution.reset(); }, "institution: missing"},
      {kDeal, [](EntrySpec* s) { s->institution->region = 720000; },
       "institution.region: 720000 is not a GB/T 2260 code"},
      {kDeal, [](EntrySpec* s) { s->enterprise->name = ""; }, "enterprise.name: empty"},
      {kDeal, [](EntrySpec* s) { s->enterprise->entity = fb::EntityType::unspecified; },
       "enterprise.entity: missing (unspecified)"},
      {kDeal, [](EntrySpec* s) { s->amount_fen = 0; }, "amount: must be positive"},
      {kDeal, [](EntrySpec* s) { s->date = Day("1989-12-31"); }, "signed_on: 1989-12-31"},
      {kDeal, [](EntrySpec* s) { s->matchmaking_id = "a b"; }, "matchmaking_id: byte 0x20"},
      // MatchmakingHeld.
      {kMatchmaking, [](EntrySpec* s) { s->matchmaking_id.reset(); }, "matchmaking_id: missing"},
      {kMatchmaking, [](EntrySpec* s) { s->name.reset(); }, "name: missing"},
      {kMatchmaking, [](EntrySpec* s) { s->kind = fb::MatchmakingKind::unspecified; },
       "kind: missing (unspecified)"},
      {kMatchmaking, [](EntrySpec* s) { s->kind = Unknown<fb::MatchmakingKind>(3); },
       "kind: unknown value 3"},
      {kMatchmaking, [](EntrySpec* s) { s->markets.reset(); }, "markets: want at least one market"},
      {kMatchmaking, [](EntrySpec* s) { s->markets->clear(); },
       "markets: want at least one market"},
      {kMatchmaking, [](EntrySpec* s) { s->markets->push_back(""); }, "markets[2]: empty"},
      {kMatchmaking, [](EntrySpec* s) { (*s->markets)[1] = "wu han"; }, "markets[1]: byte 0x20"},
      {kMatchmaking, [](EntrySpec* s) { s->markets->push_back("xining"); },
       "markets[2]: duplicate \"xining\""},
      {kMatchmaking,
       [](EntrySpec* s) {
         s->markets->clear();
         for (size_t i = 0; i <= kMarketsCountMax; ++i) s->markets->push_back(std::to_string(i));
       },
       "markets: more than 64 markets"},
      {kMatchmaking, [](EntrySpec* s) { s->date = Day("2101-01-01"); }, "held_on: 2101-01-01"},
  };
  for (size_t i = 0; i < std::size(rules); ++i) {
    const Rule& rule = rules[i];
    EntrySpec spec = Valid(rule.event);
    rule.change(&spec);
    Status status = Validate(spec);
    ASSERT_FALSE(status.ok()) << "rule " << i << " (" << rule.message << ") accepted";
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(status.message().rfind(rule.message, 0), 0u)
        << "rule " << i << ": got \"" << status.message() << "\", want \"" << rule.message << "\"";
  }
}

// Entries that arrive as JSON meet the same rules: a change to the DESIGN.md
// example that the JSON form can express is refused by validation, naming
// the field.
TEST(ValidateTest, RulesApplyToEntriesFromJson) {
  using Json = nlohmann::json;
  const Json example = Json::parse(R"({"event":"ContractRegistered",
      "contract_id":"XN-2021-0001","registration_no":"2021630100000001","type":"development",
      "subtype":"commissioned","title":"高原特色生物资源提取工艺","field":"biomedicine",
      "seller":{"name":"青海大学","entity":"university","region":"630100"},
      "buyer":{"name":"某生物科技有限公司","entity":"enterprise","region":"630100"},
      "contract_amount":"1250000.00","tech_amount":"1000000.00",
      "signed_on":"2021-09-28","matchmaking_id":"XN-WH-2021"})");
  struct Case {
    const char* pointer;
    Json value;
    const char* message;
  };
  const Case cases[] = {
      {"/contract_amount", "0.00", "contract_amount: must be positive"},
      {"/tech_amount", "1250000.01", "tech_amount: 1250000.01 is more than contract_amount"},
      {"/type", "unspecified", "type: missing (unspecified)"},
      {"/subtype", "training", "subtype: \"training\" does not belong to type \"development\""},
      {"/field", "unspecified", "field: missing (unspecified)"},
      {"/seller/entity", "unspecified", "seller.entity: missing (unspecified)"},
      {"/buyer/region", "990100", "buyer.region: 990100 is not a GB/T 2260 code"},
      {"/buyer/region", "000000", "buyer.region: missing"},
      {"/signed_on", "1989-12-31", "signed_on: 1989-12-31 outside"},
      {"/contract_id", "XN/2021", "contract_id: byte 0x2F"},
      {"/registration_no", "2021 63", "registration_no: byte 0x20"},
      {"/title", "tab\there", "title: contains a control character"},
      {"/ip_types", Json::array({"unspecified"}), "ip_types[0]: missing (unspecified)"},
      {"/ip_types", Json::array({"other", "other"}), "ip_types[1]: duplicate \"other\""},
      {"/actor", "clerk\x07", "actor: contains a control character"},
  };
  for (const Case& c : cases) {
    Json input = example;
    input[Json::json_pointer(c.pointer)] = c.value;
    StatusOr<std::string> bytes = EntryFromJson(input.dump(), JsonOptions());
    ASSERT_TRUE(bytes.ok()) << c.pointer << ": " << bytes.status().ToString();
    Status status = ValidateEntry(*VerifiedEntry(*bytes).value());
    ASSERT_FALSE(status.ok()) << c.pointer << " = " << c.value << " accepted";
    EXPECT_EQ(status.message().rfind(c.message, 0), 0u)
        << c.pointer << ": got \"" << status.message() << "\", want \"" << c.message << "\"";
  }
  StatusOr<std::string> bytes = EntryFromJson(example.dump(), JsonOptions());
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(ValidateEntry(*VerifiedEntry(*bytes).value()).ok());
}

// Values at the edges of each rule are accepted: the rules are no stricter
// than documented.
TEST(ValidateTest, BoundaryValuesAreAccepted) {
  const Rule accepted[] = {
      {Event::ContractRegistered, [](EntrySpec* s) { s->tech_fen = 0; }, ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->tech_fen = s->contract_fen; }, ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->contract_fen = INT64_MAX; }, ""},
      {Event::ContractAmended, [](EntrySpec* s) { s->tech_fen = 0; }, ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->date = Day("1990-01-01"); }, ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->date = Day("2100-12-31"); }, ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->contract_id = std::string(128, '~'); }, ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->title = std::string(512, 'x'); }, ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->title = "𝄞 emoji 🚀 ok"; }, ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->matchmaking_id.reset(); }, ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->ip_types.clear(); }, ""},
      {Event::ContractRegistered,
       [](EntrySpec* s) {
         s->ip_types.clear();
         for (int t = 1; t <= 8; ++t) s->ip_types.push_back(static_cast<fb::IpType>(t));
       },
       ""},
      {Event::ContractRegistered, [](EntrySpec* s) { s->actor.reset(); }, ""},
      {Event::ContractRegistered,
       [](EntrySpec* s) {
         s->seller = Party("台湾某大学", fb::EntityType::university, 710000);
         s->buyer = Party("澳门某公司", fb::EntityType::enterprise, 820000);
       },
       ""},
      {Event::ContractRegistered,
       [](EntrySpec* s) {
         s->seller = Party("北京某所", fb::EntityType::research_institute, 110000);
         s->buyer = Party("新疆某公司", fb::EntityType::other, 659001);
       },
       ""},
      {Event::TransferDealSigned, [](EntrySpec* s) { s->matchmaking_id.reset(); }, ""},
      {Event::MatchmakingHeld,
       [](EntrySpec* s) {
         s->markets->clear();
         for (size_t i = 0; i < kMarketsCountMax; ++i) s->markets->push_back(std::to_string(i));
       },
       ""},
  };
  for (size_t i = 0; i < std::size(accepted); ++i) {
    EntrySpec spec = Valid(accepted[i].event);
    accepted[i].change(&spec);
    Status status = Validate(spec);
    EXPECT_TRUE(status.ok()) << "case " << i << ": " << status.ToString();
  }
}

// Exactly the documented subtypes belong to each contract type.
TEST(ValidateTest, SubtypeMatrix) {
  using T = fb::ContractType;
  using S = fb::ContractSubtype;
  const std::vector<std::pair<T, std::set<S>>> allowed = {
      {T::development, {S::commissioned, S::cooperative}},
      {T::transfer, {S::patent_right, S::patent_application, S::trade_secret, S::other}},
      {T::licensing, {S::patent_license, S::trade_secret_license, S::other}},
      {T::consulting, {S::unspecified, S::other}},
      {T::service, {S::general, S::training, S::intermediary}},
  };
  for (const auto& [type, subtypes] : allowed) {
    for (int value = 0; value <= static_cast<int>(S::MAX); ++value) {
      EntrySpec spec;
      spec.type = type;
      spec.subtype = static_cast<S>(value);
      Status status = Validate(spec);
      bool want_ok = subtypes.count(spec.subtype) > 0;
      EXPECT_EQ(status.ok(), want_ok)
          << fb::EnumNameContractType(type) << "/" << fb::EnumNameContractSubtype(spec.subtype)
          << ": " << status.ToString();
      if (!want_ok) {
        EXPECT_EQ(status.message().rfind("subtype: ", 0), 0u);
      }
    }
  }
}

// Exactly the GB/T 2260 province-level prefixes are accepted in regions.
TEST(ValidateTest, ProvincePrefixes) {
  const std::set<int> provinces = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34,
                                   35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
                                   53, 54, 61, 62, 63, 64, 65, 71, 81, 82};
  for (int prefix = 10; prefix <= 99; ++prefix) {
    EntrySpec spec;
    spec.buyer->region = static_cast<uint32_t>(prefix * 10000 + 100);
    Status status = Validate(spec);
    EXPECT_EQ(status.ok(), provinces.count(prefix) > 0) << prefix << ": " << status.ToString();
  }
}

// The strict UTF-8 check accepts all of Unicode and nothing else.
TEST(ValidateTest, Utf8Check) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii"));
  EXPECT_TRUE(IsValidUtf8("青海大学"));
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_TRUE(IsValidUtf8("\xEF\xBB\xBF"));      // U+FEFF
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xE9\xAB"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xE9\x41\x41"));      // bad continuation
  EXPECT_FALSE(IsValidUtf8("\xC7\xE0\xBA\xA3"));  // "青海" in GBK
}

}  // namespace
}  // namespace ledger
