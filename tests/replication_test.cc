// Replication between real ledgerd processes on loopback: rings, relays
// through a line, a receiver killed with SIGKILL mid catch-up, and a proxy
// that splits, delays, duplicates and resets. Every node must end with the
// same heads, signed roots and view digests.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/fault_proxy.h"
#include "tests/federation_harness.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

using test::FederationHarness;
using test::NodeSnapshot;

// `count` registrations, payments and amendments of one market.
std::vector<std::string> Events(const std::string& prefix, int first, int count) {
  std::vector<std::string> lines;
  for (int i = first; i < first + count; ++i) {
    std::string id = prefix + "-" + std::to_string(i);
    if (i % 5 == 4) {
      lines.push_back(test::PaymentJson(prefix + "-" + std::to_string(i - 1), "1000.00"));
    } else {
      lines.push_back(test::ContractJson(id, std::to_string(100000 + i) + ".00"));
    }
  }
  return lines;
}

// Stops every node and checks that all hold identical snapshots with the
// expected sizes.
void ExpectIdentical(FederationHarness& federation, const std::map<std::string, uint64_t>& sizes) {
  for (size_t i = 0; i < federation.size(); ++i) {
    if (federation.running(i)) federation.Stop(i);
  }
  NodeSnapshot first = federation.Snapshot(0);
  for (const auto& [market, size] : sizes) {
    EXPECT_EQ(first.heads[market].first, size) << market;
    EXPECT_EQ(first.heads[market].second.empty(), size == 0) << market;
  }
  EXPECT_FALSE(first.view_digest.empty());
  for (size_t i = 1; i < federation.size(); ++i) {
    NodeSnapshot other = federation.Snapshot(i);
    EXPECT_EQ(other.heads, first.heads) << federation.market(i);
    EXPECT_EQ(other.view_digest, first.view_digest) << federation.market(i);
  }
}

// POSTs JSON lines to a node's /v1/entries; returns the HTTP status.
int PostEntries(uint16_t port, const std::string& token, const std::vector<std::string>& lines) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return -1;
  http::request<http::string_body> request{http::verb::post, "/v1/entries", 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::authorization, "Bearer " + token);
  for (const std::string& line : lines) request.body() += line + "\n";
  request.prepare_payload();
  http::write(socket, request, ec);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  if (!ec) http::read(socket, buffer, response, ec);
  return ec ? -1 : static_cast<int>(response.result_int());
}

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override { ::signal(SIGPIPE, SIG_IGN); }
  test::TempDir dir_;
};

// Four markets in a ring, each with its own history (one longer than a
// chunk), converge; then a node restarted with new entries pushes them
// around the ring again.
TEST_F(ReplicationTest, RingConverges) {
  std::vector<std::string> markets = {"xining", "xian", "lanzhou", "wuhan"};
  FederationHarness federation(dir_.path(), markets);
  std::vector<int> counts = {300, 5000, 40, 900};
  std::map<std::string, uint64_t> sizes;
  for (size_t i = 0; i < markets.size(); ++i) {
    federation.SetPartners(i, {(i + 1) % markets.size()});
    federation.AppendOffline(i, Events(markets[i], 0, counts[i]));
    sizes[markets[i]] = counts[i];
  }
  federation.WriteConfigs();
  for (size_t i = 0; i < markets.size(); ++i) federation.Start(i);
  ASSERT_TRUE(federation.WaitForSizes(sizes, 60)) << federation.ProcessLog(0);

  federation.Stop(2);
  federation.AppendOffline(2, Events("lanzhou", 40, 700));
  sizes["lanzhou"] += 700;
  federation.Start(2);
  ASSERT_TRUE(federation.WaitForSizes(sizes, 60)) << federation.ProcessLog(2);

  // `ledgerctl status` beside the running node: every origin at its size, and
  // each partner caught up (no lag either way) once heads are exchanged.
  for (size_t i = 0; i < markets.size(); ++i) {
    nlohmann::json status;
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string output;
      ASSERT_EQ(test::RunCommand(
                    test::ToolPath("ledgerctl") + " --data " + federation.dir(i) + " status --json",
                    &output),
                0)
          << output;
      status = nlohmann::json::parse(output);
      bool caught_up = !status["peers"].empty();
      for (const auto& peer : status["peers"]) {
        caught_up &= peer["lag_entries"] == 0 && peer["behind_entries"] == 0;
      }
      if (caught_up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_TRUE(status["node_running"].get<bool>());
    for (const auto& origin : status["origins"]) {
      EXPECT_EQ(origin["size"].get<uint64_t>(), sizes[origin["market"].get<std::string>()]);
    }
    ASSERT_FALSE(status["peers"].empty()) << status.dump();
    for (const auto& peer : status["peers"]) {
      EXPECT_EQ(peer["lag_entries"], 0) << markets[i] << " " << status.dump();
      EXPECT_EQ(peer["behind_entries"], 0) << markets[i] << " " << status.dump();
    }
  }
  ExpectIdentical(federation, sizes);
}

// Three markets append through their HTTP APIs at the same time as they
// replicate: every node ends with every entry of every market, in each
// market's order, and identical views.
TEST_F(ReplicationTest, ConcurrentAppendsAtEveryNodeConverge) {
  std::vector<std::string> markets = {"xining", "xian", "lanzhou"};
  FederationHarness federation(dir_.path(), markets);
  const std::string token = "test-token-0123456789abcdef";
  std::map<size_t, std::string> api;
  std::vector<uint16_t> api_ports;
  for (size_t i = 0; i < markets.size(); ++i) {
    federation.SetPartners(i, {(i + 1) % markets.size()});
    std::ofstream(dir_.path() + "/" + markets[i] + ".token") << token << "\n";
    api_ports.push_back(test::FreePort());
    api[i] = R"({"api":{"listen":"127.0.0.1:)" + std::to_string(api_ports[i]) +
             R"(","token_file":")" + markets[i] + R"(.token"}})";
  }
  federation.WriteConfigs(api);
  for (size_t i = 0; i < markets.size(); ++i) federation.Start(i);
  constexpr int kCalls = 20, kPerCall = 50;
  std::vector<std::thread> clients;
  std::vector<int> failures(markets.size(), 0);
  for (size_t i = 0; i < markets.size(); ++i) {
    clients.emplace_back([&, i] {
      for (int call = 0; call < kCalls; ++call) {
        int status = -1;
        for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
          status = PostEntries(api_ports[i], token, Events(markets[i], call * kPerCall, kPerCall));
          if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        failures[i] += status != 200;
      }
    });
  }
  for (auto& client : clients) client.join();
  std::map<std::string, uint64_t> sizes;
  for (size_t i = 0; i < markets.size(); ++i) {
    EXPECT_EQ(failures[i], 0) << markets[i];
    sizes[markets[i]] = kCalls * kPerCall;
  }
  ASSERT_TRUE(federation.WaitForSizes(sizes, 60)) << federation.ProcessLog(0);
  ExpectIdentical(federation, sizes);
}

