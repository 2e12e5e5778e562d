#include "core/record.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/simdjson_tape.h"
#include "core/top_fields.h"

namespace agentlog {
namespace {
simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}
}  // namespace

void Record::reset_borrowed(std::string_view bytes) {
  leaf_valid_ = false;
  state_ = State::Original;
  bytes_ = bytes;
  tree_.reset();
  parsed_ = false;
  appendix_.clear();
  appendix_ids_.clear();
  appendix_parsed_ = false;
  top_valid_ = false;
  appended_only_ = false;
  verdict = Verdict::Keep;
  decided_by = -1;
  reason.clear();
  generated = false;
  expanded = false;
}

void Record::reset_owned(std::string text) {
  leaf_valid_ = false;
  reset_borrowed({});
  owned_ = std::move(text);
  own_padded();
}

void Record::reset_owned_copy(std::string_view text) {
  leaf_valid_ = false;
  reset_borrowed({});
  owned_.assign(text.data(), text.size());
  own_padded();
}

void Record::own_padded() {
  ensure_padding();
  bytes_ = owned_;
  state_ = State::Owned;
}

void Record::ensure_padding() {
  // Room for the padding plus a few appended members, so the next edit does not reallocate.
  if (owned_.capacity() - owned_.size() < simdjson::SIMDJSON_PADDING)
    owned_.reserve(owned_.size() + simdjson::SIMDJSON_PADDING + 512);
}

simdjson::error_code Record::parse() {
  top_valid_ = false;
  std::string_view b = bytes();
  if (doc_.capacity() < b.size()) {
    // Grow in powers of two so a reused slot does not reallocate for every longer line.
    size_t cap = 1024;
    while (cap < b.size()) cap <<= 1;
    if (auto err = doc_.allocate(cap); err != simdjson::SUCCESS) return err;
  }
  auto r = thread_parser().parse_into_document(doc_, b.data(), b.size(), false);
  parsed_ = r.error() == simdjson::SUCCESS;
  appended_only_ = parsed_;
  append_from_ = std::string::npos;
  return r.error();
}

simdjson::dom::element Record::root() {
  if (!appendix_.empty()) join_appendix();
  if (!parsed_) parse();
  return doc_.root();
}

simdjson::dom::object Record::object() {
  simdjson::dom::object o;
  if (root().get(o) != simdjson::SUCCESS) return {};
  return o;
}

std::string_view Record::bytes() {
  if (!appendix_.empty()) join_appendix();
  if (state_ == State::Tree && tree_) {
    owned_.clear();
    json::serialize(*tree_, owned_);
    ensure_padding();
    bytes_ = owned_;
    state_ = State::Owned;
    tree_.reset();
  }
  return bytes_;
}

Record::BytePieces Record::byte_pieces() {
  if (appendix_.empty() || state_ == State::Tree) return {bytes(), {}, {}};
  // As join_appendix() would place them: before the closing brace, with no comma after `{`.
  ObjectEnd end = object_end(bytes_);
  if (end.close == std::string_view::npos) return {bytes(), {}, {}};
  std::string_view held = appendix_.view();
  if (end.empty) held.remove_prefix(1);
  return {bytes_.substr(0, end.close), held, bytes_.substr(end.close)};
}

void Record::to_owned() {
  if (state_ == State::Original) {
    owned_.reserve(bytes_.size() + simdjson::SIMDJSON_PADDING + 512);
    owned_.assign(bytes_.data(), bytes_.size());
    ensure_padding();
    bytes_ = owned_;
    state_ = State::Owned;
  } else if (state_ == State::Tree) {
    bytes();
  }
}

void Record::set_member_raw(std::string_view key, std::string_view json_value) {
  leaf_valid_ = false;
  if (state_ == State::Tree) {
    tree_->set(key, *json::parse(json_value));
    return;
  }
  if (!appendix_.empty()) join_appendix();
  to_owned();
  parsed_ = false;
  top_valid_ = false;
  if (auto span = json::find_top_level_member(owned_, key)) {
    appended_only_ = false;
    owned_.replace(span->begin, span->end - span->begin, json_value);
    ensure_padding();
    bytes_ = owned_;
  } else {
    append_member(key, json_value);
  }
}

