// A RocksDB file system for tests that slows or fails the write-ahead log:
// appends to WAL files sleep `append_delay` first and fail while
// `fail_append` is set; syncs fail while `fail_sync` is set. Other files are
// untouched. Flags may be null (never set) and must outlive the file system.
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace ledger::test {

struct WalFaults {
  std::chrono::microseconds append_delay{0};
  std::atomic<bool>* fail_append = nullptr;
  std::atomic<bool>* fail_sync = nullptr;
};

class WalFaultFs : public rocksdb::FileSystemWrapper {
 public:
  explicit WalFaultFs(WalFaults faults)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), faults_(faults) {}
  const char* Name() const override { return "WalFaultFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, file, debug);
    if (status.ok() && name.ends_with(".log")) {
      *file = std::make_unique<File>(std::move(*file), faults_);
    }
    return status;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, WalFaults faults)
        : FSWritableFileOwnerWrapper(std::move(file)), faults_(faults) {}

    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override {
      if (Set(faults_.fail_append)) return rocksdb::IOStatus::IOError("injected: WAL append");
      std::this_thread::sleep_for(faults_.append_delay);
      return FSWritableFileOwnerWrapper::Append(data, options, debug);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* debug) override {
      if (Set(faults_.fail_append)) return rocksdb::IOStatus::IOError("injected: WAL append");
      std::this_thread::sleep_for(faults_.append_delay);
      return FSWritableFileOwnerWrapper::Append(data, options, info, debug);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* debug) override {
      if (Set(faults_.fail_sync)) return rocksdb::IOStatus::IOError("injected: WAL sync failed");
      return FSWritableFileOwnerWrapper::Sync(options, debug);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* debug) override {
      if (Set(faults_.fail_sync)) return rocksdb::IOStatus::IOError("injected: WAL fsync failed");
      return FSWritableFileOwnerWrapper::Fsync(options, debug);
    }

   private:
    static bool Set(const std::atomic<bool>* flag) { return flag != nullptr && *flag; }
    WalFaults faults_;
  };

  WalFaults faults_;
};

}  // namespace ledger::test
