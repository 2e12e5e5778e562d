// Typed plugin configs (core/option_binding.h): each binding is held to its option table, so
// a misspelt or forgotten option name fails here instead of in a user's run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "core/config.h"
#include "core/plugin.h"

using namespace agentlog;

namespace {

// What is wrong with `binding` against `table`, one line per problem.
std::vector<std::string> binding_problems(std::span<const OptionSpec> table, const std::vector<BoundOption>& binding) {
  std::vector<std::string> out;
  for (const OptionSpec& spec : table) {
    auto n = std::count_if(binding.begin(), binding.end(), [&](const BoundOption& b) { return b.name == spec.name; });
    if (n != 1) out.push_back("option \"" + std::string(spec.name) + "\" is bound " + std::to_string(n) + " times");
  }
  for (const BoundOption& b : binding) {
    auto spec = std::find_if(table.begin(), table.end(), [&](const OptionSpec& s) { return s.name == b.name; });
    if (spec == table.end()) {
      out.push_back("bound name \"" + std::string(b.name) + "\" is not in the table");
      continue;
    }
    const std::string name(b.name);
    if (b.nested != nullptr) {
      if (spec->type != OptType::Object && spec->type != OptType::ObjectList)
        out.push_back("\"" + name + "\": nested config for a " + std::string(type_name(spec->type)));
      for (const std::string& p : binding_problems(spec->children, b.nested())) out.push_back(name + "." + p);
    }
    if (b.accepts == 0) continue;  // read by hand
    if ((b.accepts & (1u << static_cast<unsigned>(spec->type))) == 0)
      out.push_back("\"" + name + "\": the member cannot hold a " + std::string(type_name(spec->type)));
    if (spec->type == OptType::Int && (spec->min < b.min || spec->max > b.max))
      out.push_back("\"" + name + "\": the member's type does not hold " + std::to_string(spec->min) + ".." +
                    std::to_string(spec->max));
    if (b.needs_value && spec->default_value.empty() && !spec->required)
      out.push_back("\"" + name + "\": an enum with no default and not required must be std::optional or Tracked");
  }
  return out;
}

constexpr std::string_view kColours[] = {"red", "green"};
constexpr OptionSpec kChildOptions[] = {{.name = "x", .type = OptType::String, .description = "x"}};
constexpr OptionSpec kTestOptions[] = {
    {.name = "label", .type = OptType::String, .default_value = "x", .description = "a label"},
    {.name = "count", .type = OptType::Int, .default_value = "3", .description = "a count", .min = 0, .max = 1000},
    {.name = "colour", .type = OptType::Enum, .default_value = "red", .description = "a colour",
     .allowed = kColours},
    {.name = "tags", .type = OptType::StringList, .description = "tags"},
    {.name = "on", .type = OptType::Bool, .default_value = "false", .description = "a switch"},
    {.name = "ratio", .type = OptType::Double, .default_value = "0.5", .description = "a ratio"},
    {.name = "nested", .type = OptType::Object, .description = "read by hand", .children = kChildOptions},
};

struct ChildConfig {
  std::string x;
  template <class B>
  static void bind(B& b) { b.field("x", &ChildConfig::x); }
};

struct MisspeltChildConfig {
  std::string x;
  template <class B>
  static void bind(B& b) { b.field("y", &MisspeltChildConfig::x); }
};

struct TestConfig {
  enum class Colour : uint8_t { Red, Green };
  std::string label;
  int count = 0;
  Colour colour = Colour::Red;
  std::optional<std::vector<std::string>> tags;
  Tracked<bool> on;
  double ratio = 0;
  template <class B>
  static void bind(B& b) {
    b.field("label", &TestConfig::label);
    b.field("count", &TestConfig::count);
    b.field("colour", &TestConfig::colour);
    b.field("tags", &TestConfig::tags);
    b.field("on", &TestConfig::on);
    b.field("ratio", &TestConfig::ratio);
    b.nested("nested", config_of<ChildConfig>);
  }
};

// The same with "colour" misspelt.
struct MisspeltConfig : TestConfig {
  template <class B>
  static void bind(B& b) {
    b.field("label", &TestConfig::label);
    b.field("count", &TestConfig::count);
    b.field("color", &TestConfig::colour);
    b.field("tags", &TestConfig::tags);
    b.field("on", &TestConfig::on);
    b.field("ratio", &TestConfig::ratio);
    b.by_hand("nested");
  }
};

// Types that cannot hold their options: a string for an Int, an int8_t for 0..1000.
struct WrongTypesConfig {
  std::string count;
  int8_t small = 0;
  template <class B>
  static void bind(B& b) {
    b.field("count", &WrongTypesConfig::count);
    b.field("count", &WrongTypesConfig::small);
    b.nested("nested", config_of<MisspeltChildConfig>);
  }
};

}  // namespace

