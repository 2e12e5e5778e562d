#include "plugins/redact/redact.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <deque>
#include <map>
#include <sstream>
#include <unordered_map>

#include "core/embedded_files.h"
#include "core/field_path.h"
#include "core/hashing.h"
#include "core/worker_slots.h"
#include "plugins/redact/decoded_view.h"
#include "plugins/redact/ref_policy.h"
#include "plugins/redact/secret_rules.h"

namespace agentlog::plugins {
namespace {

using redact::Finding;
using redact::has_backslash_escape;
using redact::has_percent_escape;
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
    {.name = "rule_files", .type = OptType::StringList,
     .description = "extra rule files, added to the built-in set: agentlog YAML, or gitleaks TOML when the name ends in .toml"},
    {.name = "rules_file", .type = OptType::String,
     .description = "a gitleaks config file (TOML, gitleaks' format as is), added to the built-in set"},
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
thread_local std::deque<std::string> t_views;         // pass 1: decoded views of them (stable storage)
thread_local bool t_need = false;                    // pass 1: a secret-named member was seen
// Pass 1's findings per string, so pass 2 does not run the rules again on the same text.
// It belongs to one stage's process() call: `owner` is set while it runs (a scrub of a
// dead letter, or another redact stage, never reads another call's findings).
struct FindingsMemo {
  const void* owner = nullptr;
  bool recording = false;  // pass 1 records what it finds
  std::unordered_map<std::string, std::vector<Finding>> by_text;
};
thread_local FindingsMemo t_memo;

class RedactStage : public Stage, public RedactExplainer {
 public:
  redact::RuleSet rules;
  Mode mode = Mode::Hmac;
  std::string key;
  HmacSha256 hmac;  // keyed with `key` once
  std::vector<FieldPath> ref_fields, fields;
  bool all_strings = false;
  std::string annotation_field;
  FieldSet field_set_;  // configured; each worker reads records with its own copy
  std::vector<size_t> ref_slots_, field_slots_;
  // One worker's scratch and counters (the parallel runner redacts on several threads).
  struct WorkerState {
    FieldSet fields;  // a copy of field_set_
    // Counters: by rule id (including the ref-* policy ids), records edited, and records
    // the cheap first pass could not clear.
    std::map<std::string, uint64_t> by_rule;
    uint64_t records_redacted = 0, deep_scans = 0;
    bool counting = true;  // off while scrubbing dead letters
  };
  PerWorker<WorkerState> per_worker_;

  std::string token(std::string_view secret, std::string_view rule) const {
    switch (mode) {
      case Mode::Hmac: {
        std::string out = "hmac-sha256:";
        hmac.append_hex(out, secret);
        return out;
      }
      case Mode::Sha256: return "sha256:" + sha256_hex(secret);
      case Mode::Mask: return "[REDACTED:" + std::string(rule) + "]";
    }
    return {};
  }
  // Inside URIs a token must stay a valid URI component.
  std::string uri_token(std::string_view secret) const {
    switch (mode) {
      case Mode::Hmac: {
        std::string out = "redacted-hmac-sha256-";
        hmac.append_hex(out, secret);
        return out;
      }
      case Mode::Sha256: return "redacted-sha256-" + sha256_hex(secret);
      case Mode::Mask: return "REDACTED";
    }
    return {};
  }

  // A replacement this stage (or an earlier run of it) wrote is not a secret.
  static bool is_placeholder(std::string_view s) {
    return s == "REDACTED" || s.starts_with("redacted-") || s.starts_with("[REDACTED:") || redact::is_hash_ref(s);
  }

