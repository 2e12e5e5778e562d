// Stage `redact` on text bound for the dead-letter output (Stage::scrub).
#include "plugins/redact/redact_stage.h"

namespace agentlog::plugins::redact_stage {

// Dead letters get the same treatment as records, and more: a text that parses as a JSON
// object goes through process() (ref policy and rules on the configured fields), then the
// rules run on every string in it; any other text (a malformed line, a reason) is scanned
// as it is.
void RedactStage::scrub(std::string& text) {
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
void RedactStage::scrub_raw(std::string& text) const {
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
    for (const auto& finding : found)
      if (!is_placeholder(view.substr(finding.begin, finding.end - finding.begin)))
        secrets.emplace_back(std::string(view.substr(finding.begin, finding.end - finding.begin)), finding.rule);
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
std::string RedactStage::mask_invalid_utf8(std::string s) {
  for (size_t at = json::find_invalid_utf8(s); at != std::string_view::npos;) {
    s[at] = ' ';
    size_t next = json::find_invalid_utf8(std::string_view(s).substr(at + 1));
    at = next == std::string_view::npos ? next : at + 1 + next;
  }
  return s;
}

// Decodes JSON string escapes anywhere in `s`, leaving everything else as it is.
std::string RedactStage::unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 >= text.size()) {
      out.push_back(text[i]);
      continue;
    }
    char c = text[++i];
    switch (c) {
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'u':
        if (i + 4 < text.size()) {
          auto decoded = json::parse("\"\\u" + std::string(text.substr(i + 1, 4)) + "\"");
          if (decoded) {
            out += decoded->text;
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

}  // namespace agentlog::plugins::redact_stage
