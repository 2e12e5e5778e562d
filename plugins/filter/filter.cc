#include "plugins/filter/filter.h"

#include <charconv>
#include <cstdlib>
#include <memory>

#include <re2/re2.h>

#include "core/field_path.h"

namespace agentlog::plugins {
namespace {

constexpr std::string_view kActions[] = {"keep", "drop"};
constexpr std::string_view kMatch[] = {"all", "any"};

constexpr OptionSpec kConditionOptions[] = {
    {.name = "field", .type = OptType::String, .description = "dotted path or JSON Pointer of the field", .required = true},
    {.name = "equals", .type = OptType::Scalar, .description = "field equals this scalar (string, number, bool, null)"},
    {.name = "in", .type = OptType::ScalarList, .description = "field equals one of these scalars"},
    {.name = "exists", .type = OptType::Bool, .description = "field is present (true) or absent (false)"},
    {.name = "regex", .type = OptType::String, .description = "field is a string with an RE2 match (unanchored)"},
    {.name = "negate", .type = OptType::Bool, .default_value = "false", .description = "invert this condition"},
};

constexpr OptionSpec kFilterOptions[] = {
    {.name = "action", .type = OptType::Enum, .default_value = "keep",
     .description = "keep: pass only matching records; drop: drop matching records", .allowed = kActions},
    {.name = "match", .type = OptType::Enum, .default_value = "all",
     .description = "all conditions must hold, or any one of them", .allowed = kMatch},
    {.name = "conditions", .type = OptType::ObjectList, .description = "the conditions (at least one)",
     .required = true, .children = kConditionOptions},
};

// A YAML scalar compared against a JSON value: strings by text, numbers numerically,
// booleans and null by their literal.
struct ScalarValue {
  std::string text;
  bool is_number = false;
  double number = 0;
  explicit ScalarValue(std::string t) : text(std::move(t)) {
    char* end = nullptr;
    number = std::strtod(text.c_str(), &end);
    is_number = !text.empty() && end == text.c_str() + text.size();
  }
  bool matches(simdjson::dom::element e) const {
    using T = simdjson::dom::element_type;
    switch (e.type()) {
      case T::STRING: return std::string_view(e.get_string().value_unsafe()) == text;
      case T::INT64: return is_number && static_cast<double>(e.get_int64().value_unsafe()) == number;
      case T::UINT64: return is_number && static_cast<double>(e.get_uint64().value_unsafe()) == number;
      case T::DOUBLE: return is_number && e.get_double().value_unsafe() == number;
      case T::BOOL: return text == (e.get_bool().value_unsafe() ? "true" : "false");
      case T::NULL_VALUE: return text == "null" || text == "~" || text.empty();
      default: return false;
    }
  }
};

struct Condition {
  enum class Op { Equals, In, Exists, Regex } op;
  FieldPath path;
  std::vector<ScalarValue> values;
  bool exists = true;
  std::unique_ptr<RE2> re;
  bool negate = false;

  bool eval(simdjson::dom::element root) const {
    auto v = lookup(root, path);
    bool r = false;
    switch (op) {
      case Op::Exists: r = v.has_value() == exists; break;
      case Op::Equals:
      case Op::In:
        if (v) {
          for (auto& s : values)
            if (s.matches(*v)) { r = true; break; }
        }
        break;
      case Op::Regex: {
        std::string_view s;
        r = v && v->get_string().get(s) == simdjson::SUCCESS && RE2::PartialMatch(s, *re);
        break;
      }
    }
    return r != negate;
  }
};

class FilterStage : public Stage {
 public:
  bool keep_matching = true;
  bool match_all = true;
  std::vector<Condition> conditions;

  StageVerdict process(Record& record) override {
    simdjson::dom::element root = record.root();
    bool m = match_all;
    for (const auto& c : conditions) {
      bool r = c.eval(root);
      if (match_all && !r) { m = false; break; }
      if (!match_all && r) { m = true; break; }
    }
    return m == keep_matching ? StageVerdict::keep() : StageVerdict::drop();
  }
};

Status make_filter(const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<FilterStage>();
  st->keep_matching = o.str("action") == "keep";
  st->match_all = o.str("match") == "all";
  auto conds = o.objects("conditions");
  if (conds.empty()) return Status::error(o.error("conditions", "must list at least one condition"));
  for (const auto& c : conds) {
    Condition cond;
    if (!parse_field_path(c.str("field"), cond.path))
      return Status::error(c.error("field", "invalid field path \"" + c.str("field") +
                                                "\" (use a.b.c or a JSON Pointer such as /a/b)"));
    int n = c.has("equals") + c.has("in") + c.has("exists") + c.has("regex");
    if (n != 1)
      return Status::error(c.error("", "exactly one of equals, in, exists, regex must be set, found " +
                                            std::to_string(n)));
    if (c.has("equals")) {
      cond.op = Condition::Op::Equals;
      cond.values.emplace_back(c.str("equals"));
    } else if (c.has("in")) {
      cond.op = Condition::Op::In;
      for (auto& v : c.strings("in")) cond.values.emplace_back(v);
    } else if (c.has("exists")) {
      cond.op = Condition::Op::Exists;
      cond.exists = c.boolean("exists");
    } else {
      cond.op = Condition::Op::Regex;
      RE2::Options ro;
      ro.set_log_errors(false);
      cond.re = std::make_unique<RE2>(c.str("regex"), ro);
      if (!cond.re->ok()) return Status::error(c.error("regex", "invalid RE2 pattern: " + cond.re->error()));
    }
    cond.negate = c.boolean("negate");
    st->conditions.push_back(std::move(cond));
  }
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& filter_stage_plugin() {
  static const PluginInfo info{"filter", PluginKind::Stage,
                               "keep or drop records by field conditions (equals, in, exists, regex)",
                               kFilterOptions, make_filter, nullptr, nullptr};
  return info;
}

}  // namespace agentlog::plugins