  // Every secret in `text`: the rules on the text itself and on its decoded views (JSON
  // escapes, percent-encoding), the views' findings mapped back to the original bytes.
  // Sorted, overlaps merged. `all` keeps overlaps and does not merge (redact-test).
  void find_secrets(std::string_view text, std::vector<Finding>& found, bool all = false) const {
    if (all || t_memo.owner != this) {
      find_secrets_uncached(text, found, all);
      return;
    }
    if (auto it = t_memo.by_text.find(std::string(text)); it != t_memo.by_text.end()) {
      found = it->second;
      return;
    }
    find_secrets_uncached(text, found);
    if (t_memo.recording) t_memo.by_text.emplace(std::string(text), found);
  }

  // Makes t_memo this call's for the length of one process() call.
  struct MemoScope {
    explicit MemoScope(const void* owner) {
      t_memo.owner = owner;
      t_memo.recording = false;
      t_memo.by_text.clear();
    }
    ~MemoScope() {
      t_memo.owner = nullptr;
      t_memo.recording = false;
      t_memo.by_text.clear();
    }
  };

  void find_secrets_uncached(std::string_view text, std::vector<Finding>& found, bool all = false) const {
    if (all) rules.find_all(text, found);
    else rules.find(text, found);
    bool pct = has_percent_escape(text), esc = has_backslash_escape(text);
    if (!pct && !esc) return;
    thread_local redact::DecodedView view;
    thread_local std::vector<Finding> more;
    for (int k = 0; k < 2; ++k) {
      if (k == 0 ? !pct || !redact::percent_decode(text, view) : !esc || !redact::unescape_json(text, view)) continue;
      if (!rules.may_match(view.text)) continue;  // Hyperscan clears most decoded texts at once
      rules.find_all(view.text, more);
      for (Finding f : more) {
        f.begin = view.orig_begin(f.begin);
        f.end = view.orig_end(f.end);
        f.match_begin = view.orig_begin(f.match_begin);
        f.match_end = view.orig_end(f.match_end);
        found.push_back(f);
      }
    }
    if (all || found.size() < 2) return;
    std::sort(found.begin(), found.end(), [](const Finding& a, const Finding& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end != b.end ? a.end > b.end : a.rule < b.rule;
    });
    std::vector<Finding> merged;
    for (const auto& f : found) {
      if (!merged.empty() && f.begin < merged.back().end) {
        merged.back().end = std::max(merged.back().end, f.end);
        continue;
      }
      merged.push_back(f);
    }
    found.swap(merged);
  }

  // Would scrub_string change any of pass 1's strings? Hyperscan's one scan over all of them
  // picks the strings the rules then run on.
  bool any_would_change() const {
    thread_local std::vector<uint8_t> may;
    rules.may_match_each(t_scan.data(), t_scan.size(), may);
    for (size_t i = 0; i < t_scan.size(); ++i)
      if (may[i] && would_change(t_scan[i])) return true;
    return false;
  }

  // Would scrub_string change `text`?
  bool would_change(std::string_view text) const {
    thread_local std::vector<Finding> found;
    find_secrets(text, found);
    return std::any_of(found.begin(), found.end(),
                       [&](const Finding& f) { return !is_placeholder(text.substr(f.begin, f.end - f.begin)); });
  }

  // Applies the rules to one string. Returns true and fills `out` when something changed.
  bool scrub_string(std::string_view text, std::string& out, std::vector<std::string>* hits) const {
    thread_local std::vector<Finding> found;
    find_secrets(text, found);
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
    Record tmp;
    tmp.reset_owned(text);
    if (text.find('{') != std::string::npos && tmp.parse() == simdjson::SUCCESS &&
        tmp.root().type() == element_type::OBJECT) {
      WorkerState& w = per_worker_.local();
      w.counting = false;
      process(tmp);
      w.counting = true;
      // Then every string and key, whatever the configured fields.
      if (auto tree = json::parse(tmp.bytes())) {
        std::vector<std::pair<std::string, std::string>> notes;
        bool changed = false;
        scrub_value(*tree, "", notes, changed, false);
        std::string out;
        json::serialize(*tree, out);
        text = std::move(out);
        return;
      }
    }
    scrub_raw(text);
  }

