// TileSource and GET over plain HTTP/1.1, through ledgerctl's NodeClient (one
// kept-alive connection per source, deadlines, errors naming the URL).
#include "tools/audit_source.h"
#include "tools/node_client.h"

namespace ledger::audit {
namespace {

// "http://host:port/some/path" -> {"http://host:port", "/some/path"}.
StatusOr<std::pair<std::string, std::string>> SplitUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    return Status::InvalidArgument(url + ": want an http:// URL (put TLS in front with a proxy)");
  }
  size_t slash = url.find('/', scheme.size());
  if (slash == std::string::npos) return std::make_pair(url, std::string("/"));
  return std::make_pair(url.substr(0, slash), url.substr(slash));
}

class HttpTiles : public TileSource {
 public:
  HttpTiles(std::string url, std::unique_ptr<cli::NodeClient> client, std::string prefix)
      : url_(std::move(url)), client_(std::move(client)), prefix_(std::move(prefix)) {
    if (prefix_.back() != '/') prefix_ += '/';
  }

  StatusOr<std::string> Get(const std::string& path) override { return client_->Get(prefix_ + path); }
  std::string Describe() const override { return url_; }

 private:
  std::string url_;
  std::unique_ptr<cli::NodeClient> client_;
  std::string prefix_;
};

}  // namespace

StatusOr<std::unique_ptr<TileSource>> HttpSource(const std::string& url) {
  LEDGER_ASSIGN_OR_RETURN(auto parts, SplitUrl(url));
  LEDGER_ASSIGN_OR_RETURN(std::unique_ptr<cli::NodeClient> client,
                          cli::NodeClient::Create(parts.first));
  return std::unique_ptr<TileSource>(
      std::make_unique<HttpTiles>(url, std::move(client), std::move(parts.second)));
}

StatusOr<std::string> HttpGetText(const std::string& url) {
  LEDGER_ASSIGN_OR_RETURN(auto parts, SplitUrl(url));
  LEDGER_ASSIGN_OR_RETURN(std::unique_ptr<cli::NodeClient> client,
                          cli::NodeClient::Create(parts.first));
  return client->Get(parts.second);
}

}  // namespace ledger::audit
