// The node's configuration files.
//
// federation.json, the trust registry every market shares:
//   {"markets": [{"market": "xining", "origin": "techmarket.cn/xining",
//                 "address": "127.0.0.1:7101", "vkeys": ["<vkey>", ...],
//                 "tls_identity": "xining.techmarket.cn"}, ...]}
// node.json, one node's settings (relative paths are relative to it):
//   {"data_dir": "xining", "federation": "federation.json",
//    "listen": "127.0.0.1:7101", "partners": ["xian", "lanzhou"],
//    "tls": {"cert": "xining.crt", "key": "xining.key", "ca": "ca.crt"},
//    "connections_max": 64, "log_level": "info",
//    "api": {"listen": "127.0.0.1:8101", "token_file": "api.token"}}
// "api" is optional: without it ledgerd serves no HTTP API. Its "listen"
// defaults to 127.0.0.1:8101; "token_file" is required and its first line is
// the bearer token writes need (at least limits::kApiTokenBytesMin printable
// ASCII characters, no spaces).
// Parsers are strict: unknown or missing fields and bad values are errors
// naming the field.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/origins.h"
#include "ledger/status.h"

namespace net {

struct MarketInfo {
  ledger::TrustedOrigin trust;
  std::string address;       // host:port of its replication listener
  std::string tls_identity;  // the common name its certificate must carry
};

struct Federation {
  std::vector<MarketInfo> markets;

  // Null when the market is not in the registry.
  const MarketInfo* Find(std::string_view market) const;
  std::vector<ledger::TrustedOrigin> Registry() const;
};

struct TlsFiles {
  std::string cert;
  std::string key;
  std::string ca;
  bool enabled() const { return !cert.empty(); }
};

// The HTTP API (net/http_api.h); enabled() when node.json has "api".
struct ApiConfig {
  std::string listen;      // host:port
  std::string token_file;  // resolved against node.json's directory
  std::string token;       // the first line of token_file
  bool enabled() const { return !listen.empty(); }
};

struct NodeConfig {
  std::string data_dir;
  std::string federation_path;
  Federation federation;
  std::string listen;
  std::vector<std::string> partners;
  TlsFiles tls;
  size_t connections_max = 0;
  std::string log_level = "info";
  ApiConfig api;
};

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};
// "host:port" with a numeric port in 0..65535 (0: any free port, for a
// listener; a partner's address needs a real one).
ledger::StatusOr<Endpoint> ParseEndpoint(std::string_view text);

ledger::StatusOr<Federation> ParseFederation(std::string_view json);
ledger::StatusOr<Federation> LoadFederation(const std::string& path);
// Reads node.json and the federation it names; checks that partners are in
// the registry.
ledger::StatusOr<NodeConfig> LoadNodeConfig(const std::string& path);

}  // namespace net
