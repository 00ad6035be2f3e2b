// A federation of real ledgerd processes on loopback for integration tests:
// data directories, keys, federation.json and node.json files, starting,
// stopping and killing nodes, waiting for them to converge, and reading
// their databases once stopped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ledger/status.h"
#include "tests/test_util.h"

namespace ledger::test {

// A free TCP port on 127.0.0.1, outside the kernel's range for outgoing
// connections, reserved until the process exits (see the definition).
uint16_t FreePort();

// What a stopped node holds: per origin its size and signed root, and the
// digest of its views.
struct NodeSnapshot {
  std::map<std::string, std::pair<uint64_t, std::string>> heads;  // market -> size, root hex
  std::string view_digest;
  size_t evidence = 0;
  bool operator==(const NodeSnapshot& other) const {
    return heads == other.heads && view_digest == other.view_digest;
  }
};

class FederationHarness {
 public:
  // Creates one initialized node per market under `root`. Nothing runs yet.
  FederationHarness(const std::string& root, const std::vector<std::string>& markets);
  ~FederationHarness();  // kills every node still running

  size_t size() const { return nodes_.size(); }
  const std::string& market(size_t i) const { return nodes_[i].market; }
  const std::string& dir(size_t i) const { return nodes_[i].dir; }
  uint16_t listen_port(size_t i) const { return nodes_[i].port; }

  // The address partners use to reach node i (default: its listen port);
  // a proxy in between changes it. Takes effect in WriteConfigs.
  void SetAdvertisedPort(size_t i, uint16_t port) { nodes_[i].advertised_port = port; }
  // Node i dials each of `partners`.
  void SetPartners(size_t i, std::vector<size_t> partners) { nodes_[i].partners = partners; }
  // Writes federation.json and every node.json (extra JSON fields per node
  // may be merged in, e.g. TLS settings).
  void WriteConfigs(const std::map<size_t, std::string>& extra_node_json = {});

  // Appends `entries` JSON lines to node i's own log; the node must not run.
  void AppendOffline(size_t i, const std::vector<std::string>& json_lines);

  void Start(size_t i);
  void Stop(size_t i);  // SIGTERM, then waits; fails the test unless it exits 0
  void Kill(size_t i);  // SIGKILL, then waits
  bool running(size_t i) const { return nodes_[i].pid > 0; }

  // Node i's size of market's log from its status.json; 0 if unknown.
  uint64_t StatusSize(size_t i, const std::string& market) const;
  // Waits until every running node's status shows size[market] for every
  // market. False on timeout.
  bool WaitForSizes(const std::map<std::string, uint64_t>& sizes, int timeout_seconds) const;

  // Opens node i's database read-only (the node must not run).
  NodeSnapshot Snapshot(size_t i) const;
  // The text of node i's process log.
  std::string ProcessLog(size_t i) const;

 private:
  struct NodeInfo {
    std::string market;
    std::string dir;
    std::string config;
    std::string log;
    uint16_t port = 0;
    uint16_t advertised_port = 0;
    std::vector<size_t> partners;
    pid_t pid = -1;
  };
  std::string root_;
  std::vector<NodeInfo> nodes_;
};

}  // namespace ledger::test
