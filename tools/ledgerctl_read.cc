// ledgerctl commands that read: key, log, checkpoint, proof, verify. log,
// checkpoint and proof also run through a node's API (--node), printing
// what they print on the database itself.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ledger/checkpoint.h"
#include "ledger/entry_json.h"
#include "ledger/origins.h"
#include "net/http_api.h"
#include "tools/cli_util.h"
#include "tools/ledgerctl.h"
#include "tools/node_client.h"

namespace ledger::cli {
namespace {

using Json = nlohmann::ordered_json;

// Entries read from the database at a time by `log`.
constexpr uint64_t kLogPageEntries = 1000;

Json HexList(const std::vector<Hash>& hashes) {
  Json list = Json::array();
  for (const Hash& hash : hashes) list.push_back(HexEncode(hash));
  return list;
}

void PrintJson(const Json& value) { std::printf("%s\n", value.dump().c_str()); }

void PrintProofText(const std::vector<Hash>& hashes) {
  for (const Hash& hash : hashes) std::printf("%s\n", HexEncode(hash).c_str());
}

// One entry as `log` prints it.
Status PrintEntry(uint64_t index, const std::string& bytes, bool json) {
  StatusOr<std::string> entry = EntryToJson(bytes);
  if (!entry.ok()) return entry.status().WithContext("index " + std::to_string(index));
  std::string leaf = HexEncode(LeafHash(bytes));
  if (json) {
    // The entry is spliced in as already-rendered JSON to keep its order.
    std::printf("{\"index\":%llu,\"leaf_hash\":\"%s\",\"entry\":%s,\"entry_b64\":\"%s\"}\n",
                (unsigned long long)index, leaf.c_str(), entry->c_str(),
                Base64Encode(bytes).c_str());
  } else {
    std::printf("%8llu  %.16s  %s\n", (unsigned long long)index, leaf.c_str(), entry->c_str());
  }
  return Status::Ok();
}

// The end of the range `log --from --limit` prints of a log of `size`.
uint64_t LogEnd(uint64_t size, uint64_t from, std::optional<uint64_t> limit) {
  return limit ? std::min(size, from + std::min(*limit, size)) : size;
}

struct InclusionProof {
  std::string origin;
  uint64_t index = 0;
  uint64_t size = 0;
  Hash leaf{};
  Hash root{};
  std::vector<Hash> hashes;
};

void PrintInclusion(const InclusionProof& proof, bool json) {
  if (!json) {
    std::printf("index %llu size %llu\nleaf %s\nroot %s\n", (unsigned long long)proof.index,
                (unsigned long long)proof.size, HexEncode(proof.leaf).c_str(),
                HexEncode(proof.root).c_str());
    return PrintProofText(proof.hashes);
  }
  PrintJson({{"origin", proof.origin},
             {"index", proof.index},
             {"size", proof.size},
             {"leaf_hash", HexEncode(proof.leaf)},
             {"root", HexEncode(proof.root)},
             {"hashes", HexList(proof.hashes)}});
}

struct ConsistencyProof {
  std::string origin;
  uint64_t from = 0;
  uint64_t to = 0;
  Hash old_root{};
  Hash new_root{};
  std::vector<Hash> hashes;
};

void PrintConsistency(const ConsistencyProof& proof, bool json) {
  if (!json) {
    std::printf("from %llu to %llu\nold_root %s\nnew_root %s\n", (unsigned long long)proof.from,
                (unsigned long long)proof.to, HexEncode(proof.old_root).c_str(),
                HexEncode(proof.new_root).c_str());
    return PrintProofText(proof.hashes);
  }
  PrintJson({{"origin", proof.origin},
             {"from", proof.from},
             {"to", proof.to},
             {"old_root", HexEncode(proof.old_root)},
             {"new_root", HexEncode(proof.new_root)},
             {"hashes", HexList(proof.hashes)}});
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

int RunLog(const std::string& dir, const std::string& market, uint64_t from,
           std::optional<uint64_t> limit, bool json) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<OriginHead> head = (*log)->HeadOfMarket(market);
  if (!head.ok()) return Fail(head.status());
  uint64_t end = LogEnd(head->size, from, limit);
  for (uint64_t index = from; index < end;) {
    uint64_t page_end = std::min(end, index + kLogPageEntries);
    StatusOr<std::vector<std::string>> entries = (*log)->ReadEntries(head->id, index, page_end);
    if (!entries.ok()) return Fail(entries.status());
    for (const std::string& bytes : *entries) {
      Status printed = PrintEntry(index++, bytes, json);
      if (!printed.ok()) return Fail(printed);
    }
  }
  return kExitOk;
}

int RunCheckpoint(const std::string& dir, const std::string& market) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<OriginHead> head = (*log)->HeadOfMarket(market);
  if (!head.ok()) return Fail(head.status());
  if (head->checkpoint.empty()) {
    return Fail(Status::NotFound("the log of " + head->market + " is not held yet"));
  }
  StatusOr<std::string> note = (*log)->CheckpointOf(head->id, head->size);
  if (!note.ok()) return Fail(note.status());
  std::fwrite(note->data(), 1, note->size(), stdout);
  return kExitOk;
}

int RunProofInclusion(const std::string& dir, const std::string& market, uint64_t index,
                      std::optional<uint64_t> size, bool json) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<OriginHead> head = (*log)->HeadOfMarket(market);
  if (!head.ok()) return Fail(head.status());
  InclusionProof out;
  out.origin = head->origin;
  out.index = index;
  out.size = size.value_or(head->size);
  StatusOr<std::vector<Hash>> proof = (*log)->InclusionProofOf(head->id, index, out.size);
  if (!proof.ok()) return Fail(proof.status());
  out.hashes = *std::move(proof);
  StatusOr<std::vector<std::string>> entry = (*log)->ReadEntries(head->id, index, index + 1);
  if (!entry.ok()) return Fail(entry.status());
  out.leaf = LeafHash((*entry)[0]);
  StatusOr<Hash> root = (*log)->RootOf(head->id, out.size);
  if (!root.ok()) return Fail(root.status());
  out.root = *root;
  PrintInclusion(out, json);
  return kExitOk;
}

