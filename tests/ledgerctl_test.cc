// ledgerctl as a user runs it (real processes), and an external verifier
// that checks its output with nothing but OpenSSL and the RFC 9162 / C2SP
// texts: no code from ledger/ is used to check what ledgerctl printed.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/test_util.h"

namespace ledger {
namespace {

using Bytes = std::string;

std::string Ctl(const std::string& dir, const std::string& args, int* exit_code = nullptr) {
  std::string output;
  int code = test::RunCommand(test::ToolPath("ledgerctl") + " --data " + dir + " " + args, &output);
  if (exit_code != nullptr) *exit_code = code;
  return output;
}

// --- the external verifier: OpenSSL primitives and the RFC text only ---

Bytes Sha256Of(const Bytes& data) {
  unsigned char out[32];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_sha256(), nullptr);
  return Bytes(reinterpret_cast<char*>(out), 32);
}

Bytes FromBase64(const std::string& text) {
  Bytes out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), int(text.size()));
  EXPECT_GE(n, 0);
  size_t padding = text.size() >= 2 ? (text.end()[-1] == '=') + (text.end()[-2] == '=') : 0;
  out.resize(size_t(n) - padding);
  return out;
}

Bytes FromHex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// RFC 9162 2.1.1: MTH over leaf hashes.
Bytes Mth(const std::vector<Bytes>& leaves, size_t begin, size_t end) {
  if (end - begin == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return Sha256Of("\x01" + Mth(leaves, begin, begin + k) + Mth(leaves, begin + k, end));
}

// RFC 9162 2.1.3.2.
bool VerifyInclusionRfc(uint64_t index, uint64_t size, const Bytes& leaf,
                        const std::vector<Bytes>& path, const Bytes& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Bytes r = leaf;
  for (const Bytes& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = Sha256Of("\x01" + p + r);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = Sha256Of("\x01" + r + p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

// RFC 9162 2.1.4.2.
bool VerifyConsistencyRfc(uint64_t first, uint64_t second, const Bytes& first_hash,
                          const Bytes& second_hash, std::vector<Bytes> path) {
  if (first == second) return path.empty() && first_hash == second_hash;
  if (first == 0 || first > second || path.empty()) return false;
  if ((first & (first - 1)) == 0) path.insert(path.begin(), first_hash);
  uint64_t fn = first - 1, sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Bytes fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Bytes& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = Sha256Of("\x01" + c + fr);
      sr = Sha256Of("\x01" + c + sr);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = Sha256Of("\x01" + sr + c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_hash && sr == second_hash && sn == 0;
}

// C2SP signed-note: checks the signature line of `vkey` on `note`.
bool VerifyNoteC2sp(const std::string& vkey, const std::string& note) {
  size_t plus1 = vkey.find('+'), plus2 = vkey.find('+', plus1 + 1);
  std::string name = vkey.substr(0, plus1);
  Bytes key = FromBase64(vkey.substr(plus2 + 1));
  if (key.size() != 33 || key[0] != '\x01') return false;
  Bytes key_id = Sha256Of(name + "\n" + key).substr(0, 4);
  if (FromHex(vkey.substr(plus1 + 1, 8)) != key_id) return false;
  size_t split = note.find("\n\n");
  std::string text = note.substr(0, split + 1);
  std::istringstream lines(note.substr(split + 2));
  std::string prefix = "\xE2\x80\x94 " + name + " ";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    Bytes signature = FromBase64(line.substr(prefix.size()));
    if (signature.size() != 68 || signature.substr(0, 4) != key_id) continue;
    EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(key.data() + 1), 32);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok =
        EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data() + 4), 64,
                         reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    if (ok) return true;
  }
  return false;
}

std::vector<Bytes> HashList(const nlohmann::json& list) {
  std::vector<Bytes> out;
  for (const auto& hex : list) out.push_back(FromHex(hex.get<std::string>()));
  return out;
}

// Everything ledgerctl prints about a log (entries, leaf hashes, checkpoint,
// inclusion and consistency proofs) checks out with the external verifier.
TEST(LedgerctlTest, OutputVerifiesWithOnlyTheStandards) {
  test::TempDir dir;
  std::string node = dir.path() + "/n";
  int code = 0;
  std::string vkey = Ctl(node, "init --market xining --origin techmarket.cn/xining", &code);
  ASSERT_EQ(code, 0) << vkey;
  vkey.pop_back();
  EXPECT_EQ(Ctl(node, "key"), vkey + "\n");
  std::string csv = std::string(LEDGER_TEST_DATA_DIR) + "/contracts.csv";
  std::string first = Ctl(node, "import " + csv, &code);
  ASSERT_EQ(code, 0) << first;
  std::string old_checkpoint = Ctl(node, "checkpoint");
  Ctl(node, "import " + csv);  // new request ids, same contract ids: all rejected
  std::string jsonl = dir.path() + "/more.jsonl";
  std::ofstream(jsonl) << test::PaymentJson("XN-2021-0001", "1000.00") << "\n"
                       << test::DealJson("D-9") << "\n";
  ASSERT_EQ((Ctl(node, "append " + jsonl, &code), code), 0);

  std::vector<Bytes> leaves;
  std::istringstream log(Ctl(node, "log --json"));
  for (std::string line; std::getline(log, line);) {
    auto row = nlohmann::json::parse(line);
    Bytes bytes = FromBase64(row["entry_b64"].get<std::string>());
    Bytes leaf = Sha256Of(std::string(1, '\0') + bytes);
    EXPECT_EQ(leaf, FromHex(row["leaf_hash"].get<std::string>())) << row["index"];
    EXPECT_EQ(row["index"].get<uint64_t>(), leaves.size());
    leaves.push_back(leaf);
  }
  ASSERT_EQ(leaves.size(), 14u);
  std::string note = Ctl(node, "checkpoint");
  EXPECT_TRUE(VerifyNoteC2sp(vkey, note)) << note;
  EXPECT_EQ(note.substr(0, note.find('\n', note.find('\n') + 1) + 1), "techmarket.cn/xining\n14\n");
  Bytes root = Mth(leaves, 0, leaves.size());
  std::string root_line = note.substr(note.find("\n14\n") + 4);
  EXPECT_EQ(FromBase64(root_line.substr(0, root_line.find('\n'))), root);
  EXPECT_TRUE(VerifyNoteC2sp(vkey, old_checkpoint));

  for (uint64_t index = 0; index < leaves.size(); ++index) {
    auto proof =
        nlohmann::json::parse(Ctl(node, "proof inclusion --json --index " + std::to_string(index)));
    EXPECT_EQ(proof["origin"], "techmarket.cn/xining");
    EXPECT_EQ(FromHex(proof["root"].get<std::string>()), root);
    EXPECT_TRUE(VerifyInclusionRfc(index, 14, leaves[index], HashList(proof["hashes"]), root))
        << index;
  }
  for (uint64_t from = 1; from <= 14; ++from) {
    auto proof = nlohmann::json::parse(
        Ctl(node, "proof consistency --json --from " + std::to_string(from) + " --to 14"));
    EXPECT_TRUE(
        VerifyConsistencyRfc(from, 14, Mth(leaves, 0, from), root, HashList(proof["hashes"])))
        << from;
    EXPECT_EQ(FromHex(proof["old_root"].get<std::string>()), Mth(leaves, 0, from));
  }
  // A flipped signature byte is caught by the same external verifier.
  std::string forged = note;
  forged[forged.size() - 10] = forged[forged.size() - 10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyNoteC2sp(vkey, forged));
}

// A bad line is reported with its line number, nothing of it is written, the
// good lines around it are appended, and the exit code says something failed.
TEST(LedgerctlTest, AppendReportsBadLinesByNumber) {
  test::TempDir dir;
  std::string node = dir.path() + "/n";
  Ctl(node, "init --market xining --origin techmarket.cn/xining");
  std::string file = dir.path() + "/in.jsonl";
  std::ofstream(file) << test::ContractJson("A") << "\n"
                      << "{\"event\":\"ContractRegistered\",\"colour\":1}\n"
                      << "\n"
                      << test::PaymentJson("NOPE", "1.00") << "\n"
                      << "{not json\n"
                      << test::ContractJson("B") << "\n";
  int code = 0;
  std::string output = Ctl(node, "append " + file, &code);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("line 2: "), std::string::npos) << output;
  EXPECT_NE(output.find("line 4: "), std::string::npos) << output;
  EXPECT_NE(output.find("line 5: "), std::string::npos) << output;
  EXPECT_EQ(output.find("line 1: "), std::string::npos) << output;
  EXPECT_NE(output.find("appended 2, duplicates 0, rejected 3; log size 2"), std::string::npos)
      << output;
  EXPECT_NE(Ctl(node, "checkpoint").find("\n2\n"), std::string::npos);
}

// Malformed command lines and missing nodes fail with a message, not a crash.
TEST(LedgerctlTest, BadUsageFailsClearly) {
  test::TempDir dir;
  int code = 0;
  std::string output = Ctl(dir.path() + "/none", "checkpoint", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("ledgerctl init"), std::string::npos) << output;
  output = Ctl(dir.path(), "proof inclusion --index notanumber", &code);
  EXPECT_NE(code, 0);
  output = Ctl(dir.path() + "/n", "init --market 'Bad Market' --origin x", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("market"), std::string::npos) << output;
}

}  // namespace
}  // namespace ledger
