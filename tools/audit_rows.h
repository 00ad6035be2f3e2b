// The rows the auditor's fold builds up for one market, in the order of
// the published columns, and the texts of their keys (audit_fold.cc builds
// them, audit_publish.cc turns them into answers). Not for use outside the
// auditor.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tools/audit_index.h"

namespace ledger::audit {

// The values of one row in the order of the published columns: contract rows
// (volume and flow) use all five, deal rows the first two.
inline constexpr size_t kContractColumnCount = 5;
inline constexpr size_t kDealColumnCount = 2;
using Values = std::array<int64_t, kContractColumnCount>;
inline constexpr const char* kContractColumns[] = {"contracts", "contract_amount", "tech_amount",
                                                   "payments", "terminated"};
inline constexpr bool kContractMoney[] = {false, true, true, true, false};
inline constexpr const char* kDealColumns[] = {"deals", "amount"};
inline constexpr bool kDealMoney[] = {false, true};

// Row keys packed so that numeric order is the node's row order (months as
// unsigned, as the node's big-endian keys sort them).
inline uint64_t VolumeKey(int32_t month, uint8_t type, uint8_t field) {
  return uint64_t{static_cast<uint32_t>(month)} << 16 | uint64_t{type} << 8 | field;
}
inline uint64_t DealKey(int32_t month, uint8_t mode) {
  return uint64_t{static_cast<uint32_t>(month)} << 8 | mode;
}
struct FlowKey {
  uint32_t month = 0;
  uint32_t seller_region = 0;
  uint32_t buyer_region = 0;
  bool operator==(const FlowKey&) const = default;
  auto operator<=>(const FlowKey&) const = default;
};
struct FlowKeyHash {
  size_t operator()(const FlowKey& key) const {
    return Mix(uint64_t{key.month} << 32 ^
               Mix(uint64_t{key.seller_region} << 32 | key.buyer_region));
  }
};
struct KeyHash {
  size_t operator()(uint64_t key) const { return Mix(key); }
};
// A round row: month, matchmaking id, and 'c' (contracts) or 'd' (deals).
// Few rows, so an ordered map; answers and the digest order them themselves.
using RoundKey = std::tuple<uint32_t, std::string, char>;
using RoundRows = std::map<RoundKey, Values, std::less<>>;

// The rows of one kind by key, values inline: open addressing in a
// power-of-two table at most half full. A market has thousands of rows, not
// millions, so the table stays in cache and a lookup is a hash and a probe
// or two.
template <typename Key, typename Hash>
class RowMap {
 public:
  // The values of `key`'s row, all zero if it is new. The reference lives
  // until the next call of operator[].
  Values& operator[](const Key& key) {
    if (2 * (size_ + 1) > slots_.size()) Grow();
    Slot& slot = slots_[SlotOf(key)];
    if (!slot.used) {
      slot = {key, Values{}, true};
      ++size_;
    }
    return slot.values;
  }

  // Every row, in key order.
  std::vector<std::pair<Key, Values>> Sorted() const {
    std::vector<std::pair<Key, Values>> rows;
    rows.reserve(size_);
    for (const Slot& slot : slots_) {
      if (slot.used) rows.emplace_back(slot.key, slot.values);
    }
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return rows;
  }

 private:
  static constexpr size_t kSlotsMin = 64;
  struct Slot {
    Key key{};
    Values values{};
    bool used = false;
  };

  // Where `key` is, or the empty slot where it would go.
  size_t SlotOf(const Key& key) const {
    const size_t mask = slots_.size() - 1;
    size_t at = Hash()(key) & mask;
    while (slots_[at].used && !(slots_[at].key == key)) at = (at + 1) & mask;
    return at;
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max(kSlotsMin, 2 * old.size()), Slot());
    for (const Slot& slot : old) {
      if (slot.used) slots_[SlotOf(slot.key)] = slot;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

inline std::string MonthText(int32_t month) {
  char text[24];
  std::snprintf(text, sizeof(text), "%04d-%02d", month / 100, month % 100);
  return text;
}

inline std::string RegionText(uint32_t region) {
  char text[16];
  std::snprintf(text, sizeof(text), "%06u", region);
  return text;
}

// Every row of one market; rows may hold all zeros (answers leave them out).
struct MarketRows {
  RowMap<uint64_t, KeyHash> volume;  // VolumeKey
  RowMap<FlowKey, FlowKeyHash> flow;
  RowMap<uint64_t, KeyHash> deal;  // DealKey
  RoundRows round;
};

}  // namespace ledger::audit
