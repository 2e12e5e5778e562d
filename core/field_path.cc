#include "core/field_path.h"

#include "core/top_fields.h"

#include <charconv>
#include <algorithm>
#include <cstring>

namespace agentlog {

bool parse_field_path(std::string_view text, FieldPath& out) {
  out.text = std::string(text);
  out.parts.clear();
  if (text.empty()) return false;
  if (text[0] == '/') {
    size_t i = 1;
    while (true) {
      size_t j = text.find('/', i);
      std::string_view seg = text.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
      std::string part;
      for (size_t k = 0; k < seg.size(); ++k) {
        if (seg[k] == '~' && k + 1 < seg.size() && (seg[k + 1] == '0' || seg[k + 1] == '1')) {
          part.push_back(seg[k + 1] == '0' ? '~' : '/');
          ++k;
        } else {
          part.push_back(seg[k]);
        }
      }
      out.parts.push_back(std::move(part));
      if (j == std::string_view::npos) break;
      i = j + 1;
    }
    return true;
  }
  size_t i = 0;
  while (true) {
    size_t j = text.find('.', i);
    std::string_view seg = text.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (seg.empty()) return false;
    out.parts.emplace_back(seg);
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return true;
}

namespace {
std::optional<simdjson::dom::element> descend(simdjson::dom::element cur, const FieldPath& path, size_t from) {
  for (size_t i = from; i < path.parts.size(); ++i) {
    const std::string& part = path.parts[i];
    simdjson::dom::object obj;
    simdjson::dom::array arr;
    if (cur.get(obj) == simdjson::SUCCESS) {
      if (obj.at_key(part).get(cur) != simdjson::SUCCESS) return std::nullopt;
    } else if (cur.get(arr) == simdjson::SUCCESS) {
      size_t idx = 0;
      auto r = std::from_chars(part.data(), part.data() + part.size(), idx);
      if (r.ec != std::errc() || r.ptr != part.data() + part.size()) return std::nullopt;
      if (arr.at(idx).get(cur) != simdjson::SUCCESS) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  return cur;
}
}  // namespace

std::optional<simdjson::dom::element> lookup(simdjson::dom::element root, const FieldPath& path) {
  return descend(root, path, 0);
}

size_t FieldSet::add(const FieldPath& path) {
  for (size_t i = 0; i < paths_.size(); ++i)
    if (paths_[i].parts == path.parts) return i;
  paths_.push_back(path);
  nested_.push_back(path.parts.size() > 1);
  first_ids_.push_back(path.parts.empty() ? TopFieldRegistry::kNone : TopFieldRegistry::intern(path.parts[0]));
  found_.emplace_back();
  cur_ = found_.data();
  if (path.parts.size() == 1 && first_ids_.back() != TopFieldRegistry::kNone)
    flat_.push_back({static_cast<uint32_t>(paths_.size() - 1), first_ids_.back()});
  else
    deep_.push_back(paths_.size() - 1);
  index_top_names();  // views into paths_ may have moved
  return paths_.size() - 1;
}

FieldSet::FieldSet(const FieldSet& other)
    : paths_(other.paths_), first_ids_(other.first_ids_), nested_(other.nested_), flat_(other.flat_),
      deep_(other.deep_), found_(other.found_.size()) {
  cur_ = found_.data();
  index_top_names();  // views into this copy's paths_
}

void FieldSet::index_top_names() {
  top_.clear();
  for (auto& b : by_len_) b.clear();
  for (size_t i = 0; i < paths_.size(); ++i)
    if (paths_[i].parts.size() == 1) {
      by_len_[std::min<size_t>(paths_[i].parts[0].size(), 64)].push_back(static_cast<uint32_t>(top_.size()));
      top_.emplace_back(paths_[i].parts[0], i);
    }
}

void FieldSet::extract(simdjson::dom::element root) {
  for (size_t i = 0; i < paths_.size(); ++i) {
    cur_[i].reset();
    if (paths_[i].parts.size() != 1)
      if (auto v = lookup(root, paths_[i])) cur_[i].set(*v);
  }
  simdjson::dom::object obj;
  if (top_.empty() || root.get(obj) != simdjson::SUCCESS) return;
  size_t pending = top_.size();
  for (auto field : obj) {
    std::string_view key = field.key;
    for (uint32_t t : by_len_[std::min<size_t>(key.size(), 64)]) {
      const auto& [name, slot] = top_[t];
      if (name.size() != key.size() || cur_[slot] || std::memcmp(name.data(), key.data(), key.size()) != 0) continue;
      cur_[slot].set(field.value);  // the first of duplicate keys wins, as with at_key
      if (--pending == 0) return;
      break;
    }
  }
}

void FieldSet::extract_deep(const Record::TopView& top) {
  for (size_t slot : deep_) {
    uint32_t id = first_ids_[slot];
    cur_[slot].reset();
    if (id < top.size && top.at[id] != 0)
      if (auto v = descend(tape::element_at(*top.doc, top.at[id]), paths_[slot], 1)) cur_[slot].set(*v);
  }
}

void FieldSet::extract_by_name(Record& record) {
  const size_t n = paths_.size();
  for (size_t i = 0; i < n; ++i) {
    uint32_t id = first_ids_[i];
    const simdjson::dom::element* top = id == TopFieldRegistry::kNone ? nullptr : record.top_member(id);
    cur_[i].reset();
    if (!top) continue;
    if (!nested_[i]) cur_[i].set(*top);
    else if (auto v = descend(*top, paths_[i], 1)) cur_[i].set(*v);
  }
}

}  // namespace agentlog
