// Totals: answers to "how many contracts, for how much, paid how much" by
// market, month, contract type, technical field and region, read from the
// view rows (views.h) rather than by scanning the log.
//
// Contract totals come from volume rows when grouped by market, month, type
// or field, and from flow rows when grouped by seller or buyer region; the
// two hold the same deltas under different keys, so they agree on every
// (market, month) total. Deal totals (--deals) come from deal rows, grouped
// by market, month or mode. Grouping by round (the matchmaking id) reads the
// round rows: what each 对接会 produced as registered, contracts or (with
// --deals) deals, by market, month and round.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/encoding.h"
#include "ledger/status.h"
#include "ledger/views.h"

namespace ledger {

enum class Dimension {
  kMarket,
  kMonth,
  kType,
  kField,
  kSellerRegion,
  kBuyerRegion,
  kMode,
  kRound,
};

// "market", "month", "type", "field", "seller_region", "buyer_region", "mode",
// "round".
StatusOr<Dimension> ParseDimension(std::string_view name);
std::string_view DimensionName(Dimension dimension);

// "2021-09" -> 202109.
StatusOr<int32_t> ParseMonth(std::string_view yyyy_mm);

struct TotalsQuery {
  std::vector<std::string> markets;  // empty: every market held
  int32_t from_month = 0;            // YYYYMM, inclusive
  int32_t to_month = 999912;         // YYYYMM, inclusive
  std::vector<Dimension> by;         // group by these, in this order
  bool deals = false;                // transfer deals instead of contracts
};

struct TotalsRow {
  std::vector<std::string> keys;  // one per TotalsQuery::by, as text
  ViewValues values;
};

struct TotalsResult {
  std::vector<Dimension> by;
  bool deals = false;
  bool rounds = false;          // read from round rows: a count and an amount
  std::vector<TotalsRow> rows;  // ordered by key (markets by id, months in time)
  ViewValues total;
  Hash digest{};  // of the views the answer was read from (set by Log::Totals)
};

// Answers `query` from the views. `held` lists the markets whose logs the store holds; asking for
// another is NotFound. Grouping that the rows cannot answer (a region together with type or field,
// or a deal dimension with contracts) is InvalidArgument. A sum that would overflow int64 fen is
// OutOfRange.
StatusOr<TotalsResult> QueryTotals(const ViewPageMap& pages, const std::vector<std::string>& held,
                                   const TotalsQuery& query);
// The same over rows (PagesOf(rows)).
StatusOr<TotalsResult> QueryTotals(const ViewRows& rows, const std::vector<std::string>& held,
                                   const TotalsQuery& query);

// How amounts are shown in tables: 元, 万元 (10^4 yuan) or 亿元 (10^8 yuan).
enum class Unit { kYuan, kWan, kYi };
StatusOr<Unit> ParseUnit(std::string_view name);

// fen in the unit, rounded half away from zero: yuan with 2 decimals
// ("1250000.00"), wan with 2 ("125.00"), yi with 4 ("2.2000").
std::string FormatAmount(int64_t fen, Unit unit);

// An aligned text table, one line per row and the total last.
std::string TotalsTable(const TotalsResult& result, Unit unit);

// {"rows":[{<by keys>, "contracts", "contract_amount", "tech_amount",
// "payments", "terminated"}], "total":{...}, "digest":hex}; for deals the
// values are "deals" and "amount", for contracts by round "contracts" and
// "contract_amount". Money is decimal yuan text. One line.
std::string TotalsJson(const TotalsResult& result);

}  // namespace ledger
