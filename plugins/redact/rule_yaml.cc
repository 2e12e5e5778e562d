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

Status RuleSet::add_yaml(std::string_view yaml_text, const std::string& origin, bool built_in) {
  YAML::Node root;
  if (Status status = parse_yaml(std::string(yaml_text), origin, root); !status.ok()) return status;
  YAML::Node list = root.IsMap() ? root["rules"] : YAML::Node();
  if (!list || !list.IsSequence())
    return Status::error(where(origin, root) + ": a rule file needs a \"rules\" list");
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node entry = list[i];
    std::string path = "rules[" + std::to_string(i) + "]";
    if (!entry.IsMap()) return Status::error(where(origin, entry) + ": " + path + ": expected a mapping");
    for (auto it = entry.begin(); it != entry.end(); ++it) {
      std::string key_name = it->first.Scalar();
      if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* allowed) { return key_name == allowed; }) ==
          std::end(kKeys))
        return Status::error(where(origin, it->first) + ": " + path + "." + key_name +
                             ": unknown key. Allowed: " + kAllowed);
    }
    SecretRule rule;
    Allowlist allow, allow_match, allow_line;
    allow_match.target = AllowTarget::Match;
    allow_line.target = AllowTarget::Line;
    try {
      if (!entry["id"] || !entry["regex"])
        return Status::error(where(origin, entry) + ": " + path + ": id and regex are required");
      rule.id = entry["id"].as<std::string>();
      rule.description = entry["description"] ? entry["description"].as<std::string>() : "";
      rule.pattern = entry["regex"].as<std::string>();
      rule.group = entry["secret_group"] ? entry["secret_group"].as<int>() : 0;
      rule.min_entropy = entry["min_entropy"] ? entry["min_entropy"].as<double>() : 0;
      rule.min_length = entry["min_length"] ? entry["min_length"].as<size_t>() : 0;
      if (entry["keywords"])
        for (const auto& word : entry["keywords"]) rule.keywords.push_back(lower_ascii(word.as<std::string>()));
      if (entry["stopwords"])
        for (const auto& word : entry["stopwords"]) allow.stopwords.push_back(lower_ascii(word.as<std::string>()));
      for (auto [key, list] : {std::pair<const char*, Allowlist*>{"allow_regexes", &allow},
                               {"allow_match_regexes", &allow_match},
                               {"allow_line_regexes", &allow_line}}) {
        if (!entry[key]) continue;
        for (const auto& pattern : entry[key]) {
          RE2::Options re_options;
          re_options.set_log_errors(false);
          auto regex = std::make_unique<RE2>(pattern.as<std::string>(), re_options);
          if (!regex->ok())
            return Status::error(where(origin, pattern) + ": " + path + "." + key +
                                 ": invalid RE2 pattern: " + regex->error());
          list->regexes.push_back(std::move(regex));
        }
      }
    } catch (const YAML::Exception& e) { return Status::error(where(origin, entry) + ": " + path + ": " + e.msg); }
    if (!allow.stopwords.empty() || !allow.regexes.empty()) rule.allowlists.push_back(std::move(allow));
    if (!allow_match.regexes.empty()) rule.allowlists.push_back(std::move(allow_match));
    if (!allow_line.regexes.empty()) rule.allowlists.push_back(std::move(allow_line));
    if (rule_by_id(rule.id) != nullptr)
      return Status::error(where(origin, entry["id"]) + ": " + path + ".id: duplicate rule id \"" + rule.id + "\"");
    RE2::Options re_options;
    re_options.set_log_errors(false);
    re_options.set_max_mem(regex_memory_);
    if (built_in) {
      rule.re.set(rule.pattern, re_options);
    } else {
      auto regex = std::make_unique<RE2>(rule.pattern, re_options);
      if (!regex->ok())
        return Status::error(where(origin, entry["regex"]) + ": " + path +
                             ".regex: invalid RE2 pattern: " + regex->error());
      if (rule.group < 0 || rule.group > regex->NumberOfCapturingGroups())
        return Status::error(where(origin, entry["secret_group"]) + ": " + path + ".secret_group: the regex has " +
                             std::to_string(regex->NumberOfCapturingGroups()) + " capture groups");
      rule.re.adopt(std::move(regex));
    }
    rules_.push_back(std::move(rule));
  }
  return {};
}

}  // namespace agentlog::redact
