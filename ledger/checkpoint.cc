#include "ledger/checkpoint.h"

#include <openssl/crypto.h>

#include <cassert>
#include <cstdio>
#include <limits>

namespace ledger {
namespace {

// U+2014 EM DASH then U+0020 SPACE, in UTF-8: how every signature line starts.
constexpr std::string_view kSignatureLinePrefix = "\xe2\x80\x94 ";
constexpr std::string_view kSignerKeyPrefix = "PRIVATE+KEY+";
constexpr std::string_view kCosignatureHeader = "cosignature/v1\ntime ";
constexpr size_t kKeyIdBytes = 4;
constexpr size_t kKeyIdHexDigits = 8;
constexpr size_t kCosignatureTimestampBytes = 8;
constexpr size_t kCosignatureBytes = kCosignatureTimestampBytes + kEd25519SignatureBytes;
// tlog-cosignature: the timestamp "MUST NOT exceed 2^63 - 1".
constexpr uint64_t kCosignatureTimestampMax = std::numeric_limits<int64_t>::max();
// "18446744073709551615" is the longest uint64_t.
constexpr size_t kTreeSizeDigitsMax = 20;

// Returns the code point at text[*index] and advances past it, or -1 if no
// well-formed UTF-8 sequence starts there (overlong forms and surrogates are
// not well-formed).
int32_t DecodeUtf8(std::string_view text, size_t* index) {
  uint8_t lead = static_cast<uint8_t>(text[*index]);
  if (lead < 0x80) {
    ++*index;
    return lead;
  }
  // The lead byte gives the sequence length and the top bits of the value.
  size_t length = 0;
  int32_t code_point = 0;
  int32_t code_point_min = 0;
  if (lead >= 0xc0 && lead < 0xe0) {
    length = 2;
    code_point = lead & 0x1f;
    code_point_min = 0x80;
  } else if (lead >= 0xe0 && lead < 0xf0) {
    length = 3;
    code_point = lead & 0x0f;
    code_point_min = 0x800;
  } else if (lead >= 0xf0 && lead < 0xf8) {
    length = 4;
    code_point = lead & 0x07;
    code_point_min = 0x10000;
  } else {
    return -1;
  }
  if (text.size() - *index < length) return -1;
  for (size_t i = 1; i < length; ++i) {
    uint8_t next = static_cast<uint8_t>(text[*index + i]);
    if ((next & 0xc0) != 0x80) return -1;
    code_point = code_point << 6 | (next & 0x3f);
  }
  if (code_point < code_point_min || code_point > 0x10ffff ||
      (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return -1;
  }
  *index += length;
  return code_point;
}

// The Unicode White_Space characters, as Go's unicode.IsSpace (which the Go
// note package applies to key names) defines them.
bool IsUnicodeSpace(int32_t c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

Status LineError(std::string_view what, size_t line_number, std::string_view problem) {
  return Status::InvalidArgument(std::string(what) + ": line " + std::to_string(line_number) +
                                 ": " + std::string(problem));
}

// signed-note: "MUST be valid UTF-8 and MUST NOT contain any ASCII control
// characters (those below U+0020) other than newline."
Status CheckNoteCharacters(std::string_view text, std::string_view what) {
  size_t line_number = 1;
  for (size_t index = 0; index < text.size();) {
    int32_t c = DecodeUtf8(text, &index);
    if (c < 0) return LineError(what, line_number, "invalid UTF-8");
    if (c == '\n') {
      ++line_number;
    } else if (c < 0x20) {
      char problem[40];
      std::snprintf(problem, sizeof(problem), "control character 0x%02x", unsigned(c));
      return LineError(what, line_number, problem);
    }
  }
  return Status::Ok();
}

size_t CountNewlines(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += c == '\n';
  return count;
}

// REQUIRES: text is empty or ends in '\n'. Returns the lines without '\n'.
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

StatusOr<uint64_t> ParseTreeSize(std::string_view digits) {
  if (digits.empty()) return Status::InvalidArgument("tree size: empty");
  if (digits.size() > 1 && digits[0] == '0') {
    return Status::InvalidArgument("tree size: leading zero");
  }
  if (digits.size() > kTreeSizeDigitsMax) return Status::InvalidArgument("tree size: too large");
  uint64_t size = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return Status::InvalidArgument("tree size: not a decimal number");
    uint64_t digit = uint64_t(c - '0');
    if (size > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return Status::InvalidArgument("tree size: too large");
    }
    size = size * 10 + digit;
  }
  return size;
}

StatusOr<Hash> ParseRootHash(std::string_view base64) {
  StatusOr<std::string> bytes = Base64Decode(base64);
  if (!bytes.ok()) return bytes.status().WithContext("root hash");
  if (bytes->size() != sizeof(Hash)) {
    return Status::InvalidArgument("root hash: want 32 bytes, got " +
                                   std::to_string(bytes->size()));
  }
  return HashFromBytes(*bytes);
}

std::string KeyIdHex(uint32_t key_id) {
  std::string bytes;
  PutBigEndian32(&bytes, key_id);
  return HexEncode(bytes);
}

// The parts of "name+<8 hex key id>+base64(type || key)", the form shared by
// vkeys and (after "PRIVATE+KEY+") signer keys.
struct KeyString {
  std::string name;
  uint32_t key_id = 0;
  uint8_t signature_type = 0;
  std::string key;  // The bytes after the type byte.
};

StatusOr<uint32_t> ParseKeyIdHex(std::string_view hex) {
  bool lowercase_hex = hex.size() == kKeyIdHexDigits;
  for (char c : hex) lowercase_hex &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  if (!lowercase_hex) return Status::InvalidArgument("key id: want 8 lowercase hex digits");
  LEDGER_ASSIGN_OR_RETURN(std::string bytes, HexDecode(hex));
  return GetBigEndian32(bytes);
}

// Messages name the part that was wrong but never quote the key, which may
// be secret.
StatusOr<KeyString> ParseKeyString(std::string_view text, std::string_view what) {
  size_t name_end = text.find('+');
  size_t id_end = name_end == std::string_view::npos ? name_end : text.find('+', name_end + 1);
  if (id_end == std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + ": want name+keyid+key");
  }
  KeyString parsed;
  parsed.name = std::string(text.substr(0, name_end));
  if (!IsValidKeyName(parsed.name)) {
    return Status::InvalidArgument(std::string(what) + ": invalid key name");
  }
  StatusOr<uint32_t> key_id = ParseKeyIdHex(text.substr(name_end + 1, id_end - name_end - 1));
  if (!key_id.ok()) return key_id.status().WithContext(what);
  parsed.key_id = *key_id;
  StatusOr<std::string> typed_key = Base64Decode(text.substr(id_end + 1));
  if (!typed_key.ok() || typed_key->empty()) {
    return Status::InvalidArgument(std::string(what) + ": key: want non-empty canonical base64");
  }
  parsed.signature_type = static_cast<uint8_t>((*typed_key)[0]);
  parsed.key = typed_key->substr(1);
  // A signer key's seed is secret; do not leave it in freed memory.
  OPENSSL_cleanse(typed_key->data(), typed_key->size());
  return parsed;
}

StatusOr<PrivateKey> PrivateKeyFromSignerKey(const KeyString& parsed) {
  if (parsed.signature_type != kSignatureTypeEd25519) {
    return Status::InvalidArgument("signer key: unsupported signature type");
  }
  if (parsed.key.size() != kEd25519SeedBytes) {
    return Status::InvalidArgument("signer key: want a 32-byte Ed25519 seed");
  }
  return PrivateKey::FromSeed(parsed.key);
}

StatusOr<uint64_t> ParseCosignatureTimestamp(std::string_view signature) {
  if (signature.size() != kCosignatureBytes) {
    return Status::InvalidArgument("cosignature: want 72 bytes (timestamp, signature), got " +
                                   std::to_string(signature.size()));
  }
  uint64_t timestamp_seconds = GetBigEndian64(signature);
  if (timestamp_seconds > kCosignatureTimestampMax) {
    return Status::InvalidArgument("cosignature: timestamp exceeds 2^63 - 1");
  }
  return timestamp_seconds;
}

StatusOr<NoteSignature> ParseSignatureLine(std::string_view line) {
  if (!line.starts_with(kSignatureLinePrefix)) {
    return Status::InvalidArgument("signature line does not start with em dash and space");
  }
  line.remove_prefix(kSignatureLinePrefix.size());
  size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    return Status::InvalidArgument("signature line: no space between key name and signature");
  }
  NoteSignature parsed;
  parsed.name = std::string(line.substr(0, space));
  if (!IsValidKeyName(parsed.name)) {
    return Status::InvalidArgument("signature line: invalid key name");
  }
  StatusOr<std::string> bytes = Base64Decode(line.substr(space + 1));
  if (!bytes.ok()) return bytes.status().WithContext("signature line");
  // Go's note package also demands at least one signature byte.
  if (bytes->size() <= kKeyIdBytes) {
    return Status::InvalidArgument("signature line: want key id and signature, got " +
                                   std::to_string(bytes->size()) + " bytes");
  }
  parsed.key_id = GetBigEndian32(*bytes);
  parsed.signature = bytes->substr(kKeyIdBytes);
  return parsed;
}

}  // namespace

