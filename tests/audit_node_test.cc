// ledger-audit against running ledgerd processes: a federation of three
// markets replicates, the auditor reads every log from one node's
// /v1/tiles routes and its published totals from /v1/totals, and passes;
// after the node's stored totals are altered by one fen behind its back,
// the same audit fails naming the row.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ledger/store.h"
#include "tests/federation_harness.h"
#include "tests/test_util.h"
#include "tools/workload.h"

namespace ledger {
namespace {

constexpr uint64_t kEntriesPerMarket = 400;

std::vector<std::string> Events(const std::string& prefix, uint64_t seed) {
  tools::WorkloadOptions options;
  options.seed = seed;
  options.id_prefix = prefix;
  tools::Workload workload(options);
  std::vector<std::string> lines;
  for (uint64_t i = 0; i < kEntriesPerMarket; ++i) lines.push_back(workload.Next());
  return lines;
}

// Adds one fen to the contract amount of the first volume row of `market`
// in the node's stored views, keeping the page well-formed.
void AlterStoredTotals(const std::string& node_dir, const std::string& market) {
  StatusOr<std::unique_ptr<Store>> store = Store::Open(DatabasePath(node_dir), StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  rocksdb::DB* db = (*store)->db();
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), (*store)->handle(Column::kViews)));
  std::string prefix = std::string("v") + static_cast<char>(market.size()) + market;
  it->Seek(prefix);
  ASSERT_TRUE(it->Valid() && it->key().starts_with(prefix));
  std::string page = it->value().ToString();
  // type(1) field(1) then contracts(8) contract_fen(8): its last byte.
  ASSERT_GE(page.size(), 2u + 40u);
  page[2 + 8 + 7] = static_cast<char>(page[2 + 8 + 7] + 1);
  ASSERT_TRUE(
      db->Put(rocksdb::WriteOptions(), (*store)->handle(Column::kViews), it->key(), page).ok());
}

TEST(AuditNodeTest, AuditsAFederationThroughANodeAndCatchesAlteredTotals) {
  test::TempDir dir;
  std::vector<std::string> markets = {"xining", "xian", "lanzhou"};
  test::FederationHarness federation(dir.path(), markets);
  std::map<size_t, std::string> api;
  std::vector<uint16_t> api_ports;
  for (size_t i = 0; i < markets.size(); ++i) {
    std::ofstream(dir.path() + "/" + markets[i] + ".token") << "test-token-0123456789abcdef\n";
    api_ports.push_back(test::FreePort());
    api[i] = R"({"api":{"listen":"127.0.0.1:)" + std::to_string(api_ports[i]) +
             R"(","token_file":")" + markets[i] + R"(.token"}})";
    federation.SetPartners(i, {(i + 1) % markets.size()});
    federation.AppendOffline(i, Events(markets[i] == "xining" ? "XN"
                                       : markets[i] == "xian" ? "XA"
                                                              : "LZ",
                                       7 + i));
  }
  federation.WriteConfigs(api);
  for (size_t i = 0; i < markets.size(); ++i) federation.Start(i);
  std::map<std::string, uint64_t> sizes;
  for (const std::string& market : markets) sizes[market] = kEntriesPerMarket;
  ASSERT_TRUE(federation.WaitForSizes(sizes, 60));

  std::string node = "http://127.0.0.1:" + std::to_string(api_ports[0]);
  std::string audit = test::ToolPath("ledger-audit") + " --trust " + dir.path() +
                      "/federation.json --node " + node + " --json";
  std::string output;
  ASSERT_EQ(test::RunCommand(audit, &output), 0) << output;
  nlohmann::json report = nlohmann::json::parse(output);
  EXPECT_TRUE(report["passed"].get<bool>());
  ASSERT_EQ(report["logs"].size(), 3u);
  for (const auto& log : report["logs"]) {
    EXPECT_EQ(log["entries_checked"], kEntriesPerMarket) << log.dump();
  }
  EXPECT_TRUE(report["totals"]["passed"].get<bool>());
  EXPECT_GT(report["totals"]["rows"].get<size_t>(), 50u);
  EXPECT_TRUE(report["totals"]["digest_compared"].get<bool>());

  // One market of the three: its rows are compared, the digest (which spans
  // all three) is not.
  output.clear();
  ASSERT_EQ(test::RunCommand(audit + " --market xining", &output), 0) << output;
  report = nlohmann::json::parse(output);
  ASSERT_EQ(report["logs"].size(), 1u);
  EXPECT_TRUE(report["totals"]["passed"].get<bool>());
  EXPECT_FALSE(report["totals"]["digest_compared"].get<bool>());
  EXPECT_GT(report["totals"]["rows"].get<size_t>(), 10u);

  federation.Stop(0);
  AlterStoredTotals(federation.dir(0), "xian");
  federation.Start(0);
  ASSERT_TRUE(federation.WaitForSizes(sizes, 60));
  output.clear();
  ASSERT_EQ(test::RunCommand(audit, &output), 1) << output;
  report = nlohmann::json::parse(output);
  EXPECT_FALSE(report["passed"].get<bool>());
  EXPECT_TRUE(report["logs"][0]["passed"].get<bool>()) << "the logs themselves are intact";
  std::string failure = report["first_failure"].get<std::string>();
  std::printf("first failure: %s\n", failure.c_str());
  EXPECT_NE(failure.find("totals"), std::string::npos) << failure;
  EXPECT_NE(failure.find("xian"), std::string::npos) << failure;
  EXPECT_NE(failure.find("contract_amount"), std::string::npos) << failure;
  // Audited alone, xian's altered rows are still caught; xining's are intact.
  output.clear();
  EXPECT_EQ(test::RunCommand(audit + " --market xian", &output), 1) << output;
  EXPECT_NE(output.find("contract_amount"), std::string::npos) << output;
  output.clear();
  EXPECT_EQ(test::RunCommand(audit + " --market xining", &output), 0) << output;

  // The text report names the same failure, and a bad trust file is a usage
  // error, not a failed audit.
  output.clear();
  ASSERT_EQ(test::RunCommand(test::ToolPath("ledger-audit") + " --trust " + dir.path() +
                                 "/federation.json --node " + node,
                             &output),
            1);
  EXPECT_NE(output.find("AUDIT FAILED: totals"), std::string::npos) << output;
  output.clear();
  EXPECT_EQ(test::RunCommand(
                test::ToolPath("ledger-audit") + " --trust /nonexistent --node " + node, &output),
            2)
      << output;
}

}  // namespace
}  // namespace ledger
