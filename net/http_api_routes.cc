// The API's routes: what each request is answered with (http_api.h).
#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "ledger/encoding.h"
#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/totals.h"
#include "ledger/validate.h"
#include "net/http_api.h"

namespace net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using ledger::Status;
using ledger::StatusOr;
using Json = nlohmann::ordered_json;
using Response = HttpApi::Response;
using api_internal::Dump;
using api_internal::JsonReply;
using api_internal::ParseQuery;
using api_internal::QueryParams;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

StatusOr<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else if (i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      return Status::InvalidArgument("query: bad percent-encoding");
    }
  }
  return out;
}

}  // namespace

namespace api_internal {

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Response JsonReply(std::string body) {
  Response response(http::status::ok, 11);
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  return response;
}

// "a=1&b=x%20y" -> {{"a", "1"}, {"b", "x y"}}, in order.
StatusOr<QueryParams> ParseQuery(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t equals = pair.find('=');
    LEDGER_ASSIGN_OR_RETURN(std::string name, PercentDecode(pair.substr(0, equals)));
    std::string value;
    if (equals != std::string_view::npos) {
      LEDGER_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(equals + 1)));
    }
    params.emplace_back(std::move(name), std::move(value));
  }
  return params;
}

StatusOr<Params> ParseParams(std::string_view query,
                             std::initializer_list<std::string_view> allowed) {
  LEDGER_ASSIGN_OR_RETURN(QueryParams pairs, ParseQuery(query));
  Params params;
  for (auto& [name, value] : pairs) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return Status::InvalidArgument("unknown parameter \"" + name + "\"");
    }
    if (params.count(name)) return Status::InvalidArgument(name + ": given more than once");
    params.emplace(std::move(name), std::move(value));
  }
  return params;
}

}  // namespace api_internal

namespace {

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  for (size_t comma; (comma = text.find(',', start)) != std::string::npos; start = comma + 1) {
    items.push_back(text.substr(start, comma - start));
  }
  items.push_back(text.substr(start));
  return items;
}

// The totals parsers of ledger/totals.h speak of `ledgerctl totals` flags
// ("--by: ..."); here the same words name query parameters ("by: ...").
Status AsParameter(const Status& status, const std::string& parameter) {
  if (status.ok()) return status;
  std::string message = status.message();
  for (size_t at; (at = message.find("--")) != std::string::npos;) message.erase(at, 2);
  if (message.rfind(parameter, 0) != 0) message = parameter + ": " + message;
  return Status::InvalidArgument(message);
}

struct TotalsParams {
  ledger::TotalsQuery query;
  std::optional<ledger::Unit> unit;
  std::string unit_name;
};

Status ApplyTotalsParam(const std::string& name, const std::string& value, TotalsParams* out) {
  if (name == "market") {
    for (const std::string& market : SplitCommas(value)) {
      if (market.empty()) return Status::InvalidArgument("market: empty market id");
      out->query.markets.push_back(market);
    }
  } else if (name == "from" || name == "to") {
    StatusOr<int32_t> month = ledger::ParseMonth(value);
    if (!month.ok()) return AsParameter(month.status(), name);
    (name == "from" ? out->query.from_month : out->query.to_month) = *month;
  } else if (name == "by") {
    for (const std::string& item : SplitCommas(value)) {
      StatusOr<ledger::Dimension> dimension = ledger::ParseDimension(item);
      if (!dimension.ok()) return AsParameter(dimension.status(), name);
      out->query.by.push_back(*dimension);
    }
  } else if (name == "unit") {
    StatusOr<ledger::Unit> unit = ledger::ParseUnit(value);
    if (!unit.ok()) return AsParameter(unit.status(), name);
    out->unit = *unit;
    out->unit_name = value;
  } else if (name == "deals") {
    if (value != "true" && value != "false")
      return Status::InvalidArgument("deals: want true or false");
    out->query.deals = value == "true";
  } else {
    return Status::InvalidArgument("unknown parameter \"" + name + "\"");
  }
  return Status::Ok();
}

StatusOr<TotalsParams> ParseTotalsParams(std::string_view query) {
  LEDGER_ASSIGN_OR_RETURN(QueryParams params, ParseQuery(query));
  TotalsParams out;
  std::set<std::string> seen;
  for (const auto& [name, value] : params) {
    if (name != "market" && !seen.insert(name).second) {
      return Status::InvalidArgument(name + ": given more than once");
    }
    LEDGER_RETURN_IF_ERROR(ApplyTotalsParam(name, value, &out));
  }
  if (out.query.from_month > out.query.to_month) {
    return Status::InvalidArgument("from: a month after to");
  }
  return out;
}

// The non-blank lines of a JSON Lines body as entries, with their 1-based
// line numbers. Any bad line fails the whole body, naming the line.
struct Lines {
  std::vector<std::string> entries;
  std::vector<uint64_t> numbers;
};

StatusOr<Lines> ParseLines(std::string_view body, const ledger::JsonOptions& options) {
  Lines lines;
  uint64_t number = 0;
  while (!body.empty()) {
    size_t newline = body.find('\n');
    std::string_view line = body.substr(0, newline);
    body = newline == std::string_view::npos ? std::string_view() : body.substr(newline + 1);
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (lines.entries.size() == limits::kApiEntriesPerRequestMax) {
      return Status::ResourceExhausted("more than " +
                                       std::to_string(limits::kApiEntriesPerRequestMax) +
                                       " entries in one request");
    }
    StatusOr<std::string> entry = ledger::EntryFromJson(line, options);
    if (!entry.ok()) {
      return Status::InvalidArgument("line " + std::to_string(number) + ": " +
                                     entry.status().message());
    }
    lines.entries.push_back(std::move(*entry));
    lines.numbers.push_back(number);
  }
  if (lines.entries.empty()) return Status::InvalidArgument("no entries: want JSON Lines");
  return lines;
}

