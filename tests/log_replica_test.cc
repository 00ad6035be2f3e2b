// Replication between nodes without the network: chunks served by one Log
// (ReadEntries, SignedSizes, CheckpointOf) and verified and stored by another
// (Replicate), equivocation evidence, witness cosignatures and the trust
// registry.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <map>

#include "ledger/checkpoint.h"
#include "ledger/log.h"
#include "ledger/merkle.h"
#include "ledger/origins.h"
#include "ledger/store_subtrees.h"
#include "ledger/totals.h"
#include "tests/test_util.h"

namespace ledger {
namespace {

using test::ContractJson;
using test::Entry;

const std::vector<Column> kAllColumns = {
    Column::kEntries,  Column::kHashes,    Column::kCheckpoints,
    Column::kOrigins,  Column::kRequests,  Column::kViews,
    Column::kEvidence, Column::kContracts, Column::kCosignatures};
// What two replicas of the same partner log must agree on; the other columns
// hold each node's own key, checkpoints and registry.
const std::vector<Column> kReplicaColumns = {Column::kEntries, Column::kHashes, Column::kViews,
                                             Column::kContracts};

std::string OriginOf(const std::string& market) { return "techmarket.cn/" + market; }

// Opens a node so that each Append call is one batch with one checkpoint
// (below 4096 entries), which makes the signed sizes predictable.
std::unique_ptr<Log> OpenNode(const std::string& dir) {
  LogOptions options;
  options.append_piece_entries = 0;
  StatusOr<std::unique_ptr<Log>> log = Log::Open(dir, options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

std::unique_ptr<Log> InitNode(const std::string& dir, const std::string& market) {
  StatusOr<std::string> vkey = Log::Init(dir, market, OriginOf(market));
  EXPECT_TRUE(vkey.ok()) << vkey.status().ToString();
  return OpenNode(dir);
}

// The registry entry of a node: its checkpoint key and, if asked, the witness
// key its cosignatures verify under.
TrustedOrigin TrustOf(const Log& log, bool with_witness_key) {
  TrustedOrigin trusted{log.market_id(), log.origin(), {log.vkey()}};
  if (with_witness_key) {
    trusted.vkeys.push_back(WitnessVkeyOf(*NoteVerifier::FromVkey(log.vkey())));
  }
  return trusted;
}

NoteSigner NewSigner(const std::string& name) {
  StatusOr<PrivateKey> key = PrivateKey::Generate();
  EXPECT_TRUE(key.ok());
  return NoteSigner(name, *std::move(key));
}

// A valid history of one market, batch by batch: each batch registers new
// contracts, pays, amends or terminates every third contract of the batch
// before (so a chunk needs the contract state of the chunks before it), and
// signs a transfer deal. The prefix keeps the ids of different histories
// apart.
class History {
 public:
  explicit History(std::string prefix) : prefix_(std::move(prefix)) {}

  std::vector<std::string> Next(int contracts) {
    std::vector<std::string> entries;
    for (int i = 0; i < contracts; ++i) {
      int month = i % 10 + 1;
      std::string signed_on =
          std::string("2021-") + (month < 10 ? "0" : "") + std::to_string(month) + "-15";
      entries.push_back(Entry(
          ContractJson(Id(batch_, i), std::to_string(100000 + i) + ".00", "50000.00", signed_on)));
    }
    for (int i = 0; i < previous_contracts_; i += 3) {
      std::string earlier = Id(batch_ - 1, i);
      switch ((i / 3) % 3) {
        case 0:
          entries.push_back(Entry(test::PaymentJson(earlier, "1000.00", "2021-11-20")));
          break;
        case 1:
          entries.push_back(Entry(test::AmendJson(earlier, "200000.00", "90000.00")));
          break;
        default:
          entries.push_back(Entry(test::TerminateJson(earlier)));
          break;
      }
    }
    entries.push_back(Entry(test::DealJson(prefix_ + "D" + std::to_string(batch_))));
    ++batch_;
    previous_contracts_ = contracts;
    return entries;
  }

 private:
  std::string Id(int batch, int index) const {
    return prefix_ + std::to_string(batch) + "-" + std::to_string(index);
  }

  std::string prefix_;
  int batch_ = 0;
  int previous_contracts_ = 0;
};

// Appends one batch and returns the new size; every entry must be accepted.
uint64_t AppendAll(Log* log, std::vector<std::string> entries) {
  size_t refused = 0;
  std::string first;
  for (const StatusOr<Receipt>& result : log->Append(std::move(entries))) {
    if (result.ok()) continue;
    if (refused++ == 0) first = result.status().ToString();
  }
  EXPECT_EQ(refused, 0u) << "the first: " << first;
  return log->size();
}

std::string Must(const StatusOr<std::string>& value) {
  EXPECT_TRUE(value.ok()) << value.status().ToString();
  return value.ok() ? *value : std::string();
}

// Entries [from, to) of the source's local log with its checkpoint at `to`,
// as a peer would serve them.
ReplicaChunk ChunkOf(const Log& source, uint64_t from, uint64_t to) {
  ReplicaChunk chunk;
  chunk.from = from;
  StatusOr<std::vector<std::string>> entries =
      source.ReadEntries(source.local_origin_id(), from, to);
  EXPECT_TRUE(entries.ok()) << entries.status().ToString();
  if (entries.ok()) chunk.entries = *std::move(entries);
  chunk.checkpoint = Must(source.CheckpointOf(source.local_origin_id(), to));
  return chunk;
}

uint32_t IdOf(const Log& log, const std::string& origin) {
  StatusOr<OriginRecord> record = log.OriginNamed(origin);
  EXPECT_TRUE(record.ok()) << record.status().ToString();
  return record.ok() ? record->id : 0;
}

Checkpoint ParsedCheckpoint(const std::string& note) {
  StatusOr<SignedNote> parsed = ParseNote(note);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return Checkpoint{};
  StatusOr<Checkpoint> checkpoint = ParseCheckpoint(parsed->text);
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
  return checkpoint.ok() ? *checkpoint : Checkpoint{};
}

std::string NoteText(const std::string& note) {
  StatusOr<SignedNote> parsed = ParseNote(note);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? parsed->text : std::string();
}

// The note with the last byte of its first signature flipped.
std::string FlipSignature(const std::string& note) {
  StatusOr<SignedNote> parsed = ParseNote(note);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return note;
  parsed->signatures.front().signature.back() ^= 0x01;
  return FormatNote(*parsed);
}

// How many entry rows the store holds for an origin, whatever its head says.
uint64_t EntryRows(const Log& log, uint32_t origin_id) {
  std::string prefix;
  PutBigEndian32(&prefix, origin_id);
  std::unique_ptr<rocksdb::Iterator> it(log.store()->db()->NewIterator(
      rocksdb::ReadOptions(), log.store()->handle(Column::kEntries)));
  uint64_t rows = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++rows;
  EXPECT_TRUE(it->status().ok());
  return rows;
}

Hash Digest(const Log& log) {
  StatusOr<Hash> digest = log.ViewDigest();
  EXPECT_TRUE(digest.ok()) << digest.status().ToString();
  return digest.ok() ? *digest : Hash{};
}

// Totals of one market as a table: contracts by month, type and field, and
// deals by month and mode.
std::string TotalsOf(const Log& log, const std::string& market) {
  std::string tables;
  for (bool deals : {false, true}) {
    TotalsQuery query;
    query.markets = {market};
    query.deals = deals;
    query.by = deals
                   ? std::vector<Dimension>{Dimension::kMonth, Dimension::kMode}
                   : std::vector<Dimension>{Dimension::kMonth, Dimension::kType, Dimension::kField};
    StatusOr<TotalsResult> totals = log.Totals(query);
    EXPECT_TRUE(totals.ok()) << totals.status().ToString();
    if (!totals.ok()) return std::string();
    EXPECT_FALSE(totals->total.IsZero()) << market << (deals ? " deals" : " contracts");
    tables += TotalsTable(*totals, Unit::kYuan);
  }
  return tables;
}

// Asserts that the replica's copy of the source's log at `size` is the
// source's: same signed note, same root recomputed from the stored subtrees.
void ExpectSameTreeAt(const Log& source, const Log& replica, uint32_t replica_id, uint64_t size) {
  std::string theirs = Must(source.CheckpointOf(source.local_origin_id(), size));
  std::string ours = Must(replica.CheckpointOf(replica_id, size));
  EXPECT_EQ(ours, theirs) << "size " << size;
  EXPECT_EQ(ParsedCheckpoint(ours).root, ParsedCheckpoint(theirs).root) << "size " << size;
  StatusOr<Hash> stored = RootAt(StoreSubtrees(replica.store(), replica_id), size);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, *source.RootAt(size)) << "size " << size;
}

// Chunks copied from a partner at each of its signed sizes, in order and
// some overlapping what is already held, rebuild on the replica the same
// entries byte for byte, the same signed roots, the same views and totals.
TEST(LogReplicaTest, SequentialChunksReproduceThePartnerLog) {
  test::TempDir dir;
  auto a = InitNode(dir.path() + "/a", "a");
  auto b = InitNode(dir.path() + "/b", "b");
  ASSERT_TRUE(a && b);
  // The third batch crosses 4096 entries, so it is signed twice.
  History history("A");
  for (int contracts : {40, 300, 4200, 25}) AppendAll(a.get(), history.Next(contracts));
  StatusOr<std::vector<uint64_t>> sizes = a->SignedSizes(a->local_origin_id(), 0, a->size());
  ASSERT_TRUE(sizes.ok()) << sizes.status().ToString();
  ASSERT_EQ(sizes->size(), 5u);
  EXPECT_EQ((*sizes)[2], (*sizes)[1] + 4096) << "the large batch is signed after 4096 entries";
  EXPECT_EQ(sizes->back(), a->size());

  std::vector<TrustedOrigin> registry = {TrustOf(*a, true), TrustOf(*b, true)};
  ASSERT_TRUE(b->Trust(registry).ok());
  uint32_t a_id = IdOf(*b, a->origin());
  ASSERT_NE(a_id, b->local_origin_id());
  EXPECT_EQ(b->HeldSize(a_id), 0u);

  uint64_t held = 0;
  for (size_t i = 0; i < sizes->size(); ++i) {
    uint64_t size = (*sizes)[i];
    // The third and fifth chunks start inside what B already holds.
    uint64_t from = i == 2 ? held / 2 : i == 4 ? held - 7 : held;
    StatusOr<uint64_t> replicated = b->Replicate(ChunkOf(*a, from, size));
    ASSERT_TRUE(replicated.ok()) << "chunk " << i << ": " << replicated.status().ToString();
    EXPECT_EQ(*replicated, size);
    EXPECT_EQ(b->HeldSize(a_id), size);
    EXPECT_EQ(EntryRows(*b, a_id), size);
    ExpectSameTreeAt(*a, *b, a_id, size);
    held = size;
  }

  StatusOr<std::vector<std::string>> ours = b->ReadEntries(a_id, 0, held);
  StatusOr<std::vector<std::string>> theirs = a->ReadEntries(a->local_origin_id(), 0, held);
  ASSERT_TRUE(ours.ok() && theirs.ok());
  ASSERT_EQ(ours->size(), theirs->size());
  MemoryTree tree;
  for (size_t i = 0; i < ours->size(); ++i) {
    ASSERT_EQ((*ours)[i], (*theirs)[i]) << "entry " << i;
    tree.Append(LeafHash((*ours)[i]));
  }
  EXPECT_EQ(tree.Root(), ParsedCheckpoint(Must(b->CheckpointOf(a_id, held))).root);
  StatusOr<std::vector<uint64_t>> replica_sizes = b->SignedSizes(a_id, 0, held);
  ASSERT_TRUE(replica_sizes.ok());
  EXPECT_EQ(*replica_sizes, *sizes);

  // B has no entries of its own, so its views are exactly A's.
  EXPECT_EQ(b->size(), 0u);
  EXPECT_EQ(Digest(*b), Digest(*a));
  EXPECT_EQ(TotalsOf(*b, "a"), TotalsOf(*a, "a"));
  std::vector<OriginHead> heads = b->Heads();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[0].id, b->local_origin_id());
  EXPECT_EQ(heads[1].origin, a->origin());
  EXPECT_EQ(heads[1].size, held);
  EXPECT_EQ(heads[1].checkpoint, Must(a->CheckpointOf(a->local_origin_id(), held)));
  EXPECT_TRUE(heads[1].equivocation.empty());

  // A node with entries of its own, sent the whole log as one chunk, holds
  // the same totals for A next to its own.
  auto c = InitNode(dir.path() + "/c", "c");
  ASSERT_TRUE(c);
  AppendAll(c.get(), History("C").Next(30));
  registry.push_back(TrustOf(*c, true));
  ASSERT_TRUE(c->Trust(registry).ok());
  StatusOr<uint64_t> whole = c->Replicate(ChunkOf(*a, 0, held));
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(*whole, held);
  EXPECT_EQ(TotalsOf(*c, "a"), TotalsOf(*a, "a"));
  EXPECT_NE(Digest(*c), Digest(*a));
  EXPECT_TRUE(c->Verify(nullptr).ok());
}

// A replica closed and reopened between chunks continues from its head with
// no gap and ends byte for byte where a replica that never restarted ends.
TEST(LogReplicaTest, RestartedReplicaContinuesLikeOneThatNeverRestarted) {
  test::TempDir dir;
  auto a = InitNode(dir.path() + "/a", "a");
  auto restarted = InitNode(dir.path() + "/b1", "b1");
  auto steady = InitNode(dir.path() + "/b2", "b2");
  ASSERT_TRUE(a && restarted && steady);
  History history("A");
  std::vector<uint64_t> sizes;
  for (int contracts : {200, 217, 234})
    sizes.push_back(AppendAll(a.get(), history.Next(contracts)));
  std::vector<TrustedOrigin> registry = {TrustOf(*a, true), TrustOf(*restarted, true),
                                         TrustOf(*steady, true)};
  ASSERT_TRUE(restarted->Trust(registry).ok());
  ASSERT_TRUE(steady->Trust(registry).ok());
  uint32_t a_id = IdOf(*restarted, a->origin());
  ASSERT_EQ(IdOf(*steady, a->origin()), a_id);

  for (Log* replica : {restarted.get(), steady.get()}) {
    StatusOr<uint64_t> first = replica->Replicate(ChunkOf(*a, 0, sizes[0]));
    ASSERT_TRUE(first.ok()) << first.status().ToString();
  }
  restarted.reset();
  restarted = OpenNode(dir.path() + "/b1");
  ASSERT_TRUE(restarted);
  // The registry and the head are read back from disk: no Trust call needed.
  EXPECT_EQ(IdOf(*restarted, a->origin()), a_id);
  EXPECT_EQ(restarted->HeldSize(a_id), sizes[0]);

  // The second chunk needs the contract state of the first (its payments,
  // amendments and terminations name the first batch's contracts).
  for (Log* replica : {restarted.get(), steady.get()}) {
    StatusOr<uint64_t> second = replica->Replicate(ChunkOf(*a, sizes[0], sizes[1]));
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ(*second, sizes[1]);
  }
  // And once more across a restart, with a chunk overlapping the held prefix.
  restarted.reset();
  restarted = OpenNode(dir.path() + "/b1");
  ASSERT_TRUE(restarted);
  for (Log* replica : {restarted.get(), steady.get()}) {
    StatusOr<uint64_t> third = replica->Replicate(ChunkOf(*a, sizes[1] - 5, sizes[2]));
    ASSERT_TRUE(third.ok()) << third.status().ToString();
    EXPECT_EQ(*third, sizes[2]);
  }

  EXPECT_EQ(restarted->HeldSize(a_id), sizes[2]);
  EXPECT_EQ(EntryRows(*restarted, a_id), sizes[2]);
  ExpectSameTreeAt(*a, *restarted, a_id, sizes[2]);
  EXPECT_EQ(test::ColumnsDigest(*restarted->store(), kReplicaColumns),
            test::ColumnsDigest(*steady->store(), kReplicaColumns));
  EXPECT_EQ(Digest(*restarted), Digest(*steady));
  EXPECT_EQ(Digest(*restarted), Digest(*a));
  EXPECT_EQ(*restarted->SignedSizes(a_id, 0, sizes[2]), sizes);
}

// Every kind of bad chunk is refused with the code that tells the caller
// what to do and a message naming the problem, and leaves the replica's
// database exactly as it was; the good chunk still goes in afterwards.
TEST(LogReplicaTest, BadChunksAreRejectedAndStoreNothing) {
  test::TempDir dir;
  std::string a_dir = dir.path() + "/a";
  auto a = InitNode(a_dir, "a");
  auto b = InitNode(dir.path() + "/b", "b");
  ASSERT_TRUE(a && b);
  History history("A");
  uint64_t s1 = AppendAll(a.get(), history.Next(30));
  uint64_t s2 = AppendAll(a.get(), history.Next(30));
  uint64_t s3 = AppendAll(a.get(), history.Next(30));
  ASSERT_TRUE(b->Trust({TrustOf(*a, true), TrustOf(*b, true)}).ok());
  uint32_t a_id = IdOf(*b, a->origin());
  ASSERT_TRUE(b->Replicate(ChunkOf(*a, 0, s1)).ok());
  const ReplicaChunk good = ChunkOf(*a, s1, s2);

  const std::string stored = test::ColumnsDigest(*b->store(), kAllColumns);
  const Hash views = Digest(*b);
  auto expect_rejected = [&](const std::string& what, ReplicaChunk chunk, Status::Code code,
                             const std::string& named) {
    SCOPED_TRACE(what);
    StatusOr<uint64_t> result = b->Replicate(std::move(chunk));
    ASSERT_FALSE(result.ok()) << "accepted, size " << *result;
    EXPECT_EQ(result.status().code(), code) << result.status().ToString();
    EXPECT_NE(result.status().message().find(named), std::string::npos)
        << result.status().ToString() << "\nwant a message naming: " << named;
    EXPECT_EQ(b->HeldSize(a_id), s1);
    EXPECT_EQ(EntryRows(*b, a_id), s1);
    EXPECT_EQ(Digest(*b), views);
    EXPECT_EQ(test::ColumnsDigest(*b->store(), kAllColumns), stored);
  };

  ReplicaChunk forged = good;
  forged.checkpoint = FlipSignature(good.checkpoint);
  expect_rejected("forged signature", forged, Status::Code::kDataLoss, "does not verify");

  ReplicaChunk unknown_key = good;
  unknown_key.checkpoint = SignNote(NoteText(good.checkpoint), NewSigner(a->origin()));
  expect_rejected("unknown key", unknown_key, Status::Code::kDataLoss, "trusted key");

  ReplicaChunk wrong_root = good;
  wrong_root.entries[3] = Entry(ContractJson("NOT-SIGNED-BY-A"));
  expect_rejected("wrong root", wrong_root, Status::Code::kDataLoss, "signed root");

  ReplicaChunk too_long = good;
  too_long.entries.push_back(Must(a->ReadEntry(s2)));
  expect_rejected("entries beyond the checkpoint", too_long, Status::Code::kDataLoss,
                  "does not end at its checkpoint");

  expect_rejected("gap", ChunkOf(*a, s2, s3), Status::Code::kOutOfRange,
                  "held up to " + std::to_string(s1));

  expect_rejected("replayed chunk", ChunkOf(*a, 0, s1), Status::Code::kAlreadyExists,
                  "already held");

  ReplicaChunk not_flatbuffer = good;
  not_flatbuffer.entries[5] = "these bytes are not an Entry";
  expect_rejected("not a FlatBuffer", not_flatbuffer, Status::Code::kDataLoss,
                  "entry " + std::to_string(s1 + 5) + ": entry: not a valid Entry FlatBuffer");

  // A's own key signing entries that break a stateful rule (a payment of a
  // contract A never registered): the signature is no licence to break rules.
  {
    StatusOr<PrivateKey> a_key = PrivateKey::LoadPem(KeyPath(a_dir));
    ASSERT_TRUE(a_key.ok()) << a_key.status().ToString();
    NoteSigner a_signer(a->origin(), *std::move(a_key));
    ReplicaChunk rule_broken;
    rule_broken.from = s1;
    rule_broken.entries = {Entry(ContractJson("LEGAL")), Entry(test::PaymentJson("NOPE", "1.00"))};
    StatusOr<std::vector<std::string>> prefix = a->ReadEntries(a->local_origin_id(), 0, s1);
    ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
    MemoryTree tree;
    for (const std::string& entry : *prefix) tree.Append(LeafHash(entry));
    for (const std::string& entry : rule_broken.entries) tree.Append(LeafHash(entry));
    rule_broken.checkpoint =
        SignNote(FormatCheckpoint(Checkpoint{a->origin(), s1 + 2, tree.Root(), {}}), a_signer);
    expect_rejected("rule broken", rule_broken, Status::Code::kDataLoss,
                    "entry " + std::to_string(s1 + 1) + " breaks a rule");
  }

  // A market outside the registry.
  {
    auto stranger = InitNode(dir.path() + "/z", "z");
    ASSERT_TRUE(stranger);
    uint64_t size = AppendAll(stranger.get(), History("Z").Next(3));
    StatusOr<uint64_t> result = b->Replicate(ChunkOf(*stranger, 0, size));
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.status().message().find("trust registry"), std::string::npos)
        << result.status().ToString();
    EXPECT_EQ(test::ColumnsDigest(*b->store(), kAllColumns), stored);
  }

