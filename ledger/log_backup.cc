// Log::Backup: a copy of the node's database taken while the node runs.
//
// A RocksDB checkpoint is an openable copy of the database as of one point
// in its write sequence: table files are hard-linked (copied across file
// systems), the manifest and the write-ahead log are copied, and reopening
// the copy replays that log. Replay applies whole WriteBatches or nothing,
// and every change the Log makes is one WriteBatch: an append writes the
// entries, their subtree hashes, the head, the signed checkpoints, the
// request ids, the contract state and the view rows together (a partner's
// chunk likewise, and a view rebuild is one batch too). So whatever point
// the copy is cut at, its log, hashes, checkpoints and views agree, exactly
// as after a crash at that point. The copy may also hold a batch that was
// written but whose WAL sync had not yet returned; that batch is whole and
// signed, like one a crash would keep.
#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "ledger/log.h"
#include "ledger/rocksdb_status.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

Status ErrnoError(const std::string& what, int error) {
  return Status::IoError(what + ": " + std::strerror(error));
}

// Why the target directory could not be made; the path is always named.
Status MkdirError(const std::string& path, int error) {
  if (error == EEXIST) {
    return Status::AlreadyExists("backup: " + path + " already exists (want a new directory)");
  }
  if (error == ENOENT || error == ENOTDIR) {
    return Status::NotFound("backup: the parent directory of " + path + " does not exist");
  }
  return ErrnoError("backup: create " + path, error);
}

// Without this a new directory entry (the copy's db/ and the target itself)
// may not survive a crash even though the files in it were synced.
Status SyncDirectory(const std::string& directory) {
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("backup: open directory " + directory, errno);
  int result = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (result != 0) return ErrnoError("backup: fsync directory " + directory, error);
  return Status::Ok();
}

// The copy is read back before it is reported: it must open, belong to the
// same log, and hold every origin's log at least to the size that was
// durable when the backup began (`floor`, by origin id).
Status CheckCopy(const Log& log, const std::string& path,
                 const std::map<uint32_t, uint64_t>& floor) {
  StatusOr<std::unique_ptr<Log>> copy = Log::Open(path, LogOptions{.read_only = true});
  if (!copy.ok()) return copy.status().WithContext("backup: reopen " + path);
  if ((*copy)->local_origin_id() != log.local_origin_id() || (*copy)->vkey() != log.vkey()) {
    return Status::Internal("backup: " + path + " does not hold this node's log");
  }
  for (const auto& [id, size] : floor) {
    uint64_t held = (*copy)->HeldSize(id);
    if (held < size) {
      return Status::Internal("backup: " + path + " holds " + std::to_string(held) +
                              " entries of origin " + std::to_string(id) + ", not the " +
                              std::to_string(size) + " durable when it began");
    }
  }
  return Status::Ok();
}

// REQUIRES: `path` is a new, empty directory.
Status WriteCopy(const Log& log, const std::string& path) {
  std::map<uint32_t, uint64_t> floor;
  for (const auto& [id, name] : log.OriginNames()) floor[id] = log.HeldSize(id);

  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status status = rocksdb::Checkpoint::Create(log.store()->db(), &raw);
  if (!status.ok()) return FromRocksDb(status, "backup " + path);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // RocksDB builds the copy beside its final name and renames it when
  // complete, syncing what it wrote.
  status = checkpoint->CreateCheckpoint(DatabasePath(path));
  if (!status.ok()) return FromRocksDb(status, "backup " + path);
  LEDGER_RETURN_IF_ERROR(SyncDirectory(path));
  fs::path parent = fs::path(path).parent_path();
  LEDGER_RETURN_IF_ERROR(SyncDirectory(parent.empty() ? "." : parent.string()));
  return CheckCopy(log, path, floor);
}

}  // namespace

Status Log::Backup(const std::string& dir) const {
  fs::path target = fs::path(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "a/b/" names a/b
  if (target.empty()) return Status::InvalidArgument("backup: no target directory given");
  const std::string path = target.string();
  // mkdir refuses an existing target and claims the name in one step, so
  // two backups into one path cannot mix. Mode 0700: the copy holds all of
  // the node's data, as its data directory does.
  if (::mkdir(path.c_str(), 0700) != 0) return MkdirError(path, errno);
  Status written = WriteCopy(*this, path);
  if (!written.ok()) {
    // A partial copy must not pass for a backup.
    std::error_code ignored;
    fs::remove_all(target, ignored);
  }
  return written;
}

}  // namespace ledger
