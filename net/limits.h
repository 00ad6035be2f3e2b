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

// ---- ledgerd's HTTP API (net/http_api.h). ----

// One request body: a POST of JSON Lines. An entry's JSON is a few KiB
// (ledger::kJsonTextBytesMax caps a line at 64 KiB), so this carries
// thousands of entries while bounding what one connection makes us hold.
inline constexpr size_t kApiBodyBytesMax = 4u << 20;
// The request line and headers together; real clients send well under 1 KiB.
inline constexpr uint32_t kApiHeaderBytesMax = 16u << 10;
// Entries in one POST, which is one Log::Append call.
inline constexpr size_t kApiEntriesPerRequestMax = 10000;
static_assert(kApiEntriesPerRequestMax <= ledger::limits::kAppendCallEntriesMax);
// Concurrent API connections; past it a new connection is closed at once.
inline constexpr size_t kApiConnectionsMax = 128;
// Threads that run Log::Append for the API. Each call blocks until a WAL
// sync and the log commits concurrent calls together, so a few suffice.
inline constexpr size_t kApiAppendThreads = 4;
// POSTs accepted and not yet answered; past it a POST gets 503. With the
// body limit this bounds the memory appends in flight can hold.
inline constexpr size_t kApiAppendsInFlightMax = 16;
// Deadline for reading one request (also while a keep-alive connection
// idles) and for writing one response: a client that stalls is dropped.
inline constexpr std::chrono::milliseconds kApiRequestTimeout{30000};
// After an error response that ends a connection (413, bad framing), the
// rest of what the client sends is read and dropped for at most this long
// and this many bytes, so that it receives the response instead of a reset.
inline constexpr std::chrono::milliseconds kApiLingerTimeout{2000};
inline constexpr size_t kApiLingerBytesMax = 2 * kApiBodyBytesMax;
// A bearer token shorter than this is guessable; node.json is refused.
inline constexpr size_t kApiTokenBytesMin = 16;
// The target of POST /v1/backup: Linux's PATH_MAX, past which no path can
// be created anyway.
inline constexpr size_t kApiBackupPathBytesMax = 4096;

}  // namespace net::limits
