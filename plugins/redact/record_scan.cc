// Stage `redact` per record: pass 1 reads the record in place and settles most records with
// one Hyperscan scan; pass 2 parses the rest into a tree and replaces what the rules find.
#include <deque>
#include <unordered_map>

#include "plugins/redact/decoded_view.h"
#include "plugins/redact/redact_stage.h"

#include "core/hash_index.h"

namespace agentlog::plugins::redact_stage {

using redact::has_backslash_escape;
using redact::has_percent_escape;

namespace {

thread_local std::vector<std::string_view> t_scan;  // pass 1: the strings to scan
thread_local std::deque<std::string> t_views;         // pass 1: decoded views of them (stable storage)
thread_local bool t_need = false;                    // pass 1: a secret-named member was seen
// Pass 1: this worker's strings found clean in earlier records, and the strings of this
// record to add there once the whole record is found clean (with their hashes).
thread_local RedactStage::CleanStrings* t_clean = nullptr;
thread_local std::vector<std::pair<std::string_view, uint64_t>> t_fresh;
// Pass 1's findings per string, so pass 2 does not run the rules again on the same text.
// It belongs to one stage's process() call: `owner` is set while it runs (a scrub of a
// dead letter, or another redact stage, never reads another call's findings).
struct FindingsMemo {
  const void* owner = nullptr;
  bool recording = false;  // pass 1 records what it finds
  std::unordered_map<std::string, std::vector<Finding>> by_text;
};
thread_local FindingsMemo t_memo;

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

}  // namespace

// Every secret in `text`: the rules on the text itself and on its decoded views (JSON
// escapes, percent-encoding), the views' findings mapped back to the original bytes.
// Sorted, overlaps merged. `all` keeps overlaps and does not merge (redact-test).
void RedactStage::find_secrets(std::string_view text, std::vector<Finding>& found, bool all) const {
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

void RedactStage::find_secrets_uncached(std::string_view text, std::vector<Finding>& found, bool all) const {
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
    for (Finding finding : more) {
      finding.begin = view.orig_begin(finding.begin);
      finding.end = view.orig_end(finding.end);
      finding.match_begin = view.orig_begin(finding.match_begin);
      finding.match_end = view.orig_end(finding.match_end);
      found.push_back(finding);
    }
  }
  if (all || found.size() < 2) return;
  std::sort(found.begin(), found.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end != b.end ? a.end > b.end : a.rule < b.rule;
  });
  std::vector<Finding> merged;
  for (const auto& finding : found) {
    if (!merged.empty() && finding.begin < merged.back().end) {
      merged.back().end = std::max(merged.back().end, finding.end);
      continue;
    }
    merged.push_back(finding);
  }
  found.swap(merged);
}

// Would scrub_string change any of pass 1's strings? The keyword automaton and the gate pick
// the strings Hyperscan scans (one scan over those), which picks the strings the rules run on.
inline bool RedactStage::any_would_change() const {
  thread_local std::vector<uint8_t> may;
  rules.may_match_each(t_scan.data(), t_scan.size(), may);
  for (size_t i = 0; i < t_scan.size(); ++i)
    if (may[i] && would_change(t_scan[i])) return true;
  return false;
}

// Would scrub_string change `text`?
inline bool RedactStage::would_change(std::string_view text) const {
  thread_local std::vector<Finding> found;
  find_secrets(text, found);
  return std::any_of(found.begin(), found.end(),
                     [&](const Finding& f) { return !is_placeholder(text.substr(f.begin, f.end - f.begin)); });
}

