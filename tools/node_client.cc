#include "tools/node_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <nlohmann/json.hpp>

#include "ledger/limits.h"
#include "net/http_api.h"

namespace ledger::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// The largest answer read: a page of entries at the largest entry size,
// each as JSON and as base64 (together under 8 bytes per entry byte).
constexpr uint64_t kResponseBytesMax =
    net::HttpApi::kEntriesPerPageMax * 8 * (uint64_t{limits::kEntryBytesMax} + 1);

// How a failed answer reads: the node's JSON "error" when it sent one.
std::string ErrorText(const Response& response) {
  nlohmann::json body = nlohmann::json::parse(response.body(), nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    return body["error"].get<std::string>();
  }
  return response.body().substr(0, 200);
}

Status::Code CodeOf(http::status status) {
  switch (status) {
    case http::status::bad_request:
      return Status::Code::kInvalidArgument;
    case http::status::not_found:
      return Status::Code::kNotFound;
    case http::status::unauthorized:
      return Status::Code::kFailedPrecondition;
    case http::status::conflict:
      return Status::Code::kAlreadyExists;
    case http::status::payload_too_large:
    case http::status::service_unavailable:
      return Status::Code::kResourceExhausted;
    default:
      return Status::Code::kInternal;
  }
}

Status MakeStatus(Status::Code code, const std::string& message) {
  switch (code) {
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(message);
    case Status::Code::kNotFound:
      return Status::NotFound(message);
    case Status::Code::kFailedPrecondition:
      return Status::FailedPrecondition(message);
    case Status::Code::kAlreadyExists:
      return Status::AlreadyExists(message);
    case Status::Code::kResourceExhausted:
      return Status::ResourceExhausted(message);
    default:
      return Status::Internal(message);
  }
}

void Run(asio::io_context& io) {
  io.restart();
  io.run();
}

}  // namespace

// One keep-alive connection and the io_context its operations run on.
struct NodeConnection {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool open = false;

  void Close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    open = false;
  }
};

StatusOr<std::unique_ptr<NodeClient>> NodeClient::Create(const std::string& url,
                                                         std::chrono::milliseconds timeout) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest(url);
  if (!rest.starts_with(kScheme)) {
    return Status::InvalidArgument("--node " + url +
                                   ": want http://host:port (ledgerd serves plain HTTP only)");
  }
  rest.remove_prefix(kScheme.size());
  if (rest.ends_with("/")) rest.remove_suffix(1);
  std::string_view host = rest, port = "80";
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.starts_with("[") && host.ends_with("]")) host = host.substr(1, host.size() - 2);
  bool port_ok = !port.empty() && port.size() <= 5 &&
                 port.find_first_not_of("0123456789") == std::string_view::npos &&
                 std::stoul(std::string(port)) <= 65535;
  if (host.empty() || host.find_first_of("/?#@ ") != std::string_view::npos || !port_ok) {
    return Status::InvalidArgument("--node " + url + ": want http://host:port");
  }
  return std::unique_ptr<NodeClient>(new NodeClient(std::string(kScheme) + std::string(rest),
                                                    std::string(host), std::string(port), timeout));
}

NodeClient::NodeClient(std::string url, std::string host, std::string port,
                       std::chrono::milliseconds timeout)
    : url_(std::move(url)),
      host_(std::move(host)),
      port_(std::move(port)),
      timeout_(timeout),
      connection_(std::make_unique<NodeConnection>()) {}

NodeClient::~NodeClient() {
  if (connection_->open) connection_->Close();
}

namespace {

// Resolving has no stream to carry a deadline, so a timer cancels it.
beast::error_code ResolveAndConnect(NodeConnection& c, const std::string& host,
                                    const std::string& port, std::chrono::milliseconds timeout) {
  beast::error_code ec;
  tcp::resolver resolver(c.io);
  asio::steady_timer timer(c.io, timeout);
  resolver.async_resolve(host, port, [&](beast::error_code e, tcp::resolver::results_type found) {
    timer.cancel();
    ec = e;
    if (ec) return;
    c.stream.expires_after(timeout);
    c.stream.async_connect(found, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  });
  timer.async_wait([&](beast::error_code e) {
    if (!e) resolver.cancel();
  });
  Run(c.io);
  return ec;
}

// Writes the request and reads the answer on the open connection.
beast::error_code Exchange(NodeConnection& c, Request& request, Response* response,
                           std::chrono::milliseconds timeout) {
  beast::error_code ec;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kResponseBytesMax);
  c.stream.expires_after(timeout);
  http::async_write(c.stream, request, [&](beast::error_code e, size_t) {
    ec = e;
    if (ec) return;
    c.stream.expires_after(timeout);
    http::async_read(c.stream, c.buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
  });
  Run(c.io);
  if (!ec) *response = parser.release();
  return ec;
}

// Sends one request; a GET on a kept-alive connection the node has closed
// meanwhile is sent once more on a new one.
StatusOr<Response> Send(NodeConnection& c, Request& request, const std::string& what,
                        const std::string& host, const std::string& port,
                        std::chrono::milliseconds timeout) {
  bool reused = c.open;
  for (int attempt = 0;; ++attempt) {
    if (!c.open) {
      beast::error_code ec = ResolveAndConnect(c, host, port, timeout);
      if (ec) {
        c.Close();
        return Status::Unavailable(what + ": cannot connect: " + ec.message());
      }
      c.open = true;
    }
    Response response;
    beast::error_code ec = Exchange(c, request, &response, timeout);
    if (!ec) {
      if (!response.keep_alive()) c.Close();
      return response;
    }
    c.Close();
    if (!reused || attempt > 0 || request.method() != http::verb::get) {
      return Status::Unavailable(what + ": " + ec.message());
    }
  }
}

// The body of a 200 answer; any other is an error naming the request.
StatusOr<std::string> BodyOf(StatusOr<Response> response, const std::string& what) {
  if (!response.ok()) return response.status();
  if (response->result() != http::status::ok) {
    return MakeStatus(CodeOf(response->result()),
                      what + ": " + std::to_string(response->result_int()) + " " +
                          std::string(response->reason()) + ": " + ErrorText(*response));
  }
  return std::move(response->body());
}

}  // namespace

StatusOr<std::string> NodeClient::Get(std::string_view target) {
  Request request(http::verb::get, beast::string_view(target.data(), target.size()), 11);
  request.set(http::field::host, host_ + ":" + port_);
  request.set(http::field::user_agent, "ledgerctl");
  std::string what = "GET " + url_ + std::string(target);
  return BodyOf(Send(*connection_, request, what, host_, port_, timeout_), what);
}

StatusOr<std::string> NodeClient::Post(std::string_view target, std::string body,
                                       const std::string& bearer_token,
                                       std::string_view content_type) {
  Request request(http::verb::post, beast::string_view(target.data(), target.size()), 11);
  request.set(http::field::host, host_ + ":" + port_);
  request.set(http::field::user_agent, "ledgerctl");
  request.set(http::field::authorization, "Bearer " + bearer_token);
  request.set(http::field::content_type,
              beast::string_view(content_type.data(), content_type.size()));
  request.body() = std::move(body);
  request.prepare_payload();
  // A fresh connection: one the node closed while idle would fail the
  // write, and a POST is never sent twice.
  if (connection_->open) connection_->Close();
  std::string what = "POST " + url_ + std::string(target);
  return BodyOf(Send(*connection_, request, what, host_, port_, timeout_), what);
}

std::string QueryEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace ledger::cli