void Record::add_member_raw(std::string_view key, std::string_view json_value) {
  leaf_valid_ = false;
  if (state_ == State::Tree) {
    tree_->set(key, *json::parse(json_value));
    return;
  }
  if (parsed_) {
    // The parsed view stays valid for the existing members: hold the new one aside.
    thread_local std::string quoted;
    quoted.assign(1, ',');
    json::append_quoted(quoted, key);
    quoted.push_back(':');
    appendix_.append(quoted);
    appendix_.append(json_value);
    // A registered name is parsed only when a stage asks for it (top_member).
    if (uint32_t id = TopFieldRegistry::find(key); id != TopFieldRegistry::kNone) appendix_ids_.push_back(id);
    appendix_parsed_ = false;
    return;
  }
  to_owned();
  top_valid_ = false;
  append_member(key, json_value);
}

PreparedName::PreparedName(std::string_view n)
    : name(n), member_prefix("," + json::quoted(n) + ":"), id(TopFieldRegistry::intern(n)) {}

void Record::add_member_text(const PreparedName& key, std::string_view member) {
  leaf_valid_ = false;
  if (state_ != State::Tree && parsed_) {
    appendix_.append(member);
    appendix_ids_.push_back(key.id);
    appendix_parsed_ = false;
    return;
  }
  add_member_raw(key.name, member.substr(key.member_prefix.size()));
}

void Record::join_appendix() {
  TextBuffer extra;
  extra.swap(appendix_);  // appendix_ empty from here: to_owned() must not join again
  appendix_ids_.clear();
  appendix_parsed_ = false;
  to_owned();
  parsed_ = false;
  top_valid_ = false;
  if (auto [close, empty] = object_end(owned_); close != std::string::npos) {
    std::string_view members = extra.view();
    if (empty) members.remove_prefix(1);  // no comma after `{`
    if (appended_only_ && append_from_ == std::string::npos) append_from_ = close;
    owned_.insert(close, members);
    ensure_padding();
    bytes_ = owned_;
  }
  extra.clear();
  extra.swap(appendix_);  // keep the buffer for the next record
}

// Parses the bytes if an edit left them unparsed and builds the member cache if it is stale
// or a name was registered since; false when the bytes do not parse.
bool Record::ensure_top_cache() {
  if (!parsed_) {
    if (!appendix_.empty()) join_appendix();
    if (parse() != simdjson::SUCCESS) return false;
  }
  if (!top_valid_ || top_at_.size() < TopFieldRegistry::size()) build_top_cache();
  return true;
}

const simdjson::dom::element* Record::top_member_slow(uint32_t id) {
  if (!ensure_top_cache() || id >= top_at_.size()) return nullptr;
  if (top_at_[id] == 0 && !appendix_parsed_ &&
      std::find(appendix_ids_.begin(), appendix_ids_.end(), id) != appendix_ids_.end())
    add_appendix_to_cache();
  uint32_t at = top_at_[id];
  if (at == 0) return nullptr;
  top_el_[id] = at & kInAppendix ? tape::element_at(appendix_doc_, at & ~kInAppendix) : tape::element_at(doc_, at);
  return &top_el_[id];
}

bool Record::top_view_slow(TopView& view) {
  if (!ensure_top_cache() || !appendix_ids_.empty()) return false;
  view = {top_at_.data(), &doc_, static_cast<uint32_t>(top_at_.size())};
  return true;
}

void Record::build_top_cache() {
  uint32_t n = TopFieldRegistry::size();
  if (top_at_.size() < n) {
    top_at_.resize((n + 7) & ~7u);  // whole 32-byte blocks, cleared below without a memset call
    top_el_.resize(top_at_.size());
  }
  for (size_t i = 0; i < top_at_.size(); i += 8) std::memset(&top_at_[i], 0, 8 * sizeof top_at_[0]);
  top_valid_ = true;
  top_duplicate_ = false;
  appendix_parsed_ = false;
  simdjson::dom::object obj;
  if (!parsed_ || doc_.root().get(obj) != simdjson::SUCCESS) return;
  const TopFieldRegistry::Data& names = TopFieldRegistry::data();
  uint32_t* const at = top_at_.data();
  for (auto field : obj) {
    // Keys live in simdjson's padded string buffer, so reading 16 bytes of a short key is safe.
    uint32_t id = TopFieldRegistry::lookup(names, field.key.data(), field.key.size());
    if (id >= n) continue;
    if (at[id] != 0) {  // the first of duplicate keys wins, as with at_key
      top_duplicate_ = true;
      continue;
    }
    at[id] = static_cast<uint32_t>(std::bit_cast<tape::tape_ref>(field.value).json_index);
  }
}

