// NodeClient: a small synchronous HTTP/1.1 client for ledgerd's API
// (net/http_api.h), for `ledgerctl --node URL`.
//
// Speaks plain http:// only, as ledgerd serves it (on loopback or behind a
// proxy that adds TLS). One connection is kept alive between requests and
// opened again when the node closed it; every step (resolve, connect, write,
// read) has a deadline. Errors name the request, the URL and, for an HTTP
// error, the status and the server's JSON "error":
//   "GET http://127.0.0.1:8101/v1/entries/x: 404 Not Found: market: ..."
// Codes: Unavailable (cannot reach the node: retry), InvalidArgument (400:
// fix the request), NotFound (404), FailedPrecondition (401: fix the token),
// AlreadyExists (409), ResourceExhausted (413, 503), Internal (other
// answers).
//
// Thread-safety: none; one thread uses a client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace ledger::cli {

struct NodeConnection;  // node_client.cc

class NodeClient {
 public:
  // An append of the API's largest body waits for a WAL sync behind other
  // appends; a minute leaves room for a slow disk, and a node that does not
  // answer in that time is reported rather than waited for.
  static constexpr std::chrono::seconds kTimeout{60};

  // `url`: "http://host:port", optionally with a trailing "/". InvalidArgument
  // for any other form, naming it.
  static StatusOr<std::unique_ptr<NodeClient>> Create(const std::string& url,
                                                      std::chrono::milliseconds timeout = kTimeout);
  ~NodeClient();
  NodeClient(const NodeClient&) = delete;
  NodeClient& operator=(const NodeClient&) = delete;

  // The body of a 200 answer. `target` is the path and query ("/v1/status").
  StatusOr<std::string> Get(std::string_view target);
  // POSTs `body` with "Authorization: Bearer <token>". Never repeated on a
  // failure: the node may have appended already.
  StatusOr<std::string> Post(std::string_view target, std::string body,
                             const std::string& bearer_token,
                             std::string_view content_type = "application/x-ndjson");

  // "http://host:port", as given without a trailing "/".
  const std::string& url() const { return url_; }

 private:
  NodeClient(std::string url, std::string host, std::string port,
             std::chrono::milliseconds timeout);

  std::string url_;
  std::string host_;
  std::string port_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<NodeConnection> connection_;
};

// Percent-encodes a query parameter value (RFC 3986 unreserved characters
// stay as they are).
std::string QueryEscape(std::string_view value);

}  // namespace ledger::cli
