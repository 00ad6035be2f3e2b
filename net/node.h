// Node: a ledger's replication endpoint. It listens for partner
// connections, dials the configured partners (reconnecting with exponential
// backoff and jitter), admits one connection per partner, makes sure one
// connection at a time fetches any origin, and pushes every newly durable
// checkpoint to the connected partners.
//
// Thread-safety: everything runs on one io_context thread, except
// OnDurable, which the ledger calls from its own thread and which only posts.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "net/config.h"
#include "net/metrics.h"

namespace ledger {
class Log;
}

namespace net {

class Session;

class Node {
 public:
  struct Options {
    std::string listen;                 // host:port; empty: do not listen
    std::vector<std::string> partners;  // markets to dial
    size_t connections_max = 64;
    std::string status_path;  // where to write status JSON now and then; may be empty
  };
  // `tls`: null for plain TCP. All references must outlive the Node.
  Node(boost::asio::io_context& io, ledger::Log& log, Federation federation, Options options,
       boost::asio::ssl::context* tls);
  ~Node();

  // Binds the listener and starts dialing. Errors: the address is busy or
  // bad.
  ledger::Status Start();
  // Stops accepting and dialing and closes every connection; io.run()
  // returns once the last one is gone.
  void Stop();
  uint16_t listen_port() const { return listen_port_; }
  // Heads, peers and evidence as one JSON object (the `status` document).
  std::string StatusJson() const;
  // Per connected peer and held origin, the entries we hold that the peer
  // did not hold when it last said (its heads and cosignatures); 0 when it
  // is caught up. On the io thread.
  std::vector<PeerLag> PeerLags() const;
  // Peer data refused by verification; sessions count into it.
  VerifyFailures& verify_failures() { return verify_failures_; }

  // For sessions, on the io thread.
  ledger::Log& log() { return log_; }
  const Federation& federation() const { return federation_; }
  // Registers an established connection; false if another connection with
  // the same market wins (the one dialed by the smaller market id).
  bool AdmitPeer(const std::shared_ptr<Session>& session);
  void Forget(Session* session);
  bool ClaimFetch(const std::string& origin, Session* session);
  void ReleaseFetch(const std::string& origin, Session* session);
  // Sends both signed checkpoints of each piece of evidence held against
  // `origin` to every partner, so that those holding either history catch
  // the equivocation too.
  void ShareEvidence(const std::string& origin);
  // Sends our cosignature of a checkpoint of `origin` to that market, when
  // connected to it and it is not `sent_to` (the peer that served the
  // entries, which got it already): the market serves its cosignatures
  // with its checkpoints, whichever partner the entries came through.
  void SendCosignatureToOrigin(const std::string& origin, const std::string& note,
                               const Session* sent_to);
  // True once `origin` stopped syncing here.
  bool Stopped(const std::string& origin) const;

 private:
  struct Dialer {
    explicit Dialer(boost::asio::io_context& io) : timer(io), resolver(io) {}
    boost::asio::steady_timer timer;
    boost::asio::ip::tcp::resolver resolver;
    std::chrono::milliseconds backoff{0};
  };
  void DoAccept();
  void StartSession(boost::asio::ip::tcp::socket socket, bool dialer, const std::string& market);
  void Dial(const std::string& market);
  void ScheduleDial(const std::string& market, bool reset);
  void OnDurable(uint32_t origin_id, uint64_t size);
  void FlushAnnouncements();
  void WriteStatus();

  boost::asio::io_context& io_;
  ledger::Log& log_;
  Federation federation_;
  Options options_;
  boost::asio::ssl::context* tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer status_timer_;
  uint16_t listen_port_ = 0;
  bool stopping_ = false;
  std::set<std::shared_ptr<Session>> sessions_;
  std::map<std::string, std::shared_ptr<Session>> peers_;  // established, by market
  std::map<std::string, Session*> fetch_claims_;           // origin -> fetching session
  std::map<std::string, std::unique_ptr<Dialer>> dialers_;
  std::mt19937_64 random_;
  VerifyFailures verify_failures_;

  std::mutex pending_mutex_;
  std::map<uint32_t, uint64_t> pending_;  // durable sizes not yet announced
  bool flush_posted_ = false;
};

}  // namespace net
