#include "net/session.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "ledger/checkpoint.h"
#include "ledger/log.h"
#include "net/asio_status.h"
#include "net/limits.h"
#include "net/node.h"

namespace net {

using ledger::Status;
using ledger::StatusOr;
namespace asio = boost::asio;

namespace {

// The common name of the peer's verified certificate; empty if none.
std::string PeerCommonName(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::string();
  char name[256] = {0};
  int length =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
  X509_free(cert);
  return length > 0 ? std::string(name, static_cast<size_t>(length)) : std::string();
}

bool IsEquivocation(const Status& status) {
  return status.code() == Status::Code::kDataLoss && status.message().starts_with("equivocation");
}

}  // namespace

Session::Session(Node& node, Stream stream, bool tls, bool dialer, std::string expected_market)
    : node_(node),
      stream_(std::move(stream)),
      tls_(tls),
      dialer_(dialer),
      expected_market_(std::move(expected_market)),
      deadline_(stream_.get_executor()),
      write_deadline_(stream_.get_executor()),
      heads_timer_(stream_.get_executor()),
      header_(4, '\0') {
  boost::system::error_code ec;
  auto endpoint = stream_.lowest_layer().remote_endpoint(ec);
  remote_ = ec ? std::string("?")
               : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

Session::~Session() = default;

void Session::Start() {
  SetDeadline(limits::kHandshakeTimeout);
  if (tls_) {
    DoHandshake();
    return;
  }
  Send(HelloMessage{node_.log().market_id(), limits::kProtocolVersion});
  DoReadHeader();
}

void Session::DoHandshake() {
  stream_.async_handshake(
      dialer_ ? asio::ssl::stream_base::client : asio::ssl::stream_base::server,
      [self = shared_from_this()](const boost::system::error_code& ec) { self->OnHandshake(ec); });
}

void Session::OnHandshake(const boost::system::error_code& ec) {
  if (ec) return Fail(FromAsio(ec, "TLS handshake with " + remote_));
  Send(HelloMessage{node_.log().market_id(), limits::kProtocolVersion});
  DoReadHeader();
}

void Session::SetDeadline(std::chrono::steady_clock::duration timeout) {
  deadline_.expires_after(timeout);
  deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->Fail(Status::Unavailable("deadline passed waiting for a frame"));
  });
}

template <typename Handler>
void Session::AsyncRead(asio::mutable_buffer buffer, Handler&& handler) {
  if (tls_) {
    asio::async_read(stream_, buffer, std::forward<Handler>(handler));
  } else {
    asio::async_read(stream_.next_layer(), buffer, std::forward<Handler>(handler));
  }
}

template <typename Handler>
void Session::AsyncWrite(asio::const_buffer buffer, Handler&& handler) {
  if (tls_) {
    asio::async_write(stream_, buffer, std::forward<Handler>(handler));
  } else {
    asio::async_write(stream_.next_layer(), buffer, std::forward<Handler>(handler));
  }
}

void Session::DoReadHeader() {
  if (reading_ || closing_) return;
  // Backpressure: while the ledger still works on our chunks, stop reading.
  if (chunks_in_flight_ >= limits::kChunksInFlightMax) return;
  reading_ = true;
  if (established_) SetDeadline(limits::kIdleTimeout);
  auto on_header = [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
    self->OnReadHeader(ec);
  };
  AsyncRead(asio::buffer(header_), on_header);
}

void Session::OnReadHeader(const boost::system::error_code& ec) {
  if (ec) return Fail(FromAsio(ec, "read from " + remote_));
  uint32_t length = FrameLength(header_);
  if (length > limits::kFrameBytesMax || length == 0) ++node_.verify_failures().frame;
  if (length > limits::kFrameBytesMax) {
    return Fail(Status::InvalidArgument("frame of " + std::to_string(length) +
                                        " bytes is above the limit of " +
                                        std::to_string(limits::kFrameBytesMax)));
  }
  if (length == 0) return Fail(Status::InvalidArgument("empty frame"));
  // The whole frame must arrive within the frame deadline, however slowly
  // its bytes trickle in.
  if (established_) SetDeadline(limits::kFrameTimeout);
  body_.assign(length, '\0');
  auto on_body = [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
    self->OnReadBody(ec);
  };
  AsyncRead(asio::buffer(body_), on_body);
}

