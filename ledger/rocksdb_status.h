// The one adapter from rocksdb::Status to the project's Status.
#pragma once

#include <string_view>

#include "ledger/status.h"

namespace rocksdb {
class Status;
}

namespace ledger {

// Maps RocksDB's codes to ours: NotFound stays NotFound, Corruption becomes
// DataLoss, Busy/TryAgain/TimedOut become Unavailable, IO errors IoError.
// The message is "what: rocksdb message".
Status FromRocksDb(const rocksdb::Status& status, std::string_view what);

}  // namespace ledger
