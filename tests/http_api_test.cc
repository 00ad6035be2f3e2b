#include "net/http_api.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "ledger/checkpoint.h"
#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/merkle.h"
#include "ledger/totals.h"
#include "net/config.h"
#include "tests/test_util.h"

namespace net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using ledger::test::ContractJson;
using Json = nlohmann::json;
using Response = http::response<http::string_body>;

const std::string kToken = "s3cret-token-0123456789";

// A client on one keep-alive connection to the API; each call blocks until
// the answer comes or its deadline passes.
class Client {
 public:
  explicit Client(uint16_t port) : stream_(io_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  Response Send(http::verb verb, const std::string& target, const std::string& body = "",
                const std::string& authorization = "Bearer " + kToken) {
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, "127.0.0.1");
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    request.body() = body;
    request.prepare_payload();
    Response response;
    beast::error_code ec;
    // Asynchronous with a deadline, so that a server that never answers
    // fails the test instead of hanging it.
    stream_.expires_after(std::chrono::seconds(10));
    http::async_write(stream_, request, [&](beast::error_code write_ec, size_t) {
      ec = write_ec;
      if (!ec)
        http::async_read(stream_, buffer_, response, [&](auto read_ec, size_t) { ec = read_ec; });
    });
    Run();
    EXPECT_FALSE(ec) << target << ": " << ec.message();
    return response;
  }
  // Waits for the server to close the connection; returns how reading ended.
  beast::error_code ReadUntilClosed(size_t* bytes) {
    beast::error_code ec;
    stream_.expires_after(std::chrono::seconds(10));
    stream_.async_read_some(asio::buffer(byte_), [&](beast::error_code read_ec, size_t n) {
      ec = read_ec;
      *bytes = n;
    });
    Run();
    return ec;
  }
  Response Get(const std::string& target) { return Send(http::verb::get, target); }
  beast::tcp_stream& stream() { return stream_; }

 private:
  void Run() {
    io_.restart();
    io_.run();
  }
  char byte_[1];
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

class HttpApiTest : public ::testing::Test {
 protected:
  void Start(HttpApi::Options options = {}) {
    log_ = ledger::test::InitAndOpen(dir_.path());
    ASSERT_NE(log_, nullptr);
    options.token = kToken;
    options.status_json = [] { return std::string(R"({"market":"xining","peers":[]})"); };
    api_ = std::make_unique<HttpApi>(io_, *log_, std::move(options));
    ASSERT_TRUE(api_->Start().ok());
    ASSERT_NE(api_->port(), 0);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (api_) asio::post(io_, [this] { api_->Stop(); });
    if (thread_.joinable()) thread_.join();
    api_.reset();
  }
  Response Post(const std::string& body, const std::string& authorization = "Bearer " + kToken) {
    return Client(api_->port()).Send(http::verb::post, "/v1/entries", body, authorization);
  }
  std::string Error(const Response& response) {
    Json json = Json::parse(response.body(), nullptr, false);
    EXPECT_TRUE(json.is_object() && json.size() == 1 && json["error"].is_string())
        << response.body();
    return json.is_object() && json["error"].is_string() ? json["error"].get<std::string>() : "";
  }

