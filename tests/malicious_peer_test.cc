// A hostile member of the federation against a real ledgerd: the test
// process plays market "evil" (its node directory exists, its ledgerd never
// runs), speaks the replication protocol over a plain socket with evil's
// genuine signing key, and misbehaves. Each test checks that the node under
// test (xining) names the offence in its log, stores nothing it should not,
// and keeps serving an honest partner (xian), which must converge with it.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/log.h"
#include "ledger/merkle.h"
#include "net/limits.h"
#include "net/messages.h"
#include "tests/federation_harness.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Milliseconds = std::chrono::milliseconds;
using test::FederationHarness;
using test::NodeSnapshot;
namespace asio = boost::asio;

constexpr char kEvilOrigin[] = "techmarket.cn/evil";

// One end of a replication connection, driven by the test with blocking
// calls. Reads wait at most the timeout they are given: a timeout is
// Unavailable, a connection the node closed (or reset) is IoError.
class EvilPeer {
 public:
  // Connects to 127.0.0.1:port, retrying while the node starts.
  Status Connect(uint16_t port) {
    asio::ip::tcp::endpoint node(asio::ip::make_address("127.0.0.1"), port);
    auto deadline = Clock::now() + 10s;
    boost::system::error_code ec;
    do {
      socket_.close(ec);
      socket_.connect(node, ec);
      if (!ec) break;
      std::this_thread::sleep_for(50ms);
    } while (Clock::now() < deadline);
    if (ec)
      return Status::Unavailable("connect to port " + std::to_string(port) + ": " + ec.message());
    connected_at_ = Clock::now();
    auto local = socket_.local_endpoint(ec);
    address_ = local.address().to_string() + ":" + std::to_string(local.port());
    return Status::Ok();
  }

  // Sends Hello as `market` and reads the node's Hello and Heads.
  Status Handshake(const std::string& market = "evil") {
    LEDGER_RETURN_IF_ERROR(SendFrame(net::HelloMessage{market, net::limits::kProtocolVersion}));
    StatusOr<net::HelloMessage> hello = ReadUntil<net::HelloMessage>(5s);
    if (!hello.ok()) return hello.status();
    StatusOr<net::HeadsMessage> heads = ReadUntil<net::HeadsMessage>(5s);
    if (!heads.ok()) return heads.status();
    node_heads_ = *std::move(heads);
    return Status::Ok();
  }

  Status SendFrame(const net::Message& message) { return SendRaw(net::EncodeFrame(message)); }

  Status SendRaw(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec) return Status::IoError("send: " + ec.message());
    return Status::Ok();
  }

  // The next frame the node sends.
  StatusOr<net::Message> ReadFrame(Milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    LEDGER_RETURN_IF_ERROR(Fill(4, deadline));
    uint32_t length = net::FrameLength(std::string_view(buffer_).substr(0, 4));
    if (length > net::limits::kFrameBytesMax) {
      return Status::InvalidArgument("the node sent a frame of " + std::to_string(length));
    }
    LEDGER_RETURN_IF_ERROR(Fill(4 + length, deadline));
    std::string body = buffer_.substr(4, length);
    buffer_.erase(0, 4 + length);
    StatusOr<net::Message> message = net::DecodeMessage(body);
    if (message.ok()) received_.push_back(net::MessageName(*message));
    return message;
  }

  // Skips frames of other kinds until one of type T; an Error frame from the
  // node is FailedPrecondition with its text.
  template <typename T>
  StatusOr<T> ReadUntil(Milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<Milliseconds>(deadline - Clock::now());
      StatusOr<net::Message> message = ReadFrame(std::max(left, Milliseconds(0)));
      if (!message.ok()) return message.status();
      if (auto* wanted = std::get_if<T>(&*message)) return *wanted;
      if (auto* error = std::get_if<net::ErrorMessage>(&*message)) {
        return Status::FailedPrecondition("the node sent Error: " + error->message);
      }
    }
  }

  // Reads until the node closes the connection and returns the text of the
  // Error frame it sent first ("" if none); Unavailable if it stays open.
  StatusOr<std::string> ExpectClosed(Milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::string error;
    while (true) {
      auto left = std::chrono::duration_cast<Milliseconds>(deadline - Clock::now());
      StatusOr<net::Message> message = ReadFrame(std::max(left, Milliseconds(0)));
      if (!message.ok()) {
        if (message.status().code() == Status::Code::kIoError) return error;
        return message.status();
      }
      if (auto* sent = std::get_if<net::ErrorMessage>(&*message)) error = sent->message;
    }
  }

  // OK if for `duration` the node neither closes nor sends Error.
  Status StaysOpen(Milliseconds duration) {
    StatusOr<net::ErrorMessage> error = ReadUntil<net::ErrorMessage>(duration);
    if (error.ok()) return Status::FailedPrecondition("the node sent Error: " + error->message);
    if (error.status().code() == Status::Code::kUnavailable) return Status::Ok();
    return error.status();
  }

  void Close() {
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  // Our end as the node names it in its log ("127.0.0.1:port").
  const std::string& address() const { return address_; }
  Clock::time_point connected_at() const { return connected_at_; }
  // The Heads the node sent in the handshake.
  const net::HeadsMessage& node_heads() const { return node_heads_; }
  // The names of all frames read so far.
  const std::vector<std::string>& received() const { return received_; }

 private:
  // Reads until the buffer holds `bytes` bytes.
  Status Fill(size_t bytes, Clock::time_point deadline) {
    char chunk[64 * 1024];
    while (buffer_.size() < bytes) {
      auto left = std::chrono::duration_cast<Milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Status::Unavailable("no frame from the node in time");
      pollfd ready{socket_.native_handle(), POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(left)) <= 0) continue;
      boost::system::error_code ec;
      size_t read = socket_.read_some(asio::buffer(chunk), ec);
      if (ec) return Status::IoError("the node closed the connection: " + ec.message());
      buffer_.append(chunk, read);
    }
    return Status::Ok();
  }

  asio::io_context io_;
  asio::ip::tcp::socket socket_{io_};
  std::string buffer_;
  std::string address_;
  Clock::time_point connected_at_;
  net::HeadsMessage node_heads_;
  std::vector<std::string> received_;
};

