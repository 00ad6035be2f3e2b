// Tests of tools/audit_fold.h: the auditor's fold reproduces the totals a real
// node publishes (generated two-market logs, and a hand-written log checked
// row by row against sums worked out here), CompareTotals names every kind of
// difference in a published answer, and each stateful rule refuses what the
// ledger refuses while adding nothing.
#include "tools/audit_fold.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/totals.h"
#include "ledger/validate.h"
#include "schemas/entry_generated.h"
#include "tests/test_util.h"
#include "tools/workload.h"

namespace ledger::audit {
namespace {

using nlohmann::json;

// ---- Entries. ----

std::string Registration(const std::string& id, const std::string& type, const std::string& subtype,
                         const std::string& field, const std::string& seller_region,
                         const std::string& buyer_region, const std::string& amount,
                         const std::string& tech, const std::string& signed_on) {
  json entry = {
      {"event", "ContractRegistered"},
      {"contract_id", id},
      {"registration_no", "2021630100000001"},
      {"type", type},
      {"subtype", subtype},
      {"title", "盐湖卤水提锂吸附材料"},
      {"field", field},
      {"seller", {{"name", "青海大学"}, {"entity", "university"}, {"region", seller_region}}},
      {"buyer",
       {{"name", "某锂业股份有限公司"}, {"entity", "enterprise"}, {"region", buyer_region}}},
      {"contract_amount", amount},
      {"tech_amount", tech},
      {"signed_on", signed_on}};
  return entry.dump();
}

// A development contract in biomedicine between 630100 and 420100.
std::string Development(const std::string& id, const std::string& amount, const std::string& tech,
                        const std::string& signed_on) {
  return Registration(id, "development", "commissioned", "biomedicine", "630100", "420100", amount,
                      tech, signed_on);
}

std::string Amendment(const std::string& id, const std::string& amount, const std::string& tech,
                      const std::string& amended_on) {
  return json{{"event", "ContractAmended"}, {"contract_id", id},    {"contract_amount", amount},
              {"tech_amount", tech},        {"reason", "范围调整"}, {"amended_on", amended_on}}
      .dump();
}

std::string Termination(const std::string& id, const std::string& terminated_on) {
  return json{{"event", "ContractTerminated"},
              {"contract_id", id},
              {"reason", "双方协商解除"},
              {"terminated_on", terminated_on}}
      .dump();
}

std::string Deal(const std::string& id, const std::string& mode, const std::string& amount,
                 const std::string& signed_on) {
  return json{
      {"event", "TransferDealSigned"},
      {"deal_id", id},
      {"achievement_title", "枸杞多糖提纯技术"},
      {"mode", mode},
      {"institution",
       {{"name", "某研究所"}, {"entity", "research_institute"}, {"region", "630100"}}},
      {"enterprise", {{"name", "某药业有限公司"}, {"entity", "enterprise"}, {"region", "630100"}}},
      {"amount", amount},
      {"signed_on", signed_on}}
      .dump();
}

// The JSON with a request_id member added.
std::string WithRequestId(const std::string& entry_json, const std::string& request_id_hex) {
  json entry = json::parse(entry_json);
  entry["request_id"] = request_id_hex;
  return entry.dump();
}

// Folds entry bytes; a message if they do not verify or the fold refuses them.
std::optional<std::string> FoldBytes(Fold* fold, uint64_t index, const std::string& bytes) {
  StatusOr<const fb::Entry*> entry = VerifiedEntry(bytes);
  if (!entry.ok()) return "does not verify: " + entry.status().ToString();
  return fold->Add(index, **entry);
}

using test::PublishedBy;

Published Recomputed(const std::vector<const Fold*>& folds) {
  StatusOr<Published> published = RecomputeTotals(folds);
  EXPECT_TRUE(published.ok()) << published.status().ToString();
  return published.ok() ? *published : Published();
}

std::unique_ptr<Log> InitNode(const std::string& dir, const std::string& market) {
  StatusOr<std::string> vkey = Log::Init(dir, market, "techmarket.cn/" + market);
  EXPECT_TRUE(vkey.ok()) << vkey.status().ToString();
  StatusOr<std::unique_ptr<Log>> log = Log::Open(dir, LogOptions());
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

// Appends entries; every one must be accepted as new.
void AppendAll(Log* log, std::vector<std::string> entries) {
  size_t refused = 0;
  std::string first;
  for (const StatusOr<Receipt>& result : log->Append(std::move(entries))) {
    if (result.ok() && !result->duplicate) continue;
    if (refused++ == 0) first = result.ok() ? "duplicate" : result.status().ToString();
  }
  ASSERT_EQ(refused, 0u) << "the first: " << first;
}

// Entry bytes of `count` workload events, and how many of each event.
std::vector<std::string> WorkloadEntries(tools::WorkloadOptions options, size_t count,
                                         std::map<std::string, int>* events) {
  tools::Workload workload(std::move(options));
  JsonOptions json_options;
  json_options.recorded_at_ms = 1632787200000;
  json_options.default_actor = "workload";
  std::vector<std::string> entries;
  entries.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    std::string line = workload.Next();
    if (events != nullptr) ++(*events)[json::parse(line)["event"].get<std::string>()];
    StatusOr<std::string> bytes = EntryFromJson(line, json_options);
    EXPECT_TRUE(bytes.ok()) << bytes.status().ToString() << "\n" << line;
    if (bytes.ok()) entries.push_back(*std::move(bytes));
  }
  return entries;
}

// Copies the source's whole local log into the replica, one chunk per signed
// size, as a peer would serve it.
void Replicate(const Log& source, Log* replica) {
  StatusOr<std::vector<uint64_t>> sizes =
      source.SignedSizes(source.local_origin_id(), 0, source.size());
  ASSERT_TRUE(sizes.ok()) << sizes.status().ToString();
  uint64_t held = 0;
  for (uint64_t size : *sizes) {
    ReplicaChunk chunk;
    chunk.from = held;
    StatusOr<std::vector<std::string>> entries =
        source.ReadEntries(source.local_origin_id(), held, size);
    ASSERT_TRUE(entries.ok()) << entries.status().ToString();
    chunk.entries = *std::move(entries);
    StatusOr<std::string> checkpoint = source.CheckpointOf(source.local_origin_id(), size);
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
    chunk.checkpoint = *checkpoint;
    StatusOr<uint64_t> replicated = replica->Replicate(std::move(chunk));
    ASSERT_TRUE(replicated.ok()) << replicated.status().ToString();
    held = size;
  }
  ASSERT_EQ(held, source.size());
}

// ---- Agreement with the ledger. ----

// Two markets' generated logs (registrations, payments, amendments,
// terminations, deals), held by one node: the fold of what the node holds
// recomputes exactly the node's three answers, digest included.
TEST(AuditFoldTest, AgreesWithTheLedgerOnGeneratedLogs) {
  test::TempDir dir;
  auto xining = InitNode(dir.path() + "/xining", "xining");
  auto wuhan = InitNode(dir.path() + "/wuhan", "wuhan");
  ASSERT_TRUE(xining && wuhan);
  std::map<std::string, int> events;
  tools::WorkloadOptions xining_options;
  xining_options.seed = 20210928;
  // A matchmaking round with contracts registered on both sides.
  tools::RoundShare round{.id = "XN-WH-2021",
                          .name = "西宁—武汉科技成果转化对接会",
                          .markets = {"xining", "wuhan"},
                          .held_on = "2021-06-18",
                          .held_here = true,
                          .contracts = 7,
                          .amount_fen = 1234567800,
                          .partner_region = 420100};
  xining_options.rounds = {round};
  AppendAll(xining.get(), WorkloadEntries(xining_options, 4000, &events));
  tools::WorkloadOptions wuhan_options;
  wuhan_options.seed = 20211015;
  wuhan_options.id_prefix = "WH";
  wuhan_options.home_regions = {420100};
  round.held_here = false;
  round.contracts = 4;
  round.amount_fen = 98765400;
  round.partner_region = 630100;
  wuhan_options.rounds = {round};
  AppendAll(wuhan.get(), WorkloadEntries(wuhan_options, 3000, &events));
  for (const char* event : {"ContractRegistered", "PaymentReceived", "ContractAmended",
                            "ContractTerminated", "TransferDealSigned"}) {
    EXPECT_GT(events[event], 20) << event << ": the workload should exercise every event";
  }

  ASSERT_TRUE(wuhan
                  ->Trust({{"xining", xining->origin(), {xining->vkey()}},
                           {"wuhan", wuhan->origin(), {wuhan->vkey()}}})
                  .ok());
  Replicate(*xining, wuhan.get());

  // Fold what the wuhan node holds: its own log entry by entry, and its copy
  // of xining's in ranges.
  Fold wuhan_fold("wuhan");
  for (uint64_t i = 0; i < wuhan->size(); ++i) {
    StatusOr<std::string> bytes = wuhan->ReadEntry(i);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    ASSERT_EQ(FoldBytes(&wuhan_fold, i, *bytes), std::nullopt) << "wuhan index " << i;
  }
  Fold xining_fold("xining");
  StatusOr<OriginRecord> xining_origin = wuhan->OriginNamed(xining->origin());
  ASSERT_TRUE(xining_origin.ok()) << xining_origin.status().ToString();
  for (uint64_t from = 0; from < xining->size(); from += 1000) {
    uint64_t to = std::min<uint64_t>(from + 1000, xining->size());
    StatusOr<std::vector<std::string>> entries = wuhan->ReadEntries(xining_origin->id, from, to);
    ASSERT_TRUE(entries.ok()) << entries.status().ToString();
    for (uint64_t i = from; i < to; ++i) {
      ASSERT_EQ(FoldBytes(&xining_fold, i, (*entries)[i - from]), std::nullopt)
          << "xining index " << i;
    }
  }
  EXPECT_EQ(wuhan_fold.entries(), 3000u);
  EXPECT_EQ(xining_fold.entries(), 4000u);

  const std::vector<const Fold*> folds = {&wuhan_fold, &xining_fold};
  const Published published = PublishedBy(*wuhan);
  EXPECT_EQ(CompareTotals(folds, published), std::nullopt);
  // Parsed JSON equal member for member, rows in the node's order.
  const Published recomputed = Recomputed(folds);
  EXPECT_EQ(recomputed.volume, published.volume);
  EXPECT_EQ(recomputed.flows, published.flows);
  EXPECT_EQ(recomputed.deals, published.deals);
  EXPECT_EQ(recomputed.rounds, published.rounds);
  EXPECT_EQ(recomputed.round_deals, published.round_deals);
  // The round as the generator was told: 7 + 4 contracts, amounts summed exactly.
  EXPECT_EQ(published.rounds["total"],
            (json{{"contracts", 11}, {"contract_amount", "13333332.00"}}));
  StatusOr<Hash> digest = wuhan->ViewDigest();
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(recomputed.volume["digest"], HexEncode(*digest));
  // A meaningful comparison: many rows, both markets, terminations in them.
  EXPECT_GT(published.volume["rows"].size(), 500u);
  EXPECT_GT(published.flows["rows"].size(), 200u);
  EXPECT_GT(published.deals["rows"].size(), 60u);
  EXPECT_EQ(published.volume["rows"].front()["market"], "wuhan");
  EXPECT_EQ(published.volume["rows"].back()["market"], "xining");
  EXPECT_GT(published.volume["total"]["terminated"].get<int64_t>(), 20);

  // Leaving a market out is a difference, not an agreement on less.
  std::optional<std::string> partial = CompareTotals({&xining_fold}, published);
  ASSERT_TRUE(partial.has_value());
  EXPECT_NE(partial->find("market=wuhan"), std::string::npos) << *partial;
}

// The log below, folded and appended to a node.
std::vector<std::string> HandWrittenLog() {
  return {
      Development("C1", "1000.00", "800.00", "2021-03-05"),
      Registration("C2", "service", "training", "new_energy", "630100", "630100", "500.00",
                   "300.00", "2021-03-20"),
      Amendment("C1", "1200.00", "900.00", "2021-04-10"),
      Termination("C2", "2021-05-02"),
      test::PaymentJson("C1", "400.00", "2021-06-30"),
      // Up and back down within September: that month's rows net to zero
      // and do not exist.
      Amendment("C1", "1300.00", "1000.00", "2021-09-01"),
      Amendment("C1", "1200.00", "900.00", "2021-09-02"),
      Deal("D1", "license", "300000.00", "2021-07-01"),
      Deal("D2", "equity", "50.00", "2021-07-15"),
      test::MatchmakingJson("M1"),
  };
}

json ContractRow(std::initializer_list<std::pair<const char*, const char*>> keys, int64_t contracts,
                 const char* contract_amount, const char* tech_amount, const char* payments,
                 int64_t terminated) {
  json row = {
      {"market", "xining"},         {"contracts", contracts}, {"contract_amount", contract_amount},
      {"tech_amount", tech_amount}, {"payments", payments},   {"terminated", terminated}};
  for (const auto& [name, value] : keys) row[name] = value;
  return row;
}

json VolumeRow(const char* month, const char* type, const char* field, int64_t contracts,
               const char* contract_amount, const char* tech_amount, const char* payments,
               int64_t terminated) {
  return ContractRow({{"month", month}, {"type", type}, {"field", field}}, contracts,
                     contract_amount, tech_amount, payments, terminated);
}

json FlowRow(const char* month, const char* seller, const char* buyer, int64_t contracts,
             const char* contract_amount, const char* tech_amount, const char* payments,
             int64_t terminated) {
  return ContractRow({{"month", month}, {"seller_region", seller}, {"buyer_region", buyer}},
                     contracts, contract_amount, tech_amount, payments, terminated);
}

// Appends the hand-written log to a new xining node and folds it as read
// back.
void AppendAndFold(const std::string& dir, std::unique_ptr<Log>* log, Fold* fold) {
  *log = test::InitAndOpen(dir);
  ASSERT_NE(*log, nullptr);
  std::vector<std::string> entries;
  for (const std::string& entry : HandWrittenLog()) entries.push_back(test::Entry(entry));
  AppendAll(log->get(), entries);
  for (uint64_t i = 0; i < (*log)->size(); ++i) {
    StatusOr<std::string> bytes = (*log)->ReadEntry(i);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    ASSERT_EQ(FoldBytes(fold, i, *bytes), std::nullopt) << "index " << i;
  }
}

// Every row of a small log worked out by hand from the rules of DESIGN.md
// section 5: registrations in March, an amendment in April, a termination in
// May (amounts leave, payments stay), a payment in June, an amendment undone
// within September (no row), and two deals in July. The node agrees.
TEST(AuditFoldTest, HandWrittenLogGivesHandComputedTotals) {
  test::TempDir dir;
  std::unique_ptr<Log> log;
  Fold fold("xining");
  ASSERT_NO_FATAL_FAILURE(AppendAndFold(dir.path(), &log, &fold));
  EXPECT_EQ(fold.entries(), 10u);
  const Published recomputed = Recomputed({&fold});

  const json volume_rows = {
      VolumeRow("2021-03", "development", "biomedicine", 1, "1000.00", "800.00", "0.00", 0),
      VolumeRow("2021-03", "service", "new_energy", 1, "500.00", "300.00", "0.00", 0),
      VolumeRow("2021-04", "development", "biomedicine", 0, "200.00", "100.00", "0.00", 0),
      VolumeRow("2021-05", "service", "new_energy", -1, "-500.00", "-300.00", "0.00", 1),
      VolumeRow("2021-06", "development", "biomedicine", 0, "0.00", "0.00", "400.00", 0),
  };
  const json contract_total = {{"contracts", 1},
                               {"contract_amount", "1200.00"},
                               {"tech_amount", "900.00"},
                               {"payments", "400.00"},
                               {"terminated", 1}};
  EXPECT_EQ(recomputed.volume["rows"], volume_rows);
  EXPECT_EQ(recomputed.volume["total"], contract_total);

  const json flow_rows = {
      FlowRow("2021-03", "630100", "420100", 1, "1000.00", "800.00", "0.00", 0),
      FlowRow("2021-03", "630100", "630100", 1, "500.00", "300.00", "0.00", 0),
      FlowRow("2021-04", "630100", "420100", 0, "200.00", "100.00", "0.00", 0),
      FlowRow("2021-05", "630100", "630100", -1, "-500.00", "-300.00", "0.00", 1),
      FlowRow("2021-06", "630100", "420100", 0, "0.00", "0.00", "400.00", 0),
  };
  EXPECT_EQ(recomputed.flows["rows"], flow_rows);
  EXPECT_EQ(recomputed.flows["total"], contract_total);

  const json deal_rows = {
      {{"market", "xining"},
       {"month", "2021-07"},
       {"mode", "license"},
       {"deals", 1},
       {"amount", "300000.00"}},
      {{"market", "xining"},
       {"month", "2021-07"},
       {"mode", "equity"},
       {"deals", 1},
       {"amount", "50.00"}},
  };
  EXPECT_EQ(recomputed.deals["rows"], deal_rows);
  EXPECT_EQ(recomputed.deals["total"], (json{{"deals", 2}, {"amount", "300050.00"}}));

  EXPECT_EQ(CompareTotals({&fold}, PublishedBy(*log)), std::nullopt);
}

// ---- CompareTotals. ----

// The published row of `answer` whose members include all of `keys`.
json* RowWith(json* answer, const json& keys) {
  for (json& row : (*answer)["rows"]) {
    bool match = true;
    for (const auto& [name, value] : keys.items()) match = match && row[name] == value;
    if (match) return &row;
  }
  ADD_FAILURE() << "no row with " << keys.dump();
  static json none;
  return &none;
}

// Expects CompareTotals to report a difference mentioning every one of
// `parts`.
void ExpectDifference(const Fold& fold, const Published& published,
                      const std::vector<std::string>& parts) {
  std::optional<std::string> difference = CompareTotals({&fold}, published);
  ASSERT_TRUE(difference.has_value()) << "no difference found";
  for (const std::string& part : parts) {
    EXPECT_NE(difference->find(part), std::string::npos) << "want \"" << part << "\" in\n"
                                                         << *difference;
  }
}

// A changed value, a dropped, added or repeated row, a changed total, a
// count given as text, an extra member and a changed digest in the node's
// answers are each reported, naming the row and both values.
TEST(AuditFoldTest, CompareTotalsNamesTheDifferingRow) {
  test::TempDir dir;
  std::unique_ptr<Log> log;
  Fold fold("xining");
  ASSERT_NO_FATAL_FAILURE(AppendAndFold(dir.path(), &log, &fold));
  const Published original = PublishedBy(*log);
  ASSERT_EQ(CompareTotals({&fold}, original), std::nullopt);
  const json april = {{"month", "2021-04"}, {"type", "development"}};

  Published p = original;
  (*RowWith(&p.volume, april))["contract_amount"] = "200.01";
  ExpectDifference(fold, p,
                   {"volume row market=xining month=2021-04 type=development field=biomedicine",
                    "contract_amount expected 200.00", "found 200.01"});

  p = original;
  (*RowWith(&p.flows, {{"month", "2021-05"}}))["contracts"] = 0;
  ExpectDifference(fold, p,
                   {"flows row market=xining month=2021-05 seller_region=630100 "
                    "buyer_region=630100",
                    "contracts expected -1", "found 0"});

  p = original;
  (*RowWith(&p.deals, {{"mode", "equity"}}))["amount"] = "51.00";
  ExpectDifference(fold, p,
                   {"deals row market=xining month=2021-07 mode=equity", "amount expected 50.00",
                    "found 51.00"});

  p = original;
  json& rows = p.volume["rows"];
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i]["month"] == "2021-06") rows.erase(i);
  }
  ASSERT_EQ(rows.size(), original.volume["rows"].size() - 1);
  ExpectDifference(fold, p,
                   {"volume row market=xining month=2021-06 type=development field=biomedicine",
                    "payments=400.00", "found no such row"});

  p = original;
  json added = *RowWith(&p.flows, {{"month", "2021-03"}, {"buyer_region", "420100"}});
  added["month"] = "2021-11";
  p.flows["rows"].push_back(added);
  ExpectDifference(fold, p,
                   {"flows row market=xining month=2021-11 seller_region=630100 "
                    "buyer_region=420100",
                    "expected no such row", "contract_amount=1000.00"});

  p = original;
  p.deals["rows"].push_back(p.deals["rows"][0]);
  ExpectDifference(fold, p, {"deals row market=xining month=2021-07 mode=license", "twice"});

  p = original;
  p.volume["total"]["payments"] = "400.01";
  ExpectDifference(fold, p, {"volume total", "payments expected 400.00", "found 400.01"});

  p = original;
  p.deals["total"]["deals"] = 3;
  ExpectDifference(fold, p, {"deals total", "deals expected 2", "found 3"});

  p = original;
  (*RowWith(&p.volume, april))["contracts"] = "0";
  ExpectDifference(fold, p, {"month=2021-04", "contracts expected 0", "found \"0\""});

  p = original;
  (*RowWith(&p.volume, april))["note"] = "x";
  ExpectDifference(fold, p, {"month=2021-04", "unexpected member \"note\""});

  p = original;
  std::string digest = p.flows["digest"].get<std::string>();
  digest[0] = digest[0] == '0' ? '1' : '0';
  p.flows["digest"] = digest;
  ExpectDifference(fold, p, {"flows digest", digest});

  p = original;
  p.volume.erase("rows");
  ExpectDifference(fold, p, {"volume", "\"rows\""});
}