  ledger::test::TempDir dir_;
  asio::io_context io_{1};
  std::unique_ptr<ledger::Log> log_;
  std::unique_ptr<HttpApi> api_;
  std::thread thread_;
};

// Posted lines land in the log in order, with receipts that match the stored
// entries and leaf hashes, and a line the log refuses is reported by number.
TEST_F(HttpApiTest, AppendsLandWithReceiptsMatchingTheLog) {
  Start();
  Client client(api_->port());
  Response first = client.Send(http::verb::post, "/v1/entries",
                               ContractJson("XN-1") + "\n\n" + ContractJson("XN-2") + "\n");
  ASSERT_EQ(first.result(), http::status::ok) << first.body();
  // The same connection serves a second request (keep-alive).
  Response second = client.Send(http::verb::post, "/v1/entries?actor=clerk-7",
                                ContractJson("XN-3") + "\n" + ContractJson("XN-1"));
  ASSERT_EQ(second.result(), http::status::ok) << second.body();
  EXPECT_EQ(log_->size(), 3u);
  Json receipts = Json::parse(first.body());
  receipts.push_back(Json::parse(second.body())[0]);
  const uint64_t lines[] = {1, 3, 1};
  for (uint64_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(receipts[i]["line"], lines[i]);
    EXPECT_EQ(receipts[i]["index"], i);
    EXPECT_EQ(receipts[i]["leaf_hash"], ledger::HexEncode(*log_->LeafHashAt(i)));
    EXPECT_EQ(receipts[i]["duplicate"], false);
    EXPECT_EQ(ledger::HexEncode(ledger::LeafHash(*log_->ReadEntry(i))), receipts[i]["leaf_hash"]);
  }
  EXPECT_EQ(receipts[1]["checkpoint_size"], 2);
  Json refused = Json::parse(second.body())[1];
  EXPECT_EQ(refused["line"], 2);
  EXPECT_EQ(refused["error"].get<std::string>().rfind("line 2: contract_id", 0), 0u) << refused;
  EXPECT_NE(ledger::EntryToJson(*log_->ReadEntry(0))->find(R"("actor":"ledgerd:api")"),
            std::string::npos);
  EXPECT_NE(ledger::EntryToJson(*log_->ReadEntry(2))->find(R"("actor":"clerk-7")"),
            std::string::npos);
}

// A resubmitted request_id appends nothing and returns the original receipt.
TEST_F(HttpApiTest, ResubmittedRequestIdIsADuplicate) {
  Start();
  std::string line = ContractJson("XN-1");
  line.insert(line.size() - 1, R"(,"request_id":"00112233445566778899aabbccddeeff")");
  Json first = Json::parse(Post(line).body());
  Json again = Json::parse(Post(line).body());
  EXPECT_EQ(log_->size(), 1u);
  EXPECT_EQ(first[0]["duplicate"], false);
  EXPECT_EQ(again[0]["duplicate"], true);
  EXPECT_EQ(again[0]["index"], 0);
  EXPECT_EQ(again[0]["leaf_hash"], first[0]["leaf_hash"]);
}

// Writes without the exact bearer token are 401 and append nothing.
TEST_F(HttpApiTest, MissingOrWrongTokenIs401AndAppendsNothing) {
  Start();
  const std::string body = ContractJson("XN-1");
  for (const std::string& authorization : std::vector<std::string>{
           std::string(), "Bearer wrong-token-0123456789", "Bearer " + kToken.substr(1),
           "Bearer " + kToken + "x", "Basic " + kToken, kToken}) {
    Response response = Post(body, authorization);
    EXPECT_EQ(response.result(), http::status::unauthorized) << authorization;
    EXPECT_EQ(Error(response), "missing or wrong bearer token");
  }
  EXPECT_EQ(log_->size(), 0u);
  EXPECT_EQ(Post(body).result(), http::status::ok);
  EXPECT_EQ(log_->size(), 1u);
}

// One malformed line rejects the whole body with 400 naming that line.
TEST_F(HttpApiTest, MalformedLineIs400NamingTheLineAndAppendsNothing) {
  Start();
  Response response = Post(ContractJson("XN-1") + "\n{\"event\": \n" + ContractJson("XN-2"));
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_EQ(Error(response).rfind("line 2: ", 0), 0u) << response.body();
  std::string unknown = ContractJson("XN-3");
  unknown.insert(unknown.size() - 1, R"(,"colour":"red")");
  response = Post(ContractJson("XN-1") + "\n" + ContractJson("XN-2") + "\r\n" + unknown);
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_EQ(Error(response).rfind("line 3: ", 0), 0u) << response.body();
  EXPECT_EQ(Error(Post("\n \n")), "no entries: want JSON Lines");
  EXPECT_EQ(log_->size(), 0u);
}

// A body over the configured limit is 413 and appends nothing; one under it
// is served.
TEST_F(HttpApiTest, OversizedBodyIs413) {
  Start({.body_bytes_max = 4096});
  std::string body;
  for (int i = 0; body.size() <= 4096; ++i) body += ContractJson("XN-" + std::to_string(i)) + "\n";
  Response response = Post(body);
  EXPECT_EQ(response.result(), http::status::payload_too_large);
  EXPECT_NE(Error(response).find("over 4096 bytes"), std::string::npos);
  EXPECT_EQ(log_->size(), 0u);
  EXPECT_EQ(Post(ContractJson("XN-1")).result(), http::status::ok);
}

// Unknown paths are 404 and known paths with the wrong method 405, both
// with a JSON error body.
TEST_F(HttpApiTest, UnknownPathIs404AndWrongMethodIs405) {
  Start();
  Client client(api_->port());
  Response response = client.Get("/v1/nothing");
  EXPECT_EQ(response.result(), http::status::not_found);
  EXPECT_EQ(Error(response), "no such path: /v1/nothing");
  response = client.Get("/v1/entries");
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "POST");
  EXPECT_FALSE(Error(response).empty());
  EXPECT_EQ(client.Send(http::verb::post, "/v1/totals").result(), http::status::method_not_allowed);
}

// Status carries the node's document and the log's view digest; the
// checkpoint is the log's latest signed note byte for byte.
TEST_F(HttpApiTest, StatusAndCheckpointComeFromTheNodeAndTheLog) {
  Start();
  ASSERT_EQ(Post(ContractJson("XN-1")).result(), http::status::ok);
  Client client(api_->port());
  Json status = Json::parse(client.Get("/v1/status").body());
  EXPECT_EQ(status["market"], "xining");
  EXPECT_EQ(status["view_digest"], ledger::HexEncode(*log_->ViewDigest()));
  Response checkpoint = client.Get("/v1/checkpoint");
  EXPECT_EQ(checkpoint.result(), http::status::ok);
  EXPECT_EQ(checkpoint[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(checkpoint.body(), *log_->LatestCheckpoint());
}

// Totals over HTTP are exactly what Log::Totals answers for the same query.
TEST_F(HttpApiTest, TotalsAnswerTheSameAsLogTotals) {
  Start();
  ASSERT_EQ(Post(ContractJson("A", "100000.00", "80000.00", "2021-09-28") + "\n" +
                 ContractJson("B", "2500000.00", "2000000.00", "2021-10-05") + "\n" +
                 ContractJson("C", "30000.00", "0.00", "2022-01-10") + "\n" +
                 ledger::test::PaymentJson("A", "50000.00"))
                .result(),
            http::status::ok);
  ledger::TotalsQuery query;
  query.markets = {"xining"};
  query.from_month = 202109;
  query.to_month = 202112;
  query.by = {ledger::Dimension::kMarket, ledger::Dimension::kMonth};
  auto expected = log_->Totals(query);
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ(expected->rows.size(), 2u);
  Client client(api_->port());
  std::string target = "/v1/totals?market=xining&from=2021-09&to=2021-12&by=market,month";
  EXPECT_EQ(client.Get(target).body(), ledger::TotalsJson(*expected));
  Json in_wan = Json::parse(client.Get(target + "&unit=wan").body());
  EXPECT_EQ(in_wan["table"], ledger::TotalsTable(*expected, ledger::Unit::kWan));
  EXPECT_EQ(in_wan["unit"], "wan");
  EXPECT_EQ(client.Get("/v1/totals").body(),
            ledger::TotalsJson(*log_->Totals(ledger::TotalsQuery())));
}

// Each bad totals parameter is 400 with a message naming that parameter.
TEST_F(HttpApiTest, BadTotalsParameterIs400NamingIt) {
  Start();
  Client client(api_->port());
  const std::pair<std::string, std::string> cases[] = {
      {"from=2021-13", "from: "},        {"to=2021", "to: "},
      {"by=market,colour", "by: "},      {"unit=usd", "unit: "},
      {"market=nowhere", "market: "},    {"deals=maybe", "deals: "},
      {"by=market&by=month", "by: "},    {"from=2022-01&to=2021-01", "from: "},
      {"by=seller_region,type", "by: "}, {"colour=red", "unknown parameter \"colour\""},
  };
  for (const auto& [query, prefix] : cases) {
    Response response = client.Get("/v1/totals?" + query);
    EXPECT_EQ(response.result(), http::status::bad_request) << query;
    EXPECT_EQ(Error(response).rfind(prefix, 0), 0u) << query << ": " << response.body();
  }
}

// A client that sends half a request and stalls is dropped once the
// deadline passes, while another client is served in the meantime.
TEST_F(HttpApiTest, StalledClientIsDroppedAfterTheDeadline) {
  Start({.request_timeout = std::chrono::milliseconds(1000)});
  Client stalled(api_->port());
  auto started = std::chrono::steady_clock::now();
  asio::write(stalled.stream().socket(),
              asio::buffer(std::string("POST /v1/entries HTTP/1.1\r\nHost: x\r\n"
                                       "Content-Length: 100\r\n\r\n{\"event\"")));
  EXPECT_EQ(Client(api_->port()).Get("/v1/status").result(), http::status::ok);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1000));
  size_t read = 0;
  beast::error_code ec = stalled.ReadUntilClosed(&read);
  auto dropped_after = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_EQ(read, 0u);
  EXPECT_GE(dropped_after, std::chrono::milliseconds(950));
  EXPECT_LT(dropped_after, std::chrono::seconds(10));
  EXPECT_EQ(log_->size(), 0u);
}

