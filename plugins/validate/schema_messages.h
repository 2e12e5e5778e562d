// Error-message rendering of the compiled schema's checks: only on a failing value.
#pragma once
#include <string>
#include <string_view>

#include <simdjson.h>

namespace agentlog::schema::detail {

std::string_view type_name_of(simdjson::dom::element v);
std::string describe(simdjson::dom::element v);
std::string number_text(double d);

}  // namespace agentlog::schema::detail
