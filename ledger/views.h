// Views: transaction volume as a deterministic fold over the logs of every
// origin a node holds (DESIGN.md section 5).
//
// Each accepted entry adds a delta to at most two rows, posted in the month
// of the entry's business date (never the clock), so every node that holds
// the same entries holds the same rows whatever order they arrived in:
//   registration  volume and flow row of month(signed_on):
//                 contracts +1, contract and tech amount +amounts
//   amendment     month(amended_on): amounts + (new - old)
//   termination   month(terminated_on): contracts -1, amounts - current
//                 amounts, terminated +1 (the contract leaves the totals from
//                 its termination on; its payments stay)
//   payment       month(paid_on): payments +amount
//   deal          deal row of month(signed_on): deals +1, amount +amount
//   registration or deal with a matchmaking_id
//                 round row of month(signed_on): count +1, amount +contract
//                 (or deal) amount. Round rows keep what a matchmaking round
//                 (对接会) produced as registered; later amendments and
//                 terminations show in the volume rows, not here.
// A month can therefore hold negative counts: a termination in March of a
// contract signed in January shows in March. Totals over any range that
// covers both are exact.
//
// Rows (on-disk format and digest input; never change). market is the
// market id, m its length in one byte; integers are big-endian, amounts are
// fen, counts and amounts two's-complement int64:
//   'v' m market month(4) type(1) field(1)               -> volume value
//   'f' m market month(4) seller_region(4) buyer_region(4) -> volume value
//   'd' m market month(4) mode(1)                         -> deal value
//   'r' m market month(4) k round source(1)              -> round value
//   volume value: contracts contract_fen tech_fen paid_fen terminated (5x8)
//   deal value:   deals amount_fen (2x8)
//   round value:  count amount_fen (2x8)
// round is the matchmaking id (k its length in one byte) and source 'c' for
// contract registrations or 'd' for transfer deals.
// month is YYYYMM (202109). A row whose values are all zero does not exist.
//
// Storage: the `views` column family holds one page per kind, market and
// month: the row key without its last part (type and field, the region
// pair, or the mode) maps to the concatenation, in key order, of
// last part + value for each row of the page (a round's page key holds the
// round id, so its last part is the source byte). One RocksDB row per page,
// so a batch of a few hundred entries touches a few dozen rows instead of
// hundreds (RocksDB memtable inserts are the cost of an append).
//
// A batch does not rewrite the pages it touched: it writes, with a RocksDB
// Merge, a difference page holding only the rows that changed, each value
// the new one minus the old (field by field, modulo 2^64), and the column's
// merge operator (NewViewPageMerge) adds pages row by row, dropping rows
// that come to zero. A page left with no rows is deleted instead. Reading
// the column therefore gives exactly the pages above, while an append
// writes a few hundred bytes of changed rows instead of every row of every
// page it touched (whole pages were as many bytes as the entries
// themselves, and that WAL and memtable work was most of what views cost).
//
// View digest: SHA-256 over every row in key order, each row as
//   key_length(4) key value_length(4) value
// (the empty view hashes the empty string). Two nodes, or an auditor with
// its own fold, compare views by comparing digests.
//
// Thread-safety: a ViewAccumulator belongs to one thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/contracts.h"
#include "ledger/crypto.h"
#include "ledger/encoding.h"
#include "ledger/status.h"

namespace rocksdb {
class ColumnFamilyHandle;
class MergeOperator;
class WriteBatch;
}  // namespace rocksdb

namespace ledger {

class Store;

enum class ViewKind : char { kVolume = 'v', kFlow = 'f', kDeal = 'd', kRound = 'r' };

// The source byte of a round row.
inline constexpr char kRoundContracts = 'c';
inline constexpr char kRoundDeals = 'd';

// Values of one row. Volume and flow rows use all five, deal and round rows
// the first two (count, amount_fen).
struct ViewValues {
  static constexpr size_t kVolumeFields = 5;
  static constexpr size_t kDealFields = 2;
  enum Field { kContracts = 0, kContractFen, kTechFen, kPaidFen, kTerminated };
  std::array<int64_t, kVolumeFields> v{};