int RunProofConsistency(const std::string& dir, const std::string& market, uint64_t from,
                        uint64_t to, bool json) {
  StatusOr<std::unique_ptr<Log>> log = OpenLog(dir, /*read_only=*/true);
  if (!log.ok()) return Fail(log.status());
  StatusOr<OriginHead> head = (*log)->HeadOfMarket(market);
  if (!head.ok()) return Fail(head.status());
  ConsistencyProof out;
  out.origin = head->origin;
  out.from = from;
  out.to = to;
  StatusOr<std::vector<Hash>> proof = (*log)->ConsistencyProofOf(head->id, from, to);
  if (!proof.ok()) return Fail(proof.status());
  out.hashes = *std::move(proof);
  StatusOr<Hash> old_root = (*log)->RootOf(head->id, from);
  if (!old_root.ok()) return Fail(old_root.status());
  out.old_root = *old_root;
  StatusOr<Hash> new_root = (*log)->RootOf(head->id, to);
  if (!new_root.ok()) return Fail(new_root.status());
  out.new_root = *new_root;
  PrintConsistency(out, json);
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

// --- Through a node (--node). What the node sends is checked as far as it
// can be without its key: each entry against its leaf hash, each proof
// against its root and the root against the checkpoint sent with it. ---

namespace {

StatusOr<Json> GetJson(NodeClient& node, const std::string& target) {
  LEDGER_ASSIGN_OR_RETURN(std::string body, node.Get(target));
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return Status::DataLoss("GET " + node.url() + target + ": the answer is not a JSON object");
  }
  return json;
}

// Members the node must have sent; DataLoss names a missing or mistyped one.
Status MissingMember(const char* name) {
  return Status::DataLoss(std::string("node answer: no proper \"") + name + "\"");
}

StatusOr<std::string> StringMember(const Json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_string()) return MissingMember(name);
  return it->get<std::string>();
}

StatusOr<uint64_t> CountMember(const Json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_number_unsigned()) return MissingMember(name);
  return it->get<uint64_t>();
}

StatusOr<Hash> HexMember(const Json& json, const char* name) {
  LEDGER_ASSIGN_OR_RETURN(std::string hex, StringMember(json, name));
  StatusOr<Hash> hash = HashFromHex(hex);
  if (!hash.ok()) return Status::DataLoss(std::string("node answer: \"") + name + "\" is no hash");
  return hash;
}

