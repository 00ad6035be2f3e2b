// Session: one replication connection to a partner node, either side.
//
// The protocol is symmetric (DESIGN.md section 6): both sides send Hello and
// Heads; each fetches the origins where the other is ahead, serves the
// Fetches it receives as Entries chunks ending at signed sizes, cosigns each
// chunk's checkpoint once stored, and pushes newly durable checkpoints
// (live tail). Every frame is length-checked before allocation and decoded
// by DecodeMessage (Verifier first). Any protocol error sends Error and
// closes this connection only.
//
// Shape (Boost.Beast's examples): a shared_from_this object with paired
// do_/on_ steps, one deadline timer re-armed before every read, one bounded
// write queue with a single write loop, one Fail. All of it runs on the
// node's single io thread (an implicit strand); results from the ledger's
// threads are posted back to it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ledger/status.h"
#include "net/messages.h"

namespace net {

class Node;

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  // `tls`: run the TLS handshake first (the stream's context checks the
  // peer's certificate against the federation CA). `dialer`: we connected.
  Session(Node& node, Stream stream, bool tls, bool dialer, std::string expected_market);
  ~Session();

  void Start();
  // Sends Error(why) and closes once it is written.
  void Close(const std::string& why);
  // A checkpoint became durable here: tell the peer (once per size).
  void Announce(const std::string& origin, uint64_t size, const std::string& note);
  // Sends a signed checkpoint as it is (evidence of equivocation, which the
  // peer checks against its own tree).
  void Relay(const std::string& note);
  // Sends a cosigned checkpoint (our cosignature of the peer's checkpoint).
  void SendCosignature(const std::string& note);
  // Another session gave up fetching `origin`: fetch it here if the peer is
  // ahead.
  void MaybeFetch(const std::string& origin);

  const std::string& peer_market() const { return peer_market_; }
  bool dialer() const { return dialer_; }
  bool established() const { return established_; }
  // The peer's sizes as last heard, by origin.
  const std::map<std::string, uint64_t>& peer_heads() const { return peer_heads_; }
  const std::string& remote() const { return remote_; }
  // Called once when the connection ends.
  std::function<void()> on_close;

 private:
  // Read or write through TLS or straight on the socket.
  template <typename Handler>
  void AsyncRead(boost::asio::mutable_buffer buffer, Handler&& handler);
  template <typename Handler>
  void AsyncWrite(boost::asio::const_buffer buffer, Handler&& handler);
  void DoHandshake();
  void OnHandshake(const boost::system::error_code& ec);
  void DoReadHeader();
  void OnReadHeader(const boost::system::error_code& ec);
  void OnReadBody(const boost::system::error_code& ec);
  void Dispatch(Message message);
  ledger::Status OnHello(const HelloMessage& hello);
  ledger::Status OnHead(const std::string& origin, const std::string& note);
  ledger::Status OnFetch(const FetchMessage& fetch);
  ledger::Status OnEntries(EntriesMessage entries);
  void OnReplicated(const std::string& origin, const std::string& note,
                    const ledger::StatusOr<uint64_t>& result);
  void OnCosignature(const CosignatureMessage& cosignature);
  // Logs the equivocation `status` found in `note` and hands the evidence
  // to every partner.
  void ReportEquivocation(const ledger::Status& status, const std::string& note);
  void SendHeads();
  void ArmHeadsTimer();
  void ServeMore();
  void Send(const Message& message);
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec);
  void SetDeadline(std::chrono::steady_clock::duration timeout);
  void Fail(const ledger::Status& status);
  void Shutdown();

  // One Fetch being answered.
  struct ServeJob {
    uint32_t origin_id = 0;
    std::string origin;
    uint64_t next = 0;
    uint64_t to = 0;
  };
  // One origin being fetched from the peer.
  struct Fetching {
    uint64_t next = 0;  // `from` of the next chunk expected
    uint64_t to = 0;
    size_t in_flight = 0;                            // chunks handed to the ledger, not yet done
    std::chrono::steady_clock::time_point progress;  // last chunk received
  };
  // Gives up fetches that made no progress for an idle timeout (the peer
  // stopped serving them), so that they can start again.
  void ExpireStalledFetches();

  Node& node_;
  Stream stream_;
  bool tls_;
  bool dialer_;
  std::string expected_market_;
  std::string remote_;
  boost::asio::steady_timer deadline_;        // for reads
  boost::asio::steady_timer write_deadline_;  // for the write in progress
  boost::asio::steady_timer heads_timer_;
  std::string header_;
  std::string body_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool established_ = false;
  // This peer showed a checkpoint of our own log beyond what we hold
  // (Log::StopOwnLog), and that was logged.
  bool own_log_behind_logged_ = false;
  std::string peer_market_;
  std::map<std::string, uint64_t> peer_heads_;
  std::map<std::string, uint64_t> announced_;
  std::map<std::string, Fetching> fetching_;
  std::deque<ServeJob> serving_;
  size_t chunks_in_flight_ = 0;
};

}  // namespace net
