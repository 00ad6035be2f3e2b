// GET /v1/tiles/{market}/...: a held log as C2SP tlog-tiles (ledger/tiles.h),
// so that tile clients and ledger-audit read a node like any static tile
// server. The tree served is the log at its latest held checkpoint; full
// tiles never change and may be cached forever, the checkpoint and partial
// tiles move as the log grows.
#include "ledger/log.h"
#include "ledger/tiles.h"
#include "net/http_api.h"

namespace net {
namespace http = boost::beast::http;

HttpApi::Response HttpApi::HandleTiles(std::string_view market, std::string_view path) const {
  ledger::StatusOr<ledger::OriginHead> found =
      market.empty() ? ledger::Status::NotFound("") : log_.HeadOfMarket(market);
  if (!found.ok() || found->checkpoint.empty()) {
    return Error(http::status::not_found, "market \"" + std::string(market) + "\" is not held");
  }
  std::string body;
  bool immutable = false;
  if (path == "checkpoint") {
    ledger::StatusOr<std::string> note = log_.CheckpointOf(found->id, found->size);
    if (!note.ok()) return Error(http::status::internal_server_error, note.status().ToString());
    body = std::move(*note);
  } else {
    ledger::StatusOr<ledger::TileRef> tile = ledger::ParseTilePath(path);
    if (!tile.ok()) return Error(http::status::not_found, tile.status().message());
    ledger::StatusOr<std::string> bytes = ledger::ReadTile(log_, found->id, found->size, *tile);
    if (!bytes.ok()) {
      bool missing = bytes.status().code() == ledger::Status::Code::kNotFound;
      return Error(missing ? http::status::not_found : http::status::internal_server_error,
                   bytes.status().message());
    }
    body = std::move(*bytes);
    immutable = tile->width == ledger::kTileHashes;
  }
  Response response(http::status::ok, 11);
  response.set(http::field::content_type,
               path == "checkpoint" ? "text/plain; charset=utf-8" : "application/octet-stream");
  response.set(http::field::cache_control,
               immutable ? "public, max-age=31536000, immutable" : "no-cache");
  response.body() = std::move(body);
  return response;
}

}  // namespace net
