#include "ledger/checkpoint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/encoding.h"

namespace ledger {
namespace {

// Test data of Go's golang.org/x/mod/sumdb/note package (its package doc).
constexpr std::string_view kGoVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kGoSkey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kGoSignatureLine =
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

std::string GoNote() { return std::string(kGoText) + "\n" + std::string(kGoSignatureLine); }

// The example of c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature: a
// log signature and a witness cosignature made at time 1679315147.
constexpr std::string_view kSpecCheckpointText =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
constexpr std::string_view kSpecSignatureLines =
    "\u2014 example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+"
    "mbIUBkBIfZ+qnA==\n";

// A cosignature/v1 computed apart from this code, with Python's
// cryptography package following the tlog-cosignature text: the RFC 8032
// TEST 2 key cosigns kSpecCheckpointText as witness.example/w1 at 1679315147.
constexpr std::string_view kWitnessSeedHex =
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
constexpr std::string_view kWitnessVkey =
    "witness.example/w1+04d2d833+BD1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM";
constexpr std::string_view kWitnessCosignatureLine =
    "\u2014 witness.example/w1 "
    "BNLYMwAAAABkGFDLU5VmHzFyg1moo3QxI1Ge6wHfwylQEoWhcwJH/SvRJW3LjvpU4PIuE1VI/"
    "0HWdoZ4oGL67Rl5yx89mAducLUyBQ==\n";
constexpr uint64_t kWitnessTimestampSeconds = 1679315147;

PrivateKey KeyFromSeedHex(std::string_view hex) {
  return PrivateKey::FromSeed(HexDecode(hex).value()).value();
}

bool Contains(const Status& status, std::string_view part) {
  return status.message().find(part) != std::string::npos;
}

// ---- Go signed-note interoperability ----

TEST(GoNoteTest, VerifiesGoSignedNote) {
  // Proves we parse and verify a note signed by Go's note package.
  StatusOr<NoteVerifier> verifier = NoteVerifier::FromVkey(kGoVkey);
  ASSERT_TRUE(verifier.ok()) << verifier.status().ToString();
  EXPECT_EQ(verifier->name(), "PeterNeumann");
  EXPECT_EQ(verifier->key_id(), 0xc74f20a3u);
  EXPECT_EQ(verifier->signature_type(), kSignatureTypeEd25519);

  StatusOr<SignedNote> note = ParseNote(GoNote());
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_EQ(note->text, kGoText);
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].name, "PeterNeumann");
  EXPECT_EQ(note->signatures[0].key_id, 0xc74f20a3u);
  EXPECT_EQ(note->signatures[0].signature.size(), 64u);
  EXPECT_TRUE(VerifyNote(*note, *verifier).ok());
}

TEST(GoNoteTest, SigningWithGoSkeyReproducesGoNoteAndVkey) {
  // Proves our signer keys, key ids, vkeys and note encoding equal Go's byte
  // for byte (Ed25519 is deterministic, so Go would accept our notes).
  StatusOr<NoteSigner> signer = ParseSignerKey(kGoSkey);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  EXPECT_EQ(signer->name(), "PeterNeumann");
  EXPECT_EQ(signer->key_id(), 0xc74f20a3u);
  EXPECT_EQ(SignNote(kGoText, *signer), GoNote());
  EXPECT_EQ(signer->VerifierKey(), kGoVkey);
  EXPECT_EQ(signer->Verifier().ToVkey(), kGoVkey);
  EXPECT_EQ(NoteVerifier::FromVkey(kGoVkey)->ToVkey(), kGoVkey);
  EXPECT_EQ(FormatNote(ParseNote(GoNote()).value()), GoNote());
}

TEST(GoNoteTest, TamperedTextIsDataLoss) {
  // Proves a note whose text changed after signing fails with DataLoss.
  SignedNote note = ParseNote(GoNote()).value();
  note.text[3] = 'X';
  Status status = VerifyNote(note, NoteVerifier::FromVkey(kGoVkey).value());
  EXPECT_EQ(status.code(), Status::Code::kDataLoss) << status.ToString();
  EXPECT_TRUE(Contains(status, "PeterNeumann+c74f20a3"));
}

