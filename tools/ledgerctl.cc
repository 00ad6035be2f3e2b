// ledgerctl: the administrator's command line. Flag parsing only; each
// command lives in ledgerctl_write.cc, ledgerctl_read.cc, ledgerctl_views.cc,
// ledgerctl_status.cc, ledgerctl_export.cc or ledgerctl_backup.cc.
//
// A command runs on the database in --data DIR, or through a running node's
// HTTP API with --node URL (node_client.h); the environment variables
// LEDGER_DATA and LEDGER_NODE stand in for the flags when neither is given.
#include "tools/ledgerctl.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <functional>

#include "tools/cli_util.h"
#include "tools/node_client.h"

namespace {

using namespace ledger::cli;
using ledger::Status;

std::string DefaultActor() {
  const char* user = std::getenv("USER");
  return std::string("ledgerctl:") + (user != nullptr && *user != '\0' ? user : "unknown");
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// Where the chosen command runs, and its exit code.
class Runner {
 public:
  std::string dir_flag;
  std::string node_flag;
  std::string token_file;
  int result = kExitOk;

  // A command that works on the database and through a node alike.
  void Run(const std::function<int(const std::string& dir)>& direct,
           const std::function<int(NodeClient& node)>& remote) {
    std::string dir, node;
    if (Status where = Resolve(&dir, &node); !where.ok()) {
      result = Fail(where);
    } else if (node.empty()) {
      result = direct(dir);
    } else if (auto client = NodeClient::Create(node); !client.ok()) {
      result = Fail(client.status());
    } else {
      result = remote(**client);
    }
  }

  // A write through a node also needs the API token.
  void RunWrite(const std::function<int(const std::string& dir)>& direct,
                const std::function<int(NodeClient& node, const std::string& token)>& remote) {
    Run(direct, [&](NodeClient& node) {
      ledger::StatusOr<std::string> token = ApiToken(token_file);
      return token.ok() ? remote(node, *token) : Fail(token.status());
    });
  }

  // A command that needs the database itself (its key, all of its files).
  void RunDirect(const std::string& command,
                 const std::function<int(const std::string& dir)>& direct) {
    Run(direct, [&](NodeClient&) {
      return Fail(Status::InvalidArgument(
          command + " works on the node's data directory: give --data DIR, not --node"));
    });
  }

 private:
  // Flags win over the environment; both flags, or both variables when no
  // flag is given, are ambiguous.
  Status Resolve(std::string* dir, std::string* node) const {
    if (!dir_flag.empty() && !node_flag.empty()) {
      return Status::InvalidArgument("give --data or --node, not both");
    }
    *dir = dir_flag;
    *node = node_flag;
    if (dir->empty() && node->empty()) {
      *dir = Env("LEDGER_DATA");
      *node = Env("LEDGER_NODE");
      if (!dir->empty() && !node->empty()) {
        return Status::InvalidArgument(
            "LEDGER_DATA and LEDGER_NODE are both set: give --data or --node");
      }
    }
    if (dir->empty() && node->empty()) {
      return Status::InvalidArgument(
          "give --data DIR or --node URL (or set LEDGER_DATA or LEDGER_NODE)");
    }
    return Status::Ok();
  }
};

// Every flag value; they live until the command has run.
struct Flags {
  std::string market, origin;
  bool witness = false;
  AppendFlags append;
  uint64_t from = 0, to = 0, index = 0;
  std::optional<uint64_t> limit, size;
  bool json = false;
  std::string bundle;
  std::string export_to;
  std::string backup_to;
  TotalsFlags totals;
};

void AddSetupCommands(CLI::App& app, Runner& run, Flags& f) {
  auto* init = app.add_subcommand("init", "create a node: database and signing key");
  init->add_option("--market", f.market, "market id, e.g. xining")->required();
  init->add_option("--origin", f.origin, "log origin, e.g. techmarket.cn/xining")->required();
  init->callback([&] {
    run.RunDirect("init", [&](const std::string& dir) { return RunInit(dir, f.market, f.origin); });
  });

  auto* key = app.add_subcommand("key", "print the log's verifier key (vkey)");
  key->add_flag("--witness", f.witness, "print the key that verifies this node's cosignatures");
  key->callback([&] {
    run.RunDirect("key", [&](const std::string& dir) { return RunKey(dir, f.witness); });
  });

  app.add_subcommand("verify", "re-check every entry, hash and checkpoint")->callback([&] {
    run.RunDirect("verify", [&](const std::string& dir) { return RunVerify(dir); });
  });

  auto* exporter = app.add_subcommand("export", "write a log as a C2SP tlog-tiles directory");
  exporter->add_option("--market", f.market, "whose log (default: this node's market)");
  exporter->add_option("--to", f.export_to, "directory to create")->required();
  exporter->callback([&] {
    run.RunDirect("export",
                  [&](const std::string& dir) { return RunExport(dir, f.market, f.export_to); });
  });

  auto* backup = app.add_subcommand(
      "backup", "copy the database, consistently, into a new directory (not the signing key)");
  backup
      ->add_option("--to", f.backup_to,
                   "directory to create; with --node, on the node's machine (needs the token)")
      ->required();
  backup->callback([&] {
    run.RunWrite([&](const std::string& dir) { return RunBackup(dir, f.backup_to); },
                 [&](NodeClient& node, const std::string& token) {
                   return RunBackupNode(node, token, f.backup_to);
                 });
  });
}

void AddWriteCommands(CLI::App& app, Runner& run, Flags& f) {
  f.append.actor = DefaultActor();
  auto* append = app.add_subcommand("append", "append JSON Lines entries (- for stdin)");
  append->add_option("file", f.append.file, "JSON Lines file")->required();
  append->add_flag("--receipts", f.append.receipts, "print one JSON receipt per line");
  append->add_option("--actor", f.append.actor, "actor recorded with entries lacking one");
  append->callback([&] {
    run.RunWrite([&](const std::string& dir) { return RunAppend(dir, f.append); },
                 [&](NodeClient& node, const std::string& token) {
                   return RunAppendNode(node, token, f.append);
                 });
  });

  auto* import = app.add_subcommand("import", "import contract registrations from CSV");
  import->add_option("file", f.append.file, "CSV file (- for stdin)")->required();
  import->add_flag("--receipts", f.append.receipts, "print one JSON receipt per row");
  import->add_option("--actor", f.append.actor, "actor recorded with rows lacking one");
  import->callback([&] {
    run.RunWrite([&](const std::string& dir) { return RunImport(dir, f.append);
},
                 [&](NodeClient& node, const std::string& token) {
  return RunImportNode(node, token, f.append);
                 });
}  // namespace
);
}

void AddProofCommands(CLI::App& app, Runner& run, Flags& f) {
  auto* proof = app.add_subcommand("proof", "print Merkle proofs");
  proof->require_subcommand(1);
  auto* inclusion = proof->add_subcommand("inclusion", "inclusion proof of one entry");
  inclusion->add_option("--index", f.index, "entry index")->required();
  inclusion->add_option("--size", f.size, "tree size (default: latest)");
  inclusion->add_flag("--json", f.json, "JSON output");
  inclusion->add_option("--bundle", f.bundle,
                        "write a C2SP tlog-proof with the entry to FILE (- for stdout)");
  inclusion->add_option("--market", f.market, "whose log (default: this node's market)");
  inclusion->callback([&] {
    run.Run(
        [&](const std::string& dir) {
          return f.bundle.empty() ? RunProofInclusion(dir, f.market, f.index, f.size, f.json)
                                  : RunProofBundle(dir, f.market, f.index, f.size, f.bundle);
        },
        [&](NodeClient& node) {
          if (!f.bundle.empty()) {
            return Fail(
                Status::InvalidArgument("--bundle works on the data directory: give "
                                        "--data DIR, not --node"));
          }
          return RunProofInclusionNode(node, f.market, f.index, f.size, f.json);
        });
  });
  auto* consistency = proof->add_subcommand("consistency", "consistency proof between sizes");
  consistency->add_option("--from", f.from, "old size")->required();
  consistency->add_option("--to", f.to, "new size")->required();
  consistency->add_option("--market", f.market, "whose log (default: this node's market)");
  consistency->add_flag("--json", f.json, "JSON output");
  consistency->callback([&] {
    run.Run(
        [&](const std::string& dir) {
          return RunProofConsistency(dir, f.market, f.from, f.to, f.json);
        },
        [&](NodeClient& node) {
          return RunProofConsistencyNode(node, f.market, f.from, f.to, f.json);
        });
  });
}

void AddReadCommands(CLI::App& app, Runner& run, Flags& f) {
  auto* log = app.add_subcommand("log", "print entries");
  log->add_option("--market", f.market, "whose log (default: this node's market)");
  log->add_option("--from", f.from, "first index");
  log->add_option("--limit", f.limit, "at most this many entries");
  log->add_flag("--json", f.json, "one JSON object per entry");
  log->callback([&] {
    run.Run([&](const std::string& dir) { return RunLog(dir, f.market, f.from, f.limit, f.json); },
            [&](NodeClient& node) { return RunLogNode(node, f.market, f.from, f.limit, f.json); });
  });

  auto* checkpoint = app.add_subcommand("checkpoint", "print the latest signed checkpoint");
  checkpoint->add_option("--market", f.market, "whose log (default: this node's market)");
  checkpoint->callback([&] {
    run.Run([&](const std::string& dir) { return RunCheckpoint(dir, f.market); },
            [&](NodeClient& node) { return RunCheckpointNode(node, f.market); });
  });
  AddProofCommands(app, run, f);
}

void AddViewCommands(CLI::App& app, Runner& run, Flags& f) {
  TotalsFlags& t = f.totals;
  auto* totals = app.add_subcommand("totals", "transaction volume from the views");
  totals->add_option("--market", t.markets, "market id (repeatable; default all held)");
  totals->add_option("--from", t.from, "first month, YYYY-MM");
  totals->add_option("--to", t.to, "last month, YYYY-MM");
  totals
      ->add_option(
          "--by", t.by,
          "group by market,month,type,field,seller_region,buyer_region or round (mode with "
          "--deals)")
      ->delimiter(',');
  totals->add_flag("--deals", t.deals, "achievement-transfer deals instead of contracts");
  totals->add_option("--unit", t.unit, "amounts in yuan, wan (万元) or yi (亿元)");
  totals->add_flag("--json", t.json, "JSON output (money in yuan)");
  totals->callback([&] {
    run.Run([&](const std::string& dir) { return RunTotals(dir, t); },
            [&](NodeClient& node) { return RunTotalsNode(node, t); });
  });

  auto* status = app.add_subcommand("status", "heads per origin, peers and lag, evidence");
  status->add_flag("--json", f.json, "print JSON");
  status->callback([&] {
    run.Run([&](const std::string& dir) { return RunStatus(dir, f.json); },
            [&](NodeClient& node) { return RunStatusNode(node, f.json); });
  });

  auto* views = app.add_subcommand("views", "the projections kept beside the log");
  views->require_subcommand(1);
  views->add_subcommand("digest", "print the view digest")->callback([&] {
    run.Run([&](const std::string& dir) { return RunViewsDigest(dir); },
            [&](NodeClient& node) { return RunViewsDigestNode(node); });
  });
  views->add_subcommand("rebuild", "recompute every view from the log and compare digests")
      ->callback([&] {
        run.RunDirect("views rebuild",
                      [&](const std::string& dir) { return RunViewsRebuild(dir); });
      });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ledgerctl - administer a techledger node"};
  app.require_subcommand(1);
  Runner run;
  app.add_option("--data", run.dir_flag, "node data directory (or LEDGER_DATA)");
  app.add_option("--node", run.node_flag,
                 "a running ledgerd's HTTP API, http://host:port, instead (or LEDGER_NODE)");
  app.add_option("--token-file", run.token_file,
                 "first line: the API token for append, import and backup through --node "
                 "(or LEDGER_TOKEN, the token itself)");
  Flags flags;
  AddSetupCommands(app, run, flags);
  AddWriteCommands(app, run, flags);
  AddReadCommands(app, run, flags);
  AddViewCommands(app, run, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitError;
  }
  return run.result;
}