std::string FormatVkey(std::string_view name, uint8_t signature_type,
                       std::string_view public_key_raw) {
  std::string typed_key(1, static_cast<char>(signature_type));
  typed_key += public_key_raw;
  return std::string(name) + "+" + KeyIdHex(KeyId(name, public_key_raw, signature_type)) + "+" +
         Base64Encode(typed_key);
}

std::string FormatCheckpoint(const Checkpoint& checkpoint) {
  assert(!checkpoint.origin.empty());
  std::string text = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
                     Base64Encode(AsBytes(checkpoint.root)) + "\n";
  for (const std::string& extension : checkpoint.extensions) {
    assert(!extension.empty() && extension.find('\n') == std::string::npos);
    text += extension + "\n";
  }
  return text;
}

StatusOr<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (text.size() > kNoteBytesMax) return Status::ResourceExhausted("checkpoint: too large");
  LEDGER_RETURN_IF_ERROR(CheckNoteCharacters(text, "checkpoint"));
  if (text.empty() || text.back() != '\n') {
    return LineError("checkpoint", CountNewlines(text) + 1, "does not end in newline");
  }
  std::vector<std::string_view> lines = SplitLines(text);
  if (lines.size() < 3) {
    return Status::InvalidArgument("checkpoint: want origin, tree size and root hash lines, got " +
                                   std::to_string(lines.size()) + " lines");
  }
  Checkpoint checkpoint;
  if (lines[0].empty()) return LineError("checkpoint", 1, "empty origin");
  checkpoint.origin = std::string(lines[0]);
  StatusOr<uint64_t> size = ParseTreeSize(lines[1]);
  if (!size.ok()) return size.status().WithContext("checkpoint: line 2");
  checkpoint.size = *size;
  StatusOr<Hash> root = ParseRootHash(lines[2]);
  if (!root.ok()) return root.status().WithContext("checkpoint: line 3");
  checkpoint.root = *root;
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return LineError("checkpoint", i + 1, "empty extension line");
    checkpoint.extensions.emplace_back(lines[i]);
  }
  return checkpoint;
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t index = 0; index < name.size();) {
    int32_t c = DecodeUtf8(name, &index);
    if (c < 0x20 || c == '+' || IsUnicodeSpace(c)) return false;  // c < 0: invalid UTF-8.
  }
  return true;
}

