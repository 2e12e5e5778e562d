#include "core/condition.h"

#include <cstdlib>

namespace agentlog {

bool Condition::Scalar::matches(simdjson::dom::element e) const {
  using T = simdjson::dom::element_type;
  switch (e.type()) {
    case T::STRING: return std::string_view(e.get_string().value_unsafe()) == text;
    case T::INT64: return is_number && static_cast<double>(e.get_int64().value_unsafe()) == number;
    case T::UINT64: return is_number && static_cast<double>(e.get_uint64().value_unsafe()) == number;
    case T::DOUBLE: return is_number && e.get_double().value_unsafe() == number;
    case T::BOOL: return text == (e.get_bool().value_unsafe() ? "true" : "false");
    case T::NULL_VALUE: return text == "null" || text == "~";
    default: return false;
  }
}

Status Condition::build(const OptionView& options, Condition& cond) {
  if (!parse_field_path(options.str("field"), cond.path_))
    return Status::error(options.error(
        "field", "invalid field path \"" + options.str("field") + "\" (use a.b.c or a JSON Pointer such as /a/b)"));
  int tests = options.has("equals") + options.has("in") + options.has("exists") + options.has("regex");
  if (tests != 1)
    return Status::error(
        options.error("", "exactly one of equals, in, exists, regex must be set, found " + std::to_string(tests)));
  auto scalar = [](std::string text) {
    Scalar scalar_value{std::move(text)};
    char* end = nullptr;
    scalar_value.number = std::strtod(scalar_value.text.c_str(), &end);
    scalar_value.is_number = !scalar_value.text.empty() && end == scalar_value.text.c_str() + scalar_value.text.size();
    return scalar_value;
  };
  if (options.has("equals")) {
    cond.op_ = Op::Equals;
    cond.values_.push_back(scalar(options.str("equals")));
  } else if (options.has("in")) {
    cond.op_ = Op::In;
    for (auto& value : options.strings("in")) cond.values_.push_back(scalar(value));
  } else if (options.has("exists")) {
    cond.op_ = Op::Exists;
    cond.exists_ = options.boolean("exists");
  } else {
    cond.op_ = Op::Regex;
    RE2::Options re_options;
    re_options.set_log_errors(false);
    cond.re_ = std::make_shared<RE2>(options.str("regex"), re_options);
    if (!cond.re_->ok()) return Status::error(options.error("regex", "invalid RE2 pattern: " + cond.re_->error()));
  }
  cond.negate_ = options.boolean("negate");
  return {};
}

bool Condition::eval(simdjson::dom::element root) const {
  auto v = lookup(root, path_);
  bool r = false;
  switch (op_) {
    case Op::Exists: r = v.has_value() == exists_; break;
    case Op::Equals:
    case Op::In:
      if (v)
        for (auto& s : values_)
          if (s.matches(*v)) {
            r = true;
            break;
          }
      break;
    case Op::Regex: {
      std::string_view s;
      r = v && v->get_string().get(s) == simdjson::SUCCESS && RE2::PartialMatch(s, *re_);
      break;
    }
  }
  return r != negate_;
}

bool eval_conditions(const std::vector<Condition>& conds, bool match_all, simdjson::dom::element root) {
  for (const auto& c : conds) {
    bool r = c.eval(root);
    if (match_all && !r) return false;
    if (!match_all && r) return true;
  }
  return match_all;
}

Status build_conditions(const std::vector<OptionView>& opts, std::vector<Condition>& out) {
  for (const auto& o : opts) {
    Condition c;
    Status st = Condition::build(o, c);
    if (!st.ok()) return st;
    out.push_back(std::move(c));
  }
  return {};
}

}  // namespace agentlog