TEST(GoNoteTest, SignatureOfAnotherKeyIsNotFound) {
  // Proves a verifier for a different key (same name, other key id) finds
  // no signature of its own and says NotFound, not OK.
  NoteSigner impostor("PeterNeumann", PrivateKey::Generate().value());
  Status status = VerifyNote(ParseNote(GoNote()).value(), impostor.Verifier());
  EXPECT_EQ(status.code(), Status::Code::kNotFound) << status.ToString();
}

TEST(GoNoteTest, ForgedLineUnderTrustedKeyIdIsDataLoss) {
  // Proves a line claiming the trusted name and key id but signed by another
  // key fails with DataLoss, even beside a valid line of that key.
  NoteSigner other("PeterNeumann", PrivateKey::Generate().value());
  SignedNote note = ParseNote(GoNote()).value();
  note.signatures.push_back({"PeterNeumann", 0xc74f20a3u, other.Sign(note.text)});
  Status status = VerifyNote(note, NoteVerifier::FromVkey(kGoVkey).value());
  EXPECT_EQ(status.code(), Status::Code::kDataLoss) << status.ToString();
}

TEST(GoNoteTest, IgnoresSignaturesOfUnknownKeys) {
  // Proves extra lines by other keys neither break parsing nor verification.
  NoteSigner other("witness.example/w9", PrivateKey::Generate().value());
  SignedNote note = ParseNote(GoNote()).value();
  note.signatures.insert(note.signatures.begin(),
                         {other.name(), other.key_id(), other.Sign(note.text)});
  StatusOr<SignedNote> reparsed = ParseNote(FormatNote(note));
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
  EXPECT_TRUE(VerifyNote(*reparsed, NoteVerifier::FromVkey(kGoVkey).value()).ok());
  EXPECT_TRUE(VerifyNote(*reparsed, other.Verifier()).ok());
}

TEST(NoteParseTest, RejectsMalformedNotesNamingTheLine) {
  // Proves ParseNote refuses each way a note can break the signed-note
  // grammar, and says which line.
  const std::string text(kGoText);
  const std::string line(kGoSignatureLine);
  const std::string b64 = line.substr(line.rfind(' ') + 1);  // With its "\n".
  struct Case {
    std::string note;
    std::string want;
  };
  const std::vector<Case> cases = {
      {text + line, "no blank line"},
      {text + "\n", "line 4: no signature lines"},
      {text + "\n" + line.substr(0, line.size() - 1), "line 4: does not end in newline"},
      {text + "\n- PeterNeumann " + b64, "line 4: signature line does not start with em dash"},
      {text + "\n\u2014 PeterNeumann" + "\n", "line 4: signature line: no space"},
      {text + "\n\u2014  " + b64, "line 4: signature line: invalid key name"},
      {text + "\n\u2014 Peter+Neumann " + b64, "line 4: signature line: invalid key name"},
      {text + "\n\u2014 PeterNeumann  " + b64, "line 4: signature line: base64"},
      {text + "\n\u2014 PeterNeumann " + b64.substr(0, b64.size() - 2) + "\n", "line 4"},
      {text + "\n\u2014 PeterNeumann AAAAAA==\n", "line 4: signature line: want key id"},
      {text + "\n" + line + "\u2014 x\n", "line 5"},
      {"If you\r\n" + text + "\n" + line, "line 1: control character 0x0d"},
      {text + "\n" + line + "\u2014 a\xff AAAAAAA=\n", "line 5: invalid UTF-8"},
  };
  for (const Case& c : cases) {
    StatusOr<SignedNote> parsed = ParseNote(c.note);
    EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument) << c.note;
    EXPECT_TRUE(Contains(parsed.status(), c.want)) << parsed.status().message();
  }
}

