#include "tests/fault_proxy.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <random>

namespace ledger::test {

namespace asio = boost::asio;
using asio::ip::tcp;

struct FaultProxy::State {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  uint16_t target_port = 0;
  FaultOptions options;
  std::mt19937_64 random;
  std::atomic<uint64_t> resets{0};
  std::atomic<uint64_t> duplicates{0};
};

namespace {

// One direction of one connection: read a random-sized piece, maybe fault,
// write it after a random delay, repeat.
class Pump : public std::enable_shared_from_this<Pump> {
 public:
  Pump(std::shared_ptr<FaultProxy::State> state, std::shared_ptr<tcp::socket> from,
       std::shared_ptr<tcp::socket> to)
      : state_(std::move(state)), from_(std::move(from)), to_(std::move(to)), timer_(state_->io) {}

  void Read() {
    std::uniform_int_distribution<size_t> size(1, state_->options.piece_bytes_max);
    buffer_.resize(size(state_->random));
    from_->async_read_some(asio::buffer(buffer_),
                           [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                             self->OnRead(ec, n);
                           });
  }

 private:
  void OnRead(boost::system::error_code ec, size_t n) {
    if (ec) return Close();
    buffer_.resize(n);
    std::uniform_real_distribution<double> chance(0, 1);
    if (chance(state_->random) < state_->options.reset_probability) {
      ++state_->resets;
      return Close();
    }
    if (chance(state_->random) < state_->options.duplicate_probability) {
      ++state_->duplicates;
      buffer_ += buffer_;
    }
    std::uniform_int_distribution<int> delay(0, state_->options.delay_ms_max);
    timer_.expires_after(std::chrono::milliseconds(delay(state_->random)));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
      asio::async_write(*self->to_, asio::buffer(self->buffer_),
                        [self](boost::system::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->Read();
                        });
    });
  }

  void Close() {
    boost::system::error_code ignored;
    from_->close(ignored);
    to_->close(ignored);
  }

  std::shared_ptr<FaultProxy::State> state_;
  std::shared_ptr<tcp::socket> from_;
  std::shared_ptr<tcp::socket> to_;
  asio::steady_timer timer_;
  std::string buffer_;
};

void Accept(std::shared_ptr<FaultProxy::State> state) {
  state->acceptor.async_accept([state](boost::system::error_code ec, tcp::socket socket) {
    if (ec) return;
    auto client = std::make_shared<tcp::socket>(std::move(socket));
    auto server = std::make_shared<tcp::socket>(state->io);
    tcp::endpoint target(asio::ip::make_address("127.0.0.1"), state->target_port);
    server->async_connect(target, [state, client, server](boost::system::error_code ec) {
      if (ec) {
        boost::system::error_code ignored;
        client->close(ignored);
        return;
      }
      std::make_shared<Pump>(state, client, server)->Read();
      std::make_shared<Pump>(state, server, client)->Read();
    });
    Accept(state);
  });
}

}  // namespace

FaultProxy::FaultProxy(uint16_t target_port, const FaultOptions& options)
    : state_(std::make_shared<State>()) {
  state_->target_port = target_port;
  state_->options = options;
  state_->random.seed(options.seed);
  tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
  state_->acceptor.open(local.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(local);
  state_->acceptor.listen();
  Accept(state_);
  thread_ = std::thread([state = state_] { state->io.run(); });
}

FaultProxy::~FaultProxy() {
  state_->io.stop();
  thread_.join();
}

uint16_t FaultProxy::port() const { return state_->acceptor.local_endpoint().port(); }
uint64_t FaultProxy::resets() const { return state_->resets; }
uint64_t FaultProxy::duplicates() const { return state_->duplicates; }

}  // namespace ledger::test