// Evil's log as the test holds it: entries, and the notes signed at some
// sizes.
struct History {
  std::vector<std::string> entries;
  std::map<uint64_t, std::string> notes;  // signed size -> signed note

  // Entries [from, to) with the checkpoint at `to`. REQUIRES: `to` signed.
  net::EntriesMessage Chunk(uint64_t from, uint64_t to) const {
    std::vector<std::string> run(entries.begin() + from, entries.begin() + to);
    return net::EntriesMessage{kEvilOrigin, from, std::move(run), notes.at(to)};
  }
};

// Evil's genuine log, read from its directory (no ledgerd runs on it).
History ReadGenuine(const std::string& dir) {
  History history;
  auto log = Log::Open(dir, LogOptions{.read_only = true});
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return history;
  uint32_t id = (*log)->local_origin_id();
  uint64_t size = (*log)->size();
  auto entries = (*log)->ReadEntries(id, 0, size);
  auto sizes = (*log)->SignedSizes(id, 0, size);
  EXPECT_TRUE(entries.ok() && sizes.ok());
  if (!entries.ok() || !sizes.ok()) return history;
  history.entries = *std::move(entries);
  for (uint64_t signed_size : *sizes) {
    auto note = (*log)->CheckpointOf(id, signed_size);
    EXPECT_TRUE(note.ok()) << note.status().ToString();
    if (note.ok()) history.notes[signed_size] = *note;
  }
  return history;
}

// A history of `entries` whose checkpoints at `sizes` `signer` signs.
History Forge(const NoteSigner& signer, std::vector<std::string> entries,
              const std::vector<uint64_t>& sizes) {
  History history;
  history.entries = std::move(entries);
  MemoryTree tree;
  for (const std::string& entry : history.entries) {
    tree.Append(LeafHash(entry));
    if (std::find(sizes.begin(), sizes.end(), tree.size()) == sizes.end()) continue;
    std::string text = FormatCheckpoint(Checkpoint{kEvilOrigin, tree.size(), tree.Root(), {}});
    history.notes[tree.size()] = SignNote(text, signer);
  }
  return history;
}

std::string CheckpointText(const std::string& note) {
  auto parsed = ParseNote(note);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? parsed->text : std::string();
}

std::string RootHex(const std::string& note) {
  auto checkpoint = ParseCheckpoint(CheckpointText(note));
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
  return checkpoint.ok() ? HexEncode(checkpoint->root) : std::string();
}

// The note with one bit of its first signature flipped.
std::string FlipSignature(const std::string& note) {
  auto parsed = ParseNote(note);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return note;
  parsed->signatures[0].signature[7] ^= 0x01;
  return FormatNote(*parsed);
}

std::string FrameHeader(uint32_t length) {
  std::string header(4, '\0');
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return header;
}

std::vector<std::string> Contracts(const std::string& prefix, int first, int count) {
  std::vector<std::string> lines;
  for (int i = first; i < first + count; ++i) {
    lines.push_back(
        test::ContractJson(prefix + "-" + std::to_string(i), std::to_string(100000 + i) + ".00"));
  }
  return lines;
}

