#include "plugins/validate/schema_messages.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "plugins/validate/schema_node.h"

namespace agentlog::schema {
namespace detail {

std::string_view type_name_of(element v) {
  switch (v.type()) {
    case element_type::NULL_VALUE: return "null";
    case element_type::BOOL: return "boolean";
    case element_type::OBJECT: return "object";
    case element_type::ARRAY: return "array";
    case element_type::STRING: return "string";
    default: return is_integer_value(v) ? "integer" : "number";
  }
}

// Short, bounded rendering of a value for messages. Messages reach dead letters and, with
// on_invalid: tag, the record itself, so string values are never quoted (a secret in a
// failing field would be copied past the redact stage); only a plain lowercase word, such
// as a misspelt event type, or a timestamp is shown, since no secret has those shapes.
std::string describe(element v) {
  std::string out;
  if (v.type() == element_type::STRING) {
    std::string_view s = v.get_string().value_unsafe();
    bool word = s.size() <= 32 &&
                std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_' || c == '-'; });
    // A timestamp-like text (digits and - : T Z . +, with a - or :) is shown too.
    bool time_like = s.size() <= 40 && s.find_first_of("-:") != std::string_view::npos &&
                     std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || std::strchr("-:TtZz.+ ", c); });
    if (word || time_like) json::append_quoted(out, s);
    else out = "a string of " + std::to_string(code_points(s)) + " characters";
    return out;
  }
  if (v.type() == element_type::OBJECT) return "an object";
  if (v.type() == element_type::ARRAY) return "an array";
  out = simdjson::minify(v);
  return out;
}

std::string number_text(double d) {
  char buf[64];
  if (d == std::floor(d) && std::fabs(d) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", d);
  else std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

}  // namespace detail

std::string CompiledSchema::Path::pointer() const {
  std::vector<const Path*> chain;
  for (const Path* p = this; p != nullptr && p->parent != nullptr; p = p->parent) chain.push_back(p);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    out.push_back('/');
    if ((*it)->is_index) {
      out += std::to_string((*it)->index);
      continue;
    }
    for (char c : (*it)->key) {
      if (c == '~') out += "~0";
      else if (c == '/') out += "~1";
      else out.push_back(c);
    }
  }
  return out;
}

}  // namespace agentlog::schema
