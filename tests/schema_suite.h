// Walks the JSON-Schema-Test-Suite (draft 7, required tests): every file, group and test.
#pragma once
#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <simdjson.h>

namespace agentlog::test {

struct SuiteCase {
  std::string file;   // e.g. "enum.json"
  std::string group;  // the group's description
  std::string test;   // the test's description
  simdjson::dom::element schema;
  simdjson::dom::element data;
  bool valid = false;
};

inline std::filesystem::path suite_dir() {
  return std::filesystem::path(JSON_SCHEMA_TEST_SUITE_DIR) / "tests" / "draft7";
}

// Calls `group_fn(file, group, schema)` once per group, then `case_fn` per test.
inline size_t for_each_suite_case(const std::function<void(const SuiteCase&, bool first_in_group)>& case_fn) {
  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::directory_iterator(suite_dir()))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  size_t n = 0;
  for (const auto& path : files) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.load(path.string()).get(root) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element group : root.get_array()) {
      SuiteCase c;
      c.file = path.filename().string();
      c.group = std::string(std::string_view(group["description"]));
      c.schema = group["schema"];
      bool first = true;
      for (simdjson::dom::element t : group["tests"].get_array()) {
        c.test = std::string(std::string_view(t["description"]));
        c.data = t["data"];
        c.valid = bool(t["valid"]);
        case_fn(c, first);
        first = false;
        ++n;
      }
    }
  }
  return n;
}

}  // namespace agentlog::test
