#include "ledger/entry_json.h"

#include <flatbuffers/idl.h>
#include <flatbuffers/util.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "ledger/limits.h"
#include "ledger/validate.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

namespace fbs = flatbuffers;
using Json = nlohmann::json;

// The example of DESIGN.md section 2, verbatim.
constexpr const char* kDesignExample =
    R"({"event":"ContractRegistered","contract_id":"XN-2021-0001",
 "registration_no":"2021630100000001","type":"development",
 "subtype":"commissioned","title":"高原特色生物资源提取工艺","field":"biomedicine",
 "seller":{"name":"青海大学","entity":"university","region":"630100"},
 "buyer":{"name":"某生物科技有限公司","entity":"enterprise","region":"630100"},
 "contract_amount":"1250000.00","tech_amount":"1000000.00",
 "signed_on":"2021-09-28","matchmaking_id":"XN-WH-2021"})";

// 2021-09-28, counted by hand: 51 years of 365 days, 12 leap days, 270 days.
constexpr int32_t kSignedOnDays = 18898;

// One entry of every event kind, with every optional member present, as
// EntryToJson writes them (recorded_at_ms included).
const char* const kEveryEvent[] = {
    R"({"event":"ContractRegistered","contract_id":"XN-2021-0001",
        "registration_no":"2021630100000001","type":"transfer","subtype":"patent_right",
        "title":"高原特色生物资源提取工艺","field":"biomedicine",
        "seller":{"name":"青海大学","entity":"university","region":"630100"},
        "buyer":{"name":"某生物科技有限公司","entity":"enterprise","region":"610100"},
        "contract_amount":"1250000.00","tech_amount":"1000000.50","signed_on":"2021-09-28",
        "ip_types":["invention_patent","technical_secret"],"matchmaking_id":"XN-WH-2021",
        "request_id":"00112233445566778899aabbccddeeff","actor":"clerk-07",
        "recorded_at_ms":1632800000123})",
    R"({"event":"ContractAmended","contract_id":"XN-2021-0001","contract_amount":"1300000.00",
        "tech_amount":"0.00","reason":"补充协议增加设备","amended_on":"2022-01-05",
        "request_id":"0102030405060708090a0b0c0d0e0f10","actor":"clerk-07",
        "recorded_at_ms":1641340800000})",
    R"({"event":"ContractTerminated","contract_id":"XN-2021-0001","reason":"双方协商解除",
        "terminated_on":"2022-06-30","request_id":"ffeeddccbbaa99887766554433221100",
        "actor":"system","recorded_at_ms":1656547200000})",
    R"({"event":"PaymentReceived","contract_id":"XN-2021-0001","amount":"0.01",
        "paid_on":"2021-12-31","request_id":"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
        "actor":"clerk-07","recorded_at_ms":1640908800000})",
    R"({"event":"TransferDealSigned","deal_id":"LZ-ZH-2022-17","achievement_title":"旱作农业节水技术",
        "mode":"self_commercialization",
        "institution":{"name":"兰州大学","entity":"university","region":"620100"},
        "enterprise":{"name":"甘肃某农业公司","entity":"enterprise","region":"620500"},
        "amount":"92233720368547758.07","signed_on":"2022-03-15","matchmaking_id":"LZ-2022",
        "request_id":"101112131415161718191a1b1c1d1e1f","actor":"clerk-11",
        "recorded_at_ms":0})",
    R"({"event":"MatchmakingHeld","matchmaking_id":"XN-WH-2021","name":"青海—武汉技术对接会",
        "kind":"innovation_challenge","markets":["xining","wuhan","shanghai-pudong"],
        "held_on":"2021-06-18","request_id":"202122232425262728292a2b2c2d2e2f",
        "actor":"system","recorded_at_ms":-5})",
};

StatusOr<std::string> FromJson(const std::string& text, bool accept_recorded_at = true) {
  JsonOptions options;
  options.recorded_at_ms = 1632800000000;
  options.accept_recorded_at = accept_recorded_at;
  return EntryFromJson(text, options);
}

const fb::Entry& Root(const std::string& bytes) {
  StatusOr<const fb::Entry*> entry = VerifiedEntry(bytes);
  EXPECT_TRUE(entry.ok()) << entry.status().ToString();
  return **entry;
}