// --- The read routes over one market's log, and /metrics. ---

Json JsonOf(const Response& response) {
  EXPECT_EQ(response.result(), http::status::ok) << response.body();
  EXPECT_EQ(response[http::field::content_type], "application/json");
  Json json = Json::parse(response.body(), nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << response.body();
  return json;
}

ledger::Hash HashFromBase64(const Json& text) {
  auto bytes = ledger::Base64Decode(text.get<std::string>());
  EXPECT_TRUE(bytes.ok() && bytes->size() == 32) << text;
  return bytes.ok() && bytes->size() == 32 ? ledger::HashFromBytes(*bytes) : ledger::Hash{};
}

std::vector<ledger::Hash> ProofOf(const Json& list) {
  std::vector<ledger::Hash> proof;
  for (const Json& hash : list) proof.push_back(HashFromBase64(hash));
  return proof;
}

// The checkpoint a signed note carries, once its signature by `vkey` checks.
ledger::Checkpoint SignedCheckpoint(const std::string& note, const std::string& vkey) {
  auto parsed = ledger::ParseNote(note);
  EXPECT_TRUE(parsed.ok()) << note;
  if (!parsed.ok()) return {};
  auto verifier = ledger::NoteVerifier::FromVkey(vkey);
  EXPECT_TRUE(verifier.ok() && ledger::VerifyNote(*parsed, *verifier).ok()) << note;
  auto checkpoint = ledger::ParseCheckpoint(parsed->text);
  EXPECT_TRUE(checkpoint.ok()) << note;
  return checkpoint.ok() ? *checkpoint : ledger::Checkpoint{};
}

std::string Lines(const std::string& prefix, int first, int count) {
  std::string body;
  for (int i = first; i < first + count; ++i)
    body += ContractJson(prefix + std::to_string(i)) + "\n";
  return body;
}

std::unique_ptr<ledger::Log> InitAndOpenAs(const std::string& dir, const std::string& market) {
  auto vkey = ledger::Log::Init(dir, market, "techmarket.cn/" + market);
  EXPECT_TRUE(vkey.ok()) << vkey.status().ToString();
  auto log = ledger::Log::Open(dir, ledger::LogOptions());
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

// A partner market's log replicated into the fixture's, which trusts both
// markets' checkpoint and witness keys and a third market ("lanzhou") whose
// log it has not fetched.
class Partner {
 public:
  Partner(ledger::Log& log, int entries) {
    partner_ = InitAndOpenAs(dir_.path() + "/xian", "xian");
    std::vector<std::string> bytes;
    for (int i = 0; i < entries; ++i) {
      bytes.push_back(ledger::test::Entry(ContractJson("XA-" + std::to_string(i))));
    }
    for (const auto& receipt : partner_->Append(std::move(bytes))) EXPECT_TRUE(receipt.ok());
    third_ = InitAndOpenAs(dir_.path() + "/lanzhou", "lanzhou");
    EXPECT_TRUE(log.Trust({TrustOf(log), TrustOf(*partner_), TrustOf(*third_)}).ok());
    EXPECT_TRUE(partner_->Trust({TrustOf(log), TrustOf(*partner_), TrustOf(*third_)}).ok());
    ledger::ReplicaChunk chunk;
    chunk.entries = *partner_->ReadEntries(partner_->local_origin_id(), 0, partner_->size());
    chunk.checkpoint = *partner_->LatestCheckpoint();
    auto replicated = log.Replicate(std::move(chunk));
    EXPECT_TRUE(replicated.ok()) << replicated.status().ToString();
  }
  ledger::Log& log() { return *partner_; }

 private:
  static ledger::TrustedOrigin TrustOf(const ledger::Log& log) {
    return {log.market_id(),
            log.origin(),
            {log.vkey(), ledger::WitnessVkeyOf(*ledger::NoteVerifier::FromVkey(log.vkey()))}};
  }
  ledger::test::TempDir dir_;
  std::unique_ptr<ledger::Log> partner_;
  std::unique_ptr<ledger::Log> third_;
};

// A page of entries carries the stored bytes of each (base64), their leaf
// hash and their JSON, exactly as the log holds them; pages past the end are
// empty, and the defaults are from 0 and 100 entries.
TEST_F(HttpApiTest, EntriesServeTheStoredBytesPageByPage) {
  Start();
  ASSERT_EQ(Post(Lines("XN-", 0, 3)).result(), http::status::ok);
  ASSERT_EQ(Post(Lines("XN-", 3, 4)).result(), http::status::ok);
  ASSERT_EQ(log_->size(), 7u);
  Client client(api_->port());
  Json page = JsonOf(client.Get("/v1/entries/xining?from=2&limit=4"));
  EXPECT_EQ(page["market"], "xining");
  EXPECT_EQ(page["origin"], "techmarket.cn/xining");
  EXPECT_EQ(page["size"], 7);
  EXPECT_EQ(page["from"], 2);
  ASSERT_EQ(page["entries"].size(), 4u);
  for (uint64_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    const Json& row = page["entries"][i];
    EXPECT_EQ(row["index"], 2 + i);
    auto bytes = ledger::Base64Decode(row["entry_b64"].get<std::string>());
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(*bytes, *log_->ReadEntry(2 + i));
    EXPECT_EQ(row["leaf_hash"], ledger::HexEncode(ledger::LeafHash(*bytes)));
    EXPECT_EQ(row["leaf_hash"], ledger::HexEncode(*log_->LeafHashAt(2 + i)));
    EXPECT_EQ(row["entry"], Json::parse(*ledger::EntryToJson(*bytes)));
  }
  // The entry JSON is spliced in as rendered: same member order as
  // `ledgerctl log --json`.
  EXPECT_NE(client.Get("/v1/entries/xining?from=2&limit=1")
                .body()
                .find("\"entry\":" + *ledger::EntryToJson(*log_->ReadEntry(2)) + ","),
            std::string::npos);
  Json all = JsonOf(client.Get("/v1/entries/xining"));
  EXPECT_EQ(all["from"], 0);
  EXPECT_EQ(all["entries"].size(), 7u);
  EXPECT_EQ(JsonOf(client.Get("/v1/entries/xining?from=5&limit=1000"))["entries"].size(), 2u);
  for (const char* past : {"7", "8", "18446744073709551615"}) {
    Json empty = JsonOf(client.Get(std::string("/v1/entries/xining?from=") + past));
    EXPECT_EQ(empty["entries"], Json::array()) << past;
    EXPECT_EQ(empty["size"], 7) << past;
  }
}

// Every inclusion proof the API gives, at signed and unsigned sizes,
// verifies against the root of the checkpoint signed at that size.
TEST_F(HttpApiTest, InclusionProofsVerifyAgainstTheSignedCheckpoint) {
  Start();
  // Three posts, three batches: checkpoints at 3, 7 and 12.
  ASSERT_EQ(Post(Lines("XN-", 0, 3)).result(), http::status::ok);
  ASSERT_EQ(Post(Lines("XN-", 3, 4)).result(), http::status::ok);
  ASSERT_EQ(Post(Lines("XN-", 7, 5)).result(), http::status::ok);
  Client client(api_->port());
  for (uint64_t size : {3, 7, 12}) {
    for (uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE(std::to_string(index) + " of " + std::to_string(size));
      Json proof = JsonOf(client.Get("/v1/proof/inclusion/xining?index=" + std::to_string(index) +
                                     "&size=" + std::to_string(size)));
      EXPECT_EQ(proof["origin"], "techmarket.cn/xining");
      EXPECT_EQ(proof["index"], index);
      EXPECT_EQ(proof["size"], size);
      ASSERT_TRUE(proof["checkpoint"].is_string());
      EXPECT_EQ(proof["checkpoint"], *log_->CheckpointAt(size));
      ledger::Checkpoint signed_head =
          SignedCheckpoint(proof["checkpoint"].get<std::string>(), log_->vkey());
      EXPECT_EQ(signed_head.size, size);
      EXPECT_EQ(proof["root"], ledger::HexEncode(signed_head.root));
      ledger::Hash leaf = ledger::LeafHash(*log_->ReadEntry(index));
      EXPECT_EQ(proof["leaf_hash"], ledger::HexEncode(leaf));
      EXPECT_TRUE(
          ledger::VerifyInclusion(leaf, index, size, ProofOf(proof["proof"]), signed_head.root)
              .ok());
    }
  }
  // Size 5 was never signed: no checkpoint, and the proof still verifies
  // against the root the log computes for that size.
  Json unsigned_size = JsonOf(client.Get("/v1/proof/inclusion/xining?index=4&size=5"));
  EXPECT_FALSE(unsigned_size.contains("checkpoint"));
  EXPECT_EQ(unsigned_size["root"], ledger::HexEncode(*log_->RootAt(5)));
  EXPECT_TRUE(ledger::VerifyInclusion(ledger::LeafHash(*log_->ReadEntry(4)), 4, 5,
                                      ProofOf(unsigned_size["proof"]), *log_->RootAt(5))
                  .ok());
  // The size defaults to the held size, and a proof is for its index only.
  Json latest = JsonOf(client.Get("/v1/proof/inclusion/xining?index=6"));
  EXPECT_EQ(latest["size"], 12);
  EXPECT_FALSE(ledger::VerifyInclusion(ledger::LeafHash(*log_->ReadEntry(6)), 7, 12,
                                       ProofOf(latest["proof"]), *log_->RootAt(12))
                   .ok());
}

// Consistency proofs between every pair of signed sizes verify against the
// roots of the two checkpoints.
TEST_F(HttpApiTest, ConsistencyProofsVerifyBetweenSignedCheckpoints) {
  Start();
  ASSERT_EQ(Post(Lines("XN-", 0, 3)).result(), http::status::ok);
  ASSERT_EQ(Post(Lines("XN-", 3, 4)).result(), http::status::ok);
  ASSERT_EQ(Post(Lines("XN-", 7, 5)).result(), http::status::ok);
  Client client(api_->port());
  const std::pair<uint64_t, uint64_t> pairs[] = {{3, 7}, {3, 12}, {7, 12}, {12, 12}};
  for (const auto& [from, to] : pairs) {
    SCOPED_TRACE(std::to_string(from) + " to " + std::to_string(to));
    Json proof = JsonOf(client.Get("/v1/proof/consistency/xining?from=" + std::to_string(from) +
                                   "&to=" + std::to_string(to)));
    EXPECT_EQ(proof["from"], from);
    EXPECT_EQ(proof["to"], to);
    ledger::Checkpoint old_head =
        SignedCheckpoint(proof["from_checkpoint"].get<std::string>(), log_->vkey());
    ledger::Checkpoint new_head =
        SignedCheckpoint(proof["to_checkpoint"].get<std::string>(), log_->vkey());
    EXPECT_EQ(old_head.size, from);
    EXPECT_EQ(new_head.size, to);
    EXPECT_EQ(proof["from_root"], ledger::HexEncode(old_head.root));
    EXPECT_EQ(proof["to_root"], ledger::HexEncode(new_head.root));
    EXPECT_TRUE(
        ledger::VerifyConsistency(from, to, old_head.root, new_head.root, ProofOf(proof["proof"]))
            .ok());
  }
  Json latest = JsonOf(client.Get("/v1/proof/consistency/xining?from=5"));
  EXPECT_EQ(latest["to"], 12);
  EXPECT_FALSE(latest.contains("from_checkpoint"));  // 5 was never signed
  EXPECT_TRUE(ledger::VerifyConsistency(5, 12, *log_->RootAt(5), *log_->RootAt(12),
                                        ProofOf(latest["proof"]))
                  .ok());
}

// A partner's log is served from the replica held here: its checkpoint as
// the partner signed it, its entries byte for byte, and proofs against its
// root; the node's own checkpoint carries the partner's cosignature; a
// market whose log is not fetched yet has no checkpoint to give.
TEST_F(HttpApiTest, PartnerMarketsAreServedFromTheReplica) {
  Start();
  ASSERT_EQ(Post(Lines("XN-", 0, 2)).result(), http::status::ok);
  Partner partner(*log_, 6);
  ledger::Log& xian = partner.log();
  std::string ours = *log_->LatestCheckpoint();
  std::string cosignature = xian.Cosign(ledger::ParseNote(ours)->text);
  ASSERT_TRUE(log_->AddCosignatures(ledger::ParseNote(ours)->text + "\n" + cosignature).ok());
  Client client(api_->port());

  Response own = client.Get("/v1/checkpoint/xining");
  EXPECT_EQ(own.result(), http::status::ok);
  EXPECT_EQ(own[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(own.body(), ours + cosignature);
  Response theirs = client.Get("/v1/checkpoint/xian");
  ASSERT_EQ(theirs.result(), http::status::ok);
  ledger::Checkpoint head = SignedCheckpoint(theirs.body(), xian.vkey());
  EXPECT_EQ(head.size, 6u);
  EXPECT_EQ(head.root, *xian.RootAt(6));
  Response unfetched = client.Get("/v1/checkpoint/lanzhou");
  EXPECT_EQ(unfetched.result(), http::status::not_found);
  EXPECT_EQ(Error(unfetched).rfind("market: ", 0), 0u) << unfetched.body();

  Json page = JsonOf(client.Get("/v1/entries/xian?from=1&limit=3"));
  EXPECT_EQ(page["origin"], "techmarket.cn/xian");
  EXPECT_EQ(page["size"], 6);
  ASSERT_EQ(page["entries"].size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(*ledger::Base64Decode(page["entries"][i]["entry_b64"].get<std::string>()),
              *xian.ReadEntry(1 + i));
  }
  Json proof = JsonOf(client.Get("/v1/proof/inclusion/xian?index=4"));
  EXPECT_EQ(proof["size"], 6);
  EXPECT_TRUE(ledger::VerifyInclusion(ledger::LeafHash(*xian.ReadEntry(4)), 4, 6,
                                      ProofOf(proof["proof"]), head.root)
                  .ok());
  EXPECT_EQ(JsonOf(client.Get("/v1/entries/lanzhou"))["entries"], Json::array());
}

// The samples of a /metrics page by "name{labels}". Fails the test on a line
// that is neither a HELP or TYPE comment nor `name{labels} value`, and on a
// sample whose family has no TYPE line before it.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  static const std::regex kComment(R"(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")"
      R"((,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? (-?[0-9][0-9.e+-]*))");
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_match(line, match, kComment)) {
      if (match[1] == "TYPE") types[match[2]] = line.substr(line.rfind(' ') + 1);
      continue;
    }
    if (!std::regex_match(line, match, kSample)) {
      ADD_FAILURE() << "not a sample: " << line;
      continue;
    }
    std::string family = match[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!types.count(family) && family.ends_with(suffix)) {
        family.resize(family.size() - std::string(suffix).size());
      }
    }
    EXPECT_TRUE(types.count(family)) << "no TYPE for " << line;
    std::string key = line.substr(0, line.rfind(' '));
    EXPECT_FALSE(samples.count(key)) << "twice: " << key;
    samples[key] = std::stod(match[4]);
  }
  return samples;
}

