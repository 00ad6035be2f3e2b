#include "net/node.h"

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ledger/log.h"
#include "net/asio_status.h"
#include "net/limits.h"
#include "net/session.h"

namespace net {

using ledger::Status;
using ledger::StatusOr;
namespace asio = boost::asio;
using asio::ip::tcp;

Node::Node(asio::io_context& io, ledger::Log& log, Federation federation, Options options,
           asio::ssl::context* tls)
    : io_(io),
      log_(log),
      federation_(std::move(federation)),
      options_(std::move(options)),
      tls_(tls),
      acceptor_(io),
      status_timer_(io),
      random_(std::random_device{}()) {}

Node::~Node() { log_.SetDurableListener(nullptr); }

Status Node::Start() {
  log_.SetDurableListener(
      [this](uint32_t origin_id, uint64_t size) { OnDurable(origin_id, size); });
  if (!options_.listen.empty()) {
    LEDGER_ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(options_.listen));
    boost::system::error_code ec;
    auto address = asio::ip::make_address(endpoint.host, ec);
    if (ec)
      return Status::InvalidArgument("listen: \"" + endpoint.host + "\" is not an IP address");
    tcp::endpoint local(address, endpoint.port);
    acceptor_.open(local.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(local, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return FromAsio(ec, "listen on " + options_.listen);
    listen_port_ = acceptor_.local_endpoint().port();
    DoAccept();
  }
  for (const std::string& market : options_.partners) {
    dialers_[market] = std::make_unique<Dialer>(io_);
    Dial(market);
  }
  WriteStatus();
  return Status::Ok();
}

void Node::Stop() {
  if (stopping_) return;
  stopping_ = true;
  log_.SetDurableListener(nullptr);
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  status_timer_.cancel();
  for (auto& [market, dialer] : dialers_) {
    dialer->timer.cancel();
    dialer->resolver.cancel();
  }
  auto sessions = sessions_;
  for (const auto& session : sessions) session->Close("node is shutting down");
  WriteStatus();
}

void Node::DoAccept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (ec) {
      spdlog::warn("accept: {}", ec.message());
    } else if (sessions_.size() >= options_.connections_max) {
      spdlog::warn("refused a connection: {} connections is the limit", options_.connections_max);
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      StartSession(std::move(socket), /*dialer=*/false, std::string());
    }
    DoAccept();
  });
}

void Node::StartSession(tcp::socket socket, bool dialer, const std::string& market) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  static asio::ssl::context plain(asio::ssl::context::tls);
  Session::Stream stream(std::move(socket), tls_ != nullptr ? *tls_ : plain);
  auto session =
      std::make_shared<Session>(*this, std::move(stream), tls_ != nullptr, dialer, market);
  if (dialer) {
    std::weak_ptr<Session> weak = session;
    session->on_close = [this, market, weak] {
      auto closed = weak.lock();
      ScheduleDial(market, closed && closed->established());
    };
  }
  sessions_.insert(session);
  session->Start();
}

void Node::Dial(const std::string& market) {
  if (stopping_) return;
  // Already connected (the partner dialed us): look again later.
  if (peers_.count(market)) return ScheduleDial(market, /*reset=*/true);
  const MarketInfo* info = federation_.Find(market);
  StatusOr<Endpoint> endpoint = ParseEndpoint(info->address);
  Dialer& dialer = *dialers_.at(market);
  dialer.resolver.async_resolve(
      endpoint->host, std::to_string(endpoint->port),
      [this, market](const boost::system::error_code& ec, tcp::resolver::results_type results) {
        if (stopping_) return;
        if (ec) {
          spdlog::warn("resolve {}: {}", market, ec.message());
          return ScheduleDial(market, false);
        }
        auto socket = std::make_shared<tcp::socket>(io_);
        asio::async_connect(
            *socket, results,
            [this, market, socket](const boost::system::error_code& ec, const tcp::endpoint&) {
              if (stopping_) return;
              if (ec) {
                spdlog::debug("connect to {}: {}", market, ec.message());
                return ScheduleDial(market, false);
              }
              StartSession(std::move(*socket), /*dialer=*/true, market);
            });
      });
}

void Node::ScheduleDial(const std::string& market, bool reset) {
  if (stopping_) return;
  Dialer& dialer = *dialers_.at(market);
  using std::chrono::milliseconds;
  if (reset || dialer.backoff.count() == 0) {
    dialer.backoff = limits::kBackoffFirst;
  } else {
    dialer.backoff = std::min(dialer.backoff * 2, milliseconds(limits::kBackoffMax));
  }
  // Uniform in [backoff/2, backoff]: full jitter would sometimes retry at
  // once; none would make restarted nodes retry in lockstep.
  std::uniform_int_distribution<int64_t> jitter(dialer.backoff.count() / 2, dialer.backoff.count());
  milliseconds delay(jitter(random_));
  if (peers_.count(market))
    delay = std::chrono::duration_cast<milliseconds>(limits::kHeadsInterval);
  dialer.timer.expires_after(delay);
  dialer.timer.async_wait([this, market](const boost::system::error_code& ec) {
    if (!ec) Dial(market);
  });
}

