// The projection half of Log: totals, the view digest and rebuilding views
// from the logs.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>

#include "ledger/contracts.h"
#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/rocksdb_status.h"
#include "ledger/totals.h"
#include "ledger/views.h"
#include "schemas/entry_generated.h"

namespace ledger {
namespace {

struct HeldOrigin {
  uint32_t id = 0;
  std::string market;
};

// Every origin with a record in the origins column family.
StatusOr<std::vector<HeldOrigin>> HeldOrigins(const Store& store) {
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.handle(Column::kOrigins)));
  std::vector<HeldOrigin> origins;
  for (it->Seek("o"); it->Valid() && it->key().starts_with("o"); it->Next()) {
    std::string_view key = it->key().ToStringView();
    std::string_view record = it->value().ToStringView();
    size_t newline = record.find('\n');
    if (key.size() != 5 || newline == std::string_view::npos) {
      return Status::DataLoss("origins: bad origin record");
    }
    origins.push_back({GetBigEndian32(key.substr(1)), std::string(record.substr(0, newline))});
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "origins");
  return origins;
}

}  // namespace

StatusOr<std::vector<std::string>> Log::Markets() const {
  LEDGER_ASSIGN_OR_RETURN(std::vector<HeldOrigin> origins, HeldOrigins(*store_));
  std::vector<std::string> markets;
  for (const HeldOrigin& origin : origins) markets.push_back(origin.market);
  std::sort(markets.begin(), markets.end());
  return markets;
}

StatusOr<TotalsResult> Log::Totals(const TotalsQuery& query) const {
  LEDGER_ASSIGN_OR_RETURN(std::vector<std::string> held, Markets());
  std::shared_lock<std::shared_mutex> lock(views_mutex_);
  LEDGER_RETURN_IF_ERROR(views_damage_);
  LEDGER_ASSIGN_OR_RETURN(TotalsResult result, QueryTotals(durable_views_, held, query));
  result.digest = DigestLocked();
  return result;
}

StatusOr<Hash> Log::ViewDigest() const {
  std::shared_lock<std::shared_mutex> lock(views_mutex_);
  LEDGER_RETURN_IF_ERROR(views_damage_);
  return DigestLocked();
}

Hash Log::DigestLocked() const {
  std::lock_guard<std::mutex> cache(digest_mutex_);
  if (digest_version_ != views_version_) {
    digest_ = DigestViews(durable_views_);
    digest_version_ = views_version_;
  }
  return digest_;
}

StatusOr<Log::RebuildReport> Log::RebuildViews() {
  RebuildReport report;
  {
    // The digest of what is stored, damaged rows left out.
    std::shared_lock<std::shared_mutex> lock(views_mutex_);
    report.before = DigestLocked();
  }
  LEDGER_ASSIGN_OR_RETURN(std::vector<HeldOrigin> origins, HeldOrigins(*store_));
  ViewAccumulator views(nullptr);
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  for (const HeldOrigin& origin : origins) {
    LEDGER_ASSIGN_OR_RETURN(std::string head_value,
                            store_->Get(Column::kOrigins, HeadKey(origin.id)));
    LEDGER_ASSIGN_OR_RETURN(Head head, DecodeHead(head_value));
    StateOverlay state(nullptr, origin.id);
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db()->NewIterator(options, store_->handle(Column::kEntries)));
    it->Seek(EntryKey(origin.id, 0));
    for (uint64_t index = 0; index < head.size; ++index, it->Next()) {
      std::string where = origin.market + " index " + std::to_string(index) + ": ";
      if (!it->Valid() || it->key().ToStringView() != EntryKey(origin.id, index)) {
        if (!it->status().ok()) return FromRocksDb(it->status(), where + "read");
        return Status::DataLoss(where + "entry is missing");
      }
      std::string bytes = it->value().ToString();  // aligned copy for FlatBuffers
      StatusOr<const fb::Entry*> entry = VerifiedEntry(bytes);
      if (!entry.ok()) return Status::DataLoss(where + "entry is not a valid Entry");
      StatusOr<Effect> effect = state.Check(**entry, index);
      if (!effect.ok())
        return Status::DataLoss(where + "breaks a rule: " + effect.status().message());
      Status added = views.Add(origin.market, *effect);
      if (!added.ok()) return added.WithContext(where);
      state.Apply(*effect);
      ++report.entries;
    }
  }

  rocksdb::WriteBatch batch;
  auto* column = store_->handle(Column::kViews);
  // Every page key starts with 'd', 'f', 'r' or 'v'.
  batch.DeleteRange(column, std::string(1, '\0'), std::string(1, '\x7f')).PermitUncheckedError();
  ViewPageMap rebuilt = PagesOf(views.Rows());
  PutViewPages(rebuilt, &batch, column);
  report.after = DigestViews(rebuilt);
  LEDGER_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/true));
  written_views_ = rebuilt;
  std::unique_lock<std::shared_mutex> lock(views_mutex_);
  durable_views_ = std::move(rebuilt);
  ++views_version_;
  views_damage_ = Status::Ok();
  views_damaged_.store(false, std::memory_order_release);
  return report;
}

}  // namespace ledger
