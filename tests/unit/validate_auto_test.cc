// `validate` with schema: auto: the stats count each family and the records of no family,
// and `invalid` includes the unclassified ones that were dead-lettered (check's
// max_schema_violations sums it).
#include <catch2/catch.hpp>
#include <simdjson.h>

#include "core/config.h"
#include "core/pipeline.h"
#include "tests/test_paths.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;

namespace {

struct ValidateCounts {
  uint64_t valid = 0, invalid = 0, unclassified = 0, not_selected = 0;
  uint64_t family_valid[3] = {}, family_invalid[3] = {};
};

ValidateCounts run_auto(const std::string& stage_yaml, const std::string& input, const std::string& name) {
  PipelineSpec spec;
  Status st = load_pipeline_text("pipeline:\n  stages:\n" + stage_yaml, name + ".yaml", spec);
  INFO(st.message());
  REQUIRE(st.ok());
  RunResult r = run_captured(spec, {input}, temp_dir(name));
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  std::string json = stats_to_json(spec, r.stats);
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(json);
  ValidateCounts c;
  for (simdjson::dom::element s : root["stages"].get_array()) {
    if (std::string_view(s["type"].get_string()) != "validate") continue;
    c.valid = s["valid"].get_uint64();
    c.invalid = s["invalid"].get_uint64();
    c.unclassified = s["unclassified"].get_uint64();
    c.not_selected = s["not_selected"].get_uint64();
    const char* families[] = {"agent-activity", "action-event", "action-log"};
    for (int i = 0; i < 3; ++i) {
      c.family_valid[i] = s["families"][families[i]]["valid"].get_uint64();
      c.family_invalid[i] = s["families"][families[i]]["invalid"].get_uint64();
    }
  }
  return c;
}

}  // namespace

TEST_CASE("validate schema: auto counts families and unclassified records", "[validate]") {
  // One valid record of each family, one invalid spec 002 record, the server's warning
  // (action-event family), and five records of no family.
  const std::string input = std::string(test::test_dir()) + "/golden/validate/unclassified-dead-letter/input.jsonl";
  SECTION("dead-lettered unclassified records are invalid") {
    ValidateCounts c = run_auto("    - {type: validate, schema: auto}\n", input, "validate-auto-dead");
    CHECK(c.valid == 4);
    CHECK(c.unclassified == 5);
    CHECK(c.invalid == 6);
    CHECK(c.family_valid[0] == 1);
    CHECK(c.family_invalid[0] == 1);
    CHECK(c.family_valid[1] == 2);
    CHECK(c.family_valid[2] == 1);
  }
  SECTION("unclassified: pass counts them but not as invalid") {
    ValidateCounts c = run_auto("    - {type: validate, schema: auto, unclassified: pass}\n", input, "validate-auto-pass");
    CHECK(c.valid == 4);
    CHECK(c.unclassified == 5);
    CHECK(c.invalid == 1);
  }
}

TEST_CASE("validate schema: auto passes generated warnings unchecked", "[validate]") {
  const std::string input = std::string(test::test_dir()) + "/golden/validate/unclassified-after-lifecycle/input.jsonl";
  ValidateCounts c = run_auto(
      "    - {type: lifecycle, profile: agent-activity}\n    - {type: validate, schema: auto}\n", input,
      "validate-auto-warnings");
  CHECK(c.valid == 1);
  CHECK(c.not_selected == 1);
  CHECK(c.unclassified == 0);
  CHECK(c.invalid == 0);
}