void Session::OnReadBody(const boost::system::error_code& ec) {
  reading_ = false;
  if (ec) return Fail(FromAsio(ec, "read from " + remote_));
  StatusOr<Message> message = DecodeMessage(body_);
  std::string().swap(body_);
  if (!message.ok()) {
    ++node_.verify_failures().frame;
    return Fail(message.status());
  }
  Dispatch(*std::move(message));
  DoReadHeader();
}

void Session::Dispatch(Message message) {
  if (closing_) return;
  bool hello = std::holds_alternative<HelloMessage>(message);
  if (!established_ && !hello) {
    return Fail(
        Status::InvalidArgument(std::string("expected Hello, got ") + MessageName(message)));
  }
  if (established_ && hello) return Fail(Status::InvalidArgument("a second Hello"));
  Status status;
  if (auto* m = std::get_if<HelloMessage>(&message)) {
    status = OnHello(*m);
  } else if (auto* m = std::get_if<HeadsMessage>(&message)) {
    for (const HeadInfo& head : m->heads) {
      if (head.checkpoint.empty()) continue;
      status = OnHead(head.origin, head.checkpoint);
      if (!status.ok()) break;
    }
  } else if (auto* m = std::get_if<FetchMessage>(&message)) {
    status = OnFetch(*m);
  } else if (auto* m = std::get_if<EntriesMessage>(&message)) {
    status = OnEntries(std::move(*m));
  } else if (auto* m = std::get_if<CheckpointMessage>(&message)) {
    status = OnHead(std::string(), m->note);
  } else if (auto* m = std::get_if<CosignatureMessage>(&message)) {
    OnCosignature(*m);
  } else if (auto* m = std::get_if<ErrorMessage>(&message)) {
    spdlog::warn("peer {} ({}) closed the connection: {}", peer_market_, remote_, m->message);
    return Shutdown();
  }
  if (status.code() == Status::Code::kAlreadyExists) return Close(status.message());
  if (!status.ok()) Fail(status);
}

Status Session::OnHello(const HelloMessage& hello) {
  if (hello.protocol_version != limits::kProtocolVersion) {
    return Status::InvalidArgument("protocol version " + std::to_string(hello.protocol_version) +
                                   ", want " + std::to_string(limits::kProtocolVersion));
  }
  const MarketInfo* market = node_.federation().Find(hello.market);
  if (market == nullptr) {
    return Status::InvalidArgument("market " + hello.market + " is not in the federation");
  }
  if (hello.market == node_.log().market_id()) {
    return Status::InvalidArgument("connected to itself");
  }
  if (!expected_market_.empty() && hello.market != expected_market_) {
    return Status::InvalidArgument("dialed " + expected_market_ + " but " + hello.market +
                                   " answered");
  }
  if (tls_) {
    std::string name = PeerCommonName(stream_.native_handle());
    if (name.empty() || name != market->tls_identity) {
      return Status::InvalidArgument("certificate names \"" + name + "\", but market " +
                                     hello.market + " has TLS identity \"" + market->tls_identity +
                                     "\"");
    }
  }
  peer_market_ = hello.market;
  if (!node_.AdmitPeer(shared_from_this())) {
    return Status::AlreadyExists("duplicate connection with " + peer_market_);
  }
  established_ = true;
  spdlog::info("connected to {} ({}, {})", peer_market_, remote_, dialer_ ? "dialed" : "accepted");
  SendHeads();
  ArmHeadsTimer();
  return Status::Ok();
}

void Session::SendHeads() {
  HeadsMessage heads;
  for (const ledger::OriginHead& head : node_.log().Heads()) {
    if (head.checkpoint.empty() || !head.equivocation.empty()) continue;
    heads.heads.push_back({head.origin, head.size, head.checkpoint});
  }
  Send(heads);
}

void Session::ArmHeadsTimer() {
  heads_timer_.expires_after(limits::kHeadsInterval);
  heads_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closing_) return;
    if (self->queued_bytes_ < limits::kSendQueueBytesLow) self->SendHeads();
    self->ExpireStalledFetches();
    self->ArmHeadsTimer();
  });
}

void Session::ExpireStalledFetches() {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::string> stalled;
  for (const auto& [origin, fetching] : fetching_) {
    if (fetching.in_flight == 0 && now - fetching.progress > limits::kIdleTimeout) {
      stalled.push_back(origin);
    }
  }
  for (const std::string& origin : stalled) {
    spdlog::warn("fetch of {} from {} made no progress; starting again", origin, peer_market_);
    fetching_.erase(origin);
    node_.ReleaseFetch(origin, this);
    MaybeFetch(origin);
  }
}

