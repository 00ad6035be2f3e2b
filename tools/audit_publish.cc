// The answers of GET /v1/totals and the view digest, from the folds' rows
// (RecomputeTotals in audit_fold.h).
#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/encoding.h"
#include "ledger/money.h"
#include "schemas/entry_generated.h"
#include "tools/audit_fold.h"
#include "tools/audit_rows.h"

namespace ledger::audit {
namespace {

// ---- Answers. ----

// One /v1/totals answer being built: rows in order, their total, and the
// encoded view rows for the digest.
class Answer {
 public:
  Answer(const char* const* columns, const bool* money, size_t column_count)
      : columns_(columns), money_(money), column_count_(column_count) {}

  // Adds a row unless its values are all zero. `keys` holds the key members.
  Status AddRow(nlohmann::json keys, const Values& values) {
    if (std::all_of(values.begin(), values.begin() + column_count_,
                    [](int64_t value) { return value == 0; })) {
      return Status::Ok();
    }
    Values total;
    for (size_t i = 0; i < column_count_; ++i) {
      if (!AddFen(total_[i], values[i], &total[i])) {
        return Status::OutOfRange(std::string("totals: the total of ") + columns_[i] +
                                  " overflows int64");
      }
    }
    total_ = total;
    PutValues(&keys, values);
    rows_.push_back(std::move(keys));
    return Status::Ok();
  }

  nlohmann::json Finish(const std::string& digest_hex) {
    nlohmann::json total = nlohmann::json::object();
    PutValues(&total, total_);
    return {{"rows", std::move(rows_)}, {"total", std::move(total)}, {"digest", digest_hex}};
  }

 private:
  void PutValues(nlohmann::json* object, const Values& values) const {
    for (size_t i = 0; i < column_count_; ++i) {
      if (money_[i]) {
        (*object)[columns_[i]] = FormatYuan(values[i]);
      } else {
        (*object)[columns_[i]] = values[i];
      }
    }
  }

  const char* const* columns_;
  const bool* money_;
  size_t column_count_;
  nlohmann::json rows_ = nlohmann::json::array();
  Values total_{};
};

// The view rows as views.h lays them out, for the digest: key -> value.
class DigestRows {
 public:
  // `kind` 'v', 'f', 'd' or 'r'; `suffix` what follows the month.
  void Add(char kind, const std::string& market, uint32_t month, std::string_view suffix,
           const Values& values, size_t column_count) {
    if (std::all_of(values.begin(), values.begin() + column_count,
                    [](int64_t value) { return value == 0; })) {
      return;
    }
    std::string key(1, kind);
    key.push_back(static_cast<char>(market.size()));
    key += market;
    PutBigEndian32(&key, month);
    key += suffix;
    std::string value;
    for (size_t i = 0; i < column_count; ++i) {
      PutBigEndian64(&value, static_cast<uint64_t>(values[i]));
    }
    rows_.emplace(std::move(key), std::move(value));
  }

  // SHA-256 over the rows in key order, each as key_length(4) key
  // value_length(4) value.
  std::string DigestHex() const {
    Sha256Stream sha;
    for (const auto& [key, value] : rows_) {
      std::string length;
      PutBigEndian32(&length, static_cast<uint32_t>(key.size()));
      sha.Update(length);
      sha.Update(key);
      length.clear();
      PutBigEndian32(&length, static_cast<uint32_t>(value.size()));
      sha.Update(length);
      sha.Update(value);
    }
    return HexEncode(sha.Finish());
  }