// ---- The stateful rules. ----

// A node and a fold fed the same entries: what one accepts the other must,
// and each refusal must leave both unchanged.
class Both {
 public:
  explicit Both(Log* log) : log_(log), fold_("xining") {}

  void Accept(const std::string& entry_json) {
    SCOPED_TRACE(entry_json);
    std::string bytes = test::Entry(entry_json);
    std::vector<StatusOr<Receipt>> results = log_->Append({bytes});
    ASSERT_TRUE(results[0].ok()) << results[0].status().ToString();
    ASSERT_FALSE(results[0]->duplicate);
    EXPECT_EQ(FoldBytes(&fold_, results[0]->index, bytes), std::nullopt);
  }

  // `stateless`: the entry breaks a rule ValidateEntry checks as well.
  void Refuse(const std::string& entry_json, const std::vector<std::string>& parts,
              bool stateless = false) {
    SCOPED_TRACE(entry_json);
    std::string bytes = test::Entry(entry_json);
    StatusOr<const fb::Entry*> entry = VerifiedEntry(bytes);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(ValidateEntry(**entry).ok(), !stateless) << ValidateEntry(**entry).ToString();
    const Published before = Recomputed({&fold_});
    const uint64_t entries = fold_.entries();
    const uint64_t size = log_->size();

    std::optional<std::string> refusal = fold_.Add(size, **entry);
    ASSERT_TRUE(refusal.has_value()) << "the fold accepted it";
    for (const std::string& part : parts) {
      EXPECT_NE(refusal->find(part), std::string::npos) << "want \"" << part << "\" in\n"
                                                        << *refusal;
    }
    EXPECT_EQ(fold_.entries(), entries);
    const Published after = Recomputed({&fold_});
    EXPECT_EQ(after.volume, before.volume);
    EXPECT_EQ(after.flows, before.flows);
    EXPECT_EQ(after.deals, before.deals);

    // The node refuses it too (a repeated request id gets the earlier
    // receipt); either way nothing is appended.
    std::vector<StatusOr<Receipt>> results = log_->Append({bytes});
    EXPECT_TRUE(!results[0].ok() || results[0]->duplicate) << "the ledger accepted it";
    EXPECT_EQ(log_->size(), size);
  }

