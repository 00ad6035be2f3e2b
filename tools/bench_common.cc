#include "tools/bench_common.h"

#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "ledger/entry_json.h"
#include "tools/workload.h"

namespace ledger::bench {
namespace {

std::string ContractJson(const std::string& id, uint64_t n) {
  static const char* kTypes[][2] = {{"development", "commissioned"},
                                    {"transfer", "patent_right"},
                                    {"licensing", "patent_license"},
                                    {"consulting", "other"},
                                    {"service", "general"}};
  const auto& type = kTypes[n % 5];
  int64_t fen = 100000 + int64_t(n * 7919 % 50000000);
  std::string amount = std::to_string(fen / 100) + "." + std::to_string(10 + fen % 90);
  return R"({"event":"ContractRegistered","contract_id":")" + id +
         R"(","registration_no":"2021630100)" + std::to_string(100000 + n % 900000) +
         R"(","type":")" + type[0] + R"(","subtype":")" + type[1] +
         R"(","title":"高原特色生物资源提取工艺研究与产业化","field":"biomedicine",)"
         R"("seller":{"name":"青海大学","entity":"university","region":"630100"},)"
         R"("buyer":{"name":"青海某生物科技有限公司","entity":"enterprise","region":"630100"},)"
         R"("contract_amount":")" +
         amount + R"(","tech_amount":")" + amount + R"(","signed_on":"2021-09-28"})";
}

// Builds `count` entries from the JSON lines next_json(i) returns.
template <typename NextJson>
std::vector<std::string> BuildEntries(uint64_t count, NextJson&& next_json) {
  JsonOptions options;
  options.recorded_at_ms = 1632787200000;
  options.default_actor = "bench";
  std::vector<std::string> entries;
  entries.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    auto bytes = EntryFromJson(next_json(i), options);
    if (!bytes.ok()) {
      std::fprintf(stderr, "ledger-bench: %s\n", bytes.status().ToString().c_str());
      std::exit(2);
    }
    entries.push_back(std::move(*bytes));
  }
  return entries;
}

}  // namespace

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::string> MakeEntries(const std::string& prefix, uint64_t count) {
  return BuildEntries(count,
                      [&](uint64_t i) { return ContractJson(prefix + std::to_string(i), i); });
}

std::vector<std::string> MakeWorkload(uint64_t seed, uint64_t count) {
  tools::WorkloadOptions options;
  options.seed = seed;
  tools::Workload workload(options);
  return BuildEntries(count, [&](uint64_t) { return workload.Next(); });
}

std::unique_ptr<Log> FreshLog(const std::string& dir, LogOptions log_options,
                              const std::string& market) {
  std::filesystem::remove_all(dir);
  auto vkey = Log::Init(dir, market, "techmarket.cn/" + market);
  auto log =
      vkey.ok() ? Log::Open(dir, log_options) : StatusOr<std::unique_ptr<Log>>(vkey.status());
  if (!log.ok()) {
    std::fprintf(stderr, "ledger-bench: %s\n", log.status().ToString().c_str());
    std::exit(2);
  }
  return std::move(*log);
}

void Print(nlohmann::ordered_json line) {
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

double AppendAll(Log* log, const std::vector<std::string>& entries, int callers) {
  constexpr size_t kPerCall = 1000;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&] {
      pthread_setname_np(pthread_self(), "bench-caller");
      for (size_t i; (i = next.fetch_add(kPerCall)) < entries.size();) {
        std::vector<std::string> call(entries.begin() + i,
                                      entries.begin() + std::min(entries.size(), i + kPerCall));
        for (const auto& result : log->Append(std::move(call))) {
          if (!result.ok()) {
            if (!failed.exchange(true)) {
              std::fprintf(stderr, "ledger-bench: append: %s\n",
                           result.status().ToString().c_str());
            }
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  double seconds = Seconds(start);
  if (failed) std::exit(2);
  return entries.size() / seconds;
}

}  // namespace ledger::bench
