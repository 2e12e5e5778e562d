// Field paths used by stage options: dotted ("details.command", "target_node_ids.0") or a
// JSON Pointer ("/details/command").
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/record.h"
#include "core/simdjson_tape.h"

namespace agentlog {

struct FieldPath {
  std::string text;
  std::vector<std::string> parts;
};

// Returns false for an empty path or an empty segment.
bool parse_field_path(std::string_view text, FieldPath& out);

// The element at `path`, or nullopt when any segment is missing.
std::optional<simdjson::dom::element> lookup(simdjson::dom::element root, const FieldPath& path);

// Text joined in a fixed buffer, for the keys a stage builds per record: no std::string
// capacity check and call per piece. fits() turns false when the text outgrows the buffer;
// the caller then builds the key in a std::string instead.
class KeyBuffer {
 public:
  void clear() {
    n_ = 0;
    fits_ = true;
  }
  void append(std::string_view s) {
    if (s.size() > sizeof b_ - n_) {
      fits_ = false;
      return;
    }
    std::memcpy(b_ + n_, s.data(), s.size());
    n_ += s.size();
  }
  // The same for text that may be read 32 bytes past its start, as a string in simdjson's
  // string buffer (padded by 64 bytes): a short piece is copied as one 32-byte block, with
  // no call to memcpy.
  void append_padded(std::string_view s) {
    if (s.size() <= 32 && sizeof b_ - n_ >= 32) {
      std::memcpy(b_ + n_, s.data(), 32);
      n_ += s.size();
    } else {
      append(s);
    }
  }
  void push_back(char c) {
    if (n_ == sizeof b_) fits_ = false;
    else b_[n_++] = c;
  }
  // Cuts the text back to `n` bytes (n <= size()).
  void resize(size_t n) { n_ = n; }
  size_t size() const { return n_; }
  bool fits() const { return fits_; }
  std::string_view view() const { return {b_, n_}; }

 private:
  char b_[256];
  size_t n_ = 0;
  bool fits_ = true;
};

// Looks up several paths at once: top-level names are found in one pass over the record's
// members instead of one scan per name (simdjson's at_key is a linear scan).
class FieldSet {
 public:
  // A result: the value at tape word `at` of `doc`, present when `at` is not 0 (word 0 is
  // simdjson's root word, never a field's value). Two words, so the usual extraction copies
  // a 4-byte index from the record's member cache per field and stores it without a branch.
  struct Found {
    const simdjson::dom::document* doc = nullptr;
    uint32_t at = 0;
    explicit operator bool() const { return at != 0; }
    simdjson::dom::element operator*() const { return tape::element_at(*doc, at); }
    struct Arrow {
      simdjson::dom::element el;
      const simdjson::dom::element* operator->() const { return &el; }
    };
    Arrow operator->() const { return {**this}; }
    void set(simdjson::dom::element e) {
      const tape::tape_ref t = std::bit_cast<tape::tape_ref>(e);
      doc = t.doc;
      at = static_cast<uint32_t>(t.json_index);
    }
    void reset() { at = 0; }
  };
  FieldSet() = default;
  // A copy reads records on its own (one per worker of the parallel runner).
  FieldSet(const FieldSet& other);
  FieldSet& operator=(const FieldSet&) = delete;  // cur_ points into found_
  // Returns the slot of `path` in the results.
  size_t add(const FieldPath& path);
  void extract(simdjson::dom::element root);
  // The same from the record's shared top-level member cache (Record::top_member): the
  // record is walked once for all the stages of a chain. Inline for the usual case (the
  // cache is built): a copy of one tape word per one-name path.
  void extract(Record& record) {
    Record::TopView top;
    if (!record.top_view(top)) return extract_by_name(record);
    // Every registered id is below top.size once the view exists (the registry is complete
    // before any record is read).
    for (const auto& [slot, id] : flat_) cur_[slot] = {top.doc, top.at[id]};
    if (!deep_.empty()) extract_deep(top);
  }
  const Found& operator[](size_t slot) const { return cur_[slot]; }
  // The value at `slot` as text: a string's contents or a number's JSON text (ids and keys
  // may be either; a number's text is written to `scratch`). Nullopt for anything else or
  // when absent.
  std::optional<std::string_view> text(size_t slot, std::string& scratch) const {
    const auto& v = cur_[slot];
    std::string_view s;
    if (!v) return std::nullopt;
    if (tape::string_at(*v.doc, v.at, s)) return s;
    if (!v->is_number()) return std::nullopt;
    scratch = simdjson::minify(*v);
    return scratch;
  }
  // The same appended to `out` (a std::string or a KeyBuffer); false, appending nothing,
  // when there is no text. Not written through text(): its scratch string cost 65
  // instructions per record in collision + lifecycle, which build keys with it.
  template <class Out>
  [[gnu::always_inline]] bool append_text(size_t slot, Out& out) const {
    const auto& v = cur_[slot];
    std::string_view s;
    if (!v) return false;
    if (tape::string_at(*v.doc, v.at, s)) {
      if constexpr (requires { out.append_padded(s); }) out.append_padded(s);  // s is in simdjson's padded buffer
      else out.append(s);
    }
    else if (v->is_number()) out.append(simdjson::minify(*v));
    else return false;
    return true;
  }
  // The string at `slot`, if it is a string.
  [[gnu::always_inline]] std::optional<std::string_view> str(size_t slot) const {
    std::string_view s;
    if (cur_[slot] && tape::string_at(*cur_[slot].doc, cur_[slot].at, s)) return s;
    return std::nullopt;
  }
  // Results kept elsewhere: a stage can extract a whole batch first (and prefetch its state
  // for every record) into slots of its own, then point the set at each record's slot in
  // turn while handling the records in order. `at` holds width() results; null: the set's own.
  using Saved = Found;
  void use(Saved* at) { cur_ = at ? at : found_.data(); }
  size_t width() const { return found_.size(); }

