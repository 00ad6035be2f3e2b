// Tests of the views (ledger/views.h): each event's deltas through a real
// Log, a randomized comparison with a naive model of the fold rules,
// rebuilding damaged views, independence of the origins' interleaving, and
// overflow. Expected rows, keys and digests are computed here from the rules
// of the views.h header, never taken from the code under test.
#include "ledger/views.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "ledger/contracts.h"
#include "ledger/crypto.h"
#include "ledger/log.h"
#include "ledger/store.h"
#include "ledger/totals.h"
#include "schemas/entry_generated.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

using Values = std::array<int64_t, 5>;
// Totals as (group keys as text) -> values.
using Grouped = std::map<std::vector<std::string>, Values>;

constexpr int32_t kAllFrom = 0;
constexpr int32_t kAllTo = 999912;

const std::vector<Dimension> kVolumeBy = {Dimension::kMarket, Dimension::kMonth, Dimension::kType,
                                          Dimension::kField};
const std::vector<Dimension> kFlowBy = {Dimension::kMarket, Dimension::kMonth,
                                        Dimension::kSellerRegion, Dimension::kBuyerRegion};
const std::vector<Dimension> kDealBy = {Dimension::kMarket, Dimension::kMonth, Dimension::kMode};
const std::vector<Dimension> kMarketBy = {Dimension::kMarket};

// Enum numbers as schemas/entry.fbs fixes them, written out here rather than
// taken from the generated code so that the row keys are checked against
// the schema.
const std::map<std::string, uint8_t> kTypeNumbers = {
    {"development", 1}, {"transfer", 2}, {"licensing", 3}, {"consulting", 4}, {"service", 5}};
const std::map<std::string, uint8_t> kFieldNumbers = {{"electronic_information", 1},
                                                      {"aerospace", 2},
                                                      {"advanced_manufacturing", 3},
                                                      {"biomedicine", 4},
                                                      {"new_materials", 5},
                                                      {"new_energy", 6},
                                                      {"environment", 7},
                                                      {"nuclear", 8},
                                                      {"agriculture", 9},
                                                      {"modern_transport", 10},
                                                      {"urban_social", 11},
                                                      {"other", 12}};
const std::map<std::string, uint8_t> kModeNumbers = {{"transfer", 1},
                                                     {"license", 2},
                                                     {"equity", 3},
                                                     {"cooperation", 4},
                                                     {"self_commercialization", 5}};
const std::vector<std::pair<std::string, std::vector<std::string>>> kTypeSubtypes = {
    {"development", {"commissioned", "cooperative"}},
    {"transfer", {"patent_right", "patent_application", "trade_secret", "other"}},
    {"licensing", {"patent_license", "trade_secret_license", "other"}},
    {"consulting", {"", "unspecified", "other"}},  // "" leaves subtype out
    {"service", {"general", "training", "intermediary"}}};
const std::vector<std::string> kRegions = {"630100", "610100", "420100", "320100", "620100"};
const std::vector<std::string> kEntities = {"enterprise", "research_institute", "university",
                                            "individual"};

// ---- Encoding of rows, written from the views.h layout. ----

std::string Be32(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (24 - 8 * i));
  return out;
}

std::string Be64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(value >> (56 - 8 * i));
  return out;
}

int64_t FromBe64(std::string_view bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | static_cast<uint8_t>(bytes[i]);
  return static_cast<int64_t>(value);
}

std::string KeyHead(char kind, const std::string& market, int32_t month) {
  return std::string(1, kind) + static_cast<char>(market.size()) + market +
         Be32(static_cast<uint32_t>(month));
}

std::string EncodeValues(const Values& values, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += Be64(static_cast<uint64_t>(values[i]));
  return out;
}

// SHA-256 over rows in key order: key_length(4) key value_length(4) value.
Hash DigestOf(const std::map<std::string, std::string>& rows) {
  std::string all;
  for (const auto& [key, value] : rows) {
    all += Be32(static_cast<uint32_t>(key.size())) + key;
    all += Be32(static_cast<uint32_t>(value.size())) + value;
  }
  return Sha256(all);
}

bool IsZero(const Values& values) {
  return std::all_of(values.begin(), values.end(), [](int64_t v) { return v == 0; });
}

std::string MonthText(int32_t month) {
  char text[48];
  std::snprintf(text, sizeof(text), "%04d-%02d", month / 100, month % 100);
  return text;
}

// "2021-03-02" -> 202103.
int32_t MonthOfText(const std::string& date) {
  return std::stoi(date.substr(0, 4)) * 100 + std::stoi(date.substr(5, 2));
}

// Fen as the yuan text of the JSON form.
std::string Yuan(int64_t fen) {
  char text[40];
  std::snprintf(text, sizeof(text), "%lld.%02lld", static_cast<long long>(fen / 100),
                static_cast<long long>(fen % 100));
  return text;
}

// ---- The naive model: the fold rules of views.h on plain maps. ----

struct ContractInfo {
  std::string market;
  std::string id;
  std::string type;
  std::string field;
  std::string seller_region;
  std::string buyer_region;
  int64_t contract_fen = 0;
  int64_t tech_fen = 0;
  int64_t paid_fen = 0;
  std::string signed_on;
  bool live = true;
};

class Model {
 public:
  void Register(const ContractInfo& c) {
    Post(c, MonthOfText(c.signed_on), {1, c.contract_fen, c.tech_fen, 0, 0});
  }
  void Amend(ContractInfo* c, int64_t contract_fen, int64_t tech_fen, const std::string& date) {
    Post(*c, MonthOfText(date), {0, contract_fen - c->contract_fen, tech_fen - c->tech_fen, 0, 0});
    c->contract_fen = contract_fen;
    c->tech_fen = tech_fen;
  }
  void Terminate(ContractInfo* c, const std::string& date) {
    Post(*c, MonthOfText(date), {-1, -c->contract_fen, -c->tech_fen, 0, 1});
    c->live = false;
  }
  void Pay(ContractInfo* c, int64_t amount_fen, const std::string& date) {
    Post(*c, MonthOfText(date), {0, 0, 0, amount_fen, 0});
    c->paid_fen += amount_fen;
  }
  void Deal(const std::string& market, const std::string& mode, int64_t amount_fen,
            const std::string& date) {
    Values& row = deals_[{market, MonthOfText(date), mode}];
    row[0] += 1;
    row[1] += amount_fen;
  }

  // What Totals should answer for `query`.
  Grouped Expect(const TotalsQuery& query, Values* total) const {
    Grouped groups;
    *total = Values{};
    auto wanted = [&](const std::string& market, int32_t month) {
      bool market_ok =
          query.markets.empty() ||
          std::find(query.markets.begin(), query.markets.end(), market) != query.markets.end();
      return market_ok && month >= query.from_month && month <= query.to_month;
    };
    auto add = [&](std::vector<std::string> keys, const Values& values) {
      Values& group = groups[keys];
      for (size_t i = 0; i < values.size(); ++i) {
        group[i] += values[i];
        (*total)[i] += values[i];
      }
    };
    bool region = std::any_of(query.by.begin(), query.by.end(), [](Dimension d) {
      return d == Dimension::kSellerRegion || d == Dimension::kBuyerRegion;
    });
    if (query.deals) {
      for (const auto& [key, values] : deals_) {
        const auto& [market, month, mode] = key;
        if (IsZero(values) || !wanted(market, month)) continue;
        std::vector<std::string> keys;
        for (Dimension d : query.by) {
          keys.push_back(d == Dimension::kMarket  ? market
                         : d == Dimension::kMonth ? MonthText(month)
                                                  : mode);
        }
        add(keys, values);
      }
    } else if (region) {
      for (const auto& [key, values] : flow_) {
        const auto& [market, month, seller, buyer] = key;
        if (IsZero(values) || !wanted(market, month)) continue;
        std::vector<std::string> keys;
        for (Dimension d : query.by) {
          keys.push_back(d == Dimension::kMarket         ? market
                         : d == Dimension::kMonth        ? MonthText(month)
                         : d == Dimension::kSellerRegion ? seller
                                                         : buyer);
        }
        add(keys, values);
      }
    } else {
      for (const auto& [key, values] : volume_) {
        const auto& [market, month, type, field] = key;
        if (IsZero(values) || !wanted(market, month)) continue;
        std::vector<std::string> keys;
        for (Dimension d : query.by) {
          keys.push_back(d == Dimension::kMarket  ? market
                         : d == Dimension::kMonth ? MonthText(month)
                         : d == Dimension::kType  ? type
                                                  : field);
        }
        add(keys, values);
      }
    }
    return groups;
  }

