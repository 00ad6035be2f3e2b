// The API's listener, sessions and request dispatch; what each route
// answers is in http_api_routes.cc.
#include "net/http_api.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "ledger/crypto.h"
#include "net/asio_status.h"

namespace net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

using Json = nlohmann::ordered_json;
using Response = HttpApi::Response;

Response Reply(http::status status, std::string body, const char* content_type) {
  Response response(status, 11);
  response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

Response NotAllowed(const char* allow) {
  Response response = HttpApi::Error(http::status::method_not_allowed, "method not allowed");
  response.set(http::field::allow, allow);
  return response;
}

// The route of a path and, for the routes of one market's log, the market
// (the rest of the path, which may be empty or hold a '/': no market has
// such an id, so those are unknown markets).
Route RouteOf(std::string_view path, std::optional<std::string_view>* market) {
  static constexpr std::pair<std::string_view, Route> kPaths[] = {
      {"/v1/entries", Route::kAppend},        {"/v1/status", Route::kStatus},
      {"/v1/checkpoint", Route::kCheckpoint}, {"/v1/totals", Route::kTotals},
      {"/v1/backup", Route::kBackup},         {"/metrics", Route::kMetrics}};
  static constexpr std::pair<std::string_view, Route> kMarketPaths[] = {
      {"/v1/checkpoint/", Route::kCheckpoint},
      {"/v1/entries/", Route::kEntries},
      {"/v1/proof/inclusion/", Route::kProofInclusion},
      {"/v1/proof/consistency/", Route::kProofConsistency},
      {"/v1/tiles/", Route::kTiles}};
  for (const auto& [exact, route] : kPaths) {
    if (path == exact) return route;
  }
  for (const auto& [prefix, route] : kMarketPaths) {
    if (path.starts_with(prefix)) {
      *market = path.substr(prefix.size());
      return route;
    }
  }
  return Route::kUnknown;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// One client connection: reads a request, has the API answer it, writes the
// response, and reads the next while the client keeps the connection alive.
// One request at a time; every step runs on the io thread.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(HttpApi& api, tcp::socket socket) : api_(api), stream_(std::move(socket)) {}

  void Start() { DoRead(); }
  // Ends the connection now; a response still being prepared is dropped.
  void Close() { Finish(/*graceful=*/false); }

 private:
  void DoRead();
  void OnRead(const beast::error_code& ec, size_t bytes);
  void Send(HttpApi::Response response);
  // Sends an error and ends the connection: the request could not be read
  // to its end, so the next one cannot be found.
  void SendAndClose(http::status status, const std::string& message);
  void OnWrite(const beast::error_code& ec, size_t bytes);
  // Reads and drops what the client still sends after a closing error
  // response, so that the client reads the response instead of a reset.
  void DoLinger();
  void OnLinger(const beast::error_code& ec, size_t bytes);
  void Fail(const beast::error_code& ec, const char* what);
  void Finish(bool graceful);

  HttpApi& api_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // The response being written; it must live until the write completes.
  std::optional<HttpApi::Response> response_;
  std::array<char, 16384> linger_buffer_{};
  size_t linger_bytes_ = 0;
  bool finished_ = false;
};

void HttpSession::DoRead() {
  if (finished_) return;
  parser_.emplace();
  parser_->body_limit(api_.options().body_bytes_max);
  parser_->header_limit(limits::kApiHeaderBytesMax);
  stream_.expires_after(api_.options().request_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::OnRead, shared_from_this()));
}

