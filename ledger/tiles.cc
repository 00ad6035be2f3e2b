#include "ledger/tiles.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "ledger/encoding.h"
#include "ledger/log.h"
#include "ledger/store_subtrees.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kTileLevelMax = 63;
constexpr size_t kBundleEntryBytesMax = 0xffff;

// A decimal number of exactly three digits.
bool ParseThreeDigits(std::string_view text, uint64_t* value) {
  if (text.size() != 3) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + 3, *value);
  return error == std::errc() && end == text.data() + 3;
}

// A decimal number without sign or leading zeros (except "0") in [lo, hi].
bool ParseDecimal(std::string_view text, uint64_t lo, uint64_t hi, uint64_t* value) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size() && *value >= lo && *value <= hi;
}

// "x001/x234/067" -> 1234067: every group three digits, all but the last
// prefixed with "x", no leading zero groups.
bool ParseTileIndex(std::string_view text, uint64_t* index) {
  *index = 0;
  bool first = true;
  while (true) {
    size_t slash = text.find('/');
    std::string_view group = text.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (!last) {
      if (group.empty() || group[0] != 'x') return false;
      group.remove_prefix(1);
    }
    uint64_t digits = 0;
    if (!ParseThreeDigits(group, &digits)) return false;
    if (first && !last && digits == 0) return false;  // "x000/..." is not canonical
    if (*index > (UINT64_MAX - digits) / 1000) return false;
    *index = *index * 1000 + digits;
    first = false;
    if (last) return true;
    text.remove_prefix(slash + 1);
  }
}

Status WriteFile(const fs::path& path, std::string_view bytes) {
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  if (error) return Status::IoError(path.parent_path().string() + ": " + error.message());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Status::IoError(path.string() + ": write failed");
  return Status::Ok();
}

}  // namespace

std::string TileIndexPath(uint64_t index) {
  std::string groups;
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%03u", static_cast<unsigned>(index % 1000));
  groups = buffer;
  for (index /= 1000; index > 0; index /= 1000) {
    std::snprintf(buffer, sizeof buffer, "x%03u/", static_cast<unsigned>(index % 1000));
    groups.insert(0, buffer);
  }
  return groups;
}

std::string TilePath(const TileRef& tile) {
  std::string path = tile.entries ? "tile/entries/" : "tile/" + std::to_string(tile.level) + "/";
  path += TileIndexPath(tile.index);
  if (tile.width != kTileHashes) path += ".p/" + std::to_string(tile.width);
  return path;
}

StatusOr<TileRef> ParseTilePath(std::string_view path) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("tile path \"" + std::string(path) + "\": " + why);
  };
  std::string_view rest = path;
  if (rest.substr(0, 5) != "tile/") return bad("want tile/...");
  rest.remove_prefix(5);
  TileRef tile;
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("no tile index");
  std::string_view level = rest.substr(0, slash);
  if (level == "entries") {
    tile.entries = true;
  } else {
    uint64_t value = 0;
    if (!ParseDecimal(level, 0, kTileLevelMax, &value)) return bad("bad level");
    tile.level = static_cast<uint32_t>(value);
  }
  rest.remove_prefix(slash + 1);
  size_t partial = rest.find(".p/");
  if (partial != std::string_view::npos) {
    uint64_t width = 0;
    if (!ParseDecimal(rest.substr(partial + 3), 1, kTileHashes - 1, &width)) {
      return bad("a partial tile's width must be 1..255");
    }
    tile.width = static_cast<uint32_t>(width);
    rest = rest.substr(0, partial);
  }
  if (!ParseTileIndex(rest, &tile.index)) return bad("bad tile index");
  return tile;
}

uint64_t HashesAtTileLevel(uint64_t size, uint32_t level) {
  uint32_t shift = kTileHeight * level;
  return shift >= 64 ? 0 : size >> shift;
}

std::vector<TileRef> TilesOf(uint64_t size) {
  std::vector<TileRef> tiles;
  auto add_level = [&](bool entries, uint32_t level, uint64_t count) {
    for (uint64_t index = 0; index * kTileHashes < count; ++index) {
      uint64_t width = std::min<uint64_t>(kTileHashes, count - index * kTileHashes);
      tiles.push_back(TileRef{entries, level, index, static_cast<uint32_t>(width)});
    }
  };
  for (uint32_t level = 0; HashesAtTileLevel(size, level) > 0; ++level) {
    add_level(false, level, HashesAtTileLevel(size, level));
  }
  add_level(true, 0, size);
  return tiles;
}

