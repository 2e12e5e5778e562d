#include "core/record.h"

namespace agentlog {
namespace {
simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}
}  // namespace

void Record::reset_borrowed(std::string_view bytes) {
  state_ = State::Original;
  bytes_ = bytes;
  tree_.reset();
  parsed_ = false;
  verdict = Verdict::Keep;
  decided_by = -1;
  reason.clear();
  generated = false;
  expanded = false;
}

void Record::reset_owned(std::string text) {
  reset_borrowed({});
  owned_ = std::move(text);
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
  std::string_view b = bytes();
  if (doc_.capacity() < b.size()) {
    // Grow in powers of two so a reused slot does not reallocate for every longer line.
    size_t cap = 1024;
    while (cap < b.size()) cap <<= 1;
    if (auto err = doc_.allocate(cap); err != simdjson::SUCCESS) return err;
  }
  auto r = thread_parser().parse_into_document(doc_, b.data(), b.size(), false);
  parsed_ = r.error() == simdjson::SUCCESS;
  return r.error();
}

simdjson::dom::element Record::root() {
  if (!parsed_) parse();
  return doc_.root();
}

simdjson::dom::object Record::object() {
  simdjson::dom::object o;
  if (root().get(o) != simdjson::SUCCESS) return {};
  return o;
}

std::string_view Record::bytes() {
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
  if (state_ == State::Tree) {
    tree_->set(key, *json::parse(json_value));
    return;
  }
  to_owned();
  parsed_ = false;
  if (auto span = json::find_top_level_member(owned_, key)) {
    owned_.replace(span->begin, span->end - span->begin, json_value);
    ensure_padding();
    bytes_ = owned_;
  } else {
    append_member(key, json_value);
  }
}

void Record::add_member_raw(std::string_view key, std::string_view json_value) {
  if (state_ == State::Tree) {
    tree_->set(key, *json::parse(json_value));
    return;
  }
  to_owned();
  parsed_ = false;
  append_member(key, json_value);
}

void Record::append_member(std::string_view key, std::string_view json_value) {
  size_t close = owned_.rfind('}');
  if (close == std::string::npos) return;
  // Empty object: no comma before the new member.
  size_t k = close;
  while (k > 0 && (owned_[k - 1] == ' ' || owned_[k - 1] == '\t' || owned_[k - 1] == '\n' || owned_[k - 1] == '\r')) --k;
  bool empty = k > 0 && owned_[k - 1] == '{';
  // Cut the closing brace (and anything after it), append the member, put the tail back.
  char tail_buf[16];
  size_t tail_len = owned_.size() - close;
  bool small_tail = tail_len <= sizeof tail_buf;
  std::string tail_big;
  if (small_tail) owned_.copy(tail_buf, tail_len, close);
  else tail_big = owned_.substr(close);
  owned_.resize(close);
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

bool Record::remove_member(std::string_view key) {
  if (state_ == State::Tree) return tree_->erase(key);
  json::Value& t = tree();
  return t.erase(key);
}

json::Value& Record::tree() {
  if (state_ != State::Tree) {
    std::string_view b = bytes();
    auto v = json::parse(b);
    tree_ = std::make_unique<json::Value>(v ? std::move(*v) : json::Value::object());
    state_ = State::Tree;
  }
  parsed_ = false;  // caller may edit; the view is rebuilt on next root()
  return *tree_;
}

void Record::trim_memory(size_t keep_capacity) {
  if (doc_.capacity() > keep_capacity) doc_ = simdjson::dom::document();
  if (owned_.capacity() > keep_capacity) std::string().swap(owned_);
}

}  // namespace agentlog