Status Session::OnHead(const std::string& origin, const std::string& note) {
  StatusOr<ledger::ObservedCheckpoint> observed = node_.log().ObserveCheckpoint(note);
  if (!observed.ok()) {
    const Status& status = observed.status();
    switch (status.code()) {
      case Status::Code::kNotFound:  // an origin outside our registry
        spdlog::debug("ignored a checkpoint of {} from {}: {}", origin, peer_market_,
                      status.message());
        return Status::Ok();
      case Status::Code::kFailedPrecondition:  // that origin has stopped
        // A relayed checkpoint comes without its origin: the note's first
        // line names it.
        if (!own_log_behind_logged_ &&
            (origin.empty() ? std::string_view(note).substr(0, note.find('\n'))
                            : std::string_view(origin)) == node_.log().origin()) {
          own_log_behind_logged_ = true;
          spdlog::error("{} holds a checkpoint of this market's own log: {}", peer_market_,
                        status.message());
        }
        return Status::Ok();
      default:
        if (IsEquivocation(status)) {
          ++node_.verify_failures().equivocation;
          ReportEquivocation(status, note);
          return Status::Ok();
        }
        ++node_.verify_failures().checkpoint;
        return status;
    }
  }
  const std::string& name = observed->checkpoint.origin;
  uint64_t& peer = peer_heads_[name];
  peer = std::max(peer, observed->checkpoint.size);
  if (observed->checkpoint.size > observed->held) MaybeFetch(name);
  return Status::Ok();
}

void Session::MaybeFetch(const std::string& origin) {
  if (!established_ || closing_ || fetching_.count(origin)) return;
  StatusOr<ledger::OriginRecord> record = node_.log().OriginNamed(origin);
  if (!record.ok() || record->id == node_.log().local_origin_id()) return;
  uint64_t held = node_.log().HeldSize(record->id);
  auto peer = peer_heads_.find(origin);
  if (peer == peer_heads_.end() || peer->second <= held) return;
  if (!node_.ClaimFetch(origin, this)) return;
  fetching_[origin] = Fetching{held, peer->second, 0, std::chrono::steady_clock::now()};
  spdlog::debug("fetching {} [{}, {}) from {}", origin, held, peer->second, peer_market_);
  Send(FetchMessage{origin, held, peer->second});
}

Status Session::OnFetch(const FetchMessage& fetch) {
  StatusOr<ledger::OriginRecord> record = node_.log().OriginNamed(fetch.origin);
  if (!record.ok()) {
    spdlog::warn("{} asked for {}, which this node does not hold", peer_market_, fetch.origin);
    return Status::Ok();
  }
  if (node_.Stopped(fetch.origin)) {
    spdlog::warn("{} asked for {}, which is stopped here (see status)", peer_market_, fetch.origin);
    return Status::Ok();
  }
  std::erase_if(serving_, [&](const ServeJob& job) { return job.origin_id == record->id; });
  if (serving_.size() >= limits::kHeadsMax) {
    return Status::ResourceExhausted("too many Fetch requests at once");
  }
  uint64_t to = std::min(fetch.to, node_.log().HeldSize(record->id));
  if (fetch.from >= to) return Status::Ok();
  serving_.push_back(ServeJob{record->id, fetch.origin, fetch.from, to});
  ServeMore();
  return Status::Ok();
}

