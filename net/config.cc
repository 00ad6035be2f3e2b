#include "net/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "net/limits.h"

namespace net {
namespace {

using ledger::Status;
using ledger::StatusOr;
using Json = nlohmann::json;

// Loopback only unless node.json says otherwise: the API is for local
// clerks' tools and the auditor, not for the federation.
constexpr char kApiListenDefault[] = "127.0.0.1:8101";

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<Json> ParseObject(std::string_view text, const std::string& what) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Status::InvalidArgument(what + ": not valid JSON");
  if (!json.is_object()) return Status::InvalidArgument(what + ": want a JSON object");
  return json;
}

Status OnlyFields(const Json& object, std::set<std::string> allowed, const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (!allowed.count(key))
      return Status::InvalidArgument(where + ": unknown field \"" + key + "\"");
  }
  return Status::Ok();
}

StatusOr<std::string> StringField(const Json& object, const std::string& field,
                                  const std::string& where, bool required = true) {
  auto it = object.find(field);
  if (it == object.end()) {
    if (required) return Status::InvalidArgument(where + ": missing \"" + field + "\"");
    return std::string();
  }
  if (!it->is_string() || it->get<std::string>().empty()) {
    return Status::InvalidArgument(where + ": \"" + field + "\" must be a non-empty string");
  }
  return it->get<std::string>();
}

StatusOr<std::vector<std::string>> StringList(const Json& object, const std::string& field,
                                              const std::string& where) {
  std::vector<std::string> list;
  auto it = object.find(field);
  if (it == object.end()) return list;
  if (!it->is_array()) return Status::InvalidArgument(where + ": \"" + field + "\" must be a list");
  for (const Json& item : *it) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      return Status::InvalidArgument(where + ": \"" + field + "\" must hold non-empty strings");
    }
    list.push_back(item.get<std::string>());
  }
  return list;
}

StatusOr<MarketInfo> ParseMarket(const Json& item, size_t index) {
  std::string where = "federation markets[" + std::to_string(index) + "]";
  if (!item.is_object()) return Status::InvalidArgument(where + ": want an object");
  LEDGER_RETURN_IF_ERROR(
      OnlyFields(item, {"market", "origin", "address", "vkeys", "tls_identity"}, where));
  MarketInfo market;
  LEDGER_ASSIGN_OR_RETURN(market.trust.market, StringField(item, "market", where));
  where += " (" + market.trust.market + ")";
  LEDGER_ASSIGN_OR_RETURN(market.trust.origin, StringField(item, "origin", where, false));
  LEDGER_ASSIGN_OR_RETURN(market.address, StringField(item, "address", where, false));
  LEDGER_ASSIGN_OR_RETURN(market.tls_identity, StringField(item, "tls_identity", where, false));
  LEDGER_ASSIGN_OR_RETURN(market.trust.vkeys, StringList(item, "vkeys", where));
  if (!market.address.empty()) {
    StatusOr<Endpoint> endpoint = ParseEndpoint(market.address);
    if (endpoint.ok() && endpoint->port == 0) endpoint = Status::InvalidArgument("port 0");
    LEDGER_RETURN_IF_ERROR(endpoint.status().WithContext(where + " address"));
  }
  LEDGER_RETURN_IF_ERROR(ledger::RecordOf(market.trust).status().WithContext(where));
  return market;
}

// The token is the first line of its file: a bearer token must be sent in a
// header, so it is printable ASCII without spaces, and long enough not to be
// guessed.
StatusOr<std::string> ReadToken(const std::string& file, const std::string& where) {
  StatusOr<std::string> text = ReadFile(file);
  if (!text.ok()) return text.status().WithContext(where);
  std::string token = text->substr(0, text->find('\n'));
  if (!token.empty() && token.back() == '\r') token.pop_back();
  bool printable =
      std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 127; });
  if (token.size() < limits::kApiTokenBytesMin || !printable) {
    return Status::InvalidArgument(where + ": the first line of " + file + " must be a token of " +
                                   std::to_string(limits::kApiTokenBytesMin) +
                                   " or more printable ASCII characters without spaces");
  }
  return token;
}

template <typename Resolve>
StatusOr<ApiConfig> ParseApi(const Json& object, const std::string& where, Resolve resolve) {
  if (!object.is_object()) return Status::InvalidArgument(where + ": want an object");
  LEDGER_RETURN_IF_ERROR(OnlyFields(object, {"listen", "token_file"}, where));
  ApiConfig api;
  LEDGER_ASSIGN_OR_RETURN(api.listen, StringField(object, "listen", where, false));
  if (api.listen.empty()) api.listen = kApiListenDefault;
  LEDGER_RETURN_IF_ERROR(ParseEndpoint(api.listen).status().WithContext(where + " listen"));
  LEDGER_ASSIGN_OR_RETURN(api.token_file, StringField(object, "token_file", where));
  api.token_file = resolve(api.token_file);
  LEDGER_ASSIGN_OR_RETURN(api.token, ReadToken(api.token_file, where + " token_file"));
  return api;
}

}  // namespace

const MarketInfo* Federation::Find(std::string_view market) const {
  for (const MarketInfo& info : markets) {
    if (info.trust.market == market) return &info;
  }
  return nullptr;
}

