#include "tools/cli_util.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace ledger::cli {

int Fail(const Status& status) {
  std::fprintf(stderr, "ledgerctl: %s\n", status.ToString().c_str());
  return kExitError;
}

StatusOr<std::unique_ptr<Log>> OpenLog(const std::string& dir, bool read_only) {
  LogOptions options;
  options.read_only = read_only;
  return Log::Open(dir, options);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

void Progress(const std::string& line) {
  if (!StderrIsTerminal()) return;
  std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
  std::fflush(stderr);
}

void EndProgress() {
  if (StderrIsTerminal()) std::fprintf(stderr, "\r\x1b[K");
}

}  // namespace ledger::cli
