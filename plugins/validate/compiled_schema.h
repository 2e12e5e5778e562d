// A JSON Schema (draft 7) compiled into a flat table of checks that run directly on
// simdjson's DOM. It covers the keywords that real log schemas use; a schema with any other
// keyword is refused at compile time so the caller can fall back to valijson.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>
#include <simdjson.h>

#include "core/json_text.h"
#include "core/status.h"

namespace agentlog::schema {

struct ValidationError {
  std::string pointer;  // JSON Pointer of the failing value ("" is the root)
  std::string message;
};

enum class Format : uint8_t { None, DateTime, Date, Time };

// RFC 3339 checks (full-date, full-time, date-time), as JSON Schema's `format` defines them.
bool is_rfc3339_date(std::string_view s);
bool is_rfc3339_time(std::string_view s);
bool is_rfc3339_date_time(std::string_view s);

class CompiledSchema {
 public:
  // Fails with the name of the first unsupported keyword (or a schema error).
  static Status compile(simdjson::dom::element schema, std::unique_ptr<CompiledSchema>& out);

  // True when valid. Appends at most `max_errors` errors when `errors` is set.
  bool validate(simdjson::dom::element value, std::vector<ValidationError>* errors, size_t max_errors) const;

  struct Node;
  struct Path;
  ~CompiledSchema();

 private:
  CompiledSchema();
  int compile_node(simdjson::dom::element schema, Status& status);
  bool check(int id, simdjson::dom::element value, const Path* path, std::vector<ValidationError>* errors,
             size_t max_errors) const;
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace agentlog::schema
