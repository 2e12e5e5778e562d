#include "plugins/redact/redact.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/embedded_files.h"
#include "core/field_path.h"
#include "core/hashing.h"
#include "plugins/redact/ref_policy.h"
#include "plugins/redact/secret_rules.h"

namespace agentlog::plugins {
namespace {

using redact::Finding;
using redact::RefKind;
using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::string_view kModes[] = {"hmac-sha256", "sha256", "mask"};

constexpr OptionSpec kRedactOptions[] = {
    {.name = "fields", .type = OptType::StringList,
     .default_value = "[input_ref, output_ref, tool_target, error_code, details]",
     .description = "fields the rules scan; an object or array field scans every string under it"},
    {.name = "ref_fields", .type = OptType::StringList, .default_value = "[input_ref, output_ref]",
     .description = "fields under the ref policy: a hash or a clean URI, else replaced by a hash of the content"},
    {.name = "all_strings", .type = OptType::Bool, .default_value = "false",
     .description = "scan every string in the record instead of `fields`"},
    {.name = "builtin_rules", .type = OptType::Bool, .default_value = "true",
     .description = "use the built-in rule set (rules/secrets.yaml)"},
    {.name = "rule_files", .type = OptType::StringList, .description = "extra YAML rule files, added to the built-in set"},
    {.name = "replacement", .type = OptType::Enum, .default_value = "hmac-sha256",
     .description = "hmac-sha256:<hex> (keyed), sha256:<hex>, or a mask [REDACTED:<rule>]", .allowed = kModes},
    {.name = "hmac_key_env", .type = OptType::String, .default_value = "AGENTLOG_REDACT_KEY",
     .description = "environment variable holding the HMAC key (at least 16 bytes)"},
    {.name = "hmac_key_file", .type = OptType::String,
     .description = "file holding the HMAC key (used when the variable is unset)"},
    {.name = "annotation_field", .type = OptType::String, .default_value = "redactions",
     .description = "top-level field listing {field, rule} per redaction; empty turns it off"},
    {.name = "max_regex_memory", .type = OptType::Int, .default_value = "268435456",
     .description = "RE2 memory budget for the rule set, in bytes", .min = 1 << 20, .max = 1ll << 34},
};

enum class Mode { Hmac, Sha256, Mask };

thread_local std::vector<std::string_view> t_scan;  // pass 1: the strings to scan

// One replacement to make: the value at `path` becomes the string `value`.
struct Edit {
  std::vector<std::string> path;  // keys, or decimal indices inside arrays
  std::string value;
};

std::string dotted(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) {
    if (!out.empty()) out.push_back('.');
    out += p;
  }
  return out;
}

class RedactStage : public Stage {
 public:
  redact::RuleSet rules;
  Mode mode = Mode::Hmac;
  std::string key;
  std::vector<FieldPath> ref_fields, fields;
  bool all_strings = false;
  std::string annotation_field;
  // Counters: by rule id (including the ref-* policy ids), and records edited.
  std::map<std::string, uint64_t> by_rule;
  uint64_t records_redacted = 0;
  bool counting_ = true;  // off while scrubbing dead letters
  FieldSet field_set_;
  std::vector<size_t> ref_slots_, field_slots_;
  uint64_t deep_scans_ = 0;  // records the cheap first pass could not clear

  std::string token(std::string_view secret, std::string_view rule) const {
    switch (mode) {
      case Mode::Hmac: return "hmac-sha256:" + hmac_sha256_hex(key, secret);
      case Mode::Sha256: return "sha256:" + sha256_hex(secret);
      case Mode::Mask: return "[REDACTED:" + std::string(rule) + "]";
    }
    return {};
  }
  // Inside URIs a token must stay a valid URI component.
  std::string uri_token(std::string_view secret) const {
    switch (mode) {
      case Mode::Hmac: return "redacted-hmac-sha256-" + hmac_sha256_hex(key, secret);
      case Mode::Sha256: return "redacted-sha256-" + sha256_hex(secret);
      case Mode::Mask: return "REDACTED";
    }
    return {};
  }

