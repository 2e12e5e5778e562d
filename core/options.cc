#include "core/options.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

namespace agentlog {
namespace {


bool parse_int(const std::string& s, int64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string described(const std::string& s) { return "\"" + s + "\""; }

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

Status check_scalar(const ConfigSource& src, const YAML::Node& node, const std::string& path, const OptionSpec& spec) {
  if (spec.type == OptType::Scalar && node.IsNull()) return {};  // `equals: null`
  if (!node.IsScalar())
    return Status::error(format_error(
        src, node, path, "expected " + std::string(type_name(spec.type)) + ", got " + std::string(node_kind(node))));
  const std::string& text = node.Scalar();
  switch (spec.type) {
    case OptType::Int: {
      int64_t integer;
      if (!parse_int(text, integer))
        return Status::error(format_error(src, node, path, "expected an integer, got " + described(text)));
      if (integer < spec.min)
        return Status::error(
            format_error(src, node, path, "must be at least " + std::to_string(spec.min) + ", got " + text));
      if (integer > spec.max)
        return Status::error(
            format_error(src, node, path, "must be at most " + std::to_string(spec.max) + ", got " + text));
      break;
    }
    case OptType::Double: {
      double number;
      if (!parse_double(text, number))
        return Status::error(format_error(src, node, path, "expected a number, got " + described(text)));
      break;
    }
    case OptType::Bool:
      if (text != "true" && text != "false")
        return Status::error(format_error(src, node, path, "expected true or false, got " + described(text)));
      break;
    case OptType::Enum:
      if (std::find(spec.allowed.begin(), spec.allowed.end(), text) == spec.allowed.end()) {
        std::string msg = "invalid value " + described(text);
        msg += suggestion(text, spec.allowed);
        return Status::error(format_error(src, node, path, msg));
      }
      break;
    default: break;
  }
  return {};
}

Status check_value(const ConfigSource& src, const YAML::Node& node, const std::string& path, const OptionSpec& spec) {
  switch (spec.type) {
    case OptType::String:
    case OptType::Int:
    case OptType::Bool:
    case OptType::Double:
    case OptType::Enum:
    case OptType::Scalar: return check_scalar(src, node, path, spec);
    case OptType::StringList:
    case OptType::ScalarList:
      if (!node.IsSequence())
        return Status::error(
            format_error(src, node, path, "expected a list of scalars, got " + std::string(node_kind(node))));
      for (size_t i = 0; i < node.size(); ++i)
        if (!node[i].IsScalar())
          return Status::error(format_error(src, node[i], path + "[" + std::to_string(i) + "]",
                                            "expected a scalar, got " + std::string(node_kind(node[i]))));
      return {};
    case OptType::Object: return check_options(src, node, path, spec.children);
    case OptType::ObjectList:
      if (!node.IsSequence())
        return Status::error(
            format_error(src, node, path, "expected a list of mappings, got " + std::string(node_kind(node))));
      for (size_t i = 0; i < node.size(); ++i) {
        Status status = check_options(src, node[i], path + "[" + std::to_string(i) + "]", spec.children);
        if (!status.ok()) return status;
      }
      return {};
    case OptType::Map:
      if (!node.IsMap())
        return Status::error(format_error(src, node, path, "expected a mapping, got " + std::string(node_kind(node))));
      for (auto it = node.begin(); it != node.end(); ++it)
        if (!it->second.IsScalar())
          return Status::error(format_error(src, it->second, path + "." + it->first.Scalar(),
                                            "expected a scalar, got " + std::string(node_kind(it->second))));
      return {};
  }
  return {};
}

}  // namespace

std::string_view node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "null";
    default: return "nothing";
  }
}

std::string_view type_name(OptType t) {
  switch (t) {
    case OptType::String: return "string";
    case OptType::Int: return "integer";
    case OptType::Bool: return "bool";
    case OptType::Double: return "number";
    case OptType::Enum: return "enum";
    case OptType::StringList: return "list of strings";
    case OptType::Object: return "mapping";
    case OptType::ObjectList: return "list of mappings";
    case OptType::Scalar: return "scalar";
    case OptType::ScalarList: return "list of scalars";
    case OptType::Map: return "mapping of scalars";
  }
  return "?";
}

std::string format_error(const ConfigSource& src, const YAML::Node& node, std::string_view path,
                         std::string_view message) {
  std::string out = src.display_name;
  YAML::Mark m = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
  if (m.line < 0) m.line = m.column = 0;  // no position known: point at the file start
  out += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  out += ": ";
  if (!path.empty()) {
    out += path;
    out += ": ";
  }
  out += message;
  return out;
}

namespace {
std::string position(const std::string& name, const YAML::Mark& m) {
  return name + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// `seen`: the collections already checked, by their position in the text. An alias is the
// node of its anchor (same position), so each collection is checked once, however often
// aliases repeat it (nested aliases would otherwise grow the walk exponentially).
Status reject_duplicate_keys(const std::string& name, const YAML::Node& n, const std::string& path,
                             std::unordered_set<int>& seen) {
  if ((n.IsSequence() || n.IsMap()) && n.Mark().pos >= 0 && !seen.insert(n.Mark().pos).second) return {};
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i)
      if (Status st = reject_duplicate_keys(name, n[i], path + "[" + std::to_string(i) + "]", seen); !st.ok()) return st;
  } else if (n.IsMap()) {
    std::unordered_map<std::string, YAML::Mark> first_at;  // lookup tables may have many rows
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node key = it->first;  // a copy: `it->` yields a temporary
      if (!key.IsScalar()) continue;
      const std::string child = path.empty() ? key.Scalar() : path + "." + key.Scalar();
      if (auto [earlier, fresh] = first_at.emplace(key.Scalar(), key.Mark()); !fresh)
        return Status::error(position(name, key.Mark()) + ": " + child + ": duplicate key \"" + key.Scalar() +
                             "\" (first at " + position(name, earlier->second) + ")");
      if (Status st = reject_duplicate_keys(name, it->second, child, seen); !st.ok()) return st;
    }
  }
  return {};
}
}  // namespace

