#include "net/messages.h"

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "net/limits.h"
#include "schemas/wire_generated.h"

namespace net {
namespace {

namespace wire = ledger::wire;
using ledger::Status;
using ledger::StatusOr;

// The frame body EncodeFrame produces: the frame without its 4-byte header.
std::string Body(const Message& message) { return EncodeFrame(message).substr(4); }

// Decodes the encoded body of `message` and returns it as a T; fails the test
// when decoding fails or yields another message type.
template <typename T>
T RoundTrip(const Message& message) {
  StatusOr<Message> decoded = DecodeMessage(Body(message));
  EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
  if (!decoded.ok()) return T();
  EXPECT_TRUE(std::holds_alternative<T>(*decoded)) << MessageName(*decoded);
  return std::holds_alternative<T>(*decoded) ? std::get<T>(*decoded) : T();
}

// Finishes `builder` as a Message of the given body, under `identifier`.
std::string Finished(flatbuffers::FlatBufferBuilder& builder, wire::Body type,
                     flatbuffers::Offset<void> body,
                     const char* identifier = wire::MessageIdentifier()) {
  builder.Finish(wire::CreateMessage(builder, type, body), identifier);
  return std::string(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
}

// Expects DecodeMessage to refuse body with InvalidArgument whose message
// contains `want`.
void ExpectRejected(std::string_view body, std::string_view want) {
  StatusOr<Message> decoded = DecodeMessage(body);
  ASSERT_FALSE(decoded.ok()) << "decoded as " << MessageName(*decoded);
  EXPECT_EQ(decoded.status().code(), Status::Code::kInvalidArgument) << decoded.status().ToString();
  EXPECT_NE(decoded.status().message().find(want), std::string::npos)
      << decoded.status().message() << " does not contain " << want;
}

// ---- Round trips ----

TEST(MessagesRoundTripTest, Hello) {
  // Proves a Hello keeps its market and protocol version through a frame.
  HelloMessage hello = RoundTrip<HelloMessage>(HelloMessage{"xining", 0xfedcba98});
  EXPECT_EQ(hello.market, "xining");
  EXPECT_EQ(hello.protocol_version, 0xfedcba98u);
}

TEST(MessagesRoundTripTest, Heads) {
  // Proves a Heads keeps every head in order, with full 64-bit sizes and an
  // empty checkpoint kept empty.
  HeadsMessage sent;
  sent.heads.push_back({"techmarket.cn/xining", 0x0123456789abcdefull, "note one\n\n— a b\n"});
  sent.heads.push_back({"techmarket.cn/wuhan", 0, ""});
  sent.heads.push_back({"techmarket.cn/lanzhou", 7, "note three\n"});
  HeadsMessage heads = RoundTrip<HeadsMessage>(sent);
  ASSERT_EQ(heads.heads.size(), sent.heads.size());
  for (size_t i = 0; i < sent.heads.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(heads.heads[i].origin, sent.heads[i].origin);
    EXPECT_EQ(heads.heads[i].size, sent.heads[i].size);
    EXPECT_EQ(heads.heads[i].checkpoint, sent.heads[i].checkpoint);
  }
}

TEST(MessagesRoundTripTest, HeadsWithNoHeads) {
  // Proves a node holding no origin can say so: an empty Heads decodes.
  EXPECT_TRUE(RoundTrip<HeadsMessage>(HeadsMessage{}).heads.empty());
}

TEST(MessagesRoundTripTest, Fetch) {
  // Proves a Fetch keeps its origin and both 64-bit bounds, down to a range
  // of one entry.
  FetchMessage fetch =
      RoundTrip<FetchMessage>(FetchMessage{"techmarket.cn/wuhan", 0xfffffffffffffffe, ~0ull});
  EXPECT_EQ(fetch.origin, "techmarket.cn/wuhan");
  EXPECT_EQ(fetch.from, 0xfffffffffffffffeull);
  EXPECT_EQ(fetch.to, ~0ull);
}

TEST(MessagesRoundTripTest, Entries) {
  // Proves an Entries keeps its origin, start, checkpoint and every entry's
  // bytes exactly, including NUL bytes and an empty entry.
  EntriesMessage sent;
  sent.origin = "techmarket.cn/xining";
  sent.from = 0x100000001;
  sent.entries = {std::string("\0\x01\xff entry", 9), "", std::string(1000, '\x5a'), "last"};
  sent.checkpoint = "techmarket.cn/xining\n4294967301\nroot\n\n— techmarket.cn/xining sig\n";
  EntriesMessage entries = RoundTrip<EntriesMessage>(sent);
  EXPECT_EQ(entries.origin, sent.origin);
  EXPECT_EQ(entries.from, sent.from);
  EXPECT_EQ(entries.entries, sent.entries);
  EXPECT_EQ(entries.checkpoint, sent.checkpoint);
}

TEST(MessagesRoundTripTest, EntriesAreEightByteAligned) {
  // Proves each decoded entry's bytes sat 8-byte aligned in the frame body,
  // which entries (FlatBuffers themselves) need to be read in place.
  EntriesMessage sent{"techmarket.cn/xining", 0, {"a", "bcd", "efghijk", "lmnopqrs"}, "note\n"};
  std::string body = Body(sent);
  const auto* message = wire::GetMessage(body.data());
  ASSERT_EQ(message->body_type(), wire::Body::Entries);
  const auto* entries = message->body_as_Entries()->entries();
  ASSERT_EQ(entries->size(), sent.entries.size());
  for (const wire::EntryBytes* entry : *entries) {
    auto offset = reinterpret_cast<const char*>(entry->bytes()->data()) - body.data();
    EXPECT_EQ(offset % 8, 0) << "offset " << offset;
  }
}

TEST(MessagesRoundTripTest, Checkpoint) {
  // Proves a Checkpoint keeps its note byte for byte.
  std::string note = "techmarket.cn/xining\n12\nAAAA\n\n\xe2\x80\x94 techmarket.cn/xining sig\n";
  EXPECT_EQ(RoundTrip<CheckpointMessage>(CheckpointMessage{note}).note, note);
}

TEST(MessagesRoundTripTest, Cosignature) {
  // Proves a Cosignature keeps its note byte for byte.
  std::string note = "techmarket.cn/wuhan\n3\nBBBB\n\n\xe2\x80\x94 witness.example/w1 sig\n";
  EXPECT_EQ(RoundTrip<CosignatureMessage>(CosignatureMessage{note}).note, note);
}

TEST(MessagesRoundTripTest, Error) {
  // Proves an Error keeps its text, and that an empty text is allowed.
  EXPECT_EQ(RoundTrip<ErrorMessage>(ErrorMessage{"market mismatch: wuhan"}).message,
            "market mismatch: wuhan");
  EXPECT_EQ(RoundTrip<ErrorMessage>(ErrorMessage{}).message, "");
}

TEST(MessagesRoundTripTest, LimitsThemselvesAreAccepted) {
  // Proves the limits are inclusive: exactly kChunkEntriesMax entries and
  // exactly kHeadsMax heads decode.
  EntriesMessage entries{"o", 0, std::vector<std::string>(limits::kChunkEntriesMax, "e"), ""};
  EXPECT_EQ(RoundTrip<EntriesMessage>(entries).entries.size(), limits::kChunkEntriesMax);
  HeadsMessage heads{std::vector<HeadInfo>(limits::kHeadsMax, HeadInfo{"o", 1, ""})};
  EXPECT_EQ(RoundTrip<HeadsMessage>(heads).heads.size(), limits::kHeadsMax);
}

// ---- Frame header ----

TEST(MessagesFrameTest, FrameLengthReadsLittleEndian) {
  // Proves FrameLength reads the header least significant byte first and
  // treats bytes as unsigned.
  EXPECT_EQ(FrameLength(std::string("\x01\x02\x03\x84", 4)), 0x84030201u);
  EXPECT_EQ(FrameLength(std::string("\xff\xff\xff\xff", 4)), 0xffffffffu);
  EXPECT_EQ(FrameLength(std::string("\x00\x00\x00\x00", 4)), 0u);
}

TEST(MessagesFrameTest, HeaderDeclaresTheBodyLength) {
  // Proves every frame's header declares exactly the bytes that follow it.
  std::vector<Message> messages = {
      HelloMessage{"xining", 1}, HeadsMessage{{{"o", 1, "note"}}},
      FetchMessage{"o", 0, 5},   EntriesMessage{"o", 0, {std::string(300, 'x')}, "note"},
      CheckpointMessage{"note"}, CosignatureMessage{"note"},
      ErrorMessage{"bye"},
  };
  for (const Message& message : messages) {
    std::string frame = EncodeFrame(message);
    ASSERT_GT(frame.size(), 4u) << MessageName(message);
    EXPECT_EQ(FrameLength(std::string_view(frame).substr(0, 4)), frame.size() - 4)
        << MessageName(message);
  }
}

// ---- Rejections ----

TEST(MessagesRejectTest, GarbageAndEmptyBuffers) {
  // Proves bytes that are not a Message FlatBuffer are refused, not read.
  ExpectRejected("", "not a valid Message FlatBuffer");
  ExpectRejected("TLW1", "not a valid Message FlatBuffer");
  ExpectRejected("this is not a flatbuffer at all, only text", "not a valid Message FlatBuffer");
  ExpectRejected(std::string(64, '\xff'), "not a valid Message FlatBuffer");
  // A root offset pointing far past the end, with the right identifier.
  ExpectRejected(std::string("\xf0\xff\xff\x7fTLW1\0\0\0\0", 12), "not a valid Message FlatBuffer");
}

TEST(MessagesRejectTest, EveryTruncationOfAFrame) {
  // Proves no proper prefix of a valid frame body decodes.
  // The builder writes back to front, so the origin (built first) ends the
  // body; 19 characters plus length and NUL fill 24 bytes, leaving no
  // trailing padding that a prefix could drop harmlessly.
  std::string body = Body(FetchMessage{"techmarket.cn/lhasa", 3, 9});
  ASSERT_TRUE(DecodeMessage(body).ok());
  ASSERT_EQ(body.back(), '\0');
  ASSERT_EQ(body[body.size() - 2], 'a');
  for (size_t length = 0; length < body.size(); ++length) {
    SCOPED_TRACE(length);
    ExpectRejected(body.substr(0, length), "not a valid Message FlatBuffer");
  }
}

TEST(MessagesRejectTest, WrongFileIdentifier) {
  // Proves a well-formed FlatBuffer under another identifier, or none, is
  // refused: it is some other schema's data.
  {
    flatbuffers::FlatBufferBuilder builder;
    auto error = wire::CreateError(builder, builder.CreateString("hi")).Union();
    ExpectRejected(Finished(builder, wire::Body::Error, error, "TLW2"),
                   "not a valid Message FlatBuffer");
  }
  {
    flatbuffers::FlatBufferBuilder builder;
    auto error = wire::CreateError(builder, builder.CreateString("hi")).Union();
    builder.Finish(wire::CreateMessage(builder, wire::Body::Error, error));
    std::string body(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
    ExpectRejected(body, "not a valid Message FlatBuffer");
  }
}

TEST(MessagesRejectTest, BodyAboveFrameBytesMax) {
  // Proves the size limit alone refuses a body: a valid Message padded to
  // kFrameBytesMax bytes decodes, one byte more does not.
  std::string body = Body(ErrorMessage{"padded"});
  body.resize(limits::kFrameBytesMax, '\0');
  EXPECT_TRUE(DecodeMessage(body).ok());
  body.push_back('\0');
  ExpectRejected(body, "larger than " + std::to_string(limits::kFrameBytesMax) + " bytes");
}

// One Message built field by field, and what its refusal must name.
struct MissingCase {
  const char* name;
  std::function<std::string(flatbuffers::FlatBufferBuilder&)> build;
  const char* want;
};

TEST(MessagesRejectTest, MissingOrEmptyRequiredFields) {
  // Proves each required field, absent (or empty where an empty value means
  // nothing), is refused with a message naming the message and the field.
  using Builder = flatbuffers::FlatBufferBuilder;
  auto text = [](Builder& b, const char* s) { return b.CreateString(s); };
  auto no_entries = [](Builder& b) {
    return b.CreateVector(std::vector<flatbuffers::Offset<wire::EntryBytes>>{});
  };
  std::vector<MissingCase> cases = {
      {"Hello without market",
       [](Builder& b) {
         return Finished(b, wire::Body::Hello, wire::CreateHello(b, 0, 1).Union());
       },
       "Hello: missing market"},
      {"Hello with empty market",
       [&](Builder& b) {
         return Finished(b, wire::Body::Hello, wire::CreateHello(b, text(b, ""), 1).Union());
       },
       "Hello: missing market"},
      {"Heads without heads",
       [](Builder& b) { return Finished(b, wire::Body::Heads, wire::CreateHeads(b, 0).Union()); },
       "Heads: missing heads"},
      {"Head without origin",
       [&](Builder& b) {
         auto head = wire::CreateHead(b, 0, 1, text(b, "note"));
         auto heads = wire::CreateHeads(b, b.CreateVector(&head, 1));
         return Finished(b, wire::Body::Heads, heads.Union());
       },
       "Heads: missing origin"},
      {"Fetch without origin",
       [](Builder& b) {
         return Finished(b, wire::Body::Fetch, wire::CreateFetch(b, 0, 0, 5).Union());
       },
       "Fetch: missing origin"},
      {"Fetch with empty origin",
       [&](Builder& b) {
         return Finished(b, wire::Body::Fetch, wire::CreateFetch(b, text(b, ""), 0, 5).Union());
       },
       "Fetch: missing origin"},
      {"Entries without origin",
       [&](Builder& b) {
         auto entries = wire::CreateEntries(b, 0, 0, no_entries(b), text(b, "note"));
         return Finished(b, wire::Body::Entries, entries.Union());
       },
       "Entries: missing origin"},
      {"Entries without entries",
       [&](Builder& b) {
         auto entries = wire::CreateEntries(b, text(b, "o"), 0, 0, text(b, "note"));
         return Finished(b, wire::Body::Entries, entries.Union());
       },
       "Entries: missing entries"},
      {"Entries without checkpoint",
       [&](Builder& b) {
         auto entries = wire::CreateEntries(b, text(b, "o"), 0, no_entries(b), 0);
         return Finished(b, wire::Body::Entries, entries.Union());
       },
       "Entries: missing checkpoint"},
      {"EntryBytes without bytes",
       [&](Builder& b) {
         auto entry = wire::CreateEntryBytes(b, 0);
         auto entries =
             wire::CreateEntries(b, text(b, "o"), 0, b.CreateVector(&entry, 1), text(b, "note"));
         return Finished(b, wire::Body::Entries, entries.Union());
       },
       "Entries: missing entry bytes"},
      {"Checkpoint without note",
       [](Builder& b) {
         return Finished(b, wire::Body::Checkpoint, wire::CreateCheckpoint(b, 0).Union());
       },
       "Checkpoint: missing note"},
      {"Cosignature without note",
       [](Builder& b) {
         return Finished(b, wire::Body::Cosignature, wire::CreateCosignature(b, 0).Union());
       },
       "Cosignature: missing note"},
      {"Message without body", [](Builder& b) { return Finished(b, wire::Body::NONE, 0); },
       "unknown message body 0"},
      {"Message with a body type this version does not know",
       [](Builder& b) {
         return Finished(b, static_cast<wire::Body>(42), wire::CreateError(b, 0).Union());
       },
       "unknown message body 42"},
  };
  for (const MissingCase& c : cases) {
    SCOPED_TRACE(c.name);
    flatbuffers::FlatBufferBuilder builder;
    ExpectRejected(c.build(builder), c.want);
  }
}

TEST(MessagesRejectTest, BodyTypeWithoutBody) {
  // Proves a Message that names a body type but carries no body table (the
  // Verifier accepts an absent union value) is refused, not dereferenced.
  for (wire::Body type :
       {wire::Body::Hello, wire::Body::Heads, wire::Body::Fetch, wire::Body::Entries,
        wire::Body::Checkpoint, wire::Body::Cosignature, wire::Body::Error}) {
    SCOPED_TRACE(wire::EnumNameBody(type));
    flatbuffers::FlatBufferBuilder builder;
    ExpectRejected(Finished(builder, type, 0), "missing body");
  }
}

TEST(MessagesRejectTest, FetchOfAnEmptyRange) {
  // Proves a Fetch must ask for at least one entry: from >= to is refused.
  ExpectRejected(Body(FetchMessage{"o", 5, 5}), "Fetch: empty range [5, 5)");
  ExpectRejected(Body(FetchMessage{"o", 6, 5}), "Fetch: empty range [6, 5)");
  ExpectRejected(Body(FetchMessage{"o", ~0ull, 0}), "Fetch: empty range");
}

TEST(MessagesRejectTest, EntriesAboveChunkEntriesMax) {
  // Proves a chunk of more than kChunkEntriesMax entries is refused.
  EntriesMessage entries{"o", 0, std::vector<std::string>(limits::kChunkEntriesMax + 1, "e"), ""};
  ExpectRejected(Body(entries),
                 "Entries: more than " + std::to_string(limits::kChunkEntriesMax) + " entries");
}

TEST(MessagesRejectTest, HeadsAboveHeadsMax) {
  // Proves a Heads of more than kHeadsMax heads is refused.
  HeadsMessage heads{std::vector<HeadInfo>(limits::kHeadsMax + 1, HeadInfo{"o", 1, ""})};
  ExpectRejected(Body(heads), "Heads: more than " + std::to_string(limits::kHeadsMax) + " heads");
}

TEST(MessagesRejectTest, EveryFlippedByteOfAnEntriesFrame) {
  // Proves decoding survives any single corrupted byte of an Entries body:
  // each flip is either refused with InvalidArgument or decodes to a message
  // that encodes and decodes again unchanged.
  EntriesMessage sent{"techmarket.cn/xining",
                      7,
                      {"entry one", std::string("\0\x01\x02", 3)},
                      "techmarket.cn/xining\n9\nroot\n"};
  std::string body = Body(sent);
  for (size_t index = 0; index < body.size(); ++index) {
    SCOPED_TRACE(index);
    std::string flipped = body;
    flipped[index] = static_cast<char>(flipped[index] ^ 0xff);
    StatusOr<Message> decoded = DecodeMessage(flipped);
    // Bytes 4 to 7 hold the file identifier.
    if (index >= 4 && index < 8) {
      EXPECT_FALSE(decoded.ok());
    }
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Status::Code::kInvalidArgument);
      continue;
    }
    std::string again = EncodeFrame(*decoded);
    StatusOr<Message> redecoded = DecodeMessage(std::string_view(again).substr(4));
    ASSERT_TRUE(redecoded.ok()) << redecoded.status().ToString();
    EXPECT_EQ(EncodeFrame(*redecoded), again);
  }
}

}  // namespace
}  // namespace net
