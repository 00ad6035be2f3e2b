#include "ledger/origins.h"

namespace ledger {

bool IsValidMarketId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string WitnessVkeyOf(const NoteVerifier& checkpoint_key) {
  return FormatVkey(checkpoint_key.name(), kSignatureTypeCosignatureV1, checkpoint_key.key().raw());
}

std::vector<std::string> OriginRecord::Vkeys() const {
  std::vector<std::string> vkeys;
  for (const NoteVerifier& key : checkpoint_keys) vkeys.push_back(key.ToVkey());
  for (const NoteVerifier& key : witness_keys) vkeys.push_back(key.ToVkey());
  return vkeys;
}

std::string OriginRecord::Encode() const {
  std::string value = market;
  for (const std::string& vkey : Vkeys()) value += "\n" + vkey;
  return value;
}

namespace {

// Sorts parsed keys into the record, checking what every record needs.
Status AddKeys(const std::vector<std::string_view>& vkeys, OriginRecord* record) {
  for (std::string_view vkey : vkeys) {
    StatusOr<NoteVerifier> key = NoteVerifier::FromVkey(vkey);
    if (!key.ok()) return key.status().WithContext("vkey \"" + std::string(vkey) + "\"");
    if (key->signature_type() == kSignatureTypeEd25519) {
      if (!record->checkpoint_keys.empty() && key->name() != record->origin) {
        return Status::InvalidArgument("vkey \"" + std::string(vkey) +
                                       "\": checkpoint keys of one market must share its origin");
      }
      record->origin = key->name();
      record->checkpoint_keys.push_back(*std::move(key));
    } else {
      record->witness_keys.push_back(*std::move(key));
    }
  }
  if (record->checkpoint_keys.empty()) {
    return Status::InvalidArgument("market " + record->market + ": no checkpoint (type 0x01) vkey");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<OriginRecord> OriginRecord::Decode(uint32_t id, std::string_view value) {
  OriginRecord record;
  record.id = id;
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (;;) {
    size_t newline = value.find('\n', start);
    lines.push_back(value.substr(start, newline - start));
    if (newline == std::string_view::npos) break;
    start = newline + 1;
  }
  if (lines.size() < 2 || !IsValidMarketId(lines[0])) {
    return Status::DataLoss("origins: bad record for origin id " + std::to_string(id));
  }
  record.market = std::string(lines[0]);
  lines.erase(lines.begin());
  Status keys = AddKeys(lines, &record);
  if (!keys.ok()) {
    return Status::DataLoss("origins: record for origin id " + std::to_string(id) + ": " +
                            keys.message());
  }
  return record;
}

StatusOr<OriginRecord> RecordOf(const TrustedOrigin& trusted) {
  if (!IsValidMarketId(trusted.market)) {
    return Status::InvalidArgument("market: want 1-64 of [a-z0-9_-], got \"" + trusted.market +
                                   "\"");
  }
  OriginRecord record;
  record.market = trusted.market;
  std::vector<std::string_view> vkeys(trusted.vkeys.begin(), trusted.vkeys.end());
  LEDGER_RETURN_IF_ERROR(AddKeys(vkeys, &record).WithContext("market " + trusted.market));
  if (!trusted.origin.empty() && trusted.origin != record.origin) {
    return Status::InvalidArgument("market " + trusted.market + ": origin \"" + trusted.origin +
                                   "\" is not the name of its checkpoint vkey");
  }
  return record;
}

}  // namespace ledger