  // A replacement this stage (or an earlier run of it) wrote is not a secret.
  static bool is_placeholder(std::string_view s) {
    return s == "REDACTED" || s.starts_with("redacted-") || s.starts_with("[REDACTED:") || redact::is_hash_ref(s);
  }

  // Applies the rules to one string. Returns true and fills `out` when something changed.
  bool scrub_string(std::string_view text, std::string& out, std::vector<std::string>* hits) const {
    thread_local std::vector<Finding> found;
    rules.find(text, found);
    std::erase_if(found, [&](const Finding& f) { return is_placeholder(text.substr(f.begin, f.end - f.begin)); });
    if (found.empty()) return false;
    out.clear();
    size_t at = 0;
    for (const auto& f : found) {
      const std::string& id = rules.rules()[f.rule].id;
      out.append(text.substr(at, f.begin - at));
      out.append(token(text.substr(f.begin, f.end - f.begin), id));
      at = f.end;
      if (hits) hits->push_back(id);
    }
    out.append(text.substr(at));
    return true;
  }

  // Dead letters get the same treatment as records, and more: a text that parses as a JSON
  // object goes through process() (ref policy and rules on the configured fields), then the
  // rules run on every string in it; any other text (a malformed line, a reason) is scanned
  // as it is.
  void scrub(std::string& text) override {
    std::string out;
    Record tmp;
    tmp.reset_owned(text);
    if (text.find('{') != std::string::npos && tmp.parse() == simdjson::SUCCESS &&
        tmp.root().type() == element_type::OBJECT) {
      counting_ = false;
      process(tmp);
      counting_ = true;
      std::vector<Edit> edits;
      std::vector<std::pair<std::string, std::string>> notes;
      std::vector<std::string> path;
      plan_strings(tmp.root(), path, edits, notes, false);
      apply(tmp, edits);
      text.assign(tmp.bytes());
      return;
    }
    scrub_raw(text);
  }

  // A text that is not a JSON object (a malformed line, an over-long prefix, a reason). Rules
  // see it three ways: as it is, with JSON escapes decoded, and one quoted string at a time
  // (so rules anchored at a value's start still fire). Each secret found is then replaced
  // wherever it occurs, as is or JSON-escaped.
  void scrub_raw(std::string& text) const {
    std::vector<std::pair<std::string, size_t>> secrets;  // secret, rule
    std::vector<Finding> found;
    auto collect = [&](std::string_view view) {
      rules.find(view, found);
      for (const auto& f : found)
        if (!is_placeholder(view.substr(f.begin, f.end - f.begin)))
          secrets.emplace_back(std::string(view.substr(f.begin, f.end - f.begin)), f.rule);
    };
    collect(text);
    collect(unescape(text));
    for (size_t i = 0; i < text.size();) {
      size_t q = text.find('"', i);
      if (q == std::string::npos) break;
      size_t e = q + 1;
      while (e < text.size() && text[e] != '"') e += text[e] == '\\' ? 2 : 1;
      collect(unescape(std::string_view(text).substr(q + 1, std::min(e, text.size()) - q - 1)));
      i = e + 1;
    }
    if (secrets.empty()) return;
    // Longest first, so a secret inside a longer one does not leave the rest behind.
    std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (const auto& [secret, rule] : secrets) {
      std::string tok = token(secret, rules.rules()[rule].id);
      std::string escaped = json::quoted(secret);
      escaped = escaped.substr(1, escaped.size() - 2);
      for (const std::string& form : {secret, escaped}) {
        if (form.empty()) continue;
        for (size_t at = text.find(form); at != std::string::npos; at = text.find(form, at + tok.size())) text.replace(at, form.size(), tok);
      }
    }
  }