 private:
  void extract_deep(const Record::TopView& top);
  void index_top_names();
  // Each path through Record::top_member, when the cache cannot be read whole.
  void extract_by_name(Record& record);

  std::vector<FieldPath> paths_;
  std::vector<uint32_t> first_ids_;  // TopFieldRegistry id of each path's first segment
  std::vector<uint8_t> nested_;      // the path has more than one segment
  std::vector<std::pair<uint32_t, uint32_t>> flat_;  // (slot, registry id) of one-segment paths
  std::vector<size_t> deep_;                          // slots of the other paths
  std::vector<Found> found_;
  Found* cur_ = nullptr;  // where results are written and read
  std::vector<std::pair<std::string_view, size_t>> top_;  // top-level names and their slots
  // top_ entries by name length (lengths >= 64 share the last bucket): a member's key is
  // compared only with names of its own length.
  std::array<std::vector<uint32_t>, 65> by_len_;
};

// Runs a stateful stage over a batch with its records prepared a few ahead of handling:
// each kept, non-diagnostic record gets its fields extracted and saved and a stage-defined
// `Prepared` filled (a key hash, say, whose index bucket `prepare` prefetches), so the random
// probes of a large state index overlap instead of each waiting on memory in turn.
// `prepare(record, prep)` runs kAhead records ahead of `handle(index, prep)`, which finds
// the record's fields restored in `fields`. Eight ahead measured a little faster than 16
// (and than 4) for collision + lifecycle: at ~0.3 µs a record that is still 2 µs ahead.
template <class Prepared, size_t kAhead = 8>
class PrepareAhead {
 public:
  template <class PrepareFn, class HandleFn>
  void run(const std::vector<Record*>& recs, FieldSet& fields, PrepareFn&& prepare, HandleFn&& handle) {
    const size_t n = recs.size(), w = fields.width();
    saved_.resize(kAhead * w);
    size_t next = 0;
    for (size_t i = 0; i < n; ++i) {
      for (; next < n && next < i + kAhead; ++next) {
        Record& r = *recs[next];
        size_t at = next % kAhead;
        used_[at] = r.verdict == Verdict::Keep && !r.diagnostic();
        if (!used_[at]) continue;
        fields.use(&saved_[at * w]);
        fields.extract(r);
        prepare(r, preps_[at]);
      }
      if (!used_[i % kAhead]) continue;
      fields.use(&saved_[(i % kAhead) * w]);
      handle(i, preps_[i % kAhead]);
    }
    fields.use(nullptr);
  }

 private:
  Prepared preps_[kAhead];
  bool used_[kAhead] = {};
  std::vector<FieldSet::Saved> saved_;
};

}  // namespace agentlog