Status parse_yaml(const std::string& text, const std::string& display_name, YAML::Node& out) {
  try {
    out = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::error(position(display_name, e.mark) + ": invalid YAML: " + e.msg);
  }
  std::unordered_set<int> seen;
  return reject_duplicate_keys(display_name, out, "", seen);
}

std::string_view did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  size_t best_d = SIZE_MAX;
  for (auto c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : std::string_view{};
}

std::string suggestion(std::string_view word, std::span<const std::string_view> allowed) {
  std::string out;
  if (auto m = did_you_mean(word, allowed); !m.empty()) out = "; did you mean \"" + std::string(m) + "\"?";
  else out = ".";
  return out + " Allowed: " + join(allowed);
}

std::string join(std::span<const std::string_view> items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

Status check_options(const ConfigSource& src, const YAML::Node& node, std::string_view path,
                     std::span<const OptionSpec> specs, std::span<const std::string_view> extra_keys) {
  if (!node.IsMap())
    return Status::error(format_error(src, node, path, "expected a mapping, got " + std::string(node_kind(node))));
  std::vector<std::string_view> names;
  for (auto k : extra_keys) names.push_back(k);
  for (auto& s : specs) names.push_back(s.name);
  std::string prefix = path.empty() ? std::string() : std::string(path) + ".";
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    std::string kpath = prefix + key;
    if (std::find(extra_keys.begin(), extra_keys.end(), key) != extra_keys.end()) continue;
    auto spec = std::find_if(specs.begin(), specs.end(), [&](auto& s) { return s.name == key; });
    if (spec == specs.end()) {
      std::string msg = "unknown option " + described(key);
      msg += suggestion(key, names);
      return Status::error(format_error(src, it->first, kpath, msg));
    }
    Status status = check_value(src, it->second, kpath, *spec);
    if (!status.ok()) return status;
  }
  for (auto& option_spec : specs) {
    if (option_spec.required && !node[std::string(option_spec.name)])
      return Status::error(format_error(src, node, prefix + std::string(option_spec.name),
                                        "required option is missing (" + std::string(option_spec.description) + ")"));
  }
  return {};
}

OptionView::OptionView(const ConfigSource* src, YAML::Node node, std::span<const OptionSpec> specs,
                       std::string path)
    : src_(src), node_(std::move(node)), specs_(specs), path_(std::move(path)) {}

const OptionSpec& OptionView::spec(std::string_view name) const {
  for (auto& s : specs_)
    if (s.name == name) return s;
  static const OptionSpec kNone{};
  return kNone;  // programming error: option not declared; behaves as unset
}

const OptionSpec* OptionView::declared(std::string_view name) const {
  for (auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

bool OptionView::has(std::string_view name) const {
  const YAML::Node& n = node_;  // const access: never inserts keys
  if (!n.IsMap()) return false;
  YAML::Node v = n[std::string(name)];
  if (!v.IsDefined()) return false;
  return !v.IsNull() || spec(name).type == OptType::Scalar;
}

YAML::Node OptionView::raw(std::string_view name) const {
  const YAML::Node& n = node_;
  if (!n.IsMap()) return YAML::Node();
  return n[std::string(name)];
}

std::string OptionView::str(std::string_view name) const {
  if (has(name)) return raw(name).IsNull() ? "null" : raw(name).Scalar();
  return std::string(spec(name).default_value);
}

int64_t OptionView::integer(std::string_view name) const {
  int64_t v = 0;
  parse_int(str(name), v);
  return v;
}

bool OptionView::boolean(std::string_view name) const { return str(name) == "true"; }

double OptionView::number(std::string_view name) const {
  double d = 0;
  parse_double(str(name), d);
  return d;
}

std::vector<std::string> OptionView::strings(std::string_view name) const {
  std::vector<std::string> out;
  if (!has(name)) return out;
  for (const auto& n : raw(name)) out.push_back(n.Scalar());
  return out;
}

std::string OptionView::child_path(std::string_view name) const {
  return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
}

std::vector<OptionView> OptionView::objects(std::string_view name) const {
  std::vector<OptionView> out;
  if (!has(name)) return out;
  YAML::Node list = raw(name);
  for (size_t i = 0; i < list.size(); ++i)
    out.emplace_back(src_, list[i], spec(name).children, child_path(name) + "[" + std::to_string(i) + "]");
  return out;
}

OptionView OptionView::object(std::string_view name) const {
  return OptionView(src_, raw(name), spec(name).children, child_path(name));
}

std::string OptionView::error(std::string_view name, std::string_view message) const {
  if (name.empty()) return format_error(*src_, node_, path_, message);
  YAML::Node n = has(name) ? raw(name) : node_;
  return format_error(*src_, n, child_path(name), message);
}

std::string OptionView::error_at(const YAML::Node& node, std::string_view path, std::string_view message) const {
  return format_error(*src_, node, path, message);
}

}  // namespace agentlog
