// ledger-bench bytes_on_disk: what a log costs on disk per entry. Measured
// twice on the same database: as the appends left it (memtables still in the
// WAL), and after every column family is flushed and fully compacted, the
// steady state of a log that has stopped growing. Both count every file of
// the database directory, RocksDB's own log and manifest included.
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/table_properties.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "tools/bench_common.h"

namespace ledger::bench {
namespace {

struct DirectoryBytes {
  uint64_t total = 0;
  uint64_t sst = 0;    // table files
  uint64_t wal = 0;    // write-ahead log
  uint64_t other = 0;  // manifest, options, RocksDB's info log
};

// RocksDB deletes obsolete files as it goes, so a file may vanish between
// listing and sizing it: such files are skipped, not errors.
DirectoryBytes MeasureDirectory(const std::string& path) {
  DirectoryBytes bytes;
  std::error_code error;
  for (const auto& file : std::filesystem::recursive_directory_iterator(path, error)) {
    std::error_code size_error;
    if (!file.is_regular_file(size_error)) continue;
    uint64_t size = file.file_size(size_error);
    if (size_error) continue;
    std::string extension = file.path().extension().string();
    bytes.total += size;
    if (extension == ".sst") {
      bytes.sst += size;
    } else if (extension == ".log") {
      bytes.wal += size;
    } else {
      bytes.other += size;
    }
  }
  if (error) {
    std::fprintf(stderr, "ledger-bench: %s: %s\n", path.c_str(), error.message().c_str());
    std::exit(2);
  }
  return bytes;
}

std::vector<rocksdb::ColumnFamilyHandle*> Handles(const Store& store) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (size_t i = 0; i < kColumnCount; ++i) handles.push_back(store.handle(Column(i)));
  return handles;
}

// The entries as the client sent them: their mean size before compression.
double MeanEntryBytes(const Store& store) {
  rocksdb::TablePropertiesCollection tables;
  store.db()
      ->GetPropertiesOfAllTables(store.handle(Column::kEntries), &tables)
      .PermitUncheckedError();
  uint64_t bytes = 0, rows = 0;
  for (const auto& [file, properties] : tables) {
    bytes += properties->raw_value_size;
    rows += properties->num_entries;
  }
  return rows == 0 ? 0.0 : double(bytes) / rows;
}

}  // namespace

void BenchBytesOnDisk(Log* log, const std::string& dir, uint64_t count) {
  Store& store = *log->store();
  rocksdb::DB* db = store.db();
  std::string path = DatabasePath(dir);
  DirectoryBytes before = MeasureDirectory(path);

  std::vector<rocksdb::ColumnFamilyHandle*> handles = Handles(store);
  rocksdb::Status flushed = db->Flush(rocksdb::FlushOptions(), handles);
  for (rocksdb::ColumnFamilyHandle* handle : handles) {
    if (!flushed.ok()) break;
    flushed = db->CompactRange(rocksdb::CompactRangeOptions(), handle, nullptr, nullptr);
  }
  if (!flushed.ok()) {
    std::fprintf(stderr, "ledger-bench: compaction: %s\n", flushed.ToString().c_str());
    std::exit(2);
  }
  DirectoryBytes after = MeasureDirectory(path);

  nlohmann::ordered_json columns;
  for (rocksdb::ColumnFamilyHandle* handle : handles) {
    rocksdb::ColumnFamilyMetaData meta;
    db->GetColumnFamilyMetaData(handle, &meta);
    columns[handle->GetName()] = meta.size;
  }
  Print({{"bench", "bytes_on_disk"},
         {"entries", count},
         {"workload", "mixed year, views maintained"},
         {"bytes", after.total},
         {"bytes_per_entry", double(after.total) / count},
         {"after", "flush and full compaction of every column family"},
         {"files", "every file of the RocksDB directory"},
         {"sst_bytes", after.sst},
         {"wal_bytes", after.wal},
         {"other_bytes", after.other},
         {"column_sst_bytes", columns},
         {"entry_bytes_mean", MeanEntryBytes(store)},
         {"as_appended_bytes", before.total},
         {"as_appended_bytes_per_entry", double(before.total) / count},
         {"as_appended_wal_bytes", before.wal}});
}

}  // namespace ledger::bench
