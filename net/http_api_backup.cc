// POST /v1/backup: a copy of the node's database taken while it runs
// (http_api.h, ledger::Log::Backup).
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "ledger/encoding.h"
#include "ledger/log.h"
#include "net/http_api.h"

namespace net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using ledger::Status;
using ledger::StatusOr;
using Json = nlohmann::ordered_json;
using Response = HttpApi::Response;

// The target named by a body {"to": "/absolute/path"}, normalized
// ("/a/./b/" -> "/a/b"). InvalidArgument names what is wrong.
StatusOr<std::string> ParseTarget(const std::string& body) {
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return Status::InvalidArgument("body: want a JSON object {\"to\": \"/absolute/path\"}");
  }
  for (const auto& [name, value] : json.items()) {
    if (name != "to") return Status::InvalidArgument("body: unknown member \"" + name + "\"");
  }
  auto to = json.find("to");
  if (to == json.end() || !to->is_string()) {
    return Status::InvalidArgument("to: want a string, the absolute path of a new directory");
  }
  const std::string& path = to->get_ref<const std::string&>();
  if (path.size() > limits::kApiBackupPathBytesMax || path.find('\0') != std::string::npos) {
    return Status::InvalidArgument("to: not a usable path");
  }
  // The node's working directory means nothing to the client.
  if (path.empty() || path.front() != '/') {
    return Status::InvalidArgument("to: want an absolute path, got \"" + path + "\"");
  }
  std::filesystem::path target = std::filesystem::path(path).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  return target.string();
}

// What the new copy holds, read from the copy itself.
Response Describe(const std::string& path) {
  StatusOr<std::unique_ptr<ledger::Log>> copy =
      ledger::Log::Open(path, ledger::LogOptions{.read_only = true});
  if (!copy.ok()) {
    return HttpApi::Error(
        http::status::internal_server_error,
        "backup " + path + " written but unreadable: " + copy.status().ToString());
  }
  Json sizes = Json::object();
  for (const ledger::OriginHead& head : (*copy)->Heads()) sizes[head.market] = head.size;
  Json reply = {{"backup", path}, {"market", (*copy)->market_id()}, {"sizes", sizes}};
  StatusOr<ledger::Hash> digest = (*copy)->ViewDigest();
  if (digest.ok()) {
    reply["view_digest"] = ledger::HexEncode(*digest);
  } else {
    reply["view_digest_error"] = digest.status().ToString();
  }
  return api_internal::JsonReply(api_internal::Dump(reply));
}

// Runs on the pool: writes the copy (blocking) and answers.
Response RunBackup(const ledger::Log& log, const std::string& path) {
  Status status = log.Backup(path);
  if (status.ok()) {
    Response response = Describe(path);
    spdlog::info("api backup to {}: {}", path, response.body());
    return response;
  }
  spdlog::warn("api backup to {}: {}", path, status.ToString());
  switch (status.code()) {
    case Status::Code::kAlreadyExists:
      return HttpApi::Error(http::status::conflict, status.message());
    case Status::Code::kNotFound:
    case Status::Code::kInvalidArgument:
      return HttpApi::Error(http::status::bad_request, status.message());
    default:
      return HttpApi::Error(http::status::internal_server_error, status.ToString());
  }
}

}  // namespace

void HttpApi::HandleBackup(Request request, std::string_view query, Respond respond) {
  if (!Authorized(request)) {
    Response response = Error(http::status::unauthorized, "missing or wrong bearer token");
    response.set(http::field::www_authenticate, "Bearer");
    return respond(std::move(response));
  }
  StatusOr<api_internal::Params> params = api_internal::ParseParams(query, {});
  if (!params.ok()) return respond(Error(http::status::bad_request, params.status().message()));
  StatusOr<std::string> target = ParseTarget(request.body());
  if (!target.ok()) return respond(Error(http::status::bad_request, target.status().message()));
  if (backup_running_) {
    Response response = Error(http::status::service_unavailable, "a backup is already running");
    response.set(http::field::retry_after, "5");
    return respond(std::move(response));
  }
  backup_running_ = true;
  // The guard keeps io.run() from returning before the response is posted.
  asio::post(append_pool_, [this, path = std::move(*target), respond = std::move(respond),
                            work = asio::make_work_guard(io_)]() mutable {
    Response response = RunBackup(log_, path);
    asio::post(io_, [this, response = std::move(response), respond = std::move(respond)]() mutable {
      backup_running_ = false;
      respond(std::move(response));
    });
  });
}

}  // namespace net