  // A text that is not a JSON object (a malformed line, an over-long prefix, a reason). Rules
  // see it three ways: as it is, with JSON escapes decoded, and one quoted string at a time
  // (so rules anchored at a value's start still fire). Each secret found is then replaced
  // wherever it occurs, as is or JSON-escaped.
  void scrub_raw(std::string& text) const {
    // Quoted strings first: one whose decoded text holds a secret is rewritten whole, so
    // no escape form (\u0041KIA..., \/) can hide the secret from the replacement below.
    {
      std::string out;
      out.reserve(text.size());
      size_t at = 0;
      for (size_t i = 0; i < text.size();) {
        size_t q = text.find('"', i);
        if (q == std::string::npos) break;
        size_t e = q + 1;
        while (e < text.size() && text[e] != '"') e += text[e] == '\\' ? 2 : 1;
        size_t end = std::min(e, text.size());
        std::string decoded = mask_invalid_utf8(unescape(std::string_view(text).substr(q + 1, end - q - 1)));
        std::string scrubbed;
        if (scrub_string(decoded, scrubbed, nullptr)) {
          out.append(text, at, q + 1 - at);
          json::append_escaped(out, scrubbed);
          at = end;
        }
        i = end + 1;
      }
      if (at > 0) {
        out.append(text, at, std::string::npos);
        text = std::move(out);
      }
    }
    std::vector<std::pair<std::string, size_t>> secrets;  // secret, rule
    std::vector<Finding> found;
    auto collect = [&](std::string_view view) {
      rules.find(view, found);
      for (const auto& f : found)
        if (!is_placeholder(view.substr(f.begin, f.end - f.begin)))
          secrets.emplace_back(std::string(view.substr(f.begin, f.end - f.begin)), f.rule);
    };
    // Invalid UTF-8 is masked by spaces (same length) so it cannot hide an adjacent secret.
    std::string masked = mask_invalid_utf8(text);
    collect(masked);
    collect(unescape(masked));
    if (secrets.empty()) return;
    // Replaced in the masked text: a finding that spans a masked byte is not in `text`.
    text = std::move(masked);
    // Longest first, so a secret inside a longer one does not leave the rest behind.
    std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (const auto& [secret, rule] : secrets) {
      std::string tok = token(secret, rules.rules()[rule].id);
      std::string escaped;
      json::append_escaped(escaped, secret);
      for (const std::string& form : {secret, escaped}) {
        if (form.empty()) continue;
        for (size_t at = text.find(form); at != std::string::npos; at = text.find(form, at + tok.size())) text.replace(at, form.size(), tok);
      }
    }
  }

  // Invalid UTF-8 bytes become spaces; offsets stay the same.
  static std::string mask_invalid_utf8(std::string s) {
    for (size_t at = json::find_invalid_utf8(s); at != std::string_view::npos;) {
      s[at] = ' ';
      size_t next = json::find_invalid_utf8(std::string_view(s).substr(at + 1));
      at = next == std::string_view::npos ? next : at + 1 + next;
    }
    return s;
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
    per_worker_ = PerWorker<WorkerState>(WorkerState{field_set_});
  }