uint32_t KeyId(std::string_view name, std::string_view public_key_raw, uint8_t signature_type) {
  std::string input(name);
  input += '\n';
  input += static_cast<char>(signature_type);
  input += public_key_raw;
  return GetBigEndian32(AsBytes(Sha256(input)));
}

NoteSigner::NoteSigner(std::string name, PrivateKey key)
    : name_(std::move(name)),
      key_(std::move(key)),
      key_id_(KeyId(name_, key_.public_key().raw(), kSignatureTypeEd25519)) {
  assert(IsValidKeyName(name_));
}

std::string NoteSigner::VerifierKey() const {
  return FormatVkey(name_, kSignatureTypeEd25519, key_.public_key().raw());
}

NoteVerifier NoteSigner::Verifier() const {
  return NoteVerifier(name_, kSignatureTypeEd25519, key_.public_key());
}

std::string NoteSigner::Sign(std::string_view text) const {
  assert(!text.empty() && text.back() == '\n');
  return key_.Sign(text);
}

StatusOr<NoteSigner> ParseSignerKey(std::string_view skey) {
  if (!skey.starts_with(kSignerKeyPrefix)) {
    return Status::InvalidArgument("signer key: want PRIVATE+KEY+name+keyid+key");
  }
  LEDGER_ASSIGN_OR_RETURN(KeyString parsed,
                          ParseKeyString(skey.substr(kSignerKeyPrefix.size()), "signer key"));
  StatusOr<PrivateKey> key = PrivateKeyFromSignerKey(parsed);
  OPENSSL_cleanse(parsed.key.data(), parsed.key.size());
  if (!key.ok()) return key.status();
  if (KeyId(parsed.name, key->public_key().raw()) != parsed.key_id) {
    return Status::InvalidArgument("signer key: key id does not match the key");
  }
  return NoteSigner(std::move(parsed.name), std::move(*key));
}