StatusOr<std::vector<Hash>> ProofMember(const Json& json) {
  auto list = json.find("proof");
  if (list == json.end() || !list->is_array()) return MissingMember("proof");
  std::vector<Hash> hashes;
  for (const Json& text : *list) {
    StatusOr<std::string> bytes =
        text.is_string() ? Base64Decode(text.get<std::string>()) : MissingMember("proof");
    if (!bytes.ok() || bytes->size() != 32) {
      return Status::DataLoss("node answer: \"proof\" holds something other than hashes");
    }
    hashes.push_back(HashFromBytes(*bytes));
  }
  return hashes;
}

// The checkpoint in `json[name]`, when sent, must be of `size` and `root`.
Status CheckCheckpoint(const Json& json, const char* name, uint64_t size, const Hash& root) {
  if (!json.contains(name)) return Status::Ok();
  LEDGER_ASSIGN_OR_RETURN(std::string note, StringMember(json, name));
  LEDGER_ASSIGN_OR_RETURN(SignedNote parsed, ParseNote(note));
  LEDGER_ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpoint(parsed.text));
  if (checkpoint.size != size || checkpoint.root != root) {
    return Status::DataLoss(std::string("node answer: \"") + name +
                            "\" is not the checkpoint of the proof's root");
  }
  return Status::Ok();
}

// The market a command names, or the node's own.
StatusOr<std::string> MarketOrOwn(NodeClient& node, const std::string& market) {
  if (!market.empty()) return QueryEscape(market);
  LEDGER_ASSIGN_OR_RETURN(Json status, GetJson(node, "/v1/status"));
  LEDGER_ASSIGN_OR_RETURN(std::string own, StringMember(status, "market"));
  return QueryEscape(own);
}

// Prints one page's entries from `*index` on, checking each against its
// index and leaf hash.
Status PrintPage(const Json& page, uint64_t end, bool json, uint64_t* index) {
  auto entries = page.find("entries");
  if (entries == page.end() || !entries->is_array() || entries->empty()) {
    return Status::DataLoss("node answer: no entries at index " + std::to_string(*index));
  }
  for (const Json& row : *entries) {
    if (*index == end) break;
    LEDGER_ASSIGN_OR_RETURN(uint64_t at, CountMember(row, "index"));
    LEDGER_ASSIGN_OR_RETURN(std::string b64, StringMember(row, "entry_b64"));
    LEDGER_ASSIGN_OR_RETURN(Hash leaf, HexMember(row, "leaf_hash"));
    StatusOr<std::string> bytes = Base64Decode(b64);
    if (at != *index || !bytes.ok() || LeafHash(*bytes) != leaf) {
      return Status::DataLoss("node answer: entry " + std::to_string(*index) +
                              " does not match its index or leaf hash");
    }
    LEDGER_RETURN_IF_ERROR(PrintEntry((*index)++, *bytes, json));
  }
  return Status::Ok();
}

Status LogThroughNode(NodeClient& node, const std::string& market, uint64_t from,
                      std::optional<uint64_t> limit, bool json) {
  LEDGER_ASSIGN_OR_RETURN(std::string name, MarketOrOwn(node, market));
  std::string path = "/v1/entries/" + name;
  auto page_at = [&](uint64_t index, uint64_t count) {
    return GetJson(node, path + "?from=" + std::to_string(index) +
                             "&limit=" + std::to_string(std::max<uint64_t>(count, 1)));
  };
  // The size of the first answer bounds the output, as the database's size
  // does for the direct command, however the log grows meanwhile.
  constexpr uint64_t kPageMax = net::HttpApi::kEntriesPerPageMax;
  LEDGER_ASSIGN_OR_RETURN(Json page, page_at(from, std::min(limit.value_or(kPageMax), kPageMax)));
  LEDGER_ASSIGN_OR_RETURN(uint64_t size, CountMember(page, "size"));
  uint64_t end = LogEnd(size, from, limit);
  for (uint64_t index = from; index < end;) {
    if (index != from) {
      LEDGER_ASSIGN_OR_RETURN(page, page_at(index, std::min(end - index, kPageMax)));
    }
    LEDGER_RETURN_IF_ERROR(PrintPage(page, end, json, &index));
  }
  return Status::Ok();
}

