// ledger-microbench: the per-entry primitives under an append or a catch-up,
// each timed alone so that a change in one shows up without the noise of
// RocksDB, fsync and threads that ledger-bench measures around them.
//
// Inputs come from the realistic workload (tools/workload.h) through the
// entry JSON form, built once before any timing. Every benchmark reports
// items/s: entries, leaves or view effects per second.
#include <benchmark/benchmark.h>
#include <rocksdb/write_batch.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/contracts.h"
#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/merkle.h"
#include "ledger/validate.h"
#include "ledger/views.h"
#include "net/messages.h"
#include "schemas/entry_generated.h"
#include "tools/workload.h"

namespace ledger::bench {
namespace {

// A power of two, so that cycling through the inputs is a mask; large enough
// that the inputs do not all sit in the L1 cache as one entry would.
constexpr size_t kInputCount = 1024;
constexpr size_t kInputMask = kInputCount - 1;
static_assert((kInputCount & kInputMask) == 0);
// Entries per Entries frame, and per view batch: a small replication chunk
// and one append piece (LogOptions::append_piece_entries).
constexpr size_t kFrameEntries = 64;
constexpr size_t kViewBatchEntries = 256;
constexpr const char* kMarket = "xining";

[[noreturn]] void Die(const Status& status) {
  std::fprintf(stderr, "ledger-microbench: %s\n", status.ToString().c_str());
  std::exit(2);
}

template <typename T>
T Check(StatusOr<T> result) {
  if (!result.ok()) Die(result.status());
  return std::move(result).value();
}

struct Inputs {
  // The workload's first events, every kind mixed as in a market's year.
  std::vector<std::string> mixed;
  // Contract registrations only (the most common event, about 300 bytes).
  std::vector<std::string> registrations;
  // What each registration changes in the views.
  std::vector<Effect> registration_effects;
  std::vector<Hash> leaf_hashes;
  // A signed checkpoint, as every Entries frame carries one.
  std::string checkpoint;
};

Inputs MakeInputs() {
  Inputs inputs;
  tools::WorkloadOptions workload_options;
  workload_options.seed = 5;
  tools::Workload workload(workload_options);
  JsonOptions options;
  options.recorded_at_ms = 1632787200000;
  options.default_actor = "bench";
  while (inputs.registrations.size() < kInputCount) {
    std::string bytes = Check(EntryFromJson(workload.Next(), options));
    const fb::Entry* entry = Check(VerifiedEntry(bytes));
    if (entry->body_type() == fb::Event::ContractRegistered) {
      // No store: every registration is checked against empty state, which
      // is all a registration's effect depends on.
      StateOverlay overlay(nullptr, 0);
      inputs.registration_effects.push_back(Check(overlay.Check(*entry, 0)));
      inputs.registrations.push_back(bytes);
    }
    if (inputs.mixed.size() < kInputCount) inputs.mixed.push_back(std::move(bytes));
  }
  for (const std::string& entry : inputs.mixed) inputs.leaf_hashes.push_back(LeafHash(entry));
  Frontier tree;
  for (const Hash& leaf : inputs.leaf_hashes) tree.Append(leaf);
  NoteSigner signer("techmarket.cn/xining", Check(PrivateKey::Generate()));
  inputs.checkpoint =
      SignNote(FormatCheckpoint({"techmarket.cn/xining", tree.size(), tree.Root(), {}}), signer);
  return inputs;
}

const Inputs& TheInputs() {
  static const Inputs inputs = MakeInputs();
  return inputs;
}

double MeanBytes(const std::vector<std::string>& entries) {
  size_t bytes = 0;
  for (const std::string& entry : entries) bytes += entry.size();
  return double(bytes) / entries.size();
}

// RFC 9162 leaf hash of one registration.
void BM_LeafHash(benchmark::State& state) {
  const std::vector<std::string>& entries = TheInputs().registrations;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& entry = entries[i++ & kInputMask];
    bytes += entry.size();
    benchmark::DoNotOptimize(LeafHash(entry));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
  state.counters["entry_bytes"] = MeanBytes(entries);
}
BENCHMARK(BM_LeafHash);

// The writer's tree work per entry: one leaf onto the right edge. The root
// itself is computed once per checkpoint, not per entry (below).
void BM_FrontierAppend(benchmark::State& state) {
  const std::vector<Hash>& leaves = TheInputs().leaf_hashes;
  Frontier tree;
  size_t i = 0;
  for (auto _ : state) {
    tree.Append(leaves[i++ & kInputMask]);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrontierAppend);

// A new root after every leaf: the upper bound of the tree's cost per entry,
// as when each entry gets its own signed checkpoint.
void BM_RootUpdate(benchmark::State& state) {
  const std::vector<Hash>& leaves = TheInputs().leaf_hashes;
  Frontier tree;
  size_t i = 0;
  for (auto _ : state) {
    tree.Append(leaves[i++ & kInputMask]);
    benchmark::DoNotOptimize(tree.Root());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RootUpdate);

// The FlatBuffers Verifier over one registration (VerifiedEntry).
void BM_VerifyEntry(benchmark::State& state) {
  const std::vector<std::string>& entries = TheInputs().registrations;
  size_t i = 0;
  for (auto _ : state) {
    StatusOr<const fb::Entry*> entry = VerifiedEntry(entries[i++ & kInputMask]);
    if (!entry.ok()) state.SkipWithError("entry did not verify");
    benchmark::DoNotOptimize(entry);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyEntry);

// The stateless rules of validate.h over one verified registration.
void BM_ValidateEntry(benchmark::State& state) {
  std::vector<const fb::Entry*> entries;
  for (const std::string& bytes : TheInputs().registrations) {
    entries.push_back(Check(VerifiedEntry(bytes)));
  }
  size_t i = 0;
  for (auto _ : state) {
    Status valid = ValidateEntry(*entries[i++ & kInputMask]);
    if (!valid.ok()) state.SkipWithError("entry did not validate");
    benchmark::DoNotOptimize(valid);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateEntry);

// What Append runs per entry on the caller's thread: size limit, Verifier,
// rules and leaf hash, over the mixed workload.
void BM_Precheck(benchmark::State& state) {
  const std::vector<std::string>& entries = TheInputs().mixed;
  size_t i = 0;
  for (auto _ : state) {
    StatusOr<Hash> leaf = Precheck(entries[i++ & kInputMask]);
    if (!leaf.ok()) state.SkipWithError("entry failed its precheck");
    benchmark::DoNotOptimize(leaf);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Precheck);

// One registration's deltas into the rows of the pages it touches.
void BM_ViewAdd(benchmark::State& state) {
  const std::vector<Effect>& effects = TheInputs().registration_effects;
  ViewAccumulator views(nullptr);
  size_t i = 0;
  for (auto _ : state) {
    if (!views.Add(kMarket, effects[i++ & kInputMask]).ok()) state.SkipWithError("overflow");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ViewAdd);

// One append piece's view work as the writer does it: copy on first touch of
// each page from the views so far (here a year's registrations), add every
// effect, then freeze the changed pages and put the changed rows into a
// WriteBatch (its default column family stands in for `views`).
void BM_ViewBatch(benchmark::State& state) {
  const std::vector<Effect>& effects = TheInputs().registration_effects;
  ViewAccumulator year(nullptr);
  for (const Effect& effect : effects) {
    if (!year.Add(kMarket, effect).ok()) Die(Status::Internal("view overflow"));
  }
  const ViewPageMap base = PagesOf(year.Rows());
  size_t i = 0;
  rocksdb::WriteBatch batch;
  for (auto _ : state) {
    ViewAccumulator views(&base);
    for (size_t n = 0; n < kViewBatchEntries; ++n) {
      if (!views.Add(kMarket, effects[i++ & kInputMask]).ok()) state.SkipWithError("overflow");
    }
    batch.Clear();
    benchmark::DoNotOptimize(views.Flush(&batch, nullptr));
  }
  state.SetItemsProcessed(state.iterations() * kViewBatchEntries);
  state.counters["pages"] = double(base.size());
}
BENCHMARK(BM_ViewBatch);

net::EntriesMessage MakeChunk() {
  const Inputs& inputs = TheInputs();
  net::EntriesMessage chunk;
  chunk.origin = "techmarket.cn/xining";
  chunk.from = 0;
  chunk.entries.assign(inputs.mixed.begin(), inputs.mixed.begin() + kFrameEntries);
  chunk.checkpoint = inputs.checkpoint;
  return chunk;
}

// A serving node's work per chunk: one Entries frame of mixed entries.
void BM_FrameEncode(benchmark::State& state) {
  const net::Message chunk = MakeChunk();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string frame = net::EncodeFrame(chunk);
    bytes += frame.size();
    benchmark::DoNotOptimize(frame);
  }
  state.SetItemsProcessed(state.iterations() * kFrameEntries);
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_FrameEncode);

// The receiving side: the Verifier over the whole frame, every required
// field checked and the entries copied out.
void BM_FrameDecode(benchmark::State& state) {
  // The session reads each body into its own buffer, which is aligned as
  // the Verifier needs; so is this copy.
  const std::string body = net::EncodeFrame(MakeChunk()).substr(4);
  StatusOr<net::Message> once = net::DecodeMessage(body);
  if (!once.ok() || std::get<net::EntriesMessage>(*once).entries.size() != kFrameEntries) {
    Die(Status::Internal("the Entries frame does not decode to its entries"));
  }
  for (auto _ : state) {
    StatusOr<net::Message> message = net::DecodeMessage(body);
    if (!message.ok()) state.SkipWithError("frame did not decode");
    benchmark::DoNotOptimize(message);
  }
  state.SetItemsProcessed(state.iterations() * kFrameEntries);
  state.SetBytesProcessed(state.iterations() * body.size());
  state.counters["frame_bytes"] = double(body.size() + 4);
}
BENCHMARK(BM_FrameDecode);

}  // namespace
}  // namespace ledger::bench

BENCHMARK_MAIN();
