// ledgerctl commands that read: key, log, checkpoint, proof, verify.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ledger/entry_json.h"
#include "ledger/origins.h"
#include "tools/cli_util.h"
#include "tools/ledgerctl.h"

namespace ledger::cli {
namespace {

nlohmann::ordered_json HexList(const std::vector<Hash>& hashes) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Hash& hash : hashes) list.push_back(HexEncode(hash));
  return list;
}

void PrintJson(const nlohmann::ordered_json& value) { std::printf("%s\n", value.dump().c_str()); }

void PrintProofText(const std::vector<Hash>& hashes) {
  for (const Hash& hash : hashes) std::printf("%s\n", HexEncode(hash).c_str());
}

}  // namespace

int RunKey(const std::string& dir, bool witness) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  std::string vkey = (*log)->vkey();
  if (witness) {
    StatusOr<NoteVerifier> verifier = NoteVerifier::FromVkey(vkey);
    if (!verifier.ok()) return Fail(verifier.status());
    vkey = WitnessVkeyOf(*verifier);
  }
  std::printf("%s\n", vkey.c_str());
  return kExitOk;
}

int RunLog(const std::string& dir, uint64_t from, std::optional<uint64_t> limit, bool json) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  uint64_t size = (*log)->size();
  uint64_t end = limit ? std::min(size, from + std::min(*limit, size)) : size;
  for (uint64_t index = from; index < end; ++index) {
    StatusOr<std::string> bytes = (*log)->ReadEntry(index);
    if (!bytes.ok()) return Fail(bytes.status());
    StatusOr<std::string> entry = EntryToJson(*bytes);
    if (!entry.ok()) return Fail(entry.status().WithContext("index " + std::to_string(index)));
    std::string leaf = HexEncode(LeafHash(*bytes));
    if (json) {
      // The entry is spliced in as already-rendered JSON to keep its order.
      std::printf("{\"index\":%llu,\"leaf_hash\":\"%s\",\"entry\":%s,\"entry_b64\":\"%s\"}\n",
                  (unsigned long long)index, leaf.c_str(), entry->c_str(),
                  Base64Encode(*bytes).c_str());
    } else {
      std::printf("%8llu  %.16s  %s\n", (unsigned long long)index, leaf.c_str(), entry->c_str());
    }
  }
  return kExitOk;
}

int RunCheckpoint(const std::string& dir) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<std::string> note = (*log)->LatestCheckpoint();
  if (!note.ok()) return Fail(note.status());
  std::fwrite(note->data(), 1, note->size(), stdout);
  return kExitOk;
}

int RunProofInclusion(const std::string& dir, uint64_t index, std::optional<uint64_t> size,
                      bool json) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  uint64_t tree_size = size.value_or((*log)->size());
  StatusOr<std::vector<Hash>> proof = (*log)->InclusionProof(index, tree_size);
  if (!proof.ok()) return Fail(proof.status());
  StatusOr<Hash> leaf = (*log)->LeafHashAt(index);
  if (!leaf.ok()) return Fail(leaf.status());
  StatusOr<Hash> root = (*log)->RootAt(tree_size);
  if (!root.ok()) return Fail(root.status());
  if (!json) {
    std::printf("index %llu size %llu\nleaf %s\nroot %s\n", (unsigned long long)index,
                (unsigned long long)tree_size, HexEncode(*leaf).c_str(), HexEncode(*root).c_str());
    PrintProofText(*proof);
    return kExitOk;
  }
  PrintJson({{"origin", (*log)->origin()},
             {"index", index},
             {"size", tree_size},
             {"leaf_hash", HexEncode(*leaf)},
             {"root", HexEncode(*root)},
             {"hashes", HexList(*proof)}});
  return kExitOk;
}

int RunProofConsistency(const std::string& dir, uint64_t from, uint64_t to, bool json) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<std::vector<Hash>> proof = (*log)->ConsistencyProof(from, to);
  if (!proof.ok()) return Fail(proof.status());
  StatusOr<Hash> old_root = (*log)->RootAt(from);
  if (!old_root.ok()) return Fail(old_root.status());
  StatusOr<Hash> new_root = (*log)->RootAt(to);
  if (!new_root.ok()) return Fail(new_root.status());
  if (!json) {
    std::printf("from %llu to %llu\nold_root %s\nnew_root %s\n", (unsigned long long)from,
                (unsigned long long)to, HexEncode(*old_root).c_str(), HexEncode(*new_root).c_str());
    PrintProofText(*proof);
    return kExitOk;
  }
  PrintJson({{"origin", (*log)->origin()},
             {"from", from},
             {"to", to},
             {"old_root", HexEncode(*old_root)},
             {"new_root", HexEncode(*new_root)},
             {"hashes", HexList(*proof)}});
  return kExitOk;
}

int RunVerify(const std::string& dir) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  Status status = (*log)->Verify([](uint64_t done, uint64_t total) {
    Progress("verified " + std::to_string(done) + " of " + std::to_string(total));
  });
  EndProgress();
  if (!status.ok()) {
    std::fprintf(stderr, "verify FAILED: %s\n", status.ToString().c_str());
    return kExitRejected;
  }
  std::printf("verified %llu entries of %s: every leaf hash, subtree hash and checkpoint OK\n",
              (unsigned long long)(*log)->size(), (*log)->origin().c_str());
  return kExitOk;
}

}  // namespace ledger::cli