  const Fold& fold() const { return fold_; }

 private:
  Log* log_;
  Fold fold_;
};

// Each rule of the header, with the nearest accepted entry where there is a
// boundary; afterwards the fold still agrees with the node.
TEST(AuditFoldTest, RefusesWhatTheStatefulRulesForbid) {
  test::TempDir dir;
  auto log = test::InitAndOpen(dir.path());
  ASSERT_NE(log, nullptr);
  Both both(log.get());

  // Unknown contracts.
  both.Refuse(Amendment("U-1", "100.00", "50.00", "2021-05-01"),
              {"ContractAmended", "contract_id \"U-1\"", "not registered"});
  both.Refuse(test::PaymentJson("U-1", "10.00", "2021-05-01"),
              {"PaymentReceived", "\"U-1\"", "not registered"});
  both.Refuse(Termination("U-1", "2021-05-01"),
              {"ContractTerminated", "\"U-1\"", "not registered"});

  // Terminated contracts.
  both.Accept(Development("T-1", "1000.00", "800.00", "2021-03-01"));
  both.Accept(Termination("T-1", "2021-04-01"));
  both.Refuse(Amendment("T-1", "900.00", "800.00", "2021-05-01"),
              {"ContractAmended", "\"T-1\"", "terminated at index 1"});
  both.Refuse(test::PaymentJson("T-1", "10.00", "2021-05-01"), {"PaymentReceived", "terminated"});
  both.Refuse(Termination("T-1", "2021-05-01"), {"ContractTerminated", "terminated"});

  // Payments up to the contract amount, not beyond.
  both.Accept(Development("P-1", "1000.00", "800.00", "2021-03-01"));
  both.Accept(test::PaymentJson("P-1", "600.00", "2021-03-10"));
  both.Refuse(test::PaymentJson("P-1", "500.00", "2021-03-11"),
              {"PaymentReceived: amount 500.00 would bring payments of contract \"P-1\" to "
               "1100.00, above its contract amount 1000.00"});
  both.Accept(test::PaymentJson("P-1", "400.00", "2021-03-12"));
  // A refused entry leaves no trace, its request id included: the node
  // appended nothing, so a later request may reuse the id.
  const std::string retried_id = "0f0e0d0c0b0a09080706050403020100";
  both.Refuse(WithRequestId(test::PaymentJson("P-1", "0.01", "2021-03-13"), retried_id),
              {"to 1000.01"});
  both.Accept(WithRequestId(Development("P-2", "10.00", "5.00", "2021-03-13"), retried_id));

  // Amendments down to the payments received, not below; later payments
  // count against the amended amount.
  both.Accept(Development("A-1", "1000.00", "800.00", "2021-03-01"));
  both.Accept(test::PaymentJson("A-1", "600.00", "2021-03-10"));
  both.Refuse(Amendment("A-1", "599.99", "500.00", "2021-03-20"),
              {"ContractAmended", "contract_amount 599.99", "below the payments", "600.00"});
  both.Accept(Amendment("A-1", "600.00", "600.00", "2021-03-20"));
  both.Refuse(test::PaymentJson("A-1", "0.01", "2021-03-21"), {"above its contract amount 600.00"});

  // Dates no earlier than signed_on.
  both.Accept(Development("D-1", "1000.00", "800.00", "2021-06-15"));
  both.Refuse(Amendment("D-1", "900.00", "800.00", "2021-06-14"),
              {"ContractAmended", "amended_on 2021-06-14 is before signed_on 2021-06-15"});
  both.Refuse(test::PaymentJson("D-1", "10.00", "2021-06-14"), {"paid_on 2021-06-14"});
  both.Refuse(Termination("D-1", "2021-06-14"), {"terminated_on 2021-06-14"});
  both.Accept(test::PaymentJson("D-1", "10.00", "2021-06-15"));

  // Unique ids, terminated contracts included.
  both.Refuse(Development("P-1", "5.00", "5.00", "2021-08-01"),
              {"ContractRegistered", "contract_id \"P-1\"", "already registered", "index 2"});
  both.Refuse(Development("T-1", "5.00", "5.00", "2021-08-01"), {"\"T-1\"", "already registered"});
  both.Accept(Deal("DL-1", "license", "100.00", "2021-07-01"));
  both.Refuse(Deal("DL-1", "equity", "200.00", "2021-08-01"),
              {"TransferDealSigned", "deal_id \"DL-1\"", "already used"});
  both.Accept(test::MatchmakingJson("M-1"));
  both.Refuse(test::MatchmakingJson("M-1"),
              {"MatchmakingHeld", "matchmaking_id \"M-1\"", "already"});

  // A request id never repeats, whatever the entry.
  const std::string request_id = "00112233445566778899aabbccddeeff";
  both.Accept(WithRequestId(Development("R-1", "10.00", "5.00", "2021-02-01"), request_id));
  both.Refuse(WithRequestId(Development("R-2", "10.00", "5.00", "2021-02-01"), request_id),
              {"request_id " + request_id + " repeats the request of index 13"});

  // Sums beyond int64 fen.
  both.Accept(Registration("O-1", "consulting", "other", "nuclear", "110000", "110000",
                           "60000000000000000.00", "0.00", "2021-01-01"));
  both.Refuse(Registration("O-2", "consulting", "other", "nuclear", "110000", "110000",
                           "60000000000000000.00", "0.00", "2021-01-02"),
              {"contract_amount of market xining in 2021-01 would overflow"});

  // Stateless faults the fold's arithmetic relies on.
  both.Refuse(Development("S-1", "100.00", "100.01", "2021-02-01"),
              {"tech_amount 100.01 is above contract_amount 100.00"}, /*stateless=*/true);
  both.Refuse(Amendment("P-1", "1000.00", "1000.01", "2021-04-01"), {"tech_amount 1000.01"},
              /*stateless=*/true);
  both.Refuse(test::PaymentJson("D-1", "0.00", "2021-07-01"), {"amount 0.00 is not positive"},
              /*stateless=*/true);

  EXPECT_EQ(both.fold().entries(), log->size());
  EXPECT_EQ(CompareTotals({&both.fold()}, PublishedBy(*log)), std::nullopt);
}

