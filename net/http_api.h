// HttpApi: ledgerd's HTTP/JSON API (DESIGN.md section 7) over one ledger::Log.
//
//   POST /v1/entries     JSON Lines, one entry per line in the JSON of
//                        `ledgerctl append`; needs "Authorization: Bearer
//                        <token>". Optional query: actor=NAME, recorded with
//                        entries that name none. 200: a JSON array with, per
//                        non-blank line, its receipt or why the log refused
//                        it. 400 (nothing appended): a line is not an entry.
//   POST /v1/backup      {"to": "/absolute/path"}, with the same bearer token:
//                        a consistent copy of the node's database, taken
//                        while it runs, in that new directory (ledger::Log::
//                        Backup: a data directory without the signing key).
//                        200: {"backup": path, "market", "sizes": {market:
//                        size held in the copy}, "view_digest"}; 400 a bad
//                        body, a relative path or a missing parent; 409 the
//                        path exists (left untouched); 503 a backup is
//                        already running. A failed backup leaves nothing.
//   GET  /v1/status      the node's status document plus "view_digest" and
//                        "evidence" (as `ledgerctl status --json`).
//   GET  /v1/checkpoint  the latest signed checkpoint note, as text/plain.
//   GET  /v1/checkpoint/{market}
//                        that market's latest held checkpoint followed by the
//                        witness cosignatures held for it, as text/plain.
//   GET  /v1/entries/{market}?from=N&limit=K
//                        {"market", "origin", "size", "from", "entries"}:
//                        entries [N, N+K) of the held log (from 0, limit
//                        1..kEntriesPerPageMax, default kEntriesPerPageDefault;
//                        none past the held size), each as a line of
//                        `ledgerctl log --json`.
//   GET  /v1/proof/inclusion/{market}?index=I&size=N
//                        {"market", "origin", "index", "size", "leaf_hash",
//                        "root", "proof": [base64 hashes], "checkpoint"}; size
//                        defaults to the held size; "checkpoint" (with its
//                        cosignatures) only when that size was signed.
//   GET  /v1/proof/consistency/{market}?from=M&to=N
//                        {"market", "origin", "from", "to", "from_root",
//                        "to_root", "proof", "from_checkpoint",
//                        "to_checkpoint"}; to defaults to the held size.
//   GET  /v1/totals      ?market=a,b&from=YYYY-MM&to=YYYY-MM&by=market,month
//                        &deals=true&unit=wan: the JSON of `ledgerctl totals
//                        --json` (money in yuan); with unit, also "unit" and
//                        "table", the text table in that unit.
//   GET  /metrics        the node's metrics in the Prometheus text format
//                        0.0.4 (net/metrics.h).
//   GET  /v1/tiles/{market}/checkpoint, /v1/tiles/{market}/tile/...
//                        the market's log at its latest held checkpoint as
//                        C2SP tlog-tiles (ledger/tiles.h), for tile clients
//                        and ledger-audit.
// Hashes in JSON are hex except in "proof" lists (base64, as in checkpoints).
// Numbers in a query are plain decimal digits (no sign); a parameter given
// twice or unknown to the route is refused.
// Every error body is JSON {"error": "..."}: 400 bad input (naming the line
// or parameter), 401 missing or wrong token, 404 unknown path or market (or
// a market whose log is not held yet), 405 wrong method, 409 a backup target
// that exists, 413 body or entry count over the limit, 431 headers over the
// limit, 503 too many appends or a backup already running.
//
// Shape (Boost.Beast's examples): a listener and one shared_from_this
// session per connection, a deadline set before every read and write,
// error_code overloads throughout, and nothing throws across the event loop.
// Connections past the cap are closed on accept. Log::Append blocks until
// the WAL sync, and a backup until its copy is written, so both run on a
// small thread pool owned by the API and their responses are posted back to
// the io thread.
//
// Thread-safety: everything runs on the io_context's one thread, except the
// append and backup jobs, which touch only the Log (and a backup its new
// directory) and then post back.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"
#include "net/limits.h"
#include "net/metrics.h"

namespace ledger {
class Log;
}

