#include "ledger/crypto.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "ledger/openssl_status.h"

namespace ledger {
namespace {

// A PKCS#8 PEM Ed25519 key is about 120 bytes; anything far larger is not a
// key file, and reading it whole would only waste memory.
constexpr off_t kPemFileBytesMax = 16 * 1024;

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free_all)>;

std::shared_ptr<EVP_PKEY> ShareEvpPkey(EVP_PKEY* pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

const unsigned char* Bytes(std::string_view data) {
  return reinterpret_cast<const unsigned char*>(data.data());
}

// For failures that only a broken OpenSSL or an exhausted machine can cause,
// where no caller could do anything better than stop.
[[noreturn]] void DieOnOpenSslFailure(std::string_view what) {
  std::fprintf(stderr, "ledger: fatal: %s\n", OpenSslError(what).ToString().c_str());
  std::abort();
}

Status ErrnoStatus(const std::string& path, std::string_view what, int error) {
  std::string message = path + ": " + std::string(what) + ": ";
  message += std::error_code(error, std::generic_category()).message();
  if (error == ENOENT) return Status::NotFound(message);
  if (error == EEXIST) return Status::AlreadyExists(message);
  return Status::IoError(message);
}

// A null callback would make OpenSSL prompt on the terminal for the
// passphrase of an encrypted key; a daemon must fail instead.
int RefusePassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

Status WriteAll(int fd, const char* data, size_t size_bytes, const std::string& path) {
  while (size_bytes > 0) {
    ssize_t written = ::write(fd, data, size_bytes);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return ErrnoStatus(path, "write", errno);
    data += written;
    size_bytes -= static_cast<size_t>(written);
  }
  return Status::Ok();
}

// Without this the new directory entry may not survive a crash even though
// the file's contents were synced.
Status SyncDirectoryOf(const std::string& path) {
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(directory, "open directory", errno);
  int result = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (result != 0) return ErrnoStatus(directory, "fsync directory", error);
  return Status::Ok();
}

// Creates path (never replacing a file), writes data, and syncs it.
Status WriteNewPrivateFile(const std::string& path, const char* data, size_t size_bytes) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(path, "create", errno);
  // The umask may have cleared bits of 0600; the key's owner must still be
  // able to read it, and nobody else may.
  Status status = ::fchmod(fd, 0600) == 0 ? Status::Ok() : ErrnoStatus(path, "fchmod", errno);
  if (status.ok()) status = WriteAll(fd, data, size_bytes, path);
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoStatus(path, "fsync", errno);
  if (::close(fd) != 0 && status.ok()) status = ErrnoStatus(path, "close", errno);
  if (status.ok()) status = SyncDirectoryOf(path);
  // A partial key file would make every later SavePem to this path fail.
  if (!status.ok()) ::unlink(path.c_str());
  return status;
}

}  // namespace

namespace {

// Fetching once avoids a provider lookup on every hash (OpenSSL 3 does an
// implicit fetch per call when given EVP_sha256()).
const EVP_MD* Sha256Md() {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (sha256 == nullptr) DieOnOpenSslFailure("fetch SHA256");
  return sha256;
}

}  // namespace

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr) != 1) {
    DieOnOpenSslFailure("SHA256 init");
  }
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_); }

void Sha256Stream::Update(std::string_view data) {
  if (EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) DieOnOpenSslFailure("SHA256");
}

Hash Sha256Stream::Finish() {
  Hash hash;
  unsigned int size_bytes = 0;
  if (EVP_DigestFinal_ex(ctx_, hash.data(), &size_bytes) != 1 || size_bytes != hash.size() ||
      EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr) != 1) {
    DieOnOpenSslFailure("SHA256");
  }
  return hash;
}

Hash Sha256(std::string_view data) {
  const EVP_MD* sha256 = Sha256Md();
  Hash hash;
  unsigned int size_bytes = 0;
  if (EVP_Digest(data.data(), data.size(), hash.data(), &size_bytes, sha256, nullptr) != 1 ||
      size_bytes != hash.size()) {
    DieOnOpenSslFailure("SHA256");
  }
  return hash;
}

