// ledgerd: a techledger node. Opens the ledger, trusts the federation's
// registry, serves and dials partners, and runs until SIGTERM or SIGINT,
// which drain it: connections close, the writer finishes what it holds, and
// the process exits 0.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "ledger/log.h"
#include "net/config.h"
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

int Run(const std::string& config_path) {
  ledger::StatusOr<net::NodeConfig> config = net::LoadNodeConfig(config_path);
  if (!config.ok()) {
    spdlog::error("config: {}", config.status().ToString());
    return kExitError;
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));
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
  if (ledger::Status started = node.Start(); !started.ok()) {
    spdlog::error("{}", started.ToString());
    return kExitError;
  }
  spdlog::info("{} serving on {} (port {}), {} partner(s), {}", (*log)->market_id(),
               config->listen.empty() ? "-" : config->listen, node.listen_port(),
               config->partners.size(), tls ? "mutual TLS" : "plain TCP");
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: draining", signal);
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