TEST_CASE("option binding: every typed plugin config binds each option of its table exactly once") {
  for (const PluginInfo* p : all_plugins()) {
    INFO(kind_name(p->kind()) << " " << p->name);
    if (p->binding == nullptr) {
      CHECK(p->options.empty());  // every plugin with options has a typed config
      continue;
    }
    for (const std::string& problem : binding_problems(p->options, p->binding())) FAIL_CHECK(problem);
  }
}

TEST_CASE("option binding: the check reports misspelt, missing, doubled and ill-typed bindings") {
  CHECK(binding_problems(kTestOptions, bound_options<TestConfig>()).empty());
  CHECK(binding_problems(kTestOptions, bound_options<MisspeltConfig>()) ==
        std::vector<std::string>{"option \"colour\" is bound 0 times", "bound name \"color\" is not in the table"});
  auto wrong = binding_problems(kTestOptions, bound_options<WrongTypesConfig>());
  CHECK(std::find(wrong.begin(), wrong.end(), "option \"count\" is bound 2 times") != wrong.end());
  CHECK(std::find(wrong.begin(), wrong.end(), "option \"label\" is bound 0 times") != wrong.end());
  CHECK(std::find(wrong.begin(), wrong.end(), "\"count\": the member cannot hold a integer") != wrong.end());
  CHECK(std::find(wrong.begin(), wrong.end(), "\"count\": the member's type does not hold 0..1000") != wrong.end());
  CHECK(std::find(wrong.begin(), wrong.end(), "nested.option \"x\" is bound 0 times") != wrong.end());
  CHECK(std::find(wrong.begin(), wrong.end(), "nested.bound name \"y\" is not in the table") != wrong.end());
}

TEST_CASE("option binding: bind_options fills members, with the table's defaults and presence") {
  ConfigSource src{"t.yaml", ""};
  YAML::Node node = YAML::Load("{count: 7, colour: green, on: false}");
  REQUIRE(check_options(src, node, "", kTestOptions).ok());
  TestConfig cfg;
  REQUIRE(bind_options(OptionView(&src, node, kTestOptions, ""), cfg).ok());
  CHECK(cfg.label == "x");
  CHECK(cfg.count == 7);
  CHECK(cfg.colour == TestConfig::Colour::Green);
  CHECK_FALSE(cfg.tags.has_value());
  CHECK(cfg.on.given);
  CHECK_FALSE(cfg.on.value);
  CHECK(cfg.ratio == 0.5);

  node = YAML::Load("{tags: [a, b]}");
  cfg = TestConfig{};
  REQUIRE(bind_options(OptionView(&src, node, kTestOptions, ""), cfg).ok());
  CHECK(cfg.tags == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(cfg.on.given);
  CHECK(cfg.colour == TestConfig::Colour::Red);

  // A name the table does not declare is an error at load, not an option read as unset.
  MisspeltConfig bad;
  Status st = bind_options(OptionView(&src, node, kTestOptions, ""), bad);
  CHECK(st.message() == "internal error: option \"color\" is bound but not declared");
}
