// ledgerctl commands that write: init, append, import. append and import
// also run through a node's API (--node), with the same output.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "ledger/csv.h"
#include "ledger/entry_json.h"
#include "ledger/limits.h"
#include "net/limits.h"
#include "tools/cli_util.h"
#include "tools/ledgerctl.h"
#include "tools/node_client.h"

namespace ledger::cli {
namespace {

// Lines go to the log in batches of this many, one Append call (or one
// POST) each.
constexpr size_t kLinesPerBatch = 1000;
static_assert(kLinesPerBatch <= net::limits::kApiEntriesPerRequestMax);

// Where appended lines go: the log itself, or a node's API.
class Sink {
 public:
  virtual ~Sink() = default;
  // What one JSON line becomes for Commit; an error rejects the line alone.
  virtual StatusOr<std::string> Prepare(std::string_view json_line) = 0;
  // Appends prepared lines, one result each. An error fails them all and
  // ends the command.
  virtual StatusOr<std::vector<StatusOr<Receipt>>> Commit(std::vector<std::string> items) = 0;
  // The log's size after the appends.
  virtual StatusOr<uint64_t> Size() = 0;
  // Bytes of prepared lines in one Commit.
  virtual size_t bytes_max() const = 0;
};

// Feeds numbered input lines to a sink in batches and reports each result.
class Appender {
 public:
  Appender(Sink* sink, bool receipts) : sink_(sink), receipts_(receipts) {}

  // Returns false once the sink failed as a whole (status()).
  bool Add(uint64_t line, StatusOr<std::string> item) {
    ++lines_;
    if (!item.ok()) {
      Reject(line, item.status());
      return true;
    }
    if (pending_bytes_ + item->size() + 1 > sink_->bytes_max() && !Flush()) return false;
    lines_pending_.push_back(line);
    pending_bytes_ += item->size() + 1;
    items_pending_.push_back(std::move(*item));
    return items_pending_.size() < kLinesPerBatch || Flush();
  }

  bool Flush() {
    if (items_pending_.empty()) return true;
    StatusOr<std::vector<StatusOr<Receipt>>> results = sink_->Commit(std::move(items_pending_));
    items_pending_.clear();
    pending_bytes_ = 0;
    if (!results.ok()) {
      failure_ = results.status();
      return false;
    }
    for (size_t i = 0; i < results->size(); ++i) Report(lines_pending_[i], (*results)[i]);
    lines_pending_.clear();
    std::fflush(stdout);
    Progress(std::to_string(lines_) + " lines, " + std::to_string(appended_) + " appended, " +
             std::to_string(rejected_) + " rejected");
    return true;
  }

