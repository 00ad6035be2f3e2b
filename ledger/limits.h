// Every limit of the ledger library in one place, each with its reason.
// Names end in their unit. Changing one never changes stored data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ledger::limits {

// A checkpoint is signed at least this often inside one commit batch, so
// every size a replica may be asked to stop at is a signed size and a
// replication chunk never needs more than this many entries.
inline constexpr uint64_t kEntriesPerCheckpointMax = 4096;
// The same for bytes: a replication chunk (one frame) stays below this plus
// one entry, whatever the entries' sizes.
inline constexpr size_t kBytesPerCheckpointMax = 4u << 20;

// One commit batch: bounded so that one WriteBatch stays well inside the
// memtable and so that the applier can write one batch while the writer
// builds the next: a large call is committed as a pipeline of batches, and
// its last batch (whose write and sync the caller waits for) stays short.
inline constexpr size_t kBatchEntriesMax = 512;
inline constexpr size_t kBatchBytesMax = 32u << 20;

// One partner chunk (a run of a partner's log ending at a size it signed),
// which the writer commits as one batch.
inline constexpr size_t kChunkEntriesMax = 16384;

// Entries waiting for the writer. Callers block past this (backpressure)
// instead of growing memory without bound.
inline constexpr size_t kQueueEntriesMax = 65536;

// One entry's encoded size. Real registrations are well under 2 KiB; the
// limit keeps a hostile client from filling memory with one request, and
// lets every entry fit the 16-bit length prefix of a C2SP tlog-tiles entry
// bundle (tiles.h).
inline constexpr size_t kEntryBytesMax = 65535;

// Entries in one AppendBatch call (and one `ledgerctl append` batch).
inline constexpr size_t kAppendCallEntriesMax = kQueueEntriesMax;

// Origins (markets) one node holds; origin ids are 4 bytes, this keeps
// per-origin state in memory small.
inline constexpr uint32_t kOriginsMax = 4096;

// A signed note (checkpoint plus cosignatures) as stored or received.
inline constexpr size_t kNoteBytesMax = 1u << 20;

}  // namespace ledger::limits