TEST(NoteParseTest, EnforcesSizeAndSignatureCountLimits) {
  // Proves the limits: 100 signature lines parse, 101 do not, nor do notes
  // over 1 MiB.
  std::string note = std::string(kGoText) + "\n";
  for (size_t i = 0; i < kNoteSignaturesMax; ++i) note += kGoSignatureLine;
  EXPECT_TRUE(ParseNote(note).ok());
  note += kGoSignatureLine;
  EXPECT_EQ(ParseNote(note).status().code(), Status::Code::kResourceExhausted);

  std::string big(kNoteBytesMax, 'a');
  big += "\n\n" + std::string(kGoSignatureLine);
  EXPECT_EQ(ParseNote(big).status().code(), Status::Code::kResourceExhausted);
}

TEST(NoteParseTest, TextMaySpanBlankLines) {
  // Proves the text ends at the last blank line, so texts with blank lines
  // (as in the spec's example) keep them.
  NoteSigner signer("quasimodo.example/salvatore", PrivateKey::Generate().value());
  std::string text = "Ognuno sta solo\n\ned \u00e8 subito sera.\n";
  StatusOr<SignedNote> note = ParseNote(SignNote(text, signer));
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_EQ(note->text, text);
  EXPECT_TRUE(VerifyNote(*note, signer.Verifier()).ok());
}

// ---- Keys: names, key ids, vkeys, signer keys ----

TEST(KeyTest, KeyNameRules) {
  // Proves the signed-note key name rules: non-empty UTF-8 without '+',
  // Unicode spaces or control characters.
  EXPECT_TRUE(IsValidKeyName("example.com/log42"));
  EXPECT_TRUE(IsValidKeyName("PeterNeumann"));
  EXPECT_TRUE(IsValidKeyName("\u897f\u5b81"));
  for (std::string_view bad : {"", "a+b", "a b", "a\tb", "a\nb", "a\x01", "a\u00a0b", "a\u2003b",
                               "a\u3000b", "a\xff", "\xc0\xaf", "\xed\xa0\x80"}) {
    EXPECT_FALSE(IsValidKeyName(bad)) << HexEncode(bad);
  }
}

TEST(KeyTest, KeyIdsMatchPublishedVkeys) {
  // Proves KeyId hashes name, newline, type byte and key as the spec says,
  // using a Go vkey (type 0x01) and a live witness's vkey (type 0x04, from
  // transparency-dev/formats tests).
  std::string go_key = Base64Decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")->substr(1);
  EXPECT_EQ(KeyId("PeterNeumann", go_key), 0xc74f20a3u);
  std::string witness_key = Base64Decode("BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")->substr(1);
  EXPECT_EQ(KeyId("remora.n621.de", witness_key, kSignatureTypeCosignatureV1), 0xda77ade7u);
  EXPECT_NE(KeyId("remora.n621.de", witness_key, kSignatureTypeEd25519), 0xda77ade7u);
}

TEST(KeyTest, VkeysOfBothTypesRoundTrip) {
  // Proves FromVkey accepts type 0x01 and 0x04 vkeys (including base64 with
  // '+' in it) and ToVkey gives back the same string.
  for (std::string_view vkey :
       {kGoVkey, std::string_view("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"),
        std::string_view("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")}) {
    StatusOr<NoteVerifier> verifier = NoteVerifier::FromVkey(vkey);
    ASSERT_TRUE(verifier.ok()) << vkey << ": " << verifier.status().ToString();
    EXPECT_EQ(verifier->ToVkey(), vkey);
  }
  EXPECT_EQ(
      NoteVerifier::FromVkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
          ->signature_type(),
      kSignatureTypeCosignatureV1);
}

// A vkey for name with the given type byte and key bytes, with a correct id.
std::string MakeVkey(std::string_view name, uint8_t type, std::string_view key) {
  std::string id;
  PutBigEndian32(&id, KeyId(name, key, type));
  return std::string(name) + "+" + HexEncode(id) + "+" +
         Base64Encode(std::string(1, static_cast<char>(type)) + std::string(key));
}

