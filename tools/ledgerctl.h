// The ledgerctl commands, one function each; ledgerctl.cc parses the flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ledger::cli {

int RunInit(const std::string& dir, const std::string& market, const std::string& origin);
int RunKey(const std::string& dir, bool witness);

struct AppendFlags {
  std::string file;  // "-" for standard input
  bool receipts = false;
  std::string actor;
};
int RunAppend(const std::string& dir, const AppendFlags& flags);
int RunImport(const std::string& dir, const AppendFlags& flags);

// An empty market means the node's own.
int RunLog(const std::string& dir, const std::string& market, uint64_t from,
           std::optional<uint64_t> limit, bool json);
// The latest checkpoint held followed by the witness cosignatures held for it.
int RunCheckpoint(const std::string& dir, const std::string& market);
int RunProofInclusion(const std::string& dir, const std::string& market, uint64_t index,
                      std::optional<uint64_t> size, bool json);
int RunProofConsistency(const std::string& dir, const std::string& market, uint64_t from,
                        uint64_t to, bool json);
int RunVerify(const std::string& dir);
// ledgerctl_export.cc. An empty market means the node's own.
int RunExport(const std::string& dir, const std::string& market, const std::string& to);
int RunProofBundle(const std::string& dir, const std::string& market, uint64_t index,
                   std::optional<uint64_t> size, const std::string& file);
// ledgerctl_backup.cc: a copy of the database in the new directory `to`,
// without the signing key.
int RunBackup(const std::string& dir, const std::string& to);

struct TotalsFlags {
  std::vector<std::string> markets;
  std::string from;  // YYYY-MM, or empty
  std::string to;
  std::vector<std::string> by;
  bool deals = false;
  std::string unit = "yuan";
  bool json = false;
};
int RunTotals(const std::string& dir, const TotalsFlags& flags);
int RunViewsDigest(const std::string& dir);
int RunViewsRebuild(const std::string& dir);
int RunStatus(const std::string& dir, bool json);

// The same commands through a running node's HTTP API (--node URL), with the
// same output; writes need the API's bearer token.
class NodeClient;
int RunAppendNode(NodeClient& node, const std::string& token, const AppendFlags& flags);
int RunBackupNode(NodeClient& node, const std::string& token, const std::string& to);
int RunImportNode(NodeClient& node, const std::string& token, const AppendFlags& flags);
int RunLogNode(NodeClient& node, const std::string& market, uint64_t from,
               std::optional<uint64_t> limit, bool json);
int RunCheckpointNode(NodeClient& node, const std::string& market);
int RunProofInclusionNode(NodeClient& node, const std::string& market, uint64_t index,
                          std::optional<uint64_t> size, bool json);
int RunProofConsistencyNode(NodeClient& node, const std::string& market, uint64_t from, uint64_t to,
                            bool json);
int RunTotalsNode(NodeClient& node, const TotalsFlags& flags);
int RunViewsDigestNode(NodeClient& node);
int RunStatusNode(NodeClient& node, bool json);

}  // namespace ledger::cli