  // None of the refusals disturbed the replica: the real chunk follows.
  StatusOr<uint64_t> replicated = b->Replicate(good);
  ASSERT_TRUE(replicated.ok()) << replicated.status().ToString();
  EXPECT_EQ(*replicated, s2);
  ExpectSameTreeAt(*a, *b, a_id, s2);
  EXPECT_TRUE(b->Evidence()->empty());
}

// Two histories signed with one key at one size are caught: the conflicting
// checkpoint is DataLoss "equivocation", both notes are kept as evidence, the
// origin stops syncing, and all of that survives a restart.
TEST(LogReplicaTest, EquivocationIsRecordedAndStopsTheOrigin) {
  test::TempDir dir;
  std::string a_dir = dir.path() + "/a";
  std::string twin_dir = dir.path() + "/a2";
  std::string b_dir = dir.path() + "/b";
  ASSERT_TRUE(Log::Init(a_dir, "a", OriginOf("a")).ok());
  // A copy of A's node, key included, before either appends anything.
  std::filesystem::copy(a_dir, twin_dir, std::filesystem::copy_options::recursive);
  auto a = OpenNode(a_dir);
  auto twin = OpenNode(twin_dir);
  auto b = InitNode(b_dir, "b");
  ASSERT_TRUE(a && twin && b);
  ASSERT_EQ(twin->vkey(), a->vkey());
  History history("A");
  uint64_t size = AppendAll(a.get(), history.Next(20));
  ASSERT_EQ(AppendAll(twin.get(), History("FORK").Next(20)), size);
  std::string ours = Must(a->CheckpointOf(a->local_origin_id(), size));
  std::string theirs = Must(twin->CheckpointOf(twin->local_origin_id(), size));
  ASSERT_NE(ParsedCheckpoint(ours).root, ParsedCheckpoint(theirs).root);

  std::vector<TrustedOrigin> registry = {TrustOf(*a, true), TrustOf(*b, true)};
  ASSERT_TRUE(b->Trust(registry).ok());
  uint32_t a_id = IdOf(*b, a->origin());
  ASSERT_TRUE(b->Replicate(ChunkOf(*a, 0, size)).ok());

  // A consistent checkpoint is fine and changes nothing.
  StatusOr<ObservedCheckpoint> consistent = b->ObserveCheckpoint(ours);
  ASSERT_TRUE(consistent.ok()) << consistent.status().ToString();
  EXPECT_EQ(consistent->held, size);

  StatusOr<ObservedCheckpoint> conflict = b->ObserveCheckpoint(theirs);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), Status::Code::kDataLoss);
  EXPECT_TRUE(conflict.status().message().starts_with("equivocation"))
      << conflict.status().ToString();

  uint64_t next = AppendAll(a.get(), history.Next(20));
  auto expect_stopped = [&](Log* replica) {
    StatusOr<std::vector<Equivocation>> evidence = replica->Evidence();
    ASSERT_TRUE(evidence.ok()) << evidence.status().ToString();
    ASSERT_EQ(evidence->size(), 1u);
    EXPECT_EQ((*evidence)[0].origin, a->origin());
    EXPECT_EQ((*evidence)[0].theirs, theirs);
    EXPECT_EQ((*evidence)[0].ours, ours);
    bool reported = false;
    for (const OriginHead& head : replica->Heads()) {
      if (head.id != a_id) {
        EXPECT_TRUE(head.equivocation.empty()) << head.origin << ": " << head.equivocation;
        continue;
      }
      reported = !head.equivocation.empty();
      EXPECT_EQ(head.size, size);
    }
    EXPECT_TRUE(reported) << "Heads() does not show the equivocation";
    StatusOr<uint64_t> more = replica->Replicate(ChunkOf(*a, size, next));
    ASSERT_FALSE(more.ok());
    EXPECT_EQ(more.status().code(), Status::Code::kFailedPrecondition) << more.status().ToString();
    EXPECT_EQ(replica->ObserveCheckpoint(ours).status().code(), Status::Code::kFailedPrecondition);
    EXPECT_EQ(replica->HeldSize(a_id), size);
    EXPECT_EQ(EntryRows(*replica, a_id), size);
  };
  {
    SCOPED_TRACE("before restart");
    expect_stopped(b.get());
  }
  b.reset();
  b = OpenNode(b_dir);
  ASSERT_TRUE(b);
  {
    SCOPED_TRACE("after restart");
    expect_stopped(b.get());
  }
  // ledgerd calls Trust at every start; that must not lift the stop.
  ASSERT_TRUE(b->Trust(registry).ok());
  {
    SCOPED_TRACE("after restart and Trust");
    expect_stopped(b.get());
  }
}

