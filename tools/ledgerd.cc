// ledgerd: a techledger node. Opens the ledger, trusts the federation's
// registry, serves and dials partners, serves the HTTP API when node.json has
// "api", and runs until SIGTERM or SIGINT, which drain it: connections close,
// appends already accepted finish, the writer finishes what it holds, and the
// process exits 0.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>

#include "ledger/log.h"
#include "net/config.h"
#include "net/http_api.h"
#include "net/node.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 2;

// The TLS context of a node: its certificate and key, and the federation CA
// every peer's certificate must chain to (both directions are checked).
ledger::StatusOr<std::unique_ptr<boost::asio::ssl::context>> TlsContext(
    const net::TlsFiles& files) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_unique<ssl::context>(ssl::context::tls);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1,
                       ec);
  if (!ec) context->use_certificate_chain_file(files.cert, ec);
  if (ec) return ledger::Status::InvalidArgument("tls cert " + files.cert + ": " + ec.message());
  context->use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec) return ledger::Status::InvalidArgument("tls key " + files.key + ": " + ec.message());
  context->load_verify_file(files.ca, ec);
  if (ec) return ledger::Status::InvalidArgument("tls ca " + files.ca + ": " + ec.message());
  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return context;
}

ledger::StatusOr<std::unique_ptr<net::HttpApi>> StartApi(boost::asio::io_context& io,
                                                         ledger::Log& log,
                                                         const net::ApiConfig& config,
                                                         net::Node& node) {
  // LoadNodeConfig checked the address already.
  LEDGER_ASSIGN_OR_RETURN(net::Endpoint endpoint, net::ParseEndpoint(config.listen));
  net::HttpApi::Options options;
  options.host = endpoint.host;
  options.port = endpoint.port;
  options.token = config.token;
  // The node and the API share the io thread, so these read its state
  // without locks.
  options.status_json = [&node] { return node.StatusJson(); };
  options.verify_failures = &node.verify_failures();
  options.peer_lags = [&node] { return node.PeerLags(); };
  auto api = std::make_unique<net::HttpApi>(io, log, std::move(options));
  LEDGER_RETURN_IF_ERROR(api->Start());
  return api;
}

int Run(const std::string& config_path) {
  ledger::StatusOr<net::NodeConfig> config = net::LoadNodeConfig(config_path);
  if (!config.ok()) {
    spdlog::error("config: {}", config.status().ToString());
    return kExitError;
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  // A line that matters must reach the file even if the process is killed.
  spdlog::flush_on(spdlog::level::info);
  std::unique_ptr<boost::asio::ssl::context> tls;
  if (config->tls.enabled()) {
    auto context = TlsContext(config->tls);
    if (!context.ok()) {
      spdlog::error("{}", context.status().ToString());
      return kExitError;
    }
    tls = std::move(context.value());
  }
  // Declared before the log: the ledger's last callbacks post into it.
  boost::asio::io_context io(1);
  // Registered before the slow start (opening the database): a SIGTERM that
  // arrives meanwhile waits here and still drains the node cleanly.
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  auto log = ledger::Log::Open(config->data_dir, ledger::LogOptions{});
  if (!log.ok()) {
    spdlog::error("open {}: {}", config->data_dir, log.status().ToString());
    return kExitError;
  }
  if (ledger::Status trusted = (*log)->Trust(config->federation.Registry()); !trusted.ok()) {
    spdlog::error("federation {}: {}", config->federation_path, trusted.ToString());
    return kExitError;
  }
  net::Node::Options options;
  options.listen = config->listen;
  options.partners = config->partners;
  options.connections_max = config->connections_max;
  options.status_path = config->data_dir + "/status.json";
  net::Node node(io, **log, config->federation, options, tls.get());
  // Started before the node, so that a busy API port stops us before any
  // partner connects.
  std::unique_ptr<net::HttpApi> api;
  if (config->api.enabled()) {
    auto started = StartApi(io, **log, config->api, node);
    if (!started.ok()) {
      spdlog::error("{}", started.status().ToString());
      return kExitError;
    }
    api = std::move(started.value());
    spdlog::info("api serving on {} (port {})", config->api.listen, api->port());
  }
  if (ledger::Status started = node.Start(); !started.ok()) {
    spdlog::error("{}", started.ToString());
    return kExitError;
  }
  spdlog::info("{} serving on {} (port {}), {} partner(s), {}", (*log)->market_id(),
               config->listen.empty() ? "-" : config->listen, node.listen_port(),
               config->partners.size(), tls ? "mutual TLS" : "plain TCP");
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: draining", signal);
    if (api) api->Stop();
    node.Stop();
  });
  io.run();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ledgerd - a techledger node"};
  std::string config;
  app.add_option("--config", config, "node.json")->required();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  return Run(config);
}