// /metrics is well-formed Prometheus text; appends move the appended
// counter by exactly the entries written and add one batch each; every
// answered request is counted by route and code and timed.
TEST_F(HttpApiTest, MetricsAreWellFormedAndCountTheWork) {
  Start();
  Client client(api_->port());
  Response first = client.Get("/metrics");
  ASSERT_EQ(first.result(), http::status::ok);
  EXPECT_EQ(first[http::field::content_type].substr(0, 26), "text/plain; version=0.0.4;");
  std::map<std::string, double> before = ParseMetrics(first.body());
  for (const char* family :
       {"ledger_entries_appended_total", "ledger_entries_replicated_total",
        "ledger_verify_failures_total", "ledger_log_size", "ledger_peer_lag_entries",
        "ledger_batch_entries", "ledger_http_request_duration_seconds",
        "ledger_http_requests_total"}) {
    EXPECT_NE(first.body().find(std::string("# TYPE ") + family + " "), std::string::npos)
        << family;
    EXPECT_NE(first.body().find(std::string("# HELP ") + family + " "), std::string::npos)
        << family;
  }
  EXPECT_EQ(before["ledger_entries_appended_total"], 0);
  EXPECT_EQ(before["ledger_verify_failures_total{kind=\"chunk\"}"], 0);
  EXPECT_EQ(before["ledger_log_size{origin=\"techmarket.cn/xining\"}"], 0);

  ASSERT_EQ(Post(Lines("XN-", 0, 3)).result(), http::status::ok);
  // One new line, one resubmitted: only the new one counts.
  ASSERT_EQ(Post(Lines("XN-", 3, 1) + ContractJson("XN-0")).result(), http::status::ok);
  EXPECT_EQ(client.Get("/v1/nothing").result(), http::status::not_found);
  std::map<std::string, double> after = ParseMetrics(client.Get("/metrics").body());
  EXPECT_EQ(after["ledger_entries_appended_total"], 4);
  EXPECT_EQ(after["ledger_log_size{origin=\"techmarket.cn/xining\"}"], 4);
  EXPECT_EQ(after["ledger_batch_entries_count"] - before["ledger_batch_entries_count"], 2);
  EXPECT_EQ(after["ledger_batch_entries_sum"] - before["ledger_batch_entries_sum"], 4);
  EXPECT_EQ(after["ledger_batch_entries_bucket{le=\"1\"}"], 1);  // the batch of one
  EXPECT_EQ(after["ledger_batch_entries_bucket{le=\"4\"}"], 2);
  EXPECT_EQ(after["ledger_batch_entries_bucket{le=\"+Inf\"}"], 2);
  EXPECT_EQ(after["ledger_http_requests_total{route=\"append\",code=\"200\"}"], 2);
  EXPECT_EQ(after["ledger_http_requests_total{route=\"unknown\",code=\"404\"}"], 1);
  EXPECT_EQ(after["ledger_http_requests_total{route=\"metrics\",code=\"200\"}"], 1);
  EXPECT_EQ(after["ledger_http_request_duration_seconds_count{route=\"append\"}"], 2);
  EXPECT_EQ(after["ledger_http_request_duration_seconds_bucket{route=\"append\",le=\"+Inf\"}"], 2);
  EXPECT_GT(after["ledger_http_request_duration_seconds_sum{route=\"append\"}"], 0);
  // Buckets are cumulative.
  double previous = 0;
  for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                         "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    std::string key = std::string("ledger_http_request_duration_seconds_bucket{route=\"append\"") +
                      ",le=\"" + le + "\"}";
    ASSERT_TRUE(after.count(key)) << key;
    EXPECT_GE(after[key], previous) << key;
    previous = after[key];
  }
}

