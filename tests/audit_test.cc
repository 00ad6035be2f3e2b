// ledger-audit against a real log exported as C2SP tlog-tiles: an honest
// export audits clean, and each kind of tampering is caught and named with
// the right index. The export is also read back by a tile reader written
// here from the C2SP text alone, sharing no code with ledger/tiles.cc.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/checkpoint.h"
#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/merkle.h"
#include "ledger/tiles.h"
#include "tests/test_util.h"
#include "tools/audit_log.h"
#include "tools/workload.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;
using audit::AuditState;
using audit::LogReport;

constexpr uint64_t kEntries = 600;  // bundles 000, 001 and 002.p/88
constexpr uint64_t kVictim = 300;   // entry 44 of bundle 001

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// ---- A tlog-tiles reader and writer written from c2sp.org/tlog-tiles. ----

// "N is encoded as zero-padded 3-digit path elements, all but the last
// prefixed with x".
std::string SpecIndex(uint64_t n) {
  std::vector<std::string> groups;
  do {
    char group[4];
    std::snprintf(group, sizeof group, "%03d", static_cast<int>(n % 1000));
    groups.insert(groups.begin(), group);
    n /= 1000;
  } while (n > 0);
  std::string path;
  for (size_t i = 0; i < groups.size(); ++i) {
    path += (i + 1 < groups.size() ? "x" : "") + groups[i] + (i + 1 < groups.size() ? "/" : "");
  }
  return path;
}

std::string SpecTile(const std::string& level, uint64_t n, uint64_t width) {
  return "tile/" + level + "/" + SpecIndex(n) + (width < 256 ? ".p/" + std::to_string(width) : "");
}

