// ledgerctl commands that write: init, append, import.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "ledger/csv.h"
#include "ledger/entry_json.h"
#include "ledger/limits.h"
#include "tools/cli_util.h"
#include "tools/ledgerctl.h"

namespace ledger::cli {
namespace {

// Lines go to the log in batches of this many, one Append call each.
constexpr size_t kLinesPerBatch = 1000;

// Feeds numbered input lines to the log in batches and reports each result.
class Appender {
 public:
  Appender(Log* log, bool receipts) : log_(log), receipts_(receipts) {}

  void Add(uint64_t line, StatusOr<std::string> entry) {
    ++lines_;
    if (!entry.ok()) {
      Reject(line, entry.status());
      return;
    }
    lines_pending_.push_back(line);
    entries_pending_.push_back(std::move(*entry));
    if (entries_pending_.size() >= kLinesPerBatch) Flush();
  }

  void Flush() {
    if (entries_pending_.empty()) return;
    std::vector<StatusOr<Receipt>> results = log_->Append(std::move(entries_pending_));
    for (size_t i = 0; i < results.size(); ++i) Report(lines_pending_[i], results[i]);
    entries_pending_.clear();
    lines_pending_.clear();
    std::fflush(stdout);
    Progress(std::to_string(lines_) + " lines, " + std::to_string(appended_) + " appended, " +
             std::to_string(rejected_) + " rejected");
  }

  int Finish() {
    Flush();
    EndProgress();
    if (!receipts_) {
      std::printf("appended %llu, duplicates %llu, rejected %llu; log size %llu\n",
                  (unsigned long long)appended_, (unsigned long long)duplicates_,
                  (unsigned long long)rejected_, (unsigned long long)log_->size());
    }
    return rejected_ == 0 ? kExitOk : kExitRejected;
  }

 private:
  void Reject(uint64_t line, const Status& status) {
    ++rejected_;
    EndProgress();
    if (line == 0) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
    } else {
      std::fprintf(stderr, "line %llu: %s\n", (unsigned long long)line, status.ToString().c_str());
    }
  }

  void Report(uint64_t line, const StatusOr<Receipt>& result) {
    if (!result.ok()) {
      Reject(line, result.status());
      return;
    }
    ++(result->duplicate ? duplicates_ : appended_);
    if (!receipts_) return;
    nlohmann::ordered_json receipt = {{"line", line},
                                      {"index", result->index},
                                      {"leaf_hash", HexEncode(result->leaf_hash)},
                                      {"checkpoint_size", result->checkpoint_size},
                                      {"duplicate", result->duplicate}};
    std::printf("%s\n", receipt.dump().c_str());
  }

  Log* log_;
  bool receipts_;
  std::vector<std::string> entries_pending_;
  std::vector<uint64_t> lines_pending_;
  uint64_t lines_ = 0, appended_ = 0, duplicates_ = 0, rejected_ = 0;
};

// Opens FILE, or standard input for "-".
StatusOr<std::istream*> OpenInput(const std::string& file, std::ifstream* stream) {
  if (file == "-") return &std::cin;
  stream->open(file, std::ios::binary);
  if (!*stream) return Status::NotFound("cannot open " + file);
  return static_cast<std::istream*>(stream);
}

JsonOptions EntryOptions(const AppendFlags& flags) {
  JsonOptions options;
  options.recorded_at_ms = NowMs();
  options.default_actor = flags.actor;
  return options;
}

}  // namespace

int RunInit(const std::string& dir, const std::string& market, const std::string& origin) {
  StatusOr<std::string> vkey = Log::Init(dir, market, origin);
  if (!vkey.ok()) return Fail(vkey.status());
  std::printf("%s\n", vkey->c_str());
  return kExitOk;
}

int RunAppend(const std::string& dir, const AppendFlags& flags) {
  std::ifstream stream;
  StatusOr<std::istream*> input = OpenInput(flags.file, &stream);
  if (!input.ok()) return Fail(input.status());
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/false);
  if (!log.ok()) return Fail(log.status());
  Appender appender(log->get(), flags.receipts);
  std::string line;
  for (uint64_t number = 1; std::getline(**input, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    appender.Add(number, EntryFromJson(line, EntryOptions(flags)));
  }
  if ((*input)->bad()) return Fail(Status::IoError("read " + flags.file));
  return appender.Finish();
}

int RunImport(const std::string& dir, const AppendFlags& flags) {
  std::ifstream stream;
  StatusOr<std::istream*> input = OpenInput(flags.file, &stream);
  if (!input.ok()) return Fail(input.status());
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/false);
  if (!log.ok()) return Fail(log.status());
  CsvReader reader(*input);
  CsvRecord header;
  StatusOr<bool> got_header = reader.Next(&header);
  if (!got_header.ok()) return Fail(got_header.status());
  if (!*got_header) return Fail(Status::InvalidArgument(flags.file + ": empty CSV, no header"));
  Appender appender(log->get(), flags.receipts);
  CsvRecord row;
  std::string last_error;
  for (;;) {
    StatusOr<bool> more = reader.Next(&row);
    if (!more.ok()) {
      // A row of the wrong width is skipped and reading goes on; a syntax
      // error repeats on every call and ends the import, since what follows
      // it cannot be split into rows reliably.
      if (more.status().message() == last_error) {
        appender.Finish();
        return Fail(more.status().WithContext(flags.file));
      }
      last_error = more.status().message();
      appender.Add(0, more.status());
      continue;
    }
    last_error.clear();
    if (!*more) break;
    StatusOr<std::string> json = ContractCsvRowToJson(header.fields, row.fields);
    appender.Add(uint64_t(row.line_number), json.ok() ? EntryFromJson(*json, EntryOptions(flags))
                                                      : StatusOr<std::string>(json.status()));
  }
  return appender.Finish();
}

}  // namespace ledger::cli