// Applies the rules to one string. Returns true and fills `out` when something changed.
bool RedactStage::scrub_string(std::string_view text, std::string& out, std::vector<std::string>* hits) const {
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

StageVerdict RedactStage::process(Record& record) {
  // Pass 1, read-only: is there anything to change at all?
  t_scan.clear();
  t_views.clear();
  t_need = false;
  t_fresh.clear();
  MemoScope memo_scope(this);
  WorkerState& worker = per_worker_.local();
  struct CleanScope {  // t_clean is this call's while it runs
    explicit CleanScope(CleanStrings* clean) { t_clean = clean; }
    ~CleanScope() { t_clean = nullptr; }
  } clean_scope(&worker.clean);
  FieldSet& field_set = worker.fields;
  field_set.extract(record);
  // A duplicated member: readers differ on which one counts, so every occurrence is checked.
  bool need = record.duplicate_top_member();
  for (size_t slot : ref_slots_) {
    const auto& value = field_set[slot];
    if (!value || value->type() == element_type::NULL_VALUE) continue;
    std::string_view text;
    if (value->get(text) != simdjson::SUCCESS) {
      need = true;  // a number, object or array is content, not a ref
      continue;
    }
    RefKind kind = redact::classify_ref(text);
    if (kind == RefKind::CleanUri) append_scan(text);
    else if (kind != RefKind::HashRef) need = true;
  }
  if (!need) {
    if (all_strings) collect(record.root(), true);
    else
      for (size_t slot : field_slots_)
        if (const auto& value = field_set[slot]) collect(*value, false);
    // Each string on its own: anchors in rules must see the string's real start and end.
    // Most records: no keyword anywhere, settled in one interleaved scan.
    // A string Hyperscan cannot clear is settled by the rules themselves before the record
    // is parsed into a tree: prefiltered patterns and common keywords ("auth" in a path)
    // let many clean strings through, and the rules on one short string cost far less.
    t_memo.recording = true;
    bool clean = !t_need && !any_would_change();
    t_memo.recording = false;
    if (clean) {
      for (const auto& [text, hash] : t_fresh) worker.clean.add(text, hash);
      return StageVerdict::keep();
    }
  }
  // Pass 2, on a mutable copy: every occurrence of every field, duplicates included.
  ++worker.deep_scans;
  auto parsed = json::parse(record.bytes());
  if (!parsed) return StageVerdict::keep();
  json::Value work = std::move(*parsed);
  std::vector<std::pair<std::string, std::string>> notes;  // field, rule
  bool changed = false;
  for (const auto& field : ref_fields)
    visit_all(work, field, 0, [&](json::Value& value) { ref_policy(value, field.text, notes, changed); });
  if (all_strings) {
    scrub_value(work, "", notes, changed, true);
  } else {
    for (const auto& field : fields)
      if (!is_ref_field(field))
        visit_all(work, field, 0, [&](json::Value& value) { scrub_value(value, field.text, notes, changed, false); });
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
  if (worker.counting) {
    ++worker.records_redacted;
    for (const auto& note_entry : notes) ++worker.by_rule[note_entry.second];
  }
  return StageVerdict::keep();
}

// A string to scan in pass 1, with its decoded views when it has escapes.
// A string (with its decoded views) found clean in an earlier record is not scanned again;
// only whole raw strings are kept, never a view on its own (a view's views were not looked at).
void RedactStage::append_scan(std::string_view s) {
  if (t_clean != nullptr && s.size() <= CleanStrings::kMaxLength) {
    const uint64_t hash = hash_key(s);
    if (t_clean->has(s, hash)) return;
    t_fresh.emplace_back(s, hash);
  }
  t_scan.push_back(s);
  if (s.size() < 8) return;
  thread_local redact::DecodedView view;
  if (has_percent_escape(s) && redact::percent_decode(s, view)) t_scan.push_back(t_views.emplace_back(view.text));
  if (has_backslash_escape(s) && redact::unescape_json(s, view)) t_scan.push_back(t_views.emplace_back(view.text));
}

// Gathers the strings under `v` (member names too) into the pass-1 scan buffer; a string
// member with a secret's name (password, token, ...) needs pass 2 whatever its value.
void RedactStage::collect(element v, bool top) {
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

// The rules on every string and member name under `value`; a string member with a secret's
// name is replaced whole. `top` skips the ref fields (the ref policy handled them).
void RedactStage::scrub_value(json::Value& value, const std::string& path,
                              std::vector<std::pair<std::string, std::string>>& notes, bool& changed, bool top) {
  std::string out;
  std::vector<std::string> hits;
  switch (value.kind) {
    case json::Value::Kind::String:
      if (scrub_string(value.text, out, &hits)) {
        value.text.swap(out);
        for (auto& hit : hits) note(notes, path, hit);
        changed = true;
      }
      break;
    case json::Value::Kind::Array:
      for (size_t i = 0; i < value.items.size(); ++i)
        scrub_value(value.items[i], path.empty() ? std::to_string(i) : path + "." + std::to_string(i), notes, changed,
                    false);
      break;
    case json::Value::Kind::Object:
      for (auto& [k, child] : value.members) {
        if (top && is_top_ref(k)) continue;
        hits.clear();
        if (scrub_string(k, out, &hits)) {  // a secret used as a member name
          k.swap(out);
          for (auto& hit : hits) note(notes, path.empty() ? k : path + "." + k, hit);
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

}  // namespace agentlog::plugins::redact_stage
