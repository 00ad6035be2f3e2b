// Helpers shared by the ledger-bench measures: building entries before the
// clock starts, fresh logs, timed appends and JSON-line output.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ledger/log.h"

namespace ledger::bench {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start);
// Independent registrations of one kind: any order of commit is valid.
std::vector<std::string> MakeEntries(const std::string& prefix, uint64_t count);
// A realistic mix of events (registrations, payments, amendments,
// terminations, deals over a year, many view rows), built before timing.
std::vector<std::string> MakeWorkload(uint64_t seed, uint64_t count);
// Removes `dir` and creates a node there; exits on failure.
std::unique_ptr<Log> FreshLog(const std::string& dir, LogOptions log_options = LogOptions(),
                              const std::string& market = "bench");
void Print(nlohmann::ordered_json line);
// `callers` threads each append calls of 1000 entries; with more than one,
// calls queue behind each other and the writer commits them together while
// the callers precheck the next ones. Returns entries/s.
double AppendAll(Log* log, const std::vector<std::string>& entries, int callers);

// With reuse_source, a source log of `count` entries left in dir by an
// earlier run (--keep) is used again instead of being rebuilt.
void BenchReplicate(const std::string& dir, uint64_t count, bool reuse_source);
// ledger-audit's check of a `count`-entry log exported as tlog-tiles; with
// reuse_source, the log and export an earlier run left in dir are reused.
void BenchAudit(const std::string& dir, uint64_t count, bool reuse_source);
// The same check of `log` as it stands, exported afresh to `tiles`.
void BenchAuditOf(const Log& log, const std::string& tiles);
// The size of the database of `log`, a node created in `dir` holding
// `count` entries: as appended, then after a flush and full compaction.
// REQUIRES: no appends running.
void BenchBytesOnDisk(Log* log, const std::string& dir, uint64_t count);

}  // namespace ledger::bench
