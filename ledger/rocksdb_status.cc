#include "ledger/rocksdb_status.h"

#include <rocksdb/status.h>

#include <string>

namespace ledger {

Status FromRocksDb(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return Status::Ok();
  std::string message(what);
  message += ": ";
  message += status.ToString();
  if (status.IsNotFound()) return Status::NotFound(message);
  if (status.IsCorruption()) return Status::DataLoss(message);
  if (status.IsBusy() || status.IsTryAgain() || status.IsTimedOut()) {
    return Status::Unavailable(message);
  }
  if (status.IsIOError()) {
    // RocksDB reports a held LOCK file as an IO error; say what it means.
    if (status.ToString().find("lock") != std::string::npos) {
      return Status::Unavailable(message + " (is another process, e.g. ledgerd, using it?)");
    }
    return Status::IoError(message);
  }
  if (status.IsInvalidArgument()) return Status::InvalidArgument(message);
  return Status::Internal(message);
}

}  // namespace ledger