void HttpSession::OnRead(const beast::error_code& ec, size_t /*bytes*/) {
  if (finished_) return;
  if (ec == http::error::end_of_stream) return Finish(/*graceful=*/true);
  if (ec == http::error::body_limit) {
    return SendAndClose(
        http::status::payload_too_large,
        "request body is over " + std::to_string(api_.options().body_bytes_max) + " bytes");
  }
  if (ec == http::error::header_limit) {
    return SendAndClose(
        http::status::request_header_fields_too_large,
        "request headers are over " + std::to_string(limits::kApiHeaderBytesMax) + " bytes");
  }
  if (ec && ec.category() == http::make_error_code(http::error::bad_target).category()) {
    return SendAndClose(http::status::bad_request, "bad HTTP request: " + ec.message());
  }
  if (ec) return Fail(ec, "read");
  // The deadline covers reading and writing, not the time the log takes.
  stream_.expires_never();
  api_.Handle(parser_->release(), [self = shared_from_this()](HttpApi::Response response) {
    self->Send(std::move(response));
  });
}

void HttpSession::Send(HttpApi::Response response) {
  if (finished_) return;
  response_.emplace(std::move(response));
  response_->prepare_payload();
  stream_.expires_after(api_.options().request_timeout);
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this()));
}

void HttpSession::SendAndClose(http::status status, const std::string& message) {
  api_.CountUnreadable(status);
  HttpApi::Response response = HttpApi::Error(status, message);
  response.keep_alive(false);
  Send(std::move(response));
}

void HttpSession::OnWrite(const beast::error_code& ec, size_t /*bytes*/) {
  if (finished_) return;
  if (ec) return Fail(ec, "write");
  bool keep_alive = response_->keep_alive();
  response_.reset();
  if (keep_alive) return DoRead();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(limits::kApiLingerTimeout);
  DoLinger();
}

void HttpSession::DoLinger() {
  // Bytes the parser had buffered but not consumed count as drained.
  buffer_.clear();
  stream_.async_read_some(asio::buffer(linger_buffer_),
                          beast::bind_front_handler(&HttpSession::OnLinger, shared_from_this()));
}

void HttpSession::OnLinger(const beast::error_code& ec, size_t bytes) {
  if (finished_) return;
  linger_bytes_ += bytes;
  // eof is the client's close: the response was read. Anything else (the
  // deadline, too many bytes, an error) ends the connection just the same.
  if (ec || linger_bytes_ > limits::kApiLingerBytesMax) return Finish(/*graceful=*/false);
  DoLinger();
}

void HttpSession::Fail(const beast::error_code& ec, const char* what) {
  if (ec != asio::error::operation_aborted) {
    spdlog::debug("api {}: {}", what, FromAsio(ec, what).ToString());
  }
  Finish(/*graceful=*/false);
}

void HttpSession::Finish(bool graceful) {
  if (finished_) return;
  finished_ = true;
  beast::error_code ignored;
  if (graceful) stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
  api_.Forget(this);
}

HttpApi::HttpApi(asio::io_context& io, ledger::Log& log, Options options)
    : io_(io),
      log_(log),
      options_(std::move(options)),
      acceptor_(io),
      append_pool_(options_.append_threads) {}

HttpApi::~HttpApi() {
  // Waits for every queued and running append: their entries were accepted
  // for appending and complete; only the responses may be lost.
  append_pool_.join();
}

ledger::Status HttpApi::Start() {
  std::string where = "api listen " + options_.host + ":" + std::to_string(options_.port);
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) return ledger::Status::InvalidArgument(where + ": host is not an IP address");
  tcp::endpoint local(address, options_.port);
  acceptor_.open(local.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(local, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return FromAsio(ec, where);
  port_ = acceptor_.local_endpoint(ec).port();
  if (ec) return FromAsio(ec, where);
  DoAccept();
  return ledger::Status::Ok();
}

void HttpApi::Stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  auto sessions = sessions_;
  for (auto& [pointer, session] : sessions) session->Close();
}

void HttpApi::DoAccept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (ec) {
      spdlog::warn("api accept: {}", ec.message());
    } else if (sessions_.size() >= options_.connections_max) {
      spdlog::warn("api refused a connection: {} connections is the limit",
                   options_.connections_max);
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      auto session = std::make_shared<HttpSession>(*this, std::move(socket));
      sessions_.emplace(session.get(), session);
      session->Start();
    }
    DoAccept();
  });
}

