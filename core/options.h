// Declarative option tables (in the spirit of Fluent Bit's config_map) and a checked view
// over one YAML mapping. Every plugin option is declared once: name, type, default, help.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/status.h"

namespace agentlog {

enum class OptType : uint8_t {
  String,      // any scalar, taken as text
  Int,         // integer scalar
  Bool,        // true | false
  Double,      // number
  Enum,        // one of `allowed`
  StringList,  // sequence of scalars
  Object,      // mapping checked against `children`
  ObjectList,  // sequence of mappings checked against `children`
  Scalar,      // any scalar, type decided by the plugin (string, number, bool, null)
  ScalarList,  // sequence of scalars
  Map,         // free-form mapping of scalars, checked by the plugin
};

std::string_view type_name(OptType t);
// "a mapping", "a list", "a scalar", "null" or "nothing", for messages.
std::string_view node_kind(const YAML::Node& n);

struct OptionSpec {
  std::string_view name;
  OptType type = OptType::String;
  std::string_view default_value;  // text form; empty = no default
  std::string_view description;
  bool required = false;
  std::span<const std::string_view> allowed = {};  // Enum values
  std::span<const OptionSpec> children = {};       // Object / ObjectList entries
  int64_t min = 0;                                 // Int lower bound
  int64_t max = INT64_MAX;                         // Int upper bound
};

// Where the config came from, for `file:line:col` messages.
struct ConfigSource {
  std::string display_name;
  std::string dir;  // absolute directory of the config file (${CONFIG_DIR}); empty for text
};

std::string format_error(const ConfigSource& src, const YAML::Node& node, std::string_view path,
                         std::string_view message);

// Parses a YAML document (config, policy, profile, rule or table file). yaml-cpp keeps both
// entries of a key given twice and lookups see only the first, so a second `stages:` or
// `replacement:` would be ignored silently: any duplicate key in any mapping is an error
// naming both positions. Errors read "name:line:col: ...".
Status parse_yaml(const std::string& text, const std::string& display_name, YAML::Node& out);

// Closest candidate by edit distance, or empty when none is close enough.
std::string_view did_you_mean(std::string_view word, std::span<const std::string_view> candidates);
// `; did you mean "x"? Allowed: a, b` (or `. Allowed: a, b` when nothing is close).
std::string suggestion(std::string_view word, std::span<const std::string_view> allowed);
std::string join(std::span<const std::string_view> items, std::string_view sep = ", ");

// Checks `node` against `specs`: unknown keys (with a suggestion), types, enum values, ranges,
// required options, recursively into Object/ObjectList. `extra_keys` are accepted as strings.
Status check_options(const ConfigSource& src, const YAML::Node& node, std::string_view path,
                     std::span<const OptionSpec> specs,
                     std::span<const std::string_view> extra_keys = {});

// Read access to checked options, with defaults from the table.
class OptionView {
 public:
  OptionView(const ConfigSource* src, YAML::Node node, std::span<const OptionSpec> specs,
             std::string path);

  bool has(std::string_view name) const;
  // The option's entry in the table, or nullptr when the table does not declare it.
  const OptionSpec* declared(std::string_view name) const;
  std::string str(std::string_view name) const;
  int64_t integer(std::string_view name) const;
  bool boolean(std::string_view name) const;
  double number(std::string_view name) const;
  std::vector<std::string> strings(std::string_view name) const;
  std::vector<OptionView> objects(std::string_view name) const;
  OptionView object(std::string_view name) const;
  YAML::Node raw(std::string_view name) const;

  const std::string& path() const { return path_; }
  std::string child_path(std::string_view name) const;
  // "file:line:col: path.name: message", positioned at the option (or the mapping if unset).
  std::string error(std::string_view name, std::string_view message) const;
  std::string error_at(const YAML::Node& node, std::string_view path, std::string_view message) const;
  const ConfigSource& source() const { return *src_; }
  const YAML::Node& node() const { return node_; }

 private:
  const OptionSpec& spec(std::string_view name) const;
  const ConfigSource* src_;
  YAML::Node node_;
  std::span<const OptionSpec> specs_;
  std::string path_;
};

}  // namespace agentlog
