// gitleaks' TOML config format (`rules_file:`), loaded as it is: [[rules]], per-rule
// [[rules.allowlists]] and the older [rules.allowlist], global [allowlist] / [[allowlists]],
// [extend] with path and disabledRules. Keys about files and commits (path, paths, commits)
// are accepted and cannot match: this stage scans records, not files.
//
// A config is added to the rules already in the set (the built-in set, other rule files)
// without touching them: its ids, [extend] and disabledRules refer to its own rules and those
// of the configs it extends (all from index `first` of the set on), and its global
// allowlists apply to those rules only. gitleaks' default config reuses some built-in ids
// (github-pat, jwt, ...); such a rule runs beside the built-in one.
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "plugins/redact/secret_rules.h"

namespace agentlog::redact {
namespace {

std::string at(const std::string& origin, const toml::source_region& r) {
  return origin + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

Status err(const std::string& origin, const toml::source_region& r, const std::string& path, const std::string& msg) {
  return Status::error(at(origin, r) + ": " + path + ": " + msg);
}

// Reads a string / bool / number / string array member, or fails naming what was expected.
Status get_string(const std::string& origin, const std::string& path, const toml::node& n, std::string& out) {
  if (auto v = n.value<std::string>(); v && n.is_string()) {
    out = *v;
    return {};
  }
  return err(origin, n.source(), path, "expected a string");
}

Status get_strings(const std::string& origin, const std::string& path, const toml::node& n, std::vector<std::string>& out) {
  const toml::array* a = n.as_array();
  if (a == nullptr) return err(origin, n.source(), path, "expected an array of strings");
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    if (!e.is_string()) return err(origin, e.source(), path + "[" + std::to_string(i) + "]", "expected a string");
    out.push_back(*e.value<std::string>());
  }
  return {};
}

// Go's regexp (1.22 and later) also writes a named group (?<name>...), which RE2 takes only
// as (?P<name>...), a construct of Go's syntax RE2 lacks. Rewritten outside character
// classes and \Q...\E; a lookaround (?<= (?<! is left for RE2 to reject, as Go does.
std::string go_named_groups(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 8);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      if (p[i + 1] == 'Q') {  // literal text up to \E (or the end)
        size_t e = p.find("\\E", i + 2);
        e = e == std::string_view::npos ? p.size() : e + 2;
        out.append(p.substr(i, e - i));
        i = e - 1;
        continue;
      }
      out += c;
      out += p[++i];
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < p.size() && p[i + 1] == ':') {  // [:alpha:] inside a class
        if (size_t e = p.find(":]", i + 2); e != std::string_view::npos) {
          out.append(p.substr(i, e + 2 - i));
          i = e + 1;
          continue;
        }
      }
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {  // a ']' first in a class ([]a], [^]a]) is a literal
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == '(' && p.substr(i, 3) == "(?<" && i + 3 < p.size() &&
        (std::isalpha(static_cast<unsigned char>(p[i + 3])) || p[i + 3] == '_')) {
      out += "(?P<";
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

// `rule`: the id of the rule the regex belongs to, named in the error (empty: none).
Status compile_re(const std::string& origin, const std::string& path, const toml::node& n, const std::string& pattern,
                  std::unique_ptr<RE2>& out, int64_t max_mem = RE2::Options().max_mem(), const std::string& rule = "") {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  out = std::make_unique<RE2>(pattern, o);
  if (!out->ok())
    return err(origin, n.source(), path,
               (rule.empty() ? "" : "rule \"" + rule + "\": ") + "invalid RE2 pattern: " + out->error());
  return {};
}

// The id of the [[rules]] table `t` (empty when it has none), for error messages.
std::string rule_id_of(const toml::table& t) {
  const toml::node* id = t.get("id");
  return id != nullptr && id->is_string() ? *id->value<std::string>() : std::string();
}

Status unknown_key(const std::string& origin, const toml::key& k, const std::string& path, const char* allowed) {
  return Status::error(at(origin, k.source()) + ": " + path + (path.empty() ? "" : ".") + std::string(k.str()) +
                       ": unknown key. Allowed: " + allowed);
}

// One allowlist table (per rule or global).
Status read_allowlist(const std::string& origin, const std::string& path, const toml::table& table, bool global,
                      Allowlist& out, const std::string& rule) {
  for (auto&& [k, v] : table) {
    std::string key(k.str()), key_path = path + "." + key;
    if (key == "description") {
      std::string ignored;
      if (Status status = get_string(origin, key_path, v, ignored); !status.ok()) return status;
    } else if (key == "condition") {
      std::string condition;
      if (Status status = get_string(origin, key_path, v, condition); !status.ok()) return status;
      std::string lowered = lower_ascii(condition);
      if (lowered != "or" && lowered != "and")
        return err(origin, v.source(), key_path, "must be \"OR\" or \"AND\", got \"" + condition + "\"");
      out.all = lowered == "and";
    } else if (key == "regexTarget") {
      std::string target;
      if (Status status = get_string(origin, key_path, v, target); !status.ok()) return status;
      if (target == "secret" || target.empty()) out.target = AllowTarget::Secret;
      else if (target == "match") out.target = AllowTarget::Match;
      else if (target == "line") out.target = AllowTarget::Line;
      else
        return err(origin, v.source(), key_path, "must be \"secret\", \"match\" or \"line\", got \"" + target + "\"");
    } else if (key == "regexes") {
      std::vector<std::string> res;
      if (Status status = get_strings(origin, key_path, v, res); !status.ok()) return status;
      for (size_t i = 0; i < res.size(); ++i) {
        std::unique_ptr<RE2> regex;
        if (Status status = compile_re(origin, key_path + "[" + std::to_string(i) + "]", *v.as_array()->get(i),
                                       go_named_groups(res[i]), regex, RE2::Options().max_mem(), rule);
            !status.ok())
          return status;
        out.regexes.push_back(std::move(regex));
      }
    } else if (key == "stopwords") {
      std::vector<std::string> words;
      if (Status status = get_strings(origin, key_path, v, words); !status.ok()) return status;
      for (auto& word : words) out.stopwords.push_back(lower_ascii(word));
    } else if (key == "paths" || key == "commits") {
      std::vector<std::string> ignored;
      if (Status status = get_strings(origin, key_path, v, ignored); !status.ok()) return status;
      if (!ignored.empty()) out.needs_path_or_commit = true;
    } else if (key == "targetRules" && global) {
      if (Status status = get_strings(origin, key_path, v, out.target_rules); !status.ok()) return status;
    } else {
      return unknown_key(origin, k, path,
                         global ? "description, condition, regexTarget, regexes, stopwords, paths, commits, targetRules"
                                : "description, condition, regexTarget, regexes, stopwords, paths, commits");
    }
  }
  return {};
}

// A rule's allowlist(s): `allowlist` (one table, before gitleaks 8.21) or `allowlists` (array).
Status read_allowlists(const std::string& origin, const std::string& path, const toml::node& v, bool global,
                       std::vector<Allowlist>& out, const std::string& rule = "") {
  if (const toml::table* t = v.as_table()) {
    Allowlist a;
    if (Status s = read_allowlist(origin, path, *t, global, a, rule); !s.ok()) return s;
    out.push_back(std::move(a));
    return {};
  }
  const toml::array* arr = v.as_array();
  if (arr == nullptr) return err(origin, v.source(), path, "expected a table or an array of tables");
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = arr->get(i)->as_table();
    std::string p = path + "[" + std::to_string(i) + "]";
    if (t == nullptr) return err(origin, arr->get(i)->source(), p, "expected a table");
    Allowlist a;
    if (Status s = read_allowlist(origin, p, *t, global, a, rule); !s.ok()) return s;
    out.push_back(std::move(a));
  }
  return {};
}

constexpr const char* kRuleKeys = "id, description, regex, secretGroup, entropy, keywords, path, tags, allowlist, allowlists";

// One [[rules]] entry. `base` is set when the id extends a rule of an [extend] base config.
Status read_rule(const std::string& origin, const std::string& path, const toml::table& table, SecretRule& rule,
                 bool& has_regex, bool& has_path, bool& has_group, int64_t max_mem) {
  for (auto&& [k, v] : table) {
    std::string key(k.str()), key_path = path + "." + key;
    if (key == "id") {
      if (Status status = get_string(origin, key_path, v, rule.id); !status.ok()) return status;
    } else if (key == "description") {
      if (Status status = get_string(origin, key_path, v, rule.description); !status.ok()) return status;
    } else if (key == "regex") {
      if (Status status = get_string(origin, key_path, v, rule.pattern); !status.ok()) return status;
      rule.pattern = go_named_groups(rule.pattern);
      std::unique_ptr<RE2> regex;
      if (Status status = compile_re(origin, key_path, v, rule.pattern, regex, max_mem, rule_id_of(table));
          !status.ok())
        return status;
      rule.re.adopt(std::move(regex));
      has_regex = true;
    } else if (key == "secretGroup") {
      if (!v.is_integer()) return err(origin, v.source(), key_path, "expected an integer");
      int64_t group = *v.value<int64_t>();
      if (group < 0 || group > 1000) return err(origin, v.source(), key_path, "must be 0 or more");
      rule.group = static_cast<int>(group);
      has_group = true;
    } else if (key == "entropy") {
      if (!v.is_number()) return err(origin, v.source(), key_path, "expected a number");
      rule.min_entropy = *v.value<double>();
    } else if (key == "keywords") {
      std::vector<std::string> kws;
      if (Status status = get_strings(origin, key_path, v, kws); !status.ok()) return status;
      for (auto& keyword : kws) rule.keywords.push_back(lower_ascii(keyword));
    } else if (key == "tags") {
      if (Status status = get_strings(origin, key_path, v, rule.tags); !status.ok()) return status;
    } else if (key == "path") {
      std::string ignored;
      if (Status status = get_string(origin, key_path, v, ignored); !status.ok()) return status;
      has_path = true;
    } else if (key == "allowlist" || key == "allowlists") {
      if (Status status = read_allowlists(origin, key_path, v, false, rule.allowlists, rule_id_of(table)); !status.ok())
        return status;
    } else if (key == "required" || key == "skipReport") {
      return Status::error(at(origin, k.source()) + ": " + key_path +
                           ": composite rules (required, skipReport) are not supported; remove the key or the rule");
    } else {
      return unknown_key(origin, k, path, kRuleKeys);
    }
  }
  return {};
}

Status read_file(const std::string& file, std::string& out) {
  std::ifstream f(file, std::ios::binary);
  if (!f) return Status::error("cannot read \"" + file + "\"");
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return {};
}

Status load(RuleSet& set, std::string_view text, const std::string& origin, int depth, size_t first);

Status read_extend(RuleSet& set, const std::string& origin, const toml::table& table, int depth, size_t first) {
  std::vector<std::string> disabled;
  const toml::node* base_path = nullptr;
  for (auto&& [k, v] : table) {
    std::string key(k.str()), key_path = "extend." + key;
    if (key == "useDefault") {
      if (!v.is_boolean()) return err(origin, v.source(), key_path, "expected true or false");
      if (*v.value<bool>())
        return err(origin, v.source(), key_path,
                   "agentlog does not ship gitleaks' default rules; give the default config's file to rules_file "
                   "(or use extend.path), or use agentlog's built-in rules (builtin_rules: true)");
    } else if (key == "path") {
      base_path = &v;
    } else if (key == "disabledRules") {
      if (Status status = get_strings(origin, key_path, v, disabled); !status.ok()) return status;
    } else {
      return unknown_key(origin, k, "extend", "useDefault, path, disabledRules");
    }
  }
  if (base_path != nullptr) {
    std::string file;
    if (Status status = get_string(origin, "extend.path", *base_path, file); !status.ok()) return status;
    if (depth >= 2) return err(origin, base_path->source(), "extend.path", "configs extend at most 2 levels deep");
    std::string base;
    if (Status status = read_file(file, base); !status.ok()) {
      // Relative to the working directory (gitleaks), else to the extending file.
      size_t slash = origin.rfind('/');
      if (file.empty() || file[0] == '/' || slash == std::string::npos ||
          !read_file(origin.substr(0, slash + 1) + file, base).ok())
        return err(origin, base_path->source(), "extend.path", status.message());
      file = origin.substr(0, slash + 1) + file;
    }
    if (Status status = load(set, base, file, depth + 1, first); !status.ok()) return status;
  }
  for (const auto& id : disabled) set.remove_rule(id, first);
  return {};
}

Status load(RuleSet& set, std::string_view text, const std::string& origin, int depth, size_t first) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return Status::error(at(origin, e.source()) + ": invalid TOML: " + std::string(e.description()));
  }
  // [extend] first: its rules are the base the others add to.
  if (const toml::node* ext = root.get("extend")) {
    const toml::table* table = ext->as_table();
    if (table == nullptr) return err(origin, ext->source(), "extend", "expected a table");
    if (Status status = read_extend(set, origin, *table, depth, first); !status.ok()) return status;
  }
  for (auto&& [k, v] : root) {
    std::string key(k.str());
    if (key == "title" || key == "description" || key == "minVersion") {
      std::string ignored;
      if (Status status = get_string(origin, key, v, ignored); !status.ok()) return status;
    } else if (key == "extend") {
      continue;
    } else if (key == "allowlist" || key == "allowlists") {
      if (Status status = read_allowlists(origin, key, v, true, set.global_allowlists()); !status.ok()) return status;
    } else if (key == "rules") {
      std::set<std::string> ours;  // ids defined in this file (not in a base it extends)
      const toml::array* rules = v.as_array();
      if (rules == nullptr) return err(origin, v.source(), "rules", "expected an array of tables ([[rules]])");
      for (size_t i = 0; i < rules->size(); ++i) {
        std::string path = "rules[" + std::to_string(i) + "]";
        const toml::table* table = rules->get(i)->as_table();
        if (table == nullptr) return err(origin, rules->get(i)->source(), path, "expected a table");
        SecretRule rule;
        rule.group = -1;  // gitleaks: without secretGroup, the first non-empty capture group
        bool has_regex = false, has_path = false, has_group = false;
        if (Status status = read_rule(origin, path, *table, rule, has_regex, has_path, has_group, set.regex_memory()); !status.ok())
          return status;
        if (rule.id.empty()) return err(origin, table->source(), path, "id is required");
        std::string here = at(origin, table->source());
        SecretRule* base = ours.count(rule.id) ? nullptr : set.rule_by_id(rule.id, first);
        if (base != nullptr && has_regex) {
          set.remove_rule(rule.id, first);  // the extending config redefines the base rule
          base = nullptr;
        }
        if (base != nullptr) {
          // Extends a rule of the base config: keywords, tags and allowlists add up; the rest
          // is set only where given.
          if (!rule.description.empty()) base->description = rule.description;
          if (has_group) base->group = rule.group;
          if (rule.min_entropy > 0) base->min_entropy = rule.min_entropy;
          for (auto& keyword : rule.keywords) base->keywords.push_back(keyword);
          for (auto& tag : rule.tags) base->tags.push_back(tag);
          for (auto& allowlist : rule.allowlists) base->allowlists.push_back(std::move(allowlist));
          continue;
        }
        if (!has_regex && !has_path)
          return Status::error(here + ": " + path + ": the rule has neither regex nor path, so it has no effect");
        if (!has_regex) continue;  // a rule on file paths only: this stage scans no files
        if (rule.group > rule.re.get()->NumberOfCapturingGroups())
          return err(origin, table->get("secretGroup")->source(), path + ".secretGroup",
                     "the regex has " + std::to_string(rule.re.get()->NumberOfCapturingGroups()) + " capture groups");
        ours.insert(rule.id);
        if (Status status = set.add_rule(std::move(rule), here, path, first); !status.ok()) return status;
      }
    } else {
      return unknown_key(origin, k, "", "title, description, minVersion, extend, rules, allowlist, allowlists");
    }
  }
  return {};
}

}  // namespace

Status RuleSet::add_gitleaks_toml(std::string_view toml_text, const std::string& origin) {
  const size_t first_rule = rules_.size(), first_allowlist = global_allowlists_.size();
  Status status = load(*this, toml_text, origin, 0, first_rule);
  // This config's global allowlists (and its bases') apply to its rules, not to those
  // already in the set: gitleaks' default [allowlist] (secrets with "false" or "null" in
  // them, ...) must not quiet the built-in rules.
  for (size_t i = first_allowlist; i < global_allowlists_.size(); ++i) {
    global_allowlists_[i].scope_begin = first_rule;
    global_allowlists_[i].scope_end = rules_.size();
  }
  return status;
}

}  // namespace agentlog::redact