// A replicated partner log shows in the replication counter and the size
// gauge under its origin.
TEST_F(HttpApiTest, MetricsCountReplicatedEntriesByOrigin) {
  Start();
  Partner partner(*log_, 5);
  std::map<std::string, double> samples = ParseMetrics(Client(api_->port()).Get("/metrics").body());
  EXPECT_EQ(samples["ledger_entries_replicated_total{origin=\"techmarket.cn/xian\"}"], 5);
  EXPECT_EQ(samples["ledger_entries_replicated_total{origin=\"techmarket.cn/lanzhou\"}"], 0);
  EXPECT_EQ(samples["ledger_log_size{origin=\"techmarket.cn/xian\"}"], 5);
  EXPECT_EQ(samples["ledger_entries_appended_total"], 0);
  EXPECT_EQ(samples["ledger_batch_entries_bucket{le=\"4\"}"], 0);
  EXPECT_EQ(samples["ledger_batch_entries_bucket{le=\"16\"}"], 1);
}

// Every bad parameter, unknown market or path and wrong method of the read
// routes is a 4xx with a JSON error naming what was wrong, on a connection
// that keeps serving.
TEST_F(HttpApiTest, BadReadRequestsAre4xxNamingTheParameter) {
  Start();
  ASSERT_EQ(Post(Lines("XN-", 0, 4)).result(), http::status::ok);
  Client client(api_->port());
  struct Case {
    std::string target;
    http::status status;
    std::string error;  // a prefix of the message
  };
  const auto bad = http::status::bad_request;
  const auto missing = http::status::not_found;
  const Case cases[] = {
      {"/v1/entries/xining?from=abc", bad, "from: want a decimal number"},
      {"/v1/entries/xining?from=-1", bad, "from: "},
      {"/v1/entries/xining?from=%2B1", bad, "from: "},
      {"/v1/entries/xining?from=+1", bad, "from: "},
      {"/v1/entries/xining?from=1.0", bad, "from: "},
      {"/v1/entries/xining?from=0x1", bad, "from: "},
      {"/v1/entries/xining?from=", bad, "from: "},
      {"/v1/entries/xining?from=18446744073709551616", bad, "from: 18446744073709551616 is too"},
      {"/v1/entries/xining?from=1&from=2", bad, "from: given more than once"},
      {"/v1/entries/xining?limit=0", bad, "limit: want 1..1000"},
      {"/v1/entries/xining?limit=1001", bad, "limit: want 1..1000"},
      {"/v1/entries/xining?limit", bad, "limit: "},
      {"/v1/entries/xining?colour=red", bad, "unknown parameter \"colour\""},
      {"/v1/entries/xining?from=%zz", bad, "query: bad percent-encoding"},
      {"/v1/entries/nowhere", missing, "market: "},
      {"/v1/entries/", missing, "market: "},
      {"/v1/entries/xining/more", missing, "market: "},
      {"/v1/proof/inclusion/xining", bad, "index: required"},
      {"/v1/proof/inclusion/xining?index=1&size=5", bad, "size: 5 is beyond the held size 4"},
      {"/v1/proof/inclusion/xining?index=3&size=3", bad, "index: 3 is not below size 3"},
      {"/v1/proof/inclusion/xining?index=1&size=-2", bad, "size: "},
      {"/v1/proof/inclusion/xining?index=1&from=2", bad, "unknown parameter \"from\""},
      {"/v1/proof/inclusion/nowhere?index=0", missing, "market: "},
      {"/v1/proof/consistency/xining", bad, "from: required"},
      {"/v1/proof/consistency/xining?from=0", bad, "from: "},
      {"/v1/proof/consistency/xining?from=3&to=2", bad, "from: "},
      {"/v1/proof/consistency/xining?from=1&to=9", bad, "to: 9 is beyond the held size 4"},
      {"/v1/proof/consistency/xining?from=1&to=99999999999999999999", bad, "to: "},
      {"/v1/checkpoint/nowhere", missing, "market: "},
      {"/v1/checkpoint/", missing, "market: "},
      {"/v1/checkpoint/xining?size=1", bad, "unknown parameter \"size\""},
      {"/v1/checkpoint?x=1", bad, "unknown parameter \"x\""},
      {"/metrics?format=json", bad, "unknown parameter \"format\""},
      {"/v1/proof/nothing/xining", missing, "no such path"},
  };
  for (const Case& c : cases) {
    Response response = client.Get(c.target);
    EXPECT_EQ(response.result(), c.status) << c.target << ": " << response.body();
    EXPECT_EQ(Error(response).rfind(c.error, 0), 0u) << c.target << ": " << response.body();
  }
  const std::pair<http::verb, std::string> wrong_methods[] = {
      {http::verb::post, "/v1/checkpoint/xining"},
      {http::verb::delete_, "/v1/entries/xining"},
      {http::verb::post, "/v1/proof/inclusion/xining?index=0"},
      {http::verb::put, "/metrics"}};
  for (const auto& [verb, target] : wrong_methods) {
    Response response = client.Send(verb, target);
    EXPECT_EQ(response.result(), http::status::method_not_allowed) << target;
    EXPECT_EQ(response[http::field::allow], "GET") << target;
    EXPECT_EQ(Error(response), "method not allowed");
  }
  // The same connection still serves, and nothing was appended.
  EXPECT_EQ(client.Get("/v1/status").result(), http::status::ok);
  EXPECT_EQ(JsonOf(client.Get("/v1/entries/xining"))["entries"].size(), 4u);
  EXPECT_EQ(log_->size(), 4u);
}

