// ledgerctl status: where every origin's log stands on this node, its peers
// and their lag (from the status document a running ledgerd keeps in the
// data directory, or serves at GET /v1/status with --node), and any evidence
// of equivocation.
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tools/cli_util.h"
#include "tools/ledgerctl.h"
#include "tools/node_client.h"

namespace ledger::cli {
namespace {

// A status document older than this is from a node that no longer runs.
constexpr int kStatusFreshSeconds = 5;

// The running node's status document, or null when no node runs.
nlohmann::json RunningNodeStatus(const std::string& dir) {
  std::string path = dir + "/status.json";
  struct stat info;
  if (::stat(path.c_str(), &info) != 0 ||
      std::time(nullptr) - info.st_mtime > kStatusFreshSeconds) {
    return nullptr;
  }
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json status = nlohmann::json::parse(text.str(), nullptr, false);
  return status.is_discarded() ? nullptr : status;
}

// Per peer: entries it lacks that we hold (lag) and entries it holds that we
// lack (behind), summed over origins. `ours`: our size by origin.
nlohmann::json PeersWithLag(const nlohmann::json& node,
                            const std::map<std::string, uint64_t>& ours) {
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& peer : node.value("peers", nlohmann::json::array())) {
    uint64_t lag = 0, behind = 0;
    nlohmann::json theirs = peer.value("heads", nlohmann::json::object());
    for (const auto& [origin, size] : ours) {
      uint64_t their = theirs.value(origin, uint64_t{0});
      lag += size > their ? size - their : 0;
      behind += their > size ? their - size : 0;
    }
    peers.push_back({{"market", peer.value("market", "")},
                     {"address", peer.value("address", "")},
                     {"dialed", peer.value("dialed", false)},
                     {"lag_entries", lag},
                     {"behind_entries", behind}});
  }
  return peers;
}

// Why an origin stopped, as text (a node's status document is not trusted
// to hold a string there).
std::string StoppedText(const nlohmann::json& reason) {
  return reason.is_string() ? reason.get<std::string>() : reason.dump();
}

// The status as `status --json` prints it, and as text.
int PrintStatus(const nlohmann::json& out, bool json) {
  if (json) {
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  std::printf("market %s, node %s\n", out["market"].get<std::string>().c_str(),
              out["node_running"].get<bool>() ? "running" : "not running");
  std::printf("%-28s %-12s %10s\n", "origin", "market", "size");
  for (const auto& origin : out["origins"]) {
    std::printf(
        "%-28s %-12s %10llu%s\n", origin["origin"].get<std::string>().c_str(),
        origin["market"].get<std::string>().c_str(),
        static_cast<unsigned long long>(origin["size"].get<uint64_t>()),
        origin.contains("stopped") ? ("  STOPPED: " + StoppedText(origin["stopped"])).c_str() : "");
  }
  for (const auto& peer : out["peers"]) {
    std::printf("peer %-12s %-22s %-8s lag %llu, behind %llu\n",
                peer["market"].get<std::string>().c_str(),
                peer["address"].get<std::string>().c_str(),
                peer["dialed"].get<bool>() ? "dialed" : "accepted",
                static_cast<unsigned long long>(peer["lag_entries"].get<uint64_t>()),
                static_cast<unsigned long long>(peer["behind_entries"].get<uint64_t>()));
  }
  std::printf("evidence: %zu\n", out["evidence"].size());
  for (const auto& item : out["evidence"]) {
    std::printf("--- %s: received\n%s--- held\n%s", item["origin"].get<std::string>().c_str(),
                item["theirs"].get<std::string>().c_str(), item["ours"].get<std::string>().c_str());
  }
  return kExitOk;
}

}  // namespace

int RunStatus(const std::string& dir, bool json) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  std::vector<OriginHead> heads = (*log)->Heads();
  StatusOr<std::vector<Equivocation>> evidence = (*log)->Evidence();
  if (!evidence.ok()) return Fail(evidence.status());
  nlohmann::json node = RunningNodeStatus(dir);
  nlohmann::json out = {{"market", (*log)->market_id()},
                        {"node_running", !node.is_null()},
                        {"origins", nlohmann::json::array()},
                        {"evidence", nlohmann::json::array()}};
  std::map<std::string, uint64_t> ours;
  for (const OriginHead& head : heads) {
    nlohmann::json origin = {{"market", head.market}, {"origin", head.origin}, {"size", head.size}};
    if (!head.equivocation.empty()) origin["stopped"] = head.equivocation;
    out["origins"].push_back(origin);
    ours[head.origin] = head.size;
  }
  for (const Equivocation& item : *evidence) {
    out["evidence"].push_back(
        {{"origin", item.origin}, {"theirs", item.theirs}, {"ours", item.ours}});
  }
  out["peers"] = node.is_null() ? nlohmann::json::array() : PeersWithLag(node, ours);
  return PrintStatus(out, json);
}

// The node's status document (GET /v1/status) holds the same facts: its
// origins, its peers' heads and the evidence in its database.
int RunStatusNode(NodeClient& node, bool json) {
  StatusOr<std::string> body = node.Get("/v1/status");
  if (!body.ok()) return Fail(body.status());
  nlohmann::json status = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object() || !status["market"].is_string() || !status["origins"].is_array()) {
    return Fail(Status::DataLoss("GET " + node.url() + "/v1/status: not a status document"));
  }
  nlohmann::json out = {{"market", status["market"]},
                        {"node_running", true},
                        {"origins", nlohmann::json::array()},
                        {"evidence", status.value("evidence", nlohmann::json::array())}};
  std::map<std::string, uint64_t> ours;
  for (const auto& head : status["origins"]) {
    nlohmann::json origin = {{"market", head.value("market", "")},
                             {"origin", head.value("origin", "")},
                             {"size", head.value("size", uint64_t{0})}};
    if (head.contains("equivocation")) origin["stopped"] = head["equivocation"];
    out["origins"].push_back(origin);
    ours[origin["origin"].get<std::string>()] = origin["size"].get<uint64_t>();
  }
  out["peers"] = PeersWithLag(status, ours);
  return PrintStatus(out, json);
}

}  // namespace ledger::cli