 private:
  std::map<std::string, std::string> rows_;
};

// The answers /v1/totals publishes, being built.
struct Answers {
  Answer volume{kContractColumns, kContractMoney, kContractColumnCount};
  Answer flows{kContractColumns, kContractMoney, kContractColumnCount};
  Answer deals{kDealColumns, kDealMoney, kDealColumnCount};
  // Round rows have two columns: the first two of contracts, or of deals.
  Answer rounds{kContractColumns, kContractMoney, kDealColumnCount};
  Answer round_deals{kDealColumns, kDealMoney, kDealColumnCount};
};

// Adds one market's rows to the answers and the digest rows.
Status AddMarket(const Fold& market, Answers* answers, DigestRows* digest) {
  Answer* volume = &answers->volume;
  Answer* flows = &answers->flows;
  Answer* deals = &answers->deals;
  const std::string& id = market.market();
  for (const auto& [key, values] : market.rows().volume.Sorted()) {
    const uint32_t month = static_cast<uint32_t>(key >> 16);
    const auto type = static_cast<uint8_t>(key >> 8);
    const auto field = static_cast<uint8_t>(key);
    LEDGER_RETURN_IF_ERROR(
        volume->AddRow({{"market", id},
                        {"month", MonthText(static_cast<int32_t>(month))},
                        {"type", fb::EnumNameContractType(static_cast<fb::ContractType>(type))},
                        {"field", fb::EnumNameTechField(static_cast<fb::TechField>(field))}},
                       values));
    digest->Add('v', id, month, std::string{static_cast<char>(type), static_cast<char>(field)},
                values, kContractColumnCount);
  }
  for (const auto& [key, values] : market.rows().flow.Sorted()) {
    LEDGER_RETURN_IF_ERROR(flows->AddRow({{"market", id},
                                          {"month", MonthText(static_cast<int32_t>(key.month))},
                                          {"seller_region", RegionText(key.seller_region)},
                                          {"buyer_region", RegionText(key.buyer_region)}},
                                         values));
    std::string regions;
    PutBigEndian32(&regions, key.seller_region);
    PutBigEndian32(&regions, key.buyer_region);
    digest->Add('f', id, key.month, regions, values, kContractColumnCount);
  }
  for (const auto& [key, values] : market.rows().deal.Sorted()) {
    const uint32_t month = static_cast<uint32_t>(key >> 8);
    const auto mode = static_cast<uint8_t>(key);
    LEDGER_RETURN_IF_ERROR(
        deals->AddRow({{"market", id},
                       {"month", MonthText(static_cast<int32_t>(month))},
                       {"mode", fb::EnumNameDealMode(static_cast<fb::DealMode>(mode))}},
                      values));
    digest->Add('d', id, month, std::string(1, static_cast<char>(mode)), values, kDealColumnCount);
  }
  for (const auto& [key, values] : market.rows().round) {
    const auto& [month, round, source] = key;
    Answer* answer = source == 'c' ? &answers->rounds : &answers->round_deals;
    LEDGER_RETURN_IF_ERROR(answer->AddRow(
        {{"market", id}, {"month", MonthText(static_cast<int32_t>(month))}, {"round", round}},
        values));
    // Ids are at most 128 bytes (ledger/validate.h), so the length fits a byte.
    std::string suffix(1, static_cast<char>(round.size()));
    suffix += round;
    suffix.push_back(source);
    digest->Add('r', id, month, suffix, values, kDealColumnCount);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Published> RecomputeTotals(const std::vector<const Fold*>& folds) {
  std::vector<const Fold*> markets = folds;
  std::sort(markets.begin(), markets.end(),
            [](const Fold* a, const Fold* b) { return a->market() < b->market(); });
  for (size_t i = 0; i < markets.size(); ++i) {
    // Row keys hold the id's length in one byte (views.h).
    if (markets[i]->market().size() > 255) {
      return Status::InvalidArgument("market id longer than 255 bytes: " + markets[i]->market());
    }
    if (i > 0 && markets[i]->market() == markets[i - 1]->market()) {
      return Status::InvalidArgument("market " + markets[i]->market() + " folded twice");
    }
  }
  Answers answers;
  DigestRows digest;
  for (const Fold* market : markets) {
    LEDGER_RETURN_IF_ERROR(AddMarket(*market, &answers, &digest));
  }
  const std::string digest_hex = digest.DigestHex();
  Published published;
  published.volume = answers.volume.Finish(digest_hex);
  published.flows = answers.flows.Finish(digest_hex);
  published.deals = answers.deals.Finish(digest_hex);
  published.rounds = answers.rounds.Finish(digest_hex);
  published.round_deals = answers.round_deals.Finish(digest_hex);
  return published;
}

}  // namespace ledger::audit
