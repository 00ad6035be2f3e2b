#include "ledger/totals.h"

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "ledger/money.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

constexpr std::string_view kDimensionNames[] = {"market",        "month",        "type", "field",
                                                "seller_region", "buyer_region", "mode", "round"};

std::string MonthText(int32_t month) {
  char text[16];
  std::snprintf(text, sizeof(text), "%04d-%02d", month / 100, month % 100);
  return text;
}

std::string RegionText(uint32_t region) {
  char text[16];
  std::snprintf(text, sizeof(text), "%06u", region);
  return text;
}

// The group a row falls in: a key that sorts in the wanted order (raw
// numbers, big-endian) and the same key as text.
void GroupKey(const ViewKey& key, const std::vector<Dimension>& by, std::string* order,
              std::vector<std::string>* text) {
  for (Dimension dimension : by) {
    switch (dimension) {
      case Dimension::kMarket:
        // Market ids hold no NUL: the terminator keeps "xi" before "xian"
        // and ends the id where the next dimension begins.
        *order += key.market;
        order->push_back('\0');
        text->push_back(key.market);
        break;
      case Dimension::kMonth:
        PutBigEndian32(order, static_cast<uint32_t>(key.month));
        text->push_back(MonthText(key.month));
        break;
      case Dimension::kType:
        order->push_back(static_cast<char>(key.type));
        text->push_back(fb::EnumNameContractType(static_cast<fb::ContractType>(key.type)));
        break;
      case Dimension::kField:
        order->push_back(static_cast<char>(key.field));
        text->push_back(fb::EnumNameTechField(static_cast<fb::TechField>(key.field)));
        break;
      case Dimension::kSellerRegion:
        PutBigEndian32(order, key.seller_region);
        text->push_back(RegionText(key.seller_region));
        break;
      case Dimension::kBuyerRegion:
        PutBigEndian32(order, key.buyer_region);
        text->push_back(RegionText(key.buyer_region));
        break;
      case Dimension::kMode:
        order->push_back(static_cast<char>(key.mode));
        text->push_back(fb::EnumNameDealMode(static_cast<fb::DealMode>(key.mode)));
        break;
      case Dimension::kRound:
        // Round ids are printable ASCII: the terminator sorts them like
        // market ids.
        *order += key.round;
        order->push_back('\0');
        text->push_back(key.round);
        break;
    }
  }
}

StatusOr<ViewKind> KindFor(const TotalsQuery& query) {
  bool region = false;
  bool type_or_field = false;
  bool mode = false;
  bool round = false;
  for (Dimension dimension : query.by) {
    region |= dimension == Dimension::kSellerRegion || dimension == Dimension::kBuyerRegion;
    type_or_field |= dimension == Dimension::kType || dimension == Dimension::kField;
    mode |= dimension == Dimension::kMode;
    round |= dimension == Dimension::kRound;
  }
  if (round) {
    if (region || type_or_field || mode) {
      return Status::InvalidArgument(
          "--by: rounds are grouped by market, month and round only (round rows keep no type, "
          "field, region or mode)");
    }
    return ViewKind::kRound;
  }
  if (query.deals) {
    if (region || type_or_field) {
      return Status::InvalidArgument(
          "--by: deals are grouped by market, month, mode or round only");
    }
    return ViewKind::kDeal;
  }
  if (mode) return Status::InvalidArgument("--by: mode groups deals; add --deals");
  if (region && type_or_field) {
    return Status::InvalidArgument(
        "--by: a region cannot be combined with type or field (flows are kept by market, month "
        "and region pair)");
  }
  return region ? ViewKind::kFlow : ViewKind::kVolume;
}

const char* const kContractColumns[] = {"contracts", "contract_amount", "tech_amount", "payments",
                                        "terminated"};
const char* const kDealColumns[] = {"deals", "amount"};
// Which values are money, by column; round rows have the first two columns
// of contracts or deals.
constexpr bool kContractMoney[] = {false, true, true, true, false};
constexpr bool kDealMoney[] = {false, true};

size_t ColumnCount(const TotalsResult& result) { return result.deals || result.rounds ? 2 : 5; }
const char* ColumnName(const TotalsResult& result, size_t i) {
  return result.deals ? kDealColumns[i] : kContractColumns[i];
}
bool IsMoney(const TotalsResult& result, size_t i) {
  return result.deals ? kDealMoney[i] : kContractMoney[i];
}

}  // namespace