// Answers `fetch` from `history` with one Entries chunk per signed size in
// (from, to].
Status Serve(EvilPeer& peer, const History& history, const net::FetchMessage& fetch) {
  if (fetch.origin != kEvilOrigin) return Status::InvalidArgument("fetch of " + fetch.origin);
  uint64_t from = fetch.from;
  for (auto it = history.notes.upper_bound(from);
       it != history.notes.end() && it->first <= fetch.to; ++it) {
    LEDGER_RETURN_IF_ERROR(peer.SendFrame(history.Chunk(from, it->first)));
    from = it->first;
  }
  return Status::Ok();
}

// Behaves honestly: announces `history` at `size`, expects a Fetch of
// [from, size), serves it and waits for the node's cosignature of `size`,
// which it sends only once the chunk is stored.
Status SyncHonestly(EvilPeer& peer, const History& history, uint64_t from, uint64_t size) {
  LEDGER_RETURN_IF_ERROR(peer.SendFrame(net::CheckpointMessage{history.notes.at(size)}));
  StatusOr<net::FetchMessage> fetch = peer.ReadUntil<net::FetchMessage>(5s);
  if (!fetch.ok()) return fetch.status().WithContext("waiting for Fetch");
  if (fetch->from != from || fetch->to != size) {
    return Status::InvalidArgument("Fetch of [" + std::to_string(fetch->from) + ", " +
                                   std::to_string(fetch->to) + ")");
  }
  LEDGER_RETURN_IF_ERROR(Serve(peer, history, *fetch));
  std::string stored = CheckpointText(history.notes.at(size)) + "\n";
  while (true) {
    StatusOr<net::CosignatureMessage> cosigned = peer.ReadUntil<net::CosignatureMessage>(5s);
    if (!cosigned.ok()) return cosigned.status().WithContext("waiting for the cosignature");
    if (cosigned->note.starts_with(stored)) return Status::Ok();
  }
}

class MaliciousPeerTest : public ::testing::Test {
 protected:
  static constexpr size_t kXining = 0;
  static constexpr size_t kXian = 1;
  static constexpr size_t kEvil = 2;
  static constexpr uint64_t kXiningSize = 30;
  static constexpr uint64_t kXianSize = 20;

  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    federation_ = std::make_unique<FederationHarness>(
        dir_.path(), std::vector<std::string>{"xining", "xian", "evil"});
    federation_->AppendOffline(kXining, Contracts("XN", 0, kXiningSize));
    federation_->AppendOffline(kXian, Contracts("XA", 0, kXianSize));
    // Three appends: evil's genuine log has checkpoints at 10, 20 and 30.
    for (int i = 0; i < 3; ++i) federation_->AppendOffline(kEvil, Contracts("EV", 10 * i, 10));
    genuine_ = ReadGenuine(federation_->dir(kEvil));
    for (uint64_t size : {10, 20, 30}) ASSERT_EQ(genuine_.notes.count(size), 1u) << size;

    auto key = PrivateKey::LoadPem(KeyPath(federation_->dir(kEvil)));
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    evil_signer_ = std::make_unique<NoteSigner>(kEvilOrigin, *key);
    // Another history of evil, as validly signed as the genuine one.
    std::vector<std::string> other;
    for (const std::string& line : Contracts("EVX", 0, 30)) other.push_back(test::Entry(line));
    forged_ = Forge(*evil_signer_, std::move(other), {10, 20, 30});
    ASSERT_NE(RootHex(forged_.notes.at(10)), RootHex(genuine_.notes.at(10)));

