// ledgerctl commands over the views: totals, views digest, views rebuild.
// totals and views digest also run through a node's API (--node).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ledger/totals.h"
#include "tools/cli_util.h"
#include "tools/ledgerctl.h"
#include "tools/node_client.h"

namespace ledger::cli {

namespace {

// The query `totals` flags ask, checked as the node would check them.
StatusOr<TotalsQuery> QueryOf(const TotalsFlags& flags) {
  TotalsQuery query;
  query.markets = flags.markets;
  query.deals = flags.deals;
  if (!flags.from.empty()) {
    StatusOr<int32_t> month = ParseMonth(flags.from);
    if (!month.ok()) return month.status().WithContext("--from");
    query.from_month = *month;
  }
  if (!flags.to.empty()) {
    StatusOr<int32_t> month = ParseMonth(flags.to);
    if (!month.ok()) return month.status().WithContext("--to");
    query.to_month = *month;
  }
  for (const std::string& name : flags.by) {
    LEDGER_ASSIGN_OR_RETURN(Dimension dimension, ParseDimension(name));
    query.by.push_back(dimension);
  }
  LEDGER_RETURN_IF_ERROR(ParseUnit(flags.unit).status());
  return query;
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + QueryEscape(item);
  return out;
}

// The GET /v1/totals query of the same flags; the table needs the unit.
std::string TotalsTarget(const TotalsFlags& flags) {
  std::string query;
  auto add = [&](const char* name, const std::string& value) {
    query += (query.empty() ? "?" : "&") + std::string(name) + "=" + value;
  };
  if (!flags.markets.empty()) add("market", Joined(flags.markets));
  if (!flags.from.empty()) add("from", QueryEscape(flags.from));
  if (!flags.to.empty()) add("to", QueryEscape(flags.to));
  if (!flags.by.empty()) add("by", Joined(flags.by));
  if (flags.deals) add("deals", "true");
  if (!flags.json) add("unit", QueryEscape(flags.unit));
  return "/v1/totals" + query;
}

}  // namespace

int RunTotals(const std::string& dir, const TotalsFlags& flags) {
  StatusOr<TotalsQuery> query = QueryOf(flags);
  if (!query.ok()) return Fail(query.status());
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<TotalsResult> result = (*log)->Totals(*query);
  if (!result.ok()) return Fail(result.status());
  if (flags.json) {
    std::printf("%s\n", TotalsJson(*result).c_str());
  } else {
    std::printf("%s", TotalsTable(*result, *ParseUnit(flags.unit)).c_str());
    std::printf("view digest %s\n", HexEncode(result->digest).c_str());
  }
  return kExitOk;
}

int RunTotalsNode(NodeClient& node, const TotalsFlags& flags) {
  StatusOr<TotalsQuery> query = QueryOf(flags);
  if (!query.ok()) return Fail(query.status());
  StatusOr<std::string> body = node.Get(TotalsTarget(flags));
  if (!body.ok()) return Fail(body.status());
  // The node answers with the JSON of `totals --json`, byte for byte.
  if (flags.json) {
    std::printf("%s\n", body->c_str());
    return kExitOk;
  }
  nlohmann::json answer = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer["table"].is_string() || !answer["digest"].is_string()) {
    return Fail(Status::DataLoss("GET " + node.url() + "/v1/totals: no table or digest"));
  }
  std::printf("%s", answer["table"].get<std::string>().c_str());
  std::printf("view digest %s\n", answer["digest"].get<std::string>().c_str());
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

int RunViewsDigestNode(NodeClient& node) {
  StatusOr<std::string> body = node.Get("/v1/status");
  if (!body.ok()) return Fail(body.status());
  nlohmann::json status = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object() || !status["view_digest"].is_string()) {
    std::string why = status.is_object() ? status.value("view_digest_error", "") : "";
    return Fail(Status::DataLoss("GET " + node.url() + "/v1/status: no view digest" +
                                 (why.empty() ? "" : ": " + why)));
  }
  std::printf("%s\n", status["view_digest"].get<std::string>().c_str());
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