bool Node::AdmitPeer(const std::shared_ptr<Session>& session) {
  const std::string& market = session->peer_market();
  auto existing = peers_.find(market);
  if (existing != peers_.end() && existing->second != session) {
    // Both sides apply the same rule, so both keep the same connection: the
    // one the smaller market id dialed; between equals, the newer.
    bool we_are_smaller = log_.market_id() < market;
    bool old_wins =
        existing->second->dialer() == we_are_smaller && session->dialer() != we_are_smaller;
    if (old_wins) return false;
    existing->second->Close("replaced by a newer connection");
  }
  peers_[market] = session;
  if (session->dialer()) ScheduleDial(market, /*reset=*/true);
  return true;
}

void Node::Forget(Session* session) {
  auto peer = peers_.find(session->peer_market());
  if (peer != peers_.end() && peer->second.get() == session) peers_.erase(peer);
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->get() == session) {
      // Destroyed after the session's own call stack unwinds.
      asio::post(io_, [keep = *it] {});
      sessions_.erase(it);
      break;
    }
  }
}

bool Node::ClaimFetch(const std::string& origin, Session* session) {
  auto [it, fresh] = fetch_claims_.emplace(origin, session);
  return fresh || it->second == session;
}

void Node::ReleaseFetch(const std::string& origin, Session* session) {
  auto it = fetch_claims_.find(origin);
  if (it == fetch_claims_.end() || it->second != session) return;
  fetch_claims_.erase(it);
  // Another partner may be ahead too.
  for (const auto& [market, peer] : peers_) {
    if (peer.get() != session) peer->MaybeFetch(origin);
  }
}

void Node::ShareEvidence(const std::string& origin) {
  StatusOr<std::vector<ledger::Equivocation>> evidence = log_.Evidence();
  if (!evidence.ok()) return;
  for (const ledger::Equivocation& item : *evidence) {
    if (item.origin != origin) continue;
    for (const auto& [market, peer] : peers_) {
      peer->Relay(item.theirs);
      peer->Relay(item.ours);
    }
  }
}

void Node::SendCosignatureToOrigin(const std::string& origin, const std::string& note,
                                   const Session* sent_to) {
  StatusOr<ledger::OriginRecord> record = log_.OriginNamed(origin);
  if (!record.ok()) return;
  auto peer = peers_.find(record->market);
  if (peer == peers_.end() || peer->second.get() == sent_to) return;
  peer->second->SendCosignature(note);
}

bool Node::Stopped(const std::string& origin) const {
  for (const ledger::OriginHead& head : log_.Heads()) {
    if (head.origin == origin) return !head.equivocation.empty();
  }
  return false;
}

void Node::OnDurable(uint32_t origin_id, uint64_t size) {
  std::lock_guard<std::mutex> lock(pending_mutex_);
  uint64_t& pending = pending_[origin_id];
  pending = std::max(pending, size);
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(io_, [this] { FlushAnnouncements(); });
}

void Node::FlushAnnouncements() {
  std::map<uint32_t, uint64_t> pending;
  {
    std::lock_guard<std::mutex> lock(pending_mutex_);
    pending.swap(pending_);
    flush_posted_ = false;
  }
  if (stopping_) return;
  std::map<uint32_t, std::string> names = log_.OriginNames();
  for (const auto& [origin_id, size] : pending) {
    StatusOr<std::string> note = log_.CheckpointOf(origin_id, size);
    if (!note.ok()) continue;
    for (const auto& [market, peer] : peers_) peer->Announce(names[origin_id], size, *note);
  }
}

std::string Node::StatusJson() const {
  nlohmann::json status;
  status["market"] = log_.market_id();
  status["origins"] = nlohmann::json::array();
  for (const ledger::OriginHead& head : log_.Heads()) {
    nlohmann::json origin = {{"market", head.market}, {"origin", head.origin}, {"size", head.size}};
    if (!head.equivocation.empty()) origin["equivocation"] = head.equivocation;
    status["origins"].push_back(origin);
  }
  status["peers"] = nlohmann::json::array();
  for (const auto& [market, peer] : peers_) {
    nlohmann::json heads = nlohmann::json::object();
    for (const auto& [origin, size] : peer->peer_heads()) heads[origin] = size;
    status["peers"].push_back({{"market", market},
                               {"address", peer->remote()},
                               {"dialed", peer->dialer()},
                               {"heads", heads}});
  }
  return status.dump();
}

std::vector<PeerLag> Node::PeerLags() const {
  std::vector<PeerLag> lags;
  std::map<uint32_t, std::string> origins = log_.OriginNames();
  for (const auto& [market, peer] : peers_) {
    for (const auto& [id, origin] : origins) {
      uint64_t ours = log_.HeldSize(id);
      auto theirs = peer->peer_heads().find(origin);
      uint64_t their = theirs == peer->peer_heads().end() ? 0 : theirs->second;
      lags.push_back({market, origin, ours > their ? ours - their : 0});
    }
  }
  return lags;
}

void Node::WriteStatus() {
  if (options_.status_path.empty()) return;
  std::string temporary = options_.status_path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << StatusJson() << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(temporary, options_.status_path, ec);
  if (ec) spdlog::warn("write {}: {}", options_.status_path, ec.message());
  if (stopping_) return;
  status_timer_.expires_after(std::chrono::seconds(1));
  status_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) WriteStatus();
  });
}

}  // namespace net