void HttpApi::Forget(HttpSession* session) { sessions_.erase(session); }

Response HttpApi::Error(http::status status, std::string_view message) {
  return Reply(status,
               Json{{"error", message}}.dump(-1, ' ', false, Json::error_handler_t::replace),
               "application/json");
}

void HttpApi::CountUnreadable(http::status status) {
  metrics_.Record(Route::kUnreadable, static_cast<unsigned>(status), 0);
}

void HttpApi::Handle(Request request, Respond respond) {
  std::string_view target(request.target().data(), request.target().size());
  size_t question = target.find('?');
  std::string path(target.substr(0, question));
  std::string query(question == std::string_view::npos ? "" : target.substr(question + 1));
  std::optional<std::string_view> market;
  Route route = RouteOf(path, &market);
  Respond reply = [this, route, started = std::chrono::steady_clock::now(),
                   version = request.version(), keep_alive = request.keep_alive(),
                   respond = std::move(respond)](Response response) {
    response.version(version);
    response.keep_alive(keep_alive);
    response.set(http::field::server, "ledgerd");
    metrics_.Record(route, response.result_int(), SecondsSince(started));
    respond(std::move(response));
  };
  if (route == Route::kUnknown)
    return reply(Error(http::status::not_found, "no such path: " + path));
  if (route == Route::kAppend) {
    if (request.method() != http::verb::post) return reply(NotAllowed("POST"));
    return HandleAppend(std::move(request), query, std::move(reply));
  }
  if (route == Route::kBackup) {
    if (request.method() != http::verb::post) return reply(NotAllowed("POST"));
    return HandleBackup(std::move(request), query, std::move(reply));
  }
  if (request.method() != http::verb::get) return reply(NotAllowed("GET"));
  reply(Answer(route, market, query));
}

Response HttpApi::Answer(Route route, std::optional<std::string_view> market,
                         std::string_view query) const {
  switch (route) {
    case Route::kTotals:
      return HandleTotals(query);
    case Route::kEntries:
      return HandleEntries(*market, query);
    case Route::kProofInclusion:
      return HandleInclusion(*market, query);
    case Route::kProofConsistency:
      return HandleConsistency(*market, query);
    default:
      break;
  }
  // The remaining routes take no parameters; refusing any keeps a typo
  // from passing for an answer to the question meant.
  ledger::StatusOr<api_internal::Params> params = api_internal::ParseParams(query, {});
  if (!params.ok()) return Error(http::status::bad_request, params.status().message());
  switch (route) {
    case Route::kStatus:
      return HandleStatus();
    case Route::kCheckpoint:
      return market ? HandleCheckpointOf(*market) : HandleCheckpoint();
    case Route::kMetrics:
      return HandleMetrics();
    case Route::kTiles: {
      // "{market}/checkpoint" or "{market}/tile/...".
      size_t slash = market->find('/');
      if (slash == std::string_view::npos) return Error(http::status::not_found, "no such path");
      return HandleTiles(market->substr(0, slash), market->substr(slash + 1));
    }
    default:
      return Error(http::status::not_found, "no such path");
  }
}

bool HttpApi::Authorized(const Request& request) const {
  constexpr std::string_view kScheme = "Bearer ";
  auto header = request.find(http::field::authorization);
  if (options_.token.empty() || header == request.end()) return false;
  std::string_view value(header->value().data(), header->value().size());
  if (value.substr(0, kScheme.size()) != kScheme) return false;
  // Comparing digests takes the same time whatever the token and its length.
  ledger::Hash given = ledger::Sha256(value.substr(kScheme.size()));
  ledger::Hash want = ledger::Sha256(options_.token);
  return CRYPTO_memcmp(given.data(), want.data(), given.size()) == 0;
}

}  // namespace net
