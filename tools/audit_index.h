// The auditor's hashing and its index of request and contract ids: a
// seeded 64-bit hash of text and an open-addressing table of positions
// (audit_fold.cc). Not for use outside the auditor.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

namespace ledger::audit {

// splitmix64's finaliser: a bijection in which every input bit moves every
// output bit.
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9;
  x ^= x >> 27;
  x *= 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

// Ids and request ids are chosen by clients, so their hashes take a seed
// drawn per fold: a log cannot be crafted to make them collide.
inline uint64_t NewSeed() {
  std::random_device random;
  return uint64_t{random()} << 32 | random();
}

// A seeded hash of text, 8 bytes at a time.
inline uint64_t HashText(std::string_view text, uint64_t seed) {
  uint64_t hash = Mix(seed ^ text.size());
  for (; text.size() >= sizeof(uint64_t); text.remove_prefix(sizeof(uint64_t))) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, text.data(), sizeof(uint64_t));
    hash = Mix(hash ^ chunk);
  }
  if (!text.empty()) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, text.data(), text.size());
    hash = Mix(hash ^ chunk);
  }
  return hash;
}

// An open-addressing index from keys to the positions 0, 1, 2, ... of the
// records that hold them, which the caller keeps in a vector in that order.
// A slot is the high half of the key's hash and the position: 8 bytes, so
// the index of a 1,000,000-entry log's request ids is 16 MB, where a
// node-based map would allocate per key and chase two pointers per lookup.
// Linear probing in a power-of-two table at most half full; a key's home
// slot is the top bits of its hash, so growing sweeps the old table in order
// and writes the new one almost sequentially, without reading the records.
class FlatIndex {
 public:
  // Positions are 32 bits and the home slot comes from the 32 high bits of
  // the hash: at most 2^31 slots, half of them used.
  static constexpr uint32_t kSizeMax = uint32_t{1} << 30;

  // The position of the record, among those whose key has `hash`, for which
  // `matches(position)` is true.
  template <typename Matches>
  std::optional<uint32_t> Find(uint64_t hash, const Matches& matches) const {
    if (slots_.empty()) return std::nullopt;
    const uint32_t tag = Tag(hash);
    for (size_t at = Home(tag);; at = (at + 1) & (slots_.size() - 1)) {
      const Slot slot = slots_[at];
      if (slot.tag == 0) return std::nullopt;
      if (slot.tag == tag && matches(slot.position)) return slot.position;
    }
  }

  // Starts loading the slot where a lookup of `hash` begins.
  void Prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Home(Tag(hash))]);
  }

  // How many positions were added; the next one added is this.
  uint32_t size() const { return size_; }

  // Adds position size() under `hash`.
  // REQUIRES: no record added before has the same key; size() < kSizeMax.
  void Insert(uint64_t hash) {
    assert(size_ < kSizeMax);
    if (2 * (size_t{size_} + 1) > slots_.size()) Grow();
    Place({Tag(hash), size_});
    ++size_;
  }

 private:
  static constexpr int kSlotsBitsMin = 10;
  struct Slot {
    uint32_t tag = 0;  // the hash's high half, never 0; 0: empty
    uint32_t position = 0;
  };

  static uint32_t Tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32) | 1; }
  size_t Home(uint32_t tag) const { return tag >> (32 - slots_bits_); }

  void Place(const Slot& slot) {
    size_t at = Home(slot.tag);
    while (slots_[at].tag != 0) at = (at + 1) & (slots_.size() - 1);
    slots_[at] = slot;
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_bits_ = old.empty() ? kSlotsBitsMin : slots_bits_ + 1;
    slots_.assign(size_t{1} << slots_bits_, Slot());
    for (const Slot& slot : old) {
      if (slot.tag != 0) Place(slot);
    }
  }

  std::vector<Slot> slots_;
  int slots_bits_ = 0;
  uint32_t size_ = 0;
};

}  // namespace ledger::audit
