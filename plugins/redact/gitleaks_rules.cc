#include "plugins/redact/secret_rules.h"
namespace agentlog::redact {
Status RuleSet::add_gitleaks_toml(std::string_view, const std::string& origin) { return Status::error(origin + ": todo"); }
}