    federation_->SetPartners(kXian, {kXining});
    federation_->WriteConfigs();
    federation_->Start(kXining);
  }

  // A connection to `node` that has said Hello as evil.
  std::unique_ptr<EvilPeer> ConnectEvil(size_t node = kXining) {
    auto peer = std::make_unique<EvilPeer>();
    Status connected = peer->Connect(federation_->listen_port(node));
    if (connected.ok()) connected = peer->Handshake();
    EXPECT_TRUE(connected.ok()) << connected.ToString() << "\n" << federation_->ProcessLog(node);
    return peer;
  }

  // True once node's log contains `text`.
  bool WaitForLog(size_t node, const std::string& text, std::chrono::seconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    do {
      if (federation_->ProcessLog(node).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    } while (Clock::now() < deadline);
    ADD_FAILURE() << federation_->market(node) << " never logged \"" << text << "\"; log:\n"
                  << federation_->ProcessLog(node);
    return false;
  }

  // Why node's status.json says evil's origin stopped syncing ("" if not).
  std::string EvilEquivocation(size_t node) const {
    std::ifstream in(federation_->dir(node) + "/status.json");
    auto status = nlohmann::json::parse(in, nullptr, false);
    if (status.is_discarded()) return std::string();
    for (const auto& origin : status.value("origins", nlohmann::json::array())) {
      if (origin.value("market", "") == "evil") return origin.value("equivocation", "");
    }
    return std::string();
  }

  // Starts xian, which dials xining; both must converge, with evil's log at
  // `evil_size` and its genuine root. Stops both and returns xining's
  // snapshot.
  NodeSnapshot ExpectXiningStillServes(uint64_t evil_size) {
    if (!federation_->running(kXian)) federation_->Start(kXian);
    std::map<std::string, uint64_t> sizes = {
        {"xining", kXiningSize}, {"xian", kXianSize}, {"evil", evil_size}};
    EXPECT_TRUE(federation_->WaitForSizes(sizes, 30))
        << "xining:\n"
        << federation_->ProcessLog(kXining) << "\nxian:\n"
        << federation_->ProcessLog(kXian);
    federation_->Stop(kXining);
    federation_->Stop(kXian);
    NodeSnapshot xining = federation_->Snapshot(kXining);
    NodeSnapshot xian = federation_->Snapshot(kXian);
    EXPECT_EQ(xining.heads, xian.heads);
    EXPECT_EQ(xining.view_digest, xian.view_digest);
    std::string root = evil_size == 0 ? std::string() : RootHex(genuine_.notes.at(evil_size));
    EXPECT_EQ(xining.heads["evil"], std::make_pair(evil_size, root));
    return xining;
  }

  test::TempDir dir_;
  std::unique_ptr<FederationHarness> federation_;
  History genuine_;
  History forged_;
  std::unique_ptr<NoteSigner> evil_signer_;
};

// A checkpoint whose signature bytes were altered is refused as forged, in
// Heads and in a live-tail Checkpoint: Error, close, no Fetch, and no
// evidence even where its root contradicts what xining holds; evil's genuine
// log still syncs afterwards.
TEST_F(MaliciousPeerTest, ForgedSignatureIsRefused) {
  auto peer = ConnectEvil();
  ASSERT_TRUE(SyncHonestly(*peer, genuine_, 0, 10).ok());

  // A contradicting root at a size xining holds: forged, so not evidence.
  std::string contradicting = FlipSignature(forged_.notes.at(10));
  ASSERT_TRUE(peer->SendFrame(net::HeadsMessage{{{kEvilOrigin, 10, contradicting}}}).ok());
  StatusOr<std::string> error = peer->ExpectClosed(5s);
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  EXPECT_NE(error->find("does not verify"), std::string::npos) << *error;
  WaitForLog(kXining, "protocol error from evil (" + peer->address() +
                          "): DataLoss: checkpoint of evil at size 10: note: signature by " +
                          kEvilOrigin);

  // A size xining does not hold yet: nothing is fetched.
  auto ahead = ConnectEvil();
  ASSERT_TRUE(ahead->SendFrame(net::CheckpointMessage{FlipSignature(genuine_.notes.at(20))}).ok());
  error = ahead->ExpectClosed(5s);
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  EXPECT_NE(error->find("does not verify"), std::string::npos) << *error;
  EXPECT_EQ(std::count(ahead->received().begin(), ahead->received().end(), "Fetch"), 0);
  WaitForLog(kXining, "protocol error from evil (" + ahead->address() +
                          "): DataLoss: checkpoint of evil at size 20");

  // The same checkpoint correctly signed is fetched: forgeries by others
  // did not stop evil's origin.
  auto honest = ConnectEvil();
  ASSERT_TRUE(SyncHonestly(*honest, genuine_, 10, 20).ok());
  NodeSnapshot snapshot = ExpectXiningStillServes(20);
  EXPECT_EQ(snapshot.evidence, 0u);
}