  StageVerdict process(Record& record) override {
    // Pass 1, read-only: is there anything to change at all?
    t_scan.clear();
    t_views.clear();
    t_need = false;
    MemoScope memo_scope(this);
    WorkerState& w = per_worker_.local();
    FieldSet& field_set = w.fields;
    field_set.extract(record);
    // A duplicated member: readers differ on which one counts, so every occurrence is checked.
    bool need = record.duplicate_top_member();
    for (size_t slot : ref_slots_) {
      const auto& v = field_set[slot];
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
      if (all_strings) collect(record.root(), true);
      else
        for (size_t slot : field_slots_)
          if (const auto& v = field_set[slot]) collect(*v, false);
      // Each string on its own: anchors in rules must see the string's real start and end.
      // Most records: no keyword anywhere, settled in one interleaved scan.
      // A string Hyperscan cannot clear is settled by the rules themselves before the record
      // is parsed into a tree: prefiltered patterns and common keywords ("auth" in a path)
      // let many clean strings through, and the rules on one short string cost far less.
      t_memo.recording = true;
      bool clean = !t_need && (!rules.may_match_any(t_scan.data(), t_scan.size()) || !any_would_change());
      t_memo.recording = false;
      if (clean) return StageVerdict::keep();
    }
    // Pass 2, on a mutable copy: every occurrence of every field, duplicates included.
    ++w.deep_scans;
    auto parsed = json::parse(record.bytes());
    if (!parsed) return StageVerdict::keep();
    json::Value work = std::move(*parsed);
    std::vector<std::pair<std::string, std::string>> notes;  // field, rule
    bool changed = false;
    for (const auto& f : ref_fields)
      visit_all(work, f, 0, [&](json::Value& v) { ref_policy(v, f.text, notes, changed); });
    if (all_strings) {
      scrub_value(work, "", notes, changed, true);
    } else {
      for (const auto& f : fields)
        if (!is_ref_field(f)) visit_all(work, f, 0, [&](json::Value& v) { scrub_value(v, f.text, notes, changed, false); });
    }
    if (!changed) return StageVerdict::keep();
    record.replace_tree(std::move(work));
    if (!annotation_field.empty()) {
      std::string arr = "[";
      for (size_t i = 0; i < notes.size(); ++i) {
        if (i) arr += ",";
        arr += "{\"field\":" + json::quoted(notes[i].first) + ",\"rule\":" + json::quoted(notes[i].second) + "}";
      }
      record.set_member_raw(annotation_field, arr + "]");
    }
    if (w.counting) {
      ++w.records_redacted;
      for (const auto& n : notes) ++w.by_rule[n.second];
    }
    return StageVerdict::keep();
  }

  void explain(std::string_view line, std::vector<RedactFinding>& out) const override {
    auto parsed = json::parse(line);
    if (!parsed || parsed->kind != json::Value::Kind::Object) {
      explain_string(line, "(line)", out);
      return;
    }
    json::Value work = std::move(*parsed);
    for (const auto& f : ref_fields) visit_all(work, f, 0, [&](json::Value& v) { explain_ref(v, f.text, out); });
    if (all_strings) {
      explain_value(work, "", out, true);
    } else {
      for (const auto& f : fields)
        if (!is_ref_field(f)) visit_all(work, f, 0, [&](json::Value& v) { explain_value(v, f.text, out, false); });
    }
  }

