// Secret-detection rules (RE2) loaded from YAML rule files, matched together through one
// RE2::Set so the cost of a scan does not grow with the number of rules.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>
#include <re2/set.h>

#include "core/status.h"

namespace agentlog::redact {

struct SecretRule {
  std::string id;
  std::string description;
  std::string pattern;
  std::unique_ptr<RE2> re;
  int group = 0;                      // capture group holding the secret (0 = whole match)
  std::vector<std::string> keywords;  // lowercase; the rule runs only if one occurs
  double min_entropy = 0;             // bits per byte of the secret
};

// Shannon entropy of the bytes of `s`, in bits per byte.
double shannon_entropy(std::string_view s);

// A found secret: bytes [begin, end) of the scanned text, and the rule that found it.
struct Finding {
  size_t begin = 0, end = 0;
  size_t rule = 0;
};

class RuleSet {
 public:
  // Adds the rules of one YAML rule file; `origin` names it in error messages.
  Status add_yaml(std::string_view yaml_text, const std::string& origin);
  // Builds the RE2::Set; `max_mem` is RE2's memory budget for it.
  Status compile(int64_t max_mem);

  // Cheap test: could any rule match somewhere in `text`? (May say yes falsely, never no.)
  bool may_match(std::string_view text) const;
  // Every secret in `text`, sorted and without overlaps.
  void find(std::string_view text, std::vector<Finding>& out) const;

  const std::vector<SecretRule>& rules() const { return rules_; }

 private:
  std::vector<SecretRule> rules_;
  std::unique_ptr<RE2::Set> set_;
};

}  // namespace agentlog::redact
