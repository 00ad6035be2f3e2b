// SHA-256 and Ed25519 (RFC 8032) over OpenSSL's EVP interface.
//
// Keys are Ed25519 only: checkpoints, signed notes and cosignatures all use
// it, and supporting one algorithm leaves nothing to negotiate. A PrivateKey
// is stored on disk as an unencrypted PKCS#8 PEM file readable only by its
// owner; the RFC 8032 32-byte secret ("seed") also builds one, for the Go
// note skey form and for test vectors.
//
// Thread-safety: PublicKey and PrivateKey are immutable after construction;
// Sign and Verify may run concurrently on one object from many threads (each
// call uses its own EVP_MD_CTX over the shared, reference-counted EVP_PKEY).
// Copies share that EVP_PKEY.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "ledger/encoding.h"
#include "ledger/status.h"

struct evp_pkey_st;    // OpenSSL's EVP_PKEY, kept out of this header.
struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX.

namespace ledger {

// Sizes fixed by RFC 8032; they never change.
inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SeedBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

Hash Sha256(std::string_view data);

// SHA-256 of data given in pieces. Not copyable.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  // The hash of everything given; the stream starts over afterwards.
  Hash Finish();

 private:
  evp_md_ctx_st* ctx_;
};

// An Ed25519 public key: the 32 raw bytes, and an EVP_PKEY built from them
// once so that Verify does not rebuild it per call.
class PublicKey {
 public:
  // Returns InvalidArgument unless raw32 is 32 bytes.
  static StatusOr<PublicKey> FromRaw(std::string_view raw32);

  // The 32 bytes as RFC 8032 encodes the key.
  const std::string& raw() const { return raw_; }

  // True only if signature64 is a valid Ed25519 signature of message by this
  // key; false on any failure, including a wrong length.
  bool Verify(std::string_view message, std::string_view signature64) const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) { return a.raw_ == b.raw_; }

 private:
  PublicKey(std::string raw, std::shared_ptr<evp_pkey_st> pkey)
      : raw_(std::move(raw)), pkey_(std::move(pkey)) {}

  std::string raw_;
  std::shared_ptr<evp_pkey_st> pkey_;
};

// An Ed25519 private key. Copies are cheap and share the key.
class PrivateKey {
 public:
  // A new key from OpenSSL's random generator.
  static StatusOr<PrivateKey> Generate();
  // The key whose RFC 8032 secret is seed32. The caller should wipe seed32
  // after use; OpenSSL keeps its own copy.
  static StatusOr<PrivateKey> FromSeed(std::string_view seed32);
  // Reads an unencrypted PKCS#8 PEM file holding an Ed25519 key. Errors name
  // the path: NotFound if the file is missing, IoError if it cannot be read,
  // DataLoss if it holds no Ed25519 key.
  static StatusOr<PrivateKey> LoadPem(const std::string& path);

  // Writes the key as unencrypted PKCS#8 PEM to a new file at path with mode
  // 0600 and syncs it and its directory. Returns AlreadyExists rather than
  // replace an existing file, so a key is never overwritten by mistake; on
  // any other failure, removes what it created.
  Status SavePem(const std::string& path) const;

  // Returns the 64-byte Ed25519 signature of message. Ed25519 is
  // deterministic: the same key and message always give the same bytes.
  // Aborts the process if OpenSSL fails, which needs a broken library or
  // exhausted memory.
  std::string Sign(std::string_view message) const;

  const PublicKey& public_key() const { return public_key_; }

 private:
  PrivateKey(std::shared_ptr<evp_pkey_st> pkey, PublicKey public_key)
      : pkey_(std::move(pkey)), public_key_(std::move(public_key)) {}
  // Takes ownership of pkey. REQUIRES: pkey is an Ed25519 private key.
  static StatusOr<PrivateKey> FromEvpPkey(evp_pkey_st* pkey);

  std::shared_ptr<evp_pkey_st> pkey_;
  PublicKey public_key_;
};

}  // namespace ledger
