#include "net/metrics.h"

#include <charconv>
#include <map>
#include <utility>

#include "ledger/log.h"

namespace net {
namespace {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// The shortest text that reads back as the same double ("0.0005", "16384").
std::string Number(double value) {
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value, std::chars_format::general);
  return ec == std::errc() ? std::string(text, end) : "NaN";
}

// Label values are quoted; the format escapes backslash, quote and newline.
std::string Escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

// Builds the exposition text one family at a time.
class Exposition {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }

  void Sample(std::string_view name, const Labels& labels, const std::string& value) {
    out_.append(name);
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out_ += ',';
        out_.append(labels[i].first).append("=\"").append(Escape(labels[i].second)) += '"';
      }
      out_ += '}';
    }
    out_.append(" ").append(value).append("\n");
  }

  // Buckets are cumulative in the format; the +Inf bucket and _count are
  // the same total, summed here from the buckets so that they agree.
  void HistogramSamples(std::string_view name, Labels labels, const ledger::Histogram& histogram) {
    std::string bucket = std::string(name) + "_bucket";
    uint64_t total = 0;
    labels.emplace_back("le", "");
    for (size_t i = 0; i <= histogram.bounds().size(); ++i) {
      total += histogram.bucket(i);
      bool last = i == histogram.bounds().size();
      labels.back().second = last ? "+Inf" : Number(histogram.bounds()[i]);
      Sample(bucket, labels, std::to_string(total));
    }
    labels.pop_back();
    Sample(std::string(name) + "_sum", labels, Number(histogram.sum()));
    Sample(std::string(name) + "_count", labels, std::to_string(total));
  }

  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

uint64_t Load(const std::atomic<uint64_t>& value) { return value.load(std::memory_order_relaxed); }

void RenderLog(const ledger::Log& log, Exposition* out) {
  const ledger::LogMetrics& metrics = log.metrics();
  out->Family("ledger_entries_appended_total", "counter",
              "Entries of the node's own log accepted and written since start.");
  out->Sample("ledger_entries_appended_total", {}, std::to_string(Load(metrics.entries_appended)));
  std::map<uint32_t, std::string> origins = log.OriginNames();
  out->Family("ledger_entries_replicated_total", "counter",
              "Entries of partner logs verified and stored since start.");
  for (const auto& [id, origin] : origins) {
    if (id == log.local_origin_id() || id >= metrics.entries_replicated.size()) continue;
    out->Sample("ledger_entries_replicated_total", {{"origin", origin}},
                std::to_string(Load(metrics.entries_replicated[id])));
  }
  out->Family("ledger_log_size", "gauge", "Durable entries held of each origin's log.");
  for (const auto& [id, origin] : origins) {
    out->Sample("ledger_log_size", {{"origin", origin}}, std::to_string(log.HeldSize(id)));
  }
  out->Family("ledger_batch_entries", "histogram", "Entries per batch the writer committed.");
  out->HistogramSamples("ledger_batch_entries", {}, metrics.batch_entries);
}

void RenderPeers(const MetricsSources& sources, Exposition* out) {
  out->Family("ledger_verify_failures_total", "counter",
              "Data from peers refused because it failed verification, by kind.");
  static const VerifyFailures kNone;
  const VerifyFailures& verify = sources.verify != nullptr ? *sources.verify : kNone;
  const std::pair<const char*, const std::atomic<uint64_t>*> kinds[] = {
      {"frame", &verify.frame},
      {"chunk", &verify.chunk},
      {"checkpoint", &verify.checkpoint},
      {"equivocation", &verify.equivocation}};
  for (const auto& [kind, count] : kinds) {
    out->Sample("ledger_verify_failures_total", {{"kind", kind}}, std::to_string(Load(*count)));
  }
  out->Family("ledger_peer_lag_entries", "gauge",
              "Entries of an origin held here that a connected peer lacked when it last said.");
  for (const PeerLag& lag : sources.lags) {
    out->Sample("ledger_peer_lag_entries", {{"peer", lag.peer}, {"origin", lag.origin}},
                std::to_string(lag.entries));
  }
}

void RenderHttp(const HttpMetrics& http, Exposition* out) {
  out->Family("ledger_http_requests_total", "counter",
              "HTTP API requests answered, by route and status code.");
  for (size_t r = 0; r < kRouteCount; ++r) {
    Route route = static_cast<Route>(r);
    for (unsigned code = 100; code < HttpMetrics::kStatusCodeEnd; ++code) {
      uint64_t count = http.requests(route, code);
      if (count == 0) continue;
      out->Sample("ledger_http_requests_total",
                  {{"route", std::string(RouteName(route))}, {"code", std::to_string(code)}},
                  std::to_string(count));
    }
  }
  out->Family("ledger_http_request_duration_seconds", "histogram",
              "Time from reading an HTTP API request to handing over its response, by route.");
  for (size_t r = 0; r < kRouteCount; ++r) {
    Route route = static_cast<Route>(r);
    const ledger::Histogram& duration = http.duration(route);
    uint64_t observed = 0;
    for (size_t i = 0; i <= duration.bounds().size(); ++i) observed += duration.bucket(i);
    if (observed == 0) continue;  // routes never asked for stay off the page
    out->HistogramSamples("ledger_http_request_duration_seconds",
                          {{"route", std::string(RouteName(route))}}, duration);
  }
}

}  // namespace

std::string_view RouteName(Route route) {
  static constexpr std::array<std::string_view, kRouteCount> kNames = {
      "append",  "status",          "checkpoint",        "totals",
      "entries", "proof_inclusion", "proof_consistency", "metrics",
      "tiles",   "backup",          "unknown",           "unreadable"};
  return kNames[static_cast<size_t>(route)];
}

void HttpMetrics::Record(Route route, unsigned status_code, double seconds) {
  PerRoute& per_route = routes_[static_cast<size_t>(route)];
  if (status_code < kStatusCodeEnd) {
    per_route.requests[status_code].fetch_add(1, std::memory_order_relaxed);
  }
  if (route != Route::kUnreadable) per_route.duration.Observe(seconds);
}

uint64_t HttpMetrics::requests(Route route, unsigned status_code) const {
  if (status_code >= kStatusCodeEnd) return 0;
  return Load(routes_[static_cast<size_t>(route)].requests[status_code]);
}

const ledger::Histogram& HttpMetrics::duration(Route route) const {
  return routes_[static_cast<size_t>(route)].duration;
}

std::string RenderMetrics(const MetricsSources& sources) {
  Exposition out;
  RenderLog(*sources.log, &out);
  RenderPeers(sources, &out);
  if (sources.http != nullptr) RenderHttp(*sources.http, &out);
  return out.Take();
}

}  // namespace net
