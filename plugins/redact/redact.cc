// Stage `redact`: its options, rule loading and config binding, and its stats. The stage's
// work per record is in record_scan.cc, ref_fields.cc and dead_letter_scrub.cc.
#include "plugins/redact/redact.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/embedded_files.h"
#include "plugins/redact/redact_stage.h"

namespace agentlog::plugins {

namespace {

constexpr std::string_view kModes[] = {"hmac-sha256", "sha256", "mask"};

constexpr OptionSpec kRedactOptions[] = {
    {.name = "fields", .type = OptType::StringList,
     .default_value = "[input_ref, output_ref, tool_target, error_code, details]",
     .description = "fields the rules scan; an object or array field scans every string under it"},
    {.name = "ref_fields", .type = OptType::StringList, .default_value = "[input_ref, output_ref]",
     .description = "fields under the ref policy: a hash or a clean URI, else replaced by a hash of the content"},
    {.name = "all_strings", .type = OptType::Bool, .default_value = "false",
     .description = "scan every string in the record instead of `fields`"},
    {.name = "builtin_rules", .type = OptType::Bool, .default_value = "true",
     .description = "use the built-in rule set (rules/secrets.yaml)"},
    {.name = "rule_files", .type = OptType::StringList,
     .description = "extra rule files, added to the built-in set: agentlog YAML, or gitleaks TOML when the name ends in .toml"},
    {.name = "rules_file", .type = OptType::String,
     .description = "a gitleaks config file (TOML, gitleaks' format as is), added to the built-in set"},
    {.name = "replacement", .type = OptType::Enum, .default_value = "hmac-sha256",
     .description = "hmac-sha256:<hex> (keyed), sha256:<hex>, or a mask [REDACTED:<rule>]", .allowed = kModes},
    {.name = "hmac_key_env", .type = OptType::String, .default_value = "AGENTLOG_REDACT_KEY",
     .description = "environment variable holding the HMAC key (at least 16 bytes)"},
    {.name = "hmac_key_file", .type = OptType::String,
     .description = "file holding the HMAC key (used when the variable is unset)"},
    {.name = "annotation_field", .type = OptType::String, .default_value = "redactions",
     .description = "top-level field listing {field, rule} per redaction; empty turns it off"},
    {.name = "max_regex_memory", .type = OptType::Int, .default_value = "268435456",
     .description = "RE2 memory budget for the rule set, in bytes", .min = 1 << 20, .max = 1ll << 34},
};

using redact_stage::RedactStage;
using Mode = RedactStage::Mode;

Status read_text(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::error("cannot read \"" + path + "\"");
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return {};
}

Status parse_paths(const OptionView& o, std::string_view name, std::vector<std::string> values,
                   std::vector<FieldPath>& out) {
  for (const auto& v : values) {
    FieldPath p;
    if (!parse_field_path(v, p)) return Status::error(o.error(name, "invalid field path \"" + v + "\""));
    out.push_back(std::move(p));
  }
  return {};
}

struct RedactConfig {
  std::optional<std::vector<std::string>> fields;      // unset: the defaults below
  std::optional<std::vector<std::string>> ref_fields;  // unset: the defaults below
  bool all_strings = false;
  bool builtin_rules = true;
  std::vector<std::string> rule_files;
  std::optional<std::string> rules_file;
  Mode replacement = Mode::Hmac;
  std::string hmac_key_env;
  std::optional<std::string> hmac_key_file;
  std::string annotation_field;
  int64_t max_regex_memory = 0;
  template <class B>
  static void bind(B& b) {
    b.field("fields", &RedactConfig::fields);
    b.field("ref_fields", &RedactConfig::ref_fields);
    b.field("all_strings", &RedactConfig::all_strings);
    b.field("builtin_rules", &RedactConfig::builtin_rules);
    b.field("rule_files", &RedactConfig::rule_files);
    b.field("rules_file", &RedactConfig::rules_file);
    b.field("replacement", &RedactConfig::replacement);
    b.field("hmac_key_env", &RedactConfig::hmac_key_env);
    b.field("hmac_key_file", &RedactConfig::hmac_key_file);
    b.field("annotation_field", &RedactConfig::annotation_field);
    b.field("max_regex_memory", &RedactConfig::max_regex_memory);
  }
};

Status make_redact(const RedactConfig& cfg, const OptionView& options, std::unique_ptr<Stage>& out) {
  auto stage = std::make_unique<RedactStage>();
  stage->rules.set_regex_memory(cfg.max_regex_memory);
  if (cfg.builtin_rules) {
    Status status = stage->rules.add_yaml(find_embedded("rules/secrets.yaml"), "rules/secrets.yaml", /*built_in=*/true);
    if (!status.ok()) return Status::error(options.error("builtin_rules", status.message()));
  }
  for (const auto& file : cfg.rule_files) {
    std::string text;
    Status status = read_text(file, text);
    if (status.ok())
      status = file.ends_with(".toml") ? stage->rules.add_gitleaks_toml(text, file) : stage->rules.add_yaml(text, file);
    if (!status.ok()) return Status::error(options.error("rule_files", status.message()));
  }
  if (cfg.rules_file) {
    const std::string& file = *cfg.rules_file;
    std::string text;
    Status status = read_text(file, text);
    if (status.ok()) status = stage->rules.add_gitleaks_toml(text, file);
    if (!status.ok()) return Status::error(options.error("rules_file", status.message()));
  }
  if (Status status = stage->rules.compile(cfg.max_regex_memory); !status.ok())
    return Status::error(options.error("max_regex_memory", status.message()));

  stage->mode = cfg.replacement;
  if (stage->mode == Mode::Hmac) {
    const std::string& env = cfg.hmac_key_env;
    const char* key_text = env.empty() ? nullptr : std::getenv(env.c_str());
    if (key_text != nullptr && *key_text != '\0') {
      stage->key = key_text;
    } else if (cfg.hmac_key_file) {
      if (Status status = read_text(*cfg.hmac_key_file, stage->key); !status.ok())
        return Status::error(options.error("hmac_key_file", status.message()));
      while (!stage->key.empty() && (stage->key.back() == '\n' || stage->key.back() == '\r')) stage->key.pop_back();
    } else {
      return Status::error(
          options.error("replacement", "hmac-sha256 needs a key: set the environment variable " + env +
                                           " or hmac_key_file, or choose replacement: sha256 or mask"));
    }
    if (stage->key.size() < 16)
      return Status::error(
          options.error(cfg.hmac_key_file && !(key_text && *key_text) ? "hmac_key_file" : "hmac_key_env",
                        "the HMAC key must be at least 16 bytes"));
    stage->hmac = HmacSha256(stage->key);
  }
  std::vector<std::string> fields =
      cfg.fields.value_or(std::vector<std::string>{"input_ref", "output_ref", "tool_target", "error_code", "details"});
  std::vector<std::string> refs = cfg.ref_fields.value_or(std::vector<std::string>{"input_ref", "output_ref"});
  if (Status status = parse_paths(options, "fields", fields, stage->fields); !status.ok()) return status;
  if (Status status = parse_paths(options, "ref_fields", refs, stage->ref_fields); !status.ok()) return status;
  stage->all_strings = cfg.all_strings;
  stage->annotation_field = cfg.annotation_field;
  stage->init();
  out = std::move(stage);
  return {};
}

}  // namespace

namespace redact_stage {

// Registers the fields pass 1 reads, so one walk over a record finds them all.
void RedactStage::init() {
  for (const auto& f : ref_fields) ref_slots_.push_back(field_set_.add(f));
  for (const auto& f : fields)
    if (!is_ref_field(f)) field_slots_.push_back(field_set_.add(f));
  per_worker_ = PerWorker<WorkerState>(WorkerState{.fields = field_set_});
}

std::string RedactStage::stats_json() const {
  std::map<std::string, uint64_t> by_rule;
  per_worker_.each([&](const WorkerState& w) {
    for (const auto& [k, v] : w.by_rule) by_rule[k] += v;
  });
  std::string o = "\"records_redacted\":" + std::to_string(per_worker_.sum(&WorkerState::records_redacted)) +
                  ",\"deep_scans\":" + std::to_string(per_worker_.sum(&WorkerState::deep_scans)) + ",\"by_rule\":{";
  bool first = true;
  for (const auto& [k, v] : by_rule) {
    if (!first) o += ",";
    first = false;
    o += json::quoted(k) + ":" + std::to_string(v);
  }
  return o + "}";
}

}  // namespace redact_stage

const PluginInfo& redact_stage_plugin() {
  static const PluginInfo info = PluginInfo::stage<make_redact>(
      "redact", "enforce the ref policy and replace secrets with keyed hashes or masks", kRedactOptions);
  return info;
}

}  // namespace agentlog::plugins