  std::string stats_json() const override {
    std::map<std::string, uint64_t> by_rule;
    per_worker_.each([&](const WorkerState& w) {
      for (const auto& [k, v] : w.by_rule) by_rule[k] += v;
    });
    std::string o = "\"records_redacted\":" + std::to_string(per_worker_.sum(&WorkerState::records_redacted)) +
                    ",\"deep_scans\":" + std::to_string(per_worker_.sum(&WorkerState::deep_scans)) + ",\"by_rule\":{";
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

  // A string to scan in pass 1, with its decoded views when it has escapes.
  static void append_scan(std::string_view s) {
    t_scan.push_back(s);
    if (s.size() < 8) return;
    thread_local redact::DecodedView view;
    if (has_percent_escape(s) && redact::percent_decode(s, view)) t_scan.push_back(t_views.emplace_back(view.text));
    if (has_backslash_escape(s) && redact::unescape_json(s, view)) t_scan.push_back(t_views.emplace_back(view.text));
  }

  // Gathers the strings under `v` (member names too) into the pass-1 scan buffer; a string
  // member with a secret's name (password, token, ...) needs pass 2 whatever its value.
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
          if (top && is_top_ref(field.key)) continue;
          append_scan(field.key);
          std::string_view s;
          if (secret_member_name(field.key) && field.value.get(s) == simdjson::SUCCESS && is_secret_value(s)) t_need = true;
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

  static void note(std::vector<std::pair<std::string, std::string>>& notes, std::string field, std::string rule) {
    for (const auto& n : notes)
      if (n.first == field && n.second == rule) return;
    notes.emplace_back(std::move(field), std::move(rule));
  }

  // Calls fn on every value at `path`: all members of a duplicated name, at every level.
  template <typename Fn>
  static void visit_all(json::Value& v, const FieldPath& path, size_t i, Fn&& fn) {
    if (i == path.parts.size()) {
      fn(v);
      return;
    }
    const std::string& seg = path.parts[i];
    if (v.kind == json::Value::Kind::Object) {
      for (auto& [k, child] : v.members)
        if (k == seg) visit_all(child, path, i + 1, fn);
    } else if (v.kind == json::Value::Kind::Array) {
      size_t idx = 0;
      auto r = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
      if (r.ec == std::errc() && r.ptr == seg.data() + seg.size() && idx < v.items.size()) visit_all(v.items[idx], path, i + 1, fn);
    }
  }

  // The ref policy on one value of a ref field.
  void ref_policy(json::Value& v, const std::string& field, std::vector<std::pair<std::string, std::string>>& notes,
                  bool& changed) {
    if (v.kind == json::Value::Kind::Null) return;
    if (v.kind != json::Value::Kind::String) {
      std::string content;
      json::serialize(v, content);
      v = json::Value::string(token(content, "ref-raw-content"));
      note(notes, field, "ref-raw-content");
      changed = true;
      return;
    }
    RefKind k = redact::classify_ref(v.text);
    if (k == RefKind::HashRef) return;
    if (k == RefKind::Raw) {
      v.text = token(v.text, "ref-raw-content");
      note(notes, field, "ref-raw-content");
      changed = true;
      return;
    }
    if (k == RefKind::UriWithSecrets) {
      redact_uri_and_rules(v.text, field, notes);
      changed = true;
      return;
    }
    std::string out;
    std::vector<std::string> hits;
    if (scrub_string(v.text, out, &hits)) {
      v.text.swap(out);
      for (auto& h : hits) note(notes, field, h);
      changed = true;
    }
  }

  // A URI with secret parts: the URI's own secrets (password, secret parameters, webhook
  // path) and the rules' findings, both on the URI as written, replaced in one pass. (Running
  // the rules after the URI's secrets were replaced would run them over the replacements.)
  // The URI's structure bounds its secrets: `password=hunter2&next=%2Fdash` loses hunter2
  // only, and a secret in the next parameter is still found.
  void redact_uri_and_rules(std::string& text, const std::string& field,
                            std::vector<std::pair<std::string, std::string>>& notes) const {
    thread_local std::vector<redact::UriSecret> cuts;
    thread_local std::vector<Finding> found;
    thread_local std::string masked;
    redact::uri_secret_spans(text, cuts);
    // The rules see the URI with its own secrets blanked out by quote characters, which no
    // rule takes into a value: a rule cannot run a value through one of them into the next
    // part (`pwd=9xK2&x=AKIA...` would make `9xK2&x=AKIA...` one value), and what follows
    // is found on its own. Offsets stay those of `text`.
    masked = text;
    for (const auto& c : cuts) std::fill(masked.begin() + c.begin, masked.begin() + c.end, '"');
    find_secrets(masked, found);
    std::erase_if(found, [&](const Finding& f) { return is_placeholder(std::string_view(text).substr(f.begin, f.end - f.begin)); });
    struct Piece {
      size_t begin, end;
      const std::string* rule;  // null: a URI secret
    };
    std::vector<Piece> pieces;
    for (const auto& c : cuts) {
      pieces.push_back({c.begin, c.end, nullptr});
      note(notes, field, c.rule);
    }
    // A finding is kept less the URI secrets it overlaps (should a rule take a quote into a
    // value): what is left of it is still replaced.
    for (const auto& f : found) {
      const std::string* rule = &rules.rules()[f.rule].id;
      const size_t before = pieces.size();
      size_t at = f.begin;
      for (const auto& c : cuts) {  // in order, without overlaps
        if (c.end <= at || c.begin >= f.end) continue;
        if (c.begin > at) pieces.push_back({at, c.begin, rule});
        at = std::max(at, c.end);
      }
      if (at < f.end) pieces.push_back({at, f.end, rule});
      if (pieces.size() > before) note(notes, field, *rule);
    }
    std::stable_sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) { return a.begin < b.begin; });
    std::string out;
    size_t at = 0;
    for (size_t i = 0; i < pieces.size();) {
      size_t b = pieces[i].begin, e = pieces[i].end;
      bool uri = pieces[i].rule == nullptr;
      const std::string* rule = pieces[i].rule;
      for (++i; i < pieces.size() && pieces[i].begin < e; ++i) {
        e = std::max(e, pieces[i].end);
        uri = uri || pieces[i].rule == nullptr;
        if (!rule) rule = pieces[i].rule;
      }
      std::string_view secret = std::string_view(text).substr(b, e - b);
      out.append(text, at, b - at);
      out += uri ? uri_token(secret) : token(secret, *rule);
      at = e;
    }
    out.append(text, at, std::string::npos);
    text.swap(out);
  }

