// Counters and histograms a Log keeps about its own work, for ledgerd's
// /metrics page (net/metrics.h renders them in the Prometheus text format).
//
// Everything here is lock-free: the writer thread bumps the values while any
// thread reads them. Each value is read atomically on its own, but a reader
// sees no consistent snapshot across values (a scrape may see a batch in the
// histogram before its entries in a counter), which monitoring tolerates.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "ledger/limits.h"

namespace ledger {

// Observations counted into fixed buckets, each an upper bound (Prometheus
// "le" buckets), with their sum. Counts are kept per bucket, not cumulative,
// so one observation touches one bucket.
class Histogram {
 public:
  static constexpr size_t kBoundsMax = 16;

  // REQUIRES: `bounds` ascending, at most kBoundsMax of them, and alive as
  // long as the histogram (a static array).
  explicit Histogram(std::span<const double> bounds) : bounds_(bounds) {}
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value) {
    size_t bucket = 0;
    while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  std::span<const double> bounds() const { return bounds_; }
  // Observations in (bounds[i - 1], bounds[i]]; i == bounds().size() counts
  // those above the last bound.
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> bounds_;
  std::array<std::atomic<uint64_t>, kBoundsMax + 1> buckets_{};
  std::atomic<double> sum_{0};
};

// Entries per committed writer batch: from a single append to a full batch
// of appends (limits::kBatchEntriesMax) or a partner's chunk
// (limits::kChunkEntriesMax).
inline constexpr std::array<double, 8> kBatchEntriesBounds = {1, 4, 16, 64, 256, 1024, 4096, 16384};
static_assert(kBatchEntriesBounds.back() >= limits::kChunkEntriesMax);

struct LogMetrics {
  // Entries of the node's own log accepted and written (duplicates of an
  // earlier request_id are not counted). Bumped when the writer has built
  // the batch, before it is written and its callers learn of it.
  std::atomic<uint64_t> entries_appended{0};
  // Entries of partner logs stored, by origin id. Ids run from 1 up to
  // limits::kOriginsMax (Log::Trust refuses more origins), so one slot each.
  std::array<std::atomic<uint64_t>, limits::kOriginsMax + 1> entries_replicated{};
  // The entries of every batch the writer commits, local or a partner's.
  Histogram batch_entries{kBatchEntriesBounds};

  void AddReplicated(uint32_t origin_id, uint64_t entries) {
    if (origin_id < entries_replicated.size()) {
      entries_replicated[origin_id].fetch_add(entries, std::memory_order_relaxed);
    }
  }
};

}  // namespace ledger
