#include "ledger/merkle.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>

namespace ledger {
namespace {

// RFC 9162 section 2.1.1 domain separation: a leaf can never be taken for a
// node. These bytes are part of every stored hash and never change.
constexpr char kLeafPrefix = 0x00;
constexpr char kNodePrefix = 0x01;

// A digest can only fail if OpenSSL is broken or misconfigured; no caller
// could recover, so the process stops.
[[noreturn]] void DieOnOpenSsl(const char* call) {
  std::fprintf(stderr, "ledger/merkle: OpenSSL %s failed\n", call);
  std::abort();
}

const EVP_MD* Sha256Algorithm() {
  // Fetching searches the providers, so it happens once; the object lives as
  // long as the process.
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (algorithm == nullptr) DieOnOpenSsl("EVP_MD_fetch(SHA256)");
  return algorithm;
}

struct DigestContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

// Leaf and node hashing is the writer's hot path, so each thread keeps one
// context rather than allocating one per hash.
EVP_MD_CTX* ThreadDigestContext() {
  thread_local std::unique_ptr<EVP_MD_CTX, DigestContextFree> context(EVP_MD_CTX_new());
  if (context == nullptr) DieOnOpenSsl("EVP_MD_CTX_new");
  return context.get();
}

// SHA-256 of the concatenation of parts.
Hash Sha256(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* context = ThreadDigestContext();
  if (EVP_DigestInit_ex2(context, Sha256Algorithm(), nullptr) != 1) {
    DieOnOpenSsl("EVP_DigestInit_ex2");
  }
  for (std::string_view part : parts) {
    if (EVP_DigestUpdate(context, part.data(), part.size()) != 1) {
      DieOnOpenSsl("EVP_DigestUpdate");
    }
  }
  Hash digest;
  unsigned int digest_bytes = 0;
  if (EVP_DigestFinal_ex(context, digest.data(), &digest_bytes) != 1 ||
      digest_bytes != digest.size()) {
    DieOnOpenSsl("EVP_DigestFinal_ex");
  }
  return digest;
}

// RFC 9162's k: the largest power of two smaller than count.
// REQUIRES: count > 1.
uint64_t LargestPowerOfTwoBelow(uint64_t count) {
  assert(count > 1);
  return std::bit_floor(count - 1);
}

}  // namespace

Hash LeafHash(std::string_view entry_bytes) {
  return Sha256({std::string_view(&kLeafPrefix, 1), entry_bytes});
}

Hash NodeHash(const Hash& left, const Hash& right) {
  return Sha256({std::string_view(&kNodePrefix, 1), AsBytes(left), AsBytes(right)});
}

Hash EmptyRoot() {
  static const Hash empty_root = Sha256({});
  return empty_root;
}

StatusOr<Hash> RangeHash(const SubtreeSource& source, uint64_t begin, uint64_t end) {
  if (begin >= end) {
    return Status::InvalidArgument("range hash: empty range [" + std::to_string(begin) + ", " +
                                   std::to_string(end) + ")");
  }
  const uint64_t count = end - begin;
  if (std::has_single_bit(count) && begin % count == 0) {
    const int level = std::countr_zero(count);
    return source.Subtree(static_cast<uint32_t>(level), begin >> level);
  }
  // The recursion is the definition of MTH. For the ranges proofs ask about,
  // the left half is always a single aligned subtree, so only the right spine
  // recurses and the depth stays below 64.
  const uint64_t split = begin + LargestPowerOfTwoBelow(count);
  LEDGER_ASSIGN_OR_RETURN(Hash left, RangeHash(source, begin, split));
  LEDGER_ASSIGN_OR_RETURN(Hash right, RangeHash(source, split, end));
  return NodeHash(left, right);
}

StatusOr<Hash> RootAt(const SubtreeSource& source, uint64_t size) {
  if (size == 0) return EmptyRoot();
  return RangeHash(source, 0, size);
}

StatusOr<std::vector<Hash>> InclusionProof(const SubtreeSource& source, uint64_t index,
                                           uint64_t size) {
  if (index >= size) {
    return Status::InvalidArgument("inclusion proof: index " + std::to_string(index) +
                                   " is not below tree size " + std::to_string(size));
  }
  // Walks PATH's recursion from the root down, collecting the sibling of each
  // subtree that holds the leaf; PATH lists them from the leaf up.
  std::vector<Hash> proof;
  uint64_t begin = 0;
  uint64_t end = size;
  while (end - begin > 1) {
    const uint64_t split = begin + LargestPowerOfTwoBelow(end - begin);
    if (index < split) {
      LEDGER_ASSIGN_OR_RETURN(Hash sibling, RangeHash(source, split, end));
      proof.push_back(sibling);
      end = split;
    } else {
      LEDGER_ASSIGN_OR_RETURN(Hash sibling, RangeHash(source, begin, split));
      proof.push_back(sibling);
      begin = split;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

StatusOr<std::vector<Hash>> ConsistencyProof(const SubtreeSource& source, uint64_t old_size,
                                             uint64_t new_size) {
  if (old_size == 0 || old_size > new_size) {
    return Status::InvalidArgument("consistency proof: need 0 < old size <= new size, got " +
                                   std::to_string(old_size) + " and " + std::to_string(new_size));
  }
  // Walks SUBPROOF's recursion from the root down. `whole_old_tree` is
  // SUBPROOF's flag b: it stays true while the current range starts at leaf 0,
  // where the verifier already knows the old root and needs no hash for it.
  std::vector<Hash> proof;
  uint64_t begin = 0;
  uint64_t end = new_size;
  bool whole_old_tree = true;
  while (end != old_size) {
    const uint64_t split = begin + LargestPowerOfTwoBelow(end - begin);
    if (old_size <= split) {
      LEDGER_ASSIGN_OR_RETURN(Hash right, RangeHash(source, split, end));
      proof.push_back(right);
      end = split;
    } else {
      LEDGER_ASSIGN_OR_RETURN(Hash left, RangeHash(source, begin, split));
      proof.push_back(left);
      begin = split;
      whole_old_tree = false;
    }
  }
  if (!whole_old_tree) {
    LEDGER_ASSIGN_OR_RETURN(Hash old_part, RangeHash(source, begin, end));
    proof.push_back(old_part);
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                       std::span<const Hash> proof, const Hash& root) {
  // Steps and names follow RFC 9162 section 2.1.3.2.
  if (index >= size) {
    return Status::InvalidArgument("inclusion proof: index " + std::to_string(index) +
                                   " is not below tree size " + std::to_string(size));
  }
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Status::DataLoss("inclusion proof: more hashes than the tree has levels");
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::DataLoss("inclusion proof: fewer hashes than the tree has levels");
  if (r != root) return Status::DataLoss("inclusion proof: computed root does not match the root");
  return Status::Ok();
}

namespace {

// The cases RFC 9162's algorithm excludes: nothing to prove, only roots to
// compare. REQUIRES: old_size == 0 || old_size == new_size.
Status VerifyTrivialConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                                const Hash& new_root, std::span<const Hash> proof) {
  if (!proof.empty()) {
    return Status::DataLoss("consistency proof: expected no hashes, got " +
                            std::to_string(proof.size()));
  }
  if (old_size == 0 && old_root != EmptyRoot()) {
    return Status::DataLoss("consistency proof: old root is not the empty tree's root");
  }
  if (old_size == new_size && old_root != new_root) {
    return Status::DataLoss("consistency proof: roots of trees of equal size differ");
  }
  return Status::Ok();
}

}  // namespace

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) {
    return Status::InvalidArgument("consistency proof: old size " + std::to_string(old_size) +
                                   " exceeds new size " + std::to_string(new_size));
  }
  if (old_size == 0 || old_size == new_size) {
    return VerifyTrivialConsistency(old_size, new_size, old_root, new_root, proof);
  }
  // Steps and names follow RFC 9162 section 2.1.4.2.
  if (proof.empty()) return Status::DataLoss("consistency proof: no hashes");
  // Step 2 prepends first_hash when first is a power of two; starting from
  // old_root instead of proof[0] does the same without a copy.
  const bool old_is_subtree = std::has_single_bit(old_size);
  const Hash& seed = old_is_subtree ? old_root : proof[0];
  std::span<const Hash> rest = old_is_subtree ? proof : proof.subspan(1);
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = seed;
  Hash sr = seed;
  for (const Hash& c : rest) {
    if (sn == 0) return Status::DataLoss("consistency proof: more hashes than the tree has levels");
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::DataLoss("consistency proof: fewer hashes than the tree has levels");
  if (fr != old_root) return Status::DataLoss("consistency proof: old root does not match");
  if (sr != new_root) return Status::DataLoss("consistency proof: new root does not match");
  return Status::Ok();
}

StatusOr<Frontier> Frontier::Load(const SubtreeSource& source, uint64_t size) {
  // The set bits of size, highest first, are the complete subtrees that tile
  // [0, size) from the left.
  Frontier frontier;
  uint64_t begin = 0;
  for (uint32_t level = kLevelCount; level-- > 0;) {
    if (((size >> level) & 1) == 0) continue;
    LEDGER_ASSIGN_OR_RETURN(frontier.edge_[level], source.Subtree(level, begin >> level));
    begin += uint64_t{1} << level;
  }
  frontier.size_ = size;
  return frontier;
}

Hash Frontier::Root() const {
  if (size_ == 0) return EmptyRoot();
  // MTH hangs the smaller subtrees off the right of the larger ones, so fold
  // from the lowest level up.
  uint32_t level = static_cast<uint32_t>(std::countr_zero(size_));
  Hash root = edge_[level];
  for (++level; level < kLevelCount; ++level) {
    if ((size_ >> level) & 1) root = NodeHash(edge_[level], root);
  }
  return root;
}

void MemoryTree::Append(const Hash& leaf_hash) {
  levels_[0].push_back(leaf_hash);
  // An even count at a level means its last two hashes just became siblings.
  for (size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    if (level + 1 == levels_.size()) levels_.emplace_back();
    const std::vector<Hash>& below = levels_[level];
    levels_[level + 1].push_back(NodeHash(below[below.size() - 2], below.back()));
  }
}

Hash MemoryTree::Root() const {
  StatusOr<Hash> root = RootAt(*this, size());
  // Every subtree RootAt asks for is complete, so this cannot fail.
  assert(root.ok());
  return *root;
}

StatusOr<Hash> MemoryTree::Subtree(uint32_t level, uint64_t index) const {
  if (level >= levels_.size() || index >= levels_[level].size()) {
    return Status::NotFound("memory tree: no complete subtree at level " + std::to_string(level) +
                            " index " + std::to_string(index));
  }
  return levels_[level][index];
}

}  // namespace ledger
