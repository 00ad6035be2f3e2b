// Where ledger-audit reads a log from: a C2SP tlog-tiles tree (tiles.h),
// published as a directory or over HTTP (a static server, or a node's
// /v1/tiles/{market}/ routes). The auditor trusts nothing it reads here.
#pragma once

#include <memory>
#include <string>

#include "ledger/status.h"

namespace ledger::audit {

class TileSource {
 public:
  virtual ~TileSource() = default;
  // The file at `path` ("checkpoint", "tile/0/000", ...) relative to the
  // tree's root. NotFound when it does not exist; other errors as they come.
  virtual StatusOr<std::string> Get(const std::string& path) = 0;
  // Where the tree is, for messages.
  virtual std::string Describe() const = 0;
};

// A tree in a local directory.
std::unique_ptr<TileSource> DirectorySource(std::string dir);
// A tree under an http:// URL prefix (ending in "/" or not).
StatusOr<std::unique_ptr<TileSource>> HttpSource(const std::string& url);
// The body of a GET of an http:// URL answered with 200; NotFound for 404,
// other errors naming the URL and the server's message.
StatusOr<std::string> HttpGetText(const std::string& url);

}  // namespace ledger::audit