// The Entry schema loaded at run time, so that entries can be compared field
// by field by FlatBuffers' own text generator, independently of entry_json.
class SchemaText {
 public:
  SchemaText() {
    std::string path = std::string(__FILE__);
    path = path.substr(0, path.rfind("/tests/")) + "/schemas/entry.fbs";
    std::string schema;
    loaded_ = fbs::LoadFile(path.c_str(), false, &schema) && parser_.Parse(schema.c_str());
    EXPECT_TRUE(loaded_) << "cannot load " << path << ": " << parser_.error_;
  }
  std::string Of(const std::string& bytes) {
    std::string text;
    EXPECT_TRUE(loaded_ && fbs::GenerateText(parser_, bytes.data(), &text));
    return text;
  }

 private:
  fbs::Parser parser_;
  bool loaded_ = false;
};

// The DESIGN.md example parses to the field values it shows.
TEST(EntryJsonTest, DesignExampleParsesToExpectedFields) {
  JsonOptions options;
  options.recorded_at_ms = 1632800000000;
  options.default_actor = "clerk-01";
  StatusOr<std::string> bytes = EntryFromJson(kDesignExample, options);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  const fb::Entry& entry = Root(*bytes);
  ASSERT_EQ(entry.body_type(), fb::Event::ContractRegistered);
  const fb::ContractRegistered& event = *entry.body_as_ContractRegistered();
  EXPECT_EQ(event.contract_id()->str(), "XN-2021-0001");
  EXPECT_EQ(event.registration_no()->str(), "2021630100000001");
  EXPECT_EQ(event.type(), fb::ContractType::development);
  EXPECT_EQ(event.subtype(), fb::ContractSubtype::commissioned);
  EXPECT_EQ(event.title()->str(), "高原特色生物资源提取工艺");
  EXPECT_EQ(event.field(), fb::TechField::biomedicine);
  EXPECT_EQ(event.seller()->name()->str(), "青海大学");
  EXPECT_EQ(event.seller()->entity(), fb::EntityType::university);
  EXPECT_EQ(event.seller()->region(), 630100u);
  EXPECT_EQ(event.buyer()->name()->str(), "某生物科技有限公司");
  EXPECT_EQ(event.buyer()->entity(), fb::EntityType::enterprise);
  EXPECT_EQ(event.buyer()->region(), 630100u);
  EXPECT_EQ(event.contract_amount_fen(), 125000000);
  EXPECT_EQ(event.tech_amount_fen(), 100000000);
  EXPECT_EQ(event.signed_on(), kSignedOnDays);
  EXPECT_EQ(event.ip_types(), nullptr);
  EXPECT_EQ(event.matchmaking_id()->str(), "XN-WH-2021");
  EXPECT_EQ(entry.recorded_at_ms(), 1632800000000);
  EXPECT_EQ(entry.actor()->str(), "clerk-01");
  ASSERT_NE(entry.request_id(), nullptr);
  EXPECT_EQ(entry.request_id()->size(), 16u);
  EXPECT_TRUE(fb::EntryBufferHasIdentifier(bytes->data()));
  EXPECT_TRUE(ValidateEntry(entry).ok()) << ValidateEntry(entry).ToString();
}

// JSON -> FlatBuffers -> JSON gives back the same JSON for every event kind.
TEST(EntryJsonTest, JsonRoundTripOfEveryEvent) {
  std::set<fb::Event> seen;
  for (const char* text : kEveryEvent) {
    StatusOr<std::string> bytes = FromJson(text);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString() << "\n" << text;
    EXPECT_TRUE(ValidateEntry(Root(*bytes)).ok()) << ValidateEntry(Root(*bytes)).ToString();
    seen.insert(Root(*bytes).body_type());
    StatusOr<std::string> json = EntryToJson(*bytes);
    ASSERT_TRUE(json.ok()) << json.status().ToString();
    EXPECT_EQ(json->find('\n'), std::string::npos);
    EXPECT_EQ(Json::parse(*json), Json::parse(text)) << *json;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(fb::Event::MAX));
}

