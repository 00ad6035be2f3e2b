// ledgerctl backup: a consistent copy of the node's database in a new
// directory (ledger::Log::Backup), made on the database or by a running node
// (POST /v1/backup).
//
// The copy is a data directory without the signing key (DIR/db only): every
// command that does not sign (verify, totals, log, proof, export, status,
// views digest, backup) runs on it with --data as on the node's own. To
// serve from it again, put the node's key.pem back beside db/.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tools/cli_util.h"
#include "tools/ledgerctl.h"
#include "tools/node_client.h"

namespace ledger::cli {
namespace {

// What a backup holds, printed the same whichever way it was made.
struct BackupSummary {
  std::string path;
  std::vector<std::pair<std::string, uint64_t>> sizes;  // market, entries held
  std::string view_digest;
};

int PrintSummary(const BackupSummary& summary) {
  std::string sizes;
  for (const auto& [market, size] : summary.sizes) {
    sizes += (sizes.empty() ? "" : ", ") + market + " " + std::to_string(size);
  }
  std::printf("backed up to %s (without the signing key): %s\nview digest %s\n",
              summary.path.c_str(), sizes.c_str(), summary.view_digest.c_str());
  return kExitOk;
}

// "/cwd/a/b" for "a/b/": the path the backup is made at and reported as.
std::string AbsoluteTarget(const std::string& to) {
  std::error_code ignored;
  std::filesystem::path path = std::filesystem::absolute(to, ignored).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();
  return path.string();
}

// A node's directory is opened as ledgerd opens it, so RocksDB's lock
// refuses while ledgerd runs on it: a copy made beside a running writer from
// a read-only view could miss files the writer deletes meanwhile. Without a
// key no node can run on the directory (it is itself a backup, say), and a
// read-only view is safe.
StatusOr<std::unique_ptr<Log>> OpenToBackUp(const std::string& dir) {
  std::error_code ignored;
  if (!std::filesystem::exists(KeyPath(dir), ignored)) return OpenLog(dir, /*read_only=*/true);
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/false);
  if (!log.ok() && log.status().message().find("lock") != std::string::npos) {
    return Status::FailedPrecondition(
        dir + " is in use (is ledgerd running on it? back up through it with --node URL): " +
        log.status().message());
  }
  return log;
}

}  // namespace

int RunBackup(const std::string& dir, const std::string& to) {
  StatusOr<std::unique_ptr<Log>> log = OpenToBackUp(dir);
  if (!log.ok()) return Fail(log.status());
  std::string path = AbsoluteTarget(to);
  if (Status made = (*log)->Backup(path); !made.ok()) return Fail(made);
  log->reset();
  // Reported from the copy itself, not from the database it was made of.
  StatusOr<std::unique_ptr<Log>> copy = OpenLog(path, /*read_only=*/true);
  if (!copy.ok()) return Fail(copy.status());
  BackupSummary summary{path, {}, ""};
  for (const OriginHead& head : (*copy)->Heads()) {
    summary.sizes.emplace_back(head.market, head.size);
  }
  StatusOr<Hash> digest = (*copy)->ViewDigest();
  if (!digest.ok()) return Fail(digest.status());
  summary.view_digest = HexEncode(*digest);
  return PrintSummary(summary);
}

int RunBackupNode(NodeClient& node, const std::string& token, const std::string& to) {
  // The path is on the node's machine; a relative one is taken from here,
  // which is where it is when the node runs beside this command.
  nlohmann::json request = {{"to", AbsoluteTarget(to)}};
  StatusOr<std::string> body = node.Post("/v1/backup", request.dump(), token, "application/json");
  if (!body.ok()) return Fail(body.status());
  nlohmann::ordered_json answer =
      nlohmann::ordered_json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer["backup"].is_string() || !answer["sizes"].is_object()) {
    return Fail(Status::DataLoss("POST " + node.url() + "/v1/backup: not a backup report"));
  }
  BackupSummary summary{answer["backup"].get<std::string>(), {}, ""};
  for (const auto& [market, size] : answer["sizes"].items()) {
    if (!size.is_number_unsigned()) {
      return Fail(Status::DataLoss("POST " + node.url() + "/v1/backup: a size is not a count"));
    }
    summary.sizes.emplace_back(market, size.get<uint64_t>());
  }
  auto digest = answer.find("view_digest");
  summary.view_digest =
      digest != answer.end() && digest->is_string() ? digest->get<std::string>() : "unknown";
  return PrintSummary(summary);
}

}  // namespace ledger::cli
