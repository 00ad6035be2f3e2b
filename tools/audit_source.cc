#include "tools/audit_source.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ledger::audit {
namespace {

class Directory : public TileSource {
 public:
  explicit Directory(std::string dir) : dir_(std::move(dir)) {}

  StatusOr<std::string> Get(const std::string& path) override {
    std::string file = dir_ + "/" + path;
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::string why = std::strerror(errno);
      if (errno == ENOENT) return Status::NotFound(file + ": " + why);
      return Status::IoError(file + ": " + why);
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (in.bad()) return Status::IoError(file + ": read failed");
    return std::move(bytes).str();
  }

  std::string Describe() const override { return dir_; }

 private:
  std::string dir_;
};

}  // namespace

std::unique_ptr<TileSource> DirectorySource(std::string dir) {
  return std::make_unique<Directory>(std::move(dir));
}

}  // namespace ledger::audit
