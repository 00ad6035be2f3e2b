#include "ledger/views.h"

#include <initializer_list>

#include "ledger/civil_date.h"
#include "ledger/money.h"
#include "ledger/view_format.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

using view_format::FieldCount;
using view_format::PageOf;
using view_format::ValidKind;

const char* const kFieldNames[ViewValues::kVolumeFields] = {
    "contracts", "contract_amount", "tech_amount", "payments", "terminated"};

ViewValues Delta(std::initializer_list<int64_t> values) {
  ViewValues delta;
  size_t i = 0;
  for (int64_t value : values) delta.v[i++] = value;
  return delta;
}

}  // namespace

bool ViewValues::IsZero() const {
  for (int64_t value : v) {
    if (value != 0) return false;
  }
  return true;
}

bool ViewValues::Add(const ViewValues& delta) {
  ViewValues sum;
  for (size_t i = 0; i < v.size(); ++i) {
    if (__builtin_add_overflow(v[i], delta.v[i], &sum.v[i])) return false;
  }
  *this = sum;
  return true;
}

std::string ViewValues::Encode(ViewKind kind) const {
  std::string out;
  out.reserve(FieldCount(kind) * 8);
  for (size_t i = 0; i < FieldCount(kind); ++i) PutBigEndian64(&out, static_cast<uint64_t>(v[i]));
  return out;
}

StatusOr<ViewValues> ViewValues::Decode(ViewKind kind, std::string_view bytes) {
  if (bytes.size() != FieldCount(kind) * 8) return Status::DataLoss("view row: bad value size");
  ViewValues values;
  for (size_t i = 0; i < FieldCount(kind); ++i) {
    values.v[i] = static_cast<int64_t>(GetBigEndian64(bytes.substr(i * 8)));
  }
  return values;
}

void SetViewKeyPrefix(std::string* key, ViewKind kind, std::string_view market, int32_t month) {
  key->clear();
  key->push_back(static_cast<char>(kind));
  key->push_back(static_cast<char>(market.size()));
  key->append(market);
  PutBigEndian32(key, static_cast<uint32_t>(month));
}

std::string ViewKeyPrefix(ViewKind kind, std::string_view market, int32_t month) {
  std::string key;
  SetViewKeyPrefix(&key, kind, market, month);
  return key;
}

std::string ViewKey::Encode() const {
  std::string key = ViewKeyPrefix(kind, market, month);
  switch (kind) {
    case ViewKind::kVolume:
      key.push_back(static_cast<char>(type));
      key.push_back(static_cast<char>(field));
      break;
    case ViewKind::kFlow:
      PutBigEndian32(&key, seller_region);
      PutBigEndian32(&key, buyer_region);
      break;
    case ViewKind::kDeal:
      key.push_back(static_cast<char>(mode));
      break;
    case ViewKind::kRound:
      key.push_back(static_cast<char>(round.size()));
      key += round;
      key.push_back(source);
      break;
  }
  return key;
}

StatusOr<ViewKey> ViewKey::Decode(std::string_view bytes) {
  auto bad = [] { return Status::DataLoss("view row: bad key"); };
  if (bytes.size() < 2 || !ValidKind(bytes[0])) return bad();
  ViewKey key;
  key.kind = static_cast<ViewKind>(bytes[0]);
  size_t market_size = static_cast<uint8_t>(bytes[1]);
  size_t tail = key.kind == ViewKind::kVolume ? 2 : key.kind == ViewKind::kFlow ? 8 : 1;
  if (key.kind == ViewKind::kRound) {
    // k round source: the round's length byte follows the month.
    if (bytes.size() < 2 + market_size + 4 + 1) return bad();
    size_t round_size = static_cast<uint8_t>(bytes[2 + market_size + 4]);
    if (round_size == 0) return bad();
    tail = 1 + round_size + 1;
  }
  if (bytes.size() != 2 + market_size + 4 + tail) return bad();
  key.market = std::string(bytes.substr(2, market_size));
  std::string_view rest = bytes.substr(2 + market_size);
  key.month = static_cast<int32_t>(GetBigEndian32(rest));
  rest.remove_prefix(4);
  switch (key.kind) {
    case ViewKind::kVolume:
      key.type = static_cast<uint8_t>(rest[0]);
      key.field = static_cast<uint8_t>(rest[1]);
      break;
    case ViewKind::kFlow:
      key.seller_region = GetBigEndian32(rest);
      key.buyer_region = GetBigEndian32(rest.substr(4));
      break;
    case ViewKind::kDeal:
      key.mode = static_cast<uint8_t>(rest[0]);
      break;
    case ViewKind::kRound:
      key.round = std::string(rest.substr(1, rest.size() - 2));
      key.source = rest.back();
      if (key.source != kRoundContracts && key.source != kRoundDeals) return bad();
      break;
  }
  return key;
}

ViewValues* ViewAccumulator::Row(std::string_view key) {
  std::string_view page_key = PageOf(key);
  auto page = pages_.find(page_key);
  if (page == pages_.end()) {
    TouchedPage touched;
    if (base_ != nullptr) {
      auto stored = base_->find(page_key);
      if (stored != base_->end()) {
        touched.rows = *stored->second;
        touched.base = stored->second.get();
      }
    }
    page = pages_.emplace(std::string(page_key), std::move(touched)).first;
  }
  ViewPage& rows = page->second.rows;
  std::string_view suffix = key.substr(page_key.size());
  auto row = rows.find(suffix);
  if (row == rows.end()) row = rows.emplace(std::string(suffix), ViewValues()).first;
  return &row->second;
}

