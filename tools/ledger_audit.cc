// ledger-audit: checks, trusting nothing a node says, that markets' logs are
// complete, append-only, signed and witnessed, and that the totals a node
// publishes follow from them (DESIGN.md section 7). See audit_log.h for the
// checks on each log and audit_fold.h for the domain rules and totals.
//
//   ledger-audit --trust federation.json --tiles DIR|URL [--state FILE]
//   ledger-audit --trust federation.json --node URL [--market M]... [--cosigners K]
//
// Exit status: 0 the audit passed, 1 it failed (the first failure is named),
// 2 bad usage or an input that could not be read at all.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ledger/origins.h"
#include "net/config.h"
#include "tools/audit_log.h"
#include "tools/audit_report.h"
#include "tools/audit_source.h"
#include "tools/audit_state.h"
#include "tools/cli_util.h"

namespace ledger::audit {
namespace {

struct Flags {
  std::string trust;
  std::string node;
  std::string tiles;
  std::vector<std::string> markets;
  std::string totals;  // a node URL whose /v1/totals to compare (--tiles)
  size_t cosigners = 0;
  std::string state;
  bool json = false;
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "ledger-audit: %s\n", message.c_str());
  return cli::kExitError;
}

StatusOr<std::vector<OriginRecord>> LoadTrust(const std::string& path) {
  LEDGER_ASSIGN_OR_RETURN(net::Federation federation, net::LoadFederation(path));
  std::vector<OriginRecord> records;
  for (const TrustedOrigin& trusted : federation.Registry()) {
    LEDGER_ASSIGN_OR_RETURN(OriginRecord record, RecordOf(trusted));
    records.push_back(std::move(record));
  }
  return records;
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The three /v1/totals answers of the node at `url` for `markets`.
StatusOr<Published> FetchTotals(const std::string& url, const std::vector<std::string>& markets) {
  std::string list;
  for (const std::string& market : markets) list += (list.empty() ? "" : ",") + market;
  auto get = [&](const std::string& query) -> StatusOr<nlohmann::json> {
    LEDGER_ASSIGN_OR_RETURN(
        std::string body, HttpGetText(TrimSlash(url) + "/v1/totals?market=" + list + "&" + query));
    nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return Status::DataLoss("/v1/totals: not JSON");
    return json;
  };
  Published published;
  LEDGER_ASSIGN_OR_RETURN(published.volume, get("by=market,month,type,field"));
  LEDGER_ASSIGN_OR_RETURN(published.flows, get("by=market,month,seller_region,buyer_region"));
  LEDGER_ASSIGN_OR_RETURN(published.deals, get("deals=true&by=market,month,mode"));
  LEDGER_ASSIGN_OR_RETURN(published.rounds, get("by=market,month,round"));
  LEDGER_ASSIGN_OR_RETURN(published.round_deals, get("deals=true&by=market,month,round"));
  return published;
}

size_t RowsOf(const Published& published) {
  size_t rows = 0;
  for (const auto* answer : {&published.volume, &published.flows, &published.deals,
                             &published.rounds, &published.round_deals}) {
    if (answer->contains("rows") && (*answer)["rows"].is_array()) rows += (*answer)["rows"].size();
  }
  return rows;
}

// `subset`: only some of the node's markets were audited (--market).
void CheckTotals(const std::string& url, bool subset, AuditReport* report) {
  std::vector<const Fold*> folds;
  std::vector<std::string> markets;
  for (const LogReport& log : report->logs) {
    if (log.failure || !log.fold) return;  // totals of a broken log mean nothing
    folds.push_back(log.fold.get());
    markets.push_back(log.market);
  }
  report->totals.checked = true;
  report->totals.source = TrimSlash(url) + "/v1/totals";
  StatusOr<Published> published = FetchTotals(url, markets);
  if (!published.ok()) {
    report->totals.failure = "cannot read the published totals: " + published.status().message();
    return;
  }
  report->totals.rows = RowsOf(*published);
  if (subset) {
    // The node's view digest covers every market it holds; the rows asked
    // for cover only the audited ones, and still must match exactly.
    report->totals.digest_compared = false;
    for (auto* answer : {&published->volume, &published->flows, &published->deals,
                         &published->rounds, &published->round_deals}) {
      answer->erase("digest");
    }
  }
  report->totals.failure = CompareTotals(folds, *published);
}

// One source per log to audit.
struct Target {
  std::string market;  // empty for --tiles
  std::unique_ptr<TileSource> source;
};

StatusOr<std::vector<Target>> Targets(const Flags& flags, const std::vector<OriginRecord>& trust) {
  std::vector<Target> targets;
  if (!flags.tiles.empty()) {
    Target target;
    if (flags.tiles.rfind("http://", 0) == 0 || flags.tiles.rfind("https://", 0) == 0) {
      LEDGER_ASSIGN_OR_RETURN(target.source, HttpSource(flags.tiles));
    } else {
      target.source = DirectorySource(flags.tiles);
    }
    targets.push_back(std::move(target));
    return targets;
  }
  std::vector<std::string> markets = flags.markets;
  if (markets.empty()) {
    for (const OriginRecord& record : trust) markets.push_back(record.market);
  }
  for (const std::string& market : markets) {
    Target target;
    target.market = market;
    LEDGER_ASSIGN_OR_RETURN(target.source,
                            HttpSource(TrimSlash(flags.node) + "/v1/tiles/" + market + "/"));
    targets.push_back(std::move(target));
  }
  return targets;
}

int Run(const Flags& flags) {
  if (flags.node.empty() == flags.tiles.empty())
    return Usage("give exactly one of --node and --tiles");
  if (!flags.markets.empty() && flags.node.empty()) return Usage("--market needs --node");
  StatusOr<std::vector<OriginRecord>> trust = LoadTrust(flags.trust);
  if (!trust.ok()) return Usage(trust.status().message());
  AuditState state;
  if (!flags.state.empty()) {
    StatusOr<AuditState> loaded = LoadAuditState(flags.state);
    if (!loaded.ok()) return Usage(loaded.status().message());
    state = std::move(*loaded);
  }
  StatusOr<std::vector<Target>> targets = Targets(flags, *trust);
  if (!targets.ok()) return Usage(targets.status().message());

  AuditReport report;
  report.cosigners_required = flags.cosigners;
  for (Target& target : *targets) {
    AuditOptions options;
    options.cosigners = flags.cosigners;
    std::string name = target.market.empty() ? target.source->Describe() : target.market;
    if (cli::StderrIsTerminal()) {
      options.progress = [&name](uint64_t done, uint64_t total) {
        int width = 30;
        int filled = total == 0 ? width : static_cast<int>(width * done / total);
        cli::Progress(name + " [" + std::string(filled, '#') + std::string(width - filled, ' ') +
                      "] " + std::to_string(done) + "/" + std::to_string(total));
      };
    }
    if (!target.market.empty()) {
      // A node may not hold a partner's log yet: that is not a failure of it.
      StatusOr<std::string> checkpoint = target.source->Get("checkpoint");
      if (!checkpoint.ok() && checkpoint.status().code() == Status::Code::kNotFound) {
        report.skipped.push_back(target.market + ": the node holds no checkpoint of it");
        continue;
      }
    }
    report.logs.push_back(AuditLog(*target.source, *trust, state, options));
    cli::EndProgress();
  }
  std::string totals_url = !flags.totals.empty() ? flags.totals : flags.node;
  if (!totals_url.empty()) CheckTotals(totals_url, !flags.markets.empty(), &report);

  if (!flags.state.empty()) {
    for (const LogReport& log : report.logs) {
      if (!log.failure) state.logs[log.origin] = log.verified;
    }
    Status saved = SaveAuditState(flags.state, state);
    if (!saved.ok()) std::fprintf(stderr, "ledger-audit: %s\n", saved.message().c_str());
  }
  std::string output = flags.json ? JsonReport(report) : TextReport(report);
  std::fwrite(output.data(), 1, output.size(), stdout);
  return report.passed() ? cli::kExitOk : cli::kExitRejected;
}

}  // namespace
}  // namespace ledger::audit

int main(int argc, char** argv) {
  ledger::audit::Flags flags;
  CLI::App app{"ledger-audit - verify markets' signed logs and published totals"};
  app.add_option("--trust", flags.trust, "federation.json: the markets and their keys")->required();
  app.add_option("--node", flags.node, "a node's API URL, e.g. http://127.0.0.1:8080");
  app.add_option("--tiles", flags.tiles, "a tlog-tiles tree: directory or URL");
  app.add_option("--market", flags.markets, "with --node: audit only this market (repeatable)");
  app.add_option("--totals", flags.totals, "with --tiles: compare with this node's /v1/totals");
  app.add_option("--cosigners", flags.cosigners, "partner cosignatures each checkpoint needs");
  app.add_option("--state", flags.state, "remember what was verified here, and check against it");
  app.add_flag("--json", flags.json, "one JSON document instead of the text report");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? ledger::cli::kExitOk : ledger::cli::kExitError;
  }
  return ledger::audit::Run(flags);
}