// In a line a - b - c, a and c never connect: their logs reach each other
// through b, which cannot forge them.
TEST_F(ReplicationTest, LineRelaysThroughTheMiddle) {
  FederationHarness federation(dir_.path(), {"ningbo", "luoyang", "yuncheng"});
  federation.SetPartners(0, {1});
  federation.SetPartners(1, {2});
  federation.AppendOffline(0, Events("ningbo", 0, 1200));
  federation.AppendOffline(2, Events("yuncheng", 0, 500));
  federation.WriteConfigs();
  for (size_t i = 0; i < 3; ++i) federation.Start(i);
  std::map<std::string, uint64_t> sizes = {{"ningbo", 1200}, {"luoyang", 0}, {"yuncheng", 500}};
  ASSERT_TRUE(federation.WaitForSizes(sizes, 60)) << federation.ProcessLog(1);
  EXPECT_EQ(federation.ProcessLog(0).find("connected to yuncheng"), std::string::npos);
  ExpectIdentical(federation, sizes);
}

// A receiver killed with SIGKILL in the middle of a catch-up resumes from
// what it stored: after restart it converges, with no gap and no duplicate
// (equal signed roots over equal sizes mean identical entries).
TEST_F(ReplicationTest, ReceiverKilledMidCatchUpResumes) {
  FederationHarness federation(dir_.path(), {"pudong", "nanjing"});
  federation.SetPartners(1, {0});
  constexpr uint64_t kEntries = 40000;
  federation.AppendOffline(0, Events("pudong", 0, kEntries));
  federation.WriteConfigs();
  // The kill must land mid catch-up, however fast this machine catches up:
  // search for the moment by bisection, each time from a pristine copy of
  // the receiver: a kill before anything arrived comes later next time, one
  // after everything arrived earlier, until one stops it part way.
  std::string pristine = dir_.path() + "/nanjing-pristine";
  std::filesystem::copy(federation.dir(1), pristine, std::filesystem::copy_options::recursive);
  federation.Start(0);
  uint64_t stored = 0;
  int too_early_ms = 0, too_late_ms = 4000;
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int delay_ms = (too_early_ms + too_late_ms) / 2;
    federation.Start(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    federation.Kill(1);
    stored = federation.Snapshot(1).heads["pudong"].first;
    if (stored > 0 && stored < kEntries) break;
    (stored == 0 ? too_early_ms : too_late_ms) = delay_ms;
    // One slow start can pass for "too early" and close the interval on
    // the wrong side of the window: start the lower bound over.
    if (too_late_ms - too_early_ms < 4) too_early_ms = 0;
    std::filesystem::remove_all(federation.dir(1));
    std::filesystem::copy(pristine, federation.dir(1), std::filesystem::copy_options::recursive);
  }
  ASSERT_GT(stored, 0u) << "no kill landed mid catch-up";
  ASSERT_LT(stored, kEntries) << "no kill landed mid catch-up";
  federation.Start(1);
  std::map<std::string, uint64_t> sizes = {{"pudong", kEntries}, {"nanjing", 0}};
  ASSERT_TRUE(federation.WaitForSizes(sizes, 120)) << federation.ProcessLog(1);
  ExpectIdentical(federation, sizes);
}

