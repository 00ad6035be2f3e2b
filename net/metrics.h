// What ledgerd shows on GET /metrics, and the counters the net layer keeps
// for it: HTTP requests by route and status code with their durations, and
// peer data the node refused. RenderMetrics writes them, with the Log's own
// counters (ledger/metrics.h), in the Prometheus text exposition format
// 0.0.4.
//
// Metric names never change once published: dashboards and alerts name them.
//
// Thread-safety: the counters are atomics, safe from any thread;
// RenderMetrics only reads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/metrics.h"

namespace ledger {
class Log;
}

namespace net {

// The API's routes as metric labels: a small fixed set, so that a client
// sending random paths cannot grow the label space.
enum class Route : uint8_t {
  kAppend,            // POST /v1/entries
  kStatus,            // /v1/status
  kCheckpoint,        // /v1/checkpoint and /v1/checkpoint/{market}
  kTotals,            // /v1/totals
  kEntries,           // GET /v1/entries/{market}
  kProofInclusion,    // /v1/proof/inclusion/{market}
  kProofConsistency,  // /v1/proof/consistency/{market}
  kMetrics,           // /metrics
  kTiles,             // /v1/tiles/{market}/...
  kBackup,            // POST /v1/backup
  kUnknown,           // any other path
  kUnreadable,        // a request refused before it could be routed (413, 431)
};
inline constexpr size_t kRouteCount = static_cast<size_t>(Route::kUnreadable) + 1;
std::string_view RouteName(Route route);

// Request durations: from half a millisecond (a status read) to ten
// seconds (a large append waiting behind others).
inline constexpr std::array<double, 14> kHttpSecondsBounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

class HttpMetrics {
 public:
  // One answered request. `seconds` is ignored for kUnreadable, whose
  // requests were never read to their end.
  void Record(Route route, unsigned status_code, double seconds);

  // Answers with `status_code` (100..599) on `route`.
  uint64_t requests(Route route, unsigned status_code) const;
  const ledger::Histogram& duration(Route route) const;

  // HTTP status codes are three digits; one slot each below this.
  static constexpr unsigned kStatusCodeEnd = 600;

 private:
  struct PerRoute {
    PerRoute() : duration(kHttpSecondsBounds) {}
    ledger::Histogram duration;
    std::array<std::atomic<uint64_t>, kStatusCodeEnd> requests{};
  };
  std::array<PerRoute, kRouteCount> routes_;
};

// Data from peers that failed verification and was refused, by kind.
struct VerifyFailures {
  std::atomic<uint64_t> frame{0};         // a frame over the limit or that does not decode
  std::atomic<uint64_t> chunk{0};         // a chunk of entries refused as forged or wrong
  std::atomic<uint64_t> checkpoint{0};    // a checkpoint with a bad signature or form
  std::atomic<uint64_t> equivocation{0};  // a checkpoint contradicting the held log
};

// Entries of `origin` this node holds that `peer` did not hold when it last
// said (as the status document's lag).
struct PeerLag {
  std::string peer;
  std::string origin;
  uint64_t entries = 0;
};

struct MetricsSources {
  const ledger::Log* log = nullptr;  // required
  const HttpMetrics* http = nullptr;
  const VerifyFailures* verify = nullptr;  // null: shown as zeros
  std::vector<PeerLag> lags;
};

// The exposition text: "# HELP" and "# TYPE" lines, then one
// `name{labels} value` line per sample.
std::string RenderMetrics(const MetricsSources& sources);

}  // namespace net