Status AppendBundleEntry(std::string* bundle, std::string_view entry) {
  if (entry.size() > kBundleEntryBytesMax) {
    return Status::InvalidArgument("entry of " + std::to_string(entry.size()) +
                                   " bytes does not fit an entry bundle (65535 at most)");
  }
  bundle->push_back(static_cast<char>(entry.size() >> 8));
  bundle->push_back(static_cast<char>(entry.size() & 0xff));
  bundle->append(entry);
  return Status::Ok();
}

Status SplitBundle(std::string_view bundle, std::vector<std::string_view>* entries) {
  for (size_t position = 0; !bundle.empty(); ++position) {
    if (bundle.size() < 2) {
      return Status::DataLoss("entry bundle: entry " + std::to_string(position) +
                              " has a truncated length");
    }
    size_t length = (static_cast<uint8_t>(bundle[0]) << 8) | static_cast<uint8_t>(bundle[1]);
    if (bundle.size() - 2 < length) {
      return Status::DataLoss("entry bundle: entry " + std::to_string(position) + " claims " +
                              std::to_string(length) + " bytes, " +
                              std::to_string(bundle.size() - 2) + " remain");
    }
    entries->push_back(bundle.substr(2, length));
    bundle.remove_prefix(2 + length);
  }
  return Status::Ok();
}

StatusOr<std::string> ReadTile(const Log& log, uint32_t origin_id, uint64_t tree_size,
                               const TileRef& tile) {
  uint64_t held = log.HeldSize(origin_id);
  if (tree_size > held) {
    return Status::OutOfRange("tree size " + std::to_string(tree_size) +
                              " is beyond the held size " + std::to_string(held));
  }
  uint64_t begin = tile.index * kTileHashes;
  uint64_t count = tile.entries ? tree_size : HashesAtTileLevel(tree_size, tile.level);
  if (tile.index > UINT64_MAX / kTileHashes || begin + tile.width > count) {
    return Status::NotFound(TilePath(tile) + " is not part of a tree of size " +
                            std::to_string(tree_size));
  }
  if (tile.entries) {
    LEDGER_ASSIGN_OR_RETURN(std::vector<std::string> entries,
                            log.ReadEntries(origin_id, begin, begin + tile.width));
    std::string bundle;
    for (const std::string& entry : entries) {
      LEDGER_RETURN_IF_ERROR(AppendBundleEntry(&bundle, entry));
    }
    return bundle;
  }
  LEDGER_ASSIGN_OR_RETURN(
      std::string row, log.store()->Get(Column::kHashes, HashTileKey(origin_id, kTileHeight * tile.level,
                                                                     tile.index)));
  if (row.size() < size_t{tile.width} * 32) {
    return Status::DataLoss("hash row for " + TilePath(tile) + " holds " +
                            std::to_string(row.size() / 32) + " hashes");
  }
  row.resize(size_t{tile.width} * 32);
  return row;
}

StatusOr<ExportReport> ExportTiles(const Log& log, uint32_t origin_id, const std::string& dir,
                                   const std::function<void(uint64_t, uint64_t)>& progress) {
  ExportReport report;
  for (const OriginHead& head : log.Heads()) {
    if (head.id != origin_id) continue;
    report.origin = head.origin;
    report.size = head.size;
  }
  if (report.origin.empty()) return Status::NotFound("no origin with id " + std::to_string(origin_id));
  LEDGER_ASSIGN_OR_RETURN(std::string checkpoint, log.CheckpointOf(origin_id, report.size));

  std::error_code error;
  if (fs::exists(dir, error)) return Status::AlreadyExists(dir + ": already exists");
  fs::path target = fs::absolute(dir, error);
  fs::path staging = target;
  staging += ".partial-" + std::to_string(getpid());
  fs::remove_all(staging, error);
  auto fail = [&](Status status) {
    fs::remove_all(staging, error);
    return status;
  };
  Status written = WriteFile(staging / "checkpoint", checkpoint);
  if (!written.ok()) return fail(written);
  for (const TileRef& tile : TilesOf(report.size)) {
    StatusOr<std::string> bytes = ReadTile(log, origin_id, report.size, tile);
    if (!bytes.ok()) return fail(bytes.status().WithContext(TilePath(tile)));
    written = WriteFile(staging / TilePath(tile), *bytes);
    if (!written.ok()) return fail(written);
    report.bytes += bytes->size();
    ++(tile.entries ? report.bundles : report.tiles);
    if (tile.entries && progress) progress(tile.index * kTileHashes + tile.width, report.size);
  }
  fs::rename(staging, target, error);
  if (error) return fail(Status::IoError(target.string() + ": " + error.message()));
  return report;
}

}  // namespace ledger