  // Every non-zero row, encoded as views.h lays it out.
  std::map<std::string, std::string> EncodedRows() const {
    std::map<std::string, std::string> rows;
    for (const auto& [key, values] : volume_) {
      if (IsZero(values)) continue;
      const auto& [market, month, type, field] = key;
      rows[KeyHead('v', market, month) + static_cast<char>(kTypeNumbers.at(type)) +
           static_cast<char>(kFieldNumbers.at(field))] = EncodeValues(values, 5);
    }
    for (const auto& [key, values] : flow_) {
      if (IsZero(values)) continue;
      const auto& [market, month, seller, buyer] = key;
      rows[KeyHead('f', market, month) + Be32(std::stoul(seller)) + Be32(std::stoul(buyer))] =
          EncodeValues(values, 5);
    }
    for (const auto& [key, values] : deals_) {
      if (IsZero(values)) continue;
      const auto& [market, month, mode] = key;
      rows[KeyHead('d', market, month) + static_cast<char>(kModeNumbers.at(mode))] =
          EncodeValues(values, 2);
    }
    return rows;
  }
  Hash Digest() const { return DigestOf(EncodedRows()); }

 private:
  void Post(const ContractInfo& c, int32_t month, const Values& delta) {
    Values& volume = volume_[{c.market, month, c.type, c.field}];
    Values& flow = flow_[{c.market, month, c.seller_region, c.buyer_region}];
    for (size_t i = 0; i < delta.size(); ++i) {
      volume[i] += delta[i];
      flow[i] += delta[i];
    }
  }

  std::map<std::tuple<std::string, int32_t, std::string, std::string>, Values> volume_;
  std::map<std::tuple<std::string, int32_t, std::string, std::string>, Values> flow_;
  std::map<std::tuple<std::string, int32_t, std::string>, Values> deals_;
};

// ---- JSON of entries with every parameter the tests vary. ----

nlohmann::json PartyJson(const std::string& name, const std::string& entity,
                         const std::string& region) {
  return {{"name", name}, {"entity", entity}, {"region", region}};
}

std::string RegistrationJson(const ContractInfo& c, const std::string& subtype,
                             const std::string& seller_entity = "university",
                             const std::string& buyer_entity = "enterprise") {
  nlohmann::json j = {{"event", "ContractRegistered"},
                      {"contract_id", c.id},
                      {"registration_no", "2021630100000001"},
                      {"type", c.type},
                      {"title", "高原特色生物资源提取工艺"},
                      {"field", c.field},
                      {"seller", PartyJson("青海大学", seller_entity, c.seller_region)},
                      {"buyer", PartyJson("某生物科技有限公司", buyer_entity, c.buyer_region)},
                      {"contract_amount", Yuan(c.contract_fen)},
                      {"tech_amount", Yuan(c.tech_fen)},
                      {"signed_on", c.signed_on}};
  if (!subtype.empty()) j["subtype"] = subtype;
  return j.dump();
}

std::string AmendmentJson(const std::string& id, int64_t contract_fen, int64_t tech_fen,
                          const std::string& amended_on) {
  return nlohmann::json{{"event", "ContractAmended"},
                        {"contract_id", id},
                        {"contract_amount", Yuan(contract_fen)},
                        {"tech_amount", Yuan(tech_fen)},
                        {"reason", "scope changed"},
                        {"amended_on", amended_on}}
      .dump();
}

std::string TerminationJson(const std::string& id, const std::string& terminated_on) {
  return nlohmann::json{{"event", "ContractTerminated"},
                        {"contract_id", id},
                        {"reason", "buyer withdrew"},
                        {"terminated_on", terminated_on}}
      .dump();
}

std::string PayJson(const std::string& id, int64_t amount_fen, const std::string& paid_on) {
  return nlohmann::json{{"event", "PaymentReceived"},
                        {"contract_id", id},
                        {"amount", Yuan(amount_fen)},
                        {"paid_on", paid_on}}
      .dump();
}

std::string TransferDealJson(const std::string& id, const std::string& mode, int64_t amount_fen,
                             const std::string& signed_on) {
  return nlohmann::json{
      {"event", "TransferDealSigned"},
      {"deal_id", id},
      {"achievement_title", "枸杞多糖提纯技术"},
      {"mode", mode},
      {"institution", PartyJson("中国科学院西北高原生物研究所", "research_institute", "630100")},
      {"enterprise", PartyJson("青海某药业有限公司", "enterprise", "630100")},
      {"amount", Yuan(amount_fen)},
      {"signed_on", signed_on}}
      .dump();
}

// A contract of the per-event tests: development/commissioned, biomedicine,
// 630100 -> 420100, 100000.00 / 80000.00 yuan.
ContractInfo Contract(const std::string& id, const std::string& signed_on) {
  ContractInfo c;
  c.market = "xining";
  c.id = id;
  c.type = "development";
  c.field = "biomedicine";
  c.seller_region = "630100";
  c.buyer_region = "420100";
  c.contract_fen = 10000000;
  c.tech_fen = 8000000;
  c.signed_on = signed_on;
  return c;
}

// ---- Reading the node's views. ----

Grouped Collect(const TotalsResult& result, Values* total) {
  Grouped groups;
  for (const TotalsRow& row : result.rows) {
    EXPECT_EQ(row.keys.size(), result.by.size());
    EXPECT_EQ(groups.count(row.keys), 0u) << "group listed twice";
    groups[row.keys] = row.values.v;
  }
  if (total != nullptr) *total = result.total.v;
  return groups;
}

Grouped TotalsBy(const Log& log, const std::vector<Dimension>& by, bool deals = false,
                 int32_t from = kAllFrom, int32_t to = kAllTo, Values* total = nullptr) {
  TotalsQuery query;
  query.by = by;
  query.deals = deals;
  query.from_month = from;
  query.to_month = to;
  StatusOr<TotalsResult> result = log.Totals(query);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return {};
  return Collect(*result, total);
}

std::string Digest(const Log& log) {
  StatusOr<Hash> digest = log.ViewDigest();
  EXPECT_TRUE(digest.ok()) << digest.status().ToString();
  return digest.ok() ? HexEncode(*digest) : "";
}

// The digest of the rows as stored in the views column family (the node
// answers from a copy in memory; this checks what is on disk). Pages hold
// `last part of the key + value` records; they are split here by hand.
std::string StoredDigest(const Store& store) {
  std::map<std::string, std::string> rows;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.handle(Column::kViews)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string page = it->key().ToString();
    size_t suffix = page[0] == 'v' ? 2 : page[0] == 'f' ? 8 : 1;
    size_t record = suffix + (page[0] == 'd' || page[0] == 'r' ? 16 : 40);
    std::string value = it->value().ToString();
    EXPECT_EQ(value.size() % record, 0u);
    for (size_t at = 0; at + record <= value.size(); at += record) {
      rows[page + value.substr(at, suffix)] = value.substr(at + suffix, record - suffix);
    }
  }
  EXPECT_TRUE(it->status().ok());
  return HexEncode(DigestOf(rows));
}

// Appends one entry and expects it accepted.
void AppendOk(Log* log, const std::string& json) {
  auto results = log->Append({test::Entry(json)});
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().ToString() << "\n" << json;
  ASSERT_FALSE(results[0]->duplicate);
}

// Appends one entry, expects it rejected with `code`, and expects no view
// (nor anything else) to change.
void AppendRejected(Log* log, const std::string& bytes, Status::Code code,
                    const std::string& what) {
  SCOPED_TRACE(what);
  const std::vector<Column> columns = {Column::kEntries, Column::kViews, Column::kContracts,
                                       Column::kRequests};
  std::string digest = Digest(*log);
  std::string views_rows = test::ColumnsDigest(*log->store(), {Column::kViews});
  std::string data = test::ColumnsDigest(*log->store(), columns);
  uint64_t size = log->size();
  auto results = log->Append({bytes});
  ASSERT_EQ(results.size(), 1u);
  ASSERT_FALSE(results[0].ok());
  EXPECT_EQ(results[0].status().code(), code) << results[0].status().ToString();
  EXPECT_EQ(Digest(*log), digest);
  EXPECT_EQ(test::ColumnsDigest(*log->store(), {Column::kViews}), views_rows);
  EXPECT_EQ(test::ColumnsDigest(*log->store(), columns), data);
  EXPECT_EQ(log->size(), size);
}

