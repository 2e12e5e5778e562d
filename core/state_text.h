// Helpers for stages that save their state in the follow-mode checkpoint (Stage::save_state):
// string tables written once and referred to by index, and typed reads of a saved row.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

#include "core/json_text.h"

namespace agentlog::state {

// Strings (agents, sources) in order of first use, so the saved text is deterministic.
class StringTable {
 public:
  uint32_t id(std::string_view s) {
    auto [it, added] = ids_.try_emplace(std::string(s), static_cast<uint32_t>(list_.size()));
    if (added) list_.emplace_back(s);
    return it->second;
  }
  void write(std::string& out) const {
    out += '[';
    for (size_t i = 0; i < list_.size(); ++i) {
      if (i) out += ',';
      json::append_quoted(out, list_[i]);
    }
    out += ']';
  }

 private:
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> list_;
};

// Reads the members of a saved row (a JSON array) in order; the first failed read sets
// error(), and every later read fails too.
class Row {
 public:
  Row(simdjson::dom::element e, std::string_view what) : what_(what) {
    if (e.get(arr_) != simdjson::SUCCESS) fail("is not a list");
    else it_ = arr_.begin();
  }
  bool at_end() { return error_.empty() && it_ == arr_.end(); }
  uint64_t u64() {
    uint64_t v = 0;
    if (auto e = next(); e && e->get(v) != simdjson::SUCCESS) fail("has a field that is not an unsigned integer");
    return v;
  }
  int64_t i64() {
    int64_t v = 0;
    if (auto e = next(); e && e->get(v) != simdjson::SUCCESS) fail("has a field that is not an integer");
    return v;
  }
  // An integer, or `null_value` for null.
  int64_t i64_or(int64_t null_value) {
    auto e = next();
    if (!e || e->is_null()) return null_value;
    int64_t v = 0;
    if (e->get(v) != simdjson::SUCCESS) fail("has a field that is not an integer or null");
    return v;
  }
  std::string_view str() {
    std::string_view v;
    if (auto e = next(); e && e->get(v) != simdjson::SUCCESS) fail("has a field that is not a string");
    return v;
  }
  // An index into a table of `n` entries.
  uint32_t index(size_t n) {
    uint64_t v = u64();
    if (error_.empty() && v >= n) fail("refers to a table entry that does not exist");
    return static_cast<uint32_t>(v);
  }
  simdjson::dom::element element() {
    auto e = next();
    return e ? *e : simdjson::dom::element();
  }
  void fail(std::string_view why) {
    if (error_.empty()) error_ = std::string(what_) + " " + std::string(why);
  }
  const std::string& error() const { return error_; }

 private:
  std::optional<simdjson::dom::element> next() {
    if (!error_.empty()) return std::nullopt;
    if (it_ == arr_.end()) {
      fail("is too short");
      return std::nullopt;
    }
    simdjson::dom::element e = *it_;
    ++it_;
    return e;
  }
  std::string_view what_;
  simdjson::dom::array arr_;
  simdjson::dom::array::iterator it_;
  std::string error_;
};

// A list of strings (a saved table); false when `e` is not one.
inline bool read_strings(simdjson::dom::element e, std::vector<std::string>& out) {
  simdjson::dom::array a;
  if (e.get(a) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element s : a) {
    std::string_view v;
    if (s.get(v) != simdjson::SUCCESS) return false;
    out.emplace_back(v);
  }
  return true;
}

}  // namespace agentlog::state
