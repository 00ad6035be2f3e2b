// A log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the layout any
// static file server can publish and existing tile clients read.
//
//   checkpoint                  the signed checkpoint (with cosignatures)
//   tile/<L>/<N>[.p/<W>]        hashes of tree level 8L, nodes [256N, 256N+W)
//   tile/entries/<N>[.p/<W>]    entries [256N, 256N+W), each as a big-endian
//                               uint16 length and the entry's exact bytes
//
// N is written in three-digit groups, all but the last prefixed with "x"
// (1234067 -> x001/x234/067). A tile of width 256 is full and has no ".p/W"
// suffix; a tree of n leaves has, at every level, its full tiles plus one
// partial tile for the rest. Full tiles never change as the log grows.
//
// The node's store already keeps its hashes as 256-wide rows per tree level
// (store_subtrees.h), so a tile is a prefix of one row.
//
// Thread-safety: the functions are pure, or read the Log (thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace ledger {

class Log;

inline constexpr uint32_t kTileHeight = 8;
inline constexpr uint32_t kTileHashes = 1u << kTileHeight;  // the width of a full tile

// A tile or entry bundle named by its path.
struct TileRef {
  bool entries = false;  // an entry bundle rather than a hash tile
  uint32_t level = 0;    // tile level (0 for entry bundles)
  uint64_t index = 0;
  uint32_t width = kTileHashes;  // 1..256
};

// "x001/x234/067" for 1234067, "000" for 0.
std::string TileIndexPath(uint64_t index);
// "tile/L/N[.p/W]" or "tile/entries/N[.p/W]".
std::string TilePath(const TileRef& tile);
// The inverse of TilePath, refusing every other spelling (leading zeros
// missing, a width of 0 or 256 after ".p/", levels above 63, extra parts):
// InvalidArgument naming what is wrong.
StatusOr<TileRef> ParseTilePath(std::string_view path);

// The hashes at tile level `level` of a tree of `size` leaves:
// size >> (8 * level) (0 above the top).
uint64_t HashesAtTileLevel(uint64_t size, uint32_t level);
// Every tile and entry bundle of a tree of `size` leaves: hash tiles level by
// level, then the entry bundles, each in index order.
std::vector<TileRef> TilesOf(uint64_t size);

// Entry bundles.
// Appends one entry; InvalidArgument if it is longer than 65535 bytes.
Status AppendBundleEntry(std::string* bundle, std::string_view entry);
// Appends the entries of a bundle to `entries`, pointing into it. DataLoss
// naming the entry (by its position in the bundle) whose length runs past
// the end; the entries before it are still appended.
Status SplitBundle(std::string_view bundle, std::vector<std::string_view>* entries);

// Reading a node's tiles. The tree is the origin's log at `tree_size`, which
// must be at most its durable size (OutOfRange otherwise); the tile must
// belong to that tree (NotFound otherwise).
StatusOr<std::string> ReadTile(const Log& log, uint32_t origin_id, uint64_t tree_size,
                               const TileRef& tile);

struct ExportReport {
  std::string origin;
  uint64_t size = 0;  // the exported tree's size
  uint64_t tiles = 0;
  uint64_t bundles = 0;
  uint64_t bytes = 0;
};

// Writes an origin's log, at the size of its latest held checkpoint, as a
// tlog-tiles directory `dir` (which must not exist yet). Everything goes to a
// sibling directory first, which is renamed to `dir` only when complete, so
// a failed export leaves nothing at `dir`. `progress(done, total)` counts
// entries.
StatusOr<ExportReport> ExportTiles(const Log& log, uint32_t origin_id, const std::string& dir,
                                   const std::function<void(uint64_t, uint64_t)>& progress);

}  // namespace ledger
