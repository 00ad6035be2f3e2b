#include "ledger/crypto.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ledger/encoding.h"
#include "ledger/openssl_status.h"

namespace ledger {
namespace {

std::string Unhex(std::string_view hex) { return HexDecode(hex).value(); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

// RFC 8032 section 7.1, TESTs 1-3 (tests 2 and 3 checked against two
// published copies of the RFC's vectors and against Python's cryptography).
struct Rfc8032Vector {
  const char* name;
  const char* secret_hex;
  const char* public_hex;
  const char* message_hex;
  const char* signature_hex;
};

constexpr Rfc8032Vector kRfc8032Vectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
     "b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f1"
     "1d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984d"
     "c6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Sha256Test, MatchesFipsExamples) {
  // Proves Sha256 computes SHA-256, using the FIPS 180-2 example digests.
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Ed25519Test, Rfc8032Vectors) {
  // Proves key derivation, signing and verification follow RFC 8032 exactly.
  for (const Rfc8032Vector& vector : kRfc8032Vectors) {
    SCOPED_TRACE(vector.name);
    StatusOr<PrivateKey> key = PrivateKey::FromSeed(Unhex(vector.secret_hex));
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(HexEncode(key->public_key().raw()), vector.public_hex);
    std::string message = Unhex(vector.message_hex);
    std::string signature = key->Sign(message);
    EXPECT_EQ(HexEncode(signature), vector.signature_hex);

    StatusOr<PublicKey> public_key = PublicKey::FromRaw(Unhex(vector.public_hex));
    ASSERT_TRUE(public_key.ok());
    EXPECT_TRUE(public_key->Verify(message, Unhex(vector.signature_hex)));
    std::string flipped = Unhex(vector.signature_hex);
    flipped[17] ^= 0x01;
    EXPECT_FALSE(public_key->Verify(message, flipped));
    EXPECT_FALSE(public_key->Verify(message + "x", Unhex(vector.signature_hex)));
  }
}

TEST(Ed25519Test, VerifyRejectsWrongLengthsAndWrongKey) {
  // Proves Verify answers false, without crashing, for truncated, extended or
  // empty signatures and for a valid signature checked under another key.
  const Rfc8032Vector& test1 = kRfc8032Vectors[0];
  const Rfc8032Vector& test2 = kRfc8032Vectors[1];
  PublicKey key1 = PublicKey::FromRaw(Unhex(test1.public_hex)).value();
  PublicKey key2 = PublicKey::FromRaw(Unhex(test2.public_hex)).value();
  std::string signature = Unhex(test1.signature_hex);
  EXPECT_TRUE(key1.Verify("", signature));
  EXPECT_FALSE(key1.Verify("", signature.substr(0, 63)));
  EXPECT_FALSE(key1.Verify("", signature + '\0'));
  EXPECT_FALSE(key1.Verify("", ""));
  EXPECT_FALSE(key2.Verify("", signature));
}

TEST(Ed25519Test, RejectsWrongSizedKeyMaterial) {
  // Proves FromRaw and FromSeed accept exactly 32 bytes.
  EXPECT_EQ(PublicKey::FromRaw(std::string(31, 'a')).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(PublicKey::FromRaw(std::string(33, 'a')).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(PrivateKey::FromSeed(std::string(31, 'a')).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(PrivateKey::FromSeed("").status().code(), Status::Code::kInvalidArgument);
}

TEST(Ed25519Test, GeneratedKeysAreDistinctAndWork) {
  // Proves Generate returns fresh random keys whose signatures verify under
  // their own public key only.
  PrivateKey a = PrivateKey::Generate().value();
  PrivateKey b = PrivateKey::Generate().value();
  EXPECT_NE(a.public_key().raw(), b.public_key().raw());
  EXPECT_EQ(a.public_key().raw().size(), 32u);
  std::string signature = a.Sign("entry");
  EXPECT_TRUE(a.public_key().Verify("entry", signature));
  EXPECT_FALSE(b.public_key().Verify("entry", signature));
}

TEST(Ed25519Test, ConcurrentSigningOnOneKeyMatchesSerialSigning) {
  // Proves one PrivateKey may sign from many threads at once: every
  // concurrent signature equals the deterministic one computed serially.
  PrivateKey key = PrivateKey::FromSeed(Unhex(kRfc8032Vectors[0].secret_hex)).value();
  constexpr int kThreadCount = 8;
  constexpr int kMessagesPerThread = 200;
  std::vector<std::string> expected;
  for (int i = 0; i < kMessagesPerThread; ++i) expected.push_back(key.Sign(std::to_string(i)));
  std::vector<int> mismatch_counts(kThreadCount, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreadCount; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kMessagesPerThread; ++i) {
        if (key.Sign(std::to_string(i)) != expected[i]) ++mismatch_counts[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreadCount; ++t) EXPECT_EQ(mismatch_counts[t], 0) << "thread " << t;
}

class PemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/crypto_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }
  std::string Path(const std::string& name) const { return directory_ + "/" + name; }

  std::string directory_;
};

TEST_F(PemTest, RoundTripCreatesOwnerOnlyPkcs8File) {
  // Proves SavePem writes a PKCS#8 PEM file of mode 0600 from which LoadPem
  // recovers the same key (it signs identically).
  PrivateKey key = PrivateKey::FromSeed(Unhex(kRfc8032Vectors[0].secret_hex)).value();
  std::string path = Path("origin.pem");
  ASSERT_TRUE(key.SavePem(path).ok());

  struct stat info;
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_TRUE(ReadFile(path).starts_with("-----BEGIN PRIVATE KEY-----\n"));

  StatusOr<PrivateKey> loaded = PrivateKey::LoadPem(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->public_key(), key.public_key());
  EXPECT_EQ(HexEncode(loaded->Sign("")), kRfc8032Vectors[0].signature_hex);
}

TEST_F(PemTest, SaveRefusesToOverwrite) {
  // Proves SavePem never replaces an existing file, key or not, and leaves
  // its contents alone.
  std::string path = Path("existing.pem");
  WriteFile(path, "precious");
  PrivateKey key = PrivateKey::Generate().value();
  Status status = key.SavePem(path);
  EXPECT_EQ(status.code(), Status::Code::kAlreadyExists);
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
  EXPECT_EQ(ReadFile(path), "precious");

  ASSERT_TRUE(key.SavePem(Path("new.pem")).ok());
  EXPECT_EQ(key.SavePem(Path("new.pem")).code(), Status::Code::kAlreadyExists);
}

TEST_F(PemTest, SaveIntoMissingDirectoryFailsNamingThePath) {
  // Proves a SavePem that cannot create its file reports the path.
  std::string path = Path("missing/key.pem");
  Status status = PrivateKey::Generate().value().SavePem(path);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
}

TEST_F(PemTest, LoadRejectsGarbageNamingThePath) {
  // Proves LoadPem of a file that holds no PEM key is DataLoss naming the
  // file, and of a missing file is NotFound naming the file.
  std::string garbage = Path("garbage.pem");
  WriteFile(garbage, "this is not a key\n");
  StatusOr<PrivateKey> loaded = PrivateKey::LoadPem(garbage);
  EXPECT_EQ(loaded.status().code(), Status::Code::kDataLoss);
  EXPECT_NE(loaded.status().message().find(garbage), std::string::npos)
      << loaded.status().message();

  std::string missing = Path("missing.pem");
  loaded = PrivateKey::LoadPem(missing);
  EXPECT_EQ(loaded.status().code(), Status::Code::kNotFound);
  EXPECT_NE(loaded.status().message().find(missing), std::string::npos);
  EXPECT_EQ(ERR_peek_error(), 0u) << "LoadPem left errors on the OpenSSL queue";
}

TEST_F(PemTest, LoadRejectsKeysOfOtherAlgorithms) {
  // Proves LoadPem accepts only Ed25519: a valid PKCS#8 X25519 key file is
  // refused with DataLoss naming the file.
  EVP_PKEY* x25519 = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  ASSERT_NE(x25519, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, x25519, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string path = Path("x25519.pem");
  WriteFile(path, std::string_view(data, static_cast<size_t>(size)));
  BIO_free(bio);
  EVP_PKEY_free(x25519);

  StatusOr<PrivateKey> loaded = PrivateKey::LoadPem(path);
  EXPECT_EQ(loaded.status().code(), Status::Code::kDataLoss);
  EXPECT_NE(loaded.status().message().find(path), std::string::npos);
  EXPECT_NE(loaded.status().message().find("Ed25519"), std::string::npos);
}

TEST(OpenSslErrorTest, DrainsTheQueueIntoTheMessage) {
  // Proves OpenSslError reports the queued OpenSSL error under the given
  // code and empties the queue, so it cannot be blamed on a later call.
  BIO* bio = BIO_new_mem_buf("not pem", -1);
  ASSERT_EQ(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr), nullptr);
  BIO_free(bio);
  ASSERT_NE(ERR_peek_error(), 0u);

  Status status = OpenSslError("reading key", Status::Code::kDataLoss);
  EXPECT_EQ(status.code(), Status::Code::kDataLoss);
  EXPECT_TRUE(status.message().starts_with("reading key: error:")) << status.message();
  EXPECT_EQ(ERR_peek_error(), 0u);

  Status empty = OpenSslError("nothing");
  EXPECT_EQ(empty.code(), Status::Code::kInternal);
  EXPECT_EQ(empty.message(), "nothing: no OpenSSL error queued");
}

}  // namespace
}  // namespace ledger