void Session::ServeMore() {
  while (!serving_.empty() && !closing_ && queued_bytes_ < limits::kSendQueueBytesLow) {
    ServeJob job = serving_.front();
    serving_.pop_front();
    ledger::Log& log = node_.log();
    StatusOr<std::vector<uint64_t>> sizes =
        log.SignedSizes(job.origin_id, job.next, job.next + limits::kChunkEntriesMax);
    if (!sizes.ok() || sizes->empty()) {
      if (!sizes.ok()) spdlog::error("serving {}: {}", job.origin, sizes.status().ToString());
      continue;
    }
    StatusOr<std::vector<std::string>> entries =
        log.ReadEntries(job.origin_id, job.next, sizes->back());
    if (!entries.ok()) {
      spdlog::error("serving {}: {}", job.origin, entries.status().ToString());
      continue;
    }
    // The largest signed size whose chunk stays near the byte target.
    uint64_t end = sizes->front();
    size_t bytes = 0;
    size_t s = 0;
    for (uint64_t index = job.next; index < sizes->back(); ++index) {
      bytes += (*entries)[index - job.next].size() + 16;
      while (s < sizes->size() && (*sizes)[s] == index + 1) {
        if (bytes <= limits::kChunkBytesTarget || (*sizes)[s] == sizes->front()) end = (*sizes)[s];
        ++s;
      }
    }
    StatusOr<std::string> note = log.CheckpointOf(job.origin_id, end);
    if (!note.ok()) {
      spdlog::error("serving {}: {}", job.origin, note.status().ToString());
      continue;
    }
    entries->resize(end - job.next);
    EntriesMessage chunk{job.origin, job.next, *std::move(entries), *std::move(note)};
    Send(chunk);
    job.next = end;
    if (job.next < job.to) serving_.push_back(job);
  }
}

Status Session::OnEntries(EntriesMessage entries) {
  auto it = fetching_.find(entries.origin);
  if (it == fetching_.end() || entries.from != it->second.next || entries.entries.empty()) {
    // Late chunks of an abandoned fetch look the same as replayed frames:
    // neither is stored.
    spdlog::warn("ignored Entries of {} from {} at {} ({} entries): not the chunk expected",
                 entries.origin, peer_market_, entries.from, entries.entries.size());
    return Status::Ok();
  }
  Fetching& fetching = it->second;
  fetching.next = entries.from + entries.entries.size();
  fetching.progress = std::chrono::steady_clock::now();
  ++fetching.in_flight;
  ++chunks_in_flight_;
  std::string origin = entries.origin;
  std::string note = entries.checkpoint;
  auto executor = stream_.get_executor();
  node_.log().Replicate(
      ledger::ReplicaChunk{entries.from, std::move(entries.entries), std::move(entries.checkpoint)},
      [weak = weak_from_this(), executor, origin, note](StatusOr<uint64_t> result) {
        asio::post(executor, [weak, origin, note, result] {
          if (auto self = weak.lock()) self->OnReplicated(origin, note, result);
        });
      });
  return Status::Ok();
}

void Session::OnReplicated(const std::string& origin, const std::string& note,
                           const StatusOr<uint64_t>& result) {
  --chunks_in_flight_;
  auto it = fetching_.find(origin);
  if (it == fetching_.end()) return;
  Fetching& fetching = it->second;
  --fetching.in_flight;
  const Status& status = result.status();
  bool done = false;
  if (result.ok()) {
    StatusOr<ledger::SignedNote> parsed = ledger::ParseNote(note);
    if (parsed.ok() && !closing_) {
      std::string cosigned = parsed->text + "\n" + node_.log().Cosign(parsed->text);
      Send(CosignatureMessage{cosigned});
      // Through a relay: the market itself keeps and serves its cosignatures.
      node_.SendCosignatureToOrigin(origin, cosigned, this);
    }
    done = *result >= fetching.to;
  } else if (status.code() != Status::Code::kAlreadyExists) {
    done = true;
    if (IsEquivocation(status)) {
      ++node_.verify_failures().equivocation;
      ReportEquivocation(status, note);
    } else if (status.code() == Status::Code::kDataLoss) {
      ++node_.verify_failures().chunk;
      spdlog::error("rejected a chunk of {} from {}: {}", origin, peer_market_, status.message());
      Fail(status);
    } else {
      spdlog::warn("fetch of {} from {} stopped: {}", origin, peer_market_, status.message());
    }
  }
  if (done) fetching.to = 0;  // accept no more chunks of this fetch
  if (fetching.in_flight == 0 && (fetching.next >= fetching.to || done)) {
    fetching_.erase(it);
    node_.ReleaseFetch(origin, this);
    if (status.ok() || status.code() == Status::Code::kAlreadyExists ||
        status.code() == Status::Code::kOutOfRange) {
      MaybeFetch(origin);
    }
  }
  DoReadHeader();
}

void Session::ReportEquivocation(const Status& status, const std::string& note) {
  spdlog::error("{} (checkpoint from {})", status.message(), peer_market_);
  StatusOr<ledger::SignedNote> parsed = ledger::ParseNote(note);
  StatusOr<ledger::Checkpoint> checkpoint = parsed.ok()
                                                ? ledger::ParseCheckpoint(parsed->text)
                                                : StatusOr<ledger::Checkpoint>(parsed.status());
  if (checkpoint.ok()) node_.ShareEvidence(checkpoint->origin);
}

