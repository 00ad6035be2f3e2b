// `ledgerctl --node URL` against a real ledgerd: every command prints what
// the same command prints on the database once the node has stopped, byte
// for byte; appends through the node report as direct appends do; and
// commands that need the database, bad URLs, tokens and markets fail with a
// message that says why.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/federation_harness.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

const std::string kToken = "node-test-token-0123456789";

class LedgerctlNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    federation_ =
        std::make_unique<test::FederationHarness>(dir_.path(), std::vector<std::string>{"xining"});
    uint16_t port = test::FreePort();
    url_ = "http://127.0.0.1:" + std::to_string(port);
    std::ofstream(dir_.path() + "/api.token") << kToken << "\n";
    federation_->WriteConfigs({{0, R"({"api":{"listen":"127.0.0.1:)" + std::to_string(port) +
                                       R"(","token_file":"api.token"}})"}});
  }

  // Starts the node and waits until its API answers.
  void StartNode() {
    federation_->Start(0);
    for (int attempt = 0; attempt < 100; ++attempt) {
      int code = -1;
      Node("status --json", &code);
      if (code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the API did not come up:\n" << federation_->ProcessLog(0);
  }

  std::string Run(const std::string& args, int* exit_code) {
    std::string output;
    int code = test::RunCommand("env -u LEDGER_TOKEN -u LEDGER_NODE -u LEDGER_DATA " +
                                    test::ToolPath("ledgerctl") + " " + args,
                                &output);
    if (exit_code != nullptr) *exit_code = code;
    return output;
  }
  std::string Node(const std::string& args, int* exit_code = nullptr) {
    return Run("--node " + url_ + " " + args, exit_code);
  }
  std::string Direct(const std::string& args, int* exit_code = nullptr) {
    return Run("--data " + federation_->dir(0) + " " + args, exit_code);
  }
  std::string File(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  test::TempDir dir_;
  std::unique_ptr<test::FederationHarness> federation_;
  std::string url_;
};

// A JSON Lines file with a line that is not an entry (3) and one the log
// refuses (4: a payment for an unknown contract).
std::string MixedLines() {
  return test::ContractJson("XN-A") + "\n" + test::ContractJson("XN-B") + "\n" +
         "{\"event\":\"ContractRegistered\",\"colour\":1}\n\n" + test::PaymentJson("NOPE", "1.00") +
         "\n" + test::PaymentJson("XN-A", "500.00") + "\n";
}

// Appends through the node report line by line as a direct append does, and
// every read command then prints through the node exactly what it prints on
// the stopped node's database.
TEST_F(LedgerctlNodeTest, NodeOutputMatchesTheDatabaseByteForByte) {
  StartNode();
  std::string token = "--token-file " + dir_.path() + "/api.token ";
  int code = 0;
  std::string mixed = File("mixed.jsonl", MixedLines());
  std::string appended = Node(token + "append " + mixed, &code);
  EXPECT_EQ(code, 1) << appended;
  // The same file appended directly to a fresh node says the same.
  std::string fresh = dir_.path() + "/fresh";
  ASSERT_EQ(
      (Run("--data " + fresh + " init --market xining --origin techmarket.cn/xining", &code), code),
      0);
  EXPECT_EQ(appended, Run("--data " + fresh + " append " + mixed, &code));
  EXPECT_NE(appended.find("line 3: InvalidArgument: "), std::string::npos) << appended;
  EXPECT_NE(appended.find("line 5: "), std::string::npos) << appended;
  EXPECT_NE(appended.find("appended 3, duplicates 0, rejected 2; log size 3"), std::string::npos)
      << appended;
  std::string csv = std::string(LEDGER_TEST_DATA_DIR) + "/contracts.csv";
  std::string imported = Node(token + "import " + csv + " --receipts", &code);
  ASSERT_EQ(code, 0) << imported;
  EXPECT_EQ(std::count(imported.begin(), imported.end(), '\n'), 12) << imported;
  EXPECT_NE(imported.find("{\"line\":2,\"index\":3,"), std::string::npos) << imported;
  std::string more = File("more.jsonl", test::DealJson("D-1") + "\n" + test::DealJson("D-2"));
  ASSERT_EQ((Node(token + "append " + more, &code), code), 0);

  const std::vector<std::string> commands = {
      "log --json",
      "log",
      "log --from 2 --limit 3 --json",
      "log --market xining --from 16",
      "log --from 99",
      "checkpoint",
      "checkpoint --market xining",
      "proof inclusion --index 0 --json",
      "proof inclusion --index 16",
      "proof inclusion --index 2 --size 3 --json",
      "proof inclusion --index 4 --size 9",
      "proof consistency --from 3 --to 15 --json",
      "proof consistency --from 1 --to 17",
      "proof consistency --from 15 --to 17 --market xining --json",
      "totals --json",
      "totals --by market,month --unit wan",
      "totals --deals --json",
      "totals --market xining --from 2021-01 --to 2021-06 --by type",
      "views digest",
  };
  std::vector<std::string> through_node;
  for (const std::string& command : commands) {
    through_node.push_back(Node(command, &code));
    EXPECT_EQ(code, 0) << command << ": " << through_node.back();
  }
  nlohmann::json status = nlohmann::json::parse(Node("status --json"));
  EXPECT_EQ(status["market"], "xining");
  EXPECT_EQ(status["node_running"], true);
  EXPECT_EQ(status["origins"][0]["size"], 17);
  federation_->Stop(0);

  for (size_t i = 0; i < commands.size(); ++i) {
    EXPECT_EQ(through_node[i], Direct(commands[i], &code)) << commands[i];
    EXPECT_EQ(code, 0) << commands[i];
  }
  // The comparisons above compare something: all 17 entries, and a proof.
  EXPECT_EQ(std::count(through_node[0].begin(), through_node[0].end(), '\n'), 17);
  EXPECT_NE(through_node[0].find("\"entry_b64\":\""), std::string::npos);
  EXPECT_NE(through_node[7].find("\"hashes\":[\""), std::string::npos) << through_node[7];
  EXPECT_EQ(through_node[4], "");  // --from past the end
}

// What needs the database refuses --node; bad URLs, ports, tokens and
// markets fail with exit code 2 and a message that names them; LEDGER_NODE
// stands in for --node.
TEST_F(LedgerctlNodeTest, MisuseFailsClearly) {
  StartNode();
  struct Case {
    std::string args;
    std::string message;
  };
  std::string token = "--token-file " + dir_.path() + "/api.token ";
  std::string wrong = File("wrong.token", "not-the-token-0123456789\n");
  std::string line = File("one.jsonl", test::ContractJson("XN-Z") + "\n");
  const Case cases[] = {
      {"--node " + url_ + " init --market a --origin b", "init works on the node's data directory"},
      {"--node " + url_ + " verify", "give --data DIR, not --node"},
      {"--node " + url_ + " key", "give --data DIR, not --node"},
      {"--node " + url_ + " views rebuild", "give --data DIR, not --node"},
      {"--node " + url_ + " proof inclusion --index 0 --bundle -", "--bundle"},
      {"--node https://127.0.0.1:1 log", "--node https://127.0.0.1:1: want http://host:port"},
      {"--node http://127.0.0.1:1 log", "GET http://127.0.0.1:1/v1/status: cannot connect"},
      {"--node " + url_ + " --data " + federation_->dir(0) + " log", "not both"},
      {"log", "give --data DIR or --node URL"},
      {"--node " + url_ + " append " + line, "--token-file"},
      {"--node " + url_ + " --token-file " + wrong + " append " + line,
       "401 Unauthorized: missing or wrong bearer token"},
      {"--node " + url_ + " log --market nowhere", "404 Not Found: market: "},
      {"--node " + url_ + " proof inclusion --index 5", "400 Bad Request: index: 5 is not below"},
      {"--node " + url_ + " totals --from 2021-13", "--from"},
  };
  for (const Case& c : cases) {
    int code = 0;
    std::string output = Run(c.args, &code);
    EXPECT_EQ(code, 2) << c.args << ": " << output;
    EXPECT_NE(output.find(c.message), std::string::npos) << c.args << ": " << output;
  }
  // Nothing was appended by the refused writes; the right token appends.
  int code = 0;
  EXPECT_EQ(Node("checkpoint").substr(0, 23), "techmarket.cn/xining\n0\n");
  EXPECT_NE(Node(token + "append " + line, &code).find("log size 1"), std::string::npos);
  EXPECT_EQ(code, 0);
  std::string through_env;
  EXPECT_EQ(test::RunCommand("env -u LEDGER_DATA LEDGER_NODE=" + url_ + " " +
                                 test::ToolPath("ledgerctl") + " checkpoint",
                             &through_env),
            0);
  EXPECT_EQ(through_env, Node("checkpoint"));
  EXPECT_EQ(through_env.substr(0, 23), "techmarket.cn/xining\n1\n");
}

// `backup` through a running node holds exactly the entries appended before
// it while the node appends on; the commands that do not sign run on the
// copy with --data. Through the node it needs the token and a new target;
// on the database it waits for the node to stop, and then copies what the
// node left, and a copy (which has no key) can itself be backed up.
TEST_F(LedgerctlNodeTest, BackupThroughTheNodeAndOnTheDatabase) {
  StartNode();
  std::string token = "--token-file " + dir_.path() + "/api.token ";
  int code = 0;
  std::string three =
      File("three.jsonl", test::ContractJson("XN-1") + "\n" + test::ContractJson("XN-2") + "\n" +
                              test::DealJson("D-1") + "\n");
  ASSERT_EQ((Node(token + "append " + three, &code), code), 0);
  const std::string totals_then = Node("totals --json");
  const std::string log_then = Node("log --json");

  const std::string backup = dir_.path() + "/backup";
  std::string output = Node(token + "backup --to " + backup, &code);
  ASSERT_EQ(code, 0) << output;
  EXPECT_NE(output.find("backed up to " + backup + " (without the signing key): xining 3\n"),
            std::string::npos)
      << output;
  std::string two = File(
      "two.jsonl", test::PaymentJson("XN-1", "500.00") + "\n" + test::ContractJson("XN-3") + "\n");
  ASSERT_EQ((Node(token + "append " + two, &code), code), 0);
  EXPECT_NE(Node("status --json").find("\"size\": 5"), std::string::npos);

  auto on_backup = [&](const std::string& args) {
    return Run("--data " + backup + " " + args, &code);
  };
  output = on_backup("verify");
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("verified 3 entries of techmarket.cn/xining"), std::string::npos) << output;
  EXPECT_EQ(on_backup("totals --json"), totals_then);
  EXPECT_EQ(on_backup("log --json"), log_then);
  EXPECT_EQ(std::count(log_then.begin(), log_then.end(), '\n'), 3);
  EXPECT_NE(totals_then, Node("totals --json"));  // the comparison above compares something

  // Refused through the node: an existing target (left as it was), no
  // token, a wrong token.
  std::string wrong = File("wrong.token", "not-the-token-0123456789\n");
  const std::pair<std::string, std::string> refused[] = {
      {token + "backup --to " + backup, "409 Conflict: backup: " + backup + " already exists"},
      {"backup --to " + dir_.path() + "/other", "--token-file"},
      {"--token-file " + wrong + " backup --to " + dir_.path() + "/other", "401 Unauthorized"},
  };
  for (const auto& [args, message] : refused) {
    output = Node(args, &code);
    EXPECT_EQ(code, 2) << args << ": " << output;
    EXPECT_NE(output.find(message), std::string::npos) << args << ": " << output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/other"));
  EXPECT_NE(on_backup("verify").find("verified 3 entries"), std::string::npos);

  // On the database: not while the node runs, then all five once it stopped.
  const std::string direct = dir_.path() + "/direct";
  output = Direct("backup --to " + direct, &code);
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find("is in use (is ledgerd running on it?"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(direct));
  federation_->Stop(0);
  output = Direct("backup --to " + direct, &code);
  ASSERT_EQ(code, 0) << output;
  EXPECT_NE(output.find("backed up to " + direct + " (without the signing key): xining 5\n"),
            std::string::npos)
      << output;
  output = Run("--data " + direct + " verify", &code);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("verified 5 entries"), std::string::npos) << output;
  EXPECT_EQ(Run("--data " + direct + " views digest", &code), Direct("views digest"));

  // A backup of the backup, which has no key.
  const std::string again = dir_.path() + "/again";
  output = on_backup("backup --to " + again);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("xining 3\n"), std::string::npos) << output;
  EXPECT_EQ(Run("--data " + again + " totals --json", &code), totals_then);
}

}  // namespace
}  // namespace ledger
