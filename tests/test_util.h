// Helpers shared by the tests: temporary directories, sample entries in the
// JSON form, and a digest of database contents.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ledger/log.h"
#include "ledger/store.h"
#include "ledger/totals.h"
#include "tools/audit_fold.h"

namespace ledger::test {

// A fresh directory under $TMPDIR, removed with everything in it on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// JSON form of a valid ContractRegistered for `contract_id` (amounts in yuan).
std::string ContractJson(const std::string& contract_id,
                         const std::string& contract_amount = "100000.00",
                         const std::string& tech_amount = "80000.00",
                         const std::string& signed_on = "2021-09-28");
std::string PaymentJson(const std::string& contract_id, const std::string& amount,
                        const std::string& paid_on = "2021-10-15");
std::string AmendJson(const std::string& contract_id, const std::string& contract_amount,
                      const std::string& tech_amount);
std::string TerminateJson(const std::string& contract_id);
std::string DealJson(const std::string& deal_id);
std::string MatchmakingJson(const std::string& matchmaking_id);

// Entry bytes from JSON; fails the current test on error.
std::string Entry(const std::string& json);

// The log's totals grouped `by`, contracts or deals, parsed from the JSON
// that GET /v1/totals answers; fails the current test on error.
nlohmann::json TotalsAnswer(const Log& log, std::vector<Dimension> by, bool deals);
// Every answer ledger-audit reads from a node (audit_fold.h), from `log`.
audit::Published PublishedBy(const Log& log);

// Inits a node in `dir` for market "xining", origin "techmarket.cn/xining"
// and opens it.
std::unique_ptr<Log> InitAndOpen(const std::string& dir);

// SHA-256 over every key and value of the given column families, in order.
std::string ColumnsDigest(const Store& store, const std::vector<Column>& columns);

// Runs a command line, returns its exit status; its output is captured into
// *output when non-null.
int RunCommand(const std::string& command, std::string* output);
std::string ToolPath(const std::string& tool);

}  // namespace ledger::test
