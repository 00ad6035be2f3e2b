// Durability and corruption: real processes killed with SIGKILL, and bytes
// flipped in the stored database.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/write_batch.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "ledger/entry_json.h"
#include "ledger/log.h"
#include "ledger/store_subtrees.h"
#include "ledger/totals.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

struct Child {
  pid_t pid = -1;
  int stdin_fd = -1;
  int stdout_fd = -1;
};

Child Spawn(const std::vector<std::string>& argv) {
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) std::abort();
  Child child;
  child.pid = ::fork();
  if (child.pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDERR_FILENO);
    ::close(in[1]);
    ::close(out[0]);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  child.stdin_fd = in[1];
  child.stdout_fd = out[0];
  return child;
}

int Iterations(int normal, int soak) { return std::getenv("LEDGER_SOAK") ? soak : normal; }

// A ledgerctl child appends from a pipe and prints a receipt only after each
// batch is durable; SIGKILL at random moments, 20+ times over one database:
// every receipt it printed is present after reopening and verify passes.
TEST(CrashTest, AcknowledgedEntriesSurviveSigkill) {
  ::signal(SIGPIPE, SIG_IGN);
  test::TempDir dir;
  ASSERT_TRUE(Log::Init(dir.path(), "xining", "techmarket.cn/xining").ok());
  std::mt19937_64 random(20211028);
  std::map<uint64_t, std::string> acknowledged;  // index -> leaf hash hex
  int iterations = Iterations(20, 200);
  for (int round = 0; round < iterations; ++round) {
    Child child =
        Spawn({test::ToolPath("ledgerctl"), "--data", dir.path(), "append", "--receipts", "-"});
    std::thread writer([&, fd = child.stdin_fd] {
      for (int i = 0; i < 200000; ++i) {
        // Registrations over the year, each third line a payment on the
        // contract before it: many view rows change in every batch.
        std::string id = "K" + std::to_string(round) + "-" + std::to_string(i);
        std::string line =
            i % 3 == 2
                ? test::PaymentJson("K" + std::to_string(round) + "-" + std::to_string(i - 1),
                                    "1000.00", "2021-12-31")
                : test::ContractJson(id, "100000.00", "80000.00",
                                     "2021-" + std::string(i % 12 < 9 ? "0" : "") +
                                         std::to_string(i % 12 + 1) + "-15");
        line += "\n";
        if (::write(fd, line.data(), line.size()) != ssize_t(line.size())) break;
      }
      ::close(fd);
    });
    std::thread killer([&, pid = child.pid] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + random() % 700));
      ::kill(pid, SIGKILL);
    });
    std::string output;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(child.stdout_fd, buffer, sizeof buffer)) > 0) output.append(buffer, n);
    ::close(child.stdout_fd);
    killer.join();
    writer.join();
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    // Only whole lines count: a line cut by the kill was never fully said.
    size_t start = 0;
    for (size_t end; (end = output.find('\n', start)) != std::string::npos; start = end + 1) {
      auto receipt = nlohmann::json::parse(output.substr(start, end - start));
      acknowledged[receipt["index"].get<uint64_t>()] = receipt["leaf_hash"].get<std::string>();
    }
    auto log = Log::Open(dir.path(), LogOptions());
    ASSERT_TRUE(log.ok()) << "round " << round << ": " << log.status().ToString();
    for (const auto& [index, leaf] : acknowledged) {
      auto stored = (*log)->LeafHashAt(index);
      ASSERT_TRUE(stored.ok()) << "round " << round << " lost acknowledged index " << index;
      ASSERT_EQ(HexEncode(*stored), leaf) << "index " << index;
    }
    ASSERT_TRUE((*log)->Verify(nullptr).ok()) << "round " << round;
    // The views agree with the log after the crash: the totals equal a
    // count over the entries themselves, and folding the log again gives
    // the stored views' digest.
    int64_t registered = 0;
    int64_t paid_fen = 0;
    for (uint64_t index = 0; index < (*log)->size(); ++index) {
      auto entry = nlohmann::json::parse(*EntryToJson(*(*log)->ReadEntry(index)));
      if (entry["event"] == "ContractRegistered") ++registered;
      if (entry["event"] == "PaymentReceived") paid_fen += 100000;
    }
    auto totals = (*log)->Totals(TotalsQuery());
    ASSERT_TRUE(totals.ok()) << totals.status().ToString();
    ASSERT_EQ(totals->total.v[ViewValues::kContracts], registered) << "round " << round;
    ASSERT_EQ(totals->total.v[ViewValues::kPaidFen], paid_fen) << "round " << round;
    auto rebuilt = (*log)->RebuildViews();
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
    ASSERT_EQ(rebuilt->before, rebuilt->after) << "round " << round;
  }
  EXPECT_GT(acknowledged.size(), 0u) << "no round acknowledged anything: the test proved nothing";
}

