// The tlog-tiles layout (paths, widths, entry bundles) against the examples
// of c2sp.org/tlog-tiles, and the tlog-proof format against
// c2sp.org/tlog-proof: round trips, refusals, and a bundle that verifies.
#include <gtest/gtest.h>

#include "ledger/checkpoint.h"
#include "ledger/log.h"
#include "ledger/merkle.h"
#include "ledger/tiles.h"
#include "ledger/tlog_proof.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

TEST(TilesTest, IndexPathsFollowTheSpecExample) {
  EXPECT_EQ(TileIndexPath(1234067), "x001/x234/067");
  EXPECT_EQ(TileIndexPath(0), "000");
  EXPECT_EQ(TileIndexPath(999), "999");
  EXPECT_EQ(TileIndexPath(1000), "x001/000");
  EXPECT_EQ(TilePath({false, 0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath({false, 1, 3, 8}), "tile/1/003.p/8");
  EXPECT_EQ(TilePath({true, 0, 1234067, 8}), "tile/entries/x001/x234/067.p/8");
}

TEST(TilesTest, ParseTilePathInvertsTilePathAndRefusesOtherSpellings) {
  for (const TileRef& tile : {TileRef{false, 0, 0, 256}, TileRef{false, 2, 1234067, 17},
                              TileRef{true, 0, 999, 255}, TileRef{true, 0, 1000000, 1}}) {
    StatusOr<TileRef> parsed = ParseTilePath(TilePath(tile));
    ASSERT_TRUE(parsed.ok()) << TilePath(tile) << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed->entries, tile.entries);
    EXPECT_EQ(parsed->level, tile.level);
    EXPECT_EQ(parsed->index, tile.index);
    EXPECT_EQ(parsed->width, tile.width);
  }
  for (const char* bad : {"tile/0/1", "tile/0/0001", "tile/0/x000/001", "tile/0/001/002",
                          "tile/0/x01/002", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/",
                          "tile/64/000", "tile/01/000", "tile/-1/000", "tile/0/", "tile/0",
                          "tiles/0/000", "tile/entries/000.p/08", "tile/0/00a"}) {
    EXPECT_EQ(ParseTilePath(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(TilesTest, TilesOfATreeAreTheFullOnesAndOnePartialPerLevel) {
  EXPECT_TRUE(TilesOf(0).empty());
  std::vector<std::string> paths;
  for (const TileRef& tile : TilesOf(70000)) paths.push_back(TilePath(tile));
  // 70000 = 273 * 256 + 112; 273 = 256 + 17; 1 at level 2.
  EXPECT_EQ(paths.size(), 274u + 2u + 1u + 274u);
  EXPECT_EQ(paths[272], "tile/0/272");
  EXPECT_EQ(paths[273], "tile/0/273.p/112");
  EXPECT_EQ(paths[274], "tile/1/000");
  EXPECT_EQ(paths[275], "tile/1/001.p/17");
  EXPECT_EQ(paths[276], "tile/2/000.p/1");
  EXPECT_EQ(paths.back(), "tile/entries/273.p/112");
  EXPECT_EQ(HashesAtTileLevel(70000, 1), 273u);
  EXPECT_EQ(HashesAtTileLevel(70000, 9), 0u);
}

TEST(TilesTest, BundlesRoundTripAndNameTheTruncatedEntry) {
  std::string bundle;
  ASSERT_TRUE(AppendBundleEntry(&bundle, "abc").ok());
  ASSERT_TRUE(AppendBundleEntry(&bundle, "").ok());
  ASSERT_TRUE(AppendBundleEntry(&bundle, std::string(300, 'x')).ok());
  EXPECT_EQ(bundle.substr(0, 5), std::string("\x00\x03" "abc", 5));
  EXPECT_EQ(bundle.substr(7, 2), "\x01\x2c");
  std::vector<std::string_view> entries;
  ASSERT_TRUE(SplitBundle(bundle, &entries).ok());
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0], "abc");
  EXPECT_EQ(entries[1], "");
  EXPECT_EQ(entries[2], std::string(300, 'x'));

  entries.clear();
  Status truncated = SplitBundle(std::string_view(bundle).substr(0, bundle.size() - 1), &entries);
  EXPECT_EQ(truncated.code(), Status::Code::kDataLoss);
  EXPECT_NE(truncated.message().find("entry 2"), std::string::npos) << truncated.message();
  EXPECT_EQ(entries.size(), 2u);

  EXPECT_EQ(AppendBundleEntry(&bundle, std::string(65536, 'x')).code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(AppendBundleEntry(&bundle, std::string(65535, 'x')).ok());
}

TEST(TlogProofTest, FormatFollowsTheSpecAndRoundTrips) {
  TlogProof proof;
  proof.extra = "entry bytes";
  proof.index = 73894;
  proof.hashes = {LeafHash("a"), LeafHash("b")};
  proof.checkpoint = "example.com/log\n2\nAAAA\n\n\xe2\x80\x94 example.com/log abc=\n";
  std::string text = FormatTlogProof(proof);
  EXPECT_EQ(text.rfind("c2sp.org/tlog-proof@v1\nextra ZW50cnkgYnl0ZXM=\nindex 73894\n", 0), 0u)
      << text;
  StatusOr<TlogProof> parsed = ParseTlogProof(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->extra, proof.extra);
  EXPECT_EQ(parsed->index, proof.index);
  EXPECT_EQ(parsed->hashes, proof.hashes);
  EXPECT_EQ(parsed->checkpoint, proof.checkpoint);

  proof.extra.clear();
  parsed = ParseTlogProof(FormatTlogProof(proof));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->extra.empty());

  for (const std::string& bad :
       {std::string("c2sp.org/tlog-proof@v2\nindex 1\n\ncp\n"), std::string("c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n"),
        std::string("c2sp.org/tlog-proof@v1\nindex x\n\ncp\n"), std::string("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\ncp\n"),
        std::string("c2sp.org/tlog-proof@v1\nindex 1\n\n"), std::string("c2sp.org/tlog-proof@v1\nindex 1\n"),
        std::string("c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\ncp\n")}) {
    EXPECT_EQ(ParseTlogProof(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(TlogProofTest, ABundleFromALogVerifiesOfflineAgainstTheSignedRoot) {
  test::TempDir dir;
  std::unique_ptr<Log> log = test::InitAndOpen(dir.path() + "/node");
  std::vector<std::string> entries;
  for (int i = 0; i < 37; ++i) entries.push_back(test::Entry(test::ContractJson("XN-" + std::to_string(i))));
  for (const auto& result : log->Append(entries)) ASSERT_TRUE(result.ok());

  StatusOr<TlogProof> made = MakeTlogProof(*log, log->local_origin_id(), 21, log->size());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  StatusOr<TlogProof> proof = ParseTlogProof(FormatTlogProof(*made));
  ASSERT_TRUE(proof.ok());
  EXPECT_EQ(proof->extra, entries[21]);
  StatusOr<SignedNote> note = ParseNote(proof->checkpoint);
  ASSERT_TRUE(note.ok());
  ASSERT_TRUE(VerifyNote(*note, *NoteVerifier::FromVkey(log->vkey())).ok());
  StatusOr<Checkpoint> checkpoint = ParseCheckpoint(note->text);
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_TRUE(VerifyInclusion(LeafHash(proof->extra), proof->index, checkpoint->size,
                              proof->hashes, checkpoint->root)
                  .ok());
  // Another entry's bytes do not verify at that index.
  EXPECT_FALSE(VerifyInclusion(LeafHash(entries[20]), proof->index, checkpoint->size,
                               proof->hashes, checkpoint->root)
                   .ok());
  // A size that was never signed has no checkpoint to prove against.
  EXPECT_EQ(MakeTlogProof(*log, log->local_origin_id(), 2, 5).status().code(),
            Status::Code::kNotFound);
}

}  // namespace
}  // namespace ledger
