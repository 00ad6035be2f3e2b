// ledger-bench: measures the ledger and prints one JSON line per figure.
//
//   ledger-bench append [--entries N] [--clients C] [--dir DIR]
//   ledger-bench query [--entries N] [--queries Q] [--dir DIR]
//   ledger-bench replicate [--entries N] [--keep] [--dir DIR]
//   ledger-bench audit [--entries N] [--keep] [--dir DIR]
//   ledger-bench all [--entries N] [--keep] [--dir DIR]
//
// `all` runs the four others in one process, plus the bytes on disk per
// entry of the query log after a flush and full compaction. N (default
// 1,000,000, the design's size) is the size of the query, audit and
// replicate logs; the append measures use N/5. The audit reads an export of
// the query log instead of building a log of its own. It takes five to
// eight minutes on the project's 2-core machine, depending on other load.
//
// Entries are built before the clock starts (that is the client's work);
// what is timed is the node's: validation, hashing, one WriteBatch with a
// synced WAL and a signed checkpoint per batch.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/totals.h"
#include "tools/bench_common.h"
#include "tools/workload.h"

namespace ledger::bench {
namespace {

void BenchBatched(const std::string& dir, uint64_t count, int callers) {
  auto entries = MakeEntries("B" + std::to_string(callers) + "-", count);
  auto log = FreshLog(dir);
  double rate = AppendAll(log.get(), entries, callers);
  Print({{"bench", "append_batched"},
         {"callers", callers},
         {"entries_per_call", 1000},
         {"entries", count},
         {"entries_per_s", rate},
         {"durable", true}});
}

double Percentile(std::vector<double> sorted, double p) {
  std::sort(sorted.begin(), sorted.end());
  return sorted[std::min(sorted.size() - 1, size_t(p * sorted.size()))];
}

// Views cost: the realistic workload appended with views maintained and
// without (the signed log alone), in adjacent pairs so that both halves of a
// pair see the same machine; the ratio of each pair, and medians over five.
void BenchViewsCost(const std::string& dir, uint64_t count, int callers) {
  auto entries = MakeWorkload(7, count);
  std::vector<double> with, without, ratios;
  for (int round = 0; round < 5; ++round) {
    double rates[2];
    for (bool views : {false, true}) {
      auto log = FreshLog(dir, LogOptions{.benchmark_without_views = !views});
      rates[views] = AppendAll(log.get(), entries, callers);
    }
    without.push_back(rates[0]);
    with.push_back(rates[1]);
    ratios.push_back(rates[1] / rates[0]);
  }
  Print({{"bench", "append_views_cost"},
         {"callers", callers},
         {"entries", count},
         {"workload", "mixed year: registrations, payments, amendments, terminations, deals"},
         {"pairs", ratios.size()},
         {"with_views_entries_per_s", Percentile(with, 0.5)},
         {"without_views_entries_per_s", Percentile(without, 0.5)},
         {"ratio", Percentile(ratios, 0.5)},
         {"ratio_min", Percentile(ratios, 0.0)},
         {"ratio_max", Percentile(ratios, 1.0)},
         {"durable", true}});
}

// Returns the log it queried, for measures that follow on the same data.
std::unique_ptr<Log> BenchQuery(const std::string& dir, uint64_t count, int queries) {
  auto entries = MakeWorkload(11, count);
  auto log = FreshLog(dir);
  // One caller: the workload's events depend on earlier ones, and concurrent
  // callers would commit them out of order.
  double rate = AppendAll(log.get(), entries, 1);
  entries.clear();
  entries.shrink_to_fit();
  Print({{"bench", "query_setup"}, {"entries", count}, {"append_entries_per_s", rate}});

  auto start = Clock::now();
  auto digest = log->ViewDigest();
  double digest_ms = Seconds(start) * 1e3;
  if (!digest.ok()) {
    std::fprintf(stderr, "ledger-bench: %s\n", digest.status().ToString().c_str());
    std::exit(2);
  }
  Print({{"bench", "view_digest_cold"}, {"entries", count}, {"ms", digest_ms}});

  auto shape = [](std::vector<Dimension> by, int32_t from = 0, int32_t to = 999912,
                  bool deals = false) {
    TotalsQuery query;
    query.by = std::move(by);
    query.from_month = from;
    query.to_month = to;
    query.deals = deals;
    return query;
  };
  struct Shape {
    const char* name;
    TotalsQuery query;
  };
  using D = Dimension;
  std::vector<Shape> shapes = {
      {"total", shape({})},
      {"by_month", shape({D::kMonth})},
      {"by_type_field", shape({D::kType, D::kField})},
      {"by_market_month_type_field", shape({D::kMarket, D::kMonth, D::kType, D::kField})},
      {"q3_by_type", shape({D::kType}, 202107, 202109)},
      {"region_flows", shape({D::kSellerRegion, D::kBuyerRegion})},
      {"deals_by_mode", shape({D::kMode}, 0, 999912, true)},
  };
  std::vector<double> all;
  for (const Shape& shape : shapes) {
    std::vector<double> ms;
    size_t rows = 0;
    for (int q = 0; q < queries; ++q) {
      auto begin = Clock::now();
      auto result = log->Totals(shape.query);
      ms.push_back(Seconds(begin) * 1e3);
      if (!result.ok()) {
        std::fprintf(stderr, "ledger-bench: %s\n", result.status().ToString().c_str());
        std::exit(2);
      }
      rows = result->rows.size();
    }
    all.insert(all.end(), ms.begin(), ms.end());
    Print({{"bench", "totals_query"},
           {"shape", shape.name},
           {"entries", count},
           {"rows", rows},
           {"queries", queries},
           {"p50_ms", Percentile(ms, 0.50)},
           {"p99_ms", Percentile(ms, 0.99)},
           {"max_ms", Percentile(ms, 1.0)}});
  }
  Print({{"bench", "totals_query_all"},
         {"entries", count},
         {"queries", all.size()},
         {"p50_ms", Percentile(all, 0.50)},
         {"p99_ms", Percentile(all, 0.99)},
         {"max_ms", Percentile(all, 1.0)}});
  return log;
}

void BenchConcurrent(const std::string& dir, uint64_t count, int clients) {
  auto entries = MakeEntries("S", count);
  auto log = FreshLog(dir);
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      for (uint64_t i; (i = next.fetch_add(1)) < entries.size();) {
        if (!log->Append({entries[i]})[0].ok()) failed = true;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  double seconds = Seconds(start);
  if (failed) std::fprintf(stderr, "ledger-bench: some appends failed\n");
  Print({{"bench", "append_concurrent_single"},
         {"clients", clients},
         {"entries", count},
         {"seconds", seconds},
         {"entries_per_s", count / seconds},
         {"durable", true}});
}

// The append figures: batched from one caller and from four, single-entry
// calls from many concurrent clients, and what keeping the views costs.
void BenchAppend(const std::string& dir, uint64_t count, int clients) {
  BenchBatched(dir + "/batched", count, 1);
  BenchBatched(dir + "/batched4", count, 4);
  BenchConcurrent(dir + "/single", std::max<uint64_t>(count / 5, 1000), clients);
  BenchViewsCost(dir + "/views", count, 1);
}

// Every figure of DESIGN.md section 8 in one run: `count` entries for the
// large-log measures, and the append measures' usual fifth of that. The
// query log also serves the bytes on disk (measured once its queries are
// done, so that its compaction does not compete with them) and the audit,
// which saves building a third large log.
void BenchAll(const std::string& dir, uint64_t count, int clients, int queries, bool keep) {
  BenchAppend(dir + "/append", std::max<uint64_t>(count / 5, 1000), clients);
  std::unique_ptr<Log> log = BenchQuery(dir + "/query", count, queries);
  BenchBytesOnDisk(log.get(), dir + "/query", count);
  BenchAuditOf(*log, dir + "/query-tiles");
  log.reset();
  BenchReplicate(dir + "/replicate", count, keep);
}

}  // namespace
}  // namespace ledger::bench

int main(int argc, char** argv) {
  CLI::App app{"ledger-bench - techledger benchmarks, one JSON line per figure"};
  app.require_subcommand(1);
  // --dir may follow the subcommand, as the usage above writes it.
  app.fallthrough();
  std::string dir = (std::filesystem::temp_directory_path() / "ledger-bench").string();
  app.add_option("--dir", dir, "scratch directory (removed and recreated)");
  uint64_t entries = 200000;
  int clients = 64;
  auto* append = app.add_subcommand("append", "batched and concurrent single-entry appends");
  append->add_option("--entries", entries, "entries per measure");
  append->add_option("--clients", clients, "concurrent single-entry clients");
  uint64_t query_entries = 1000000;
  int queries = 200;
  auto* query = app.add_subcommand("query", "totals latency on a large log");
  query->add_option("--entries", query_entries, "log size");
  query->add_option("--queries", queries, "queries per shape");
  uint64_t replicate_entries = 1000000;
  auto* replicate = app.add_subcommand("replicate", "catch-up of a log over loopback TCP");
  replicate->add_option("--entries", replicate_entries, "log size");
  bool keep = false;
  replicate->add_flag("--keep", keep,
                      "keep the source log in --dir and reuse it when it has --entries entries");
  uint64_t audit_entries = 1000000;
  auto* audit = app.add_subcommand("audit", "ledger-audit of a log exported as tlog-tiles");
  audit->add_option("--entries", audit_entries, "log size");
  audit->add_flag("--keep", keep, "keep the log and its export in --dir and reuse them");
  uint64_t all_entries = 1000000;  // the design's log size
  auto* all = app.add_subcommand("all", "every measure above, and the log's bytes on disk");
  all->add_option("--entries", all_entries,
                  "log size for query, replicate, audit and bytes on disk; appends use a fifth");
  all->add_flag("--keep", keep,
                "keep the logs in --dir; the replicate source is reused when it has --entries");
  CLI11_PARSE(app, argc, argv);
  if (append->parsed()) ledger::bench::BenchAppend(dir, entries, clients);
  if (query->parsed()) ledger::bench::BenchQuery(dir + "/query", query_entries, queries);
  if (replicate->parsed()) {
    ledger::bench::BenchReplicate(dir + "/replicate", replicate_entries, keep);
    if (keep) return 0;
  }
  if (audit->parsed()) {
    ledger::bench::BenchAudit(dir + "/audit", audit_entries, keep);
    if (keep) return 0;
  }
  if (all->parsed()) {
    ledger::bench::BenchAll(dir, all_entries, clients, queries, keep);
    if (keep) return 0;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