TEST(KeyTest, FromVkeyRejectsMalformedKeys) {
  // Proves FromVkey is strict, each case failing for its own reason: name
  // rules, exactly 8 lowercase hex digits matching the key, a known type
  // byte and a 32-byte key.
  const std::string key(32, '\x07');
  struct Case {
    std::string vkey;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"PeterNeumann+c74f20a3", "want name+keyid+key"},
      {"PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"},
      {"PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lowercase hex"},
      {"PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lowercase hex"},
      {"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "base64"},
      {"PeterNeumann+c74f20a3+", "base64"},
      {MakeVkey("", 1, key), "invalid key name"},
      {MakeVkey("Peter Neumann", 1, key), "invalid key name"},
      {MakeVkey("Peter\u00a0Neumann", 1, key), "invalid key name"},
      {MakeVkey("PeterNeumann", 2, key), "unsupported signature type 0x02"},
      {MakeVkey("PeterNeumann", 1, key.substr(1)), "32-byte"},
      {MakeVkey("PeterNeumann", 4, key + "x"), "32-byte"},
  };
  for (const Case& c : cases) {
    StatusOr<NoteVerifier> verifier = NoteVerifier::FromVkey(c.vkey);
    EXPECT_EQ(verifier.status().code(), Status::Code::kInvalidArgument) << c.vkey;
    EXPECT_TRUE(Contains(verifier.status(), c.want)) << verifier.status().message();
  }
  EXPECT_TRUE(NoteVerifier::FromVkey(MakeVkey("PeterNeumann", 1, key)).ok());
}

TEST(KeyTest, ParseSignerKeyChecksIdAndNeverEchoesTheSecret) {
  // Proves ParseSignerKey rejects a wrong key id, a wrong prefix and a
  // non-Ed25519 type, without putting the secret in its message.
  const std::string secret = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
  for (const std::string& skey :
       {"PRIVATE+KEY+PeterNeumann+c74f20a4+" + secret, "PRIVATE+PeterNeumann+c74f20a3+" + secret,
        "PRIVATE+KEY+PeterNeumann+c74f20a3+B" + secret.substr(1)}) {
    StatusOr<NoteSigner> signer = ParseSignerKey(skey);
    EXPECT_EQ(signer.status().code(), Status::Code::kInvalidArgument) << skey;
    EXPECT_FALSE(Contains(signer.status(), secret.substr(1, 20))) << signer.status().message();
  }
}

// ---- Checkpoints ----