StatusOr<PublicKey> PublicKey::FromRaw(std::string_view raw32) {
  if (raw32.size() != kEd25519PublicKeyBytes) {
    return Status::InvalidArgument("ed25519 public key: want 32 bytes, got " +
                                   std::to_string(raw32.size()));
  }
  EVP_PKEY* pkey =
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(raw32), raw32.size());
  if (pkey == nullptr) return OpenSslError("ed25519 public key");
  return PublicKey(std::string(raw32), ShareEvpPkey(pkey));
}

bool PublicKey::Verify(std::string_view message, std::string_view signature64) const {
  if (signature64.size() != kEd25519SignatureBytes) return false;
  MdCtxPtr context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool valid = context != nullptr &&
               EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
               EVP_DigestVerify(context.get(), Bytes(signature64), signature64.size(),
                                Bytes(message), message.size()) == 1;
  // A rejected signature is an answer, not an error to report later.
  if (!valid) ERR_clear_error();
  return valid;
}

StatusOr<PrivateKey> PrivateKey::FromEvpPkey(EVP_PKEY* pkey) {
  std::shared_ptr<EVP_PKEY> shared = ShareEvpPkey(pkey);
  std::string raw(kEd25519PublicKeyBytes, '\0');
  size_t size_bytes = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()),
                                  &size_bytes) != 1 ||
      size_bytes != raw.size()) {
    return OpenSslError("ed25519 private key: derive public key");
  }
  LEDGER_ASSIGN_OR_RETURN(PublicKey public_key, PublicKey::FromRaw(raw));
  return PrivateKey(std::move(shared), std::move(public_key));
}

StatusOr<PrivateKey> PrivateKey::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return OpenSslError("ed25519 key generation");
  return FromEvpPkey(pkey);
}

StatusOr<PrivateKey> PrivateKey::FromSeed(std::string_view seed32) {
  if (seed32.size() != kEd25519SeedBytes) {
    return Status::InvalidArgument("ed25519 seed: want 32 bytes, got " +
                                   std::to_string(seed32.size()));
  }
  EVP_PKEY* pkey =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(seed32), seed32.size());
  if (pkey == nullptr) return OpenSslError("ed25519 private key from seed");
  return FromEvpPkey(pkey);
}

StatusOr<PrivateKey> PrivateKey::LoadPem(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(path, "open private key", errno);
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return ErrnoStatus(path, "fstat", error);
  }
  if (!S_ISREG(info.st_mode) || info.st_size > kPemFileBytesMax) {
    ::close(fd);
    return Status::DataLoss(path + ": not a private key file (not a regular file of at most " +
                            std::to_string(kPemFileBytesMax) + " bytes)");
  }
  BioPtr bio(BIO_new_fd(fd, BIO_CLOSE), BIO_free_all);
  if (bio == nullptr) {
    ::close(fd);
    return OpenSslError(path + ": open private key");
  }
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, nullptr);
  if (pkey == nullptr) {
    return OpenSslError(path + ": no unencrypted PEM private key", Status::Code::kDataLoss);
  }
  // The decoder may have queued errors from the formats it tried first.
  ERR_clear_error();
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return Status::DataLoss(path + ": private key is not an Ed25519 key");
  }
  return FromEvpPkey(pkey);
}

Status PrivateKey::SavePem(const std::string& path) const {
  // Secure memory is wiped when freed, so the encoded key does not linger.
  BioPtr bio(BIO_new(BIO_s_secmem()), BIO_free_all);
  if (bio == nullptr) return OpenSslError(path + ": allocate PEM buffer");
  if (PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
      1) {
    return OpenSslError(path + ": encode private key as PEM");
  }
  char* data = nullptr;
  long size_bytes = BIO_get_mem_data(bio.get(), &data);
  if (size_bytes <= 0 || data == nullptr) return OpenSslError(path + ": encode private key");
  return WriteNewPrivateFile(path, data, static_cast<size_t>(size_bytes));
}

std::string PrivateKey::Sign(std::string_view message) const {
  MdCtxPtr context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string signature(kEd25519SignatureBytes, '\0');
  size_t size_bytes = signature.size();
  if (context == nullptr ||
      EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size_bytes,
                     Bytes(message), message.size()) != 1 ||
      size_bytes != kEd25519SignatureBytes) {
    DieOnOpenSslFailure("ed25519 sign");
  }
  return signature;
}

}  // namespace ledger
