// Every limit of the replication protocol in one place, each with its reason.
// Names end in their unit.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "ledger/limits.h"

namespace net::limits {

// Bumped when a peer of the old version could no longer be understood.
inline constexpr uint32_t kProtocolVersion = 1;

// One frame: a chunk of entries ends at a signed size, and the origin signs
// at least every ledger::limits::kBytesPerCheckpointMax bytes, so an honest
// chunk is below that plus one entry and per-entry framing. A declared
// length above this is refused before anything is allocated.
inline constexpr size_t kFrameBytesMax =
    2 * ledger::limits::kBytesPerCheckpointMax + ledger::limits::kEntryBytesMax + (1u << 20);

// Entries in one chunk: one checkpoint interval.
inline constexpr uint64_t kChunkEntriesMax = ledger::limits::kEntriesPerCheckpointMax;
// Bytes of entries a server puts in one chunk when it can choose.
inline constexpr size_t kChunkBytesTarget = ledger::limits::kBytesPerCheckpointMax;

// Frames queued for sending on one connection. A server produces the next
// chunk only while the queue is below kSendQueueBytesLow, and a peer whose
// queue passes kSendQueueBytesMax (it does not read) is dropped.
inline constexpr size_t kSendQueueBytesLow = 8u << 20;
inline constexpr size_t kSendQueueBytesMax = 64u << 20;

// Received chunks waiting for the ledger's writer, per connection. Past it
// the connection stops reading, which pushes back through TCP.
inline constexpr size_t kChunksInFlightMax = 4;

// Heads in one Heads frame: the ledger holds at most this many origins.
inline constexpr size_t kHeadsMax = ledger::limits::kOriginsMax;

// Concurrent connections (inbound and outbound) a node serves.
inline constexpr size_t kConnectionsMax = 64;

// Deadlines. Handshake: TLS handshake and Hello. Frame: from a frame's first
// byte to its last (a peer dribbling bytes is cut off). Idle: no frame at
// all; peers send Heads every kHeadsInterval, well inside it.
inline constexpr std::chrono::seconds kHandshakeTimeout{10};
inline constexpr std::chrono::seconds kFrameTimeout{30};
inline constexpr std::chrono::seconds kIdleTimeout{60};
inline constexpr std::chrono::seconds kHeadsInterval{15};

// Reconnect backoff: doubles from the first delay up to the last, each
// delay drawn uniformly from [delay/2, delay] so that nodes restarted
// together do not reconnect in lockstep.
inline constexpr std::chrono::milliseconds kBackoffFirst{200};
inline constexpr std::chrono::milliseconds kBackoffMax{30000};

}  // namespace net::limits
