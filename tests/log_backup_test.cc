// Log::Backup makes a data directory of its own that holds every column of
// the database it was taken from byte for byte and verifies, without the
// signing key; taken while appends run, it is a whole log whose views agree
// with it; and a backup that cannot be made leaves nothing: an existing
// target is refused untouched, and a checkpoint failing midway is removed.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ledger/log.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

const std::vector<Column> kAllColumns = {
    Column::kEntries,  Column::kHashes,    Column::kCheckpoints,
    Column::kOrigins,  Column::kRequests,  Column::kViews,
    Column::kEvidence, Column::kContracts, Column::kCosignatures};
static_assert(kColumnCount == 9, "a new column family belongs in kAllColumns");

std::vector<std::string> Contracts(const std::string& prefix, int count) {
  std::vector<std::string> entries;
  for (int i = 0; i < count; ++i) {
    entries.push_back(test::Entry(test::ContractJson(prefix + std::to_string(i))));
  }
  return entries;
}

void AppendAll(Log& log, std::vector<std::string> entries) {
  for (const auto& result : log.Append(std::move(entries))) {
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  }
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<std::unique_ptr<Log>> OpenReadOnly(const std::string& dir) {
  return Log::Open(dir, LogOptions{.read_only = true});
}

// Contracts, a payment and a deal, so that every kind of view row exists.
TEST(LogBackupTest, BackupHoldsTheWholeDatabaseAndVerifiesWithoutTheKey) {
  test::TempDir dir;
  std::unique_ptr<Log> log = test::InitAndOpen(dir.path() + "/node");
  ASSERT_NE(log, nullptr);
  std::vector<std::string> entries = Contracts("XN-", 20);
  entries.push_back(test::Entry(test::PaymentJson("XN-1", "500.00")));
  entries.push_back(test::Entry(test::DealJson("D-1")));
  AppendAll(*log, std::move(entries));
  ASSERT_EQ(log->size(), 22u);

  const std::string target = dir.path() + "/backup";
  Status made = log->Backup(target + "/");  // a trailing slash names the same directory
  ASSERT_TRUE(made.ok()) << made.ToString();
  // The layout of a data directory, less the key; private like one.
  EXPECT_TRUE(fs::exists(DatabasePath(target) + "/CURRENT"));
  EXPECT_FALSE(fs::exists(KeyPath(target)));
  EXPECT_EQ(fs::status(target).permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);

  auto copy = OpenReadOnly(target);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ((*copy)->size(), 22u);
  EXPECT_EQ((*copy)->vkey(), log->vkey());
  EXPECT_EQ(*(*copy)->LatestCheckpoint(), *log->LatestCheckpoint());
  EXPECT_EQ(*(*copy)->ViewDigest(), *log->ViewDigest());
  EXPECT_EQ(test::ColumnsDigest(*(*copy)->store(), kAllColumns),
            test::ColumnsDigest(*log->store(), kAllColumns));
  Status verified = (*copy)->Verify(nullptr);
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  copy->reset();

  // The copy is on its own: later appends do not reach it.
  AppendAll(*log, Contracts("LATER-", 3));
  copy = OpenReadOnly(target);
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ((*copy)->size(), 22u);
  EXPECT_EQ(log->size(), 25u);
}

// An existing target (a directory, even an empty one, or a file) is refused
// with its path named and left as it was; so is a target whose parent is
// missing, and nothing is created for it.
TEST(LogBackupTest, BackupRefusesAnExistingTargetAndLeavesItAlone) {
  test::TempDir dir;
  std::unique_ptr<Log> log = test::InitAndOpen(dir.path() + "/node");
  ASSERT_NE(log, nullptr);
  AppendAll(*log, Contracts("XN-", 2));

  const std::string full = dir.path() + "/full";
  fs::create_directory(full);
  std::ofstream(full + "/keep.txt") << "not a backup";
  const std::string empty = dir.path() + "/empty";
  fs::create_directory(empty);
  const std::string file = dir.path() + "/file";
  std::ofstream(file) << "a file";
  for (const std::string& target : {full, empty, file}) {
    Status refused = log->Backup(target);
    EXPECT_EQ(refused.code(), Status::Code::kAlreadyExists) << target << ": " << refused.ToString();
    EXPECT_NE(refused.message().find(target), std::string::npos) << refused.ToString();
  }
  EXPECT_EQ(ReadText(full + "/keep.txt"), "not a backup");
  EXPECT_FALSE(fs::exists(DatabasePath(full)));
  EXPECT_TRUE(fs::is_empty(empty));
  EXPECT_EQ(ReadText(file), "a file");

  const std::string orphan = dir.path() + "/missing/backup";
  Status refused = log->Backup(orphan);
  EXPECT_EQ(refused.code(), Status::Code::kNotFound) << refused.ToString();
  EXPECT_NE(refused.message().find("parent directory of " + orphan), std::string::npos)
      << refused.ToString();
  EXPECT_FALSE(fs::exists(dir.path() + "/missing"));
  EXPECT_EQ(log->Backup("").code(), Status::Code::kInvalidArgument);
  // Refusals change nothing in the log either.
  EXPECT_EQ(log->size(), 2u);
  EXPECT_TRUE(log->Backup(dir.path() + "/fine").ok());
}

// Fails the creation of any manifest file under `prefix` while `fail` is
// set: a checkpoint copies the manifest after linking the table files, so
// the copy fails midway.
class FailingCopyFs : public rocksdb::FileSystemWrapper {
 public:
  FailingCopyFs(std::string prefix, std::atomic<bool>* fail)
      : FileSystemWrapper(rocksdb::FileSystem::Default()),
        prefix_(std::move(prefix)),
        fail_(fail) {}
  const char* Name() const override { return "FailingCopyFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override {
    if (*fail_ && name.starts_with(prefix_) && name.find("MANIFEST") != std::string::npos) {
      ++injected;
      return rocksdb::IOStatus::IOError("injected: cannot create " + name);
    }
    return target()->NewWritableFile(name, options, file, debug);
  }

  std::atomic<int> injected{0};

 private:
  std::string prefix_;
  std::atomic<bool>* fail_;
};

TEST(LogBackupTest, FailedCheckpointLeavesNothingBehind) {
  test::TempDir dir;
  const std::string node = dir.path() + "/node";
  const std::string target = dir.path() + "/backup";
  ASSERT_TRUE(Log::Init(node, "xining", "techmarket.cn/xining").ok());
  std::atomic<bool> fail{true};
  auto fs = std::make_shared<FailingCopyFs>(target + "/", &fail);
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  auto log = Log::Open(node, LogOptions{.env = env.get()});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  AppendAll(**log, Contracts("XN-", 5));

  Status failed = (*log)->Backup(target);
  EXPECT_FALSE(failed.ok());
  EXPECT_GT(fs->injected.load(), 0) << "the fault was never reached: " << failed.ToString();
  EXPECT_NE(failed.message().find("injected"), std::string::npos) << failed.ToString();
  EXPECT_FALSE(fs::exists(target)) << "a partial backup was left behind";
  // The node goes on, and the same target works once the disk does.
  AppendAll(**log, Contracts("MORE-", 2));
  fail = false;
  Status made = (*log)->Backup(target);
  ASSERT_TRUE(made.ok()) << made.ToString();
  auto copy = OpenReadOnly(target);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ((*copy)->size(), 7u);
}

// Taken while another thread appends, a backup holds at least what was
// acknowledged before it began and a whole, verifiable log. With the key put
// back beside it (a restore) it opens as a node whose views, recomputed from
// its log, are exactly the views it holds, and which appends again.
TEST(LogBackupTest, BackupDuringAppendsIsAWholeLogWithAgreeingViews) {
  test::TempDir dir;
  const std::string node = dir.path() + "/node";
  std::unique_ptr<Log> log = test::InitAndOpen(node);
  ASSERT_NE(log, nullptr);
  std::atomic<bool> appending{true};
  std::thread appender([&] {
    for (int call = 0; appending && call < 400; ++call) {
      std::vector<std::string> entries = Contracts("C" + std::to_string(call) + "-", 4);
      entries.push_back(test::Entry(test::PaymentJson("C" + std::to_string(call) + "-0", "10.00")));
      for (const auto& result : log->Append(std::move(entries))) {
        EXPECT_TRUE(result.ok()) << result.status().ToString();
      }
    }
  });
  while (log->size() < 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string target = dir.path() + "/backup";
  const uint64_t acknowledged = log->size();
  Status made = log->Backup(target);
  appending = false;
  appender.join();
  ASSERT_TRUE(made.ok()) << made.ToString();

  uint64_t held = 0;
  {
    auto copy = OpenReadOnly(target);
    ASSERT_TRUE(copy.ok()) << copy.status().ToString();
    held = (*copy)->size();
    EXPECT_GE(held, acknowledged);
    EXPECT_LE(held, log->size());
    Status verified = (*copy)->Verify(nullptr);
    EXPECT_TRUE(verified.ok()) << verified.ToString();
    for (uint64_t index : {uint64_t{0}, held / 2, held - 1}) {
      EXPECT_EQ(*(*copy)->ReadEntry(index), *log->ReadEntry(index)) << index;
    }
  }

  fs::copy_file(KeyPath(node), KeyPath(target));
  auto restored = Log::Open(target, LogOptions());
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ((*restored)->size(), held);
  auto rebuilt = (*restored)->RebuildViews();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(rebuilt->entries, held);
  EXPECT_EQ(rebuilt->before, rebuilt->after) << "the backup's views disagree with its log";
  AppendAll(**restored, Contracts("RESTORED-", 1));
  EXPECT_EQ((*restored)->size(), held + 1);
}

}  // namespace
}  // namespace ledger
