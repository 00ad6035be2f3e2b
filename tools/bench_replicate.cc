// ledger-bench replicate: catch-up of a whole log from one node to an empty
// one over loopback TCP, through the real replication path (frames, chunk
// verification against the signed checkpoint, one WriteBatch per chunk with
// its views, synced WAL).
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <thread>

#include "ledger/encoding.h"
#include "net/node.h"
#include "tools/bench_common.h"

namespace ledger::bench {
namespace {

net::MarketInfo MarketOf(const Log& log) {
  net::MarketInfo market;
  std::string witness = WitnessVkeyOf(*NoteVerifier::FromVkey(log.vkey()));
  market.trust = {log.market_id(), log.origin(), {log.vkey(), witness}};
  return market;
}

[[noreturn]] void Die(const Status& status) {
  std::fprintf(stderr, "ledger-bench: %s\n", status.ToString().c_str());
  std::exit(2);
}

}  // namespace

void BenchReplicate(const std::string& dir, uint64_t count, bool reuse_source) {
  spdlog::set_level(spdlog::level::warn);
  std::unique_ptr<Log> source;
  double append_rate = 0;  // the baseline: appending the same entries locally
  if (reuse_source) {
    StatusOr<std::unique_ptr<Log>> kept = Log::Open(dir + "/source", LogOptions());
    if (kept.ok() && (*kept)->size() == count) source = std::move(*kept);
  }
  if (!source) {
    source = FreshLog(dir + "/source", LogOptions(), "source");
    std::vector<std::string> entries = MakeWorkload(21, count);
    append_rate = AppendAll(source.get(), entries, 1);
    Print(
        {{"bench", "replicate_setup"}, {"entries", count}, {"append_entries_per_s", append_rate}});
  }
  // A partner serving a catch-up has long finished writing: let the
  // source's flushes and compactions end before the clock starts, so they do
  // not compete with the catch-up for the two cores.
  rocksdb::DB* db = source->store()->db();
  for (Column column : {Column::kEntries, Column::kHashes, Column::kCheckpoints}) {
    db->Flush(rocksdb::FlushOptions(), source->store()->handle(column)).PermitUncheckedError();
    db->CompactRange(rocksdb::CompactRangeOptions(), source->store()->handle(column), nullptr,
                     nullptr)
        .PermitUncheckedError();
  }
  // Trust below rewrites the registry; the source's own record stays.
  std::unique_ptr<Log> target = FreshLog(dir + "/target", LogOptions(), "target");
  net::Federation federation;
  federation.markets = {MarketOf(*source), MarketOf(*target)};
  for (Log* log : {source.get(), target.get()}) {
    if (Status trusted = log->Trust(federation.Registry()); !trusted.ok()) Die(trusted);
  }
  boost::asio::io_context source_io(1), target_io(1);
  net::Node::Options source_options;
  source_options.listen = "127.0.0.1:0";
  net::Node source_node(source_io, *source, federation, source_options, nullptr);
  if (Status started = source_node.Start(); !started.ok()) Die(started);
  federation.markets[0].address = "127.0.0.1:" + std::to_string(source_node.listen_port());
  net::Node::Options target_options;
  target_options.partners = {"source"};
  net::Node target_node(target_io, *target, federation, target_options, nullptr);
  uint32_t origin_id = target->OriginNamed(source->origin())->id;

  auto start = Clock::now();
  if (Status started = target_node.Start(); !started.ok()) Die(started);
  std::thread source_thread([&] { source_io.run(); });
  std::thread target_thread([&] { target_io.run(); });
  while (target->HeldSize(origin_id) < count && Seconds(start) < 3600) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  double seconds = Seconds(start);
  boost::asio::post(source_io, [&] { source_node.Stop(); });
  boost::asio::post(target_io, [&] { target_node.Stop(); });
  source_thread.join();
  target_thread.join();
  if (target->HeldSize(origin_id) != count) Die(Status::Internal("catch-up did not finish"));

  StatusOr<Hash> source_digest = source->ViewDigest();
  StatusOr<Hash> target_digest = target->ViewDigest();
  StatusOr<std::vector<uint64_t>> checkpoints = target->SignedSizes(origin_id, 0, count);
  if (!source_digest.ok() || !target_digest.ok() || !checkpoints.ok()) {
    Die(Status::Internal("reading results failed"));
  }
  nlohmann::ordered_json line = {{"bench", "replicate_catch_up"},
                                 {"entries", count},
                                 {"seconds", seconds},
                                 {"entries_per_s", count / seconds},
                                 {"checkpoints_verified", checkpoints->size()},
                                 {"view_digests_equal", *source_digest == *target_digest},
                                 {"transport", "loopback TCP"}};
  // Same entries, same checks and views: catch-up against appending them.
  if (append_rate > 0) line["ratio_to_local_append"] = count / seconds / append_rate;
  Print(line);
}

}  // namespace ledger::bench