  // Decodes JSON string escapes anywhere in `s`, leaving everything else as it is.
  static std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\' || i + 1 >= s.size()) {
        out.push_back(s[i]);
        continue;
      }
      char c = s[++i];
      switch (c) {
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u':
          if (i + 4 < s.size()) {
            auto v = json::parse("\"\\u" + std::string(s.substr(i + 1, 4)) + "\"");
            if (v) {
              out += v->text;
              i += 4;
              break;
            }
          }
          out.push_back('u');
          break;
        default: out.push_back(c);
      }
    }
    return out;
  }

  // Registers the fields pass 1 reads, so one walk over a record finds them all.
  void init() {
    for (const auto& f : ref_fields) ref_slots_.push_back(field_set_.add(f));
    for (const auto& f : fields)
      if (!is_ref_field(f)) field_slots_.push_back(field_set_.add(f));
  }

  StageVerdict process(Record& record) override {
    element root = record.root();
    // Pass 1, read-only: is there anything to change at all?
    t_scan.clear();
    bool need = false;
    field_set_.extract(record);
    for (size_t slot : ref_slots_) {
      const auto& v = field_set_[slot];
      if (!v || v->type() == element_type::NULL_VALUE) continue;
      std::string_view s;
      if (v->get(s) != simdjson::SUCCESS) {
        need = true;  // a number, object or array is content, not a ref
        continue;
      }
      RefKind k = redact::classify_ref(s);
      if (k == RefKind::CleanUri) append_scan(s);
      else if (k != RefKind::HashRef) need = true;
    }
    if (!need) {
      if (all_strings) collect(root, true);
      else
        for (size_t slot : field_slots_)
          if (const auto& v = field_set_[slot]) collect(*v, false);
      // Each string on its own: anchors in rules must see the string's real start and end.
      if (std::none_of(t_scan.begin(), t_scan.end(), [&](std::string_view v) { return rules.may_match(v); }))
        return StageVerdict::keep();
    }
    // Pass 2: compute the exact edits.
    ++deep_scans_;
    std::vector<Edit> edits;
    std::vector<std::pair<std::string, std::string>> notes;  // field, rule
    plan_edits(root, edits, notes);
    if (edits.empty()) return StageVerdict::keep();
    apply(record, edits);
    if (!annotation_field.empty()) {
      std::string arr = "[";
      for (size_t i = 0; i < notes.size(); ++i) {
        if (i) arr += ",";
        arr += "{\"field\":" + json::quoted(notes[i].first) + ",\"rule\":" + json::quoted(notes[i].second) + "}";
      }
      record.set_member_raw(annotation_field, arr + "]");
    }
    if (counting_) {
      ++records_redacted;
      for (const auto& n : notes) ++by_rule[n.second];
    }
    return StageVerdict::keep();
  }

  std::string stats_json() const override {
    std::string o = "\"records_redacted\":" + std::to_string(records_redacted) +
                    ",\"deep_scans\":" + std::to_string(deep_scans_) + ",\"by_rule\":{";
    bool first = true;
    for (const auto& [k, v] : by_rule) {
      if (!first) o += ",";
      first = false;
      o += json::quoted(k) + ":" + std::to_string(v);
    }
    return o + "}";
  }

 private:
  bool is_ref_field(const FieldPath& f) const {
    for (const auto& r : ref_fields)
      if (r.parts == f.parts) return true;
    return false;
  }

  static void append_scan(std::string_view s) { t_scan.push_back(s); }

  // Gathers the strings under `v` into the pass-1 scan buffer.
  void collect(element v, bool top) {
    switch (v.type()) {
      case element_type::STRING: append_scan(v.get_string().value_unsafe()); break;
      case element_type::ARRAY: {
        simdjson::dom::array a = v.get_array().value_unsafe();
        for (element e : a) collect(e, false);
        break;
      }
      case element_type::OBJECT: {
        simdjson::dom::object o = v.get_object().value_unsafe();
        for (auto field : o) {
          if (top && (field.key == annotation_field || is_top_ref(field.key))) continue;
          collect(field.value, false);
        }
        break;
      }
      default: break;
    }
  }

  bool is_top_ref(std::string_view key) const {
    for (const auto& r : ref_fields)
      if (r.parts.size() == 1 && r.parts[0] == key) return true;
    return false;
  }

  void plan_strings(element v, std::vector<std::string>& path, std::vector<Edit>& edits,
                    std::vector<std::pair<std::string, std::string>>& notes, bool top) {
    switch (v.type()) {
      case element_type::STRING: {
        std::string out;
        std::vector<std::string> hits;
        if (scrub_string(v.get_string().value_unsafe(), out, &hits)) {
          edits.push_back({path, std::move(out)});
          for (auto& h : hits) note(notes, dotted(path), h);
        }
        break;
      }
      case element_type::ARRAY: {
        size_t i = 0;
        simdjson::dom::array a = v.get_array().value_unsafe();
        for (element e : a) {
          path.push_back(std::to_string(i++));
          plan_strings(e, path, edits, notes, false);
          path.pop_back();
        }
        break;
      }
      case element_type::OBJECT: {
        simdjson::dom::object o = v.get_object().value_unsafe();
        for (auto field : o) {
          if (top && (field.key == annotation_field || is_top_ref(field.key))) continue;
          path.emplace_back(field.key);
          plan_strings(field.value, path, edits, notes, false);
          path.pop_back();
        }
        break;
      }
      default: break;
    }
  }

  static void note(std::vector<std::pair<std::string, std::string>>& notes, std::string field, std::string rule) {
    for (const auto& n : notes)
      if (n.first == field && n.second == rule) return;
    notes.emplace_back(std::move(field), std::move(rule));
  }

  void plan_edits(element root, std::vector<Edit>& edits, std::vector<std::pair<std::string, std::string>>& notes) {
    for (const auto& f : ref_fields) {
      auto v = lookup(root, f);
      if (!v || v->type() == element_type::NULL_VALUE) continue;
      std::string_view s;
      std::string field = dotted(f.parts);
      if (v->get(s) != simdjson::SUCCESS) {
        edits.push_back({f.parts, token(simdjson::minify(*v), "ref-raw-content")});
        note(notes, field, "ref-raw-content");
        continue;
      }
      RefKind k = redact::classify_ref(s);
      if (k == RefKind::HashRef) continue;
      if (k == RefKind::Raw) {
        edits.push_back({f.parts, token(s, "ref-raw-content")});
        note(notes, field, "ref-raw-content");
        continue;
      }
      std::string value(s);
      bool changed = false;
      if (k == RefKind::UriWithSecrets) {
        std::vector<std::string> what;
        value = redact::redact_uri(s, [&](std::string_view secret) { return uri_token(secret); }, what);
        for (auto& w : what) note(notes, field, w);
        changed = true;
      }
      std::string out;
      std::vector<std::string> hits;
      if (scrub_string(value, out, &hits)) {
        value.swap(out);
        for (auto& h : hits) note(notes, field, h);
        changed = true;
      }
      if (changed) edits.push_back({f.parts, std::move(value)});
    }
    std::vector<std::string> path;
    if (all_strings) {
      plan_strings(root, path, edits, notes, true);
      return;
    }
    for (const auto& f : fields) {
      if (is_ref_field(f)) continue;
      auto v = lookup(root, f);
      if (!v) continue;
      path = f.parts;
      plan_strings(*v, path, edits, notes, false);
    }
  }

  static void apply(Record& record, const std::vector<Edit>& edits) {
    bool top_only = true;
    for (const auto& e : edits) top_only = top_only && e.path.size() == 1;
    if (top_only) {
      for (const auto& e : edits) record.set_member_string(e.path[0], e.value);
      return;
    }
    json::Value& tree = record.tree();
    for (const auto& e : edits) {
      json::Value* cur = &tree;
      for (const auto& seg : e.path) {
        if (cur == nullptr) break;
        if (cur->kind == json::Value::Kind::Object) cur = cur->find(seg);
        else if (cur->kind == json::Value::Kind::Array) {
          size_t i = std::strtoull(seg.c_str(), nullptr, 10);
          cur = i < cur->items.size() ? &cur->items[i] : nullptr;
        } else {
          cur = nullptr;
        }
      }
      if (cur) *cur = json::Value::string(e.value);
    }
  }
};

