// Field conditions shared by stages (`filter`, `validate.select`): equals, in, exists, regex.
#pragma once
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <re2/re2.h>
#include <simdjson.h>

#include "core/field_path.h"
#include "core/options.h"

namespace agentlog {

// The option table of one condition: field, equals | in | exists | regex, negate.
inline constexpr OptionSpec kConditionOptions[] = {
    {.name = "field", .type = OptType::String, .description = "dotted path or JSON Pointer of the field", .required = true},
    {.name = "equals", .type = OptType::Scalar, .description = "field equals this scalar (string, number, bool, null)"},
    {.name = "in", .type = OptType::ScalarList, .description = "field equals one of these scalars"},
    {.name = "exists", .type = OptType::Bool, .description = "field is present (true) or absent (false)"},
    {.name = "regex", .type = OptType::String, .description = "field is a string with an RE2 match (unanchored)"},
    {.name = "negate", .type = OptType::Bool, .default_value = "false", .description = "invert this condition"},
};

class Condition {
 public:
  // Builds from checked options; errors are exact config messages.
  static Status build(const OptionView& o, Condition& out);
  bool eval(simdjson::dom::element root) const;

 private:
  // A YAML scalar compared against a JSON value: strings by text, numbers numerically,
  // booleans and null by their literal.
  struct Scalar {
    std::string text;
    bool is_number = false;
    double number = 0;
    bool matches(simdjson::dom::element e) const;
  };
  enum class Op { Equals, In, Exists, Regex } op_ = Op::Exists;
  FieldPath path_;
  std::vector<Scalar> values_;
  bool exists_ = true;
  std::shared_ptr<RE2> re_;
  bool negate_ = false;
};

// All conditions must hold (match_all) or any one.
bool eval_conditions(const std::vector<Condition>& conds, bool match_all, simdjson::dom::element root);
Status build_conditions(const std::vector<OptionView>& opts, std::vector<Condition>& out);

}  // namespace agentlog