// A node restored from an older copy of itself learns, from a checkpoint of
// its own log that a partner shows it, that it once signed more than it
// holds. It then refuses local appends (they would give indices it signed
// before a second history), keeps refusing after a restart, and still
// replicates its partners; restoring the latest copy ends the refusal.
TEST(LogReplicaTest, OwnLogBehindASignedCheckpointRefusesAppendsAcrossRestarts) {
  test::TempDir dir;
  const std::string a_dir = dir.path() + "/a";
  const std::string older = dir.path() + "/a-older";
  const std::string latest = dir.path() + "/a-latest";
  const auto recursive = std::filesystem::copy_options::recursive;
  auto a = InitNode(a_dir, "a");
  auto b = InitNode(dir.path() + "/b", "b");
  ASSERT_TRUE(a && b);
  History history("A");
  const uint64_t held = AppendAll(a.get(), history.Next(10));
  const std::string held_checkpoint = Must(a->CheckpointOf(a->local_origin_id(), held));
  a.reset();
  std::filesystem::copy(a_dir, older, recursive);
  a = OpenNode(a_dir);
  const uint64_t signed_size = AppendAll(a.get(), history.Next(10));
  ASSERT_GT(signed_size, held);
  const std::string signed_checkpoint = Must(a->CheckpointOf(a->local_origin_id(), signed_size));
  a.reset();
  std::filesystem::copy(a_dir, latest, recursive);
  std::filesystem::remove_all(a_dir);
  std::filesystem::copy(older, a_dir, recursive);

  a = OpenNode(a_dir);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), held);
  ASSERT_TRUE(a->Trust({TrustOf(*a, true), TrustOf(*b, true)}).ok());
  // Its own checkpoints up to what it holds say nothing new.
  StatusOr<ObservedCheckpoint> known = a->ObserveCheckpoint(held_checkpoint);
  ASSERT_TRUE(known.ok()) << known.status().ToString();

  StatusOr<ObservedCheckpoint> ahead = a->ObserveCheckpoint(signed_checkpoint);
  ASSERT_FALSE(ahead.ok());
  EXPECT_EQ(ahead.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(ahead.status().message().find("size " + std::to_string(signed_size) + ", beyond the " +
                                          std::to_string(held) + " entries held here"),
            std::string::npos)
      << ahead.status().ToString();

  auto expect_refused = [&] {
    std::vector<StatusOr<Receipt>> results = a->Append({Entry(test::ContractJson("LATE-1"))});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].status().code(), Status::Code::kFailedPrecondition);
    EXPECT_NE(results[0].status().message().find("own log is behind"), std::string::npos)
        << results[0].status().ToString();
    EXPECT_EQ(a->size(), held);
    bool shown = false;
    for (const OriginHead& head : a->Heads()) {
      if (head.id == a->local_origin_id()) shown = !head.equivocation.empty();
    }
    EXPECT_TRUE(shown) << "Heads() does not show why the log stopped";
  };
  {
    SCOPED_TRACE("when it learns");
    expect_refused();
  }
  const uint64_t b_size = AppendAll(b.get(), History("B").Next(5));
  StatusOr<uint64_t> replicated = a->Replicate(ChunkOf(*b, 0, b_size));
  ASSERT_TRUE(replicated.ok()) << replicated.status().ToString();
  EXPECT_EQ(a->HeldSize(IdOf(*a, b->origin())), b_size);
  a.reset();
  a = OpenNode(a_dir);
  ASSERT_TRUE(a);
  {
    SCOPED_TRACE("after restart");
    expect_refused();
  }

  a.reset();
  std::filesystem::remove_all(a_dir);
  std::filesystem::copy(latest, a_dir, recursive);
  a = OpenNode(a_dir);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), signed_size);
  std::vector<std::string> more = history.Next(3);
  const size_t count = more.size();
  EXPECT_EQ(AppendAll(a.get(), std::move(more)), signed_size + count);
}

