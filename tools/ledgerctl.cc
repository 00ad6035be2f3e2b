// ledgerctl: the administrator's command line. Flag parsing only; each
// command lives in ledgerctl_write.cc or ledgerctl_read.cc.
#include "tools/ledgerctl.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "tools/cli_util.h"

namespace {

std::string DefaultActor() {
  const char* user = std::getenv("USER");
  return std::string("ledgerctl:") + (user != nullptr && *user != '\0' ? user : "unknown");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ledger::cli;
  CLI::App app{"ledgerctl - administer a techledger node"};
  app.require_subcommand(1);
  std::string dir;
  app.add_option("--data", dir, "node data directory")->required()->envname("LEDGER_DATA");
  int result = kExitOk;

  std::string market, origin;
  auto* init = app.add_subcommand("init", "create a node: database and signing key");
  init->add_option("--market", market, "market id, e.g. xining")->required();
  init->add_option("--origin", origin, "log origin, e.g. techmarket.cn/xining")->required();
  init->callback([&] { result = RunInit(dir, market, origin); });

  bool witness = false;
  auto* key = app.add_subcommand("key", "print the log's verifier key (vkey)");
  key->add_flag("--witness", witness, "print the key that verifies this node's cosignatures");
  key->callback([&] { result = RunKey(dir, witness); });

  AppendFlags append_flags;
  append_flags.actor = DefaultActor();
  auto* append = app.add_subcommand("append", "append JSON Lines entries (- for stdin)");
  append->add_option("file", append_flags.file, "JSON Lines file")->required();
  append->add_flag("--receipts", append_flags.receipts, "print one JSON receipt per line");
  append->add_option("--actor", append_flags.actor, "actor recorded with entries lacking one");
  append->callback([&] { result = RunAppend(dir, append_flags); });

  auto* import = app.add_subcommand("import", "import contract registrations from CSV");
  import->add_option("file", append_flags.file, "CSV file (- for stdin)")->required();
  import->add_flag("--receipts", append_flags.receipts, "print one JSON receipt per row");
  import->add_option("--actor", append_flags.actor, "actor recorded with rows lacking one");
  import->callback([&] { result = RunImport(dir, append_flags);
});

uint64_t from = 0;
std::optional<uint64_t> limit;
bool json = false;
auto* log = app.add_subcommand("log", "print entries");
log->add_option("--from", from, "first index");
log->add_option("--limit", limit, "at most this many entries");
log->add_flag("--json", json, "one JSON object per entry");
log->callback([&] { result = RunLog(dir, from, limit, json); });

app.add_subcommand("checkpoint", "print the latest signed checkpoint")->callback([&] {
  result = RunCheckpoint(dir);
});

auto* proof = app.add_subcommand("proof", "print Merkle proofs");
proof->require_subcommand(1);
uint64_t index = 0;
std::optional<uint64_t> size;
auto* inclusion = proof->add_subcommand("inclusion", "inclusion proof of one entry");
inclusion->add_option("--index", index, "entry index")->required();
inclusion->add_option("--size", size, "tree size (default: latest)");
inclusion->add_flag("--json", json, "JSON output");
inclusion->callback([&] { result = RunProofInclusion(dir, index, size, json); });
uint64_t to = 0;
auto* consistency = proof->add_subcommand("consistency", "consistency proof between sizes");
consistency->add_option("--from", from, "old size")->required();
consistency->add_option("--to", to, "new size")->required();
consistency->add_flag("--json", json, "JSON output");
consistency->callback([&] { result = RunProofConsistency(dir, from, to, json); });

app.add_subcommand("verify", "re-check every entry, hash and checkpoint")->callback([&] {
  result = RunVerify(dir);
});

TotalsFlags totals_flags;
auto* totals = app.add_subcommand("totals", "transaction volume from the views");
totals->add_option("--market", totals_flags.markets, "market id (repeatable; default all held)");
totals->add_option("--from", totals_flags.from, "first month, YYYY-MM");
totals->add_option("--to", totals_flags.to, "last month, YYYY-MM");
totals
    ->add_option("--by", totals_flags.by,
                 "group by market,month,type,field,seller_region,buyer_region (mode with --deals)")
    ->delimiter(',');
totals->add_flag("--deals", totals_flags.deals, "achievement-transfer deals instead of contracts");
totals->add_option("--unit", totals_flags.unit, "amounts in yuan, wan (万元) or yi (亿元)");
totals->add_flag("--json", totals_flags.json, "JSON output (money in yuan)");
totals->callback([&] { result = RunTotals(dir, totals_flags); });

bool status_json = false;
auto* status = app.add_subcommand("status", "heads per origin, peers and lag, evidence");
status->add_flag("--json", status_json, "print JSON");
status->callback([&] { result = RunStatus(dir, status_json); });

auto* views = app.add_subcommand("views", "the projections kept beside the log");
views->require_subcommand(1);
views->add_subcommand("digest", "print the view digest")->callback([&] {
  result = RunViewsDigest(dir);
});
views->add_subcommand("rebuild", "recompute every view from the log and compare digests")
    ->callback([&] { result = RunViewsRebuild(dir); });

try {
  app.parse(argc, argv);
} catch (const CLI::ParseError& e) {
  int code = app.exit(e);
  return code == 0 ? kExitOk : kExitError;
}
return result;
}