NoteVerifier::NoteVerifier(std::string name, uint8_t signature_type, PublicKey key)
    : name_(std::move(name)),
      signature_type_(signature_type),
      key_(std::move(key)),
      key_id_(KeyId(name_, key_.raw(), signature_type_)) {}

StatusOr<NoteVerifier> NoteVerifier::FromVkey(std::string_view vkey) {
  LEDGER_ASSIGN_OR_RETURN(KeyString parsed, ParseKeyString(vkey, "vkey"));
  uint8_t signature_type = parsed.signature_type;
  if (signature_type != kSignatureTypeEd25519 && signature_type != kSignatureTypeCosignatureV1) {
    char problem[64];
    std::snprintf(problem, sizeof(problem), "vkey: unsupported signature type 0x%02x",
                  unsigned(signature_type));
    return Status::InvalidArgument(problem);
  }
  const std::string& raw = parsed.key;
  if (raw.size() != kEd25519PublicKeyBytes) {
    return Status::InvalidArgument("vkey: want a 32-byte Ed25519 key after the type byte, got " +
                                   std::to_string(raw.size()));
  }
  if (KeyId(parsed.name, raw, signature_type) != parsed.key_id) {
    return Status::InvalidArgument("vkey: key id " + KeyIdHex(parsed.key_id) +
                                   " does not match the key");
  }
  LEDGER_ASSIGN_OR_RETURN(PublicKey key, PublicKey::FromRaw(raw));
  return NoteVerifier(std::move(parsed.name), signature_type, std::move(key));
}

bool NoteVerifier::Verify(std::string_view text, std::string_view signature) const {
  if (signature_type_ == kSignatureTypeEd25519) return key_.Verify(text, signature);
  StatusOr<uint64_t> timestamp_seconds = ParseCosignatureTimestamp(signature);
  if (!timestamp_seconds.ok()) return false;
  return key_.Verify(CosignatureMessage(text, *timestamp_seconds),
                     signature.substr(kCosignatureTimestampBytes));
}

std::string NoteVerifier::ToVkey() const { return FormatVkey(name_, signature_type_, key_.raw()); }

std::string FormatSignatureLine(const NoteSignature& signature) {
  assert(IsValidKeyName(signature.name));
  std::string bytes;
  PutBigEndian32(&bytes, signature.key_id);
  bytes += signature.signature;
  return std::string(kSignatureLinePrefix) + signature.name + " " + Base64Encode(bytes) + "\n";
}

