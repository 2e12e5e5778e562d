#include "plugins/redact/secret_rules.h"

#include <algorithm>
#include <cmath>

#include <yaml-cpp/yaml.h>

namespace agentlog::redact {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains_icase(std::string_view hay, const std::string& needle_lower) {
  if (needle_lower.size() > hay.size()) return false;
  for (size_t i = 0; i + needle_lower.size() <= hay.size(); ++i) {
    size_t k = 0;
    while (k < needle_lower.size() &&
           std::tolower(static_cast<unsigned char>(hay[i + k])) == static_cast<unsigned char>(needle_lower[k]))
      ++k;
    if (k == needle_lower.size()) return true;
  }
  return false;
}

std::string where(const std::string& origin, const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return origin;
  return origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

}  // namespace

double shannon_entropy(std::string_view s) {
  if (s.empty()) return 0;
  size_t counts[256] = {};
  for (unsigned char c : s) ++counts[c];
  double h = 0, n = static_cast<double>(s.size());
  for (size_t c : counts)
    if (c) {
      double p = c / n;
      h -= p * std::log2(p);
    }
  return h;
}

Status RuleSet::add_yaml(std::string_view yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return Status::error(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": invalid YAML: " + e.msg);
  }
  YAML::Node list = root.IsMap() ? root["rules"] : YAML::Node();
  if (!list || !list.IsSequence())
    return Status::error(where(origin, root) + ": a rule file needs a \"rules\" list");
  static const char* kKeys[] = {"id", "description", "regex", "secret_group", "keywords", "min_entropy"};
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node r = list[i];
    std::string path = "rules[" + std::to_string(i) + "]";
    if (!r.IsMap()) return Status::error(where(origin, r) + ": " + path + ": expected a mapping");
    for (auto it = r.begin(); it != r.end(); ++it) {
      std::string k = it->first.Scalar();
      if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* x) { return k == x; }) == std::end(kKeys))
        return Status::error(where(origin, it->first) + ": " + path + "." + k +
                             ": unknown key. Allowed: id, description, regex, secret_group, keywords, min_entropy");
    }
    SecretRule rule;
    try {
      if (!r["id"] || !r["regex"])
        return Status::error(where(origin, r) + ": " + path + ": id and regex are required");
      rule.id = r["id"].as<std::string>();
      rule.description = r["description"] ? r["description"].as<std::string>() : "";
      rule.pattern = r["regex"].as<std::string>();
      rule.group = r["secret_group"] ? r["secret_group"].as<int>() : 0;
      rule.min_entropy = r["min_entropy"] ? r["min_entropy"].as<double>() : 0;
      if (r["keywords"])
        for (const auto& k : r["keywords"]) rule.keywords.push_back(lower(k.as<std::string>()));
    } catch (const YAML::Exception& e) {
      return Status::error(where(origin, r) + ": " + path + ": " + e.msg);
    }
    for (const auto& existing : rules_)
      if (existing.id == rule.id)
        return Status::error(where(origin, r["id"]) + ": " + path + ".id: duplicate rule id \"" + rule.id + "\"");
    RE2::Options o;
    o.set_log_errors(false);
    rule.re = std::make_unique<RE2>(rule.pattern, o);
    if (!rule.re->ok())
      return Status::error(where(origin, r["regex"]) + ": " + path + ".regex: invalid RE2 pattern: " + rule.re->error());
    if (rule.group < 0 || rule.group > rule.re->NumberOfCapturingGroups())
      return Status::error(where(origin, r["secret_group"]) + ": " + path + ".secret_group: the regex has " +
                           std::to_string(rule.re->NumberOfCapturingGroups()) + " capture groups");
    rules_.push_back(std::move(rule));
  }
  return {};
}

Status RuleSet::compile(int64_t max_mem) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  set_ = std::make_unique<RE2::Set>(o, RE2::UNANCHORED);
  for (const auto& r : rules_) {
    std::string err;
    if (set_->Add(r.pattern, &err) < 0) return Status::error("rule \"" + r.id + "\": " + err);
  }
  if (!set_->Compile()) return Status::error("the rules do not fit in max_regex_memory; raise it");
  return {};
}

bool RuleSet::may_match(std::string_view text) const {
  if (rules_.empty()) return false;
  RE2::Set::ErrorInfo info;
  bool m = set_->Match(re2::StringPiece(text.data(), text.size()), nullptr, &info);
  // If the DFA ran out of memory the set cannot tell: answer yes so the exact scan runs.
  return m || info.kind != RE2::Set::kNoError;
}

void RuleSet::find(std::string_view text, std::vector<Finding>& out) const {
  out.clear();
  std::vector<int> matched;
  RE2::Set::ErrorInfo info;
  re2::StringPiece sp(text.data(), text.size());
  if (!set_->Match(sp, &matched, &info)) {
    if (info.kind == RE2::Set::kNoError) return;
    matched.clear();  // out of memory: run every rule on its own
    for (size_t i = 0; i < rules_.size(); ++i) matched.push_back(static_cast<int>(i));
  }
  std::sort(matched.begin(), matched.end());
  re2::StringPiece groups[16];
  for (int idx : matched) {
    const SecretRule& r = rules_[idx];
    if (!r.keywords.empty() &&
        std::none_of(r.keywords.begin(), r.keywords.end(), [&](const std::string& k) { return contains_icase(text, k); }))
      continue;
    int n = std::min(r.group + 1, 16);
    size_t pos = 0;
    while (pos <= text.size() && r.re->Match(sp, pos, text.size(), RE2::UNANCHORED, groups, n)) {
      const re2::StringPiece& g = groups[r.group];
      size_t whole_end = static_cast<size_t>(groups[0].data() - text.data()) + groups[0].size();
      if (g.data() != nullptr && !g.empty()) {
        size_t b = static_cast<size_t>(g.data() - text.data());
        std::string_view secret(g.data(), g.size());
        if (shannon_entropy(secret) >= r.min_entropy) out.push_back({b, b + g.size(), static_cast<size_t>(idx)});
      }
      // Resume after the secret, not after the whole match: most rules end with a one-byte
      // guard, and two secrets one byte apart must both be found.
      size_t whole_begin = static_cast<size_t>(groups[0].data() - text.data());
      size_t next = g.data() != nullptr && !g.empty() ? static_cast<size_t>(g.data() - text.data()) + g.size() : whole_end;
      if (next <= whole_begin) next = whole_begin + 1;
      pos = next > pos ? next : pos + 1;
    }
  }
  std::sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  // Merge overlaps: the earlier (or longer) finding absorbs the other.
  std::vector<Finding> merged;
  for (const auto& f : out) {
    if (!merged.empty() && f.begin < merged.back().end) {
      merged.back().end = std::max(merged.back().end, f.end);
      continue;
    }
    merged.push_back(f);
  }
  out.swap(merged);
}

}  // namespace agentlog::redact
