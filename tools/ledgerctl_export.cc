// ledgerctl commands that publish a log for auditors: export (C2SP
// tlog-tiles) and proof bundle (C2SP tlog-proof).
#include <cstdio>
#include <fstream>

#include "ledger/tiles.h"
#include "ledger/tlog_proof.h"
#include "tools/cli_util.h"
#include "tools/ledgerctl.h"

namespace ledger::cli {
int RunExport(const std::string& dir, const std::string& market, const std::string& to) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<OriginHead> head = (*log)->HeadOfMarket(market);
  if (!head.ok()) return Fail(head.status());
  StatusOr<ExportReport> report =
      ExportTiles(**log, head->id, to, [](uint64_t done, uint64_t total) {
        Progress("exported " + std::to_string(done) + " of " + std::to_string(total) + " entries");
      });
  EndProgress();
  if (!report.ok()) return Fail(report.status());
  std::printf("exported %s at size %llu to %s: %llu hash tiles, %llu entry bundles, %llu bytes\n",
              report->origin.c_str(), (unsigned long long)report->size, to.c_str(),
              (unsigned long long)report->tiles, (unsigned long long)report->bundles,
              (unsigned long long)report->bytes);
  return kExitOk;
}

int RunProofBundle(const std::string& dir, const std::string& market, uint64_t index,
                   std::optional<uint64_t> size, const std::string& file) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<OriginHead> head = (*log)->HeadOfMarket(market);
  if (!head.ok()) return Fail(head.status());
  StatusOr<TlogProof> proof = MakeTlogProof(**log, head->id, index, size.value_or(head->size));
  if (!proof.ok()) return Fail(proof.status());
  std::string text = FormatTlogProof(*proof);
  if (file == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return kExitOk;
  }
  // Written beside the target and renamed, so a failure leaves no half file.
  std::string staging = file + ".partial";
  std::ofstream out(staging, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out || std::rename(staging.c_str(), file.c_str()) != 0) {
    std::remove(staging.c_str());
    return Fail(Status::IoError(file + ": cannot write"));
  }
  return kExitOk;
}

}  // namespace ledger::cli
