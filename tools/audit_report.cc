#include "tools/audit_report.h"

#include <nlohmann/json.hpp>

namespace ledger::audit {
namespace {

using Json = nlohmann::ordered_json;

std::string Describe(const Failure& failure) {
  std::string text = failure.check;
  if (!failure.expected.empty() || !failure.found.empty()) {
    text += ": expected " + failure.expected + ", found " + failure.found;
  }
  if (!failure.detail.empty()) text += " (" + failure.detail + ")";
  return text;
}

std::string Where(const LogReport& log) {
  std::string where = log.origin.empty() ? log.source : log.origin;
  if (log.failure && log.failure->index) where += " index " + std::to_string(*log.failure->index);
  return where;
}

double Rate(const LogReport& log) {
  return log.seconds > 0 ? log.entries_checked / log.seconds : 0;
}

Json FailureJson(const Failure& failure) {
  Json json = Json::object();
  if (failure.index) json["index"] = *failure.index;
  json["check"] = failure.check;
  json["expected"] = failure.expected;
  json["found"] = failure.found;
  json["detail"] = failure.detail;
  return json;
}

}  // namespace

bool AuditReport::passed() const {
  for (const LogReport& log : logs) {
    if (log.failure) return false;
  }
  return !totals.failure && !logs.empty();
}

std::string FirstFailure(const AuditReport& report) {
  for (const LogReport& log : report.logs) {
    if (log.failure) return Where(log) + ": " + Describe(*log.failure);
  }
  if (report.totals.failure) return "totals: " + *report.totals.failure;
  if (report.logs.empty()) return "no log was audited";
  return "";
}

std::string TextReport(const AuditReport& report) {
  std::string text;
  char line[512];
  uint64_t entries = 0;
  for (const LogReport& log : report.logs) {
    entries += log.entries_checked;
    text += (log.origin.empty() ? log.source : log.origin) +
            (log.market.empty() ? "" : " (" + log.market + ")") + " from " + log.source + "\n";
    if (!log.origin.empty()) {
      std::snprintf(line, sizeof line, "  checkpoint  size %llu, root %s\n",
                    (unsigned long long)log.size, log.root.c_str());
      text += line;
      std::string cosigned = "  cosigned    " + std::to_string(log.cosigners.size()) + " of " +
                             std::to_string(report.cosigners_required) + " required";
      for (size_t i = 0; i < log.cosigners.size(); ++i) {
        cosigned += (i == 0 ? ": " : ", ") + log.cosigners[i];
      }
      text += cosigned + "\n";
    }
    if (log.remembered_size > 0) {
      text += "  history     checked against the tree of size " +
              std::to_string(log.remembered_size) + " audited before\n";
    }
    std::snprintf(line, sizeof line, "  entries     %llu checked in %.2f s (%.0f entries/s)\n",
                  (unsigned long long)log.entries_checked, log.seconds, Rate(log));
    text += line;
    text += log.failure ? "  FAILED      " + Where(log) + ": " + Describe(*log.failure) + "\n"
                        : "  ok          signatures, leaf hashes, domain rules and root\n";
  }
  for (const std::string& skipped : report.skipped) text += "skipped " + skipped + "\n";
  if (report.totals.checked) {
    text +=
        "totals from " + report.totals.source + ": " +
        (report.totals.failure
             ? "FAILED " + *report.totals.failure
             : std::to_string(report.totals.rows) + " rows recomputed from the logs, all equal" +
                   (report.totals.digest_compared ? ""
                                                  : " (view digest not compared: it spans "
                                                    "markets not audited)")) +
        "\n";
  }
  text += report.passed() ? "AUDIT PASSED: " + std::to_string(report.logs.size()) + " logs, " +
                                std::to_string(entries) + " entries\n"
                          : "AUDIT FAILED: " + FirstFailure(report) + "\n";
  return text;
}

std::string JsonReport(const AuditReport& report) {
  Json logs = Json::array();
  for (const LogReport& log : report.logs) {
    Json item = {{"source", log.source},
                 {"origin", log.origin},
                 {"market", log.market},
                 {"size", log.size},
                 {"root", log.root},
                 {"cosigners", log.cosigners},
                 {"remembered_size", log.remembered_size},
                 {"entries_checked", log.entries_checked},
                 {"seconds", log.seconds},
                 {"entries_per_s", Rate(log)},
                 {"passed", !log.failure}};
    if (log.failure) item["failure"] = FailureJson(*log.failure);
    logs.push_back(std::move(item));
  }
  Json json = {{"passed", report.passed()},
               {"cosigners_required", report.cosigners_required},
               {"logs", std::move(logs)},
               {"skipped", report.skipped}};
  if (report.totals.checked) {
    json["totals"] = {{"source", report.totals.source},
                      {"rows", report.totals.rows},
                      {"digest_compared", report.totals.digest_compared},
                      {"passed", !report.totals.failure}};
    if (report.totals.failure) json["totals"]["failure"] = *report.totals.failure;
  }
  if (!report.passed()) json["first_failure"] = FirstFailure(report);
  return json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace ledger::audit