// RFC 6962 MTH, recursively, straight from the definition.
Hash Mth(const std::vector<Hash>& leaves, size_t begin, size_t end) {
  if (end - begin == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return NodeHash(Mth(leaves, begin, begin + k), Mth(leaves, begin + k, end));
}

// Every level of the tree: levels[0] the leaves, levels[h][i] the hash of
// leaves [i * 2^h, (i + 1) * 2^h) when complete.
std::vector<std::vector<Hash>> Levels(const std::vector<Hash>& leaves) {
  std::vector<std::vector<Hash>> levels{leaves};
  while (levels.back().size() >= 2) {
    const std::vector<Hash>& below = levels.back();
    std::vector<Hash> above;
    for (size_t i = 0; i + 1 < below.size(); i += 2) above.push_back(NodeHash(below[i], below[i + 1]));
    levels.push_back(std::move(above));
  }
  return levels;
}

std::string Concat(const std::vector<Hash>& hashes, size_t begin, size_t end) {
  std::string bytes;
  for (size_t i = begin; i < end; ++i) bytes.append(reinterpret_cast<const char*>(hashes[i].data()), 32);
  return bytes;
}

// Every hash tile of the tree over `leaves`: its spec path and the bytes it
// must hold.
std::vector<std::pair<std::string, std::string>> SpecHashTiles(const std::vector<Hash>& leaves) {
  std::vector<std::pair<std::string, std::string>> tiles;
  std::vector<std::vector<Hash>> levels = Levels(leaves);
  for (size_t tile_level = 0; 8 * tile_level < levels.size(); ++tile_level) {
    const std::vector<Hash>& row = levels[8 * tile_level];
    for (size_t n = 0; n * 256 < row.size(); ++n) {
      size_t width = std::min<size_t>(256, row.size() - n * 256);
      tiles.emplace_back(SpecTile(std::to_string(tile_level), n, width),
                         Concat(row, n * 256, n * 256 + width));
    }
  }
  return tiles;
}

// Writes `entries` as a tree: entry bundles and the hash tiles of every
// tile level, plus `checkpoint`.
void SpecWriteTree(const std::string& dir, const std::vector<std::string>& entries,
                   const std::string& checkpoint) {
  std::vector<Hash> leaves;
  for (const std::string& entry : entries) leaves.push_back(LeafHash(entry));
  for (const auto& [path, bytes] : SpecHashTiles(leaves)) WriteFile(dir + "/" + path, bytes);
  for (size_t n = 0; n * 256 < entries.size(); ++n) {
    size_t width = std::min<size_t>(256, entries.size() - n * 256);
    std::string bundle;
    for (size_t i = n * 256; i < n * 256 + width; ++i) {
      bundle.push_back(static_cast<char>(entries[i].size() >> 8));
      bundle.push_back(static_cast<char>(entries[i].size() & 0xff));
      bundle += entries[i];
    }
    WriteFile(dir + "/" + SpecTile("entries", n, width), bundle);
  }
  WriteFile(dir + "/checkpoint", checkpoint);
}

// Reads a tree back: the entries, after checking every hash tile against
// them and the checkpoint's root against the recomputed MTH.
std::vector<std::string> SpecReadTree(const std::string& dir) {
  std::istringstream checkpoint(ReadFile(dir + "/checkpoint"));
  std::string origin, size_line, root_line;
  std::getline(checkpoint, origin);
  std::getline(checkpoint, size_line);
  std::getline(checkpoint, root_line);
  uint64_t size = std::stoull(size_line);
  std::vector<std::string> entries;
  for (uint64_t n = 0; n * 256 < size; ++n) {
    uint64_t width = std::min<uint64_t>(256, size - n * 256);
    std::string bundle = ReadFile(dir + "/" + SpecTile("entries", n, width));
    size_t at = 0;
    for (uint64_t i = 0; i < width; ++i) {
      EXPECT_LE(at + 2, bundle.size());
      size_t length = (static_cast<uint8_t>(bundle[at]) << 8) | static_cast<uint8_t>(bundle[at + 1]);
      entries.push_back(bundle.substr(at + 2, length));
      at += 2 + length;
    }
    EXPECT_EQ(at, bundle.size()) << "bundle " << n;
  }
  std::vector<Hash> leaves;
  for (const std::string& entry : entries) leaves.push_back(LeafHash(entry));
  for (const auto& [path, bytes] : SpecHashTiles(leaves)) {
    EXPECT_EQ(ReadFile(dir + "/" + path), bytes) << path;
  }
  StatusOr<std::string> root = Base64Decode(root_line);
  EXPECT_TRUE(root.ok() && root->size() == 32);
  if (root.ok() && !leaves.empty()) {
    EXPECT_EQ(HashFromBytes(*root), Mth(leaves, 0, leaves.size()));
  }
  return entries;
}

// ---- The fixture: a market with a realistic log, exported. ----

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = test::InitAndOpen(Path("node"));
    tools::WorkloadOptions options;
    options.seed = 11;
    tools::Workload workload(options);
    for (uint64_t i = 0; i < kEntries; ++i) entries_.push_back(test::Entry(workload.Next()));
    for (const auto& result : log_->Append(entries_)) ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(log_->size(), kEntries);
    StatusOr<ExportReport> report = ExportTiles(*log_, log_->local_origin_id(), Tiles(), {});
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    ASSERT_EQ(report->size, kEntries);
    Trust(*log_);
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string Tiles() const { return Path("tiles"); }

  void Trust(const Log& log) {
    std::string witness = WitnessVkeyOf(*NoteVerifier::FromVkey(log.vkey()));
    StatusOr<OriginRecord> record = RecordOf({log.market_id(), log.origin(), {log.vkey(), witness}});
    ASSERT_TRUE(record.ok()) << record.status().ToString();
    trust_.push_back(std::move(*record));
  }

  LogReport Audit(const AuditState& state = AuditState(), size_t cosigners = 0) {
    std::unique_ptr<audit::TileSource> source = audit::DirectorySource(Tiles());
    audit::AuditOptions options;
    options.cosigners = cosigners;
    return audit::AuditLog(*source, trust_, state, options);
  }

  // Rewrites bundle 001 (entries 256..511) through `edit` of its entries.
  void EditBundle1(const std::function<void(std::vector<std::string>&)>& edit) {
    std::vector<std::string> entries(entries_.begin() + 256, entries_.begin() + 512);
    edit(entries);
    std::string bundle;
    for (const std::string& entry : entries) ASSERT_TRUE(AppendBundleEntry(&bundle, entry).ok());
    WriteFile(Tiles() + "/tile/entries/001", bundle);
  }

  static void ExpectFailure(const LogReport& report, std::optional<uint64_t> index,
                            const std::string& check) {
    ASSERT_TRUE(report.failure.has_value()) << "the audit passed";
    EXPECT_EQ(report.failure->index, index) << report.failure->detail;
    EXPECT_EQ(report.failure->check, check) << report.failure->detail;
  }

  test::TempDir dir_;
  std::unique_ptr<Log> log_;
  std::vector<std::string> entries_;
  std::vector<OriginRecord> trust_;
};

