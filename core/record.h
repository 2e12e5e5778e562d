// A Record keeps the raw line and a parsed read-only simdjson view. Edits of top-level
// members splice the bytes; deep edits build an owned mutable tree (key order kept).
// An unedited record is written out as its original bytes.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/json_text.h"
#include "core/simdjson_tape.h"
#include "core/text_buffer.h"
#include "core/top_fields.h"

namespace agentlog {

enum class Verdict : uint8_t { Keep, Drop, DeadLetter };

// Where members are added to the text of a JSON object: at its last `}` (npos when there is
// none), and whether the object is empty there (a new member then needs no comma).
struct ObjectEnd {
  size_t close;
  bool empty;
};
inline ObjectEnd object_end(std::string_view text) {
  size_t close = text.rfind('}');
  if (close == std::string_view::npos) return {close, false};
  size_t k = close;
  while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '\t' || text[k - 1] == '\n' || text[k - 1] == '\r')) --k;
  return {close, k > 0 && text[k - 1] == '{'};
}

// A top-level member name prepared at config time for Record::add_member_text: quoted once
// and registered (TopFieldRegistry), for a stage that adds the same member to every record.
struct PreparedName {
  explicit PreparedName(std::string_view name);
  std::string name;
  std::string member_prefix;  // `,"name":`
  uint32_t id;
};

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
  // Copies the JSON text into the record's own buffer, whose capacity is kept from record to
  // record (no allocation per record once it is large enough, and no free on another
  // thread's arena). `text` must not point into this record.
  void reset_owned_copy(std::string_view text);

  // Parses the current bytes. Returns simdjson's error code (SUCCESS when valid).
  simdjson::error_code parse();
  // The parsed view of the current bytes (parses again after an edit).
  simdjson::dom::element root();
  simdjson::dom::object object();

  std::string_view bytes();
  // The text bytes() would give, as [before the closing brace, members held aside, the
  // rest] with no join: a reader that only streams the bytes (a hash) then costs no copy of
  // the line and no re-parse. One piece when nothing is held aside.
  struct BytePieces {
    std::string_view head, held, tail;
  };
  BytePieces byte_pieces();
  // The Merkle leaf hash of the bytes as they are now, for outputs with `integrity:`: worked
  // out on a worker thread so the serial write step does not hash. Null after any edit.
  using LeafHash = std::array<unsigned char, 32>;
  const LeafHash* leaf_hash() const { return leaf_valid_ ? &leaf_ : nullptr; }
  void set_leaf_hash(const LeafHash& h) {
    leaf_ = h;
    leaf_valid_ = true;
  }
  bool edited() const { return state_ != State::Original || !appendix_.empty(); }

  // When every edit since the last parse appended new top-level members, gives the view as
  // of that parse and the appended members' text (`"k":v,...`), so a reader after the chain
  // need not parse the whole record again. False otherwise (then use root()).
  bool view_and_appended(simdjson::dom::element& base, std::string_view& appended);

  // Splice edits on top-level members; `json_value` must be valid JSON text.
  void set_member_raw(std::string_view key, std::string_view json_value);
  void set_member_string(std::string_view key, std::string_view value);
  // Adds a member the caller knows is absent. It is held aside (no copy of the line, no
  // re-parse) and joined to the bytes when they are next read; top_member() sees it at once.
  void add_member_raw(std::string_view key, std::string_view json_value);
  // The same for a name prepared at config time, with the member already written out:
  // `member` is key.member_prefix followed by the value, so a stage that renders it into one
  // buffer appends it in one piece.
  void add_member_text(const PreparedName& key, std::string_view member);
  // The same rendered in place, with no copy: room for `max` bytes after the members held
  // aside, or null when the record cannot hold a member aside now (then use
  // add_member_text). Write the member there, then commit_member_text(key, bytes written).
  char* member_text_room(size_t max) { return state_ != State::Tree && parsed_ ? appendix_.room(max) : nullptr; }
  void commit_member_text(const PreparedName& key, size_t n) {
    leaf_valid_ = false;
    appendix_.commit(n);
    appendix_ids_.push_back(key.id);
    appendix_parsed_ = false;
  }
  bool remove_member(std::string_view key);

  // The top-level member registered as `id` (see TopFieldRegistry), or null when absent.
  // All registered names are found in one pass over the record per parse, which the stages
  // of a chain share; members added by add_member_raw are included.
  // True when a registered name occurs more than once among the top-level members (only
  // the first is returned by top_member). Valid after a top_member call.
  bool duplicate_top_member() const { return top_duplicate_; }
  const simdjson::dom::element* top_member(uint32_t id) {
    if (top_valid_ && parsed_ && id < top_at_.size()) {
      if (uint32_t at = top_at_[id]; at != 0 && !(at & kInAppendix)) {
        top_el_[id] = tape::element_at(doc_, at);
        return &top_el_[id];
      }
      if (appendix_ids_.empty()) return nullptr;  // absent, and nothing held aside
    }
    return top_member_slow(id);
  }

  // The whole top-level member cache at once, for a reader of many names (FieldSet): the
  // member registered as `id` is the value at tape word at[id] of `doc`, absent when 0 (word
  // 0 is simdjson's root word, never a member). False when a member added since the parse is
  // registered (then ask top_member for each name).
  struct TopView {
    const uint32_t* at;
    const simdjson::dom::document* doc;
    uint32_t size;
  };
  bool top_view(TopView& view) {
    // Inline for the usual case (parsed, cache current, nothing held aside): every stage of
    // a chain asks for each record.
    if (!parsed_ || !top_valid_ || !appendix_ids_.empty() || top_at_.size() < TopFieldRegistry::size())
      return top_view_slow(view);
    view = {top_at_.data(), &doc_, static_cast<uint32_t>(top_at_.size())};
    return true;
  }

  // The owned mutable tree, for deep edits. Built on first use; bytes() re-serialises it.
  json::Value& tree();
  // Replaces the whole record with `v` (a stage that parsed and edited its own copy).
  void replace_tree(json::Value v);

  // Frees large buffers after an unusually big record so memory stays bounded.
  void trim_memory(size_t keep_capacity);

 private:
  enum class State : uint8_t { Original, Owned, Tree };
  void to_owned();
  void append_member(std::string_view key, std::string_view json_value);
  void ensure_padding();
  // The owned text, padded, becomes the record's bytes (the tail of both reset_owned*).
  void own_padded();
  void join_appendix();
  bool ensure_top_cache();
  bool top_view_slow(TopView& view);
  const simdjson::dom::element* top_member_slow(uint32_t id);
  void build_top_cache();
  void add_appendix_to_cache();

  State state_ = State::Original;
  std::string_view bytes_;
  std::string owned_;
  std::unique_ptr<json::Value> tree_;
  simdjson::dom::document doc_;
  bool parsed_ = false;
  // Members added by add_member_raw, as `,"key":value...`, not yet joined to the bytes; the
  // parsed view (doc_) describes the bytes without them.
  TextBuffer appendix_;
  std::vector<uint32_t> appendix_ids_;  // registered names among them (TopFieldRegistry ids)
  bool appendix_parsed_ = false;        // their cache slots point into appendix_doc_
  simdjson::dom::document appendix_doc_;
  // top_member() cache: the tape word of each registered member's value (0: absent), in doc_,
  // or with kInAppendix set in appendix_doc_. Tape words, not elements: 4 bytes a name to
  // clear per parse and to copy per reader. top_el_ holds the elements top_member hands out.
  static constexpr uint32_t kInAppendix = uint32_t{1} << 31;
  std::vector<uint32_t> top_at_;
  std::vector<simdjson::dom::element> top_el_;
  bool top_valid_ = false;
  bool top_duplicate_ = false;
  bool appended_only_ = false;          // doc_ + [append_from_, closing brace) == bytes
  size_t append_from_ = std::string::npos;
  bool leaf_valid_ = false;
  LeafHash leaf_{};
};

}  // namespace agentlog