// A checkpoint in evil's name signed by a key the registry does not list is
// forged data: Error, close, nothing fetched, no evidence.
TEST_F(MaliciousPeerTest, UnknownKeyIsRefused) {
  auto peer = ConnectEvil();
  ASSERT_TRUE(SyncHonestly(*peer, genuine_, 0, 10).ok());
  auto stranger_key = PrivateKey::Generate();
  ASSERT_TRUE(stranger_key.ok());
  NoteSigner stranger(kEvilOrigin, *stranger_key);

  // At a held size with another root.
  std::string text = CheckpointText(forged_.notes.at(10));
  ASSERT_TRUE(peer->SendFrame(net::CheckpointMessage{SignNote(text, stranger)}).ok());
  StatusOr<std::string> error = peer->ExpectClosed(5s);
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  EXPECT_NE(error->find("no signature by a trusted key"), std::string::npos) << *error;
  WaitForLog(kXining, "protocol error from evil (" + peer->address() +
                          "): DataLoss: checkpoint of evil at size 10: no signature by a "
                          "trusted key");

  // Ahead of xining, with the genuine root, in Heads.
  auto ahead = ConnectEvil();
  std::string ahead_note = SignNote(CheckpointText(genuine_.notes.at(30)), stranger);
  ASSERT_TRUE(ahead->SendFrame(net::HeadsMessage{{{kEvilOrigin, 30, ahead_note}}}).ok());
  error = ahead->ExpectClosed(5s);
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  EXPECT_NE(error->find("no signature by a trusted key"), std::string::npos) << *error;
  EXPECT_EQ(std::count(ahead->received().begin(), ahead->received().end(), "Fetch"), 0);
  WaitForLog(kXining, "protocol error from evil (" + ahead->address() +
                          "): DataLoss: checkpoint of evil at size 30: no signature");

  NodeSnapshot snapshot = ExpectXiningStillServes(10);
  EXPECT_EQ(snapshot.evidence, 0u);
}

// Genuine entries under a checkpoint validly signed by evil whose root is
// that of other entries fail the root check: Error, close, nothing stored,
// so an honest retry is fetched from the start.
TEST_F(MaliciousPeerTest, WrongRootIsRejected) {
  auto peer = ConnectEvil();
  ASSERT_TRUE(peer->SendFrame(net::CheckpointMessage{genuine_.notes.at(10)}).ok());
  StatusOr<net::FetchMessage> fetch = peer->ReadUntil<net::FetchMessage>(5s);
  ASSERT_TRUE(fetch.ok()) << fetch.status().ToString();
  net::EntriesMessage chunk = genuine_.Chunk(0, 10);
  chunk.checkpoint = forged_.notes.at(10);
  ASSERT_TRUE(peer->SendFrame(chunk).ok());
  StatusOr<std::string> error = peer->ExpectClosed(5s);
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  EXPECT_NE(error->find("do not hash to the signed root"), std::string::npos) << *error;
  EXPECT_EQ(std::count(peer->received().begin(), peer->received().end(), "Cosignature"), 0);
  WaitForLog(kXining,
             "rejected a chunk of techmarket.cn/evil from evil: evil entries [0, 10) do not hash "
             "to the signed root");

  auto retry = ConnectEvil();
  ASSERT_TRUE(SyncHonestly(*retry, genuine_, 0, 10).ok());
  ExpectXiningStillServes(10);
}

// A chunk with one entry more than its checkpoint's signed size is refused
// whole: Error, close, nothing stored, so an honest retry starts from 0.
TEST_F(MaliciousPeerTest, EntriesBeyondTheCheckpointAreRejected) {
  auto peer = ConnectEvil();
  ASSERT_TRUE(peer->SendFrame(net::CheckpointMessage{genuine_.notes.at(10)}).ok());
  StatusOr<net::FetchMessage> fetch = peer->ReadUntil<net::FetchMessage>(5s);
  ASSERT_TRUE(fetch.ok()) << fetch.status().ToString();
  net::EntriesMessage chunk = genuine_.Chunk(0, 10);
  chunk.entries.push_back(genuine_.entries[10]);
  ASSERT_TRUE(peer->SendFrame(chunk).ok());
  StatusOr<std::string> error = peer->ExpectClosed(5s);
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  EXPECT_NE(error->find("does not end at its checkpoint"), std::string::npos) << *error;
  WaitForLog(kXining,
             "rejected a chunk of techmarket.cn/evil from evil: chunk of 11 entries from 0 does "
             "not end at its checkpoint (10)");

  auto retry = ConnectEvil();
  ASSERT_TRUE(SyncHonestly(*retry, genuine_, 0, 10).ok());
  ExpectXiningStillServes(10);
}

