// Small helpers shared by the command-line tools.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ledger/log.h"
#include "ledger/status.h"

namespace ledger::cli {

// Exit codes of every tool: 0 success, 1 a check failed or input was
// rejected, 2 bad usage or an operating error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitError = 2;

// Prints "ledgerctl: <status message>" to stderr and returns kExitError.
int Fail(const Status& status);

// Opens the node in `dir`; for commands that only read, read_only lets them
// run beside a writer.
StatusOr<std::unique_ptr<Log>> OpenLog(const std::string& dir, bool read_only);

// The bearer token for writes through --node: the first line of
// `token_file` when given, else the environment variable LEDGER_TOKEN.
StatusOr<std::string> ApiToken(const std::string& token_file);

int64_t NowMs();
bool StderrIsTerminal();
// Rewrites one progress line on stderr ("\r...").
void Progress(const std::string& line);
void EndProgress();

}  // namespace ledger::cli
