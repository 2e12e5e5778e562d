// Stage `redact`'s stage class, shared by the files that implement it: redact.cc (options,
// rule loading, config binding, stats), record_scan.cc (the per-record two-pass scan and
// replace), ref_fields.cc (the ref policy on ref fields), dead_letter_scrub.cc (dead letters)
// and explain.cc (`agentlog redact-test`). Small helpers stay inline here.
#pragma once
#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/field_path.h"
#include "core/hashing.h"
#include "core/worker_slots.h"
#include "plugins/redact/redact.h"
#include "plugins/redact/ref_policy.h"
#include "plugins/redact/secret_rules.h"

namespace agentlog::plugins::redact_stage {

using redact::Finding;
using redact::RefKind;
using simdjson::dom::element;
using simdjson::dom::element_type;

class RedactStage : public RecordStage, public RedactExplainer {
 public:
  enum class Mode : uint8_t { Hmac, Sha256, Mask };  // in kModes' order: RedactConfig binds it

  redact::RuleSet rules;
  Mode mode = Mode::Hmac;
  std::string key;
  HmacSha256 hmac;  // keyed with `key` once
  std::vector<FieldPath> ref_fields, fields;
  bool all_strings = false;
  std::string annotation_field;
  FieldSet field_set_;  // configured; each worker reads records with its own copy
  std::vector<size_t> ref_slots_, field_slots_;
  // Strings pass 1 found clean, by content: agent logs repeat their paths, commands and
  // messages, and a string these rules cleared once is clean again. Direct-mapped; a slot
  // keeps its string, so a hash collision costs a miss, never a wrong answer.
  class CleanStrings {
   public:
    static constexpr size_t kSlots = 4096;     // per worker: at most kSlots * kMaxLength bytes
    static constexpr size_t kMaxLength = 256;  // longer strings are rarely repeated
    bool has(std::string_view text, uint64_t hash) const {
      if (slots_.empty()) return false;
      const Slot& slot = slots_[hash & (kSlots - 1)];
      return slot.hash == hash && slot.text == text;
    }
    void add(std::string_view text, uint64_t hash) {
      if (text.size() > kMaxLength) return;
      if (slots_.empty()) slots_.resize(kSlots);
      Slot& slot = slots_[hash & (kSlots - 1)];
      slot.hash = hash;
      slot.text.assign(text);
    }

   private:
    struct Slot {
      uint64_t hash = 0;
      std::string text;
    };
    std::vector<Slot> slots_;
  };
  // One worker's scratch and counters (the parallel runner redacts on several threads).
  struct WorkerState {
    CleanStrings clean;
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

  // record_scan.cc
  void find_secrets(std::string_view text, std::vector<Finding>& found, bool all = false) const;
  void find_secrets_uncached(std::string_view text, std::vector<Finding>& found, bool all = false) const;
  // Inline, defined in record_scan.cc: only process() calls them, and they were inlined into it.
  inline bool any_would_change() const;
  inline bool would_change(std::string_view text) const;
  bool scrub_string(std::string_view text, std::string& out, std::vector<std::string>* hits) const;
  StageVerdict process(Record& record) override;

  // dead_letter_scrub.cc
  void scrub(std::string& text) override;
  void scrub_raw(std::string& text) const;
  static std::string mask_invalid_utf8(std::string s);
  static std::string unescape(std::string_view text);

  // redact.cc
  void init();
  std::string stats_json() const override;

  // explain.cc
  void explain(std::string_view line, std::vector<RedactFinding>& out) const override;

 private:
  bool is_ref_field(const FieldPath& f) const {
    for (const auto& r : ref_fields)
      if (r.parts == f.parts) return true;
    return false;
  }

  // record_scan.cc
  static void append_scan(std::string_view s);
  void collect(element v, bool top);
  void scrub_value(json::Value& value, const std::string& path, std::vector<std::pair<std::string, std::string>>& notes,
                   bool& changed, bool top);

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

  // ref_fields.cc
  void ref_policy(json::Value& value, const std::string& field, std::vector<std::pair<std::string, std::string>>& notes,
                  bool& changed);
  void redact_uri_and_rules(std::string& text, const std::string& field,
                            std::vector<std::pair<std::string, std::string>>& notes) const;

  // explain.cc
  void explain_string(std::string_view text, const std::string& field, std::vector<RedactFinding>& out) const;
  void explain_ref(json::Value& v, const std::string& field, std::vector<RedactFinding>& out) const;
  void explain_value(json::Value& v, const std::string& path, std::vector<RedactFinding>& out, bool top) const;

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

}  // namespace agentlog::plugins::redact_stage