std::string FormatNote(const SignedNote& note) {
  assert(!note.text.empty() && note.text.back() == '\n');
  assert(!note.signatures.empty());
  std::string text = note.text + "\n";
  for (const NoteSignature& signature : note.signatures) text += FormatSignatureLine(signature);
  return text;
}

StatusOr<SignedNote> ParseNote(std::string_view note) {
  if (note.size() > kNoteBytesMax) return Status::ResourceExhausted("note: larger than 1 MiB");
  LEDGER_RETURN_IF_ERROR(CheckNoteCharacters(note, "note"));
  // The spec: "the text is separated from the signatures by the last empty
  // line in the note"; the text itself may contain empty lines.
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return Status::InvalidArgument("note: no blank line between text and signatures");
  }
  SignedNote parsed;
  parsed.text = std::string(note.substr(0, split + 1));
  std::string_view block = note.substr(split + 2);
  size_t line_number = CountNewlines(note.substr(0, split + 2)) + 1;
  if (block.empty()) return LineError("note", line_number, "no signature lines");
  if (block.back() != '\n') {
    return LineError("note", line_number + CountNewlines(block), "does not end in newline");
  }
  for (std::string_view line : SplitLines(block)) {
    if (parsed.signatures.size() == kNoteSignaturesMax) {
      return Status::ResourceExhausted("note: more than 100 signature lines");
    }
    StatusOr<NoteSignature> signature = ParseSignatureLine(line);
    if (!signature.ok()) {
      return signature.status().WithContext("note: line " + std::to_string(line_number));
    }
    parsed.signatures.push_back(std::move(*signature));
    ++line_number;
  }
  return parsed;
}

std::string SignNote(std::string_view text, const NoteSigner& signer) {
  SignedNote note{std::string(text), {{signer.name(), signer.key_id(), signer.Sign(text)}}};
  return FormatNote(note);
}

Status VerifyNote(const SignedNote& note, const NoteVerifier& verifier) {
  std::string key = verifier.name() + "+" + KeyIdHex(verifier.key_id());
  bool found = false;
  for (const NoteSignature& signature : note.signatures) {
    if (signature.name != verifier.name() || signature.key_id != verifier.key_id()) continue;
    // A repeated line of a trusted key must verify too: a forged one means
    // whoever relayed the note tampered with it.
    if (!verifier.Verify(note.text, signature.signature)) {
      return Status::DataLoss("note: signature by " + key + " does not verify");
    }
    found = true;
  }
  if (!found) return Status::NotFound("note: no signature by " + key);
  return Status::Ok();
}

std::string CosignatureMessage(std::string_view checkpoint_text, uint64_t timestamp_seconds) {
  std::string message(kCosignatureHeader);
  message += std::to_string(timestamp_seconds);
  message += '\n';
  message += checkpoint_text;
  return message;
}

CosignatureSigner::CosignatureSigner(std::string name, PrivateKey key)
    : name_(std::move(name)),
      key_(std::move(key)),
      key_id_(KeyId(name_, key_.public_key().raw(), kSignatureTypeCosignatureV1)) {
  assert(IsValidKeyName(name_));
}

std::string CosignatureSigner::VerifierKey() const {
  return FormatVkey(name_, kSignatureTypeCosignatureV1, key_.public_key().raw());
}

NoteVerifier CosignatureSigner::Verifier() const {
  return NoteVerifier(name_, kSignatureTypeCosignatureV1, key_.public_key());
}

NoteSignature CosignatureSigner::Cosign(std::string_view checkpoint_text,
                                        uint64_t timestamp_seconds) const {
  assert(!checkpoint_text.empty() && checkpoint_text.back() == '\n');
  assert(timestamp_seconds <= kCosignatureTimestampMax);
  std::string signature;
  PutBigEndian64(&signature, timestamp_seconds);
  signature += key_.Sign(CosignatureMessage(checkpoint_text, timestamp_seconds));
  return NoteSignature{name_, key_id_, std::move(signature)};
}

StatusOr<uint64_t> CosignatureTimestamp(const NoteSignature& signature) {
  return ParseCosignatureTimestamp(signature.signature);
}

}  // namespace ledger