// Parses the held-aside members on their own (rare: only when a stage reads a member an
// earlier stage added) and points their cache slots into that small document.
void Record::add_appendix_to_cache() {
  appendix_parsed_ = true;
  thread_local std::string text;
  text.assign("{");
  text.append(appendix_.view().substr(1));
  text.push_back('}');
  text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  if (appendix_doc_.capacity() < text.size() && appendix_doc_.allocate(std::max<size_t>(256, text.size())) != simdjson::SUCCESS)
    return;
  simdjson::dom::element root;
  if (thread_parser().parse_into_document(appendix_doc_, text.data(), text.size(), false).get(root) != simdjson::SUCCESS)
    return;
  simdjson::dom::object obj;
  if (root.get(obj) != simdjson::SUCCESS) return;
  uint32_t n = static_cast<uint32_t>(top_at_.size());
  for (auto field : obj) {
    uint32_t id = TopFieldRegistry::find(field.key);
    // Added members are absent from the bytes, so they are set, not merged.
    if (id < n) top_at_[id] = kInAppendix | static_cast<uint32_t>(std::bit_cast<tape::tape_ref>(field.value).json_index);
  }
}

void Record::append_member(std::string_view key, std::string_view json_value) {
  // Empty object: no comma before the new member.
  auto [close, empty] = object_end(owned_);
  if (close == std::string::npos) return;
  // Cut the closing brace (and anything after it), append the member, put the tail back.
  char tail_buf[16];
  size_t tail_len = owned_.size() - close;
  bool small_tail = tail_len <= sizeof tail_buf;
  std::string tail_big;
  if (small_tail) owned_.copy(tail_buf, tail_len, close);
  else tail_big = owned_.substr(close);
  owned_.resize(close);
  if (appended_only_ && append_from_ == std::string::npos) append_from_ = close;
  if (!empty) owned_.push_back(',');
  json::append_quoted(owned_, key);
  owned_.push_back(':');
  owned_.append(json_value);
  if (small_tail) owned_.append(tail_buf, tail_len);
  else owned_.append(tail_big);
  ensure_padding();
  bytes_ = owned_;
}

void Record::set_member_string(std::string_view key, std::string_view value) {
  set_member_raw(key, json::quoted(value));
}

bool Record::view_and_appended(simdjson::dom::element& base, std::string_view& appended) {
  if (parsed_) {
    base = doc_.root();
    appended = appendix_.view();  // members held aside (`,"k":v...`), if any
    simdjson::dom::object obj;
    if (!appended.empty() && base.get(obj) == simdjson::SUCCESS && obj.size() == 0) appended.remove_prefix(1);
    return true;
  }
  if (!appended_only_ || state_ != State::Owned || append_from_ == std::string::npos) return false;
  size_t close = owned_.rfind('}');
  if (close == std::string::npos || close < append_from_) return false;
  base = doc_.root();
  appended = std::string_view(owned_).substr(append_from_, close - append_from_);
  return true;
}

bool Record::remove_member(std::string_view key) {
  leaf_valid_ = false;
  appended_only_ = false;
  if (state_ == State::Tree) return tree_->erase(key);
  json::Value& t = tree();
  return t.erase(key);
}

json::Value& Record::tree() {
  leaf_valid_ = false;
  if (state_ != State::Tree) {
    std::string_view b = bytes();
    auto v = json::parse(b);
    tree_ = std::make_unique<json::Value>(v ? std::move(*v) : json::Value::object());
    state_ = State::Tree;
  }
  appended_only_ = false;
  parsed_ = false;  // caller may edit; the view is rebuilt on next root()
  return *tree_;
}

void Record::replace_tree(json::Value v) {
  leaf_valid_ = false;
  appendix_.clear();
  appendix_ids_.clear();
  appendix_parsed_ = false;
  tree_ = std::make_unique<json::Value>(std::move(v));
  state_ = State::Tree;
  appended_only_ = false;
  parsed_ = false;
  top_valid_ = false;
}

void Record::trim_memory(size_t keep_capacity) {
  if (doc_.capacity() > keep_capacity) doc_ = simdjson::dom::document();
  if (appendix_doc_.capacity() > keep_capacity) appendix_doc_ = simdjson::dom::document();
  if (appendix_.capacity() > keep_capacity) appendix_.release();
  if (owned_.capacity() > keep_capacity) std::string().swap(owned_);
}

}  // namespace agentlog
