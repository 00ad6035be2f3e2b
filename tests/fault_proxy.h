// A seeded TCP proxy for network-fault tests: it forwards every connection
// to a target port, and on the way splits the byte stream at random points,
// delays pieces, sometimes duplicates a piece (which corrupts the stream, so
// the receiver must drop the connection) and sometimes resets both sides.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

namespace ledger::test {

struct FaultOptions {
  uint64_t seed = 1;
  double reset_probability = 0.002;      // per forwarded piece
  double duplicate_probability = 0.001;  // per forwarded piece
  int delay_ms_max = 3;                  // per piece, uniform in [0, max]
  size_t piece_bytes_max = 1500;         // pieces are 1..max bytes
};

class FaultProxy {
 public:
  FaultProxy(uint16_t target_port, const FaultOptions& options);
  ~FaultProxy();
  uint16_t port() const;
  // Connections reset and pieces duplicated so far.
  uint64_t resets() const;
  uint64_t duplicates() const;
  struct State;  // shared with the connection pumps

 private:
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace ledger::test