// A market whose node is restored from an older copy of itself learns from
// its partner, which holds more of its log, that it signed more than it
// holds: it refuses appends instead of signing a second history (which the
// partner would record as equivocation), and keeps refusing after a restart.
TEST_F(ReplicationTest, NodeRestoredFromAnOlderCopyRefusesAppendsInsteadOfForking) {
  FederationHarness federation(dir_.path(), {"pudong", "nanjing"});
  federation.SetPartners(1, {0});
  federation.AppendOffline(0, Events("pudong", 0, 50));
  const std::string older = dir_.path() + "/pudong-older";
  std::filesystem::copy(federation.dir(0), older, std::filesystem::copy_options::recursive);
  federation.AppendOffline(0, Events("pudong", 50, 50));
  federation.WriteConfigs();
  federation.Start(0);
  federation.Start(1);
  ASSERT_TRUE(federation.WaitForSizes({{"pudong", 100}, {"nanjing", 0}}, 60))
      << federation.ProcessLog(1);
  federation.Stop(0);
  std::filesystem::remove_all(federation.dir(0));
  std::filesystem::copy(older, federation.dir(0), std::filesystem::copy_options::recursive);
  federation.Start(0);

  // The restored node's status shows why its own log stopped.
  std::string why;
  for (int i = 0; i < 300 && why.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream file(federation.dir(0) + "/status.json");
    nlohmann::json status = nlohmann::json::parse(file, nullptr, false);
    if (status.is_discarded() || !status.contains("origins")) continue;
    for (const auto& origin : status["origins"]) {
      if (origin.value("market", "") == "pudong") why = origin.value("equivocation", "");
    }
  }
  ASSERT_NE(why.find("own log is behind"), std::string::npos) << "status: " << why << "\n"
                                                              << federation.ProcessLog(0);
  EXPECT_NE(why.find("size 100, beyond the 50 entries held here"), std::string::npos) << why;
  EXPECT_NE(federation.ProcessLog(0).find("nanjing holds a checkpoint of this market's own log"),
            std::string::npos)
      << federation.ProcessLog(0);
  federation.Stop(0);
  federation.Stop(1);

  // Still refused after the restart: nothing is signed at index 50 again.
  {
    StatusOr<std::unique_ptr<Log>> log = Log::Open(federation.dir(0), LogOptions());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::vector<StatusOr<Receipt>> results =
        (*log)->Append({test::Entry(Events("pudong-late", 0, 1)[0])});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].status().code(), Status::Code::kFailedPrecondition)
        << results[0].status().ToString();
    EXPECT_EQ((*log)->size(), 50u);
  }
  // The partner still holds the whole log, and saw no equivocation.
  NodeSnapshot partner = federation.Snapshot(1);
  EXPECT_EQ(partner.heads["pudong"].first, 100u);
  EXPECT_EQ(partner.evidence, 0u);
}

// Every connection passes a proxy that splits the stream at random points,
// delays pieces, duplicates some (corrupting the stream) and resets some:
// nodes drop the bad connections, reconnect and still converge.
TEST_F(ReplicationTest, ConvergesThroughAFaultyNetwork) {
  std::vector<std::string> markets = {"xining", "wuhan", "nanjing"};
  FederationHarness federation(dir_.path(), markets);
  std::vector<std::unique_ptr<test::FaultProxy>> proxies;
  std::map<std::string, uint64_t> sizes;
  for (size_t i = 0; i < markets.size(); ++i) {
    test::FaultOptions options;
    options.seed = 7 + i;
    proxies.push_back(std::make_unique<test::FaultProxy>(federation.listen_port(i), options));
    federation.SetAdvertisedPort(i, proxies.back()->port());
    federation.SetPartners(i, {(i + 1) % markets.size()});
    federation.AppendOffline(i, Events(markets[i], 0, 600 + 150 * static_cast<int>(i)));
    sizes[markets[i]] = 600 + 150 * i;
  }
  federation.WriteConfigs();
  for (size_t i = 0; i < markets.size(); ++i) federation.Start(i);
  ASSERT_TRUE(federation.WaitForSizes(sizes, 120)) << federation.ProcessLog(0);
  uint64_t faults = 0;
  for (const auto& proxy : proxies) faults += proxy->resets() + proxy->duplicates();
  EXPECT_GT(faults, 0u) << "the proxy injected no fault: the test proved nothing";
  ExpectIdentical(federation, sizes);
}

}  // namespace
}  // namespace ledger
