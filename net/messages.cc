#include "net/messages.h"

#include <flatbuffers/flatbuffers.h>

#include "net/limits.h"
#include "schemas/wire_generated.h"

namespace net {
namespace {

namespace wire = ledger::wire;
using ledger::Status;
using ledger::StatusOr;

flatbuffers::Offset<flatbuffers::String> String(flatbuffers::FlatBufferBuilder& builder,
                                                const std::string& text) {
  return builder.CreateString(text);
}

// Builds the body table of one message; returns (type, offset).
struct BodyBuilder {
  flatbuffers::FlatBufferBuilder& builder;

  std::pair<wire::Body, flatbuffers::Offset<void>> operator()(const HelloMessage& m) {
    auto market = String(builder, m.market);
    return {wire::Body::Hello, wire::CreateHello(builder, market, m.protocol_version).Union()};
  }
  std::pair<wire::Body, flatbuffers::Offset<void>> operator()(const HeadsMessage& m) {
    std::vector<flatbuffers::Offset<wire::Head>> heads;
    for (const HeadInfo& head : m.heads) {
      auto origin = String(builder, head.origin);
      auto checkpoint = String(builder, head.checkpoint);
      heads.push_back(wire::CreateHead(builder, origin, head.size, checkpoint));
    }
    auto vector = builder.CreateVector(heads);
    return {wire::Body::Heads, wire::CreateHeads(builder, vector).Union()};
  }
  std::pair<wire::Body, flatbuffers::Offset<void>> operator()(const FetchMessage& m) {
    auto origin = String(builder, m.origin);
    return {wire::Body::Fetch, wire::CreateFetch(builder, origin, m.from, m.to).Union()};
  }
  std::pair<wire::Body, flatbuffers::Offset<void>> operator()(const EntriesMessage& m) {
    std::vector<flatbuffers::Offset<wire::EntryBytes>> entries;
    entries.reserve(m.entries.size());
    for (const std::string& entry : m.entries) {
      // Entries are FlatBuffers themselves: keep them 8-byte aligned.
      builder.ForceVectorAlignment(entry.size(), 1, 8);
      auto bytes =
          builder.CreateVector(reinterpret_cast<const uint8_t*>(entry.data()), entry.size());
      entries.push_back(wire::CreateEntryBytes(builder, bytes));
    }
    auto origin = String(builder, m.origin);
    auto vector = builder.CreateVector(entries);
    auto checkpoint = String(builder, m.checkpoint);
    return {wire::Body::Entries,
            wire::CreateEntries(builder, origin, m.from, vector, checkpoint).Union()};
  }
  std::pair<wire::Body, flatbuffers::Offset<void>> operator()(const CheckpointMessage& m) {
    auto note = String(builder, m.note);
    return {wire::Body::Checkpoint, wire::CreateCheckpoint(builder, note).Union()};
  }
  std::pair<wire::Body, flatbuffers::Offset<void>> operator()(const CosignatureMessage& m) {
    auto note = String(builder, m.note);
    return {wire::Body::Cosignature, wire::CreateCosignature(builder, note).Union()};
  }
  std::pair<wire::Body, flatbuffers::Offset<void>> operator()(const ErrorMessage& m) {
    auto message = String(builder, m.message);
    return {wire::Body::Error, wire::CreateError(builder, message).Union()};
  }
};

Status Missing(const char* message, const char* field) {
  return Status::InvalidArgument(std::string(message) + ": missing " + field);
}

std::string Text(const flatbuffers::String* text) { return text ? text->str() : std::string(); }

StatusOr<Message> DecodeHeads(const wire::Heads& heads) {
  if (heads.heads() == nullptr) return Missing("Heads", "heads");
  if (heads.heads()->size() > limits::kHeadsMax) {
    return Status::InvalidArgument("Heads: more than " + std::to_string(limits::kHeadsMax) +
                                   " heads");
  }
  HeadsMessage message;
  for (const wire::Head* head : *heads.heads()) {
    if (head->origin() == nullptr || head->origin()->size() == 0) {
      return Missing("Heads", "origin");
    }
    message.heads.push_back({head->origin()->str(), head->size(), Text(head->checkpoint())});
  }
  return Message(std::move(message));
}

StatusOr<Message> DecodeEntries(const wire::Entries& entries) {
  if (entries.origin() == nullptr || entries.origin()->size() == 0) {
    return Missing("Entries", "origin");
  }
  if (entries.entries() == nullptr) return Missing("Entries", "entries");
  if (entries.checkpoint() == nullptr) return Missing("Entries", "checkpoint");
  if (entries.entries()->size() > limits::kChunkEntriesMax) {
    return Status::InvalidArgument("Entries: more than " +
                                   std::to_string(limits::kChunkEntriesMax) + " entries");
  }
  EntriesMessage message;
  message.origin = entries.origin()->str();
  message.from = entries.from();
  message.checkpoint = entries.checkpoint()->str();
  message.entries.reserve(entries.entries()->size());
  for (const wire::EntryBytes* entry : *entries.entries()) {
    if (entry->bytes() == nullptr) return Missing("Entries", "entry bytes");
    message.entries.emplace_back(reinterpret_cast<const char*>(entry->bytes()->data()),
                                 entry->bytes()->size());
  }
  return Message(std::move(message));
}

}  // namespace

const char* MessageName(const Message& message) {
  static constexpr const char* kNames[] = {"Hello",      "Heads",       "Fetch", "Entries",
                                           "Checkpoint", "Cosignature", "Error"};
  return kNames[message.index()];
}

std::string EncodeFrame(const Message& message) {
  flatbuffers::FlatBufferBuilder builder(1024);
  auto [type, body] = std::visit(BodyBuilder{builder}, message);
  builder.Finish(wire::CreateMessage(builder, type, body), wire::MessageIdentifier());
  uint32_t size = builder.GetSize();
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  frame.append(reinterpret_cast<const char*>(builder.GetBufferPointer()), size);
  return frame;
}

uint32_t FrameLength(std::string_view header) {
  uint32_t length = 0;
  for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<uint8_t>(header[i]);
  return length;
}

StatusOr<Message> DecodeMessage(std::string_view body) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(body.data());
  if (body.size() > limits::kFrameBytesMax) {
    return Status::InvalidArgument("frame: larger than " + std::to_string(limits::kFrameBytesMax) +
                                   " bytes");
  }
  flatbuffers::Verifier verifier(bytes, body.size(), /*max_depth=*/16, /*max_tables=*/100000);
  if (body.size() < 8 || !flatbuffers::BufferHasIdentifier(bytes, wire::MessageIdentifier()) ||
      !wire::VerifyMessageBuffer(verifier)) {
    return Status::InvalidArgument("frame: not a valid Message FlatBuffer");
  }
  const wire::Message* message = wire::GetMessage(bytes);
  // The Verifier lets a union type through without its value.
  if (message->body_type() != wire::Body::NONE && message->body() == nullptr) {
    return Missing("frame", "body");
  }
  switch (message->body_type()) {
    case wire::Body::Hello: {
      const wire::Hello* hello = message->body_as_Hello();
      if (hello->market() == nullptr || hello->market()->size() == 0) {
        return Missing("Hello", "market");
      }
      return Message(HelloMessage{hello->market()->str(), hello->protocol_version()});
    }
    case wire::Body::Heads:
      return DecodeHeads(*message->body_as_Heads());
    case wire::Body::Fetch: {
      const wire::Fetch* fetch = message->body_as_Fetch();
      if (fetch->origin() == nullptr || fetch->origin()->size() == 0) {
        return Missing("Fetch", "origin");
      }
      if (fetch->from() >= fetch->to()) {
        return Status::InvalidArgument("Fetch: empty range [" + std::to_string(fetch->from()) +
                                       ", " + std::to_string(fetch->to()) + ")");
      }
      return Message(FetchMessage{fetch->origin()->str(), fetch->from(), fetch->to()});
    }
    case wire::Body::Entries:
      return DecodeEntries(*message->body_as_Entries());
    case wire::Body::Checkpoint: {
      const wire::Checkpoint* checkpoint = message->body_as_Checkpoint();
      if (checkpoint->note() == nullptr) return Missing("Checkpoint", "note");
      return Message(CheckpointMessage{checkpoint->note()->str()});
    }
    case wire::Body::Cosignature: {
      const wire::Cosignature* cosignature = message->body_as_Cosignature();
      if (cosignature->note() == nullptr) return Missing("Cosignature", "note");
      return Message(CosignatureMessage{cosignature->note()->str()});
    }
    case wire::Body::Error:
      return Message(ErrorMessage{Text(message->body_as_Error()->message())});
    default:
      return Status::InvalidArgument("frame: unknown message body " +
                                     std::to_string(static_cast<int>(message->body_type())));
  }
}

}  // namespace net
