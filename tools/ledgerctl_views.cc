// ledgerctl commands over the views: totals, views digest, views rebuild.
#include <cstdio>

#include "ledger/totals.h"
#include "tools/cli_util.h"
#include "tools/ledgerctl.h"

namespace ledger::cli {

int RunTotals(const std::string& dir, const TotalsFlags& flags) {
  TotalsQuery query;
  query.markets = flags.markets;
  query.deals = flags.deals;
  if (!flags.from.empty()) {
    StatusOr<int32_t> month = ParseMonth(flags.from);
    if (!month.ok()) return Fail(month.status().WithContext("--from"));
    query.from_month = *month;
  }
  if (!flags.to.empty()) {
    StatusOr<int32_t> month = ParseMonth(flags.to);
    if (!month.ok()) return Fail(month.status().WithContext("--to"));
    query.to_month = *month;
  }
  for (const std::string& name : flags.by) {
    StatusOr<Dimension> dimension = ParseDimension(name);
    if (!dimension.ok()) return Fail(dimension.status());
    query.by.push_back(*dimension);
  }
  StatusOr<Unit> unit = ParseUnit(flags.unit);
  if (!unit.ok()) return Fail(unit.status());

  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<TotalsResult> result = (*log)->Totals(query);
  if (!result.ok()) return Fail(result.status());
  if (flags.json) {
    std::printf("%s\n", TotalsJson(*result).c_str());
  } else {
    std::printf("%s", TotalsTable(*result, *unit).c_str());
    std::printf("view digest %s\n", HexEncode(result->digest).c_str());
  }
  return kExitOk;
}

int RunViewsDigest(const std::string& dir) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<Hash> digest = (*log)->ViewDigest();
  if (!digest.ok()) return Fail(digest.status());
  std::printf("%s\n", HexEncode(*digest).c_str());
  return kExitOk;
}

int RunViewsRebuild(const std::string& dir) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/false);
  if (!log.ok()) return Fail(log.status());
  StatusOr<Log::RebuildReport> report = (*log)->RebuildViews();
  if (!report.ok()) return Fail(report.status());
  std::printf("entries folded  %llu\n", (unsigned long long)report->entries);
  std::printf("digest before   %s\n", HexEncode(report->before).c_str());
  std::printf("digest after    %s\n", HexEncode(report->after).c_str());
  if (report->before != report->after) {
    std::fprintf(stderr,
                 "ledgerctl: the stored views did not match the log; they have been replaced by "
                 "the views recomputed from the log\n");
    return kExitRejected;
  }
  std::printf("views match the log\n");
  return kExitOk;
}

}  // namespace ledger::cli
