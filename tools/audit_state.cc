#include "tools/audit_state.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ledger::audit {
namespace {

using Json = nlohmann::json;

constexpr int kStateVersion = 1;

StatusOr<RememberedLog> RememberedFromJson(const std::string& origin, const Json& json) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("state: log \"" + origin + "\": " + why);
  };
  if (!json.is_object()) return bad("not an object");
  RememberedLog log;
  if (!json.contains("market") || !json["market"].is_string()) return bad("market: want a string");
  log.market = json["market"].get<std::string>();
  if (!json.contains("size") || !json["size"].is_number_unsigned()) return bad("size: want a count");
  log.size = json["size"].get<uint64_t>();
  StatusOr<std::string> root =
      json.contains("root") && json["root"].is_string()
          ? Base64Decode(json["root"].get<std::string>())
          : StatusOr<std::string>(Status::InvalidArgument("missing"));
  if (!root.ok() || root->size() != 32) return bad("root: want a base64 SHA-256 hash");
  log.root = HashFromBytes(*root);
  if (!json.contains("checkpoint") || !json["checkpoint"].is_string()) {
    return bad("checkpoint: want the signed note");
  }
  log.checkpoint = json["checkpoint"].get<std::string>();
  StatusOr<std::string> prefixes =
      json.contains("leaf_prefixes") && json["leaf_prefixes"].is_string()
          ? Base64Decode(json["leaf_prefixes"].get<std::string>())
          : StatusOr<std::string>(Status::InvalidArgument("missing"));
  if (!prefixes.ok() || prefixes->size() != log.size * kLeafPrefixBytes) {
    return bad("leaf_prefixes: want base64 of " + std::to_string(kLeafPrefixBytes) +
               " bytes per entry");
  }
  log.leaf_prefixes = std::move(*prefixes);
  return log;
}

}  // namespace

StatusOr<AuditState> LoadAuditState(const std::string& path) {
  AuditState state;
  std::ifstream in(path, std::ios::binary);
  if (!in) return state;  // nothing remembered yet
  std::stringstream text;
  text << in.rdbuf();
  Json json = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::InvalidArgument("state " + path + ": not a JSON object");
  }
  if (!json.contains("version") || json["version"] != kStateVersion) {
    return Status::InvalidArgument("state " + path + ": want version " +
                                   std::to_string(kStateVersion));
  }
  if (!json.contains("logs") || !json["logs"].is_object()) {
    return Status::InvalidArgument("state " + path + ": logs: want an object");
  }
  for (const auto& [origin, value] : json["logs"].items()) {
    StatusOr<RememberedLog> log = RememberedFromJson(origin, value);
    if (!log.ok()) return log.status().WithContext(path);
    state.logs[origin] = std::move(*log);
  }
  return state;
}

Status SaveAuditState(const std::string& path, const AuditState& state) {
  Json logs = Json::object();
  for (const auto& [origin, log] : state.logs) {
    logs[origin] = {
        {"market", log.market},
        {"size", log.size},
        {"root", Base64Encode(std::string_view(reinterpret_cast<const char*>(log.root.data()), 32))},
        {"checkpoint", log.checkpoint},
        {"leaf_prefixes", Base64Encode(log.leaf_prefixes)}};
  }
  Json json = {{"version", kStateVersion}, {"logs", std::move(logs)}};
  std::string staging = path + ".partial";
  std::ofstream out(staging, std::ios::binary | std::ios::trunc);
  out << json.dump(1) << "\n";
  out.close();
  if (!out || std::rename(staging.c_str(), path.c_str()) != 0) {
    std::remove(staging.c_str());
    return Status::IoError("state " + path + ": cannot write");
  }
  return Status::Ok();
}

}  // namespace ledger::audit
