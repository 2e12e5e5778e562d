// Stage `map`: the field operations applied to one record's owned tree.
#include "plugins/map/map_ops.h"

#include <charconv>
#include <optional>

#include "plugins/enrich/enrich.h"
#include "plugins/map/map_profiles.h"

namespace agentlog::plugins::map {
namespace {

using V = json::Value;

// ---- paths over the owned tree ------------------------------------------------------

V* child(V& v, const std::string& part) {
  if (v.kind == V::Kind::Object) return v.find(part);
  if (v.kind == V::Kind::Array) {
    size_t idx = 0;
    auto r = std::from_chars(part.data(), part.data() + part.size(), idx);
    if (r.ec != std::errc() || r.ptr != part.data() + part.size() || idx >= v.items.size()) return nullptr;
    return &v.items[idx];
  }
  return nullptr;
}

V* find_path(V& root, const FieldPath& p) {
  V* cur = &root;
  for (const auto& part : p.parts)
    if (!(cur = child(*cur, part))) return nullptr;
  return cur;
}

std::string prefix_text(const FieldPath& p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ".";
    out += p.parts[i];
  }
  return out;
}


// Writes `v` at `p`, creating missing parent objects. Array items can be replaced, not added.
bool set_path(V& root, const FieldPath& p, V v, std::string& why) {
  V* cur = &root;
  for (size_t i = 0; i + 1 < p.parts.size(); ++i) {
    V* next = child(*cur, p.parts[i]);
    if (!next) {
      if (cur->kind != V::Kind::Object) {
        why = "cannot write " + p.text + ": no item " + p.parts[i] + " in array " + prefix_text(p, i);
        return false;
      }
      next = &cur->set(p.parts[i], V::object());
    } else if (next->kind != V::Kind::Object && next->kind != V::Kind::Array) {
      why = "cannot write " + p.text + ": " + prefix_text(p, i + 1) + " is " + kind_word(*next) + ", not an object";
      return false;
    }
    cur = next;
  }
  const std::string& last = p.parts.back();
  if (cur->kind == V::Kind::Object) {
    cur->set(last, std::move(v));
    return true;
  }
  if (V* slot = child(*cur, last)) {
    *slot = std::move(v);
    return true;
  }
  why = "cannot write " + p.text + ": no item " + last + " in array " + prefix_text(p, p.parts.size() - 1);
  return false;
}

bool remove_path(V& root, const FieldPath& p) {
  V* parent = &root;
  for (size_t i = 0; i + 1 < p.parts.size(); ++i)
    if (!(parent = child(*parent, p.parts[i]))) return false;
  const std::string& last = p.parts.back();
  if (parent->kind == V::Kind::Object) return parent->erase(last);
  if (V* item = child(*parent, last)) {
    parent->items.erase(parent->items.begin() + (item - parent->items.data()));
    return true;
  }
  return false;
}

// ---- coercion ---------------------------------------------------------------------------

// The canonical integer text of a JSON number literal that is an integer (2.0 and 2e3 are),
// within int64; nullopt otherwise (`out_of_range` tells an integer too large).
std::optional<std::string> integral_text(std::string_view lit, bool* out_of_range) {
  *out_of_range = false;
  if (!enrich::is_json_number(lit)) return std::nullopt;
  bool neg = lit[0] == '-';
  if (neg) lit.remove_prefix(1);
  std::string digits;
  int64_t exp10 = 0;
  size_t i = 0;
  while (i < lit.size() && lit[i] >= '0' && lit[i] <= '9') digits.push_back(lit[i++]);
  if (i < lit.size() && lit[i] == '.')
    for (++i; i < lit.size() && lit[i] >= '0' && lit[i] <= '9'; ++i, --exp10) digits.push_back(lit[i]);
  if (i < lit.size()) {
    ++i;
    bool eneg = lit[i] == '-';
    if (lit[i] == '+' || lit[i] == '-') ++i;
    int64_t e = 0;
    for (; i < lit.size(); ++i)
      if ((e = e * 10 + (lit[i] - '0')) > 100) return *out_of_range = !eneg, std::nullopt;
    exp10 += eneg ? -e : e;
  }
  while (exp10 < 0) {
    if (digits.empty() || digits.back() != '0') {
      if (digits.find_first_not_of('0') == std::string::npos) break;  // zero
      return std::nullopt;
    }
    digits.pop_back();
    ++exp10;
  }
  if (exp10 > 0) digits.append(static_cast<size_t>(exp10), '0');
  size_t lead = digits.find_first_not_of('0');
  digits = lead == std::string::npos ? "0" : digits.substr(lead);
  if (digits != "0" && neg) digits.insert(0, "-");
  int64_t check;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), check);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return *out_of_range = true, std::nullopt;
  return digits;
}

std::string shown(const V& v) {
  if (v.kind == V::Kind::String) return enrich::quoted_for_message(v.text);
  if (v.kind == V::Kind::Number) return v.text.size() <= 64 ? v.text : v.text.substr(0, 64) + "...";
  return kind_word(v);
}