StatusOr<InclusionProof> InclusionThroughNode(NodeClient& node, const std::string& market,
                                              uint64_t index, std::optional<uint64_t> size) {
  LEDGER_ASSIGN_OR_RETURN(std::string name, MarketOrOwn(node, market));
  std::string target = "/v1/proof/inclusion/" + name + "?index=" + std::to_string(index);
  if (size) target += "&size=" + std::to_string(*size);
  LEDGER_ASSIGN_OR_RETURN(Json json, GetJson(node, target));
  InclusionProof out;
  LEDGER_ASSIGN_OR_RETURN(out.origin, StringMember(json, "origin"));
  out.index = index;
  LEDGER_ASSIGN_OR_RETURN(out.size, CountMember(json, "size"));
  LEDGER_ASSIGN_OR_RETURN(out.leaf, HexMember(json, "leaf_hash"));
  LEDGER_ASSIGN_OR_RETURN(out.root, HexMember(json, "root"));
  LEDGER_ASSIGN_OR_RETURN(out.hashes, ProofMember(json));
  Status verified = VerifyInclusion(out.leaf, out.index, out.size, out.hashes, out.root);
  if (!verified.ok()) return verified.WithContext("the node's inclusion proof");
  LEDGER_RETURN_IF_ERROR(CheckCheckpoint(json, "checkpoint", out.size, out.root));
  return out;
}

StatusOr<ConsistencyProof> ConsistencyThroughNode(NodeClient& node, const std::string& market,
                                                  uint64_t from, uint64_t to) {
  LEDGER_ASSIGN_OR_RETURN(std::string name, MarketOrOwn(node, market));
  LEDGER_ASSIGN_OR_RETURN(
      Json json, GetJson(node, "/v1/proof/consistency/" + name + "?from=" + std::to_string(from) +
                                   "&to=" + std::to_string(to)));
  ConsistencyProof out;
  out.from = from;
  out.to = to;
  LEDGER_ASSIGN_OR_RETURN(out.origin, StringMember(json, "origin"));
  LEDGER_ASSIGN_OR_RETURN(out.old_root, HexMember(json, "from_root"));
  LEDGER_ASSIGN_OR_RETURN(out.new_root, HexMember(json, "to_root"));
  LEDGER_ASSIGN_OR_RETURN(out.hashes, ProofMember(json));
  Status verified = VerifyConsistency(from, to, out.old_root, out.new_root, out.hashes);
  if (!verified.ok()) return verified.WithContext("the node's consistency proof");
  LEDGER_RETURN_IF_ERROR(CheckCheckpoint(json, "from_checkpoint", from, out.old_root));
  LEDGER_RETURN_IF_ERROR(CheckCheckpoint(json, "to_checkpoint", to, out.new_root));
  return out;
}

}  // namespace

int RunLogNode(NodeClient& node, const std::string& market, uint64_t from,
               std::optional<uint64_t> limit, bool json) {
  Status status = LogThroughNode(node, market, from, limit, json);
  return status.ok() ? kExitOk : Fail(status);
}

int RunCheckpointNode(NodeClient& node, const std::string& market) {
  StatusOr<std::string> name = MarketOrOwn(node, market);
  if (!name.ok()) return Fail(name.status());
  StatusOr<std::string> note = node.Get("/v1/checkpoint/" + *name);
  if (!note.ok()) return Fail(note.status());
  std::fwrite(note->data(), 1, note->size(), stdout);
  return kExitOk;
}

int RunProofInclusionNode(NodeClient& node, const std::string& market, uint64_t index,
                          std::optional<uint64_t> size, bool json) {
  StatusOr<InclusionProof> proof = InclusionThroughNode(node, market, index, size);
  if (!proof.ok()) return Fail(proof.status());
  PrintInclusion(*proof, json);
  return kExitOk;
}

int RunProofConsistencyNode(NodeClient& node, const std::string& market, uint64_t from, uint64_t to,
                            bool json) {
  StatusOr<ConsistencyProof> proof = ConsistencyThroughNode(node, market, from, to);
  if (!proof.ok()) return Fail(proof.status());
  PrintConsistency(*proof, json);
  return kExitOk;
}

}  // namespace ledger::cli
