#include "net/http_api.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

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

}  // namespace
}  // namespace net