Values V(int64_t contracts, int64_t contract_fen, int64_t tech_fen, int64_t paid_fen,
         int64_t terminated) {
  return {contracts, contract_fen, tech_fen, paid_fen, terminated};
}
Values D(int64_t deals, int64_t amount_fen) { return {deals, amount_fen, 0, 0, 0}; }

// ---- Per-event tests. ----

// A registration adds one contract and its amounts to the volume and flow
// rows of the month it was signed in, and nothing to the deal rows.
TEST(ViewsTest, RegistrationCountsInTheMonthItWasSigned) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  Model model;
  EXPECT_EQ(Digest(*log), HexEncode(Sha256("")));

  ContractInfo c1 = Contract("C1", "2021-01-15");
  ContractInfo c2 = Contract("C2", "2021-01-31");
  c2.type = "service";
  c2.field = "new_energy";
  c2.seller_region = "610100";
  c2.buyer_region = "630100";
  c2.contract_fen = 250050;
  c2.tech_fen = 0;
  ContractInfo c3 = Contract("C3", "2021-02-01");
  AppendOk(log.get(), RegistrationJson(c1, "commissioned"));
  AppendOk(log.get(), RegistrationJson(c2, "training"));
  AppendOk(log.get(), RegistrationJson(c3, "cooperative"));
  for (const ContractInfo& c : {c1, c2, c3}) model.Register(c);

  EXPECT_EQ(
      TotalsBy(*log, kVolumeBy),
      (Grouped{
          {{"xining", "2021-01", "development", "biomedicine"}, V(1, 10000000, 8000000, 0, 0)},
          {{"xining", "2021-01", "service", "new_energy"}, V(1, 250050, 0, 0, 0)},
          {{"xining", "2021-02", "development", "biomedicine"}, V(1, 10000000, 8000000, 0, 0)}}));
  EXPECT_EQ(TotalsBy(*log, kFlowBy),
            (Grouped{{{"xining", "2021-01", "610100", "630100"}, V(1, 250050, 0, 0, 0)},
                     {{"xining", "2021-01", "630100", "420100"}, V(1, 10000000, 8000000, 0, 0)},
                     {{"xining", "2021-02", "630100", "420100"}, V(1, 10000000, 8000000, 0, 0)}}));
  Values deal_total{1, 1, 1, 1, 1};
  EXPECT_EQ(TotalsBy(*log, kDealBy, true, kAllFrom, kAllTo, &deal_total), Grouped{});
  EXPECT_EQ(deal_total, Values{});
  Values total;
  TotalsBy(*log, {}, false, kAllFrom, kAllTo, &total);
  EXPECT_EQ(total, V(3, 20250050, 16000000, 0, 0));
  EXPECT_EQ(Digest(*log), HexEncode(model.Digest()));
}

// An amendment posts new minus old amounts in the month of amended_on and
// leaves the month of registration alone; a month whose deltas cancel out
// has no row.
// What is stored equals the views, also after a flush and a compaction of
// the views column family and after reopening *log (which loads them from
// disk), whose volume totals must then be `volume`.
void ExpectStoredViewsSurviveCompactionAndReopen(std::unique_ptr<Log>* log, const std::string& dir,
                                                 const Grouped& volume) {
  const std::string digest = Digest(**log);
  EXPECT_EQ(StoredDigest(*(*log)->store()), digest);
  rocksdb::DB* db = (*log)->store()->db();
  auto* views = (*log)->store()->handle(Column::kViews);
  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), views).ok());
  ASSERT_TRUE(db->CompactRange(rocksdb::CompactRangeOptions(), views, nullptr, nullptr).ok());
  EXPECT_EQ(StoredDigest(*(*log)->store()), digest);
  log->reset();
  auto reopened = Log::Open(dir, LogOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  *log = std::move(*reopened);
  EXPECT_EQ(Digest(**log), digest);
  EXPECT_EQ(TotalsBy(**log, kVolumeBy), volume);
}

TEST(ViewsTest, AmendmentPostsTheDifferenceInItsMonth) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(log.get(), RegistrationJson(Contract("C1", "2021-01-15"), "commissioned"));
  std::string registered_digest = Digest(*log);
  const Values january = V(1, 10000000, 8000000, 0, 0);

  AppendOk(log.get(), AmendmentJson("C1", 15000000, 9000000, "2021-02-20"));
  EXPECT_EQ(TotalsBy(*log, kVolumeBy),
            (Grouped{{{"xining", "2021-01", "development", "biomedicine"}, january},
                     {{"xining", "2021-02", "development", "biomedicine"},
                      V(0, 5000000, 1000000, 0, 0)}}));

  // Downwards, in the same month: the February row holds 6000000 - 10000000.
  AppendOk(log.get(), AmendmentJson("C1", 6000000, 1000000, "2021-02-25"));
  const Grouped expected = {
      {{"xining", "2021-01", "development", "biomedicine"}, january},
      {{"xining", "2021-02", "development", "biomedicine"}, V(0, -4000000, -7000000, 0, 0)}};
  EXPECT_EQ(TotalsBy(*log, kVolumeBy), expected);
  EXPECT_EQ(TotalsBy(*log, kFlowBy),
            (Grouped{{{"xining", "2021-01", "630100", "420100"}, january},
                     {{"xining", "2021-02", "630100", "420100"}, V(0, -4000000, -7000000, 0, 0)}}));
  Values total;
  TotalsBy(*log, kMarketBy, false, kAllFrom, kAllTo, &total);
  EXPECT_EQ(total, V(1, 6000000, 1000000, 0, 0));

  // Back to the original amounts in February: that month nets to zero and
  // its rows are gone, so the views are as right after the registration.
  AppendOk(log.get(), AmendmentJson("C1", 10000000, 8000000, "2021-02-28"));
  EXPECT_EQ(TotalsBy(*log, kVolumeBy),
            (Grouped{{{"xining", "2021-01", "development", "biomedicine"}, january}}));
  EXPECT_EQ(TotalsBy(*log, kVolumeBy, false, 202102, 202102), Grouped{});
  EXPECT_EQ(Digest(*log), registered_digest);
  // On disk too: February's pages were deleted, not merged into empty ones.
  EXPECT_EQ(StoredDigest(*log->store()), registered_digest);
  EXPECT_EQ(log->store()
                ->Get(Column::kViews, ViewKeyPrefix(ViewKind::kVolume, "xining", 202102))
                .status()
                .code(),
            Status::Code::kNotFound);

  // A page comes back after its deletion (a merge onto nothing), and what
  // is stored survives a flush, a compaction and reopening.
  AppendOk(log.get(), AmendmentJson("C1", 10500000, 8000000, "2021-02-28"));
  const Grouped back = {
      {{"xining", "2021-01", "development", "biomedicine"}, january},
      {{"xining", "2021-02", "development", "biomedicine"}, V(0, 500000, 0, 0, 0)}};
  EXPECT_EQ(TotalsBy(*log, kVolumeBy), back);
  ExpectStoredViewsSurviveCompactionAndReopen(&log, dir.path(), back);
}

