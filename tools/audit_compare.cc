// Comparing recomputed answers with published ones (CompareTotals in
// audit_fold.h).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/audit_fold.h"
#include "tools/audit_rows.h"

namespace ledger::audit {
namespace {

// ---- Comparing answers. ----

struct AnswerShape {
  const char* name;  // "volume", "flows", "deals"
  std::vector<const char*> keys;
  const char* const* columns;
  size_t column_count;
};

const AnswerShape kVolumeShape = {
    "volume", {"market", "month", "type", "field"}, kContractColumns, kContractColumnCount};
const AnswerShape kFlowShape = {"flows",
                                {"market", "month", "seller_region", "buyer_region"},
                                kContractColumns,
                                kContractColumnCount};
const AnswerShape kDealShape = {
    "deals", {"market", "month", "mode"}, kDealColumns, kDealColumnCount};
const AnswerShape kRoundShape = {
    "rounds", {"market", "month", "round"}, kContractColumns, kDealColumnCount};
const AnswerShape kRoundDealShape = {
    "round_deals", {"market", "month", "round"}, kDealColumns, kDealColumnCount};

std::string ValueText(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// Equal JSON values of the same kind (a count as a number, money as text).
bool SameValue(const nlohmann::json& expected, const nlohmann::json& found) {
  if (expected.is_string()) return found.is_string() && expected == found;
  if (expected.is_number_integer()) return found.is_number_integer() && expected == found;
  return expected == found;
}

std::string RowName(const AnswerShape& shape, const std::vector<std::string>& keys) {
  std::string name = std::string(shape.name) + " row";
  for (size_t i = 0; i < keys.size(); ++i) name += " " + std::string(shape.keys[i]) + "=" + keys[i];
  return name;
}

std::string ValuesText(const AnswerShape& shape, const nlohmann::json& object) {
  std::string text;
  for (size_t i = 0; i < shape.column_count; ++i) {
    const char* column = shape.columns[i];
    text += (i > 0 ? " " : "") + std::string(column) + "=" +
            (object.contains(column) ? ValueText(object[column]) : "(none)");
  }
  return text;
}

// The first value of `found` that differs from `expected`, as a message
// about `what`; members other than keys and values are differences too.
std::optional<std::string> CompareValues(const AnswerShape& shape, const std::string& what,
                                         const nlohmann::json& expected,
                                         const nlohmann::json& found) {
  for (size_t i = 0; i < shape.column_count; ++i) {
    const char* column = shape.columns[i];
    if (!found.contains(column)) {
      return what + ": " + column + " expected " + ValueText(expected[column]) +
             " (recomputed), found nothing (published)";
    }
    if (!SameValue(expected[column], found[column])) {
      return what + ": " + column + " expected " + ValueText(expected[column]) +
             " (recomputed), found " +
             (expected[column].type() == found[column].type() ? ValueText(found[column])
                                                              : found[column].dump()) +
             " (published)";
    }
  }
  for (const auto& [member, value] : found.items()) {
    if (!expected.contains(member)) {
      return what + ": unexpected member \"" + member + "\" (published " + value.dump() + ")";
    }
  }
  return std::nullopt;
}

// The published rows by their keys, or the first malformed or repeated row.
std::optional<std::string> IndexRows(const AnswerShape& shape, const nlohmann::json& rows,
                                     std::map<std::vector<std::string>, size_t>* index) {
  for (size_t r = 0; r < rows.size(); ++r) {
    const nlohmann::json& row = rows[r];
    if (!row.is_object()) {
      return std::string(shape.name) + ": published row " + std::to_string(r) + " is not an object";
    }
    std::vector<std::string> keys;
    for (const char* key : shape.keys) {
      if (!row.contains(key) || !row[key].is_string()) {
        return std::string(shape.name) + ": published row " + std::to_string(r) +
               " has no text member \"" + key + "\"";
      }
      keys.push_back(row[key].get<std::string>());
    }
    auto [at, inserted] = index->emplace(keys, r);
    if (!inserted) {
      return RowName(shape, keys) + ": published twice (rows " + std::to_string(at->second) +
             " and " + std::to_string(r) + ")";
    }
  }
  return std::nullopt;
}

std::optional<std::string> CompareAnswer(const AnswerShape& shape, const nlohmann::json& expected,
                                         const nlohmann::json& found) {
  const std::string name = shape.name;
  if (!found.is_object() || !found.contains("rows") || !found["rows"].is_array()) {
    return name + ": the published answer has no \"rows\" array";
  }
  if (!found.contains("total") || !found["total"].is_object()) {
    return name + ": the published answer has no \"total\" object";
  }
  std::map<std::vector<std::string>, size_t> published;
  if (auto bad = IndexRows(shape, found["rows"], &published)) return bad;
  std::vector<bool> matched(found["rows"].size(), false);
  for (const nlohmann::json& row : expected["rows"]) {
    std::vector<std::string> keys;
    for (const char* key : shape.keys) keys.push_back(row[key].get<std::string>());
    auto at = published.find(keys);
    if (at == published.end()) {
      return RowName(shape, keys) + ": expected " + ValuesText(shape, row) +
             " (recomputed), found no such row (published)";
    }
    matched[at->second] = true;
    if (auto bad = CompareValues(shape, RowName(shape, keys), row, found["rows"][at->second])) {
      return bad;
    }
  }
  for (const auto& [keys, r] : published) {
    if (matched[r]) continue;
    return RowName(shape, keys) +
           ": expected no such row (recomputed: the log gives none), found " +
           ValuesText(shape, found["rows"][r]) + " (published)";
  }
  if (auto bad = CompareValues(shape, name + " total", expected["total"], found["total"])) {
    return bad;
  }
  if (found.contains("digest") && !SameValue(expected["digest"], found["digest"])) {
    return name + " digest: expected " + ValueText(expected["digest"]) +
           " (recomputed view digest), found " + ValueText(found["digest"]) + " (published)";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> CompareTotals(const std::vector<const Fold*>& folds,
                                         const Published& published) {
  StatusOr<Published> expected = RecomputeTotals(folds);
  if (!expected.ok()) return "recomputing the totals: " + expected.status().ToString();
  if (auto bad = CompareAnswer(kVolumeShape, expected->volume, published.volume)) return bad;
  if (auto bad = CompareAnswer(kFlowShape, expected->flows, published.flows)) return bad;
  if (auto bad = CompareAnswer(kDealShape, expected->deals, published.deals)) return bad;
  if (auto bad = CompareAnswer(kRoundShape, expected->rounds, published.rounds)) return bad;
  return CompareAnswer(kRoundDealShape, expected->round_deals, published.round_deals);
}

}  // namespace ledger::audit