  // The rules on every string and member name under `v`; a string member with a secret's
  // name is replaced whole. `top` skips the ref fields (the ref policy handled them).
  void scrub_value(json::Value& v, const std::string& path, std::vector<std::pair<std::string, std::string>>& notes,
                   bool& changed, bool top) {
    std::string out;
    std::vector<std::string> hits;
    switch (v.kind) {
      case json::Value::Kind::String:
        if (scrub_string(v.text, out, &hits)) {
          v.text.swap(out);
          for (auto& h : hits) note(notes, path, h);
          changed = true;
        }
        break;
      case json::Value::Kind::Array:
        for (size_t i = 0; i < v.items.size(); ++i)
          scrub_value(v.items[i], path.empty() ? std::to_string(i) : path + "." + std::to_string(i), notes, changed, false);
        break;
      case json::Value::Kind::Object:
        for (auto& [k, child] : v.members) {
          if (top && is_top_ref(k)) continue;
          hits.clear();
          if (scrub_string(k, out, &hits)) {  // a secret used as a member name
            k.swap(out);
            for (auto& h : hits) note(notes, path.empty() ? k : path + "." + k, h);
            changed = true;
          }
          std::string child_path = path.empty() ? k : path + "." + k;
          if (child.kind == json::Value::Kind::String && secret_member_name(k) && is_secret_value(child.text)) {
            child.text = token(child.text, "json-secret-member");
            note(notes, child_path, "json-secret-member");
            changed = true;
            continue;
          }
          scrub_value(child, child_path, notes, changed, false);
        }
        break;
      default: break;
    }
  }

  void explain_string(std::string_view text, const std::string& field, std::vector<RedactFinding>& out) const {
    thread_local std::vector<Finding> found;
    find_secrets(text, found, true);
    std::sort(found.begin(), found.end(), [](const Finding& a, const Finding& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end != b.end ? a.end < b.end : a.rule < b.rule;
    });
    found.erase(std::unique(found.begin(), found.end(),
                            [](const Finding& a, const Finding& b) { return a.begin == b.begin && a.end == b.end && a.rule == b.rule; }),
                found.end());
    for (const auto& f : found)
      if (!is_placeholder(text.substr(f.begin, f.end - f.begin))) out.push_back({field, f.begin, f.end, rules.rules()[f.rule].id});
  }

