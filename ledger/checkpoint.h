// Checkpoints in the C2SP formats that transparency-log tooling shares:
// c2sp.org/tlog-checkpoint (the signed tree head's text), c2sp.org/signed-note
// (text plus signature lines, key ids, vkeys) and c2sp.org/tlog-cosignature
// (a witness's timestamped cosignature, type cosignature/v1).
//
// A signed checkpoint looks like
//
//   techmarket.cn/xining
//   20852163
//   CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//
//   — techmarket.cn/xining Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeO...
//
// Parsers are strict: they accept exactly what the specs allow, name the line
// that was wrong, and never echo private key material. Formatters REQUIRE
// values a parser would accept and produce what Go's
// golang.org/x/mod/sumdb/note produces, byte for byte.
//
// Thread-safety: free functions are pure; the signer and verifier classes
// are immutable and may be shared between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/encoding.h"
#include "ledger/status.h"

namespace ledger {

// Signature type bytes assigned by c2sp.org/signed-note. They are hashed into
// every key id and written into every vkey, so they never change.
inline constexpr uint8_t kSignatureTypeEd25519 = 0x01;
inline constexpr uint8_t kSignatureTypeCosignatureV1 = 0x04;

// A checkpoint with 100 witness cosignatures is about 12 KiB; a note near
// these limits is hostile or broken. The spec requires accepting at least
// 16 signatures; Go's note package stops at 100.
inline constexpr size_t kNoteBytesMax = 1 << 20;
inline constexpr size_t kNoteSignaturesMax = 100;

// The text of a tlog-checkpoint: origin line, decimal tree size, base64 root
// hash, then optional extension lines, each ending in "\n".
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;
};

// REQUIRES: origin and each extension non-empty, without '\n' or other ASCII
// control characters.
std::string FormatCheckpoint(const Checkpoint& checkpoint);
// Returns InvalidArgument naming the line unless text is a well-formed
// checkpoint: valid UTF-8 without control characters other than newline, at
// least three lines each ending in "\n", non-empty origin, decimal size
// without leading zeros ("0" alone excepted) that fits in 64 bits, a root
// that is canonical base64 of exactly 32 bytes, and no empty extension line.
StatusOr<Checkpoint> ParseCheckpoint(std::string_view text);

// True if name may name a key: non-empty valid UTF-8 with no '+', no Unicode
// space and no ASCII control character.
bool IsValidKeyName(std::string_view name);

// SHA-256(name || 0x0A || signature_type || public key)[:4], big-endian: the
// id that, with the name, picks a key's signature line out of a note.
uint32_t KeyId(std::string_view name, std::string_view public_key_raw,
               uint8_t signature_type = kSignatureTypeEd25519);

class NoteVerifier;

// The vkey "name+<8 hex key id>+base64(type || public key)".
// REQUIRES: IsValidKeyName(name), public_key_raw is 32 bytes.
std::string FormatVkey(std::string_view name, uint8_t signature_type,
                       std::string_view public_key_raw);

// Signs note texts with an Ed25519 key as signature type 0x01.
class NoteSigner {
 public:
  // REQUIRES: IsValidKeyName(name).
  NoteSigner(std::string name, PrivateKey key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  // The vkey "name+<8 hex key id>+base64(0x01 || public key)" to give to
  // verifiers.
  std::string VerifierKey() const;
  NoteVerifier Verifier() const;

  // Returns the 64-byte Ed25519 signature of text (the bytes that follow the
  // key id on a signature line). REQUIRES: text ends in "\n".
  std::string Sign(std::string_view text) const;

 private:
  std::string name_;
  PrivateKey key_;
  uint32_t key_id_;
};

// Parses the Go note signer key "PRIVATE+KEY+name+<8 hex key id>+base64(0x01
// || 32-byte seed)" and checks the key id against the derived public key.
// Error messages never contain the key.
StatusOr<NoteSigner> ParseSignerKey(std::string_view skey);

// Verifies one key's signatures: type 0x01 (Ed25519 over the note text) or
// type 0x04 (cosignature/v1 over the timestamped text).
class NoteVerifier {
 public:
  // Parses "name+<8 lowercase hex key id>+base64(type || 32-byte key)" for
  // type 0x01 or 0x04 and checks the key id; InvalidArgument otherwise.
  static StatusOr<NoteVerifier> FromVkey(std::string_view vkey);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  uint8_t signature_type() const { return signature_type_; }
  const PublicKey& key() const { return key_; }

  // True if signature (the bytes after the key id on a signature line) is
  // this key's valid signature of text; false on any failure.
  bool Verify(std::string_view text, std::string_view signature) const;
  std::string ToVkey() const;

 private:
  friend class NoteSigner;
  friend class CosignatureSigner;
  NoteVerifier(std::string name, uint8_t signature_type, PublicKey key);

  std::string name_;
  uint8_t signature_type_;
  PublicKey key_;
  uint32_t key_id_;
};

// One signature line: "— <name> base64(key id || signature)".
struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // The bytes after the 4-byte key id.
};

struct SignedNote {
  std::string text;  // Includes the final "\n"; excludes the blank line.
  std::vector<NoteSignature> signatures;
};

// The line, ending in "\n". REQUIRES: IsValidKeyName(signature.name).
std::string FormatSignatureLine(const NoteSignature& signature);
// text, a blank line, then one line per signature in order.
// REQUIRES: text ends in "\n"; at least one signature.
std::string FormatNote(const SignedNote& note);
// Parses without verifying. InvalidArgument naming the line unless the note
// is valid UTF-8 without control characters other than newline, and ends in
// a blank line followed by well-formed signature lines; ResourceExhausted
// beyond kNoteBytesMax bytes or kNoteSignaturesMax signatures.
StatusOr<SignedNote> ParseNote(std::string_view note);

// Returns the note: text signed by signer. REQUIRES: text ends in "\n".
std::string SignNote(std::string_view text, const NoteSigner& signer);
// OK if note carries a signature line with verifier's name and key id and
// every such line verifies; NotFound if it carries none; DataLoss if one does
// not verify. Lines of other keys are ignored, as the spec requires.
Status VerifyNote(const SignedNote& note, const NoteVerifier& verifier);

// The message a cosignature/v1 signs: "cosignature/v1\ntime <t>\n" + text.
std::string CosignatureMessage(std::string_view checkpoint_text, uint64_t timestamp_seconds);

// A witness's key: cosigns checkpoints as signature type 0x04.
class CosignatureSigner {
 public:
  // REQUIRES: IsValidKeyName(name).
  CosignatureSigner(std::string name, PrivateKey key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  // The vkey "name+<8 hex key id>+base64(0x04 || public key)".
  std::string VerifierKey() const;
  NoteVerifier Verifier() const;

  // Returns the signature line for checkpoint_text at the given POSIX time;
  // its signature is timestamp (8 bytes, big-endian) || Ed25519 signature.
  // REQUIRES: checkpoint_text ends in "\n"; timestamp_seconds < 2^63.
  NoteSignature Cosign(std::string_view checkpoint_text, uint64_t timestamp_seconds) const;

 private:
  std::string name_;
  PrivateKey key_;
  uint32_t key_id_;
};

// The timestamp of a cosignature/v1 signature; InvalidArgument unless the
// signature is 72 bytes with a timestamp below 2^63.
StatusOr<uint64_t> CosignatureTimestamp(const NoteSignature& signature);

}  // namespace ledger