Checkpoint SampleCheckpoint() {
  Checkpoint checkpoint;
  checkpoint.origin = "techmarket.cn/xining";
  checkpoint.size = 20852163;
  checkpoint.root =
      HashFromBytes(Base64Decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").value());
  return checkpoint;
}

TEST(CheckpointTest, FormatsAndParsesTheSpecLayout) {
  // Proves FormatCheckpoint writes origin, decimal size, base64 root and
  // extension lines each ending in newline, and ParseCheckpoint reads the
  // same fields back.
  Checkpoint checkpoint = SampleCheckpoint();
  checkpoint.extensions = {"ext one", "\u2014 two"};
  std::string text = FormatCheckpoint(checkpoint);
  EXPECT_EQ(text,
            "techmarket.cn/xining\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
            "ext one\n\u2014 two\n");
  StatusOr<Checkpoint> parsed = ParseCheckpoint(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->origin, checkpoint.origin);
  EXPECT_EQ(parsed->size, checkpoint.size);
  EXPECT_EQ(parsed->root, checkpoint.root);
  EXPECT_EQ(parsed->extensions, checkpoint.extensions);
}

TEST(CheckpointTest, ParsesEdgeSizesAndTheSpecExample) {
  // Proves the extremes of the size line and the spec's own example parse.
  StatusOr<Checkpoint> spec = ParseCheckpoint(kSpecCheckpointText);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(spec->size, 20852163u);
  EXPECT_TRUE(spec->extensions.empty());
  EXPECT_EQ(FormatCheckpoint(*spec), kSpecCheckpointText);

  const std::string root = "\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  EXPECT_EQ(ParseCheckpoint("o\n0" + root)->size, 0u);
  EXPECT_EQ(ParseCheckpoint("o\n18446744073709551615" + root)->size, UINT64_MAX);
}

TEST(CheckpointTest, RejectsMalformedCheckpointsNamingTheLine) {
  // Proves ParseCheckpoint's strictness, each case failing on its own line.
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  struct Case {
    std::string text;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"o\n1\n" + root, "line 3: does not end in newline"},
      {"o\n01\n" + root + "\n", "line 2: tree size: leading zero"},
      {"o\n00\n" + root + "\n", "line 2: tree size: leading zero"},
      {"o\n\n" + root + "\n", "line 2: tree size: empty"},
      {"o\n-1\n" + root + "\n", "line 2: tree size: not a decimal"},
      {"o\n+1\n" + root + "\n", "line 2: tree size: not a decimal"},
      {"o\n1 \n" + root + "\n", "line 2: tree size: not a decimal"},
      {"o\n18446744073709551616\n" + root + "\n", "line 2: tree size: too large"},
      {"o\n1\n" + root.substr(0, root.size() - 1) + "\n", "line 3: root hash: base64"},
      {"o\n1\n" + Base64Encode(std::string(31, 'r')) + "\n", "line 3: root hash: want 32 bytes"},
      {"o\n1\n" + Base64Encode(std::string(33, 'r')) + "\n", "line 3: root hash: want 32 bytes"},
      {"\n1\n" + root + "\n", "line 1: empty origin"},
      {"o\n1\n" + root + "\n\n", "line 4: empty extension line"},
      {"o\n1\n" + root + "\next\n\nmore\n", "line 5: empty extension line"},
      {"o\n1\n", "want origin, tree size and root hash"},
      {"o\r\n1\n" + root + "\n", "line 1: control character"},
  };
  for (const Case& c : cases) {
    StatusOr<Checkpoint> parsed = ParseCheckpoint(c.text);
    EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument) << c.text;
    EXPECT_TRUE(Contains(parsed.status(), c.want)) << parsed.status().message();
  }
}

TEST(CheckpointTest, SignedCheckpointVerifiesAndAlteredSizeFails) {
  // Proves a checkpoint signed by our signer verifies after a format/parse
  // round trip, and that changing its size breaks the signature.
  NoteSigner signer("techmarket.cn/xining", PrivateKey::Generate().value());
  std::string note_text = SignNote(FormatCheckpoint(SampleCheckpoint()), signer);
  StatusOr<SignedNote> note = ParseNote(note_text);
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_TRUE(VerifyNote(*note, NoteVerifier::FromVkey(signer.VerifierKey()).value()).ok());
  EXPECT_EQ(ParseCheckpoint(note->text)->size, 20852163u);

  std::string altered = note_text;
  altered.replace(altered.find("\n20852163\n"), 10, "\n20852164\n");
  StatusOr<SignedNote> forged = ParseNote(altered);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(VerifyNote(*forged, signer.Verifier()).code(), Status::Code::kDataLoss);
}

// ---- Cosignatures ----