TEST_F(AuditTest, HonestExportAuditsClean) {
  LogReport report = Audit();
  ASSERT_FALSE(report.failure) << report.failure->check << ": " << report.failure->detail;
  EXPECT_EQ(report.market, "xining");
  EXPECT_EQ(report.size, kEntries);
  EXPECT_EQ(report.entries_checked, kEntries);
  EXPECT_EQ(report.fold->entries(), kEntries);
  EXPECT_EQ(report.verified.size, kEntries);
  EXPECT_EQ(report.verified.leaf_prefixes.size(), kEntries * audit::kLeafPrefixBytes);
}

TEST_F(AuditTest, ExportIsReadableByAReaderWrittenFromTheSpec) {
  std::vector<std::string> read = SpecReadTree(Tiles());
  ASSERT_EQ(read.size(), kEntries);
  for (uint64_t i = 0; i < kEntries; ++i) ASSERT_EQ(read[i], entries_[i]) << "entry " << i;
  // The spec's partial tiles are where the reader looked for them.
  EXPECT_TRUE(fs::exists(Tiles() + "/tile/0/002.p/88"));
  EXPECT_TRUE(fs::exists(Tiles() + "/tile/1/000.p/2"));
  EXPECT_FALSE(fs::exists(Tiles() + "/tile/2"));
  EXPECT_EQ(ReadFile(Tiles() + "/checkpoint"), *log_->CheckpointOf(log_->local_origin_id(), kEntries));
}

TEST_F(AuditTest, ExportRefusesAnExistingDirectoryAndLeavesItAlone) {
  std::string before = ReadFile(Tiles() + "/checkpoint");
  StatusOr<ExportReport> again = ExportTiles(*log_, log_->local_origin_id(), Tiles(), {});
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(ReadFile(Tiles() + "/checkpoint"), before);
  for (const auto& item : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(item.path().filename().string().find(".partial"), std::string::npos);
  }
}

TEST_F(AuditTest, FlippedEntryByteIsNamed) {
  EditBundle1([](std::vector<std::string>& entries) { entries[kVictim - 256].back() ^= 0x01; });
  ExpectFailure(Audit(), kVictim, "leaf hash");
}

TEST_F(AuditTest, RemovedEntryIsNamed) {
  EditBundle1([](std::vector<std::string>& entries) {
    entries.erase(entries.begin() + (kVictim - 256));
  });
  ExpectFailure(Audit(), kVictim, "leaf hash");
}

TEST_F(AuditTest, ReorderedEntriesAreNamed) {
  EditBundle1([](std::vector<std::string>& entries) {
    std::swap(entries[kVictim - 256], entries[kVictim - 256 + 5]);
  });
  ExpectFailure(Audit(), kVictim, "leaf hash");
}

TEST_F(AuditTest, TruncatedBundleIsNamed) {
  std::string bundle = ReadFile(Tiles() + "/tile/entries/002.p/88");
  WriteFile(Tiles() + "/tile/entries/002.p/88", bundle.substr(0, bundle.size() - 3));
  ExpectFailure(Audit(), kEntries - 1, "bundle");
}