  void explain_ref(json::Value& v, const std::string& field, std::vector<RedactFinding>& out) const {
    if (v.kind == json::Value::Kind::Null) return;
    if (v.kind != json::Value::Kind::String) {
      out.push_back({field, 0, 0, "ref-raw-content"});
      return;
    }
    RefKind k = redact::classify_ref(v.text);
    if (k == RefKind::HashRef) return;
    if (k == RefKind::Raw) {
      out.push_back({field, 0, v.text.size(), "ref-raw-content"});
      return;
    }
    if (k == RefKind::UriWithSecrets) {
      std::vector<std::string> what;
      std::vector<std::pair<size_t, size_t>> spans;
      redact::redact_uri(v.text, [&](std::string_view s) {
        size_t b = static_cast<size_t>(s.data() - v.text.data());
        spans.emplace_back(b, b + s.size());
        return std::string();
      }, what);
      for (size_t i = 0; i < spans.size() && i < what.size(); ++i) out.push_back({field, spans[i].first, spans[i].second, what[i]});
    }
    explain_string(v.text, field, out);
  }

  void explain_value(json::Value& v, const std::string& path, std::vector<RedactFinding>& out, bool top) const {
    switch (v.kind) {
      case json::Value::Kind::String: explain_string(v.text, path, out); break;
      case json::Value::Kind::Array:
        for (size_t i = 0; i < v.items.size(); ++i)
          explain_value(v.items[i], path.empty() ? std::to_string(i) : path + "." + std::to_string(i), out, false);
        break;
      case json::Value::Kind::Object:
        for (auto& [k, child] : v.members) {
          if (top && is_top_ref(k)) continue;
          std::string child_path = path.empty() ? k : path + "." + k;
          explain_string(k, child_path + " (name)", out);
          if (child.kind == json::Value::Kind::String && secret_member_name(k) && is_secret_value(child.text)) {
            out.push_back({child_path, 0, child.text.size(), "json-secret-member"});
            continue;
          }
          explain_value(child, child_path, out, false);
        }
        break;
      default: break;
    }
  }

  // A value worth hiding: not empty and not already a placeholder.
  static bool is_secret_value(std::string_view s) { return !s.empty() && !is_placeholder(s); }

  // Member names that say their value is a secret: the name, or its last `_`/`-`/`.` part
  // run, ends in one of these (case-insensitive): password, token, secret, api_key, ...
  static bool secret_member_name(std::string_view key) {
    static constexpr std::string_view kNames[] = {
        "password", "passwd", "passphrase", "pwd", "secret", "token", "apikey", "api_key", "api-key",
        "secret_key", "secretkey", "secret-key", "private_key", "privatekey", "private-key", "access_key",
        "accesskey", "access-key", "credential", "credentials", "authorization", "auth", "client_secret"};
    if (key.size() < 3 || key.size() > 64) return false;
    char buf[64];
    for (size_t i = 0; i < key.size(); ++i) buf[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(key[i])));
    std::string_view k(buf, key.size());
    for (std::string_view n : kNames) {
      if (k.size() < n.size() || k.substr(k.size() - n.size()) != n) continue;
      if (k.size() == n.size()) return true;
      char before = k[k.size() - n.size() - 1];
      if (before == '_' || before == '-' || before == '.') return true;
    }
    return false;
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
    if (s.ok()) s = file.ends_with(".toml") ? st->rules.add_gitleaks_toml(text, file) : st->rules.add_yaml(text, file);
    if (!s.ok()) return Status::error(o.error("rule_files", s.message()));
  }
  if (o.has("rules_file")) {
    std::string file = o.str("rules_file"), text;
    Status s = read_text(file, text);
    if (s.ok()) s = st->rules.add_gitleaks_toml(text, file);
    if (!s.ok()) return Status::error(o.error("rules_file", s.message()));
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
    st->hmac = HmacSha256(st->key);
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
