#include <cstdlib>

#include <catch2/catch.hpp>

#include "check/policy.h"
#include "core/config.h"
#include "core/plugin.h"
#include "tests/test_support.h"

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

TEST_CASE("a directory given as the config or policy says it is a directory", "[config]") {
  auto dir = test::temp_dir("config-dir");
  PipelineSpec spec;
  Status st = load_pipeline_file(dir.string(), spec);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == dir.string() + ": cannot read config: it is a directory (-c takes a YAML file)");
  check::Policy policy;
  st = check::load_policy_file(dir.string(), true, policy);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == dir.string() + ": cannot read policy: it is a directory (a YAML file is expected)");
}

TEST_CASE("a key given twice in any mapping is an error naming both places", "[config]") {
  auto error = [](const std::string& yaml) {
    PipelineSpec spec;
    Status st = load_pipeline_text(yaml, "d.yaml", spec);
    REQUIRE_FALSE(st.ok());
    return st.message();
  };
  CHECK(error("pipeline: {}\npipeline: {stages: [{type: redact}]}\n") ==
        "d.yaml:2:1: pipeline: duplicate key \"pipeline\" (first at d.yaml:1:1)");
  // Nested in a list, inside a flow mapping, and after ${VAR} substitution would change nothing.
  CHECK(error("pipeline:\n  stages:\n    - type: filter\n      action: drop\n"
              "      conditions: [{field: a, equals: x, field: b}]\n") ==
        "d.yaml:5:42: pipeline.stages[0].conditions[0].field: duplicate key \"field\" (first at d.yaml:5:21)");
  // Quoting does not make another key.
  CHECK(error("pipeline:\n  name: a\n  'name': b\n") ==
        "d.yaml:3:3: pipeline.name: duplicate key \"name\" (first at d.yaml:2:3)");
  // `policy:` in the config file, read by `agentlog check` through the policy loader too.
  check::Policy policy;
  Status st = check::load_policy_text("policy:\n  rules:\n    - {type: max_collisions, max: 1, max: 5}\n", "p.yaml",
                                      true, policy);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "p.yaml:3:38: policy.rules[0].max: duplicate key \"max\" (first at p.yaml:3:30)");
}

TEST_CASE("aliases: each collection is checked for duplicate keys once", "[config]") {
  // Nine levels of nine aliases: walking every alias again would visit 9^9 maps (it hung).
  std::string bomb = "a0: &a0 {k: v}\n";
  for (int i = 1; i <= 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) bomb += std::string(j ? ", " : "") + "*a" + std::to_string(i - 1);
    bomb += "]\n";
  }
  YAML::Node out;
  CHECK(parse_yaml(bomb, "b.yaml", out).ok());
  // A duplicate inside an anchored map is reported where the map is written.
  Status st = parse_yaml("a: &x {k: 1, k: 2}\nb: *x\n", "b.yaml", out);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "b.yaml:1:14: a.k: duplicate key \"k\" (first at b.yaml:1:8)");
}

TEST_CASE("two stages of one name are an error, default names included", "[config]") {
  auto error = [](const std::string& yaml) {
    PipelineSpec spec;
    Status st = load_pipeline_text(yaml, "n.yaml", spec);
    REQUIRE_FALSE(st.ok());
    return st.message();
  };
  CHECK(error("pipeline:\n  stages:\n    - {type: validate, name: check, schema: auto}\n"
              "    - {type: validate, name: check, schema: auto}\n") ==
        "n.yaml:4:30: pipeline.stages[1].name: stage name \"check\" is already used by pipeline.stages[0] "
        "(n.yaml:3:30); give each stage its own name");
  // A stage named like the normalize stage the inputs' format puts first.
  CHECK(error("pipeline:\n  inputs: [{type: stdin, format: codex}]\n  stages:\n"
              "    - {type: validate, name: normalize, schema: auto}\n") ==
        "n.yaml:4:30: pipeline.stages[0].name: stage name \"normalize\" is already used by the normalize stage the "
        "inputs' format puts first; give each stage its own name");
  PipelineSpec spec;
  Status st = load_pipeline_text("pipeline:\n  stages:\n    - {type: validate, schema: auto}\n"
                                 "    - {type: validate, name: validate-again, schema: auto}\n",
                                 "n.yaml", spec);
  INFO(st.message());
  CHECK(st.ok());
}

TEST_CASE("a file output reached through a symbolic or hard link is the same file", "[config]") {
  auto dir = test::temp_dir("config-links");
  test::write_file(dir / "out.jsonl", "");
  std::filesystem::create_symlink("out.jsonl", dir / "sym.jsonl");
  std::filesystem::create_hard_link(dir / "out.jsonl", dir / "hard.jsonl");
  std::filesystem::create_symlink("not-yet.jsonl", dir / "dangling.jsonl");
  auto error = [&](const std::string& a, const std::string& b) {
    PipelineSpec spec;
    Status st = load_pipeline_text("pipeline:\n  outputs: [{type: file, path: " + (dir / a).string() +
                                       "}]\n  dead_letter: {type: file, path: " + (dir / b).string() + "}\n",
                                   "l.yaml", spec);
    REQUIRE_FALSE(st.ok());
    return st.message();
  };
  const std::string d = dir.string() + "/";
  const size_t col = 35;  // after "  dead_letter: {type: file, path: "
  CHECK(error("out.jsonl", "sym.jsonl") == "l.yaml:3:" + std::to_string(col) + ": pipeline.dead_letter.path: \"" + d +
                                              "sym.jsonl\" is the same file as pipeline.outputs[0].path \"" + d +
                                              "out.jsonl\" (line 2); every file output needs its own path");
  CHECK(error("out.jsonl", "hard.jsonl") == "l.yaml:3:" + std::to_string(col) + ": pipeline.dead_letter.path: \"" + d +
                                               "hard.jsonl\" is the same file as pipeline.outputs[0].path \"" + d +
                                               "out.jsonl\" (line 2); every file output needs its own path");
  CHECK(error("not-yet.jsonl", "dangling.jsonl") ==
        "l.yaml:3:" + std::to_string(col) + ": pipeline.dead_letter.path: \"" + d +
            "dangling.jsonl\" is the same file as pipeline.outputs[0].path \"" + d +
            "not-yet.jsonl\" (line 2); every file output needs its own path");
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
    CHECK(std::visit([](auto make) { return make != nullptr; }, p->factory()));
    check_table(p->name, p->options, check_table);
  }
}