// Restored from an older copy and appended to before any partner was
// heard: a partner's checkpoint at a size the node now holds contradicts
// its log. The node keeps the evidence and stops appending (more entries
// would only extend the fork).
TEST(LogReplicaTest, OwnLogForkedAfterARestoreStopsAppends) {
  test::TempDir dir;
  const std::string a_dir = dir.path() + "/a";
  const std::string older = dir.path() + "/a-older";
  auto a = InitNode(a_dir, "a");
  ASSERT_TRUE(a);
  History history("A");
  AppendAll(a.get(), history.Next(10));
  a.reset();
  std::filesystem::copy(a_dir, older, std::filesystem::copy_options::recursive);
  a = OpenNode(a_dir);
  const uint64_t signed_size = AppendAll(a.get(), history.Next(10));
  const std::string signed_checkpoint = Must(a->CheckpointOf(a->local_origin_id(), signed_size));
  a.reset();
  std::filesystem::remove_all(a_dir);
  std::filesystem::copy(older, a_dir, std::filesystem::copy_options::recursive);
  a = OpenNode(a_dir);
  ASSERT_TRUE(a);
  const uint64_t forked = AppendAll(a.get(), History("F").Next(30));
  ASSERT_GE(forked, signed_size);

  StatusOr<ObservedCheckpoint> seen = a->ObserveCheckpoint(signed_checkpoint);
  ASSERT_FALSE(seen.ok());
  EXPECT_EQ(seen.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(seen.status().message().find("size " + std::to_string(signed_size) +
                                         " contradicts the log held here"),
            std::string::npos)
      << seen.status().ToString();
  StatusOr<std::vector<Equivocation>> evidence = a->Evidence();
  ASSERT_TRUE(evidence.ok()) << evidence.status().ToString();
  ASSERT_EQ(evidence->size(), 1u);
  EXPECT_EQ((*evidence)[0].theirs, signed_checkpoint);
  std::vector<StatusOr<Receipt>> refused = a->Append({Entry(test::ContractJson("LATE-1"))});
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].status().code(), Status::Code::kFailedPrecondition)
      << refused[0].status().ToString();
  EXPECT_EQ(a->size(), forked);
}