// node.json's "api" object is parsed strictly: the token is the token file's
// first line, too short a token or an unknown field is an error naming it.
TEST_F(HttpApiTest, ConfigApiObjectIsParsedStrictly) {
  const ledger::test::TempDir& dir = dir_;
  log_ = ledger::test::InitAndOpen(dir.path() + "/xining");
  ASSERT_NE(log_, nullptr);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.path() + "/" + name) << text;
  };
  write("federation.json", R"({"markets":[{"market":"xining","origin":"techmarket.cn/xining",)"
                           R"("vkeys":[")" +
                               log_->vkey() + R"("]}]})");
  auto load = [&](const std::string& api) {
    write("node.json", R"({"data_dir":"xining","federation":"federation.json","api":)" + api + "}");
    return LoadNodeConfig(dir.path() + "/node.json");
  };
  write("api.token", kToken + "\nignored second line\n");
  write("short.token", "short\n");
  auto config = load(R"({"token_file":"api.token"})");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->api.token, kToken);
  EXPECT_EQ(config->api.listen, "127.0.0.1:8101");
  EXPECT_EQ(config->api.token_file, dir.path() + "/api.token");
  config = load(R"({"listen":"127.0.0.1:9000","token_file":"api.token"})");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->api.listen, "127.0.0.1:9000");
  const std::pair<std::string, std::string> bad[] = {
      {R"({"token_file":"short.token"})", "api token_file"},
      {R"({"token_file":"missing.token"})", "api token_file"},
      {R"({"listen":"127.0.0.1:8101"})", "\"token_file\""},
      {R"({"token_file":"api.token","port":1})", "\"port\""},
      {R"({"listen":"nowhere","token_file":"api.token"})", "api listen"},
      {R"("127.0.0.1:8101")", "api: want an object"},
  };
  for (const auto& [api, named] : bad) {
    auto result = load(api);
    ASSERT_FALSE(result.ok()) << api;
    EXPECT_NE(result.status().message().find(named), std::string::npos)
        << api << ": " << result.status().ToString();
  }
}

