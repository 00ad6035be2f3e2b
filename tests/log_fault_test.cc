// A WAL sync that fails (a disk error, through a fault-injecting RocksDB file
// system) acknowledges nothing of the batches it covered, stops the log
// from appending, and leaves a database that reopens and verifies with every
// earlier receipt intact.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>

#include "ledger/log.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

// Fails Sync and Fsync of write-ahead-log files while `fail` is set.
class FailingWalSyncFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FailingWalSyncFs(std::atomic<bool>* fail)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), fail_(fail) {}
  const char* Name() const override { return "FailingWalSyncFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, file, debug);
    if (status.ok() && name.ends_with(".log")) {
      *file = std::make_unique<File>(std::move(*file), fail_);
    }
    return status;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, std::atomic<bool>* fail)
        : FSWritableFileOwnerWrapper(std::move(file)), fail_(fail) {}
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* debug) override {
      if (*fail_) return rocksdb::IOStatus::IOError("injected: WAL sync failed");
      return FSWritableFileOwnerWrapper::Sync(options, debug);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* debug) override {
      if (*fail_) return rocksdb::IOStatus::IOError("injected: WAL fsync failed");
      return FSWritableFileOwnerWrapper::Fsync(options, debug);
    }

   private:
    std::atomic<bool>* fail_;
  };

  std::atomic<bool>* fail_;
};

std::vector<std::string> Entries(const std::string& prefix, int count) {
  std::vector<std::string> entries;
  for (int i = 0; i < count; ++i) {
    entries.push_back(test::Entry(test::ContractJson(prefix + std::to_string(i))));
  }
  return entries;
}

TEST(LogFaultTest, FailedWalSyncAcknowledgesNothingAndStopsAppends) {
  test::TempDir dir;
  ASSERT_TRUE(Log::Init(dir.path(), "xining", "techmarket.cn/xining").ok());
  std::atomic<bool> fail{false};
  auto fs = std::make_shared<FailingWalSyncFs>(&fail);
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::string checkpoint_before;
  // Entry() gives each entry a fresh request id: keep the bytes to compare.
  const std::vector<std::string> acknowledged = Entries("OK-", 10);
  {
    auto log = Log::Open(dir.path(), LogOptions{.env = env.get()});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (const auto& result : (*log)->Append(acknowledged)) ASSERT_TRUE(result.ok());
    checkpoint_before = *(*log)->LatestCheckpoint();

    fail = true;
    for (const auto& result : (*log)->Append(Entries("LOST-", 5))) {
      ASSERT_FALSE(result.ok()) << "acknowledged an entry whose sync failed";
    }
    fail = false;
    // Readers never saw the failed batch, and the log refuses to go on.
    EXPECT_EQ((*log)->size(), 10u);
    EXPECT_EQ((*log)->ReadEntry(10).status().code(), Status::Code::kOutOfRange);
    EXPECT_EQ(*(*log)->LatestCheckpoint(), checkpoint_before);
    auto refused = (*log)->Append(Entries("AFTER-", 1));
    ASSERT_FALSE(refused[0].ok());
    EXPECT_NE(refused[0].status().message().find("failed write or WAL sync"), std::string::npos)
        << refused[0].status().ToString();
  }
  // Reopened on the ordinary file system: the ten receipts are there, and
  // whatever else recovery found is a whole, verifiable log.
  auto log = Log::Open(dir.path(), LogOptions());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_GE((*log)->size(), 10u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(*(*log)->ReadEntry(i), acknowledged[i]) << i;
  EXPECT_TRUE((*log)->Verify(nullptr).ok()) << (*log)->Verify(nullptr).ToString();
  auto rebuilt = (*log)->RebuildViews();
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->before, rebuilt->after);
  EXPECT_TRUE((*log)->Append(Entries("AGAIN-", 1))[0].ok());
}

}  // namespace
}  // namespace ledger