// A replica's witness cosignature goes back to the origin, which stores it
// with its checkpoint once, only if it verifies under a trusted witness key,
// and only for a checkpoint it holds.
TEST(LogReplicaTest, CosignaturesAreVerifiedStoredOnceAndServed) {
  test::TempDir dir;
  std::string a_dir = dir.path() + "/a";
  auto a = InitNode(a_dir, "a");
  auto b = InitNode(dir.path() + "/b", "b");
  ASSERT_TRUE(a && b);
  uint64_t size = AppendAll(a.get(), History("A").Next(30));
  ASSERT_TRUE(b->Trust({TrustOf(*a, true), TrustOf(*b, true)}).ok());
  ASSERT_TRUE(b->Replicate(ChunkOf(*a, 0, size)).ok());
  uint32_t local = a->local_origin_id();
  const std::string note = Must(a->CheckpointOf(local, size));
  const std::string text = NoteText(note);
  const std::string line = b->Cosign(text);
  ASSERT_TRUE(line.starts_with("— " + b->origin() + " ")) << line;
  ASSERT_TRUE(line.ends_with("\n"));
  const std::string cosigned = text + "\n" + line;

  // A knows B's checkpoint key but not its witness key.
  ASSERT_TRUE(a->Trust({TrustOf(*a, false), TrustOf(*b, false)}).ok());
  StatusOr<size_t> untrusted = a->AddCosignatures(cosigned);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.status().code(), Status::Code::kNotFound) << untrusted.status().ToString();
  EXPECT_EQ(Must(a->CheckpointOf(local, size)), note);

  ASSERT_TRUE(a->Trust({TrustOf(*a, false), TrustOf(*b, true)}).ok());
  StatusOr<size_t> added = a->AddCosignatures(cosigned);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(*added, 1u);
  std::string served = Must(a->CheckpointOf(local, size));
  EXPECT_EQ(served, note + line);
  StatusOr<SignedNote> parsed = ParseNote(served);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(VerifyNote(*parsed, *NoteVerifier::FromVkey(TrustOf(*b, true).vkeys[1])).ok());
  EXPECT_TRUE(VerifyNote(*parsed, *NoteVerifier::FromVkey(a->vkey())).ok());

  StatusOr<size_t> again = a->AddCosignatures(cosigned);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, 0u);
  EXPECT_EQ(Must(a->CheckpointOf(local, size)), served);

  StatusOr<size_t> flipped = a->AddCosignatures(FlipSignature(cosigned));
  ASSERT_FALSE(flipped.ok());
  EXPECT_EQ(flipped.status().code(), Status::Code::kDataLoss) << flipped.status().ToString();
  EXPECT_EQ(Must(a->CheckpointOf(local, size)), served);

  Checkpoint held = ParsedCheckpoint(note);
  Checkpoint beyond{a->origin(), size + 7, held.root, {}};
  Checkpoint other_root{a->origin(), size, Hash{}, {}};
  for (const Checkpoint& checkpoint : {beyond, other_root}) {
    std::string other_text = FormatCheckpoint(checkpoint);
    StatusOr<size_t> not_held = a->AddCosignatures(other_text + "\n" + b->Cosign(other_text));
    ASSERT_FALSE(not_held.ok());
    EXPECT_EQ(not_held.status().code(), Status::Code::kNotFound) << not_held.status().ToString();
    EXPECT_NE(not_held.status().message().find("not held"), std::string::npos)
        << not_held.status().ToString();
  }
  EXPECT_EQ(Must(a->CheckpointOf(local, size)), served);

  a.reset();
  a = OpenNode(a_dir);
  ASSERT_TRUE(a);
  EXPECT_EQ(Must(a->CheckpointOf(local, size)), served);
}

