#include "plugins/validate/validate.h"


// The adapter header must come before valijson's own headers (it sets valijson's options).
#include "plugins/validate/simdjson_adapter.h"

#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "core/condition.h"
#include "core/named_file.h"
#include "plugins/validate/compiled_schema.h"

namespace agentlog::plugins {
namespace {

constexpr std::string_view kOnInvalid[] = {"dead_letter", "drop", "tag", "keep"};
constexpr std::string_view kEngines[] = {"auto", "compiled", "valijson"};

constexpr OptionSpec kValidateOptions[] = {
    {.name = "schema", .type = OptType::String,
     .description = "built-in name (agent-activity, action-event, action-log, warning) or path to a JSON Schema file",
     .required = true},
    {.name = "on_invalid", .type = OptType::Enum, .default_value = "dead_letter",
     .description = "what to do with an invalid record", .allowed = kOnInvalid},
    {.name = "errors_field", .type = OptType::String, .default_value = "validation_errors",
     .description = "top-level field that on_invalid: tag fills with [{pointer, message}]"},
    {.name = "max_errors", .type = OptType::Int, .default_value = "10",
     .description = "most errors reported per record", .min = 1, .max = 1000},
    {.name = "select", .type = OptType::ObjectList,
     .description = "validate only records matching all these conditions; others pass unchecked",
     .children = kConditionOptions},
    {.name = "engine", .type = OptType::Enum, .default_value = "auto",
     .description = "auto: compiled checks, or valijson for keywords they do not cover", .allowed = kEngines},
};

enum class OnInvalid { DeadLetter, Drop, Tag, Keep };

// Keeps a schema document and the valijson schema built from it.
struct ValijsonEngine {
  simdjson::dom::parser parser;
  simdjson::dom::document doc;
  valijson::Schema schema;
};

class ValidateStage : public Stage {
 public:
  std::string schema_label;
  std::unique_ptr<schema::CompiledSchema> compiled;
  std::unique_ptr<ValijsonEngine> valijson;
  OnInvalid on_invalid = OnInvalid::DeadLetter;
  std::string errors_field;
  size_t max_errors = 10;
  std::vector<Condition> select;
  uint64_t valid = 0, invalid = 0, not_selected = 0;

  StageVerdict process(Record& record) override {
    simdjson::dom::element root = record.root();
    if (!select.empty() && !eval_conditions(select, true, root)) {
      ++not_selected;
      return StageVerdict::keep();
    }
    if (compiled ? compiled->validate(root, nullptr, 0) : run_valijson(root, nullptr)) {
      ++valid;
      return StageVerdict::keep();
    }
    ++invalid;
    if (on_invalid == OnInvalid::Drop) return StageVerdict::drop();
    if (on_invalid == OnInvalid::Keep) return StageVerdict::keep();
    std::vector<schema::ValidationError> errors;
    if (compiled) compiled->validate(root, &errors, max_errors);
    else run_valijson(root, &errors);
    if (on_invalid == OnInvalid::Tag) {
      std::string arr = "[";
      for (size_t i = 0; i < errors.size(); ++i) {
        if (i) arr += ",";
        arr += "{\"pointer\":" + json::quoted(errors[i].pointer) + ",\"message\":" + json::quoted(errors[i].message) + "}";
      }
      arr += "]";
      record.set_member_raw(errors_field, arr);
      return StageVerdict::keep();
    }
    std::string reason;
    for (const auto& e : errors) {
      if (!reason.empty()) reason += "; ";
      reason += e.pointer.empty() ? "(root)" : e.pointer;
      reason += ": ";
      reason += e.message;
    }
    return StageVerdict::dead_letter(std::move(reason));
  }

  std::string stats_json() const override {
    return "\"schema\":" + json::quoted(schema_label) + ",\"engine\":\"" + (compiled ? "compiled" : "valijson") +
           "\",\"valid\":" + std::to_string(valid) + ",\"invalid\":" + std::to_string(invalid) +
           ",\"not_selected\":" + std::to_string(not_selected);
  }

 private:
  bool run_valijson(simdjson::dom::element root, std::vector<schema::ValidationError>* errors) const {
    valijson::Validator v(valijson::Validator::kStrongTypes);
    valijson::ValidationResults results;
    bool ok;
    try {
      ok = v.validate(valijson->schema, schema::SimdjsonAdapter(root), errors ? &results : nullptr);
    } catch (const std::exception& e) {
      if (errors) errors->push_back({"", std::string("validator error: ") + e.what()});
      return false;
    }
    if (!errors) return ok;
    valijson::ValidationResults::Error err;
    while (errors->size() < max_errors && results.popError(err)) {
      // Keep the leaf errors; valijson also reports each enclosing level that failed.
      if (err.description.rfind("Failed to validate against schema associated with", 0) == 0 ||
          err.description.rfind("Failed to validate item #", 0) == 0)
        continue;
      // valijson names each level "<root>", "[name]" or "[index]".
      std::string pointer;
      for (const auto& c : err.context) {
        if (c == "<root>") continue;
        std::string part = c.size() >= 2 && c.front() == '[' && c.back() == ']' ? c.substr(1, c.size() - 2) : c;
        pointer += "/";
        for (char ch : part) {
          if (ch == '~') pointer += "~0";
          else if (ch == '/') pointer += "~1";
          else pointer.push_back(ch);
        }
      }
      errors->push_back({pointer, err.description});
    }
    return ok;
  }
};

Status make_validate(const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<ValidateStage>();
  static constexpr std::string_view kJson[] = {".json"};
  NamedFile file;
  if (Status s = load_named_file(o, "schema", "schema", "schemas", ".schema.json", kJson, file); !s.ok()) return s;
  std::string name = o.str("schema");
  const std::string& text = file.text;
  st->schema_label = name;

  auto engine = std::make_unique<ValijsonEngine>();
  simdjson::dom::element root;
  if (auto err = engine->parser.parse_into_document(engine->doc, text).get(root); err != simdjson::SUCCESS)
    return Status::error(o.error("schema", "\"" + name + "\" is not valid JSON: " + simdjson::error_message(err)));

  std::string engine_name = o.str("engine");
  if (engine_name != "valijson") {
    Status cs = schema::CompiledSchema::compile(root, st->compiled);
    if (!cs.ok() && engine_name == "compiled")
      return Status::error(o.error("engine", "the compiled engine cannot run schema \"" + name + "\": " + cs.message() +
                                                 "; use engine: auto or valijson"));
  }
  if (!st->compiled) {
    try {
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      parser.populateSchema(schema::SimdjsonAdapter(root), engine->schema);
    } catch (const std::exception& e) {
      return Status::error(o.error("schema", "\"" + name + "\" is not a usable JSON Schema: " + e.what()));
    }
    st->valijson = std::move(engine);
  }

  std::string on = o.str("on_invalid");
  st->on_invalid = on == "drop" ? OnInvalid::Drop : on == "tag" ? OnInvalid::Tag : on == "keep" ? OnInvalid::Keep
                                                                                      : OnInvalid::DeadLetter;
  st->errors_field = o.str("errors_field");
  if (st->errors_field.empty()) return Status::error(o.error("errors_field", "must not be empty"));
  st->max_errors = static_cast<size_t>(o.integer("max_errors"));
  if (Status s = build_conditions(o.objects("select"), st->select); !s.ok()) return s;
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& validate_stage_plugin() {
  static const PluginInfo info{"validate", PluginKind::Stage,
                               "check records against a JSON Schema (draft 7); route the invalid ones",
                               kValidateOptions, make_validate, nullptr, nullptr};
  return info;
}

}  // namespace agentlog::plugins
