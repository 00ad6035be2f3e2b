#include "tests/federation_harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "ledger/checkpoint.h"
#include "ledger/log.h"

namespace ledger::test {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

uint16_t FreePort() {
  // Below the kernel's ephemeral range: a port the kernel hands out (as
  // binding to port 0 would) can be taken by any outgoing connection, the
  // nodes' own dialers included, before the node listens on it.
  uint32_t ephemeral_low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
  constexpr uint32_t kLow = 10000;
  static std::mt19937 random(std::random_device{}());
  // The port stays reserved until this process exits: bound without
  // listening, first without SO_REUSEADDR (so no other socket holds it),
  // then with it, so that a node (which binds with SO_REUSEADDR) can listen
  // on it while a plain bind, such as another test's FreePort, is refused.
  static boost::asio::io_context io;
  static std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> reserved;
  const auto loopback = boost::asio::ip::make_address("127.0.0.1");
  for (int attempt = 0; ephemeral_low > kLow + 1000 && attempt < 1000; ++attempt) {
    const auto port = static_cast<uint16_t>(kLow + random() % (ephemeral_low - kLow));
    auto acceptor = std::make_unique<boost::asio::ip::tcp::acceptor>(io);
    boost::system::error_code error;
    acceptor->open(boost::asio::ip::tcp::v4(), error);
    if (!error) acceptor->bind(boost::asio::ip::tcp::endpoint(loopback, port), error);
    if (!error) acceptor->set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), error);
    if (error) continue;
    reserved.push_back(std::move(acceptor));
    return port;
  }
  boost::asio::ip::tcp::acceptor acceptor(io, boost::asio::ip::tcp::endpoint(loopback, 0));
  return acceptor.local_endpoint().port();
}

FederationHarness::FederationHarness(const std::string& root,
                                     const std::vector<std::string>& markets)
    : root_(root) {
  for (const std::string& market : markets) {
    NodeInfo node;
    node.market = market;
    node.dir = root + "/" + market;
    node.config = root + "/" + market + ".json";
    node.log = root + "/" + market + ".log";
    node.port = FreePort();
    node.advertised_port = node.port;
    StatusOr<std::string> vkey = Log::Init(node.dir, market, "techmarket.cn/" + market);
    EXPECT_TRUE(vkey.ok()) << vkey.status().ToString();
    nodes_.push_back(node);
  }
}

FederationHarness::~FederationHarness() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (running(i)) Kill(i);
  }
}

void FederationHarness::WriteConfigs(const std::map<size_t, std::string>& extra_node_json) {
  nlohmann::json federation;
  for (const NodeInfo& node : nodes_) {
    auto log = Log::Open(node.dir, LogOptions{.read_only = true});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::string vkey = (*log)->vkey();
    std::string witness = WitnessVkeyOf(*NoteVerifier::FromVkey(vkey));
    federation["markets"].push_back(
        {{"market", node.market},
         {"address", "127.0.0.1:" + std::to_string(node.advertised_port)},
         {"vkeys", {vkey, witness}},
         {"tls_identity", node.market + ".techmarket.test"}});
  }
  std::ofstream(root_ + "/federation.json") << federation.dump(2);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodeInfo& node = nodes_[i];
    nlohmann::json config = {{"data_dir", node.market},
                             {"federation", "federation.json"},
                             {"listen", "127.0.0.1:" + std::to_string(node.port)},
                             {"log_level", "debug"}};
    for (size_t partner : node.partners) config["partners"].push_back(nodes_[partner].market);
    auto extra = extra_node_json.find(i);
    if (extra != extra_node_json.end()) config.update(nlohmann::json::parse(extra->second));
    std::ofstream(node.config) << config.dump(2);
  }
}

void FederationHarness::AppendOffline(size_t i, const std::vector<std::string>& json_lines) {
  ASSERT_FALSE(running(i));
  auto log = Log::Open(nodes_[i].dir, LogOptions());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::vector<std::string> entries;
  for (const std::string& line : json_lines) entries.push_back(Entry(line));
  for (const auto& result : (*log)->Append(std::move(entries))) {
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  }
}

void FederationHarness::Start(size_t i) {
  NodeInfo& node = nodes_[i];
  ASSERT_FALSE(running(i));
  std::string tool = ToolPath("ledgerd");
  // A status document left by an earlier run must not pass for this one's.
  std::filesystem::remove(node.dir + "/status.json");
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(node.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execl(tool.c_str(), tool.c_str(), "--config", node.config.c_str(), nullptr);
    ::_exit(127);
  }
  node.pid = pid;
}

void FederationHarness::Stop(size_t i) {
  NodeInfo& node = nodes_[i];
  ASSERT_TRUE(running(i));
  ::kill(node.pid, SIGTERM);
  int status = 0;
  ::waitpid(node.pid, &status, 0);
  node.pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << node.market << " did not drain cleanly on SIGTERM (wait status " << status << "); log:\n"
      << ProcessLog(i);
}

void FederationHarness::Kill(size_t i) {
  NodeInfo& node = nodes_[i];
  ::kill(node.pid, SIGKILL);
  int status = 0;
  ::waitpid(node.pid, &status, 0);
  node.pid = -1;
}

uint64_t FederationHarness::StatusSize(size_t i, const std::string& market) const {
  nlohmann::json status =
      nlohmann::json::parse(ReadText(nodes_[i].dir + "/status.json"), nullptr, false);
  if (status.is_discarded() || !status.contains("origins")) return 0;
  for (const auto& origin : status["origins"]) {
    if (origin.value("market", "") == market) return origin.value("size", uint64_t{0});
  }
  return 0;
}

bool FederationHarness::WaitForSizes(const std::map<std::string, uint64_t>& sizes,
                                     int timeout_seconds) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (size_t i = 0; i < nodes_.size() && all; ++i) {
      if (!running(i)) continue;
      for (const auto& [market, size] : sizes) all &= StatusSize(i, market) == size;
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

NodeSnapshot FederationHarness::Snapshot(size_t i) const {
  NodeSnapshot snapshot;
  auto log = Log::Open(nodes_[i].dir, LogOptions{.read_only = true});
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return snapshot;
  for (const OriginHead& head : (*log)->Heads()) {
    std::string root;
    // Only the origin holds the signed checkpoint of its empty log.
    if (head.size > 0) {
      auto note = ParseNote(head.checkpoint);
      auto checkpoint =
          note.ok() ? ParseCheckpoint(note->text) : StatusOr<Checkpoint>(note.status());
      EXPECT_TRUE(checkpoint.ok());
      if (checkpoint.ok()) root = HexEncode(checkpoint->root);
    }
    snapshot.heads[head.market] = {head.size, root};
  }
  auto digest = (*log)->ViewDigest();
  EXPECT_TRUE(digest.ok());
  if (digest.ok()) snapshot.view_digest = HexEncode(*digest);
  auto evidence = (*log)->Evidence();
  if (evidence.ok()) snapshot.evidence = evidence->size();
  return snapshot;
}

std::string FederationHarness::ProcessLog(size_t i) const { return ReadText(nodes_[i].log); }

}  // namespace ledger::test