// The node's own market must be listed with its own key.
TEST(LogReplicaTest, TrustRefusesAnotherKeyForTheOwnMarket) {
  test::TempDir dir;
  auto a = InitNode(dir.path() + "/a", "a");
  ASSERT_TRUE(a);
  const std::string before = test::ColumnsDigest(*a->store(), kAllColumns);
  TrustedOrigin impostor{"a", a->origin(), {NewSigner(a->origin()).VerifierKey()}};
  Status refused = a->Trust({impostor});
  EXPECT_EQ(refused.code(), Status::Code::kFailedPrecondition) << refused.ToString();
  EXPECT_EQ(test::ColumnsDigest(*a->store(), kAllColumns), before);
  StatusOr<OriginRecord> record = a->OriginNamed(a->origin());
  ASSERT_TRUE(record.ok());
  ASSERT_EQ(record->checkpoint_keys.size(), 1u);
  EXPECT_EQ(record->checkpoint_keys[0].ToVkey(), a->vkey());
  // The log still signs with, and verifies under, its own key.
  uint64_t size = AppendAll(a.get(), History("A").Next(3));
  StatusOr<SignedNote> note = ParseNote(Must(a->CheckpointOf(a->local_origin_id(), size)));
  ASSERT_TRUE(note.ok());
  EXPECT_TRUE(VerifyNote(*note, *NoteVerifier::FromVkey(a->vkey())).ok());
}

