// The API's read routes over one market's log (checkpoint, entries, proofs)
// and /metrics (http_api.h).
#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/encoding.h"
#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "net/http_api.h"

namespace net {
namespace {

namespace http = boost::beast::http;
using api_internal::Dump;
using api_internal::JsonReply;
using api_internal::Params;
using api_internal::ParseParams;
using ledger::Status;
using ledger::StatusOr;
using Json = nlohmann::ordered_json;
using Response = HttpApi::Response;

// NotFound is a market this node does not hold (404); InvalidArgument and
// OutOfRange are bad parameters (400); anything else is the node's fault.
Response ErrorFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kNotFound:
      return HttpApi::Error(http::status::not_found, status.message());
    case Status::Code::kInvalidArgument:
    case Status::Code::kOutOfRange:
      return HttpApi::Error(http::status::bad_request, status.message());
    default:
      return HttpApi::Error(http::status::internal_server_error, status.ToString());
  }
}

// The value of an optional count parameter: decimal digits only, so that
// "+5", "-1", " 5", "5x", "0x10" and values past 2^64 - 1 are refused
// rather than read as something the client did not mean.
StatusOr<std::optional<uint64_t>> Count(const Params& params, std::string_view name) {
  auto it = params.find(name);
  if (it == params.end()) return std::optional<uint64_t>();
  const std::string& text = it->second;
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(std::string(name) + ": want a decimal number");
  }
  uint64_t value = 0;
  if (std::from_chars(text.data(), text.data() + text.size(), value).ec != std::errc()) {
    return Status::InvalidArgument(std::string(name) + ": " + text + " is too large");
  }
  return std::optional<uint64_t>(value);
}

StatusOr<uint64_t> RequiredCount(const Params& params, std::string_view name) {
  LEDGER_ASSIGN_OR_RETURN(std::optional<uint64_t> value, Count(params, name));
  if (!value) return Status::InvalidArgument(std::string(name) + ": required");
  return *value;
}

// Where one market's log stands here. NotFound for a market this node does
// not hold; with `require_checkpoint`, also for a log not fetched yet.
StatusOr<ledger::OriginHead> HeadOf(const ledger::Log& log, std::string_view market,
                                    bool require_checkpoint) {
  if (market.empty()) return Status::NotFound("market: empty market id");
  StatusOr<ledger::OriginHead> head = log.HeadOfMarket(market);
  if (!head.ok()) {
    return Status::NotFound("market: this node holds no market \"" + std::string(market) + "\"");
  }
  if (require_checkpoint && head->size == 0 && head->checkpoint.empty()) {
    return Status::NotFound("market: the log of " + head->market + " is not held yet");
  }
  return head;
}

Json Base64List(const std::vector<ledger::Hash>& hashes) {
  Json list = Json::array();
  for (const ledger::Hash& hash : hashes)
    list.push_back(ledger::Base64Encode(ledger::AsBytes(hash)));
  return list;
}

// The checkpoint signed at `size` with its cosignatures, or null when that
// size was never signed.
StatusOr<Json> CheckpointOrNull(const ledger::Log& log, uint32_t origin_id, uint64_t size) {
  StatusOr<std::string> note = log.CheckpointOf(origin_id, size);
  if (note.ok()) return Json(*note);
  if (note.status().code() == Status::Code::kNotFound) return Json(nullptr);
  return note.status();
}

// One line of `ledgerctl log --json`; the entry's JSON is spliced in as
// rendered, keeping its member order.
StatusOr<std::string> EntryLine(uint64_t index, const std::string& bytes) {
  StatusOr<std::string> entry = ledger::EntryToJson(bytes);
  if (!entry.ok()) return entry.status().WithContext("index " + std::to_string(index));
  return "{\"index\":" + std::to_string(index) + ",\"leaf_hash\":\"" +
         ledger::HexEncode(ledger::LeafHash(bytes)) + "\",\"entry\":" + *entry +
         ",\"entry_b64\":\"" + ledger::Base64Encode(bytes) + "\"}";
}