// Batch by batch, in February: a row comes to zero inside a page that
// keeps another row (the row's difference takes it out), then the page
// empties (and is deleted) and comes back (merged onto nothing). What is
// stored, also after a flush, a compaction and a reopen, is what the views
// hold.
TEST(ViewsTest, BatchesZeroARowThenEmptyAndRecreateAPage) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  ContractInfo c1 = Contract("C1", "2021-01-15");
  ContractInfo c2 = Contract("C2", "2021-01-16");
  c2.field = "new_materials";
  const std::vector<std::string> moves = {
      RegistrationJson(c1, "commissioned"),
      RegistrationJson(c2, "commissioned"),
      AmendmentJson("C1", 12000000, 8000000, "2021-02-10"),  // February: C1 +2000000
      AmendmentJson("C2", 11000000, 8000000, "2021-02-11"),  // and C2 +1000000
      AmendmentJson("C1", 10000000, 8000000, "2021-02-12"),  // C1's row is zero again
      AmendmentJson("C2", 10000000, 8000000, "2021-02-13"),  // the page is empty
      AmendmentJson("C1", 10300000, 8000000, "2021-02-14"),  // and back
  };
  for (const std::string& json : moves) {
    AppendOk(log.get(), json);
    EXPECT_EQ(StoredDigest(*log->store()), Digest(*log)) << "after " << json;
  }
  const Values january = V(2, 20000000, 16000000, 0, 0);
  const Grouped expected = {
      {{"xining", "2021-01", "development", "biomedicine"}, V(1, 10000000, 8000000, 0, 0)},
      {{"xining", "2021-01", "development", "new_materials"}, V(1, 10000000, 8000000, 0, 0)},
      {{"xining", "2021-02", "development", "biomedicine"}, V(0, 300000, 0, 0, 0)}};
  EXPECT_EQ(TotalsBy(*log, kVolumeBy), expected);
  Values total;
  TotalsBy(*log, kMarketBy, false, 202101, 202101, &total);
  EXPECT_EQ(total, january);
  ExpectStoredViewsSurviveCompactionAndReopen(&log, dir.path(), expected);
}

// A termination posts -1 contract, minus the current amounts and +1
// terminated in its own month: totals over both months count no contract
// and one termination, totals before the termination still count it.
TEST(ViewsTest, TerminationLeavesTheTotalsInItsMonth) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  Model model;
  ContractInfo c1 = Contract("C1", "2021-01-15");
  AppendOk(log.get(), RegistrationJson(c1, "commissioned"));
  model.Register(c1);
  AppendOk(log.get(), AmendmentJson("C1", 12000000, 8000000, "2021-02-10"));
  model.Amend(&c1, 12000000, 8000000, "2021-02-10");
  AppendOk(log.get(), TerminationJson("C1", "2021-03-02"));
  model.Terminate(&c1, "2021-03-02");

  const Grouped volume = {
      {{"xining", "2021-01", "development", "biomedicine"}, V(1, 10000000, 8000000, 0, 0)},
      {{"xining", "2021-02", "development", "biomedicine"}, V(0, 2000000, 0, 0, 0)},
      {{"xining", "2021-03", "development", "biomedicine"}, V(-1, -12000000, -8000000, 0, 1)}};
  EXPECT_EQ(TotalsBy(*log, kVolumeBy), volume);
  EXPECT_EQ(
      TotalsBy(*log, kFlowBy),
      (Grouped{{{"xining", "2021-01", "630100", "420100"}, V(1, 10000000, 8000000, 0, 0)},
               {{"xining", "2021-02", "630100", "420100"}, V(0, 2000000, 0, 0, 0)},
               {{"xining", "2021-03", "630100", "420100"}, V(-1, -12000000, -8000000, 0, 1)}}));
  EXPECT_EQ(TotalsBy(*log, kMarketBy), (Grouped{{{"xining"}, V(0, 0, 0, 0, 1)}}));
  EXPECT_EQ(TotalsBy(*log, kMarketBy, false, 202101, 202102),
            (Grouped{{{"xining"}, V(1, 12000000, 8000000, 0, 0)}}));
  EXPECT_EQ(TotalsBy(*log, kMarketBy, false, 202103, 202112),
            (Grouped{{{"xining"}, V(-1, -12000000, -8000000, 0, 1)}}));
  EXPECT_EQ(Digest(*log), HexEncode(model.Digest()));

  // A terminated contract takes no further events, and they change nothing.
  AppendRejected(log.get(), test::Entry(PayJson("C1", 100, "2021-03-05")),
                 Status::Code::kFailedPrecondition, "payment after termination");
  AppendRejected(log.get(), test::Entry(AmendmentJson("C1", 100, 0, "2021-03-05")),
                 Status::Code::kFailedPrecondition, "amendment after termination");
  AppendRejected(log.get(), test::Entry(TerminationJson("C1", "2021-03-05")),
                 Status::Code::kFailedPrecondition, "second termination");
  EXPECT_EQ(TotalsBy(*log, kVolumeBy), volume);
}

// Payments count in the month they were received and stay in the totals
// after the contract is terminated.
TEST(ViewsTest, PaymentsCountInTheirMonthAndStayAfterTermination) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  Model model;
  ContractInfo c1 = Contract("C1", "2021-01-15");
  AppendOk(log.get(), RegistrationJson(c1, "commissioned"));
  model.Register(c1);
  const std::vector<std::pair<int64_t, std::string>> payments = {
      {3000000, "2021-02-10"},
      {2000000, "2021-04-01"},
      {500000, "2021-04-20"},
      {4500000, "2021-04-30"}};  // the last brings the total to the contract amount
  for (const auto& [amount, date] : payments) {
    AppendOk(log.get(), PayJson("C1", amount, date));
    model.Pay(&c1, amount, date);
  }
  AppendRejected(log.get(), test::Entry(PayJson("C1", 1, "2021-04-30")),
                 Status::Code::kFailedPrecondition, "one fen above the contract amount");
  AppendOk(log.get(), TerminationJson("C1", "2021-05-01"));
  model.Terminate(&c1, "2021-05-01");

  EXPECT_EQ(
      TotalsBy(*log, kVolumeBy),
      (Grouped{{{"xining", "2021-01", "development", "biomedicine"}, V(1, 10000000, 8000000, 0, 0)},
               {{"xining", "2021-02", "development", "biomedicine"}, V(0, 0, 0, 3000000, 0)},
               {{"xining", "2021-04", "development", "biomedicine"}, V(0, 0, 0, 7000000, 0)},
               {{"xining", "2021-05", "development", "biomedicine"},
                V(-1, -10000000, -8000000, 0, 1)}}));
  EXPECT_EQ(TotalsBy(*log, {Dimension::kSellerRegion}),
            (Grouped{{{"630100"}, V(0, 0, 0, 10000000, 1)}}));
  EXPECT_EQ(TotalsBy(*log, {Dimension::kMonth}, false, 202104, 202104),
            (Grouped{{{"2021-04"}, V(0, 0, 0, 7000000, 0)}}));
  EXPECT_EQ(Digest(*log), HexEncode(model.Digest()));
}

// Transfer deals count in the deal rows of their month and mode only.
TEST(ViewsTest, DealsCountInTheDealRowsOfTheirMonthAndMode) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  Model model;
  const std::vector<std::tuple<std::string, std::string, int64_t, std::string>> deals = {
      {"D1", "license", 30000000, "2021-07-01"},
      {"D2", "equity", 100000, "2021-07-31"},
      {"D3", "license", 5000, "2021-08-01"}};
  for (const auto& [id, mode, amount, date] : deals) {
    AppendOk(log.get(), TransferDealJson(id, mode, amount, date));
    model.Deal("xining", mode, amount, date);
  }
  EXPECT_EQ(TotalsBy(*log, kDealBy, true),
            (Grouped{{{"xining", "2021-07", "license"}, D(1, 30000000)},
                     {{"xining", "2021-07", "equity"}, D(1, 100000)},
                     {{"xining", "2021-08", "license"}, D(1, 5000)}}));
  Values total;
  EXPECT_EQ(TotalsBy(*log, {Dimension::kMode}, true, kAllFrom, kAllTo, &total),
            (Grouped{{{"license"}, D(2, 30005000)}, {{"equity"}, D(1, 100000)}}));
  EXPECT_EQ(total, D(3, 30105000));
  EXPECT_EQ(TotalsBy(*log, kVolumeBy, false, kAllFrom, kAllTo, &total), Grouped{});
  EXPECT_EQ(total, Values{});
  EXPECT_EQ(TotalsBy(*log, kFlowBy), Grouped{});
  EXPECT_EQ(Digest(*log), HexEncode(model.Digest()));
  AppendRejected(log.get(), test::Entry(TransferDealJson("D1", "equity", 100, "2021-09-01")),
                 Status::Code::kAlreadyExists, "duplicate deal id");
}