  int Finish() {
    bool flushed = Flush();
    EndProgress();
    if (!flushed) return Fail(failure_);
    if (!receipts_) {
      StatusOr<uint64_t> size = sink_->Size();
      if (!size.ok()) return Fail(size.status());
      std::printf("appended %llu, duplicates %llu, rejected %llu; log size %llu\n",
                  (unsigned long long)appended_, (unsigned long long)duplicates_,
                  (unsigned long long)rejected_, (unsigned long long)*size);
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

  Sink* sink_;
  bool receipts_;
  std::vector<std::string> items_pending_;
  std::vector<uint64_t> lines_pending_;
  size_t pending_bytes_ = 0;
  Status failure_;
  uint64_t lines_ = 0, appended_ = 0, duplicates_ = 0, rejected_ = 0;
};

JsonOptions EntryOptions(const AppendFlags& flags) {
  JsonOptions options;
  options.recorded_at_ms = NowMs();
  options.default_actor = flags.actor;
  return options;
}

// Appends entry bytes to the log opened in this process.
class LogSink : public Sink {
 public:
  LogSink(Log* log, const AppendFlags& flags) : log_(log), flags_(flags) {}
  StatusOr<std::string> Prepare(std::string_view json_line) override {
    return EntryFromJson(json_line, EntryOptions(flags_));
  }
  StatusOr<std::vector<StatusOr<Receipt>>> Commit(std::vector<std::string> items) override {
    return log_->Append(std::move(items));
  }
  StatusOr<uint64_t> Size() override { return log_->size(); }
  size_t bytes_max() const override { return SIZE_MAX; }

 private:
  Log* log_;
  const AppendFlags& flags_;
};

// A refused line's status as the node reports it: {"code": "InvalidArgument",
// "error": "line 3: ..."}, where the line number counts the POST's lines.
Status RefusalOf(const nlohmann::json& receipt) {
  using Factory = Status (*)(std::string_view);
  static constexpr Factory kFactories[] = {
      Status::InvalidArgument,  Status::NotFound, Status::AlreadyExists, Status::FailedPrecondition,
      Status::OutOfRange,       Status::DataLoss, Status::IoError,       Status::Unavailable,
      Status::ResourceExhausted};
  std::string code = receipt.value("code", "");
  std::string message = receipt.value("error", "");
  if (message.starts_with("line ")) message.erase(0, message.find(": ") + 2);
  for (Factory factory : kFactories) {
    if (CodeName(factory("").code()) == code) return factory(message);
  }
  return Status::Internal(message);
}

StatusOr<Receipt> ReceiptOf(const nlohmann::json& json) {
  if (!json.is_object()) return Status::DataLoss("node answer: a receipt is not an object");
  if (json.contains("error")) return RefusalOf(json);
  StatusOr<Hash> leaf = HashFromHex(json.value("leaf_hash", ""));
  if (!leaf.ok() || !json.value("index", nlohmann::json()).is_number_unsigned()) {
    return Status::DataLoss("node answer: a receipt lacks its index or leaf hash");
  }
  Receipt receipt;
  receipt.index = json["index"].get<uint64_t>();
  receipt.leaf_hash = *leaf;
  receipt.checkpoint_size = json.value("checkpoint_size", uint64_t{0});
  receipt.duplicate = json.value("duplicate", false);
  return receipt;
}

// POSTs JSON lines to a node. Lines are checked here first as the log would
// check them, so that a bad one is rejected alone: the node refuses a whole
// POST for one line that is not an entry.
class NodeSink : public Sink {
 public:
  NodeSink(NodeClient& node, std::string token, const AppendFlags& flags)
      : node_(node), token_(std::move(token)), flags_(flags) {}
  StatusOr<std::string> Prepare(std::string_view json_line) override {
    LEDGER_RETURN_IF_ERROR(EntryFromJson(json_line, EntryOptions(flags_)).status());
    return std::string(json_line);
  }
  StatusOr<std::vector<StatusOr<Receipt>>> Commit(std::vector<std::string> items) override;
  StatusOr<uint64_t> Size() override;
  size_t bytes_max() const override { return net::limits::kApiBodyBytesMax; }

 private:
  NodeClient& node_;
  std::string token_;
  const AppendFlags& flags_;
};

StatusOr<std::vector<StatusOr<Receipt>>> NodeSink::Commit(std::vector<std::string> items) {
  std::string body;
  for (const std::string& line : items) body += line + "\n";
  std::string target = "/v1/entries";
  if (!flags_.actor.empty()) target += "?actor=" + QueryEscape(flags_.actor);
  LEDGER_ASSIGN_OR_RETURN(std::string answer, node_.Post(target, std::move(body), token_));
  nlohmann::json receipts = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (!receipts.is_array() || receipts.size() != items.size()) {
    return Status::DataLoss("POST " + node_.url() + target + ": want " +
                            std::to_string(items.size()) + " receipts");
  }
  std::vector<StatusOr<Receipt>> results;
  for (const nlohmann::json& receipt : receipts) results.push_back(ReceiptOf(receipt));
  return results;
}

StatusOr<uint64_t> NodeSink::Size() {
  LEDGER_ASSIGN_OR_RETURN(std::string body, node_.Get("/v1/status"));
  nlohmann::json status = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status.is_object() && status["market"].is_string() && status["origins"].is_array()) {
    for (const nlohmann::json& origin : status["origins"]) {
      if (origin.value("market", "") == status["market"] && origin["size"].is_number_unsigned()) {
        return origin["size"].get<uint64_t>();
      }
    }
  }
  return Status::DataLoss("GET " + node_.url() + "/v1/status: no size of the node's own log");
}

// Opens FILE, or standard input for "-".
StatusOr<std::istream*> OpenInput(const std::string& file, std::ifstream* stream) {
  if (file == "-") return &std::cin;
  stream->open(file, std::ios::binary);
  if (!*stream) return Status::NotFound("cannot open " + file);
  return static_cast<std::istream*>(stream);
}

// append: every non-blank line of the input is one entry.
int AppendLines(Sink* sink, const AppendFlags& flags) {
  std::ifstream stream;
  StatusOr<std::istream*> input = OpenInput(flags.file, &stream);
  if (!input.ok()) return Fail(input.status());
  Appender appender(sink, flags.receipts);
  std::string line;
  for (uint64_t number = 1; std::getline(**input, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!appender.Add(number, sink->Prepare(line))) return appender.Finish();
  }
  if ((*input)->bad()) return Fail(Status::IoError("read " + flags.file));
  return appender.Finish();
}

// import: every CSV row after the header is one contract registration.
int ImportRows(Sink* sink, const AppendFlags& flags) {
  std::ifstream stream;
  StatusOr<std::istream*> input = OpenInput(flags.file, &stream);
  if (!input.ok()) return Fail(input.status());
  CsvReader reader(*input);
  CsvRecord header;
  StatusOr<bool> got_header = reader.Next(&header);
  if (!got_header.ok()) return Fail(got_header.status());
  if (!*got_header) return Fail(Status::InvalidArgument(flags.file + ": empty CSV, no header"));
  Appender appender(sink, flags.receipts);
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
    StatusOr<std::string> item = json.ok() ? sink->Prepare(*json) : json.status();
    if (!appender.Add(uint64_t(row.line_number), std::move(item))) return appender.Finish();
  }
  return appender.Finish();
}

// Runs `work` on the log in `dir`. A missing input is reported before the
// database is opened (and locked), as it always was.
int WithLog(const std::string& dir, const AppendFlags& flags,
            int (*work)(Sink*, const AppendFlags&)) {
  if (flags.file != "-" && !std::ifstream(flags.file)) {
    return Fail(Status::NotFound("cannot open " + flags.file));
  }
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/false);
  if (!log.ok()) return Fail(log.status());
  LogSink sink(log->get(), flags);
  return work(&sink, flags);
}

}  // namespace

int RunInit(const std::string& dir, const std::string& market, const std::string& origin) {
  StatusOr<std::string> vkey = Log::Init(dir, market, origin);
  if (!vkey.ok()) return Fail(vkey.status());
  std::printf("%s\n", vkey->c_str());
  return kExitOk;
}

int RunAppend(const std::string& dir, const AppendFlags& flags) {
  return WithLog(dir, flags, AppendLines);
}

int RunImport(const std::string& dir, const AppendFlags& flags) {
  return WithLog(dir, flags, ImportRows);
}

int RunAppendNode(NodeClient& node, const std::string& token, const AppendFlags& flags) {
  NodeSink sink(node, token, flags);
  return AppendLines(&sink, flags);
}

int RunImportNode(NodeClient& node, const std::string& token, const AppendFlags& flags) {
  NodeSink sink(node, token, flags);
  return ImportRows(&sink, flags);
}

}  // namespace ledger::cli
