// A Record keeps the raw line and a parsed read-only simdjson view. Edits of top-level
// members splice the bytes; deep edits build an owned mutable tree (key order kept).
// An unedited record is written out as its original bytes.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "core/json_text.h"

namespace agentlog {

enum class Verdict : uint8_t { Keep, Drop, DeadLetter };

class Record {
 public:
  // Where it came from. `line` is 1-based; generated records carry their origin's line.
  uint32_t source = 0;
  uint64_t line = 0;
  bool generated = false;
  // A generated record that carries data expanded from its origin line (stage `normalize`),
  // not a diagnostic: counted as generated, but correlating stages treat it like an input record.
  bool expanded = false;
  bool diagnostic() const { return generated && !expanded; }

  // Set by the pipeline from stage verdicts.
  Verdict verdict = Verdict::Keep;
  int decided_by = -1;  // stage index; -1 = input
  std::string reason;

  // Points the record at bytes that stay alive and readable SIMDJSON_PADDING past the end.
  void reset_borrowed(std::string_view bytes);
  // Takes ownership of the given JSON text.
  void reset_owned(std::string text);

  // Parses the current bytes. Returns simdjson's error code (SUCCESS when valid).
  simdjson::error_code parse();
  // The parsed view of the current bytes (parses again after an edit).
  simdjson::dom::element root();
  simdjson::dom::object object();

  std::string_view bytes();
  bool edited() const { return state_ != State::Original; }

  // Splice edits on top-level members; `json_value` must be valid JSON text.
  void set_member_raw(std::string_view key, std::string_view json_value);
  void set_member_string(std::string_view key, std::string_view value);
  // Appends a member the caller knows is absent (no search of the existing members).
  void add_member_raw(std::string_view key, std::string_view json_value);
  bool remove_member(std::string_view key);

  // The owned mutable tree, for deep edits. Built on first use; bytes() re-serialises it.
  json::Value& tree();

  // Hints the CPU to fetch the start of the parsed view: stages call it a few records ahead,
  // since a batch's parsed records are usually out of cache by the time a stage reaches them.
  void prefetch() const {
    if (!parsed_) return;
    const char* t = reinterpret_cast<const char*>(doc_.tape.get());
    const char* sb = reinterpret_cast<const char*>(doc_.string_buf.get());
    for (int i = 0; i < 4; ++i) __builtin_prefetch(t + 64 * i);
    for (int i = 0; i < 4; ++i) __builtin_prefetch(sb + 64 * i);
  }

  // Frees large buffers after an unusually big record so memory stays bounded.
  void trim_memory(size_t keep_capacity);

 private:
  enum class State : uint8_t { Original, Owned, Tree };
  void to_owned();
  void append_member(std::string_view key, std::string_view json_value);
  void ensure_padding();

  State state_ = State::Original;
  std::string_view bytes_;
  std::string owned_;
  std::unique_ptr<json::Value> tree_;
  simdjson::dom::document doc_;
  bool parsed_ = false;
};

}  // namespace agentlog
