// Stage `redact`: the ref policy on the values of the ref fields (input_ref, output_ref).
#include "plugins/redact/redact_stage.h"

namespace agentlog::plugins::redact_stage {

// The ref policy on one value of a ref field.
void RedactStage::ref_policy(json::Value& value, const std::string& field,
                             std::vector<std::pair<std::string, std::string>>& notes, bool& changed) {
  if (value.kind == json::Value::Kind::Null) return;
  if (value.kind != json::Value::Kind::String) {
    std::string content;
    json::serialize(value, content);
    value = json::Value::string(token(content, "ref-raw-content"));
    note(notes, field, "ref-raw-content");
    changed = true;
    return;
  }
  RefKind kind = redact::classify_ref(value.text);
  if (kind == RefKind::HashRef) return;
  if (kind == RefKind::Raw) {
    value.text = token(value.text, "ref-raw-content");
    note(notes, field, "ref-raw-content");
    changed = true;
    return;
  }
  if (kind == RefKind::UriWithSecrets) {
    redact_uri_and_rules(value.text, field, notes);
    changed = true;
    return;
  }
  std::string out;
  std::vector<std::string> hits;
  if (scrub_string(value.text, out, &hits)) {
    value.text.swap(out);
    for (auto& hit : hits) note(notes, field, hit);
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
  for (const auto& cut : cuts) std::fill(masked.begin() + cut.begin, masked.begin() + cut.end, '"');
  find_secrets(masked, found);
  std::erase_if(found, [&](const Finding& finding) {
    return is_placeholder(std::string_view(text).substr(finding.begin, finding.end - finding.begin));
  });
  struct Piece {
    size_t begin, end;
    const std::string* rule;  // null: a URI secret
  };
  std::vector<Piece> pieces;
  for (const auto& cut : cuts) {
    pieces.push_back({cut.begin, cut.end, nullptr});
    note(notes, field, cut.rule);
  }
  // A finding is kept less the URI secrets it overlaps (should a rule take a quote into a
  // value): what is left of it is still replaced.
  for (const auto& finding : found) {
    const std::string* rule = &rules.rules()[finding.rule].id;
    const size_t before = pieces.size();
    size_t at = finding.begin;
    for (const auto& cut : cuts) {  // in order, without overlaps
      if (cut.end <= at || cut.begin >= finding.end) continue;
      if (cut.begin > at) pieces.push_back({at, cut.begin, rule});
      at = std::max(at, cut.end);
    }
    if (at < finding.end) pieces.push_back({at, finding.end, rule});
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