  bool IsZero() const;
  // Checked: on int64 overflow returns false and leaves *this unchanged.
  [[nodiscard]] bool Add(const ViewValues& delta);
  std::string Encode(ViewKind kind) const;
  static StatusOr<ViewValues> Decode(ViewKind kind, std::string_view bytes);
};

// A decoded row key.
struct ViewKey {
  ViewKind kind = ViewKind::kVolume;
  std::string market;
  int32_t month = 0;              // YYYYMM
  uint8_t type = 0;               // volume: fb::ContractType
  uint8_t field = 0;              // volume: fb::TechField
  uint32_t seller_region = 0;     // flow
  uint32_t buyer_region = 0;      // flow
  uint8_t mode = 0;               // deal: fb::DealMode
  std::string round = {};         // round: the matchmaking id
  char source = kRoundContracts;  // round: kRoundContracts or kRoundDeals

  std::string Encode() const;
  static StatusOr<ViewKey> Decode(std::string_view bytes);
};

// The start of every row of `kind` for `market` from `month` on, for seeks.
std::string ViewKeyPrefix(ViewKind kind, std::string_view market, int32_t month);
// The same into *key (replacing what it held), reusing its memory.
void SetViewKeyPrefix(std::string* key, ViewKind kind, std::string_view market, int32_t month);

// Every row of the views in key order. Values are never all zero.
using ViewRows = std::map<std::string, ViewValues>;

// The rows of one page: last part of the row key -> values (never all zero).
// Pages are shared between the writer's and the readers' copies and never
// changed once made.
using ViewPage = std::map<std::string, ViewValues, std::less<>>;
using ViewPagePtr = std::shared_ptr<const ViewPage>;
// The whole projection in memory, page key -> page, in key order (which is
// also the order of the rows). Small: it grows with markets x months x types
// x fields and region pairs, not with entries.
using ViewPageMap = std::map<std::string, ViewPagePtr, std::less<>>;
// Pages changed by a batch: page key -> new page (null: the page is gone).
using ViewChanges = std::vector<std::pair<std::string, ViewPagePtr>>;

ViewPageMap PagesOf(const ViewRows& rows);

// Reads every page of the views column family into *pages. A page that does
// not decode is left out and reported as DataLoss after the rest are read,
// so a damaged view can still be rebuilt from the log.
Status LoadViewPages(const Store& store, ViewPageMap* pages);

// Puts every page into `batch`.
void PutViewPages(const ViewPageMap& pages, rocksdb::WriteBatch* batch,
                  rocksdb::ColumnFamilyHandle* views);

// Applies a batch's changes.
void ApplyViewChanges(const ViewChanges& changes, ViewPageMap* pages);

// The merge operator of the `views` column family: adds two pages of the
// key's kind row by row (see Storage above). Input that is not a page of
// that kind gives a value that is not one either, so the damage shows when
// the views are loaded (and `views rebuild` repairs it) instead of failing
// RocksDB's flushes and compactions.
std::shared_ptr<rocksdb::MergeOperator> NewViewPageMerge();

// Folds effects into rows, starting from `base` (null: empty), which it does
// not change.
class ViewAccumulator {
 public:
  explicit ViewAccumulator(const ViewPageMap* base) : base_(base) {}

  // Adds the deltas of one accepted entry of `market`. All or nothing: on
  // overflow (OutOfRange, naming the total) no row changes.
  Status Add(std::string_view market, const Effect& effect);

  // The pages changed since the last Flush, in key order, made immutable;
  // unless `batch` is null, also writes their changed rows into it (a
  // difference page merged into each, or the deletion of an emptied page).
  ViewChanges Flush(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* views);

  // Every row of the pages touched since the last Flush, encoded, in key
  // order. Without a base and before any Flush this is the whole view.
  std::map<std::string, std::string> EncodedRows() const;
  // The same rows, decoded.
  ViewRows Rows() const;

 private:
  ViewValues* Row(std::string_view key);

  const ViewPageMap* base_;
  std::string key_a_, key_b_;  // reused key buffers
  struct TouchedPage {
    ViewPage rows;                   // copied from `base` when first touched
    const ViewPage* base = nullptr;  // null: the page did not exist
  };
  // The pages touched since the last Flush; rows may be zero here.
  std::map<std::string, TouchedPage, std::less<>> pages_;
};

// SHA-256 of rows given in key order, encoded as above.
class ViewDigester {
 public:
  void AddRow(std::string_view key, std::string_view value);
  Hash Finish() { return sha_.Finish(); }

 private:
  Sha256Stream sha_;
};

Hash DigestViews(const ViewPageMap& pages);

}  // namespace ledger