// A matchmaking event is logged but counted by no view.
TEST(ViewsTest, MatchmakingChangesNoView) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  AppendOk(log.get(), test::MatchmakingJson("M0"));
  EXPECT_EQ(Digest(*log), HexEncode(Sha256("")));
  EXPECT_EQ(log->size(), 1u);

  Model model;
  ContractInfo c1 = Contract("C1", "2021-06-18");
  AppendOk(log.get(), RegistrationJson(c1, "commissioned"));
  model.Register(c1);
  std::string digest = Digest(*log);
  std::string rows = test::ColumnsDigest(*log->store(), {Column::kViews});
  AppendOk(log.get(), test::MatchmakingJson("M1"));
  EXPECT_EQ(log->size(), 3u);
  EXPECT_EQ(Digest(*log), digest);
  EXPECT_EQ(Digest(*log), HexEncode(model.Digest()));
  EXPECT_EQ(test::ColumnsDigest(*log->store(), {Column::kViews}), rows);
  AppendRejected(log.get(), test::Entry(test::MatchmakingJson("M1")), Status::Code::kAlreadyExists,
                 "duplicate matchmaking id");
}

// Every entry the log rejects, and a resubmitted request, leaves the views
// exactly as they were.
TEST(ViewsTest, RejectedEntriesChangeNoView) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  ContractInfo c1 = Contract("C1", "2021-01-15");
  std::string registration = test::Entry(RegistrationJson(c1, "commissioned"));
  ASSERT_TRUE(log->Append({registration})[0].ok());
  AppendOk(log.get(), PayJson("C1", 6000000, "2021-02-01"));
  AppendOk(log.get(), TransferDealJson("D1", "license", 100000, "2021-02-01"));
  Model model;
  model.Register(c1);
  model.Pay(&c1, 6000000, "2021-02-01");
  model.Deal("xining", "license", 100000, "2021-02-01");
  ASSERT_EQ(Digest(*log), HexEncode(model.Digest()));

  ContractInfo duplicate = Contract("C1", "2021-03-01");
  duplicate.contract_fen = 500;
  duplicate.tech_fen = 0;
  ContractInfo too_much_tech = Contract("C9", "2021-03-01");
  too_much_tech.tech_fen = too_much_tech.contract_fen + 1;
  struct Case {
    std::string name;
    std::string json;
    Status::Code code;
  };
  const std::vector<Case> cases = {
      {"payment above the contract amount", PayJson("C1", 4000001, "2021-03-01"),
       Status::Code::kFailedPrecondition},
      {"payment of an unknown contract", PayJson("NOPE", 100, "2021-03-01"),
       Status::Code::kFailedPrecondition},
      {"payment before signing", PayJson("C1", 100, "2021-01-14"), Status::Code::kInvalidArgument},
      {"amendment of an unknown contract", AmendmentJson("NOPE", 100, 0, "2021-03-01"),
       Status::Code::kFailedPrecondition},
      {"amendment below the payments", AmendmentJson("C1", 5999999, 0, "2021-03-01"),
       Status::Code::kFailedPrecondition},
      {"amendment before signing", AmendmentJson("C1", 20000000, 0, "2021-01-01"),
       Status::Code::kInvalidArgument},
      {"termination of an unknown contract", TerminationJson("NOPE", "2021-03-01"),
       Status::Code::kFailedPrecondition},
      {"termination before signing", TerminationJson("C1", "2020-12-31"),
       Status::Code::kInvalidArgument},
      {"registration of a taken id", RegistrationJson(duplicate, "commissioned"),
       Status::Code::kAlreadyExists},
      {"tech amount above the contract amount", RegistrationJson(too_much_tech, "commissioned"),
       Status::Code::kInvalidArgument},
      {"deal of a taken id", TransferDealJson("D1", "equity", 100, "2021-03-01"),
       Status::Code::kAlreadyExists},
  };
  for (const Case& c : cases) AppendRejected(log.get(), test::Entry(c.json), c.code, c.name);

  // The same request again appends nothing and counts nothing twice.
  std::string digest = Digest(*log);
  auto resubmitted = log->Append({registration});
  ASSERT_TRUE(resubmitted[0].ok());
  EXPECT_TRUE(resubmitted[0]->duplicate);
  EXPECT_EQ(Digest(*log), digest);

  // Rejected entries inside a batch leave the others' deltas intact.
  ContractInfo c2 = Contract("C2", "2021-03-01");
  auto results = log->Append({test::Entry(RegistrationJson(c2, "commissioned")),
                              test::Entry(PayJson("C2", 10000001, "2021-03-02")),
                              test::Entry(PayJson("C2", 2500, "2021-04-02"))});
  EXPECT_TRUE(results[0].ok());
  EXPECT_FALSE(results[1].ok());
  EXPECT_TRUE(results[2].ok());
  model.Register(c2);
  model.Pay(&c2, 2500, "2021-04-02");
  EXPECT_EQ(Digest(*log), HexEncode(model.Digest()));
  EXPECT_EQ(TotalsBy(*log, {Dimension::kMonth}),
            (Grouped{{{"2021-01"}, V(1, 10000000, 8000000, 0, 0)},
                     {{"2021-02"}, V(0, 0, 0, 6000000, 0)},
                     {{"2021-03"}, V(1, 10000000, 8000000, 0, 0)},
                     {{"2021-04"}, V(0, 0, 0, 2500, 0)}}));
}

// ---- Random valid workloads. ----

constexpr int kMonthDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
constexpr int kWorkloadDays = 730;  // 2021-01-01 .. 2022-12-31, neither a leap year

// Day `ordinal` of 2021-2022 as "YYYY-MM-DD".
std::string DateText(int ordinal) {
  int year = 2021 + ordinal / 365;
  int day = ordinal % 365;
  int month = 0;
  while (day >= kMonthDays[month]) day -= kMonthDays[month++];
  char text[48];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02d", year, month + 1, day + 1);
  return text;
}

// Generates valid events of one market and folds each into a Model as it
// goes, following the rules of views.h.
class Workload {
 public:
  Workload(uint64_t seed, std::string market, Model* model)
      : rng_(seed), market_(std::move(market)), model_(model) {}

  // The JSON of the next event.
  std::string Next() {
    int64_t r = Uniform(0, 99);
    if (r < 30 || live_.empty()) return Register();
    if (r < 42) return Amend();
    if (r < 50) return Terminate();
    if (r < 75) return Pay();
    if (r < 95) return Deal();
    return test::MatchmakingJson("M" + std::to_string(next_matchmaking_++));
  }