std::vector<ledger::TrustedOrigin> Federation::Registry() const {
  std::vector<ledger::TrustedOrigin> registry;
  for (const MarketInfo& info : markets) registry.push_back(info.trust);
  return registry;
}

StatusOr<Endpoint> ParseEndpoint(std::string_view text) {
  size_t colon = text.rfind(':');
  std::string bad = "address \"" + std::string(text) + "\": want host:port";
  if (colon == std::string_view::npos || colon == 0) return Status::InvalidArgument(bad);
  std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5) return Status::InvalidArgument(bad);
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return Status::InvalidArgument(bad);
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return Status::InvalidArgument(bad + " with port 0-65535");
  return Endpoint{std::string(text.substr(0, colon)), static_cast<uint16_t>(value)};
}

StatusOr<Federation> ParseFederation(std::string_view text) {
  LEDGER_ASSIGN_OR_RETURN(Json json, ParseObject(text, "federation"));
  LEDGER_RETURN_IF_ERROR(OnlyFields(json, {"markets"}, "federation"));
  auto markets = json.find("markets");
  if (markets == json.end() || !markets->is_array() || markets->empty()) {
    return Status::InvalidArgument("federation: \"markets\" must be a non-empty list");
  }
  if (markets->size() > ledger::limits::kOriginsMax) {
    return Status::InvalidArgument("federation: more than " +
                                   std::to_string(ledger::limits::kOriginsMax) + " markets");
  }
  Federation federation;
  for (size_t i = 0; i < markets->size(); ++i) {
    LEDGER_ASSIGN_OR_RETURN(MarketInfo market, ParseMarket((*markets)[i], i));
    if (federation.Find(market.trust.market) != nullptr) {
      return Status::InvalidArgument("federation: market " + market.trust.market +
                                     " is listed twice");
    }
    federation.markets.push_back(std::move(market));
  }
  return federation;
}

StatusOr<Federation> LoadFederation(const std::string& path) {
  LEDGER_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  StatusOr<Federation> federation = ParseFederation(text);
  if (!federation.ok()) return federation.status().WithContext(path);
  return federation;
}

StatusOr<NodeConfig> LoadNodeConfig(const std::string& path) {
  LEDGER_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  LEDGER_ASSIGN_OR_RETURN(Json json, ParseObject(text, path));
  LEDGER_RETURN_IF_ERROR(OnlyFields(json,
                                    {"data_dir", "federation", "listen", "partners", "tls",
                                     "connections_max", "log_level", "api"},
                                    path));
  std::filesystem::path base = std::filesystem::path(path).parent_path();
  auto resolve = [&](const std::string& file) {
    return file.empty() ? file : (base / file).lexically_normal().string();
  };
  NodeConfig config;
  LEDGER_ASSIGN_OR_RETURN(config.data_dir, StringField(json, "data_dir", path));
  config.data_dir = resolve(config.data_dir);
  LEDGER_ASSIGN_OR_RETURN(config.federation_path, StringField(json, "federation", path));
  config.federation_path = resolve(config.federation_path);
  LEDGER_ASSIGN_OR_RETURN(config.listen, StringField(json, "listen", path, false));
  if (!config.listen.empty()) {
    LEDGER_RETURN_IF_ERROR(ParseEndpoint(config.listen).status().WithContext(path + " listen"));
  }
  LEDGER_ASSIGN_OR_RETURN(config.partners, StringList(json, "partners", path));
  LEDGER_ASSIGN_OR_RETURN(config.log_level, StringField(json, "log_level", path, false));
  if (config.log_level.empty()) config.log_level = "info";
  config.connections_max = limits::kConnectionsMax;
  if (auto it = json.find("connections_max"); it != json.end()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 || it->get<uint64_t>() > 4096) {
      return Status::InvalidArgument(path + ": \"connections_max\" must be 1-4096");
    }
    config.connections_max = it->get<size_t>();
  }
  if (auto it = json.find("tls"); it != json.end()) {
    std::string where = path + " tls";
    if (!it->is_object()) return Status::InvalidArgument(where + ": want an object");
    LEDGER_RETURN_IF_ERROR(OnlyFields(*it, {"cert", "key", "ca"}, where));
    LEDGER_ASSIGN_OR_RETURN(config.tls.cert, StringField(*it, "cert", where));
    LEDGER_ASSIGN_OR_RETURN(config.tls.key, StringField(*it, "key", where));
    LEDGER_ASSIGN_OR_RETURN(config.tls.ca, StringField(*it, "ca", where));
    config.tls = {resolve(config.tls.cert), resolve(config.tls.key), resolve(config.tls.ca)};
  }
  if (auto it = json.find("api"); it != json.end()) {
    LEDGER_ASSIGN_OR_RETURN(config.api, ParseApi(*it, path + " api", resolve));
  }
  LEDGER_ASSIGN_OR_RETURN(config.federation, LoadFederation(config.federation_path));
  for (const std::string& partner : config.partners) {
    const MarketInfo* market = config.federation.Find(partner);
    if (market == nullptr) {
      return Status::InvalidArgument(path + ": partner " + partner + " is not in the federation");
    }
    if (market->address.empty()) {
      return Status::InvalidArgument(path + ": partner " + partner + " has no address");
    }
  }
  return config;
}

}  // namespace net