bool coerce(V& v, CoerceTo to, std::string& why) {
  switch (to) {
    case CoerceTo::String:
      if (v.kind == V::Kind::String) return true;
      if (v.kind == V::Kind::Number) return v = V::string(v.text), true;
      if (v.kind == V::Kind::Bool) return v = V::string(v.boolean ? "true" : "false"), true;
      why = std::string("cannot convert ") + kind_word(v) + " to a string";
      return false;
    case CoerceTo::Integer:
      if (v.kind == V::Kind::Bool) return v = V::number(v.boolean ? "1" : "0"), true;
      if (v.kind == V::Kind::Number || v.kind == V::Kind::String) {
        bool range = false;
        if (auto t = integral_text(v.text, &range)) return v = V::number(*t), true;
        if (range) return why = shown(v) + " is out of range for a 64-bit integer", false;
      }
      why = shown(v) + " is not an integer";
      return false;
    case CoerceTo::Number:
      if (v.kind == V::Kind::Number) return true;
      if (v.kind == V::Kind::Bool) return v = V::number(v.boolean ? "1" : "0"), true;
      if (v.kind == V::Kind::String && enrich::is_json_number(v.text)) return v = V::number(v.text), true;
      why = shown(v) + " is not a number";
      return false;
    case CoerceTo::Boolean: {
      if (v.kind == V::Kind::Bool) return true;
      std::string_view t = v.text;
      if ((v.kind == V::Kind::String && t == "true") || (v.kind == V::Kind::Number && t == "1")) {
        V b;
        b.kind = V::Kind::Bool;
        b.boolean = true;
        return v = b, true;
      }
      if ((v.kind == V::Kind::String && t == "false") || (v.kind == V::Kind::Number && t == "0")) {
        V b;
        b.kind = V::Kind::Bool;
        return v = b, true;
      }
      why = shown(v) + " is not a boolean (true, false, 1 or 0)";
      return false;
    }
  }
  return false;
}

bool missing(const Op& op, const FieldPath& p, std::string& why, uint64_t& skipped_missing) {
  if (op.required) {
    why = p.text + ": field is missing";
    return false;
  }
  ++skipped_missing;
  return true;
}

}  // namespace

bool apply_op(const Op& op, V& root, std::string& why, bool& changed, uint64_t& skipped_missing) {
  switch (op.kind) {
    case OpKind::Rename: {
      V* parent = &root;
      for (size_t i = 0; parent && i + 1 < op.from.parts.size(); ++i) parent = child(*parent, op.from.parts[i]);
      const std::string& key = op.from.parts.back();
      if (!parent || parent->kind != V::Kind::Object || !parent->find(key)) {
        if (parent && parent->kind == V::Kind::Array && child(*parent, key)) {
          why = op.from.text + ": cannot rename an array item";
          return false;
        }
        return missing(op, op.from, why, skipped_missing);
      }
      const std::string& to = op.to.parts[0];
      if (parent->find(to)) {
        if (!op.overwrite) return true;
        parent->erase(to);
      }
      changed = true;
      for (auto& m : parent->members)
        if (m.first == key) {
          m.first = to;
          break;
        }
      return true;
    }
    case OpKind::Copy:
    case OpKind::Move: {
      V* src = find_path(root, op.from);
      if (!src) return missing(op, op.from, why, skipped_missing);
      if (!op.overwrite && find_path(root, op.to)) return true;
      changed = true;
      V value;
      if (op.kind == OpKind::Copy) {
        value = *src;
      } else {
        value = std::move(*src);
        remove_path(root, op.from);
      }
      if (!set_path(root, op.to, std::move(value), why)) return false;
      return true;
    }
    case OpKind::Delete:
      changed |= remove_path(root, op.from);
      return true;
    case OpKind::Default: {
      V* cur = find_path(root, op.from);
      if (cur && cur->kind != V::Kind::Null && !(cur->kind == V::Kind::String && cur->text.empty())) return true;
      changed = true;
      if (cur) return *cur = op.value, true;
      return set_path(root, op.from, op.value, why);
    }
    case OpKind::Set:
      changed = true;
      return set_path(root, op.from, op.value, why);
    case OpKind::Coerce: {
      V* cur = find_path(root, op.from);
      if (!cur) return missing(op, op.from, why, skipped_missing);
      std::string w;
      V::Kind kind = cur->kind;
      std::string text = cur->text;
      if (!coerce(*cur, op.coerce, w)) {
        why = op.from.text + ": " + w;
        return false;
      }
      changed |= cur->kind != kind || cur->text != text;
      return true;
    }
    case OpKind::Hash: {
      V* cur = find_path(root, op.from);
      if (!cur) return missing(op, op.from, why, skipped_missing);
      changed = true;
      V h = V::string(map::content_hash(*cur));
      if (op.to.parts.empty()) return *cur = std::move(h), true;
      return set_path(root, op.to, std::move(h), why);
    }
  }
  return true;
}

}  // namespace agentlog::plugins::map