  int64_t Uniform(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(rng_);
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Uniform(0, static_cast<int64_t>(items.size()) - 1)];
  }

 private:
  // Mostly small amounts with a heavy tail up to 10^16 fen.
  int64_t Amount() {
    int64_t bucket = Uniform(0, 99);
    if (bucket < 60) return Uniform(1, 10'000'000);
    if (bucket < 90) return Uniform(1, 1'000'000'000);
    if (bucket < 98) return Uniform(1, 100'000'000'000);
    return Uniform(1, 10'000'000'000'000'000);
  }
  int64_t Tech(int64_t contract_fen) {
    int64_t r = Uniform(0, 9);
    if (r == 0) return 0;
    if (r == 1) return contract_fen;
    return Uniform(0, contract_fen);
  }
  // A day on or after the contract's signing.
  std::string DateFrom(const ContractInfo& c) {
    int signed_day = signed_days_.at(c.id);
    return DateText(static_cast<int>(Uniform(signed_day, kWorkloadDays - 1)));
  }
  ContractInfo& AnyLive(size_t* position) {
    *position = static_cast<size_t>(Uniform(0, static_cast<int64_t>(live_.size()) - 1));
    return contracts_[live_[*position]];
  }

  std::string Register() {
    ContractInfo c;
    c.market = market_;
    c.id = "C" + std::to_string(contracts_.size());
    const auto& [type, subtypes] = Pick(kTypeSubtypes);
    c.type = type;
    std::string subtype = Pick(subtypes);
    auto field = kFieldNumbers.begin();
    std::advance(field, Uniform(0, static_cast<int64_t>(kFieldNumbers.size()) - 1));
    c.field = field->first;
    c.seller_region = Pick(kRegions);
    c.buyer_region = Pick(kRegions);
    c.contract_fen = Amount();
    c.tech_fen = Tech(c.contract_fen);
    int day = static_cast<int>(Uniform(0, kWorkloadDays - 1));
    c.signed_on = DateText(day);
    signed_days_[c.id] = day;
    model_->Register(c);
    live_.push_back(contracts_.size());
    contracts_.push_back(c);
    return RegistrationJson(c, subtype, Pick(kEntities), Pick(kEntities));
  }
  std::string Amend() {
    size_t position = 0;
    ContractInfo& c = AnyLive(&position);
    int64_t contract_fen = Amount();
    if (contract_fen < c.paid_fen) contract_fen = c.paid_fen + Uniform(0, 1'000'000);
    int64_t tech_fen = Tech(contract_fen);
    std::string date = DateFrom(c);
    model_->Amend(&c, contract_fen, tech_fen, date);
    return AmendmentJson(c.id, contract_fen, tech_fen, date);
  }
  std::string Terminate() {
    size_t position = 0;
    ContractInfo& c = AnyLive(&position);
    std::string date = DateFrom(c);
    model_->Terminate(&c, date);
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(position));
    return TerminationJson(c.id, date);
  }
  std::string Pay() {
    size_t position = 0;
    ContractInfo& c = AnyLive(&position);
    int64_t remaining = c.contract_fen - c.paid_fen;
    if (remaining == 0) return Register();
    int64_t r = Uniform(0, 9);
    int64_t amount = r == 0  ? remaining
                     : r < 5 ? Uniform(1, remaining)
                             : std::min(remaining, Amount());
    std::string date = DateFrom(c);
    model_->Pay(&c, amount, date);
    return PayJson(c.id, amount, date);
  }
  std::string Deal() {
    auto mode = kModeNumbers.begin();
    std::advance(mode, Uniform(0, static_cast<int64_t>(kModeNumbers.size()) - 1));
    int64_t amount = Amount();
    std::string date = DateText(static_cast<int>(Uniform(0, kWorkloadDays - 1)));
    model_->Deal(market_, mode->first, amount, date);
    return TransferDealJson("D" + std::to_string(next_deal_++), mode->first, amount, date);
  }

  std::mt19937_64 rng_;
  std::string market_;
  Model* model_;
  std::vector<ContractInfo> contracts_;
  std::map<std::string, int> signed_days_;
  std::vector<size_t> live_;  // positions in contracts_
  int next_deal_ = 0;
  int next_matchmaking_ = 0;
};

// Appends `count` events of `workload` in batches of random size; every one
// must be accepted.
void AppendWorkload(Log* log, Workload* workload, int count,
                    const std::function<void()>& after_batch = nullptr) {
  int done = 0;
  while (done < count) {
    int batch_size = static_cast<int>(std::min<int64_t>(workload->Uniform(1, 60), count - done));
    std::vector<std::string> entries;
    std::vector<std::string> jsons;
    for (int i = 0; i < batch_size; ++i) {
      jsons.push_back(workload->Next());
      entries.push_back(test::Entry(jsons.back()));
    }
    auto results = log->Append(entries);
    ASSERT_EQ(results.size(), entries.size());
    for (size_t i = 0; i < results.size(); ++i) {
      ASSERT_TRUE(results[i].ok()) << results[i].status().ToString() << "\n" << jsons[i];
      ASSERT_FALSE(results[i]->duplicate);
    }
    done += batch_size;
    if (after_batch) after_batch();
  }
}

// Position of a key text in the order Totals promises (markets by id, months
// in time, enums by number, regions by code).
int64_t Rank(Dimension dimension, const std::string& text) {
  switch (dimension) {
    case Dimension::kMonth:
      return std::stoll(text.substr(0, 4)) * 100 + std::stoll(text.substr(5));
    case Dimension::kType:
      return kTypeNumbers.at(text);
    case Dimension::kField:
      return kFieldNumbers.at(text);
    case Dimension::kMode:
      return kModeNumbers.at(text);
    case Dimension::kSellerRegion:
    case Dimension::kBuyerRegion:
      return std::stoll(text);
    case Dimension::kMarket:
    case Dimension::kRound:  // compared as text, like markets
      break;
  }
  return 0;
}

bool KeysBefore(const std::vector<Dimension>& by, const std::vector<std::string>& a,
                const std::vector<std::string>& b) {
  for (size_t i = 0; i < by.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (by[i] == Dimension::kMarket || by[i] == Dimension::kRound) return a[i] < b[i];
    return Rank(by[i], a[i]) < Rank(by[i], b[i]);
  }
  return false;
}

// The node answers `query` as the model does, rows in order.
void ExpectTotalsMatchModel(const Log& log, const Model& model, const TotalsQuery& query,
                            const std::string& what) {
  SCOPED_TRACE(what);
  StatusOr<TotalsResult> result = log.Totals(query);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  Values total;
  Grouped actual = Collect(*result, &total);
  Values expected_total;
  Grouped expected = model.Expect(query, &expected_total);
  EXPECT_EQ(total, expected_total);
  EXPECT_EQ(actual.size(), expected.size());
  int shown = 0;
  for (const auto& [keys, values] : expected) {
    auto it = actual.find(keys);
    if (it == actual.end() || it->second != values) {
      if (shown++ < 5) {
        ADD_FAILURE() << "group " << testing::PrintToString(keys) << ": want "
                      << testing::PrintToString(values) << ", got "
                      << (it == actual.end() ? "nothing" : testing::PrintToString(it->second));
      }
    }
  }
  for (const auto& [keys, values] : actual) {
    if (expected.count(keys) == 0 && shown++ < 5) {
      ADD_FAILURE() << "unexpected group " << testing::PrintToString(keys);
    }
  }
  for (size_t i = 1; i < result->rows.size(); ++i) {
    EXPECT_TRUE(KeysBefore(query.by, result->rows[i - 1].keys, result->rows[i].keys))
        << "rows out of order at " << i;
  }
  EXPECT_EQ(HexEncode(result->digest), HexEncode(model.Digest()));
}

TotalsQuery Query(std::vector<Dimension> by, bool deals = false, int32_t from = kAllFrom,
                  int32_t to = kAllTo, std::vector<std::string> markets = {}) {
  TotalsQuery query;
  query.by = std::move(by);
  query.deals = deals;
  query.from_month = from;
  query.to_month = to;
  query.markets = std::move(markets);
  return query;
}

void ExpectAllTotalsMatchModel(const Log& log, const Model& model, Workload* workload) {
  ExpectTotalsMatchModel(log, model, Query(kVolumeBy), "market,month,type,field");
  ExpectTotalsMatchModel(log, model, Query(kFlowBy), "market,month,seller,buyer");
  ExpectTotalsMatchModel(
      log, model, Query({Dimension::kMonth, Dimension::kSellerRegion, Dimension::kBuyerRegion}),
      "month,seller,buyer");
  ExpectTotalsMatchModel(log, model, Query({Dimension::kType}), "type");
  ExpectTotalsMatchModel(log, model, Query({Dimension::kField, Dimension::kType}), "field,type");
  ExpectTotalsMatchModel(log, model, Query({Dimension::kBuyerRegion}), "buyer");
  ExpectTotalsMatchModel(log, model, Query({}), "no grouping");
  ExpectTotalsMatchModel(log, model, Query({}, false, kAllFrom, kAllTo, {"xining"}),
                         "market filter");
  ExpectTotalsMatchModel(log, model, Query(kDealBy, true), "deals market,month,mode");
  ExpectTotalsMatchModel(log, model, Query({Dimension::kMode}, true), "deals mode");
  ExpectTotalsMatchModel(log, model, Query({}, true), "deals, no grouping");
  for (int i = 0; i < 3; ++i) {
    int64_t a = workload->Uniform(0, 23);
    int64_t b = workload->Uniform(0, 23);
    if (a > b) std::swap(a, b);
    int32_t from = static_cast<int32_t>(202101 + a / 12 * 100 + a % 12);
    int32_t to = static_cast<int32_t>(202101 + b / 12 * 100 + b % 12);
    std::string range = std::to_string(from) + ".." + std::to_string(to);
    ExpectTotalsMatchModel(log, model,
                           Query({Dimension::kMonth, Dimension::kType}, false, from, to),
                           "month,type " + range);
    ExpectTotalsMatchModel(log, model, Query({Dimension::kSellerRegion}, false, from, to),
                           "seller " + range);
    ExpectTotalsMatchModel(log, model, Query({}, false, from, to), "total " + range);
    ExpectTotalsMatchModel(log, model, Query({Dimension::kMode}, true, from, to),
                           "deals mode " + range);
  }
}

// Random valid workloads, appended in random batches, leave exactly the
// rows, digest and totals that a naive fold of the views.h rules computes.
TEST(ViewsTest, RandomWorkloadsMatchANaiveModel) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    test::TempDir dir;
    auto log = test::InitAndOpen(dir.path());
    ASSERT_NE(log, nullptr);
    Model model;
    Workload workload(seed, "xining", &model);
    int batches = 0;
    AppendWorkload(log.get(), &workload, 500, [&] {
      ++batches;
      EXPECT_EQ(Digest(*log), HexEncode(model.Digest())) << "after batch " << batches;
      if (batches % 5 == 0) {
        ExpectTotalsMatchModel(*log, model, Query(kVolumeBy), "volume, mid-way");
        // Some of the merged page differences go to disk, later ones stay
        // in the memtable on top of them.
        EXPECT_TRUE(log->store()
                        ->db()
                        ->Flush(rocksdb::FlushOptions(), log->store()->handle(Column::kViews))
                        .ok());
      }
    });
    if (HasFatalFailure()) return;
    EXPECT_EQ(log->size(), 500u);
    EXPECT_EQ(StoredDigest(*log->store()), HexEncode(model.Digest()));
    ExpectAllTotalsMatchModel(*log, model, &workload);
    ASSERT_TRUE(log->store()
                    ->db()
                    ->CompactRange(rocksdb::CompactRangeOptions(),
                                   log->store()->handle(Column::kViews), nullptr, nullptr)
                    .ok());
    EXPECT_EQ(StoredDigest(*log->store()), HexEncode(model.Digest())) << "after compaction";
    if (HasFailure()) return;  // one seed's failures are enough to read
  }
}