TEST_F(AuditTest, ForgedCheckpointSignatureIsCaught) {
  std::string note = ReadFile(Tiles() + "/checkpoint");
  // The root line, changed: the signature no longer covers the text.
  size_t root = note.find('\n', note.find('\n') + 1) + 1;
  note[root] = note[root] == 'A' ? 'B' : 'A';
  WriteFile(Tiles() + "/checkpoint", note);
  ExpectFailure(Audit(), std::nullopt, "signature");
}

// A market operator with the signing key rewrites an entry and re-signs:
// everything verifies on its own, but an auditor that remembers the history
// it checked names the entry that changed.
TEST_F(AuditTest, RewrittenHistoryWithAFreshSignatureIsNamedByTheRememberedState) {
  LogReport honest = Audit();
  ASSERT_FALSE(honest.failure);
  AuditState state;
  state.logs[honest.origin] = honest.verified;

  std::vector<std::string> rewritten = entries_;
  nlohmann::json json = nlohmann::json::parse(*EntryToJson(rewritten[kVictim]));
  json["actor"] = "someone else";
  json.erase("recorded_at_ms");
  rewritten[kVictim] = test::Entry(json.dump());
  std::vector<Hash> leaves;
  for (const std::string& entry : rewritten) leaves.push_back(LeafHash(entry));
  Checkpoint checkpoint{log_->origin(), kEntries, Mth(leaves, 0, leaves.size()), {}};
  StatusOr<PrivateKey> key = PrivateKey::LoadPem(KeyPath(Path("node")));
  ASSERT_TRUE(key.ok());
  NoteSigner signer(log_->origin(), *key);
  fs::remove_all(Tiles());
  SpecWriteTree(Tiles(), rewritten, SignNote(FormatCheckpoint(checkpoint), signer));

  LogReport fresh = Audit();  // an auditor without memory sees a valid log
  EXPECT_FALSE(fresh.failure) << fresh.failure->detail;
  ExpectFailure(Audit(state), kVictim, "history");
}

TEST_F(AuditTest, RollbackBelowTheRememberedSizeIsCaught) {
  LogReport honest = Audit();
  ASSERT_FALSE(honest.failure);
  AuditState state;
  state.logs[honest.origin] = honest.verified;
  state.logs[honest.origin].size = kEntries + 1;
  ExpectFailure(Audit(state), std::nullopt, "rollback");
}

TEST_F(AuditTest, CosignaturePolicyCountsOnlyValidPartnerCosignatures) {
  StatusOr<std::string> vkey = Log::Init(Path("xian"), "xian", "techmarket.cn/xian");
  ASSERT_TRUE(vkey.ok());
  StatusOr<std::unique_ptr<Log>> xian = Log::Open(Path("xian"), LogOptions());
  ASSERT_TRUE(xian.ok());
  Trust(**xian);
  ExpectFailure(Audit(AuditState(), 1), std::nullopt, "cosignatures");

  std::string note = ReadFile(Tiles() + "/checkpoint");
  StatusOr<SignedNote> parsed = ParseNote(note);
  ASSERT_TRUE(parsed.ok());
  // The origin cosigning itself does not count as a partner.
  WriteFile(Tiles() + "/checkpoint", note + log_->Cosign(parsed->text));
  ExpectFailure(Audit(AuditState(), 1), std::nullopt, "cosignatures");

  std::string line = (*xian)->Cosign(parsed->text);
  WriteFile(Tiles() + "/checkpoint", note + line);
  LogReport cosigned = Audit(AuditState(), 1);
  EXPECT_FALSE(cosigned.failure) << cosigned.failure->detail;
  EXPECT_EQ(cosigned.cosigners, std::vector<std::string>{"xian"});
  ExpectFailure(Audit(AuditState(), 2), std::nullopt, "cosignatures");

  std::string forged = line;
  forged[forged.size() - 20] = forged[forged.size() - 20] == 'A' ? 'B' : 'A';
  WriteFile(Tiles() + "/checkpoint", note + forged);
  ExpectFailure(Audit(AuditState(), 0), std::nullopt, "cosignatures");
}

}  // namespace
}  // namespace ledger
