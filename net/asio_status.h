// The one place Asio error codes become the project's Status.
#pragma once

#include <boost/system/error_code.hpp>
#include <string_view>

#include "ledger/status.h"

namespace net {

// Unavailable for connection-level failures a retry may fix (refused,
// reset, timed out, closed), IoError for the rest; the message names `what`
// and the system's description.
ledger::Status FromAsio(const boost::system::error_code& ec, std::string_view what);

}  // namespace net