StatusOr<Dimension> ParseDimension(std::string_view name) {
  for (size_t i = 0; i < std::size(kDimensionNames); ++i) {
    if (kDimensionNames[i] == name) return static_cast<Dimension>(i);
  }
  return Status::InvalidArgument("--by: unknown dimension \"" + std::string(name) +
                                 "\" (want market, month, type, field, seller_region, "
                                 "buyer_region, mode or round)");
}

std::string_view DimensionName(Dimension dimension) {
  return kDimensionNames[static_cast<size_t>(dimension)];
}

StatusOr<int32_t> ParseMonth(std::string_view text) {
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (text.size() != 7 || text[4] != '-' || !digits(text.substr(0, 4)) || !digits(text.substr(5))) {
    return Status::InvalidArgument("want a month as YYYY-MM, got \"" + std::string(text) + "\"");
  }
  int32_t year = std::stoi(std::string(text.substr(0, 4)));
  int32_t month = std::stoi(std::string(text.substr(5)));
  if (month < 1 || month > 12) {
    return Status::InvalidArgument("month " + std::to_string(month) + " is not 01..12");
  }
  return year * 100 + month;
}

StatusOr<TotalsResult> QueryTotals(const ViewRows& rows, const std::vector<std::string>& held,
                                   const TotalsQuery& query) {
  return QueryTotals(PagesOf(rows), held, query);
}

StatusOr<TotalsResult> QueryTotals(const ViewPageMap& pages, const std::vector<std::string>& held,
                                   const TotalsQuery& query) {
  LEDGER_ASSIGN_OR_RETURN(ViewKind kind, KindFor(query));
  if (query.from_month > query.to_month) {
    return Status::InvalidArgument("--from is after --to");
  }
  std::vector<std::string> markets = query.markets.empty() ? held : query.markets;
  std::sort(markets.begin(), markets.end());
  markets.erase(std::unique(markets.begin(), markets.end()), markets.end());
  for (const std::string& market : markets) {
    if (std::find(held.begin(), held.end(), market) == held.end()) {
      return Status::NotFound("--market: this node holds no log of market \"" + market + "\"");
    }
  }

  TotalsResult result;
  result.by = query.by;
  result.deals = query.deals;
  result.rounds = kind == ViewKind::kRound;
  const char round_source = query.deals ? kRoundDeals : kRoundContracts;
  std::map<std::string, TotalsRow> groups;
  for (const std::string& market : markets) {
    std::string prefix = ViewKeyPrefix(kind, market, 0).substr(0, 2 + market.size());
    std::string row_key;
    for (auto it = pages.lower_bound(ViewKeyPrefix(kind, market, query.from_month));
         it != pages.end() && std::string_view(it->first).starts_with(prefix); ++it) {
      if (it->first.size() < prefix.size() + 4) return Status::DataLoss("views: bad page key");
      int32_t month =
          static_cast<int32_t>(GetBigEndian32(std::string_view(it->first).substr(prefix.size())));
      if (month > query.to_month) break;  // pages are in month order
      for (const auto& [suffix, values] : *it->second) {
        row_key = it->first + suffix;
        LEDGER_ASSIGN_OR_RETURN(ViewKey key, ViewKey::Decode(row_key));
        if (result.rounds && key.source != round_source) continue;
        std::string order;
        std::vector<std::string> text;
        GroupKey(key, query.by, &order, &text);
        auto [group, inserted] = groups.try_emplace(order);
        if (inserted) group->second.keys = std::move(text);
        if (!group->second.values.Add(values) || !result.total.Add(values)) {
          return Status::OutOfRange("totals: a sum overflows int64 fen");
        }
      }
    }
  }
  result.rows.reserve(groups.size());
  for (auto& [order, row] : groups) result.rows.push_back(std::move(row));
  return result;
}

StatusOr<Unit> ParseUnit(std::string_view name) {
  if (name == "yuan") return Unit::kYuan;
  if (name == "wan") return Unit::kWan;
  if (name == "yi") return Unit::kYi;
  return Status::InvalidArgument("--unit: want yuan, wan or yi, got \"" + std::string(name) + "\"");
}