StatusOr<std::string> EntriesJson(const ledger::Log& log, const ledger::OriginHead& head,
                                  std::string_view query) {
  LEDGER_ASSIGN_OR_RETURN(Params params, ParseParams(query, {"from", "limit"}));
  LEDGER_ASSIGN_OR_RETURN(std::optional<uint64_t> from, Count(params, "from"));
  LEDGER_ASSIGN_OR_RETURN(std::optional<uint64_t> limit, Count(params, "limit"));
  uint64_t first = from.value_or(0);
  uint64_t count = limit.value_or(HttpApi::kEntriesPerPageDefault);
  if (count == 0 || count > HttpApi::kEntriesPerPageMax) {
    return Status::InvalidArgument("limit: want 1.." + std::to_string(HttpApi::kEntriesPerPageMax));
  }
  std::vector<std::string> entries;
  // Past the held size there is nothing yet: an empty page, not an error,
  // so that a client polling for new entries needs no special case.
  if (first < head.size) {
    LEDGER_ASSIGN_OR_RETURN(entries,
                            log.ReadEntries(head.id, first, std::min(head.size, first + count)));
  }
  std::string out = "{\"market\":" + Dump(head.market) + ",\"origin\":" + Dump(head.origin) +
                    ",\"size\":" + std::to_string(head.size) +
                    ",\"from\":" + std::to_string(first) + ",\"entries\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    LEDGER_ASSIGN_OR_RETURN(std::string line, EntryLine(first + i, entries[i]));
    out += (i > 0 ? "," : "") + line;
  }
  return out + "]}";
}

StatusOr<Json> InclusionJson(const ledger::Log& log, const ledger::OriginHead& head,
                             std::string_view query) {
  LEDGER_ASSIGN_OR_RETURN(Params params, ParseParams(query, {"index", "size"}));
  LEDGER_ASSIGN_OR_RETURN(uint64_t index, RequiredCount(params, "index"));
  LEDGER_ASSIGN_OR_RETURN(std::optional<uint64_t> size_param, Count(params, "size"));
  uint64_t size = size_param.value_or(head.size);
  if (size > head.size) {
    return Status::InvalidArgument("size: " + std::to_string(size) + " is beyond the held size " +
                                   std::to_string(head.size));
  }
  if (index >= size) {
    return Status::InvalidArgument("index: " + std::to_string(index) + " is not below size " +
                                   std::to_string(size));
  }
  LEDGER_ASSIGN_OR_RETURN(std::vector<ledger::Hash> proof,
                          log.InclusionProofOf(head.id, index, size));
  LEDGER_ASSIGN_OR_RETURN(ledger::Hash root, log.RootOf(head.id, size));
  LEDGER_ASSIGN_OR_RETURN(std::vector<std::string> entry,
                          log.ReadEntries(head.id, index, index + 1));
  LEDGER_ASSIGN_OR_RETURN(Json checkpoint, CheckpointOrNull(log, head.id, size));
  Json out = {{"market", head.market},
              {"origin", head.origin},
              {"index", index},
              {"size", size},
              {"leaf_hash", ledger::HexEncode(ledger::LeafHash(entry.front()))},
              {"root", ledger::HexEncode(root)},
              {"proof", Base64List(proof)}};
  if (!checkpoint.is_null()) out["checkpoint"] = checkpoint;
  return out;
}