// Output lists members in a stable order: event, schema order, request_id,
// actor, recorded_at_ms; and money always has two decimals.
TEST(EntryJsonTest, OutputOrderIsStable) {
  JsonOptions options;
  options.recorded_at_ms = 7;
  options.default_actor = "clerk-01";
  Json input = Json::parse(kDesignExample);
  input["contract_amount"] = "1250000";
  input["request_id"] = "00112233445566778899aabbccddeeff";
  StatusOr<std::string> bytes = EntryFromJson(input.dump(), options);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  StatusOr<std::string> json = EntryToJson(*bytes);
  ASSERT_TRUE(json.ok());
  std::vector<std::string> keys;
  nlohmann::ordered_json output = nlohmann::ordered_json::parse(*json);
  for (auto it = output.begin(); it != output.end(); ++it) keys.push_back(it.key());
  const std::vector<std::string> expected = {
      "event",          "contract_id",     "registration_no", "type",
      "subtype",        "title",           "field",           "seller",
      "buyer",          "contract_amount", "tech_amount",     "signed_on",
      "matchmaking_id", "request_id",      "actor",           "recorded_at_ms"};
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(output["contract_amount"], "1250000.00");
  EXPECT_EQ(output["recorded_at_ms"], 7);
  // Compact: no spaces between members.
  EXPECT_EQ(json->rfind(R"({"event":"ContractRegistered","contract_id":"XN-2021-0001",)", 0), 0u);
}

fbs::Offset<fb::Party> MakeParty(fbs::FlatBufferBuilder& b, const char* name, fb::EntityType entity,
                                 uint32_t region) {
  return fb::CreatePartyDirect(b, name, entity, region);
}

