#include "tools/cli_util.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

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

StatusOr<std::string> ApiToken(const std::string& token_file) {
  std::string token;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, token)) {
      return Status::NotFound("--token-file " + token_file + ": cannot read a token from it");
    }
  } else if (const char* env = std::getenv("LEDGER_TOKEN"); env != nullptr) {
    token = env;
  }
  if (!token.empty() && token.back() == '\r') token.pop_back();
  if (token.empty()) {
    return Status::InvalidArgument(
        "writing through --node needs the API token: --token-file FILE or LEDGER_TOKEN");
  }
  return token;
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