std::string BackupBody(const std::string& to) { return Json{{"to", to}}.dump(); }

// A backup through the API holds the node's logs (its own and a partner's)
// exactly as they were when it was asked for, reports what it holds, and
// is counted under its own route; appending goes on after it, and the copy
// does not see it.
TEST_F(HttpApiTest, BackupHoldsTheLogsAsOfTheRequest) {
  Start();
  Partner partner(*log_, 5);
  Client client(api_->port());
  ASSERT_EQ(Post(Lines("XN-", 0, 3)).result(), http::status::ok);
  ledger::test::TempDir backups;
  const std::string target = backups.path() + "/one";
  Response response = client.Send(http::verb::post, "/v1/backup", BackupBody(target + "/"));
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  Json answer = JsonOf(response);
  EXPECT_EQ(answer["backup"], target);
  EXPECT_EQ(answer["market"], "xining");
  // In the node's order: its own log first.
  EXPECT_EQ(nlohmann::ordered_json::parse(response.body())["sizes"].dump(),
            R"({"xining":3,"xian":5,"lanzhou":0})");
  EXPECT_EQ(answer["view_digest"], ledger::HexEncode(*log_->ViewDigest()));

  ASSERT_EQ(Post(Lines("XN-", 3, 2)).result(), http::status::ok);
  EXPECT_EQ(log_->size(), 5u);
  auto copy = ledger::Log::Open(target, ledger::LogOptions{.read_only = true});
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  ASSERT_EQ((*copy)->size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(*(*copy)->ReadEntry(i), *log_->ReadEntry(i)) << i;
  EXPECT_EQ((*copy)->ReadEntry(3).status().code(), ledger::Status::Code::kOutOfRange);
  EXPECT_EQ(*(*copy)->LatestCheckpoint(), *log_->CheckpointAt(3));
  EXPECT_EQ(ledger::HexEncode(*(*copy)->ViewDigest()), answer["view_digest"]);
  EXPECT_NE(answer["view_digest"], ledger::HexEncode(*log_->ViewDigest()));
  uint32_t xian = (*copy)->OriginNamed(partner.log().origin())->id;
  EXPECT_EQ((*copy)->HeldSize(xian), 5u);
  ledger::Status verified = (*copy)->Verify(nullptr);
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  EXPECT_FALSE(std::filesystem::exists(ledger::KeyPath(target)));

  std::map<std::string, double> metrics = ParseMetrics(client.Get("/metrics").body());
  EXPECT_EQ(metrics["ledger_http_requests_total{route=\"backup\",code=\"200\"}"], 1);
}

// Every request the API cannot honour is refused with a JSON error that says
// why, and writes nothing: no token, a wrong token, the wrong method, a bad
// body, a relative path, a missing parent, a query; an existing target is
// 409 and left as it was.
TEST_F(HttpApiTest, BackupRefusalsSayWhyAndWriteNothing) {
  Start();
  ASSERT_EQ(Post(Lines("XN-", 0, 2)).result(), http::status::ok);
  Client client(api_->port());
  ledger::test::TempDir backups;
  const std::string target = backups.path() + "/one";
  for (const std::string& authorization :
       std::vector<std::string>{"", "Bearer wrong-token-0123456789", "Basic " + kToken}) {
    Response response =
        client.Send(http::verb::post, "/v1/backup", BackupBody(target), authorization);
    EXPECT_EQ(response.result(), http::status::unauthorized) << authorization;
    EXPECT_EQ(Error(response), "missing or wrong bearer token");
  }
  Response response = client.Get("/v1/backup");
  EXPECT_EQ(response.result(), http::status::method_not_allowed);
  EXPECT_EQ(response[http::field::allow], "POST");
  struct Case {
    std::string target;
    std::string body;
    std::string error;
  };
  const Case bad[] = {
      {"/v1/backup", "", "body: want a JSON object"},
      {"/v1/backup", "[\"" + target + "\"]", "body: want a JSON object"},
      {"/v1/backup", R"({"to":5})", "to: want a string"},
      {"/v1/backup", R"({"destination":"/tmp/x"})", "unknown member \"destination\""},
      {"/v1/backup", R"({"to":"relative/dir"})", "to: want an absolute path"},
      {"/v1/backup", BackupBody(backups.path() + "/missing/one"), "parent directory of"},
      {"/v1/backup", BackupBody(std::string(5000, '/')), "to: not a usable path"},
      {"/v1/backup?to=x", BackupBody(target), "unknown parameter \"to\""},
  };
  for (const Case& c : bad) {
    response = client.Send(http::verb::post, c.target, c.body);
    EXPECT_EQ(response.result(), http::status::bad_request) << c.body;
    EXPECT_NE(Error(response).find(c.error), std::string::npos)
        << c.body << ": " << response.body();
  }
  EXPECT_TRUE(std::filesystem::is_empty(backups.path())) << "a refused backup wrote something";

  std::filesystem::create_directory(target);
  std::ofstream(target + "/keep.txt") << "not a backup";
  response = client.Send(http::verb::post, "/v1/backup", BackupBody(target));
  EXPECT_EQ(response.result(), http::status::conflict) << response.body();
  EXPECT_NE(Error(response).find(target + " already exists"), std::string::npos) << response.body();
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(target),
                          std::filesystem::directory_iterator()),
            1);
  std::ifstream kept(target + "/keep.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), "not a backup");
  // The node is unharmed and backs up to a new path.
  response = client.Send(http::verb::post, "/v1/backup", BackupBody(backups.path() + "/two"));
  EXPECT_EQ(response.result(), http::status::ok) << response.body();
  EXPECT_EQ(JsonOf(response)["sizes"]["xining"], 2);
}

}  // namespace
}  // namespace net