std::string Finish(fbs::FlatBufferBuilder& b, fb::Event type, fbs::Offset<void> body,
                   int64_t recorded_at_ms, uint8_t request_id_seed, const char* actor) {
  std::vector<uint8_t> request_id(16);
  for (size_t i = 0; i < request_id.size(); ++i) request_id[i] = uint8_t(request_id_seed + i * 7);
  auto root = fb::CreateEntryDirect(b, type, body, recorded_at_ms, &request_id, actor);
  fb::FinishEntryBuffer(b, root);
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

// One directly built Entry of every kind, with unusual but representable
// values (a consulting contract without subtype, tech amount 0, negative
// time, no actor).
std::vector<std::string> EveryEventBuiltDirectly() {
  std::vector<std::string> entries;
  {
    fbs::FlatBufferBuilder b;
    std::vector<fb::IpType> ip_types = {fb::IpType::software_copyright, fb::IpType::ic_layout};
    auto seller = MakeParty(b, "西安交通大学", fb::EntityType::university, 610100);
    auto buyer = MakeParty(b, "Ningbo Widget Co.", fb::EntityType::enterprise, 330200);
    auto body = fb::CreateContractRegisteredDirect(
        b, "XA-2023-0042", "2023610100000042", fb::ContractType::consulting,
        fb::ContractSubtype::unspecified, "咨询: \"quotes\", commas, and \\ backslashes",
        fb::TechField::urban_social, seller, buyer, 1, 0, 19500, &ip_types, nullptr);
    entries.push_back(
        Finish(b, fb::Event::ContractRegistered, body.Union(), 1700000000000, 1, "clerk-02"));
  }
  {
    fbs::FlatBufferBuilder b;
    auto body = fb::CreateContractAmendedDirect(b, "XA-2023-0042", 250000, 120000, "变更", 19600);
    entries.push_back(Finish(b, fb::Event::ContractAmended, body.Union(), -1, 2, nullptr));
  }
  {
    fbs::FlatBufferBuilder b;
    auto body = fb::CreateContractTerminatedDirect(b, "XA-2023-0042", "终止", 19700);
    entries.push_back(Finish(b, fb::Event::ContractTerminated, body.Union(), 3, 3, "a"));
  }
  {
    fbs::FlatBufferBuilder b;
    auto body = fb::CreatePaymentReceivedDirect(b, "XA-2023-0042", INT64_MAX, 7305);
    entries.push_back(Finish(b, fb::Event::PaymentReceived, body.Union(), INT64_MAX, 4, "b"));
  }
  {
    fbs::FlatBufferBuilder b;
    auto institution =
        MakeParty(b, "中国科学院某研究所", fb::EntityType::research_institute, 110000);
    auto enterprise = MakeParty(b, "某公司", fb::EntityType::individual, 820000);
    auto body = fb::CreateTransferDealSignedDirect(b, "D-1", "成果", fb::DealMode::equity,
                                                   institution, enterprise, 5, 47846, "LY-2023");
    entries.push_back(Finish(b, fb::Event::TransferDealSigned, body.Union(), INT64_MIN, 5, "c"));
  }
  {
    fbs::FlatBufferBuilder b;
    std::vector<std::string> market_names = {"luoyang", "yuncheng"};
    auto markets = b.CreateVectorOfStrings(market_names);
    auto body = fb::CreateMatchmakingHeld(b, b.CreateString("M-9"), b.CreateString("挑战赛"),
                                          fb::MatchmakingKind::matchmaking, markets, 7306);
    entries.push_back(Finish(b, fb::Event::MatchmakingHeld, body.Union(), 6, 6, "d"));
  }
  return entries;
}

// FlatBuffers -> JSON -> FlatBuffers gives an Entry with equal fields, as
// FlatBuffers' own schema-driven text generator sees them.
TEST(EntryJsonTest, FlatBuffersRoundTripKeepsEveryField) {
  SchemaText schema;
  std::set<fb::Event> seen;
  for (const std::string& original : EveryEventBuiltDirectly()) {
    seen.insert(Root(original).body_type());
    StatusOr<std::string> json = EntryToJson(original);
    ASSERT_TRUE(json.ok()) << json.status().ToString();
    StatusOr<std::string> rebuilt = FromJson(*json);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString() << "\n" << *json;
    std::string original_text = schema.Of(original);
    EXPECT_NE(original_text.find("request_id"), std::string::npos) << original_text;
    EXPECT_EQ(schema.Of(*rebuilt), original_text) << *json;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(fb::Event::MAX));
}

// Without "request_id" each entry gets 16 fresh random bytes.
TEST(EntryJsonTest, MissingRequestIdIsRandom) {
  StatusOr<std::string> first = FromJson(kDesignExample);
  StatusOr<std::string> second = FromJson(kDesignExample);
  ASSERT_TRUE(first.ok() && second.ok());
  const auto* first_id = Root(*first).request_id();
  const auto* second_id = Root(*second).request_id();
  ASSERT_EQ(first_id->size(), 16u);
  ASSERT_EQ(second_id->size(), 16u);
  EXPECT_NE(std::string(first_id->begin(), first_id->end()),
            std::string(second_id->begin(), second_id->end()));
}

// The node's clock is used unless round trips are allowed to carry their own
// recorded_at_ms; the JSON actor wins over the default.
TEST(EntryJsonTest, RecordedAtAndActorOptions) {
  Json input = Json::parse(kDesignExample);
  input["actor"] = "clerk-09";
  JsonOptions options;
  options.recorded_at_ms = 42;
  options.default_actor = "default";
  StatusOr<std::string> bytes = EntryFromJson(input.dump(), options);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(Root(*bytes).recorded_at_ms(), 42);
  EXPECT_EQ(Root(*bytes).actor()->str(), "clerk-09");

  input["recorded_at_ms"] = 99;
  StatusOr<std::string> refused = EntryFromJson(input.dump(), options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message().rfind("recorded_at_ms: ", 0), 0u);
  options.accept_recorded_at = true;
  bytes = EntryFromJson(input.dump(), options);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(Root(*bytes).recorded_at_ms(), 99);

  input["recorded_at_ms"] = 1.5;
  EXPECT_FALSE(EntryFromJson(input.dump(), options).ok());
  input["recorded_at_ms"] = 18446744073709551615u;
  EXPECT_FALSE(EntryFromJson(input.dump(), options).ok());

  input.erase("actor");
  input.erase("recorded_at_ms");
  options.default_actor.clear();
  bytes = EntryFromJson(input.dump(), options);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(Root(*bytes).actor(), nullptr);
}

struct BadJson {
  const char* pointer;  // JSON pointer of the member to change
  Json value;           // new value; discarded means "remove the member"
  const char* message;  // expected start of the error message
};

// Each change to a valid entry is refused with a message naming the field.
TEST(EntryJsonTest, BadMembersAreNamed) {
  const Json removed = Json(Json::value_t::discarded);
  const BadJson cases[] = {
      {"/event", removed, "event: missing"},
      {"/event", "Foo", "event: unknown value \"Foo\""},
      {"/event", "NONE", "event: unknown value \"NONE\""},
      {"/event", 1, "event: want a string"},
      {"/colour", "red", "unknown field \"colour\""},
      {"/reason", "x", "unknown field \"reason\""},
      {"/seller/colour", "red", "seller: unknown field \"colour\""},
      {"/seller/region", "63010", "seller.region: want 6 digits"},
      {"/seller/region", "6301000", "seller.region: want 6 digits"},
      {"/seller/region", "63O100", "seller.region: want 6 digits"},
      {"/seller/region", 630100, "seller.region: want a string"},
      {"/seller/entity", "company", "seller.entity: unknown value \"company\""},
      {"/seller/name", removed, "seller.name: missing"},
      {"/seller", "青海大学", "seller: want an object"},
      {"/buyer", removed, "buyer: missing"},
      {"/contract_amount", "1.234", "contract_amount: more than two decimals"},
      {"/contract_amount", "-5.00", "contract_amount: sign not allowed"},
      {"/contract_amount", 1250000, "contract_amount: want a decimal string"},
      {"/tech_amount", removed, "tech_amount: missing"},
      {"/type", "foo", "type: unknown value \"foo\""},
      {"/type", "", "type: empty"},
      {"/subtype", "bar", "subtype: unknown value \"bar\""},
      {"/field", "Biomedicine", "field: unknown value \"Biomedicine\""},
      {"/signed_on", "2021-02-29", "signed_on: no such day"},
      {"/signed_on", "2021-9-28", "signed_on: want a date YYYY-MM-DD"},
      {"/signed_on", 18898, "signed_on: want a date string"},
      {"/title", "", "title: empty"},
      {"/title", nullptr, "title: want a string"},
      {"/title", removed, "title: missing"},
      {"/title", std::string(kTextBytesMax + 1, 'x'), "title: longer than 512 bytes"},
      {"/contract_id", std::string(kIdBytesMax + 1, 'x'), "contract_id: longer than 128 bytes"},
      {"/matchmaking_id", "", "matchmaking_id: empty"},
      {"/ip_types", "invention_patent", "ip_types: want an array"},
      {"/ip_types", Json::array({"invention_patent", "x"}), "ip_types[1]: unknown value \"x\""},
      {"/ip_types", Json::array({1}), "ip_types[0]: want a string"},
      {"/ip_types", Json(std::vector<std::string>(9, "other")), "ip_types: more than 8 items"},
      {"/request_id", "abc", "request_id: want 32 hex digits"},
      {"/request_id", "00112233445566778899aabbccddeefg", "request_id: want 32 hex digits"},
      {"/request_id", "00112233445566778899aabbccddeeff00", "request_id: longer than 32 bytes"},
      {"/actor", "", "actor: empty"},
      {"/actor", 5, "actor: want a string"},
      {"/recorded_at_ms", 5, "recorded_at_ms: set by the node"},
  };
  for (const BadJson& c : cases) {
    Json input = Json::parse(kDesignExample);
    Json::json_pointer pointer(c.pointer);
    if (c.value.is_discarded()) {
      input[pointer.parent_pointer()].erase(pointer.back());
    } else {
      input[pointer] = c.value;
    }
    StatusOr<std::string> bytes = FromJson(input.dump(), /*accept_recorded_at=*/false);
    ASSERT_FALSE(bytes.ok()) << "accepted " << c.pointer << " = " << c.value;
    EXPECT_EQ(bytes.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(bytes.status().message().rfind(c.message, 0), 0u)
        << c.pointer << ": got \"" << bytes.status().message() << "\", want \"" << c.message
        << "\"";
  }
}

// The other events name their own fields too.
TEST(EntryJsonTest, BadMembersOfOtherEventsAreNamed) {
  struct Case {
    size_t event_index;
    const char* pointer;
    Json value;
    const char* message;
  };
  const Case cases[] = {
      {1, "/amended_on", "2022-02-30", "amended_on: no such day"},
      {1, "/title", "x", "unknown field \"title\""},
      {2, "/terminated_on", "", "terminated_on: want a date YYYY-MM-DD"},
      {3, "/amount", "1.001", "amount: more than two decimals"},
      {4, "/mode", "licence", "mode: unknown value \"licence\""},
      {4, "/institution/region", "62010", "institution.region: want 6 digits"},
      {4, "/enterprise/phone", "1", "enterprise: unknown field \"phone\""},
      {5, "/markets", "xining", "markets: want an array"},
      {5, "/markets/1", "", "markets[1]: empty"},
      {5, "/markets/0", 3, "markets[0]: want a string"},
      {5, "/kind", "fair", "kind: unknown value \"fair\""},
  };
  for (const Case& c : cases) {
    Json input = Json::parse(kEveryEvent[c.event_index]);
    input[Json::json_pointer(c.pointer)] = c.value;
    StatusOr<std::string> bytes = FromJson(input.dump());
    ASSERT_FALSE(bytes.ok()) << "accepted " << c.pointer << " = " << c.value;
    EXPECT_EQ(bytes.status().message().rfind(c.message, 0), 0u)
        << c.pointer << ": got \"" << bytes.status().message() << "\"";
  }
}

// Text that is not one well-formed JSON object of sane size is refused, and
// so are duplicate keys, which a plain parser would silently resolve.
TEST(EntryJsonTest, BadTextIsRefused) {
  std::string example(kDesignExample);
  std::string body = example.substr(1);  // Everything after the opening brace.
  struct Case {
    std::string text;
    const char* message;
  };
  const Case cases[] = {
      {R"({"event":"ContractAmended",)" + body, "event: duplicate key"},
      {R"({"seller":{"name":"a","name":"b","entity":"university","region":"630100"},)" + body,
       "seller.name: duplicate key"},
      {"", "json: "},
      {"[1]", "json: want an object"},
      {"\"ContractRegistered\"", "json: want an object"},
      {R"({"event":)", "json: "},
      {example + " x", "json: "},
      {example + "\n" + example, "json: "},
      {R"({"event":"ContractRegistered","title":"\xE9\xAB"})", "json: "},
      {R"({"event":"ContractRegistered","seller":{"name":{"a":{}}}})", "json: nested"},
      {R"({"event":"ContractRegistered","ip_types":[[[]]]})", "json: nested"},
      {R"({"event":"ContractRegistered","title":")" + std::string(kJsonTextBytesMax, 'x') + "\"}",
       "json: longer than"},
  };
  for (const Case& c : cases) {
    StatusOr<std::string> bytes = FromJson(c.text);
    ASSERT_FALSE(bytes.ok()) << "accepted " << c.text.substr(0, 80);
    EXPECT_EQ(bytes.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(bytes.status().message().rfind(c.message, 0), 0u)
        << c.text.substr(0, 80) << ": got \"" << bytes.status().message() << "\"";
  }
}

// Corrupt, truncated or foreign bytes are data loss, not a crash; unaligned
// bytes are refused by VerifiedEntry and copied by EntryToJson.
TEST(EntryJsonTest, VerifierGuardsStoredBytes) {
  StatusOr<std::string> bytes = FromJson(kEveryEvent[0]);
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(VerifiedEntry(*bytes).ok());

  std::string truncated = bytes->substr(0, bytes->size() / 2);
  EXPECT_EQ(VerifiedEntry(truncated).status().code(), Status::Code::kDataLoss);
  EXPECT_EQ(EntryToJson(truncated).status().code(), Status::Code::kDataLoss);
  std::string foreign = *bytes;
  foreign[4] = 'X';  // The file identifier follows the root offset.
  EXPECT_EQ(VerifiedEntry(foreign).status().code(), Status::Code::kDataLoss);
  EXPECT_EQ(VerifiedEntry(std::string()).status().code(), Status::Code::kDataLoss);
  std::string wild = *bytes;
  wild[0] = static_cast<char>(0xF0);  // Root offset far outside the buffer.
  EXPECT_EQ(EntryToJson(wild).status().code(), Status::Code::kDataLoss);
  EXPECT_EQ(VerifiedEntry(std::string(limits::kEntryBytesMax + 8, '\0')).status().code(),
            Status::Code::kDataLoss);

  std::string shifted = "x" + *bytes;
  std::string_view unaligned = std::string_view(shifted).substr(1);
  EXPECT_EQ(VerifiedEntry(unaligned).status().code(), Status::Code::kInvalidArgument);
  StatusOr<std::string> json = EntryToJson(unaligned);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(Json::parse(*json), Json::parse(kEveryEvent[0]));
}

// Enum values from a newer schema are shown as numbers rather than dropped.
TEST(EntryJsonTest, UnknownEnumValuesAreWrittenAsNumbers) {
  fbs::FlatBufferBuilder b;
  auto body = fb::CreateTransferDealSignedDirect(b, "D-1", "成果", static_cast<fb::DealMode>(42), 0,
                                                 0, 5, 47846, nullptr);
  std::vector<uint8_t> request_id(16, 1);
  fb::FinishEntryBuffer(b, fb::CreateEntryDirect(b, fb::Event::TransferDealSigned, body.Union(), 0,
                                                 &request_id, nullptr));
  std::string bytes(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  StatusOr<std::string> json = EntryToJson(bytes);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(Json::parse(*json)["mode"], 42) << *json;
  EXPECT_FALSE(FromJson(*json).ok());
}

}  // namespace
}  // namespace ledger
