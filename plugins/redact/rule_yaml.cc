// agentlog's own YAML rule files (rules/secrets.yaml and `rule_files:`).
#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "core/options.h"
#include "plugins/redact/secret_rules.h"

namespace agentlog::redact {
namespace {

std::string where(const std::string& origin, const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return origin;
  return origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

constexpr const char* kKeys[] = {"id",         "description",   "regex",         "secret_group",
                                 "keywords",   "min_entropy",   "min_length",    "stopwords",
                                 "allow_regexes", "allow_match_regexes", "allow_line_regexes"};
constexpr const char* kAllowed =
    "id, description, regex, secret_group, keywords, min_entropy, min_length, stopwords, allow_regexes, "
    "allow_match_regexes, allow_line_regexes";

}  // namespace

Status RuleSet::add_yaml(std::string_view yaml_text, const std::string& origin) {
  YAML::Node root;
  if (Status st = parse_yaml(std::string(yaml_text), origin, root); !st.ok()) return st;
  YAML::Node list = root.IsMap() ? root["rules"] : YAML::Node();
  if (!list || !list.IsSequence())
    return Status::error(where(origin, root) + ": a rule file needs a \"rules\" list");
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node r = list[i];
    std::string path = "rules[" + std::to_string(i) + "]";
    if (!r.IsMap()) return Status::error(where(origin, r) + ": " + path + ": expected a mapping");
    for (auto it = r.begin(); it != r.end(); ++it) {
      std::string k = it->first.Scalar();
      if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* x) { return k == x; }) == std::end(kKeys))
        return Status::error(where(origin, it->first) + ": " + path + "." + k + ": unknown key. Allowed: " + kAllowed);
    }
    SecretRule rule;
    Allowlist allow, allow_match, allow_line;
    allow_match.target = AllowTarget::Match;
    allow_line.target = AllowTarget::Line;
    try {
      if (!r["id"] || !r["regex"])
        return Status::error(where(origin, r) + ": " + path + ": id and regex are required");
      rule.id = r["id"].as<std::string>();
      rule.description = r["description"] ? r["description"].as<std::string>() : "";
      rule.pattern = r["regex"].as<std::string>();
      rule.group = r["secret_group"] ? r["secret_group"].as<int>() : 0;
      rule.min_entropy = r["min_entropy"] ? r["min_entropy"].as<double>() : 0;
      rule.min_length = r["min_length"] ? r["min_length"].as<size_t>() : 0;
      if (r["keywords"])
        for (const auto& k : r["keywords"]) rule.keywords.push_back(lower_ascii(k.as<std::string>()));
      if (r["stopwords"])
        for (const auto& k : r["stopwords"]) allow.stopwords.push_back(lower_ascii(k.as<std::string>()));
      for (auto [key, list] : {std::pair<const char*, Allowlist*>{"allow_regexes", &allow},
                               {"allow_match_regexes", &allow_match},
                               {"allow_line_regexes", &allow_line}}) {
        if (!r[key]) continue;
        for (const auto& k : r[key]) {
          RE2::Options o;
          o.set_log_errors(false);
          auto re = std::make_unique<RE2>(k.as<std::string>(), o);
          if (!re->ok())
            return Status::error(where(origin, k) + ": " + path + "." + key + ": invalid RE2 pattern: " + re->error());
          list->regexes.push_back(std::move(re));
        }
      }
    } catch (const YAML::Exception& e) {
      return Status::error(where(origin, r) + ": " + path + ": " + e.msg);
    }
    if (!allow.stopwords.empty() || !allow.regexes.empty()) rule.allowlists.push_back(std::move(allow));
    if (!allow_match.regexes.empty()) rule.allowlists.push_back(std::move(allow_match));
    if (!allow_line.regexes.empty()) rule.allowlists.push_back(std::move(allow_line));
    if (rule_by_id(rule.id) != nullptr)
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

}  // namespace agentlog::redact