namespace net {

class HttpSession;

class HttpApi {
 public:
  struct Options {
    std::string host = "127.0.0.1";  // an IP address
    uint16_t port = 0;               // 0: the system picks one (see port())
    // The bearer token writes need. REQUIRES: at least
    // limits::kApiTokenBytesMin characters.
    std::string token{};
    // Recorded with entries that name no actor when the POST has no
    // `actor` parameter.
    std::string default_actor = "ledgerd:api";
    // The status document (a JSON object); called on the io thread. When
    // empty, /v1/status holds only the view digest.
    std::function<std::string()> status_json{};
    size_t connections_max = limits::kApiConnectionsMax;
    size_t body_bytes_max = limits::kApiBodyBytesMax;
    std::chrono::milliseconds request_timeout = limits::kApiRequestTimeout;
    size_t append_threads = limits::kApiAppendThreads;
    // For /metrics, both optional: the peer data the node refused (shown as
    // zeros when null; must outlive the API), and per connected peer and
    // origin the entries the peer lacks (called on the io thread).
    const VerifyFailures* verify_failures = nullptr;
    std::function<std::vector<PeerLag>()> peer_lags{};
  };
  // Entries in one GET /v1/entries answer: enough to page through a log
  // quickly, few enough that an answer of the largest entries stays tens of
  // MiB.
  static constexpr uint64_t kEntriesPerPageMax = 1000;
  static constexpr uint64_t kEntriesPerPageDefault = 100;
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  // Called once per request on the io thread with the response to send.
  using Respond = std::function<void(Response)>;

  // `io` and `log` must outlive the API, and `io` must run on one thread.
  HttpApi(boost::asio::io_context& io, ledger::Log& log, Options options);
  // Waits for queued and running appends (their entries become durable;
  // their responses are dropped unless the io_context still runs).
  // REQUIRES: Stop() ran, or the io_context no longer runs.
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds the listener and starts accepting. Errors: a bad host
  // (InvalidArgument) or the address is busy (IoError).
  ledger::Status Start();
  // Stops accepting and closes every connection; appends already running
  // finish. On the io thread.
  void Stop();
  // The bound port, once started.
  uint16_t port() const { return port_; }

  // --- For sessions, on the io thread. ---
  const Options& options() const { return options_; }
  // Routes one request; `respond` runs at once or, for an append, once the
  // log is done (posted to the io thread).
  void Handle(Request request, Respond respond);
  void Forget(HttpSession* session);
  // Counts a request the session refused before it could be routed.
  void CountUnreadable(boost::beast::http::status status);
  // A JSON error response {"error": message}.
  static Response Error(boost::beast::http::status status, std::string_view message);

 private:
  void DoAccept();
  void HandleAppend(Request request, std::string_view query, Respond respond);
  // POST /v1/backup (http_api_backup.cc).
  void HandleBackup(Request request, std::string_view query, Respond respond);
  Response HandleStatus() const;
  Response HandleCheckpoint() const;
  Response HandleTotals(std::string_view query) const;
  Response HandleMetrics() const;
  // Answers a GET of `route` (not kAppend or kUnknown).
  Response Answer(Route route, std::optional<std::string_view> market,
                  std::string_view query) const;
  // The routes of one market's log (http_api_reads.cc).
  Response HandleCheckpointOf(std::string_view market) const;
  Response HandleEntries(std::string_view market, std::string_view query) const;
  Response HandleInclusion(std::string_view market, std::string_view query) const;
  Response HandleConsistency(std::string_view market, std::string_view query) const;
  // A tlog-tiles file of one market's log (http_api_tiles.cc).
  Response HandleTiles(std::string_view market, std::string_view path) const;
  bool Authorized(const Request& request) const;

  boost::asio::io_context& io_;
  ledger::Log& log_;
  Options options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  bool stopping_ = false;
  std::map<HttpSession*, std::shared_ptr<HttpSession>> sessions_;
  size_t appends_in_flight_ = 0;
  // One backup at a time: each flushes and copies the database, and a second
  // would only compete with the first (and with appends) for the disk.
  bool backup_running_ = false;
  HttpMetrics metrics_;
  // Last member: destroyed (joined) first, while the rest still exists.
  boost::asio::thread_pool append_pool_;
};

// Shared by the route files (http_api_routes.cc, http_api_reads.cc); not for
// callers.
namespace api_internal {

// A query's name=value pairs, percent-decoded, in order.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
ledger::StatusOr<QueryParams> ParseQuery(std::string_view query);
// The parameters by name. InvalidArgument naming the parameter when one is
// not in `allowed` or is given twice.
using Params = std::map<std::string, std::string, std::less<>>;
ledger::StatusOr<Params> ParseParams(std::string_view query,
                                     std::initializer_list<std::string_view> allowed);
// 200 with a JSON body.
HttpApi::Response JsonReply(std::string body);
// Compact JSON; text that is not UTF-8 (client input quoted in a message) is
// replaced, never thrown on.
std::string Dump(const nlohmann::ordered_json& json);

}  // namespace api_internal
}  // namespace net