StatusOr<Json> ConsistencyJson(const ledger::Log& log, const ledger::OriginHead& head,
                               std::string_view query) {
  LEDGER_ASSIGN_OR_RETURN(Params params, ParseParams(query, {"from", "to"}));
  LEDGER_ASSIGN_OR_RETURN(uint64_t from, RequiredCount(params, "from"));
  LEDGER_ASSIGN_OR_RETURN(std::optional<uint64_t> to_param, Count(params, "to"));
  uint64_t to = to_param.value_or(head.size);
  if (to > head.size) {
    return Status::InvalidArgument("to: " + std::to_string(to) + " is beyond the held size " +
                                   std::to_string(head.size));
  }
  // A proof from the empty tree is empty and proves nothing: RFC 9162
  // defines none, and ledger::ConsistencyProof refuses it.
  if (from == 0 || from > to) {
    return Status::InvalidArgument("from: want 1.." + std::to_string(to) + " (to)");
  }
  LEDGER_ASSIGN_OR_RETURN(std::vector<ledger::Hash> proof,
                          log.ConsistencyProofOf(head.id, from, to));
  LEDGER_ASSIGN_OR_RETURN(ledger::Hash from_root, log.RootOf(head.id, from));
  LEDGER_ASSIGN_OR_RETURN(ledger::Hash to_root, log.RootOf(head.id, to));
  LEDGER_ASSIGN_OR_RETURN(Json from_checkpoint, CheckpointOrNull(log, head.id, from));
  LEDGER_ASSIGN_OR_RETURN(Json to_checkpoint, CheckpointOrNull(log, head.id, to));
  Json out = {{"market", head.market},
              {"origin", head.origin},
              {"from", from},
              {"to", to},
              {"from_root", ledger::HexEncode(from_root)},
              {"to_root", ledger::HexEncode(to_root)},
              {"proof", Base64List(proof)}};
  if (!from_checkpoint.is_null()) out["from_checkpoint"] = from_checkpoint;
  if (!to_checkpoint.is_null()) out["to_checkpoint"] = to_checkpoint;
  return out;
}

Response TextReply(std::string body, const char* content_type) {
  Response response(http::status::ok, 11);
  response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

}  // namespace

Response HttpApi::HandleCheckpointOf(std::string_view market) const {
  StatusOr<ledger::OriginHead> head = HeadOf(log_, market, /*require_checkpoint=*/true);
  if (!head.ok()) return ErrorFor(head.status());
  StatusOr<std::string> note = log_.CheckpointOf(head->id, head->size);
  if (!note.ok()) return Error(http::status::internal_server_error, note.status().ToString());
  return TextReply(std::move(*note), "text/plain; charset=utf-8");
}

Response HttpApi::HandleEntries(std::string_view market, std::string_view query) const {
  StatusOr<ledger::OriginHead> head = HeadOf(log_, market, /*require_checkpoint=*/false);
  if (!head.ok()) return ErrorFor(head.status());
  StatusOr<std::string> body = EntriesJson(log_, *head, query);
  return body.ok() ? JsonReply(std::move(*body)) : ErrorFor(body.status());
}

Response HttpApi::HandleInclusion(std::string_view market, std::string_view query) const {
  StatusOr<ledger::OriginHead> head = HeadOf(log_, market, /*require_checkpoint=*/false);
  if (!head.ok()) return ErrorFor(head.status());
  StatusOr<Json> body = InclusionJson(log_, *head, query);
  return body.ok() ? JsonReply(Dump(*body)) : ErrorFor(body.status());
}

Response HttpApi::HandleConsistency(std::string_view market, std::string_view query) const {
  StatusOr<ledger::OriginHead> head = HeadOf(log_, market, /*require_checkpoint=*/false);
  if (!head.ok()) return ErrorFor(head.status());
  StatusOr<Json> body = ConsistencyJson(log_, *head, query);
  return body.ok() ? JsonReply(Dump(*body)) : ErrorFor(body.status());
}

Response HttpApi::HandleMetrics() const {
  MetricsSources sources;
  sources.log = &log_;
  sources.http = &metrics_;
  sources.verify = options_.verify_failures;
  if (options_.peer_lags) sources.lags = options_.peer_lags();
  return TextReply(RenderMetrics(sources), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace net