Status ViewAccumulator::Add(std::string_view market, const Effect& effect) {
  const ContractState& before = effect.before;
  const ContractState& after = effect.after;
  ViewValues delta;
  const int32_t month = MonthOf(effect.date);
  bool contract_event = true;
  switch (effect.event) {
    case fb::Event::ContractRegistered:
      delta = Delta({1, after.contract_fen, after.tech_fen, 0, 0});
      break;
    case fb::Event::ContractAmended: {
      int64_t contract = 0;
      int64_t tech = 0;
      if (!SubtractFen(after.contract_fen, before.contract_fen, &contract) ||
          !SubtractFen(after.tech_fen, before.tech_fen, &tech)) {
        return Status::OutOfRange("views: amendment difference overflows");
      }
      delta = Delta({0, contract, tech, 0, 0});
      break;
    }
    case fb::Event::ContractTerminated:
      delta = Delta({-1, -before.contract_fen, -before.tech_fen, 0, 1});
      break;
    case fb::Event::PaymentReceived:
      delta = Delta({0, 0, 0, effect.amount_fen, 0});
      break;
    case fb::Event::TransferDealSigned:
      contract_event = false;
      break;
    default:
      return Status::Ok();  // no view counts it
  }
  // Checked before any row changes, so the entry is all or nothing.
  ViewValues* round_row = nullptr;
  ViewValues new_round;
  if (!effect.matchmaking_id.empty()) {
    const bool deal = !contract_event;
    SetViewKeyPrefix(&key_a_, ViewKind::kRound, market, month);
    key_a_.push_back(static_cast<char>(effect.matchmaking_id.size()));
    key_a_ += effect.matchmaking_id;
    key_a_.push_back(deal ? kRoundDeals : kRoundContracts);
    round_row = Row(key_a_);
    new_round = *round_row;
    if (!new_round.Add(Delta({1, deal ? effect.amount_fen : after.contract_fen}))) {
      return Status::OutOfRange("views: round totals of " + std::string(effect.matchmaking_id) +
                                " in " + std::string(market) + " overflow");
    }
  }

  if (!contract_event) {
    // The key as ViewKey::Encode makes it, built in place (this runs for
    // every entry).
    SetViewKeyPrefix(&key_a_, ViewKind::kDeal, market, month);
    key_a_.push_back(static_cast<char>(effect.mode));
    ViewValues* deal_row = Row(key_a_);
    ViewValues new_deal = *deal_row;
    if (!new_deal.Add(Delta({1, effect.amount_fen}))) {
      return Status::OutOfRange("views: deal totals of " + std::string(market) + " overflow");
    }
    *deal_row = new_deal;
    if (round_row != nullptr) *round_row = new_round;
    return Status::Ok();
  }
  SetViewKeyPrefix(&key_a_, ViewKind::kVolume, market, month);
  key_a_.push_back(static_cast<char>(after.type));
  key_a_.push_back(static_cast<char>(after.field));
  SetViewKeyPrefix(&key_b_, ViewKind::kFlow, market, month);
  PutBigEndian32(&key_b_, after.seller_region);
  PutBigEndian32(&key_b_, after.buyer_region);
  ViewValues* volume_row = Row(key_a_);
  ViewValues* flow_row = Row(key_b_);
  ViewValues new_volume = *volume_row;
  ViewValues new_flow = *flow_row;
  if (!new_volume.Add(delta) || !new_flow.Add(delta)) {
    for (size_t i = 0; i < delta.v.size(); ++i) {
      int64_t ignored = 0;
      if (__builtin_add_overflow(volume_row->v[i], delta.v[i], &ignored) ||
          __builtin_add_overflow(flow_row->v[i], delta.v[i], &ignored)) {
        return Status::OutOfRange("views: total " + std::string(kFieldNames[i]) + " of " +
                                  std::string(market) + " would overflow");
      }
    }
  }
  *volume_row = new_volume;
  *flow_row = new_flow;
  if (round_row != nullptr) *round_row = new_round;
  return Status::Ok();
}

ViewRows ViewAccumulator::Rows() const {
  ViewRows rows;
  for (const auto& [page, touched] : pages_) {
    for (const auto& [suffix, values] : touched.rows) {
      if (!values.IsZero()) rows.emplace(page + suffix, values);
    }
  }
  return rows;
}

std::map<std::string, std::string> ViewAccumulator::EncodedRows() const {
  std::map<std::string, std::string> rows;
  for (const auto& [key, values] : Rows()) {
    rows.emplace_hint(rows.end(), key, values.Encode(static_cast<ViewKind>(key[0])));
  }
  return rows;
}

void ViewDigester::AddRow(std::string_view key, std::string_view value) {
  std::string lengths;
  PutBigEndian32(&lengths, static_cast<uint32_t>(key.size()));
  sha_.Update(lengths);
  sha_.Update(key);
  lengths.clear();
  PutBigEndian32(&lengths, static_cast<uint32_t>(value.size()));
  sha_.Update(lengths);
  sha_.Update(value);
}

Hash DigestViews(const ViewPageMap& pages) {
  ViewDigester digester;
  std::string key;
  for (const auto& [page, rows] : pages) {
    for (const auto& [suffix, values] : *rows) {
      key = page + suffix;
      digester.AddRow(key, values.Encode(static_cast<ViewKind>(page[0])));
    }
  }
  return digester.Finish();
}

}  // namespace ledger