// Builds a log of 20 entries and returns its directory.
void MakeLog(const std::string& dir) {
  auto log = test::InitAndOpen(dir);
  std::vector<std::string> entries;
  for (int i = 0; i < 20; ++i)
    entries.push_back(test::Entry(test::ContractJson("F" + std::to_string(i))));
  for (const auto& result : log->Append(entries)) ASSERT_TRUE(result.ok());
}

// Overwrites one row of a column family directly, as someone with access to
// the database files could, keeping RocksDB's own checksums valid: flips a bit
// of the byte at `offset` (default: the middle one).
void TamperRow(const std::string& dir, Column column, const std::string& key,
               size_t offset = std::string::npos) {
  auto store = Store::Open(DatabasePath(dir), StoreOptions());
  ASSERT_TRUE(store.ok());
  auto value = (*store)->Get(column, key);
  ASSERT_TRUE(value.ok());
  if (offset == std::string::npos) offset = value->size() / 2;
  ASSERT_LT(offset, value->size());
  (*value)[offset] ^= 0x01;
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put((*store)->handle(column), key, *value).ok());
  ASSERT_TRUE((*store)->Write(&batch, true).ok());
}

// A byte flipped inside stored entry 7 is reported by `ledgerctl verify`
// with index 7 and a failing exit code.
TEST(CorruptionTest, VerifyNamesTheIndexOfAFlippedEntryByte) {
  test::TempDir dir;
  MakeLog(dir.path());
  std::string output;
  ASSERT_EQ(
      test::RunCommand(test::ToolPath("ledgerctl") + " --data " + dir.path() + " verify", &output),
      0)
      << output;
  TamperRow(dir.path(), Column::kEntries, EntryKey(1, 7));
  output.clear();
  EXPECT_EQ(
      test::RunCommand(test::ToolPath("ledgerctl") + " --data " + dir.path() + " verify", &output),
      1);
  EXPECT_NE(output.find("index 7:"), std::string::npos) << output;
}

// A corrupted interior hash is caught too, named by the entry that completes it.
TEST(CorruptionTest, VerifyCatchesAFlippedSubtreeHash) {
  test::TempDir dir;
  MakeLog(dir.path());
  // Level 2, index 1: the subtree over leaves 4..7, in the first tile.
  TamperRow(dir.path(), Column::kHashes, HashTileKey(1, 2, 0), 1 * 32 + 5);
  auto log = Log::Open(dir.path(), LogOptions{.read_only = true});
  ASSERT_TRUE(log.ok());
  Status status = (*log)->Verify(nullptr);
  EXPECT_EQ(status.code(), Status::Code::kDataLoss);
  EXPECT_NE(status.message().find("index 7:"), std::string::npos) << status.ToString();
}

// A byte flipped in an SST file on disk (below RocksDB's API) is reported as
// data loss rather than served.
TEST(CorruptionTest, VerifyReportsAFlippedByteInTheFiles) {
  test::TempDir dir;
  MakeLog(dir.path());
  std::string sst;
  {
    auto store = Store::Open(DatabasePath(dir.path()), StoreOptions());
    ASSERT_TRUE(store.ok());
    rocksdb::FlushOptions flush;
    ASSERT_TRUE((*store)->db()->Flush(flush, (*store)->handle(Column::kEntries)).ok());
    std::vector<rocksdb::LiveFileMetaData> files;
    (*store)->db()->GetLiveFilesMetaData(&files);
    for (const auto& file : files) {
      if (file.column_family_name == "entries") sst = file.db_path + file.name;
    }
  }
  ASSERT_FALSE(sst.empty());
  {
    std::fstream file(sst, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(100);
    char byte = 0;
    file.read(&byte, 1);
    byte ^= 0x40;
    file.seekp(100);
    file.write(&byte, 1);
  }
  std::string output;
  EXPECT_NE(
      test::RunCommand(test::ToolPath("ledgerctl") + " --data " + dir.path() + " verify", &output),
      0);
  EXPECT_NE(output.find("DataLoss"), std::string::npos) << output;
}

}  // namespace
}  // namespace ledger
