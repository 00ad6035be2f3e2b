#include "tools/workload.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ledger/civil_date.h"
#include "ledger/money.h"

namespace ledger::tools {
namespace {

struct TypeInfo {
  const char* type;
  std::vector<const char*> subtypes;  // empty: no subtype
  int weight;
};
// Shares roughly as in provincial technology-contract statistics:
// development and service dominate, consulting is small.
const std::vector<TypeInfo> kTypes = {
    {"development", {"commissioned", "cooperative"}, 38},
    {"transfer", {"patent_right", "patent_application", "trade_secret", "other"}, 10},
    {"licensing", {"patent_license", "trade_secret_license", "other"}, 6},
    {"consulting", {}, 6},
    {"service", {"general", "training", "intermediary"}, 40},
};

const char* const kFields[] = {"electronic_information",
                               "aerospace",
                               "advanced_manufacturing",
                               "biomedicine",
                               "new_materials",
                               "new_energy",
                               "environment",
                               "nuclear",
                               "agriculture",
                               "modern_transport",
                               "urban_social",
                               "other"};
const int kFieldWeights[] = {22, 2, 14, 12, 12, 10, 8, 1, 8, 4, 5, 2};

const char* const kTitles[] = {"高原特色生物资源提取工艺", "盐湖卤水提锂吸附材料",
                               "光伏组件智能运维系统",     "牦牛乳制品保鲜技术",
                               "工业互联网平台开发",       "高寒地区路基冻融监测",
                               "中藏药质量标准研究",       "新能源储能电池管理系统",
                               "冷链物流追溯平台",         "生态修复植被恢复技术"};

struct PartyKind {
  const char* entity;
  std::vector<const char*> names;
};
const std::vector<PartyKind> kSellers = {
    {"university", {"青海大学", "西北工业大学", "兰州大学", "武汉大学", "南京大学"}},
    {"research_institute",
     {"中国科学院青海盐湖研究所", "中国科学院西北高原生物研究所", "青海省农林科学院"}},
    {"enterprise", {"青海某新能源科技有限公司", "某信息技术股份有限公司", "某智能装备有限公司"}},
    {"medical", {"青海省人民医院"}},
    {"individual", {"个人发明人"}},
};
const int kSellerWeights[] = {30, 25, 40, 3, 2};
const std::vector<PartyKind> kBuyers = {
    {"enterprise",
     {"青海某锂业股份有限公司", "某生物科技有限公司", "某能源集团有限公司", "某制药股份有限公司"}},
    {"public_institution", {"某市环境监测站"}},
    {"government", {"某县农业农村局"}},
    {"social_organization", {"某产业技术创新联盟"}},
};
const int kBuyerWeights[] = {85, 6, 6, 3};

// Partner markets' regions: Xi'an, Lanzhou, Wuhan, Nanjing, Pudong, Ningbo,
// Luoyang, Yuncheng.
const uint32_t kOtherRegions[] = {610100, 620100, 420100, 320100, 310115, 330200, 410300, 140800};

const char* const kDealModes[] = {"transfer", "license", "equity", "cooperation",
                                  "self_commercialization"};
const int kDealModeWeights[] = {35, 30, 15, 15, 5};

template <size_t N>
size_t Pick(std::mt19937_64& rng, const int (&weights)[N]) {
  std::discrete_distribution<size_t> pick(std::begin(weights), std::end(weights));
  return pick(rng);
}

// Universities and institutes by province (the first two digits of a GB/T
// 2260 code), so that a seller's name fits its region.
struct Academia {
  uint32_t province;
  std::vector<const char*> universities;
  std::vector<const char*> institutes;
};
const std::vector<Academia> kAcademia = {
    {63,
     {"青海大学", "青海师范大学", "青海民族大学"},
     {"中国科学院青海盐湖研究所", "中国科学院西北高原生物研究所", "青海省农林科学院"}},
    {61,
     {"西安交通大学", "西北工业大学", "西安电子科技大学"},
     {"中国科学院西安光学精密机械研究所", "陕西省科学院"}},
    {62,
     {"兰州大学", "兰州理工大学", "兰州交通大学"},
     {"中国科学院兰州化学物理研究所", "中国科学院近代物理研究所"}},
    {42,
     {"武汉大学", "华中科技大学", "武汉理工大学"},
     {"中国科学院武汉岩土力学研究所", "湖北省农业科学院"}},
    {32,
     {"南京大学", "东南大学", "南京航空航天大学"},
     {"中国科学院南京土壤研究所", "江苏省农业科学院"}},
};

nlohmann::ordered_json PartyJson(const PartyKind& kind, std::mt19937_64& rng, uint32_t region);

// What a ContractRegistered line says beyond what RegistrationJson draws
// (title, field and the parties' names).
struct Registration {
  std::string contract_id;
  std::string registration_no;
  const char* type = nullptr;
  const char* subtype = nullptr;  // null: none
  const PartyKind* seller = nullptr;
  uint32_t seller_region = 0;
  const PartyKind* buyer = nullptr;
  uint32_t buyer_region = 0;
  int64_t contract_fen = 0;
  int64_t tech_fen = 0;
  std::string signed_on;       // YYYY-MM-DD
  std::string matchmaking_id;  // empty: none
};

// The line, drawing the title, the field and the parties' names from `rng`
// in that order (so that a seed always gives the same lines).
nlohmann::ordered_json RegistrationJson(const Registration& r, std::mt19937_64& rng) {
  nlohmann::ordered_json json;
  json["event"] = "ContractRegistered";
  json["contract_id"] = r.contract_id;
  json["registration_no"] = r.registration_no;
  json["type"] = r.type;
  if (r.subtype != nullptr) json["subtype"] = r.subtype;
  json["title"] = kTitles[rng() % std::size(kTitles)];
  json["field"] = kFields[Pick(rng, kFieldWeights)];
  json["seller"] = PartyJson(*r.seller, rng, r.seller_region);
  json["buyer"] = PartyJson(*r.buyer, rng, r.buyer_region);
  json["contract_amount"] = FormatYuan(r.contract_fen);
  json["tech_amount"] = FormatYuan(r.tech_fen);
  json["signed_on"] = r.signed_on;
  if (!r.matchmaking_id.empty()) json["matchmaking_id"] = r.matchmaking_id;
  return json;
}

nlohmann::ordered_json PartyJson(const PartyKind& kind, std::mt19937_64& rng, uint32_t region) {
  const char* name = kind.names[rng() % kind.names.size()];
  const std::string_view entity = kind.entity;
  if (entity == "university" || entity == "research_institute") {
    for (const Academia& academia : kAcademia) {
      if (academia.province != region / 10000) continue;
      const auto& names = entity == "university" ? academia.universities : academia.institutes;
      name = names[rng() % names.size()];
    }
  }
  return {{"name", name}, {"entity", kind.entity}, {"region", std::to_string(region)}};
}

}  // namespace

Workload::Workload(WorkloadOptions options) : options_(std::move(options)), rng_(options_.seed) {
  PlanRounds();
}

void Workload::PlanRounds() {
  std::vector<std::string> events;
  uint64_t made = 0;
  for (const RoundShare& round : options_.rounds) {
    if (round.held_here) {
      nlohmann::ordered_json held;
      held["event"] = "MatchmakingHeld";
      held["matchmaking_id"] = round.id;
      held["name"] = round.name;
      held["kind"] = "matchmaking";
      held["markets"] = round.markets;
      held["held_on"] = round.held_on;
      held["request_id"] = RequestId();
      events.push_back(held.dump());
    }
    if (round.contracts <= 0) continue;
    // Skewed shares, in whole hundreds of yuan, the last taking the rest so
    // that the sum is exact.
    std::lognormal_distribution<double> weight(0.0, 1.0);
    std::vector<double> weights;
    double sum = 0;
    for (int i = 0; i < round.contracts; ++i) sum += weights.emplace_back(weight(rng_));
    std::vector<int64_t> amounts;
    int64_t given = 0;
    for (int i = 0; i + 1 < round.contracts; ++i) {
      double share = static_cast<double>(round.amount_fen) * weights[i] / sum;
      int64_t amount = std::max<int64_t>(static_cast<int64_t>(share / 10000) * 10000, 10000);
      given += amounts.emplace_back(amount);
    }
    if (round.amount_fen - given <= 0) {  // tiny amounts: split evenly instead
      amounts.assign(round.contracts - 1, round.amount_fen / round.contracts);
      given = round.amount_fen / round.contracts * (round.contracts - 1);
    }
    amounts.push_back(round.amount_fen - given);
    // Cooperation and transfer projects: joint development, patent
    // transfers and licences.
    static const char* const kRoundTypes[][2] = {{"development", "cooperative"},
                                                 {"transfer", "patent_right"},
                                                 {"licensing", "patent_license"}};
    for (int i = 0; i < round.contracts; ++i) {
      const auto& type = kRoundTypes[rng_() % std::size(kRoundTypes)];
      char id[64];
      std::snprintf(id, sizeof(id), "%s-%d-DJ%04llu", options_.id_prefix.c_str(), options_.year,
                    (unsigned long long)++made);
      char registration_no[32];
      std::snprintf(registration_no, sizeof(registration_no), "%d%06uDJ%04llu", options_.year,
                    options_.home_regions[0], (unsigned long long)made);
      Registration r{.contract_id = id,
                     .registration_no = registration_no,
                     .type = type[0],
                     .subtype = type[1],
                     .seller = &kSellers[Pick(rng_, kSellerWeights)],
                     .seller_region = 0,
                     .buyer = &kBuyers[0],
                     .buyer_region = round.partner_region,
                     .contract_fen = amounts[i],
                     .tech_fen = amounts[i],
                     .signed_on = round.held_on,
                     .matchmaking_id = round.id};
      r.seller_region = options_.home_regions[rng_() % options_.home_regions.size()];
      nlohmann::ordered_json json = RegistrationJson(r, rng_);
      json["request_id"] = RequestId();
      events.push_back(json.dump());
    }
  }
  round_events_.assign(events.rbegin(), events.rend());
}

std::string Workload::RequestId() {
  char text[33];
  std::snprintf(text, sizeof(text), "%016llx%016llx", (unsigned long long)rng_(),
                (unsigned long long)rng_());
  return text;
}

int32_t Workload::DayInYear() {
  int32_t first = DaysFromCivil(options_.year, 1, 1);
  int32_t last = DaysFromCivil(options_.year, 12, 31);
  return first + static_cast<int32_t>(rng_() % (last - first + 1));
}

int64_t Workload::AmountFen() {
  // Two log-normal populations: many ordinary contracts around 300,000
  // yuan, and about 4% large ones around 30,000,000 yuan that carry about
  // 80% of the value.
  bool large = std::uniform_real_distribution<double>(0, 1)(rng_) < 0.04;
  std::lognormal_distribution<double> yuan(large ? std::log(3.0e7) : std::log(3.0e5),
                                           large ? 0.8 : 1.0);
  double amount = std::clamp(yuan(rng_), 1000.0, 5.0e9);
  // Whole yuan, as contracts are usually written.
  return static_cast<int64_t>(amount) * 100;
}

uint32_t Workload::Region(bool local_bias) {
  bool local = std::uniform_real_distribution<double>(0, 1)(rng_) < (local_bias ? 0.75 : 0.5);
  if (local) return options_.home_regions[rng_() % options_.home_regions.size()];
  return kOtherRegions[rng_() % std::size(kOtherRegions)];
}

std::string Workload::Register() {
  std::vector<int> weights;
  for (const auto& type : kTypes) weights.push_back(type.weight);
  std::discrete_distribution<size_t> pick_type(weights.begin(), weights.end());
  const TypeInfo& type = kTypes[pick_type(rng_)];
  Contract contract;
  char id[64];
  std::snprintf(id, sizeof(id), "%s-%d-%07llu", options_.id_prefix.c_str(), options_.year,
                (unsigned long long)++contracts_made_);
  contract.id = id;
  contract.signed_on = DayInYear();
  contract.contract_fen = AmountFen();
  // Technology share 60..100% of the contract amount, in whole yuan.
  int64_t tech_fen = contract.contract_fen / 100 *
                     std::uniform_int_distribution<int64_t>(60, 100)(rng_) / 100 * 100;
  uint32_t seller_region = Region(true);
  uint32_t buyer_region = Region(false);
  char registration_no[32];
  std::snprintf(registration_no, sizeof(registration_no), "%d%06u%06llu", options_.year,
                options_.home_regions[0], (unsigned long long)(contracts_made_ % 1000000));

  Registration r{.contract_id = contract.id,
                 .registration_no = registration_no,
                 .type = type.type,
                 .subtype = nullptr,
                 .seller = nullptr,
                 .seller_region = seller_region,
                 .buyer = nullptr,
                 .buyer_region = buyer_region,
                 .contract_fen = contract.contract_fen,
                 .tech_fen = tech_fen,
                 .signed_on = FormatDate(contract.signed_on),
                 .matchmaking_id = {}};
  // One draw per statement: the order of draws is what the seed fixes.
  if (!type.subtypes.empty()) r.subtype = type.subtypes[rng_() % type.subtypes.size()];
  r.seller = &kSellers[Pick(rng_, kSellerWeights)];
  r.buyer = &kBuyers[Pick(rng_, kBuyerWeights)];
  nlohmann::ordered_json json = RegistrationJson(r, rng_);
  json["request_id"] = RequestId();
  contracts_.push_back(std::move(contract));
  return json.dump();
}

std::string Workload::Pay(Contract& contract) {
  // An instalment of 30..100% of what is still owed.
  int64_t owed = contract.contract_fen - contract.paid_fen;
  int64_t amount = std::max<int64_t>(
      1, owed / 100 * std::uniform_int_distribution<int64_t>(30, 100)(rng_) / 100 * 100);
  amount = std::min(amount, owed);
  contract.paid_fen += amount;
  nlohmann::ordered_json json;
  json["event"] = "PaymentReceived";
  json["contract_id"] = contract.id;
  json["amount"] = FormatYuan(amount);
  json["paid_on"] = FormatDate(contract.signed_on + static_cast<int32_t>(rng_() % 120));
  json["request_id"] = RequestId();
  return json.dump();
}

std::string Workload::Amend(Contract& contract) {
  // Scope grows or shrinks by up to 30%, never below what was paid.
  int64_t amount = contract.contract_fen / 100 *
                   std::uniform_int_distribution<int64_t>(70, 130)(rng_) / 100 * 100;
  amount = std::max({amount, contract.paid_fen, int64_t{100}});
  contract.contract_fen = amount;
  nlohmann::ordered_json json;
  json["event"] = "ContractAmended";
  json["contract_id"] = contract.id;
  json["contract_amount"] = FormatYuan(amount);
  json["tech_amount"] = FormatYuan(amount / 100 * 9 / 10 * 100);
  json["reason"] = "合同范围调整";
  json["amended_on"] = FormatDate(contract.signed_on + static_cast<int32_t>(rng_() % 90));
  json["request_id"] = RequestId();
  return json.dump();
}

std::string Workload::Terminate(Contract& contract) {
  contract.live = false;
  nlohmann::ordered_json json;
  json["event"] = "ContractTerminated";
  json["contract_id"] = contract.id;
  json["reason"] = "双方协商解除";
  json["terminated_on"] = FormatDate(contract.signed_on + static_cast<int32_t>(rng_() % 180));
  json["request_id"] = RequestId();
  return json.dump();
}

std::string Workload::Deal() {
  char id[64];
  std::snprintf(id, sizeof(id), "%s-CG-%d-%06llu", options_.id_prefix.c_str(), options_.year,
                (unsigned long long)++deals_made_);
  nlohmann::ordered_json json;
  json["event"] = "TransferDealSigned";
  json["deal_id"] = id;
  json["achievement_title"] = kTitles[rng_() % std::size(kTitles)];
  json["mode"] = kDealModes[Pick(rng_, kDealModeWeights)];
  json["institution"] = PartyJson(kSellers[rng_() % 2], rng_, Region(true));
  json["enterprise"] = PartyJson(kBuyers[0], rng_, Region(false));
  json["amount"] = FormatYuan(AmountFen());
  json["signed_on"] = FormatDate(DayInYear());
  json["request_id"] = RequestId();
  return json.dump();
}

std::string Workload::Next() {
  if (!round_events_.empty()) {
    std::string event = std::move(round_events_.back());
    round_events_.pop_back();
    return event;
  }
  double roll = std::uniform_real_distribution<double>(0, 1)(rng_);
  // Follow-ups pick a recent contract (most activity is on young ones).
  if (roll >= 0.78 && !contracts_.empty()) {
    size_t window = std::min<size_t>(contracts_.size(), 5000);
    Contract& contract = contracts_[contracts_.size() - 1 - rng_() % window];
    if (contract.live) {
      if (roll < 0.90 && contract.paid_fen < contract.contract_fen) return Pay(contract);
      if (roll >= 0.90 && roll < 0.93) return Amend(contract);
      if (roll >= 0.93 && roll < 0.95) return Terminate(contract);
    }
    if (roll >= 0.95) return Deal();
  }
  return Register();
}

}  // namespace ledger::tools
