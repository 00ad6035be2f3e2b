#include "net/asio_status.h"

#include <boost/asio/error.hpp>

namespace net {

ledger::Status FromAsio(const boost::system::error_code& ec, std::string_view what) {
  if (!ec) return ledger::Status::Ok();
  std::string message = std::string(what) + ": " + ec.message();
  namespace error = boost::asio::error;
  if (ec == error::connection_refused || ec == error::connection_reset ||
      ec == error::connection_aborted || ec == error::timed_out || ec == error::eof ||
      ec == error::operation_aborted || ec == error::broken_pipe || ec == error::host_unreachable ||
      ec == error::network_unreachable) {
    return ledger::Status::Unavailable(message);
  }
  return ledger::Status::IoError(message);
}

}  // namespace net