// The own market listed under another origin name, with that name's key, is
// the same mistake as listing it with another key: one market, one log.
TEST(LogReplicaTest, TrustRefusesTheOwnMarketUnderAnotherOrigin) {
  test::TempDir dir;
  auto a = InitNode(dir.path() + "/a", "a");
  ASSERT_TRUE(a);
  const std::string before = test::ColumnsDigest(*a->store(), kAllColumns);
  std::string renamed = "techmarket.cn/a-renamed";
  Status refused = a->Trust({{"a", renamed, {NewSigner(renamed).VerifierKey()}}});
  EXPECT_EQ(refused.code(), Status::Code::kFailedPrecondition) << refused.ToString();
  EXPECT_EQ(test::ColumnsDigest(*a->store(), kAllColumns), before);
  EXPECT_EQ(a->OriginNamed(renamed).status().code(), Status::Code::kNotFound);
}

// A registry naming one market twice is refused as a whole: none of its
// other markets are added either.
TEST(LogReplicaTest, TrustRefusesAMarketListedTwice) {
  test::TempDir dir;
  auto a = InitNode(dir.path() + "/a", "a");
  auto b = InitNode(dir.path() + "/b", "b");
  auto d = InitNode(dir.path() + "/d", "d");
  ASSERT_TRUE(a && b && d);
  const std::string before = test::ColumnsDigest(*a->store(), kAllColumns);
  std::string second_origin = "techmarket.cn/b-second";
  Status refused = a->Trust({TrustOf(*a, true),
                             TrustOf(*d, true),
                             TrustOf(*b, true),
                             {"b", second_origin, {NewSigner(second_origin).VerifierKey()}}});
  EXPECT_EQ(refused.code(), Status::Code::kInvalidArgument) << refused.ToString();
  EXPECT_NE(refused.message().find("twice"), std::string::npos) << refused.ToString();
  EXPECT_EQ(a->OriginNamed(d->origin()).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(a->OriginNamed(b->origin()).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(a->Heads().size(), 1u);
  EXPECT_EQ(test::ColumnsDigest(*a->store(), kAllColumns), before);
}

// Trusting the same registry again, before or after a restart, keeps every
// origin id, held size and checkpoint.
TEST(LogReplicaTest, TrustIsIdempotent) {
  test::TempDir dir;
  std::string a_dir = dir.path() + "/a";
  auto a = InitNode(a_dir, "a");
  auto b = InitNode(dir.path() + "/b", "b");
  auto c = InitNode(dir.path() + "/c", "c");
  ASSERT_TRUE(a && b && c);
  History b_history("B");
  uint64_t b_size = AppendAll(b.get(), b_history.Next(12));
  uint64_t c_size = AppendAll(c.get(), History("C").Next(5));
  AppendAll(a.get(), History("A").Next(4));
  std::vector<TrustedOrigin> registry = {TrustOf(*a, true), TrustOf(*b, true), TrustOf(*c, true)};
  ASSERT_TRUE(a->Trust(registry).ok());
  ASSERT_TRUE(a->Replicate(ChunkOf(*b, 0, b_size)).ok());
  ASSERT_TRUE(a->Replicate(ChunkOf(*c, 0, c_size)).ok());

  auto summary = [](const Log& log) {
    std::map<std::string, std::string> heads;
    for (const OriginHead& head : log.Heads()) {
      EXPECT_EQ(log.HeldSize(head.id), head.size);
      heads[head.origin] = std::to_string(head.id) + " " + head.market + " " +
                           std::to_string(head.size) + "\n" + head.checkpoint;
    }
    return heads;
  };
  const std::map<std::string, std::string> first = summary(*a);
  ASSERT_EQ(first.size(), 3u);
  const Hash views = Digest(*a);

  ASSERT_TRUE(a->Trust(registry).ok());
  EXPECT_EQ(summary(*a), first);
  EXPECT_EQ(Digest(*a), views);

  a.reset();
  a = OpenNode(a_dir);
  ASSERT_TRUE(a);
  EXPECT_EQ(summary(*a), first);
  ASSERT_TRUE(a->Trust(registry).ok());
  EXPECT_EQ(summary(*a), first);
  EXPECT_EQ(Digest(*a), views);
  // The held logs still extend: B's next chunk continues at its head.
  uint64_t b_next = AppendAll(b.get(), b_history.Next(6));
  StatusOr<uint64_t> more = a->Replicate(ChunkOf(*b, b_size, b_next));
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ(*more, b_next);
}

}  // namespace
}  // namespace ledger
