#include "ledger/tlog_proof.h"

#include <charconv>

#include "ledger/log.h"
#include "ledger/merkle.h"
#include "ledger/store_subtrees.h"

namespace ledger {
namespace {

// A proof never needs more hashes than a 64-bit tree is tall.
constexpr size_t kProofHashesMax = 64;

// Splits off the first line of `text` (without its "\n"); false when no
// "\n" is left.
bool NextLine(std::string_view* text, std::string_view* line) {
  size_t newline = text->find('\n');
  if (newline == std::string_view::npos) return false;
  *line = text->substr(0, newline);
  text->remove_prefix(newline + 1);
  return true;
}

Status BadLine(size_t number, const std::string& why) {
  return Status::InvalidArgument("tlog-proof line " + std::to_string(number) + ": " + why);
}

}  // namespace

std::string FormatTlogProof(const TlogProof& proof) {
  std::string text(kTlogProofHeader);
  text += "\n";
  if (!proof.extra.empty()) text += "extra " + Base64Encode(proof.extra) + "\n";
  text += "index " + std::to_string(proof.index) + "\n";
  for (const Hash& hash : proof.hashes) {
    text += Base64Encode(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
    text += "\n";
  }
  text += "\n";
  text += proof.checkpoint;
  return text;
}

StatusOr<TlogProof> ParseTlogProof(std::string_view text) {
  TlogProof proof;
  std::string_view line;
  size_t number = 1;
  if (!NextLine(&text, &line) || line != kTlogProofHeader) {
    return BadLine(number, "want \"" + std::string(kTlogProofHeader) + "\"");
  }
  if (!NextLine(&text, &line)) return BadLine(++number, "missing");
  ++number;
  if (line.substr(0, 6) == "extra ") {
    StatusOr<std::string> extra = Base64Decode(line.substr(6));
    if (!extra.ok()) return BadLine(number, "extra: " + extra.status().message());
    proof.extra = std::move(*extra);
    if (!NextLine(&text, &line)) return BadLine(++number, "missing");
    ++number;
  }
  std::string_view digits = line.substr(0, 6) == "index " ? line.substr(6) : std::string_view();
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), proof.index);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      (digits.size() > 1 && digits[0] == '0')) {
    return BadLine(number, "want \"index N\" with N decimal, no leading zeros");
  }
  while (true) {
    if (!NextLine(&text, &line)) return BadLine(++number, "missing the blank line before the checkpoint");
    ++number;
    if (line.empty()) break;
    if (proof.hashes.size() == kProofHashesMax) return BadLine(number, "too many proof hashes");
    StatusOr<std::string> hash = Base64Decode(line);
    if (!hash.ok() || hash->size() != 32) return BadLine(number, "want a base64 SHA-256 hash");
    proof.hashes.push_back(HashFromBytes(*hash));
  }
  if (text.empty()) return BadLine(number + 1, "missing the checkpoint");
  proof.checkpoint = std::string(text);
  return proof;
}

StatusOr<TlogProof> MakeTlogProof(const Log& log, uint32_t origin_id, uint64_t index,
                                  uint64_t size) {
  TlogProof proof;
  proof.index = index;
  LEDGER_ASSIGN_OR_RETURN(proof.checkpoint, log.CheckpointOf(origin_id, size));
  LEDGER_ASSIGN_OR_RETURN(proof.hashes,
                          InclusionProof(StoreSubtrees(log.store(), origin_id), index, size));
  LEDGER_ASSIGN_OR_RETURN(std::vector<std::string> entry,
                          log.ReadEntries(origin_id, index, index + 1));
  proof.extra = std::move(entry[0]);
  return proof;
}

}  // namespace ledger
