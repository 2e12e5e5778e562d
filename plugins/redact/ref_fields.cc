// Stage `redact`: the ref policy on the values of the ref fields (input_ref, output_ref).
#include "plugins/redact/redact_stage.h"

namespace agentlog::plugins::redact_stage {

// The ref policy on one value of a ref field.
void RedactStage::ref_policy(json::Value& v, const std::string& field,
                             std::vector<std::pair<std::string, std::string>>& notes, bool& changed) {
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
void RedactStage::redact_uri_and_rules(std::string& text, const std::string& field,
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

}  // namespace agentlog::plugins::redact_stage