std::string FormatAmount(int64_t fen, Unit unit) {
  if (unit == Unit::kYuan) return FormatYuan(fen);
  // fen per shown unit of the last decimal: 1 wan = 10^6 fen, shown to 0.01
  // (10^4 fen); 1 yi = 10^10 fen, shown to 0.0001 (10^6 fen).
  const uint64_t step = unit == Unit::kWan ? 10000 : 1000000;
  const int decimals = unit == Unit::kWan ? 2 : 4;
  const uint64_t per_unit = unit == Unit::kWan ? 1000000 : 10000000000;
  bool negative = fen < 0;
  // |fen| as unsigned so INT64_MIN is fine.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  uint64_t steps = magnitude / step + (magnitude % step >= step / 2 ? 1 : 0);
  uint64_t steps_per_unit = per_unit / step;
  std::string fraction = std::to_string(steps % steps_per_unit);
  fraction.insert(0, decimals - fraction.size(), '0');
  std::string text = std::to_string(steps / steps_per_unit) + "." + fraction;
  return negative && steps != 0 ? "-" + text : text;
}

std::string TotalsTable(const TotalsResult& result, Unit unit) {
  const char* unit_name = unit == Unit::kYuan ? "元" : unit == Unit::kWan ? "万元" : "亿元";
  std::vector<std::string> header;
  for (Dimension dimension : result.by) header.emplace_back(DimensionName(dimension));
  size_t key_columns = header.size();
  for (size_t i = 0; i < ColumnCount(result); ++i) {
    header.push_back(std::string(ColumnName(result, i)) +
                     (IsMoney(result, i) ? std::string("(") + unit_name + ")" : ""));
  }
  std::vector<std::vector<std::string>> lines;
  auto add_line = [&](std::vector<std::string> keys, const ViewValues& values) {
    for (size_t i = 0; i < ColumnCount(result); ++i) {
      keys.push_back(IsMoney(result, i) ? FormatAmount(values.v[i], unit)
                                        : std::to_string(values.v[i]));
    }
    lines.push_back(std::move(keys));
  };
  for (const TotalsRow& row : result.rows) add_line(row.keys, row.values);
  std::vector<std::string> total_keys(key_columns);
  if (key_columns > 0) total_keys[0] = "total";
  add_line(total_keys, result.total);

  // Display width: CJK characters in headers take two columns, and UTF-8
  // continuation bytes none.
  auto width = [](const std::string& text) {
    size_t columns = 0;
    for (unsigned char c : text) {
      if ((c & 0xC0) == 0x80) continue;
      columns += c >= 0xE0 ? 2 : 1;
    }
    return columns;
  };
  std::vector<size_t> widths(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    widths[c] = width(header[c]);
    for (const auto& line : lines) widths[c] = std::max(widths[c], width(line[c]));
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      std::string pad(widths[c] - width(cells[c]), ' ');
      if (c > 0) line += "  ";
      // Keys align left, numbers right.
      line += c < key_columns ? cells[c] + pad : pad + cells[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header);
  for (size_t i = 0; i + 1 < lines.size(); ++i) emit(lines[i]);
  size_t rule = 0;
  for (size_t w : widths) rule += w + 2;
  out += std::string(rule - 2, '-') + "\n";
  emit(lines.back());
  return out;
}

std::string TotalsJson(const TotalsResult& result) {
  auto values_json = [&](nlohmann::ordered_json* object, const ViewValues& values) {
    for (size_t i = 0; i < ColumnCount(result); ++i) {
      if (IsMoney(result, i)) {
        (*object)[ColumnName(result, i)] = FormatYuan(values.v[i]);
      } else {
        (*object)[ColumnName(result, i)] = values.v[i];
      }
    }
  };
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const TotalsRow& row : result.rows) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (size_t i = 0; i < result.by.size(); ++i) {
      object[std::string(DimensionName(result.by[i]))] = row.keys[i];
    }
    values_json(&object, row.values);
    rows.push_back(std::move(object));
  }
  nlohmann::ordered_json total = nlohmann::ordered_json::object();
  values_json(&total, result.total);
  nlohmann::ordered_json out;
  out["rows"] = std::move(rows);
  out["total"] = std::move(total);
  out["digest"] = HexEncode(AsBytes(result.digest));
  return out.dump();
}

}  // namespace ledger