// Entries chunks xining did not ask for (replays of chunks it stored, a
// genuine chunk beyond its Fetch, a chunk of another origin) are logged and
// dropped without closing the connection; nothing is stored twice or early.
TEST_F(MaliciousPeerTest, ReplayedAndUnrequestedEntriesAreIgnored) {
  auto peer = ConnectEvil();
  ASSERT_TRUE(SyncHonestly(*peer, genuine_, 0, 10).ok());
  ASSERT_TRUE(SyncHonestly(*peer, genuine_, 10, 20).ok());

  ASSERT_TRUE(peer->SendFrame(genuine_.Chunk(0, 10)).ok());
  ASSERT_TRUE(peer->SendFrame(genuine_.Chunk(10, 20)).ok());
  ASSERT_TRUE(peer->SendFrame(genuine_.Chunk(20, 30)).ok());
  net::EntriesMessage other{"techmarket.cn/xian", 0, {genuine_.entries[0]}, genuine_.notes.at(10)};
  ASSERT_TRUE(peer->SendFrame(other).ok());
  for (const char* from : {"at 0 (10", "at 10 (10", "at 20 (10"}) {
    WaitForLog(kXining, std::string("ignored Entries of techmarket.cn/evil from evil ") + from +
                            " entries): not the chunk expected");
  }
  WaitForLog(kXining, "ignored Entries of techmarket.cn/xian from evil at 0 (1 entries)");
  // Longer than the status file's refresh interval.
  Status open = peer->StaysOpen(1500ms);
  EXPECT_TRUE(open.ok()) << open.ToString();
  EXPECT_EQ(std::count(peer->received().begin(), peer->received().end(), "Cosignature"), 2);
  EXPECT_EQ(federation_->StatusSize(kXining, "evil"), 20u);

  ExpectXiningStillServes(20);
}

