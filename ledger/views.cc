#include "ledger/views.h"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <memory>

#include "ledger/civil_date.h"
#include "ledger/money.h"
#include "ledger/rocksdb_status.h"
#include "ledger/store.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

const char* const kFieldNames[ViewValues::kVolumeFields] = {
    "contracts", "contract_amount", "tech_amount", "payments", "terminated"};

size_t FieldCount(ViewKind kind) {
  return kind == ViewKind::kDeal ? ViewValues::kDealFields : ViewValues::kVolumeFields;
}

bool ValidKind(char c) { return c == 'v' || c == 'f' || c == 'd'; }

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

std::string ViewKeyPrefix(ViewKind kind, std::string_view market, int32_t month) {
  std::string key(1, static_cast<char>(kind));
  key.push_back(static_cast<char>(market.size()));
  key += market;
  PutBigEndian32(&key, static_cast<uint32_t>(month));
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
  }
  return key;
}

Status LoadViewRows(const Store& store, ViewRows* rows) {
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(options, store.handle(Column::kViews)));
  rows->clear();
  Status damage;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    StatusOr<ViewKey> decoded = ViewKey::Decode(key);
    StatusOr<ViewValues> values =
        decoded.ok() ? ViewValues::Decode(decoded->kind, it->value().ToStringView())
                     : StatusOr<ViewValues>(decoded.status());
    if (!values.ok()) {
      if (damage.ok()) damage = values.status().WithContext("row " + HexEncode(key));
      continue;
    }
    rows->emplace_hint(rows->end(), std::string(key), *values);
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "views");
  return damage;
}

ViewAccumulator::Row* ViewAccumulator::Load(const std::string& key) {
  auto it = rows_.find(key);
  if (it != rows_.end()) return &it->second;
  Row row;
  if (base_ != nullptr) {
    auto stored = base_->find(key);
    if (stored != base_->end()) row.values = stored->second;
  }
  return &rows_.emplace(key, row).first->second;
}

Status ViewAccumulator::Add(std::string_view market, const Effect& effect) {
  const ContractState& before = effect.before;
  const ContractState& after = effect.after;
  ViewValues delta;
  ViewKey volume{.kind = ViewKind::kVolume, .market = std::string(market)};
  volume.month = MonthOf(effect.date);
  volume.type = after.type;
  volume.field = after.field;
  ViewKey flow = volume;
  flow.kind = ViewKind::kFlow;
  flow.type = flow.field = 0;
  flow.seller_region = after.seller_region;
  flow.buyer_region = after.buyer_region;
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

  if (!contract_event) {
    ViewKey deal{.kind = ViewKind::kDeal, .market = std::string(market)};
    deal.month = MonthOf(effect.date);
    deal.mode = effect.mode;
    Row* row = Load(deal.Encode());
    if (!row->values.Add(Delta({1, effect.amount_fen}))) {
      return Status::OutOfRange("views: deal totals of " + std::string(market) + " overflow");
    }
    row->dirty = true;
    return Status::Ok();
  }
  Row* volume_row = Load(volume.Encode());
  Row* flow_row = Load(flow.Encode());
  ViewValues new_volume = volume_row->values;
  ViewValues new_flow = flow_row->values;
  if (!new_volume.Add(delta) || !new_flow.Add(delta)) {
    for (size_t i = 0; i < delta.v.size(); ++i) {
      int64_t ignored = 0;
      if (__builtin_add_overflow(volume_row->values.v[i], delta.v[i], &ignored) ||
          __builtin_add_overflow(flow_row->values.v[i], delta.v[i], &ignored)) {
        return Status::OutOfRange("views: total " + std::string(kFieldNames[i]) + " of " +
                                  std::string(market) + " would overflow");
      }
    }
  }
  volume_row->values = new_volume;
  flow_row->values = new_flow;
  volume_row->dirty = flow_row->dirty = true;
  return Status::Ok();
}

std::vector<std::pair<std::string, ViewValues>> ViewAccumulator::Flush(
    rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* views) {
  std::vector<std::pair<std::string, ViewValues>> changes;
  for (auto& [key, row] : rows_) {
    if (!row.dirty) continue;
    if (batch != nullptr) {
      if (row.values.IsZero()) {
        batch->Delete(views, key).PermitUncheckedError();
      } else {
        batch->Put(views, key, row.values.Encode(static_cast<ViewKind>(key[0])))
            .PermitUncheckedError();
      }
    }
    changes.emplace_back(key, row.values);
    row.dirty = false;
  }
  return changes;
}

void ApplyViewChanges(const std::vector<std::pair<std::string, ViewValues>>& changes,
                      ViewRows* rows) {
  for (const auto& [key, values] : changes) {
    if (values.IsZero()) {
      rows->erase(key);
    } else {
      (*rows)[key] = values;
    }
  }
}

std::map<std::string, std::string> ViewAccumulator::EncodedRows() const {
  std::map<std::string, std::string> rows;
  for (const auto& [key, row] : rows_) {
    if (!row.values.IsZero()) rows.emplace(key, row.values.Encode(static_cast<ViewKind>(key[0])));
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

Hash DigestViews(const ViewRows& rows) {
  ViewDigester digester;
  for (const auto& [key, values] : rows) {
    digester.AddRow(key, values.Encode(static_cast<ViewKind>(key[0])));
  }
  return digester.Finish();
}

}  // namespace ledger
