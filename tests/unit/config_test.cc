#include <cstdlib>

#include <catch2/catch.hpp>

#include "core/config.h"
#include "core/plugin.h"

using namespace agentlog;

TEST_CASE("environment substitution", "[config]") {
  ::setenv("AGENTLOG_T_SET", "value", 1);
  ::setenv("AGENTLOG_T_EMPTY", "", 1);
  ::unsetenv("AGENTLOG_T_UNSET");
  std::string out, missing;
  REQUIRE(expand_env("a-${AGENTLOG_T_SET}-b", out, missing));
  CHECK(out == "a-value-b");
  REQUIRE(expand_env("${AGENTLOG_T_UNSET:-fallback}/x", out, missing));
  CHECK(out == "fallback/x");
  REQUIRE(expand_env("${AGENTLOG_T_EMPTY:-fallback}", out, missing));
  CHECK(out == "fallback");
  REQUIRE(expand_env("${AGENTLOG_T_EMPTY}", out, missing));
  CHECK(out.empty());
  REQUIRE(expand_env("cost $$5 and $HOME", out, missing));
  CHECK(out == "cost $5 and $HOME");
  CHECK_FALSE(expand_env("${AGENTLOG_T_UNSET}", out, missing));
  CHECK(missing == "AGENTLOG_T_UNSET");
}

TEST_CASE("a substituted value is type-checked after substitution", "[config]") {
  ::setenv("AGENTLOG_T_MAX", "many", 1);
  PipelineSpec spec;
  Status st = load_pipeline_text("pipeline:\n  inputs:\n    - type: stdin\n      max_line_bytes: ${AGENTLOG_T_MAX}\n",
                                 "t.yaml", spec);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "t.yaml:4:23: pipeline.inputs[0].max_line_bytes: expected an integer, got \"many\"");
}

TEST_CASE("an empty config file names the file", "[config]") {
  PipelineSpec spec;
  Status st = load_pipeline_text("", "empty.yaml", spec);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "empty.yaml:1:1: expected a mapping with a \"pipeline\" key");
}

TEST_CASE("a missing config file is reported", "[config]") {
  PipelineSpec spec;
  Status st = load_pipeline_file("/nonexistent/agentlog.yaml", spec);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "/nonexistent/agentlog.yaml: cannot read config: No such file or directory");
}

TEST_CASE("a minimal config loads with defaults", "[config]") {
  PipelineSpec spec;
  Status st = load_pipeline_text("pipeline: {}\n", "m.yaml", spec);
  INFO(st.message());
  REQUIRE(st.ok());
  CHECK(spec.inputs.empty());
  CHECK(spec.stages.empty());
  CHECK(spec.outputs.empty());
  CHECK_FALSE(spec.dead_letter);
}

TEST_CASE("did_you_mean picks the closest name within reach", "[config]") {
  constexpr std::string_view names[] = {"paths", "compression", "max_line_bytes"};
  CHECK(did_you_mean("pahts", names) == "paths");
  CHECK(did_you_mean("max_line_byte", names) == "max_line_bytes");
  CHECK(did_you_mean("zzzzzzzz", names).empty());
}

// Every plugin's option table is complete: the registry is the documentation source.
TEST_CASE("option tables are well-formed", "[config]") {
  auto check_table = [](std::string_view plugin, std::span<const OptionSpec> opts, auto& self) -> void {
    for (const auto& o : opts) {
      INFO(plugin << "." << o.name);
      CHECK_FALSE(o.name.empty());
      CHECK_FALSE(o.description.empty());
      CHECK_FALSE(o.name == "type");
      if (o.type == OptType::Enum) {
        CHECK_FALSE(o.allowed.empty());
        if (!o.default_value.empty())
          CHECK(std::find(o.allowed.begin(), o.allowed.end(), o.default_value) != o.allowed.end());
      }
      if (o.type == OptType::Object || o.type == OptType::ObjectList) {
        CHECK_FALSE(o.children.empty());
        self(plugin, o.children, self);
      }
      if (o.type == OptType::Bool && !o.default_value.empty())
        CHECK((o.default_value == "true" || o.default_value == "false"));
      if (o.required) CHECK(o.default_value.empty());
    }
  };
  REQUIRE(all_plugins().size() >= 6);
  for (const PluginInfo* p : all_plugins()) {
    CHECK_FALSE(p->summary.empty());
    bool one_factory = (p->make_stage != nullptr) + (p->make_input != nullptr) + (p->make_output != nullptr) == 1;
    CHECK(one_factory);
    check_table(p->name, p->options, check_table);
  }
}