void Session::Relay(const std::string& note) {
  if (established_ && !closing_) Send(CheckpointMessage{note});
}

void Session::SendCosignature(const std::string& note) {
  if (established_ && !closing_) Send(CosignatureMessage{note});
}

void Session::OnCosignature(const CosignatureMessage& cosignature) {
  StatusOr<size_t> added = node_.log().AddCosignatures(cosignature.note);
  if (!added.ok()) {
    spdlog::warn("ignored a cosignature from {}: {}", peer_market_, added.status().ToString());
    return;
  }
  // A verified cosignature also says the peer now holds that checkpoint.
  StatusOr<ledger::SignedNote> note = ledger::ParseNote(cosignature.note);
  StatusOr<ledger::Checkpoint> checkpoint =
      note.ok() ? ledger::ParseCheckpoint(note->text) : StatusOr<ledger::Checkpoint>(note.status());
  if (checkpoint.ok()) {
    uint64_t& peer = peer_heads_[checkpoint->origin];
    peer = std::max(peer, checkpoint->size);
  }
}

void Session::Announce(const std::string& origin, uint64_t size, const std::string& note) {
  if (!established_ || closing_ || queued_bytes_ >= limits::kSendQueueBytesLow) return;
  // Sent even when the peer holds it already: the peer learns what we hold
  // (its lag figures) and checks our root against its own.
  uint64_t& announced = announced_[origin];
  if (announced >= size) return;
  announced = size;
  Send(CheckpointMessage{note});
}

void Session::Send(const Message& message) {
  if (closed_) return;
  std::string frame = EncodeFrame(message);
  if (queued_bytes_ + frame.size() > limits::kSendQueueBytesMax) {
    return Fail(Status::ResourceExhausted("peer does not read: send queue is full"));
  }
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  DoWrite();
}

void Session::DoWrite() {
  if (writing_ || queue_.empty() || closed_) return;
  writing_ = true;
  write_deadline_.expires_after(limits::kFrameTimeout);
  write_deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    spdlog::warn("peer {} ({}) did not take a frame in time", self->peer_market_, self->remote_);
    self->Shutdown();
  });
  auto on_write = [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
    self->OnWrite(ec);
  };
  AsyncWrite(asio::buffer(queue_.front()), on_write);
}

void Session::OnWrite(const boost::system::error_code& ec) {
  writing_ = false;
  write_deadline_.cancel();
  if (ec) {
    spdlog::info("write to {} ({}) failed: {}", peer_market_, remote_, ec.message());
    return Shutdown();
  }
  queued_bytes_ -= queue_.front().size();
  queue_.pop_front();
  if (closing_ && queue_.empty()) return Shutdown();
  DoWrite();
  ServeMore();
}

void Session::Close(const std::string& why) {
  if (closing_) return;
  spdlog::info("closing connection with {} ({}): {}", peer_market_, remote_, why);
  closing_ = true;
  if (!established_) return Shutdown();  // may be mid TLS handshake
  Send(ErrorMessage{why});
  if (!writing_) Shutdown();
}

void Session::Fail(const Status& status) {
  if (closing_) return;
  std::string who = peer_market_.empty() ? remote_ : peer_market_ + " (" + remote_ + ")";
  bool transport =
      status.code() == Status::Code::kUnavailable || status.code() == Status::Code::kIoError;
  if (transport) {
    spdlog::info("connection with {} ended: {}", who, status.message());
    closing_ = true;
    return Shutdown();
  }
  spdlog::warn("protocol error from {}: {}", who, status.ToString());
  closing_ = true;
  Send(ErrorMessage{status.message()});
  // Give the Error a moment to leave, but no more than a frame deadline.
  if (!writing_) Shutdown();
}

void Session::Shutdown() {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  deadline_.cancel();
  write_deadline_.cancel();
  heads_timer_.cancel();
  boost::system::error_code ignored;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  for (auto& [origin, fetching] : fetching_) node_.ReleaseFetch(origin, this);
  fetching_.clear();
  node_.Forget(this);
  if (on_close) {
    auto callback = std::move(on_close);
    on_close = nullptr;
    callback();
  }
}

}  // namespace net