// Two folds of one market cannot be combined.
TEST(AuditFoldTest, RecomputeRefusesAMarketFoldedTwice) {
  Fold a("xining");
  Fold b("xining");
  StatusOr<Published> published = RecomputeTotals({&a, &b});
  ASSERT_FALSE(published.ok());
  EXPECT_EQ(published.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(CompareTotals({&a, &b}, Published()), std::nullopt);
}

// ---- Speed (run by hand: --gtest_also_run_disabled_tests). ----

TEST(AuditFoldTest, DISABLED_AuditFoldSpeed) {
  constexpr size_t kEntries = 200000;
  tools::WorkloadOptions options;
  options.seed = 7;
  std::vector<std::string> entries = WorkloadEntries(options, kEntries, nullptr);
  ASSERT_EQ(entries.size(), kEntries);

  auto seconds_since = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  Fold fold("xining");
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < entries.size(); ++i) {
    ASSERT_EQ(FoldBytes(&fold, i, entries[i]), std::nullopt) << i;
  }
  double verify_and_fold = seconds_since(start);

  std::vector<const fb::Entry*> verified;
  for (const std::string& bytes : entries) verified.push_back(*VerifiedEntry(bytes));
  Fold fold_only("xining");
  start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < verified.size(); ++i) {
    ASSERT_EQ(fold_only.Add(i, *verified[i]), std::nullopt) << i;
  }
  double fold_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  StatusOr<Published> published = RecomputeTotals({&fold_only});
  ASSERT_TRUE(published.ok());
  double recompute_seconds = seconds_since(start);

  std::printf(
      "fold only: %.0f entries/s (%.3f us/entry); verify+fold: %.0f entries/s; "
      "RecomputeTotals: %.1f ms for %zu volume rows\n",
      kEntries / fold_seconds, fold_seconds * 1e6 / kEntries, kEntries / verify_and_fold,
      recompute_seconds * 1e3, published->volume["rows"].size());
}

}  // namespace
}  // namespace ledger::audit