// Evil shows xining one history and xian another of the same size, both
// signed with its key. When xining and xian meet, each holds a checkpoint the
// other's contradicts, so both store evidence, log the equivocation and stop
// syncing evil, while their own logs still converge.
TEST_F(MaliciousPeerTest, EquivocationIsCaughtWhenPartnersMeet) {
  // xian starts without partners, so the two histories are stored before
  // xining and xian meet.
  federation_->SetPartners(kXian, {});
  federation_->WriteConfigs();
  federation_->Start(kXian);
  auto to_xining = ConnectEvil(kXining);
  ASSERT_TRUE(SyncHonestly(*to_xining, genuine_, 0, 10).ok());
  auto to_xian = ConnectEvil(kXian);
  ASSERT_TRUE(SyncHonestly(*to_xian, forged_, 0, 10).ok());
  to_xining->Close();
  to_xian->Close();

  federation_->Stop(kXian);
  federation_->SetPartners(kXian, {kXining});
  federation_->WriteConfigs();
  federation_->Start(kXian);
  for (size_t node : {kXining, kXian}) {
    WaitForLog(
        node, "equivocation: evil signed a checkpoint at size 10 that contradicts the log we hold");
  }
  EXPECT_TRUE(federation_->WaitForSizes({{"xining", kXiningSize}, {"xian", kXianSize}}, 30));
  for (size_t node : {kXining, kXian}) {
    auto deadline = Clock::now() + 5s;
    while (EvilEquivocation(node).empty() && Clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_NE(EvilEquivocation(node), "") << federation_->market(node);
  }

  // Evil's origin stopped: neither node lists it in its Heads, and neither
  // fetches a longer, genuinely signed checkpoint.
  std::vector<std::unique_ptr<EvilPeer>> peers;
  for (size_t node : {kXining, kXian}) {
    peers.push_back(ConnectEvil(node));
    for (const net::HeadInfo& head : peers.back()->node_heads().heads) {
      EXPECT_NE(head.origin, kEvilOrigin) << federation_->market(node);
    }
    ASSERT_TRUE(peers.back()
                    ->SendFrame(net::HeadsMessage{{{kEvilOrigin, 30, genuine_.notes.at(30)}}})
                    .ok());
  }
  for (auto& peer : peers) {
    StatusOr<net::FetchMessage> fetch = peer->ReadUntil<net::FetchMessage>(1500ms);
    EXPECT_EQ(fetch.status().code(), Status::Code::kUnavailable) << fetch.status().ToString();
  }

  federation_->Stop(kXining);
  federation_->Stop(kXian);
  NodeSnapshot xining = federation_->Snapshot(kXining);
  NodeSnapshot xian = federation_->Snapshot(kXian);
  EXPECT_GE(xining.evidence, 1u);
  EXPECT_GE(xian.evidence, 1u);
  EXPECT_EQ(xining.heads["evil"], std::make_pair(uint64_t{10}, RootHex(genuine_.notes.at(10))));
  EXPECT_EQ(xian.heads["evil"], std::make_pair(uint64_t{10}, RootHex(forged_.notes.at(10))));
  EXPECT_EQ(xining.heads["xian"], xian.heads["xian"]);
  EXPECT_EQ(xining.heads["xining"], xian.heads["xining"]);
}

// Evil itself signing a second root for a size xining holds is equivocation
// it can prove on its own: evidence stored, a log line, the connection kept
// (the checkpoint is genuine), and evil's origin neither fetched nor relayed.
TEST_F(MaliciousPeerTest, DirectEquivocationStopsTheOrigin) {
  auto peer = ConnectEvil();
  ASSERT_TRUE(SyncHonestly(*peer, genuine_, 0, 10).ok());
  ASSERT_TRUE(peer->SendFrame(net::CheckpointMessage{forged_.notes.at(10)}).ok());
  WaitForLog(kXining,
             "equivocation: evil signed a checkpoint at size 10 that contradicts the log we hold "
             "(checkpoint from evil)");
  ASSERT_TRUE(peer->SendFrame(net::CheckpointMessage{genuine_.notes.at(20)}).ok());
  StatusOr<net::FetchMessage> fetch = peer->ReadUntil<net::FetchMessage>(1500ms);
  EXPECT_EQ(fetch.status().code(), Status::Code::kUnavailable) << fetch.status().ToString();

  // xining still serves its own and xian's logs, but no longer evil's.
  federation_->Start(kXian);
  EXPECT_TRUE(federation_->WaitForSizes({{"xining", kXiningSize}, {"xian", kXianSize}}, 30))
      << federation_->ProcessLog(kXian);
  federation_->Stop(kXining);
  federation_->Stop(kXian);
  NodeSnapshot xining = federation_->Snapshot(kXining);
  NodeSnapshot xian = federation_->Snapshot(kXian);
  EXPECT_EQ(xining.evidence, 1u);
  EXPECT_EQ(xining.heads["evil"], std::make_pair(uint64_t{10}, RootHex(genuine_.notes.at(10))));
  EXPECT_EQ(xian.heads["evil"], std::make_pair(uint64_t{0}, std::string()));
  EXPECT_EQ(xining.heads["xining"], xian.heads["xining"]);
  EXPECT_EQ(xining.heads["xian"], xian.heads["xian"]);
}

// A node that catches an equivocation hands both signed checkpoints to its
// partners: xian, which holds evil's genuine log (relayed by xining) and never
// talks to evil again, records the evidence too and stops syncing evil.
TEST_F(MaliciousPeerTest, EvidenceReachesPartnersThatHoldTheOrigin) {
  auto peer = ConnectEvil();
  ASSERT_TRUE(SyncHonestly(*peer, genuine_, 0, 10).ok());
  federation_->Start(kXian);
  ASSERT_TRUE(
      federation_->WaitForSizes({{"xining", kXiningSize}, {"xian", kXianSize}, {"evil", 10}}, 30))
      << federation_->ProcessLog(kXian);
  ASSERT_TRUE(peer->SendFrame(net::CheckpointMessage{forged_.notes.at(10)}).ok());
  WaitForLog(kXian,
             "equivocation: evil signed a checkpoint at size 10 that contradicts the log we hold "
             "(checkpoint from xining)");
  federation_->Stop(kXining);
  federation_->Stop(kXian);
  NodeSnapshot xining = federation_->Snapshot(kXining);
  NodeSnapshot xian = federation_->Snapshot(kXian);
  EXPECT_EQ(xining.evidence, 1u);
  EXPECT_EQ(xian.evidence, 1u);
  EXPECT_EQ(xian.heads["evil"], std::make_pair(uint64_t{10}, RootHex(genuine_.notes.at(10))));
}

// A header declaring kFrameBytesMax + 1 bytes is refused at once, before any
// body arrives, with an Error naming the limit; a header of exactly the limit
// is not.
TEST_F(MaliciousPeerTest, OversizedFrameIsRefused) {
  auto peer = ConnectEvil();
  uint32_t too_long = static_cast<uint32_t>(net::limits::kFrameBytesMax + 1);
  ASSERT_TRUE(peer->SendRaw(FrameHeader(too_long)).ok());
  StatusOr<std::string> error = peer->ExpectClosed(5s);
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  std::string limit = "above the limit of " + std::to_string(net::limits::kFrameBytesMax);
  EXPECT_NE(error->find(limit), std::string::npos) << *error;
  WaitForLog(kXining, "protocol error from evil (" + peer->address() +
                          "): InvalidArgument: frame of " + std::to_string(too_long) +
                          " bytes is " + limit);

  auto at_limit = ConnectEvil();
  ASSERT_TRUE(at_limit->SendRaw(FrameHeader(net::limits::kFrameBytesMax)).ok());
  Status open = at_limit->StaysOpen(1s);
  EXPECT_TRUE(open.ok()) << open.ToString();
  at_limit->Close();

  ExpectXiningStillServes(0);
}

// A peer that declares a 1000-byte frame, sends 10 bytes and hangs up ends
// only its own connection: the node logs it and keeps serving.
TEST_F(MaliciousPeerTest, TruncatedFrameEndsOnlyThatConnection) {
  auto peer = ConnectEvil();
  std::string frame = net::EncodeFrame(net::CheckpointMessage{genuine_.notes.at(10)});
  ASSERT_TRUE(peer->SendRaw(FrameHeader(1000) + frame.substr(4, 10)).ok());
  peer->Close();
  WaitForLog(kXining,
             "connection with evil (" + peer->address() + ") ended: read from " + peer->address());

  auto next = ConnectEvil();
  ASSERT_TRUE(SyncHonestly(*next, genuine_, 0, 10).ok());
  ExpectXiningStillServes(10);
}

// Random bytes, in place of Hello or after it, are refused with an Error
// saying what is wrong, and close only that connection.
TEST_F(MaliciousPeerTest, GarbageIsRefused) {
  std::mt19937 random(20240601);
  auto garbage = [&](size_t size) {
    std::string bytes(size, '\0');
    for (char& byte : bytes) byte = static_cast<char>(random() & 0xff);
    return bytes;
  };

  // Instead of Hello: a frame of the right length and file identifier whose
  // table is random, so that only the FlatBuffers Verifier stands between
  // it and the decoder.
  EvilPeer stranger;
  ASSERT_TRUE(stranger.Connect(federation_->listen_port(kXining)).ok());
  std::string body = garbage(4092);
  body.replace(4, 4, net::EncodeFrame(net::HelloMessage{"evil", 1}).substr(8, 4));
  ASSERT_TRUE(stranger.SendRaw(FrameHeader(4092) + body).ok());
  StatusOr<std::string> error = stranger.ExpectClosed(5s);
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  EXPECT_EQ(*error, "frame: not a valid Message FlatBuffer");
  WaitForLog(kXining, "protocol error from " + stranger.address() +
                          ": InvalidArgument: frame: not a valid Message FlatBuffer");

  // After Hello: 4 KiB of noise, header included.
  auto peer = ConnectEvil();
  std::string noise = garbage(4096);
  uint32_t declared = net::FrameLength(noise.substr(0, 4));
  // Otherwise the node would wait the frame deadline for the rest.
  ASSERT_TRUE(declared <= 4092 || declared > net::limits::kFrameBytesMax) << declared;
  ASSERT_TRUE(peer->SendRaw(noise).ok());
  error = peer->ExpectClosed(5s);
  ASSERT_TRUE(error.ok()) << error.status().ToString();
  EXPECT_FALSE(error->empty());
  WaitForLog(kXining,
             "protocol error from evil (" + peer->address() + "): InvalidArgument: " + *error);

  ExpectXiningStillServes(0);
}

// A client that dribbles a valid Hello one byte a second never completes the
// handshake: the node drops it when kHandshakeTimeout passes, long before
// the frame would be complete. (The only test that waits for a deadline.)
TEST_F(MaliciousPeerTest, SlowHelloIsCutOffByTheHandshakeDeadline) {
  EvilPeer slow;
  ASSERT_TRUE(slow.Connect(federation_->listen_port(kXining)).ok());
  ASSERT_TRUE(slow.ReadUntil<net::HelloMessage>(5s).ok());
  std::string hello = net::EncodeFrame(net::HelloMessage{"evil", net::limits::kProtocolVersion});
  auto handshake_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(net::limits::kHandshakeTimeout).count();
  ASSERT_GT(static_cast<int64_t>(hello.size()), handshake_seconds + 3);

  size_t sent = 0;
  bool closed = false;
  while (sent < hello.size() && !closed) {
    if (!slow.SendRaw(hello.substr(sent, 1)).ok()) {
      closed = true;  // the node already closed and reset the connection
      break;
    }
    ++sent;
    StatusOr<net::Message> frame = slow.ReadFrame(1s);
    if (frame.ok()) ADD_FAILURE() << "unexpected " << net::MessageName(*frame);
    closed = !frame.ok() && frame.status().code() == Status::Code::kIoError;
  }
  auto elapsed = Clock::now() - slow.connected_at();
  EXPECT_TRUE(closed);
  EXPECT_LT(sent, hello.size());
  EXPECT_GE(elapsed, net::limits::kHandshakeTimeout - 500ms);
  EXPECT_LE(elapsed, net::limits::kHandshakeTimeout + 3s);
  WaitForLog(kXining,
             "connection with " + slow.address() + " ended: deadline passed waiting for a frame");

  ExpectXiningStillServes(0);
}

}  // namespace
}  // namespace ledger
