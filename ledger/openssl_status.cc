#include "ledger/openssl_status.h"

#include <openssl/err.h>

#include <cassert>
#include <string>

namespace ledger {
namespace {

// A misbehaving provider could queue errors without end; the first few name
// the cause and the rest only lengthen the message.
constexpr int kQueuedErrorsReportedMax = 8;

Status StatusWithCode(Status::Code code, std::string_view message) {
  switch (code) {
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(message);
    case Status::Code::kNotFound:
      return Status::NotFound(message);
    case Status::Code::kAlreadyExists:
      return Status::AlreadyExists(message);
    case Status::Code::kFailedPrecondition:
      return Status::FailedPrecondition(message);
    case Status::Code::kOutOfRange:
      return Status::OutOfRange(message);
    case Status::Code::kDataLoss:
      return Status::DataLoss(message);
    case Status::Code::kIoError:
      return Status::IoError(message);
    case Status::Code::kUnavailable:
      return Status::Unavailable(message);
    case Status::Code::kResourceExhausted:
      return Status::ResourceExhausted(message);
    case Status::Code::kOk:
    case Status::Code::kInternal:
      break;
  }
  return Status::Internal(message);
}

}  // namespace

Status OpenSslError(std::string_view what, Status::Code code) {
  assert(code != Status::Code::kOk);
  std::string message(what);
  int reported_count = 0;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long error = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    if (reported_count++ >= kQueuedErrorsReportedMax) continue;  // Drain the rest unreported.
    char text[256];
    ERR_error_string_n(error, text, sizeof(text));
    message += reported_count == 1 ? ": " : "; ";
    message += text;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      message += " (";
      message += data;
      message += ")";
    }
  }
  if (reported_count == 0) message += ": no OpenSSL error queued";
  return StatusWithCode(code, message);
}

}  // namespace ledger
