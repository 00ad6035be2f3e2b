// The byte layout of view rows and pages that views.cc and view_pages.cc
// share (views.h documents it). Internal to ledger/.
#pragma once

#include <cstddef>
#include <string_view>

#include "ledger/views.h"

namespace ledger::view_format {

// How many 8-byte fields a row of `kind` holds.
inline size_t FieldCount(ViewKind kind) {
  return kind == ViewKind::kDeal || kind == ViewKind::kRound ? ViewValues::kDealFields
                                                             : ViewValues::kVolumeFields;
}

inline bool ValidKind(char c) { return c == 'v' || c == 'f' || c == 'd' || c == 'r'; }

// The bytes of a row key after its page key.
inline size_t SuffixBytes(ViewKind kind) {
  return kind == ViewKind::kVolume ? 2 : kind == ViewKind::kFlow ? 8 : 1;
}

// The page a row key belongs to: the key without its last part (a round
// row's last part is its source byte).
inline std::string_view PageOf(std::string_view key) {
  return key.substr(0, key.size() - SuffixBytes(static_cast<ViewKind>(key[0])));
}

}  // namespace ledger::view_format