// ---- Rebuild. ----

// Rebuilding sound views reproduces them; rebuilding damaged ones (a changed
// row, a deleted row, a row that should not exist) restores the original
// rows, digest and totals.
TEST(ViewsTest, RebuildRestoresDamagedViews) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  Model model;
  Workload workload(77, "xining", &model);
  AppendWorkload(log.get(), &workload, 400);
  ASSERT_FALSE(HasFatalFailure());
  const std::string original = Digest(*log);
  ASSERT_EQ(original, HexEncode(model.Digest()));
  const std::string original_rows = test::ColumnsDigest(*log->store(), {Column::kViews});

  StatusOr<Log::RebuildReport> report = log->RebuildViews();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(HexEncode(report->before), original);
  EXPECT_EQ(HexEncode(report->after), original);
  EXPECT_EQ(report->entries, 400u);
  EXPECT_EQ(Digest(*log), original);
  EXPECT_EQ(test::ColumnsDigest(*log->store(), {Column::kViews}), original_rows);

  // Damage the views with the log closed (it reads through its snapshot).
  log.reset();
  {
    auto store = Store::Open(DatabasePath(dir.path()), StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::unique_ptr<rocksdb::Iterator> it(
        (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->handle(Column::kViews)));
    // Pages: the first record of the first volume page gets one more
    // contract, the first flow page goes, and a bogus deal page appears.
    std::string volume_key, volume_value, flow_key;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      char kind = it->key()[0];
      if (kind == 'v' && volume_key.empty()) {
        volume_key = it->key().ToString();
        volume_value = it->value().ToString();
      }
      if (kind == 'f' && flow_key.empty()) flow_key = it->key().ToString();
    }
    ASSERT_TRUE(it->status().ok());
    ASSERT_FALSE(volume_key.empty());
    ASSERT_FALSE(flow_key.empty());
    it.reset();
    ASSERT_EQ(volume_value.size() % 42, 0u);
    std::string damaged = volume_value.substr(0, 2) +
                          Be64(static_cast<uint64_t>(FromBe64(volume_value.substr(2)) + 1)) +
                          volume_value.substr(10);
    rocksdb::WriteBatch batch;
    auto* views = (*store)->handle(Column::kViews);
    ASSERT_TRUE(batch.Put(views, volume_key, damaged).ok());
    ASSERT_TRUE(batch.Delete(views, flow_key).ok());
    ASSERT_TRUE(batch
                    .Put(views, KeyHead('d', "xining", 209912),
                         std::string(1, '\x02') + EncodeValues(D(7, 700), 2))
                    .ok());
    ASSERT_TRUE((*store)->Write(&batch, /*sync=*/true).ok());
  }
  auto reopened = Log::Open(dir.path(), LogOptions());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  log = std::move(*reopened);
  const std::string damaged = Digest(*log);
  EXPECT_NE(damaged, original);
  Values total;
  TotalsBy(*log, {}, false, kAllFrom, kAllTo, &total);
  Values model_total;
  model.Expect(Query({}), &model_total);
  EXPECT_EQ(total[0], model_total[0] + 1) << "the damaged row is what Totals reads";

  report = log->RebuildViews();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(HexEncode(report->before), damaged);
  EXPECT_NE(report->before, report->after);
  EXPECT_EQ(HexEncode(report->after), original);
  EXPECT_EQ(report->entries, 400u);
  EXPECT_EQ(Digest(*log), original);
  EXPECT_EQ(test::ColumnsDigest(*log->store(), {Column::kViews}), original_rows);
  ExpectAllTotalsMatchModel(*log, model, &workload);

  // The rebuilt rows are the ones later appends build on.
  AppendWorkload(log.get(), &workload, 50);
  EXPECT_EQ(Digest(*log), HexEncode(model.Digest()));
}

// A views row too damaged to decode (a value of the wrong size) is damage
// to a projection, not to the log: the node still opens, and rebuilding the
// views replaces the row with the right one.
TEST(ViewsTest, RebuildRepairsUndecodableRows) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  Model model;
  Workload workload(78, "xining", &model);
  AppendWorkload(log.get(), &workload, 100);
  ASSERT_FALSE(HasFatalFailure());
  const std::string original = Digest(*log);
  ASSERT_EQ(original, HexEncode(model.Digest()));

  log.reset();
  {
    auto store = Store::Open(DatabasePath(dir.path()), StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::unique_ptr<rocksdb::Iterator> it(
        (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->handle(Column::kViews)));
    it->Seek("v");
    ASSERT_TRUE(it->Valid());
    std::string key = it->key().ToString();
    ASSERT_EQ(key[0], 'v');
    it.reset();
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put((*store)->handle(Column::kViews), key, std::string(39, '\x01')).ok());
    ASSERT_TRUE((*store)->Write(&batch, /*sync=*/true).ok());
  }
  auto reopened = Log::Open(dir.path(), LogOptions());
  ASSERT_TRUE(reopened.ok()) << "a damaged views row keeps the node from opening, so `views "
                                "rebuild` cannot repair it: "
                             << reopened.status().ToString();
  log = std::move(*reopened);
  // Until rebuilt, queries report the damage, and appends (which would build
  // on it) are refused without writing anything.
  EXPECT_EQ(log->ViewDigest().status().code(), Status::Code::kDataLoss);
  EXPECT_EQ(log->Totals(TotalsQuery()).status().code(), Status::Code::kDataLoss);
  uint64_t size = log->size();
  auto refused = log->Append({test::Entry(test::ContractJson("AFTER-DAMAGE"))});
  EXPECT_EQ(refused[0].status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(refused[0].status().message().find("views rebuild"), std::string::npos);
  EXPECT_EQ(log->size(), size);
  StatusOr<Log::RebuildReport> report = log->RebuildViews();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_NE(report->before, report->after);
  EXPECT_EQ(HexEncode(report->after), original);
  EXPECT_EQ(Digest(*log), original);
  EXPECT_TRUE(log->Append({test::Entry(test::ContractJson("AFTER-REBUILD"))})[0].ok());
}

// ---- Interleavings of origins. ----

struct Stream {
  uint32_t origin_id;
  std::string market;
  std::vector<std::string> entries;  // bytes, heap-allocated and so aligned
};

