#include "ledger/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "ledger/encoding.h"
#include "ledger/status.h"

namespace ledger {
namespace {

using Code = Status::Code;

Hash HashHex(std::string_view hex) {
  StatusOr<Hash> hash = HashFromHex(hex);
  if (!hash.ok()) std::abort();  // A typo in a test vector.
  return *hash;
}

std::vector<Hash> HashesHex(std::initializer_list<std::string_view> hexes) {
  std::vector<Hash> hashes;
  for (std::string_view hex : hexes) hashes.push_back(HashHex(hex));
  return hashes;
}

// The eight leaves of the RFC 6962 / certificate-transparency reference tree.
std::vector<Hash> ReferenceLeafHashes() {
  std::vector<Hash> hashes;
  for (std::string_view hex : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                               "606162636465666768696a6b6c6d6e6f"}) {
    StatusOr<std::string> bytes = HexDecode(hex);
    if (!bytes.ok()) std::abort();
    hashes.push_back(LeafHash(*bytes));
  }
  return hashes;
}

std::vector<Hash> TestLeafHashes(uint64_t count) {
  std::vector<Hash> hashes;
  for (uint64_t i = 0; i < count; ++i) hashes.push_back(LeafHash("entry " + std::to_string(i)));
  return hashes;
}

MemoryTree TreeOf(std::span<const Hash> leaf_hashes) {
  MemoryTree tree;
  for (const Hash& leaf_hash : leaf_hashes) tree.Append(leaf_hash);
  return tree;
}

// The naive definitions below transcribe RFC 9162 sections 2.1.1, 2.1.3.1 and
// 2.1.4.1 literally, over a list of leaf hashes, to check the library against.
uint64_t NaiveK(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash NaiveMth(std::span<const Hash> d) {
  if (d.empty()) return EmptyRoot();
  if (d.size() == 1) return d[0];
  const uint64_t k = NaiveK(d.size());
  return NodeHash(NaiveMth(d.first(k)), NaiveMth(d.subspan(k)));
}

std::vector<Hash> NaivePath(uint64_t m, std::span<const Hash> d) {
  if (d.size() == 1) return {};
  const uint64_t k = NaiveK(d.size());
  std::vector<Hash> path;
  if (m < k) {
    path = NaivePath(m, d.first(k));
    path.push_back(NaiveMth(d.subspan(k)));
  } else {
    path = NaivePath(m - k, d.subspan(k));
    path.push_back(NaiveMth(d.first(k)));
  }
  return path;
}

std::vector<Hash> NaiveSubproof(uint64_t m, std::span<const Hash> d, bool b) {
  if (m == d.size()) return b ? std::vector<Hash>{} : std::vector<Hash>{NaiveMth(d)};
  const uint64_t k = NaiveK(d.size());
  std::vector<Hash> proof;
  if (m <= k) {
    proof = NaiveSubproof(m, d.first(k), b);
    proof.push_back(NaiveMth(d.subspan(k)));
  } else {
    proof = NaiveSubproof(m - k, d.subspan(k), false);
    proof.push_back(NaiveMth(d.first(k)));
  }
  return proof;
}

// Counts reads, to check that proofs touch O(log n) subtrees.
class CountingSource : public SubtreeSource {
 public:
  explicit CountingSource(const SubtreeSource& base) : base_(base) {}
  StatusOr<Hash> Subtree(uint32_t level, uint64_t index) const override {
    ++reads;
    return base_.Subtree(level, index);
  }
  mutable uint64_t reads = 0;

 private:
  const SubtreeSource& base_;
};

// Fails reads of every subtree on one level, as a damaged store would.
class FailingSource : public SubtreeSource {
 public:
  FailingSource(const SubtreeSource& base, uint32_t failing_level)
      : base_(base), failing_level_(failing_level) {}
  StatusOr<Hash> Subtree(uint32_t level, uint64_t index) const override {
    if (level == failing_level_) return Status::IoError("injected read failure");
    return base_.Subtree(level, index);
  }

 private:
  const SubtreeSource& base_;
  uint32_t failing_level_;
};

Hash FlipBit(Hash hash, size_t bit) {
  hash[bit / 8 % hash.size()] ^= static_cast<uint8_t>(1u << (bit % 8));
  return hash;
}

std::vector<std::tuple<uint32_t, uint64_t, Hash>> AppendAndCollect(Frontier& frontier,
                                                                   const Hash& leaf_hash) {
  std::vector<std::tuple<uint32_t, uint64_t, Hash>> emitted;
  frontier.Append(leaf_hash, [&](uint32_t level, uint64_t index, const Hash& hash) {
    emitted.emplace_back(level, index, hash);
  });
  return emitted;
}

TEST(MerkleReferenceTest, RootsMatchRfc6962Vectors) {
  // Proves LeafHash, NodeHash, EmptyRoot, Frontier, MemoryTree and RootAt reproduce the published
  // roots of the first n reference leaves.
  const std::vector<Hash> expected = HashesHex({
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  });
  const std::vector<Hash> leaves = ReferenceLeafHashes();
  const MemoryTree full_tree = TreeOf(leaves);
  Frontier frontier;
  MemoryTree tree;
  for (size_t n = 0; n <= leaves.size(); ++n) {
    if (n > 0) {
      frontier.Append(leaves[n - 1]);
      tree.Append(leaves[n - 1]);
    }
    EXPECT_EQ(HexEncode(frontier.Root()), HexEncode(expected[n])) << "n=" << n;
    EXPECT_EQ(HexEncode(tree.Root()), HexEncode(expected[n])) << "n=" << n;
    StatusOr<Hash> root = RootAt(full_tree, n);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    EXPECT_EQ(HexEncode(*root), HexEncode(expected[n])) << "n=" << n;
  }
  EXPECT_EQ(EmptyRoot(), expected[0]);
}

// Known-good proofs over the reference leaves, from the certificate-transparency
// test data as carried in transparency-dev/merkle proof/verify_test.go (which
// numbers leaves from 1; the indices here are from 0).
struct InclusionVector {
  uint64_t index;
  uint64_t size;
  std::vector<Hash> proof;
};

struct ConsistencyVector {
  uint64_t old_size;
  uint64_t new_size;
  std::vector<Hash> proof;
};

std::vector<InclusionVector> InclusionVectors() {
  return {
      {0, 8,
       HashesHex({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       HashesHex({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, HashesHex({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       HashesHex({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {0, 1, {}},
  };
}

std::vector<ConsistencyVector> ConsistencyVectors() {
  return {
      {1, 8,
       HashesHex({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       HashesHex({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       HashesHex({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7,
       HashesHex({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                  "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {1, 1, {}},
  };
}

TEST(MerkleReferenceTest, InclusionProofsMatchCtVectors) {
  // Proves InclusionProof generates, and VerifyInclusion accepts, the published inclusion proofs.
  const std::vector<Hash> leaves = ReferenceLeafHashes();
  const MemoryTree tree = TreeOf(leaves);
  for (const InclusionVector& v : InclusionVectors()) {
    SCOPED_TRACE("index " + std::to_string(v.index) + " size " + std::to_string(v.size));
    StatusOr<std::vector<Hash>> proof = InclusionProof(tree, v.index, v.size);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(*proof, v.proof);
    const Hash root = NaiveMth(std::span(leaves).first(v.size));
    Status verified = VerifyInclusion(leaves[v.index], v.index, v.size, v.proof, root);
    EXPECT_TRUE(verified.ok()) << verified.ToString();
  }
}

TEST(MerkleReferenceTest, ConsistencyProofsMatchCtVectors) {
  // Proves ConsistencyProof generates, and VerifyConsistency accepts, the published consistency
  // proofs.
  const std::vector<Hash> leaves = ReferenceLeafHashes();
  const MemoryTree tree = TreeOf(leaves);
  for (const ConsistencyVector& v : ConsistencyVectors()) {
    SCOPED_TRACE("sizes " + std::to_string(v.old_size) + " -> " + std::to_string(v.new_size));
    StatusOr<std::vector<Hash>> proof = ConsistencyProof(tree, v.old_size, v.new_size);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(*proof, v.proof);
    const Hash old_root = NaiveMth(std::span(leaves).first(v.old_size));
    const Hash new_root = NaiveMth(std::span(leaves).first(v.new_size));
    Status verified = VerifyConsistency(v.old_size, v.new_size, old_root, new_root, v.proof);
    EXPECT_TRUE(verified.ok()) << verified.ToString();
  }
}

TEST(MerkleReferenceTest, VectorsFailUnderWrongIndexOrSize) {
  // Proves the verifiers reject the published proofs when the index or a tree size is changed, as
  // the CT reference tests require.
  const std::vector<Hash> leaves = ReferenceLeafHashes();
  for (const InclusionVector& v : InclusionVectors()) {
    if (v.proof.empty()) continue;
    const Hash root = NaiveMth(std::span(leaves).first(v.size));
    const Hash& leaf = leaves[v.index];
    EXPECT_FALSE(VerifyInclusion(leaf, v.index - 1, v.size, v.proof, root).ok()) << v.index;
    EXPECT_FALSE(VerifyInclusion(leaf, v.index + 1, v.size, v.proof, root).ok()) << v.index;
    EXPECT_FALSE(VerifyInclusion(leaf, v.index ^ 2, v.size, v.proof, root).ok()) << v.index;
    EXPECT_FALSE(VerifyInclusion(leaf, v.index, v.size * 2, v.proof, root).ok()) << v.index;
    EXPECT_FALSE(VerifyInclusion(leaf, v.index, v.size / 2, v.proof, root).ok()) << v.index;
  }
  for (const ConsistencyVector& v : ConsistencyVectors()) {
    if (v.proof.empty()) continue;
    const Hash old_root = NaiveMth(std::span(leaves).first(v.old_size));
    const Hash new_root = NaiveMth(std::span(leaves).first(v.new_size));
    const uint64_t old_size = v.old_size;
    const uint64_t new_size = v.new_size;
    EXPECT_FALSE(VerifyConsistency(old_size - 1, new_size, old_root, new_root, v.proof).ok());
    EXPECT_FALSE(VerifyConsistency(old_size + 1, new_size, old_root, new_root, v.proof).ok());
    EXPECT_FALSE(VerifyConsistency(old_size ^ 2, new_size, old_root, new_root, v.proof).ok());
    EXPECT_FALSE(VerifyConsistency(old_size, new_size * 2, old_root, new_root, v.proof).ok());
    EXPECT_FALSE(VerifyConsistency(old_size, new_size / 2, old_root, new_root, v.proof).ok());
    EXPECT_FALSE(VerifyConsistency(old_size, new_size, new_root, old_root, v.proof).ok());
  }
}

constexpr uint64_t kBruteForceSizeMax = 130;

TEST(MerkleBruteForceTest, RootsAgreeWithNaiveMth) {
  // Proves Frontier, MemoryTree and RootAt compute RFC 9162's MTH for every size up to 130.
  const std::vector<Hash> leaves = TestLeafHashes(kBruteForceSizeMax);
  const MemoryTree full_tree = TreeOf(leaves);
  Frontier frontier;
  MemoryTree tree;
  for (uint64_t size = 1; size <= kBruteForceSizeMax; ++size) {
    frontier.Append(leaves[size - 1]);
    tree.Append(leaves[size - 1]);
    const Hash expected = NaiveMth(std::span(leaves).first(size));
    EXPECT_EQ(frontier.size(), size);
    EXPECT_EQ(tree.size(), size);
    EXPECT_EQ(frontier.Root(), expected) << size;
    EXPECT_EQ(tree.Root(), expected) << size;
    StatusOr<Hash> root = RootAt(full_tree, size);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    EXPECT_EQ(*root, expected) << size;
  }
}

TEST(MerkleBruteForceTest, InclusionProofsMatchNaivePathAndVerify) {
  // Proves that for every size up to 130 and every index, the inclusion proof equals RFC 9162's
  // PATH and verifies.
  const std::vector<Hash> leaves = TestLeafHashes(kBruteForceSizeMax);
  const MemoryTree tree = TreeOf(leaves);
  for (uint64_t size = 1; size <= kBruteForceSizeMax; ++size) {
    const std::span<const Hash> d = std::span(leaves).first(size);
    const Hash root = NaiveMth(d);
    for (uint64_t index = 0; index < size; ++index) {
      StatusOr<std::vector<Hash>> proof = InclusionProof(tree, index, size);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      ASSERT_EQ(*proof, NaivePath(index, d)) << "index " << index << " size " << size;
      Status verified = VerifyInclusion(leaves[index], index, size, *proof, root);
      ASSERT_TRUE(verified.ok()) << "index " << index << " size " << size << ": "
                                 << verified.ToString();
    }
  }
}

TEST(MerkleBruteForceTest, ConsistencyProofsMatchNaiveSubproofAndVerify) {
  // Proves that for every 0 < old_size <= new_size <= 130 the consistency proof equals RFC 9162's
  // PROOF and verifies.
  const std::vector<Hash> leaves = TestLeafHashes(kBruteForceSizeMax);
  const MemoryTree tree = TreeOf(leaves);
  std::vector<Hash> roots = {EmptyRoot()};
  for (uint64_t size = 1; size <= kBruteForceSizeMax; ++size) {
    roots.push_back(NaiveMth(std::span(leaves).first(size)));
  }
  for (uint64_t new_size = 1; new_size <= kBruteForceSizeMax; ++new_size) {
    const std::span<const Hash> d = std::span(leaves).first(new_size);
    for (uint64_t old_size = 1; old_size <= new_size; ++old_size) {
      StatusOr<std::vector<Hash>> proof = ConsistencyProof(tree, old_size, new_size);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      ASSERT_EQ(*proof, NaiveSubproof(old_size, d, true)) << old_size << " -> " << new_size;
      Status verified =
          VerifyConsistency(old_size, new_size, roots[old_size], roots[new_size], *proof);
      ASSERT_TRUE(verified.ok()) << old_size << " -> " << new_size << ": " << verified.ToString();
    }
  }
}

TEST(MerkleBruteForceTest, SampledProofsAtLargerRandomSizes) {
  // Proves roots, inclusion and consistency proofs still match the naive definitions at larger,
  // irregular sizes.
  std::mt19937_64 random(20240607);
  std::vector<uint64_t> sizes = {255, 256, 257, 1023, 1024, 1025, 4095};
  for (int i = 0; i < 5; ++i) sizes.push_back(131 + random() % 4000);
  const std::vector<Hash> leaves = TestLeafHashes(4096 + 131);
  const MemoryTree tree = TreeOf(leaves);
  for (uint64_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    const std::span<const Hash> d = std::span(leaves).first(size);
    const Hash root = NaiveMth(d);
    StatusOr<Hash> root_at = RootAt(tree, size);
    ASSERT_TRUE(root_at.ok());
    EXPECT_EQ(*root_at, root);
    for (uint64_t index : {uint64_t{0}, size / 2, size - 1, random() % size, random() % size}) {
      StatusOr<std::vector<Hash>> proof = InclusionProof(tree, index, size);
      ASSERT_TRUE(proof.ok());
      EXPECT_EQ(*proof, NaivePath(index, d)) << index;
      EXPECT_TRUE(VerifyInclusion(leaves[index], index, size, *proof, root).ok()) << index;
    }
    for (uint64_t old_size : {uint64_t{1}, size / 2, size - 1, 1 + random() % size}) {
      StatusOr<std::vector<Hash>> proof = ConsistencyProof(tree, old_size, size);
      ASSERT_TRUE(proof.ok());
      EXPECT_EQ(*proof, NaiveSubproof(old_size, d, true)) << old_size;
      const Hash old_root = NaiveMth(d.first(old_size));
      EXPECT_TRUE(VerifyConsistency(old_size, size, old_root, root, *proof).ok()) << old_size;
    }
  }
}

void ExpectInclusionDataLoss(const Hash& leaf, uint64_t index, uint64_t size,
                             const std::vector<Hash>& proof, const Hash& root, const char* what) {
  Status status = VerifyInclusion(leaf, index, size, proof, root);
  EXPECT_EQ(status.code(), Code::kDataLoss)
      << what << ", index " << index << " size " << size << ": " << status.ToString();
}

TEST(MerkleVerifyTest, CorruptedInclusionProofsFailWithDataLoss) {
  // Proves VerifyInclusion returns DataLoss for any flipped, missing or extra proof hash, a wrong
  // leaf or a wrong root.
  const std::vector<Hash> leaves = TestLeafHashes(64);
  const MemoryTree tree = TreeOf(leaves);
  const Hash stranger = LeafHash("not in the tree");
  for (uint64_t size = 1; size <= 64; ++size) {
    const Hash root = *RootAt(tree, size);
    for (uint64_t index = 0; index < size; ++index) {
      const std::vector<Hash> proof = *InclusionProof(tree, index, size);
      const Hash& leaf = leaves[index];
      for (size_t i = 0; i < proof.size(); ++i) {
        for (size_t bit : {size_t{0}, size_t{131}, size_t{255}}) {
          std::vector<Hash> flipped = proof;
          flipped[i] = FlipBit(flipped[i], bit);
          ExpectInclusionDataLoss(leaf, index, size, flipped, root, "flipped hash");
        }
        std::vector<Hash> missing = proof;
        missing.erase(missing.begin() + static_cast<std::ptrdiff_t>(i));
        ExpectInclusionDataLoss(leaf, index, size, missing, root, "missing hash");
      }
      std::vector<Hash> appended = proof;
      appended.push_back(root);
      ExpectInclusionDataLoss(leaf, index, size, appended, root, "appended hash");
      std::vector<Hash> prepended = proof;
      prepended.insert(prepended.begin(), leaf);
      ExpectInclusionDataLoss(leaf, index, size, prepended, root, "prepended hash");
      ExpectInclusionDataLoss(stranger, index, size, proof, root, "wrong leaf");
      ExpectInclusionDataLoss(leaf, index, size, proof, FlipBit(root, 7), "wrong root");
      ExpectInclusionDataLoss(leaf, index, size, proof, EmptyRoot(), "empty root");
    }
  }
}

TEST(MerkleVerifyTest, InclusionProofIsBoundToItsIndex) {
  // Proves an inclusion proof verifies at no index other than the leaf's own, for every size up
  // to 40.
  const std::vector<Hash> leaves = TestLeafHashes(40);
  const MemoryTree tree = TreeOf(leaves);
  for (uint64_t size = 2; size <= 40; ++size) {
    const Hash root = *RootAt(tree, size);
    for (uint64_t index = 0; index < size; ++index) {
      const std::vector<Hash> proof = *InclusionProof(tree, index, size);
      for (uint64_t other = 0; other < size; ++other) {
        if (other == index) continue;
        ExpectInclusionDataLoss(leaves[index], other, size, proof, root, "wrong index");
      }
    }
  }
}

void ExpectConsistencyDataLoss(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                               const Hash& new_root, const std::vector<Hash>& proof,
                               const char* what) {
  Status status = VerifyConsistency(old_size, new_size, old_root, new_root, proof);
  EXPECT_EQ(status.code(), Code::kDataLoss)
      << what << ", " << old_size << " -> " << new_size << ": " << status.ToString();
}

TEST(MerkleVerifyTest, CorruptedConsistencyProofsFailWithDataLoss) {
  // Proves VerifyConsistency returns DataLoss for any flipped, missing or extra proof hash and for
  // wrong or swapped roots.
  const std::vector<Hash> leaves = TestLeafHashes(48);
  const MemoryTree tree = TreeOf(leaves);
  for (uint64_t new_size = 2; new_size <= 48; ++new_size) {
    const Hash new_root = *RootAt(tree, new_size);
    for (uint64_t old_size = 1; old_size < new_size; ++old_size) {
      const Hash old_root = *RootAt(tree, old_size);
      const std::vector<Hash> proof = *ConsistencyProof(tree, old_size, new_size);
      for (size_t i = 0; i < proof.size(); ++i) {
        for (size_t bit : {size_t{4}, size_t{200}}) {
          std::vector<Hash> flipped = proof;
          flipped[i] = FlipBit(flipped[i], bit);
          ExpectConsistencyDataLoss(old_size, new_size, old_root, new_root, flipped, "flipped");
        }
        std::vector<Hash> missing = proof;
        missing.erase(missing.begin() + static_cast<std::ptrdiff_t>(i));
        ExpectConsistencyDataLoss(old_size, new_size, old_root, new_root, missing, "missing");
      }
      for (const Hash& extra : {old_root, new_root, proof.front()}) {
        std::vector<Hash> appended = proof;
        appended.push_back(extra);
        ExpectConsistencyDataLoss(old_size, new_size, old_root, new_root, appended, "appended");
        std::vector<Hash> prepended = proof;
        prepended.insert(prepended.begin(), extra);
        ExpectConsistencyDataLoss(old_size, new_size, old_root, new_root, prepended, "prepended");
      }
      ExpectConsistencyDataLoss(old_size, new_size, old_root, new_root, {}, "empty proof");
      ExpectConsistencyDataLoss(old_size, new_size, FlipBit(old_root, 9), new_root, proof,
                                "wrong old root");
      ExpectConsistencyDataLoss(old_size, new_size, old_root, FlipBit(new_root, 9), proof,
                                "wrong new root");
      ExpectConsistencyDataLoss(old_size, new_size, new_root, old_root, proof, "swapped roots");
    }
  }
}

TEST(MerkleVerifyTest, ImpossibleParametersAreInvalidArgument) {
  // Proves generators and verifiers answer InvalidArgument, not DataLoss or a crash, for sizes and
  // indices that cannot exist.
  const std::vector<Hash> leaves = TestLeafHashes(8);
  const MemoryTree tree = TreeOf(leaves);
  const Hash root = tree.Root();
  EXPECT_EQ(InclusionProof(tree, 8, 8).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(InclusionProof(tree, 0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(tree, 0, 8).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ConsistencyProof(tree, 5, 4).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(RangeHash(tree, 3, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(RangeHash(tree, 4, 3).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(leaves[0], 8, 8, {}, root).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyInclusion(leaves[0], 0, 0, {}, root).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(5, 4, root, root, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(1, 0, root, EmptyRoot(), {}).code(), Code::kInvalidArgument);
}

TEST(MerkleVerifyTest, TrivialConsistencyComparesRoots) {
  // Proves that with nothing to prove (equal sizes, or an empty old tree) VerifyConsistency still
  // checks the roots and rejects any proof hash.
  const std::vector<Hash> leaves = TestLeafHashes(5);
  const MemoryTree tree = TreeOf(leaves);
  const Hash root = tree.Root();
  const Hash other = *RootAt(tree, 4);
  EXPECT_TRUE(ConsistencyProof(tree, 5, 5)->empty());
  EXPECT_TRUE(VerifyConsistency(5, 5, root, root, {}).ok());
  EXPECT_EQ(VerifyConsistency(5, 5, root, other, {}).code(), Code::kDataLoss);
  EXPECT_EQ(VerifyConsistency(5, 5, root, root, std::vector<Hash>{root}).code(), Code::kDataLoss);
  EXPECT_TRUE(VerifyConsistency(0, 5, EmptyRoot(), root, {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 0, EmptyRoot(), EmptyRoot(), {}).ok());
  EXPECT_EQ(VerifyConsistency(0, 5, other, root, {}).code(), Code::kDataLoss);
  EXPECT_EQ(VerifyConsistency(0, 5, EmptyRoot(), root, std::vector<Hash>{root}).code(),
            Code::kDataLoss);
}

TEST(MerkleRangeTest, ArbitraryRangesMatchNaiveMth) {
  // Proves RangeHash equals MTH of the sub-list for every range, aligned or not, within 40 leaves.
  const std::vector<Hash> leaves = TestLeafHashes(40);
  const MemoryTree tree = TreeOf(leaves);
  for (uint64_t begin = 0; begin < 40; ++begin) {
    for (uint64_t end = begin + 1; end <= 40; ++end) {
      StatusOr<Hash> hash = RangeHash(tree, begin, end);
      ASSERT_TRUE(hash.ok()) << hash.status().ToString();
      EXPECT_EQ(*hash, NaiveMth(std::span(leaves).subspan(begin, end - begin)))
          << "[" << begin << ", " << end << ")";
    }
  }
}

TEST(MerkleSourceTest, ProofsReadLogarithmicallyManySubtrees) {
  // Proves roots and proofs read at most two subtrees per tree level, so stored trees cost O(log n)
  // reads.
  const std::vector<Hash> leaves = TestLeafHashes(1100);
  const MemoryTree tree = TreeOf(leaves);
  const CountingSource counting(tree);
  for (uint64_t size : {1, 2, 3, 7, 64, 65, 100, 127, 1000, 1023, 1024, 1025, 1100}) {
    const uint64_t reads_max = 2 * static_cast<uint64_t>(std::bit_width(size));
    counting.reads = 0;
    ASSERT_TRUE(RootAt(counting, size).ok());
    EXPECT_LE(counting.reads, reads_max) << "root at " << size;
    for (uint64_t index : {uint64_t{0}, size / 3, size - 1}) {
      counting.reads = 0;
      ASSERT_TRUE(InclusionProof(counting, index, size).ok());
      EXPECT_LE(counting.reads, reads_max) << "inclusion " << index << " in " << size;
    }
    for (uint64_t old_size : {uint64_t{1}, size / 3 + 1, size}) {
      counting.reads = 0;
      ASSERT_TRUE(ConsistencyProof(counting, old_size, size).ok());
      EXPECT_LE(counting.reads, reads_max) << "consistency " << old_size << " -> " << size;
    }
  }
}

TEST(MerkleSourceTest, SourceErrorsPropagateUnchanged) {
  // Proves a failing subtree read surfaces as the source's own status from every reader, never as a
  // wrong hash.
  const std::vector<Hash> leaves = TestLeafHashes(13);
  const MemoryTree tree = TreeOf(leaves);
  // 13 = 8 + 4 + 1, so the root and the 12 -> 13 proof read levels 3, 2 and 0; leaf 11's
  // inclusion proof reads levels 0, 1 and 3, and leaf 12's reads levels 2 and 3.
  for (auto [level, index] : {std::pair<uint32_t, uint64_t>{0, 11}, {2, 12}, {3, 12}}) {
    const FailingSource failing(tree, level);
    EXPECT_EQ(RootAt(failing, 13).status().code(), Code::kIoError) << level;
    EXPECT_EQ(InclusionProof(failing, index, 13).status().code(), Code::kIoError) << level;
    EXPECT_EQ(ConsistencyProof(failing, 12, 13).status().code(), Code::kIoError) << level;
    EXPECT_EQ(Frontier::Load(failing, 13).status().code(), Code::kIoError) << level;
  }
  // A source that has not got the subtree says NotFound, and that passes through too.
  EXPECT_EQ(RootAt(tree, 14).status().code(), Code::kNotFound);
  EXPECT_EQ(InclusionProof(tree, 0, 14).status().code(), Code::kNotFound);
  EXPECT_EQ(Frontier::Load(tree, 16).status().code(), Code::kNotFound);
}

TEST(MemoryTreeTest, SubtreesAreCompleteAlignedRangesOnly) {
  // Proves MemoryTree::Subtree returns MTH of exactly the aligned leaf range for complete subtrees
  // and NotFound for incomplete ones.
  const std::vector<Hash> leaves = TestLeafHashes(kBruteForceSizeMax);
  const MemoryTree tree = TreeOf(leaves);
  for (uint32_t level = 0; level < 9; ++level) {
    const uint64_t width = uint64_t{1} << level;
    for (uint64_t index = 0; index <= kBruteForceSizeMax / width + 1; ++index) {
      StatusOr<Hash> subtree = tree.Subtree(level, index);
      if ((index + 1) * width <= kBruteForceSizeMax) {
        ASSERT_TRUE(subtree.ok()) << level << "/" << index;
        EXPECT_EQ(*subtree, NaiveMth(std::span(leaves).subspan(index * width, width)));
      } else {
        EXPECT_EQ(subtree.status().code(), Code::kNotFound) << level << "/" << index;
      }
    }
  }
}

TEST(FrontierTest, LoadThenAppendMatchesFreshFrontier) {
  // Proves a Frontier loaded at any size and then appended to has the same size and roots as one
  // built from scratch.
  const std::vector<Hash> leaves = TestLeafHashes(kBruteForceSizeMax);
  const MemoryTree tree = TreeOf(leaves);
  std::vector<Hash> fresh_roots;
  Frontier fresh;
  for (const Hash& leaf : leaves) {
    fresh.Append(leaf);
    fresh_roots.push_back(fresh.Root());
  }
  for (uint64_t loaded_size = 0; loaded_size <= kBruteForceSizeMax; ++loaded_size) {
    StatusOr<Frontier> loaded = Frontier::Load(tree, loaded_size);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ASSERT_EQ(loaded->size(), loaded_size);
    const Hash expected = loaded_size == 0 ? EmptyRoot() : fresh_roots[loaded_size - 1];
    ASSERT_EQ(loaded->Root(), expected) << loaded_size;
    for (uint64_t size = loaded_size + 1; size <= kBruteForceSizeMax; ++size) {
      loaded->Append(leaves[size - 1]);
      ASSERT_EQ(loaded->Root(), fresh_roots[size - 1]) << loaded_size << " then " << size;
    }
  }
}

TEST(FrontierTest, EmitReportsExactlyTheCompletedSubtrees) {
  // Proves Append emits the leaf and then each subtree ending at that leaf, lowest level first,
  // with MemoryTree's hashes and nothing else.
  const std::vector<Hash> leaves = TestLeafHashes(kBruteForceSizeMax);
  const MemoryTree tree = TreeOf(leaves);
  Frontier frontier = *Frontier::Load(tree, 0);
  for (uint64_t index = 0; index < kBruteForceSizeMax; ++index) {
    const auto emitted = AppendAndCollect(frontier, leaves[index]);
    // The subtrees completed by leaf `index` are those whose last leaf it is:
    // (subtree + 1) << level == index + 1.
    std::vector<std::tuple<uint32_t, uint64_t, Hash>> expected;
    for (uint32_t level = 0; level < 64; ++level) {
      const uint64_t end = index + 1;
      if ((end >> level) << level != end || (end >> level) == 0) break;
      const uint64_t subtree = (end >> level) - 1;
      expected.emplace_back(level, subtree, *tree.Subtree(level, subtree));
    }
    ASSERT_EQ(emitted, expected) << "leaf " << index;
  }
}

}  // namespace
}  // namespace ledger
