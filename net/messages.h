// The replication protocol's messages as plain values, and their encoding
// into frames (schemas/wire.fbs). Decoding runs the FlatBuffers Verifier and
// checks every required field, so code past Decode never touches unverified
// bytes; it is the target of the frame fuzzer.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ledger/status.h"

namespace net {

struct HelloMessage {
  std::string market;
  uint32_t protocol_version = 0;
};
struct HeadInfo {
  std::string origin;
  uint64_t size = 0;
  std::string checkpoint;
};
struct HeadsMessage {
  std::vector<HeadInfo> heads;
};
struct FetchMessage {
  std::string origin;
  uint64_t from = 0;
  uint64_t to = 0;
};
struct EntriesMessage {
  std::string origin;
  uint64_t from = 0;
  std::vector<std::string> entries;
  std::string checkpoint;
};
struct CheckpointMessage {
  std::string note;
};
struct CosignatureMessage {
  std::string note;
};
struct ErrorMessage {
  std::string message;
};

using Message = std::variant<HelloMessage, HeadsMessage, FetchMessage, EntriesMessage,
                             CheckpointMessage, CosignatureMessage, ErrorMessage>;

// The message's name for logs ("Hello", "Entries", ...).
const char* MessageName(const Message& message);

// The whole frame: 4-byte little-endian length, then the Message FlatBuffer.
std::string EncodeFrame(const Message& message);

// The length a frame header declares. REQUIRES: header.size() == 4.
uint32_t FrameLength(std::string_view header);

// Decodes a frame body (the bytes after the header). InvalidArgument naming
// what is wrong: not a verifiable Message, an unknown body, or a missing or
// out-of-range field.
ledger::StatusOr<Message> DecodeMessage(std::string_view body);

}  // namespace net