// Folds the streams in the order `order` names them (each stream's own
// order kept) with a store-less accumulator, as a node holding both would.
std::map<std::string, std::string> Fold(const std::vector<Stream>& streams,
                                        const std::vector<size_t>& order, Hash* digest) {
  std::vector<StateOverlay> overlays;
  for (const Stream& stream : streams) overlays.emplace_back(nullptr, stream.origin_id);
  std::vector<uint64_t> next(streams.size(), 0);
  ViewAccumulator accumulator(nullptr);
  for (size_t which : order) {
    const std::string& bytes = streams[which].entries[next[which]];
    StatusOr<Effect> effect = overlays[which].Check(*fb::GetEntry(bytes.data()), next[which]);
    EXPECT_TRUE(effect.ok()) << effect.status().ToString();
    if (!effect.ok()) return {};
    Status added = accumulator.Add(streams[which].market, *effect);
    EXPECT_TRUE(added.ok()) << added.ToString();
    overlays[which].Apply(*effect);
    ++next[which];
  }
  std::map<std::string, std::string> rows = accumulator.EncodedRows();
  ViewDigester digester;
  for (const auto& [key, value] : rows) digester.AddRow(key, value);
  *digest = digester.Finish();
  return rows;
}

// Two origins' streams folded in any interleaving give the same rows and
// digest, and those are the rows of the naive model of both markets; the
// store-backed fold of a Log agrees with the store-less one.
TEST(ViewsTest, InterleavingsOfOriginsGiveTheSameRows) {
  constexpr int kEntriesPerOrigin = 300;
  Model both;
  Model xining_only;
  Workload a(101, "xining", &both);
  Workload a_copy(101, "xining", &xining_only);  // same seed: the same events
  Workload b(202, "wuhan", &both);
  std::vector<Stream> streams = {{1, "xining", {}}, {2, "wuhan", {}}};
  for (int i = 0; i < kEntriesPerOrigin; ++i) {
    std::string json = a.Next();
    ASSERT_EQ(a_copy.Next(), json);
    streams[0].entries.push_back(test::Entry(json));
    streams[1].entries.push_back(test::Entry(b.Next()));
  }
  const std::map<std::string, std::string> expected_rows = both.EncodedRows();
  const Hash expected_digest = both.Digest();

  std::vector<std::vector<size_t>> orders;
  std::vector<size_t> a_then_b(kEntriesPerOrigin, 0);
  a_then_b.resize(2 * kEntriesPerOrigin, 1);
  orders.push_back(a_then_b);
  orders.push_back(std::vector<size_t>(a_then_b.rbegin(), a_then_b.rend()));
  std::vector<size_t> alternating;
  for (int i = 0; i < kEntriesPerOrigin; ++i) alternating.insert(alternating.end(), {0, 1});
  orders.push_back(alternating);
  std::mt19937_64 rng(303);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(a_then_b.begin(), a_then_b.end(), rng);
    orders.push_back(a_then_b);
  }
  for (size_t i = 0; i < orders.size(); ++i) {
    SCOPED_TRACE("interleaving " + std::to_string(i));
    Hash digest{};
    std::map<std::string, std::string> rows = Fold(streams, orders[i], &digest);
    EXPECT_TRUE(rows == expected_rows) << rows.size() << " rows, want " << expected_rows.size();
    EXPECT_EQ(HexEncode(digest), HexEncode(expected_digest));
  }

  // The Log folds the same xining stream through stored rows, batch by
  // batch, to the same digest.
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  for (size_t start = 0; start < streams[0].entries.size(); start += 37) {
    size_t end = std::min(start + 37, streams[0].entries.size());
    auto results = log->Append(std::vector<std::string>(streams[0].entries.begin() + start,
                                                        streams[0].entries.begin() + end));
    for (const auto& result : results) ASSERT_TRUE(result.ok()) << result.status().ToString();
  }
  Hash xining_digest{};
  Fold({streams[0]}, std::vector<size_t>(kEntriesPerOrigin, 0), &xining_digest);
  EXPECT_EQ(Digest(*log), HexEncode(xining_only.Digest()));
  EXPECT_EQ(Digest(*log), HexEncode(xining_digest));
}

// ---- Overflow. ----

// A registration whose amount would overflow an int64 total of its volume
// or flow row is rejected as OutOfRange naming the total, and writes
// nothing; the same contract in another month is fine.
TEST(ViewsTest, OverflowingTotalIsRejectedAndWritesNothing) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  const int64_t kMax = INT64_MAX;  // the largest amount ParseYuan accepts
  ContractInfo big = Contract("BIG", "2021-05-03");
  big.contract_fen = kMax;
  big.tech_fen = 0;
  ASSERT_NE(RegistrationJson(big, "commissioned").find("\"92233720368547758.07\""),
            std::string::npos);
  AppendOk(log.get(), RegistrationJson(big, "commissioned"));
  const std::vector<Column> columns = {Column::kEntries, Column::kViews, Column::kContracts,
                                       Column::kRequests, Column::kHashes};

  ContractInfo same_row = Contract("C2", "2021-05-20");  // same month, type, field, regions
  same_row.contract_fen = 100;
  same_row.tech_fen = 0;
  ContractInfo same_flow = Contract("C3", "2021-05-31");  // another volume row, same flow row
  same_flow.type = "service";
  same_flow.field = "aerospace";
  same_flow.contract_fen = 1;
  same_flow.tech_fen = 0;
  const std::vector<std::pair<ContractInfo, std::string>> overflowing = {{same_row, "commissioned"},
                                                                         {same_flow, "general"}};
  for (const auto& [c, subtype] : overflowing) {
    SCOPED_TRACE(c.id);
    std::string data = test::ColumnsDigest(*log->store(), columns);
    std::string digest = Digest(*log);
    uint64_t size = log->size();
    auto results = log->Append({test::Entry(RegistrationJson(c, subtype))});
    ASSERT_FALSE(results[0].ok());
    EXPECT_EQ(results[0].status().code(), Status::Code::kOutOfRange)
        << results[0].status().ToString();
    EXPECT_NE(results[0].status().message().find("contract_amount"), std::string::npos)
        << results[0].status().ToString();
    EXPECT_EQ(test::ColumnsDigest(*log->store(), columns), data);
    EXPECT_EQ(Digest(*log), digest);
    EXPECT_EQ(log->size(), size);
  }

  // The rejected contracts were not registered: the same ids are free in
  // June, in a batch that also holds overflowing entries; those leave no
  // part of their deltas in the rows the batch writes (C5 fits its volume
  // row but not its flow row).
  same_row.signed_on = "2021-06-01";
  ContractInfo again = Contract("C4", "2021-05-04");
  again.contract_fen = kMax;
  again.tech_fen = 0;
  ContractInfo flow_only = same_flow;
  flow_only.id = "C5";
  auto results = log->Append({test::Entry(RegistrationJson(same_row, "commissioned")),
                              test::Entry(RegistrationJson(flow_only, "general")),
                              test::Entry(RegistrationJson(again, "commissioned"))});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok()) << results[0].status().ToString();
  for (size_t i : {1, 2}) {
    ASSERT_FALSE(results[i].ok());
    EXPECT_EQ(results[i].status().code(), Status::Code::kOutOfRange);
  }
  EXPECT_EQ(log->size(), 2u);
  // One month at a time: the total of a query over both would overflow.
  EXPECT_EQ(TotalsBy(*log, kVolumeBy, false, 202105, 202105),
            (Grouped{{{"xining", "2021-05", "development", "biomedicine"}, V(1, kMax, 0, 0, 0)}}));
  EXPECT_EQ(TotalsBy(*log, kVolumeBy, false, 202106, 202106),
            (Grouped{{{"xining", "2021-06", "development", "biomedicine"}, V(1, 100, 0, 0, 0)}}));
  Model model;
  model.Register(big);
  model.Register(same_row);
  EXPECT_EQ(Digest(*log), HexEncode(model.Digest()));

  // Summing May and June overflows in the totals, which say so.
  StatusOr<TotalsResult> sum = log->Totals(Query(kMarketBy));
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), Status::Code::kOutOfRange);
  sum = log->Totals(Query(kVolumeBy));
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), Status::Code::kOutOfRange);

  // Deal totals are checked too.
  AppendOk(log.get(), TransferDealJson("D1", "license", kMax, "2021-05-03"));
  AppendRejected(log.get(), test::Entry(TransferDealJson("D2", "license", 1, "2021-05-31")),
                 Status::Code::kOutOfRange, "deal total");
  AppendOk(log.get(), TransferDealJson("D2", "equity", 1, "2021-05-31"));
}

}  // namespace
}  // namespace ledger
