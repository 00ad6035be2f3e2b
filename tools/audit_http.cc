// TileSource and GET over plain HTTP/1.1 (Boost.Beast, synchronous), with
// one kept-alive connection per source.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "tools/audit_source.h"

namespace ledger::audit {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::chrono::seconds kRequestTimeout{30};
// A tile bundle is at most 256 entries of 64 KiB.
constexpr size_t kBodyBytesMax = 24u << 20;

struct Url {
  std::string host;
  std::string port;
  std::string path;  // starts with "/"
};

StatusOr<Url> ParseUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    return Status::InvalidArgument(url + ": want an http:// URL (put TLS in front with a proxy)");
  }
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  Url parsed;
  parsed.path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  parsed.host = authority.substr(0, colon);
  parsed.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (parsed.host.empty() || parsed.port.empty()) {
    return Status::InvalidArgument(url + ": want http://host[:port]/...");
  }
  return parsed;
}

// The server's {"error": ...} message, or the start of the body.
std::string ServerMessage(const std::string& body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) {
    return json["error"].get<std::string>();
  }
  return body.substr(0, 200);
}

class Connection {
 public:
  explicit Connection(Url base) : base_(std::move(base)), stream_(io_) {}

  StatusOr<std::string> Get(const std::string& target) {
    // One retry on a fresh connection: a kept-alive one may have been closed
    // by the server meanwhile.
    for (int attempt = 0;; ++attempt) {
      beast::error_code error;
      StatusOr<std::string> body = Attempt(target, &error);
      if (!error || attempt == 1) return body;
      stream_.close();
      connected_ = false;
    }
  }

 private:
  StatusOr<std::string> Attempt(const std::string& target, beast::error_code* error) {
    std::string url = "http://" + base_.host + ":" + base_.port + target;
    if (!connected_) {
      asio::ip::tcp::resolver resolver(io_);
      auto endpoints = resolver.resolve(base_.host, base_.port, *error);
      if (*error) return Status::IoError(url + ": " + error->message());
      stream_.expires_after(kRequestTimeout);
      stream_.connect(endpoints, *error);
      if (*error) return Status::IoError(url + ": " + error->message());
      connected_ = true;
    }
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, base_.host);
    request.set(http::field::user_agent, "ledger-audit");
    stream_.expires_after(kRequestTimeout);
    http::write(stream_, request, *error);
    if (*error) return Status::IoError(url + ": " + error->message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyBytesMax);
    http::read(stream_, buffer_, parser, *error);
    if (*error) return Status::IoError(url + ": " + error->message());
    http::response<http::string_body> response = parser.release();
    if (!response.keep_alive()) {
      stream_.close();
      connected_ = false;
    }
    if (response.result() == http::status::ok) return std::move(response.body());
    std::string message = url + ": HTTP " + std::to_string(response.result_int()) + ": " +
                          ServerMessage(response.body());
    if (response.result() == http::status::not_found) return Status::NotFound(message);
    return Status::IoError(message);
  }

  Url base_;
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

class HttpTiles : public TileSource {
 public:
  HttpTiles(std::string url, Url base) : url_(std::move(url)), prefix_(base.path), connection_(std::move(base)) {
    if (prefix_.back() != '/') prefix_ += '/';
  }

  StatusOr<std::string> Get(const std::string& path) override {
    return connection_.Get(prefix_ + path);
  }
  std::string Describe() const override { return url_; }

 private:
  std::string url_;
  std::string prefix_;
  Connection connection_;
};

}  // namespace

StatusOr<std::unique_ptr<TileSource>> HttpSource(const std::string& url) {
  LEDGER_ASSIGN_OR_RETURN(Url base, ParseUrl(url));
  return std::unique_ptr<TileSource>(std::make_unique<HttpTiles>(url, std::move(base)));
}

StatusOr<std::string> HttpGetText(const std::string& url) {
  LEDGER_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  std::string target = parsed.path;
  Connection connection(std::move(parsed));
  return connection.Get(target);
}

}  // namespace ledger::audit
