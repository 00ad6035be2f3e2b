// The ledger's Merkle tree, exactly as RFC 9162 section 2.1 defines it: leaf
// and node hashes with 0x00/0x01 domain separation, tree heads (MTH), inclusion
// proofs (PATH) and consistency proofs (PROOF), and the verifiers for both.
//
// Proofs are generated from a SubtreeSource, which hands out hashes of
// complete, aligned subtrees; every tree size up to the source's own size can
// be proven, so old tree heads stay provable after the log grows. Frontier is
// the writer's O(log n) summary of the tree's right edge; MemoryTree keeps
// every level in memory.
//
// Thread-safety: the free functions may be called from any thread at once
// (each thread reuses its own digest context) and call the source only from
// the calling thread, through its const methods. Frontier and MemoryTree are
// plain values: const methods may run concurrently, mutations need external
// synchronization.
#pragma once

#include <array>
#include <cassert>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "ledger/encoding.h"
#include "ledger/status.h"

namespace ledger {

// RFC 9162 section 2.1 hashing.
Hash LeafHash(std::string_view entry_bytes);         // SHA-256(0x00 || entry)
Hash NodeHash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)
Hash EmptyRoot();                                    // SHA-256("")

// A source of hashes of complete, aligned subtrees: Subtree(level, index) is
// the hash of leaves [index << level, (index + 1) << level). Level 0 holds the
// leaf hashes. Errors (NotFound, DataLoss, IoError) are passed to the caller
// unchanged.
class SubtreeSource {
 public:
  virtual ~SubtreeSource() = default;
  virtual StatusOr<Hash> Subtree(uint32_t level, uint64_t index) const = 0;
};

// MTH(D[begin:end]). Ranges that RFC 9162's recursion produces (begin is a
// multiple of the largest power of two below end - begin) cost O(log n) reads;
// any other range is still hashed correctly, from smaller subtrees.
// REQUIRES: begin < end (InvalidArgument otherwise).
StatusOr<Hash> RangeHash(const SubtreeSource& source, uint64_t begin, uint64_t end);
// MTH(D[0:size]); EmptyRoot() for size 0.
StatusOr<Hash> RootAt(const SubtreeSource& source, uint64_t size);

// RFC 9162 2.1.3.1 PATH(index, D[0:size]), leaf side first. InvalidArgument
// if index >= size.
StatusOr<std::vector<Hash>> InclusionProof(const SubtreeSource& source, uint64_t index,
                                           uint64_t size);
// RFC 9162 2.1.4.1 PROOF(old_size, D[0:new_size]). InvalidArgument unless
// 0 < old_size <= new_size; old_size == new_size gives an empty proof.
StatusOr<std::vector<Hash>> ConsistencyProof(const SubtreeSource& source, uint64_t old_size,
                                             uint64_t new_size);

// RFC 9162 2.1.3.2 and 2.1.4.2 verification, written from the RFC's
// bit-by-bit algorithms and sharing no code with the generators above. OK on
// success; DataLoss naming what did not match; InvalidArgument when
// index >= size or old_size > new_size. An empty old tree is consistent with
// every tree, given an empty proof and old_root == EmptyRoot(); equal sizes
// need an empty proof and equal roots.
Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                       std::span<const Hash> proof, const Hash& root);
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, std::span<const Hash> proof);

// The right edge of a tree: one complete subtree hash per set bit of size().
// The single writer appends leaves here and learns which subtree hashes to
// store. Copyable; about 2 KiB.
class Frontier {
 public:
  Frontier() = default;  // The empty tree.

  // Reads the edge of a tree of `size` leaves from the source: one read per
  // set bit of size.
  static StatusOr<Frontier> Load(const SubtreeSource& source, uint64_t size);

  uint64_t size() const { return size_; }

  // Appends one leaf and calls emit(uint32_t level, uint64_t index,
  // const Hash& hash) for the leaf itself (level 0) and then for every subtree
  // the leaf completes, lowest level first. emit must not touch this Frontier.
  template <typename Emit>
  void Append(const Hash& leaf_hash, Emit&& emit);
  void Append(const Hash& leaf_hash) {
    Append(leaf_hash, [](uint32_t, uint64_t, const Hash&) {});
  }

  // MTH of all leaves so far; EmptyRoot() when empty.
  Hash Root() const;

 private:
  static constexpr uint32_t kLevelCount = 64;

  uint64_t size_ = 0;
  // edge_[level] is meaningful only while bit `level` of size_ is set.
  std::array<Hash, kLevelCount> edge_{};
};

template <typename Emit>
void Frontier::Append(const Hash& leaf_hash, Emit&& emit) {
  assert(size_ < std::numeric_limits<uint64_t>::max());
  Hash hash = leaf_hash;
  uint32_t level = 0;
  uint64_t index = size_;
  emit(level, index, static_cast<const Hash&>(hash));
  // Each trailing one bit of the old size is a complete left sibling waiting
  // for this leaf's subtree; carrying the bit merges the two.
  while ((size_ >> level) & 1) {
    hash = NodeHash(edge_[level], hash);
    ++level;
    index >>= 1;
    emit(level, index, static_cast<const Hash&>(hash));
  }
  edge_[level] = hash;
  ++size_;
}

// An in-memory tree holding every level, for tests, the auditor and the
// benchmark. Uses about 64 bytes per leaf.
class MemoryTree : public SubtreeSource {
 public:
  MemoryTree() : levels_(1) {}

  void Append(const Hash& leaf_hash);
  uint64_t size() const { return levels_[0].size(); }
  Hash Root() const;
  // NotFound if the subtree is not complete yet.
  StatusOr<Hash> Subtree(uint32_t level, uint64_t index) const override;

 private:
  // levels_[level][index] is the hash of a complete subtree; levels_[0] holds
  // the leaves. Never empty.
  std::vector<std::vector<Hash>> levels_;
};

}  // namespace ledger