// Runs on the append pool: parses the body and appends it (blocking until
// the entries are durable).
Response AppendLines(ledger::Log& log, const std::string& body, ledger::JsonOptions options) {
  options.recorded_at_ms = NowMs();
  StatusOr<Lines> lines = ParseLines(body, options);
  if (!lines.ok()) {
    bool too_many = lines.status().code() == Status::Code::kResourceExhausted;
    return HttpApi::Error(too_many ? http::status::payload_too_large : http::status::bad_request,
                          lines.status().message());
  }
  std::vector<StatusOr<ledger::Receipt>> results = log.Append(std::move(lines->entries));
  Json receipts = Json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    uint64_t number = lines->numbers[i];
    if (!results[i].ok()) {
      receipts.push_back(
          {{"line", number},
           {"code", ledger::CodeName(results[i].status().code())},
           {"error", "line " + std::to_string(number) + ": " + results[i].status().message()}});
      continue;
    }
    const ledger::Receipt& receipt = *results[i];
    receipts.push_back({{"line", number},
                        {"index", receipt.index},
                        {"leaf_hash", ledger::HexEncode(receipt.leaf_hash)},
                        {"checkpoint_size", receipt.checkpoint_size},
                        {"duplicate", receipt.duplicate}});
  }
  return JsonReply(Dump(receipts));
}

}  // namespace

void HttpApi::HandleAppend(Request request, std::string_view query, Respond respond) {
  if (!Authorized(request)) {
    Response response = Error(http::status::unauthorized, "missing or wrong bearer token");
    response.set(http::field::www_authenticate, "Bearer");
    return respond(std::move(response));
  }
  ledger::JsonOptions json_options;
  json_options.default_actor = options_.default_actor;
  StatusOr<QueryParams> params = ParseQuery(query);
  if (!params.ok()) return respond(Error(http::status::bad_request, params.status().message()));
  for (const auto& [name, value] : *params) {
    if (name != "actor") {
      return respond(Error(http::status::bad_request, "unknown parameter \"" + name + "\""));
    }
    if (value.empty() || value.size() > ledger::kActorBytesMax || !ledger::IsValidUtf8(value)) {
      return respond(
          Error(http::status::bad_request,
                "actor: want 1.." + std::to_string(ledger::kActorBytesMax) + " bytes of UTF-8"));
    }
    json_options.default_actor = value;
  }
  if (appends_in_flight_ >= limits::kApiAppendsInFlightMax) {
    Response response = Error(http::status::service_unavailable, "too many appends in flight");
    response.set(http::field::retry_after, "1");
    return respond(std::move(response));
  }
  ++appends_in_flight_;
  // The guard keeps io.run() from returning before the response is posted.
  asio::post(append_pool_, [this, body = std::move(request.body()), json_options,
                            respond = std::move(respond),
                            work = asio::make_work_guard(io_)]() mutable {
    Response response = AppendLines(log_, body, std::move(json_options));
    asio::post(io_, [this, response = std::move(response), respond = std::move(respond)]() mutable {
      --appends_in_flight_;
      respond(std::move(response));
    });
  });
}

Response HttpApi::HandleStatus() const {
  Json status = Json::object();
  if (options_.status_json) {
    status = Json::parse(options_.status_json(), nullptr, /*allow_exceptions=*/false);
    if (!status.is_object()) {
      return Error(http::status::internal_server_error, "status document is not a JSON object");
    }
  }
  StatusOr<ledger::Hash> digest = log_.ViewDigest();
  if (digest.ok()) {
    status["view_digest"] = ledger::HexEncode(*digest);
  } else {
    status["view_digest_error"] = digest.status().ToString();
  }
  // Evidence lives in the database, not in the node's document; a remote
  // `ledgerctl status` shows it as the local one does.
  StatusOr<std::vector<ledger::Equivocation>> evidence = log_.Evidence();
  if (!evidence.ok()) {
    return Error(http::status::internal_server_error, evidence.status().ToString());
  }
  status["evidence"] = Json::array();
  for (const ledger::Equivocation& item : *evidence) {
    status["evidence"].push_back(
        {{"origin", item.origin}, {"theirs", item.theirs}, {"ours", item.ours}});
  }
  return JsonReply(Dump(status));
}

Response HttpApi::HandleCheckpoint() const {
  StatusOr<std::string> note = log_.LatestCheckpoint();
  if (!note.ok()) return Error(http::status::internal_server_error, note.status().ToString());
  Response response(http::status::ok, 11);
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = std::move(*note);
  return response;
}

Response HttpApi::HandleTotals(std::string_view query) const {
  StatusOr<TotalsParams> params = ParseTotalsParams(query);
  if (!params.ok()) return Error(http::status::bad_request, params.status().message());
  StatusOr<ledger::TotalsResult> result = log_.Totals(params->query);
  if (!result.ok()) {
    Status::Code code = result.status().code();
    if (code == Status::Code::kNotFound) {
      return Error(http::status::bad_request, AsParameter(result.status(), "market").message());
    }
    if (code == Status::Code::kInvalidArgument) {
      return Error(http::status::bad_request, AsParameter(result.status(), "by").message());
    }
    return Error(http::status::internal_server_error, result.status().ToString());
  }
  std::string body = ledger::TotalsJson(*result);
  if (!params->unit) return JsonReply(std::move(body));
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  json["unit"] = params->unit_name;
  json["table"] = ledger::TotalsTable(*result, *params->unit);
  return JsonReply(Dump(json));
}

}  // namespace net
