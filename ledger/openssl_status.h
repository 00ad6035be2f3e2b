// The one adapter from OpenSSL's per-thread error queue to a Status.
//
// OpenSSL reports failures by pushing entries onto a thread-local queue.
// Entries left behind are attributed to whatever call fails next on the same
// thread, so every failing OpenSSL call in this project is followed by exactly
// one OpenSslError() (which drains the queue) or ERR_clear_error().
//
// Thread-safety: the queue is per thread; call from the thread that failed.
#pragma once

#include <string_view>

#include "ledger/status.h"

namespace ledger {

// Returns a non-OK Status with `code` whose message is `what` followed by the
// queued OpenSSL errors, oldest first, and empties the queue. `what` names
// the operation (and file, if any) that failed. Internal suits failures that
// mean a bug or an exhausted machine; pass kDataLoss when the input (a key
// file, a signature) was corrupt.
// REQUIRES: code != Status::Code::kOk.
Status OpenSslError(std::string_view what, Status::Code code = Status::Code::kInternal);

}  // namespace ledger