Status read_text(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::error("cannot read \"" + path + "\"");
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return {};
}

Status parse_paths(const OptionView& o, std::string_view name, std::vector<std::string> values,
                   std::vector<FieldPath>& out) {
  for (const auto& v : values) {
    FieldPath p;
    if (!parse_field_path(v, p)) return Status::error(o.error(name, "invalid field path \"" + v + "\""));
    out.push_back(std::move(p));
  }
  return {};
}

Status make_redact(const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<RedactStage>();
  if (o.boolean("builtin_rules")) {
    Status s = st->rules.add_yaml(find_embedded("rules/secrets.yaml"), "rules/secrets.yaml");
    if (!s.ok()) return Status::error(o.error("builtin_rules", s.message()));
  }
  for (const auto& file : o.strings("rule_files")) {
    std::string text;
    Status s = read_text(file, text);
    if (s.ok()) s = st->rules.add_yaml(text, file);
    if (!s.ok()) return Status::error(o.error("rule_files", s.message()));
  }
  if (Status s = st->rules.compile(o.integer("max_regex_memory")); !s.ok())
    return Status::error(o.error("max_regex_memory", s.message()));

  std::string mode = o.str("replacement");
  st->mode = mode == "sha256" ? Mode::Sha256 : mode == "mask" ? Mode::Mask : Mode::Hmac;
  if (st->mode == Mode::Hmac) {
    std::string env = o.str("hmac_key_env");
    const char* k = env.empty() ? nullptr : std::getenv(env.c_str());
    if (k != nullptr && *k != '\0') {
      st->key = k;
    } else if (o.has("hmac_key_file")) {
      if (Status s = read_text(o.str("hmac_key_file"), st->key); !s.ok())
        return Status::error(o.error("hmac_key_file", s.message()));
      while (!st->key.empty() && (st->key.back() == '\n' || st->key.back() == '\r')) st->key.pop_back();
    } else {
      return Status::error(o.error("replacement", "hmac-sha256 needs a key: set the environment variable " + env +
                                                      " or hmac_key_file, or choose replacement: sha256 or mask"));
    }
    if (st->key.size() < 16)
      return Status::error(o.error(o.has("hmac_key_file") && !(k && *k) ? "hmac_key_file" : "hmac_key_env",
                                   "the HMAC key must be at least 16 bytes"));
  }
  std::vector<std::string> fields = o.has("fields")
                                        ? o.strings("fields")
                                        : std::vector<std::string>{"input_ref", "output_ref", "tool_target",
                                                                   "error_code", "details"};
  std::vector<std::string> refs =
      o.has("ref_fields") ? o.strings("ref_fields") : std::vector<std::string>{"input_ref", "output_ref"};
  if (Status s = parse_paths(o, "fields", fields, st->fields); !s.ok()) return s;
  if (Status s = parse_paths(o, "ref_fields", refs, st->ref_fields); !s.ok()) return s;
  st->all_strings = o.boolean("all_strings");
  st->annotation_field = o.str("annotation_field");
  st->init();
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& redact_stage_plugin() {
  static const PluginInfo info{"redact", PluginKind::Stage,
                               "enforce the ref policy and replace secrets with keyed hashes or masks",
                               kRedactOptions, make_redact, nullptr, nullptr};
  return info;
}

}  // namespace agentlog::plugins