TEST(CosignatureTest, MatchesIndependentVector) {
  // Proves our cosignature/v1 key id, vkey, signed message and signature
  // line equal ones computed apart from this code from the spec text.
  CosignatureSigner witness("witness.example/w1", KeyFromSeedHex(kWitnessSeedHex));
  EXPECT_EQ(witness.VerifierKey(), kWitnessVkey);
  EXPECT_EQ(witness.Verifier().ToVkey(), kWitnessVkey);
  EXPECT_EQ(CosignatureMessage(kSpecCheckpointText, kWitnessTimestampSeconds),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  NoteSignature cosignature = witness.Cosign(kSpecCheckpointText, kWitnessTimestampSeconds);
  EXPECT_EQ(FormatSignatureLine(cosignature), kWitnessCosignatureLine);

  std::string note = std::string(kSpecCheckpointText) + "\n" + std::string(kWitnessCosignatureLine);
  StatusOr<SignedNote> parsed = ParseNote(note);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(VerifyNote(*parsed, NoteVerifier::FromVkey(kWitnessVkey).value()).ok());
  EXPECT_EQ(CosignatureTimestamp(parsed->signatures[0]).value(), kWitnessTimestampSeconds);
}

TEST(CosignatureTest, ReadsTheSpecExampleLayout) {
  // Proves we parse the spec's cosigned checkpoint: a 64-byte log signature
  // and a 72-byte timestamped cosignature whose time is the spec's.
  StatusOr<SignedNote> note =
      ParseNote(std::string(kSpecCheckpointText) + "\n" + std::string(kSpecSignatureLines));
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  ASSERT_EQ(note->signatures.size(), 2u);
  EXPECT_EQ(note->signatures[0].name, "example.com/behind-the-sofa");
  EXPECT_EQ(note->signatures[0].signature.size(), 64u);
  EXPECT_EQ(CosignatureTimestamp(note->signatures[0]).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(note->signatures[1].name, "witness.example.com/w1");
  EXPECT_EQ(note->signatures[1].key_id, 0x8d66cf3fu);
  EXPECT_EQ(CosignatureTimestamp(note->signatures[1]).value(), 1679315147u);
}

TEST(CosignatureTest, TamperedTimestampOrBodyIsDataLoss) {
  // Proves the cosignature covers both its timestamp and the checkpoint
  // body, including extension lines.
  CosignatureSigner witness("witness.example/w2", PrivateKey::Generate().value());
  Checkpoint checkpoint = SampleCheckpoint();
  checkpoint.extensions = {"extension"};
  std::string body = FormatCheckpoint(checkpoint);
  SignedNote note{body, {witness.Cosign(body, 1700000000)}};
  NoteVerifier verifier = NoteVerifier::FromVkey(witness.VerifierKey()).value();
  ASSERT_TRUE(VerifyNote(note, verifier).ok());

  SignedNote later_time = note;
  later_time.signatures[0].signature[7] ^= 0x01;
  EXPECT_EQ(CosignatureTimestamp(later_time.signatures[0]).value(), 1700000001u);
  EXPECT_EQ(VerifyNote(later_time, verifier).code(), Status::Code::kDataLoss);

  SignedNote other_body = note;
  other_body.text.replace(other_body.text.find("extension"), 9, "extensioN");
  EXPECT_EQ(VerifyNote(other_body, verifier).code(), Status::Code::kDataLoss);

  SignedNote too_late = note;
  too_late.signatures[0].signature[0] = '\x80';
  EXPECT_EQ(CosignatureTimestamp(too_late.signatures[0]).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(VerifyNote(too_late, verifier).code(), Status::Code::kDataLoss);
}

TEST(CosignatureTest, CosignatureAndLogSignatureAreDomainSeparated) {
  // Proves a witness key's cosignature is not mistaken for a plain note
  // signature by the same key (different key id), and that a log signature
  // and a cosignature on one checkpoint each verify under their own key.
  PrivateKey key = PrivateKey::Generate().value();
  CosignatureSigner witness("witness.example/w3", key);
  NoteSigner plain("witness.example/w3", key);
  EXPECT_NE(witness.key_id(), plain.key_id());

  NoteSigner log("techmarket.cn/xining", PrivateKey::Generate().value());
  std::string body = FormatCheckpoint(SampleCheckpoint());
  SignedNote note = ParseNote(SignNote(body, log)).value();
  note.signatures.push_back(witness.Cosign(note.text, 1700000000));
  StatusOr<SignedNote> reparsed = ParseNote(FormatNote(note));
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
  EXPECT_TRUE(VerifyNote(*reparsed, log.Verifier()).ok());
  EXPECT_TRUE(VerifyNote(*reparsed, witness.Verifier()).ok());
  EXPECT_EQ(VerifyNote(*reparsed, plain.Verifier()).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace ledger
