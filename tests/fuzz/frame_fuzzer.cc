// libFuzzer target for what a peer controls first: a frame body. The input
// is decoded as a Message, and whatever decodes goes on through the parsers
// that see peer bytes next (Precheck for entries, ParseNote and
// ParseCheckpoint for notes), as a session would. Built with -DLEDGER_FUZZ=ON
// and run by tools/fuzz; seeds are in tests/fuzz/corpus.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "ledger/checkpoint.h"
#include "ledger/log.h"
#include "net/messages.h"

namespace {

// Parses a note and, when that succeeds, its text as a checkpoint. The
// results are dropped: only crashes and sanitizer reports matter here.
void ParseSignedCheckpoint(const std::string& note) {
  ledger::StatusOr<ledger::SignedNote> parsed = ledger::ParseNote(note);
  if (!parsed.ok()) return;
  ledger::ParseCheckpoint(parsed->text).status().IgnoreError();
}

struct Consumer {
  void operator()(const net::EntriesMessage& message) const {
    for (const std::string& entry : message.entries) {
      ledger::Precheck(entry).status().IgnoreError();
    }
    ParseSignedCheckpoint(message.checkpoint);
  }
  void operator()(const net::HeadsMessage& message) const {
    for (const net::HeadInfo& head : message.heads) ParseSignedCheckpoint(head.checkpoint);
  }
  void operator()(const net::CheckpointMessage& message) const {
    ParseSignedCheckpoint(message.note);
  }
  void operator()(const net::CosignatureMessage& message) const {
    ParseSignedCheckpoint(message.note);
  }
  // Hello, Fetch and Error carry nothing that is parsed further.
  void operator()(const auto&) const {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libFuzzer's buffer has no particular alignment; a session reads frames
  // into a std::string, whose buffer is aligned for any FlatBuffers scalar.
  const std::string body(reinterpret_cast<const char*>(data), size);
  ledger::StatusOr<net::Message> message = net::DecodeMessage(body);
  if (message.ok()) std::visit(Consumer{}, *message);
  return 0;
}
