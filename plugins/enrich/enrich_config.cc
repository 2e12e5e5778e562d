// Stage `enrich`: its options, lookup tables bound to the stage, and the factory.
#include "plugins/enrich/enrich.h"
#include "plugins/enrich/enrich_stage.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "core/field_path.h"
#include "core/hash_index.h"
#include "core/hashing.h"
#include "core/json_text.h"
#include "core/time_format.h"
#include "core/top_fields.h"
#include "core/worker_slots.h"
#include "plugins/enrich/lookup_table.h"

namespace agentlog::plugins {
namespace {

using namespace enrich_stage;

using enrich::load_csv;
using enrich::load_yaml_table;
using enrich::read_whole;
using enrich::Table;
using enrich::quoted_for_message;
using enrich::yaml_scalar_json;

constexpr std::string_view kOnError[] = {"dead_letter", "tag", "keep"};
constexpr std::string_view kFormats[] = {"auto", "csv", "yaml"};

constexpr OptionSpec kPipelineOptions[] = {
    {.name = "name", .type = OptType::String, .description = "pipeline name to add", .required = true},
    {.name = "version", .type = OptType::String, .description = "pipeline version to add (not added when unset)"},
    {.name = "name_field", .type = OptType::String, .default_value = "pipeline_name",
     .description = "top-level field for the name"},
    {.name = "version_field", .type = OptType::String, .default_value = "pipeline_version",
     .description = "top-level field for the version"},
};

constexpr OptionSpec kEventIdOptions[] = {
    {.name = "field", .type = OptType::String, .default_value = "event_id",
     .description = "top-level field for the id"},
    {.name = "prefix", .type = OptType::String,
     .description = "text put before the 32 hex digits (default: none)"},
};

constexpr OptionSpec kLookupOptions[] = {
    {.name = "file", .type = OptType::String,
     .description = "CSV (header row; first column is the key) or YAML (key -> mapping of column -> scalar) file",
     .required = true},
    {.name = "key", .type = OptType::String,
     .description = "record field whose value is looked up (dotted path or JSON Pointer)", .required = true},
    {.name = "columns", .type = OptType::StringList,
     .description = "table columns to add (default: every column but the CSV key column)"},
    {.name = "key_column", .type = OptType::String, .description = "CSV only: the key column (default: the first)"},
    {.name = "prefix", .type = OptType::String, .description = "text put before each column name to make the field name"},
    {.name = "default", .type = OptType::Scalar, .default_value = "unknown",
     .description = "value of every column when the key is missing or not in the table"},
    {.name = "format", .type = OptType::Enum, .default_value = "auto",
     .description = "auto: by file extension (.csv, .yaml, .yml)", .allowed = kFormats},
};

constexpr OptionSpec kTimeOptions[] = {
    {.name = "field", .type = OptType::String, .default_value = "event_time",
     .description = "top-level field holding an RFC 3339 string or epoch s/ms/us/ns number"},
    {.name = "on_error", .type = OptType::Enum, .default_value = "dead_letter",
     .description = "missing or unparseable time: dead-letter the record, tag it, or keep it unchanged",
     .allowed = kOnError},
    {.name = "errors_field", .type = OptType::String, .default_value = "enrich_errors",
     .description = "top-level field that on_error: tag fills with [{pointer, message}]"},
};

constexpr OptionSpec kEnrichOptions[] = {
    {.name = "fields", .type = OptType::Map,
     .description = "static fields: top-level name -> scalar (plain numbers/true/false/null keep their type)"},
    {.name = "overwrite", .type = OptType::Bool, .default_value = "true",
     .description = "replace a field the record already has (false: keep the record's value)"},
    {.name = "overwrite_fields", .type = OptType::Map,
     .description = "per-field override of overwrite: field -> true|false, for any field this stage adds"},
    {.name = "host", .type = OptType::Bool, .default_value = "false", .description = "add the host name (gethostname)"},
    {.name = "host_field", .type = OptType::String, .default_value = "host", .description = "field for the host name"},
    {.name = "add_pipeline", .type = OptType::Object, .description = "add the pipeline's name and version",
     .children = kPipelineOptions},
    {.name = "ingest_time", .type = OptType::Bool, .default_value = "false",
     .description = "add the time the record was processed (RFC 3339 UTC ms); breaks byte-identical re-runs"},
    {.name = "ingest_time_field", .type = OptType::String, .default_value = "ingest_time",
     .description = "field for the ingest time"},
    {.name = "event_id", .type = OptType::Object,
     .description = "add prefix + first 32 hex digits of the SHA-256 of the record as this stage receives it",
     .children = kEventIdOptions},
    {.name = "lookups", .type = OptType::ObjectList, .description = "add columns from CSV or YAML tables by key",
     .children = kLookupOptions},
    {.name = "normalize_time", .type = OptType::Object,
     .description = "rewrite a time field as RFC 3339 UTC with milliseconds and Z", .children = kTimeOptions},
};

// Typed configs, one per option table. Options read by hand need their YAML node: a map
// of field names, or a scalar whose YAML type is kept in the JSON it becomes.
struct PipelineConfig {
  std::string name, name_field, version_field;
  std::optional<std::string> version;  // unset: no version field
  template <class B>
  static void bind(B& b) {
    b.field("name", &PipelineConfig::name);
    b.field("version", &PipelineConfig::version);
    b.field("name_field", &PipelineConfig::name_field);
    b.field("version_field", &PipelineConfig::version_field);
  }
};

struct EventIdConfig {
  std::string field, prefix;
  template <class B>
  static void bind(B& b) {
    b.field("field", &EventIdConfig::field);
    b.field("prefix", &EventIdConfig::prefix);
  }
};

struct LookupConfig {
  enum class Format : uint8_t { Auto, Csv, Yaml };  // in kFormats' order
  std::string file, key, prefix;
  std::optional<std::vector<std::string>> columns;  // unset: every column but the CSV key column
  std::optional<std::string> key_column;
  Format format = Format::Auto;
  template <class B>
  static void bind(B& b) {
    b.field("file", &LookupConfig::file);
    b.field("key", &LookupConfig::key);
    b.field("columns", &LookupConfig::columns);
    b.field("key_column", &LookupConfig::key_column);
    b.field("prefix", &LookupConfig::prefix);
    b.by_hand("default");  // a scalar: yaml_scalar_json keeps its YAML type
    b.field("format", &LookupConfig::format);
  }
};

struct TimeConfig {
  std::string field, errors_field;
  OnError on_error = OnError::DeadLetter;  // OnError is in kOnError's order
  template <class B>
  static void bind(B& b) {
    b.field("field", &TimeConfig::field);
    b.field("on_error", &TimeConfig::on_error);
    b.field("errors_field", &TimeConfig::errors_field);
  }
};

struct EnrichConfig {
  bool overwrite = true, host = false, ingest_time = false;
  std::string host_field, ingest_time_field;
  template <class B>
  static void bind(B& b) {
    b.by_hand("fields");  // a map: its keys are positioned in errors
    b.field("overwrite", &EnrichConfig::overwrite);
    b.by_hand("overwrite_fields");  // a map, as fields
    b.field("host", &EnrichConfig::host);
    b.field("host_field", &EnrichConfig::host_field);
    b.nested("add_pipeline", config_of<PipelineConfig>);
    b.field("ingest_time", &EnrichConfig::ingest_time);
    b.field("ingest_time_field", &EnrichConfig::ingest_time_field);
    b.nested("event_id", config_of<EventIdConfig>);
    b.nested("lookups", config_of<LookupConfig>);
    b.nested("normalize_time", config_of<TimeConfig>);
  }
};

// ---------------------------------------------------------------------------------------
// Factory.
// ---------------------------------------------------------------------------------------

// Where a written field name comes from, for the duplicate check.
struct Origin {
  YAML::Node node;
  std::string path;
  std::string label;  // relative option path shown to the user
};

class Builder {
 public:
  Builder(const OptionView& o, EnrichStage& st) : o_(o), st_(st) {}

  // Registers a written field; returns its index in st.writes or an error message.
  Status add(const std::string& name, std::string json, Origin origin, size_t* index) {
    if (name.empty()) return Status::error(o_.error_at(origin.node, origin.path, "field name must not be empty"));
    if (Status s = claim(name, origin); !s.ok()) return s;
    Write w;
    w.name = name;
    w.json = std::move(json);
    w.overwrite = global_overwrite;
    w.member = "," + json::quoted(name) + ":";
    w.slot = st_.keys.add(name);
    st_.writes.push_back(std::move(w));
    if (index) *index = st_.writes.size() - 1;
    return {};
  }

  // A field name this stage writes or rewrites; two uses of one name are a config error.
  Status claim(const std::string& name, const Origin& origin) {
    for (const auto& [n, label] : claimed_)
      if (n == name)
        return Status::error(o_.error_at(origin.node, origin.path,
                                         "field \"" + name + "\" is also written by " + label));
    claimed_.emplace_back(name, origin.label);
    return {};
  }

  Origin origin(const OptionView& v, std::string_view opt, std::string label) const {
    return {v.has(opt) ? v.raw(opt) : v.node(), v.child_path(opt), std::move(label)};
  }

  bool global_overwrite = true;

 private:
  const OptionView& o_;
  EnrichStage& st_;
  std::vector<std::pair<std::string, std::string>> claimed_;
};

Status build_lookup(const OptionView& lookup_options, size_t index, Builder& builder, EnrichStage& stage) {
  LookupConfig cfg;
  if (Status status = bind_options(lookup_options, cfg); !status.ok()) return status;
  using Format = LookupConfig::Format;
  Lookup lookup;
  const std::string& file = cfg.file;
  lookup.file = file;
  Format format = cfg.format;
  if (format == Format::Auto) {
    if (file.ends_with(".csv")) format = Format::Csv;
    else if (file.ends_with(".yaml") || file.ends_with(".yml")) format = Format::Yaml;
    else
      return Status::error(lookup_options.error(
          "file", "cannot tell the format of \"" + file + "\" from its name; set format: csv or format: yaml"));
  }
  if (format == Format::Yaml && cfg.key_column)
    return Status::error(
        lookup_options.error("key_column", "is for CSV tables; a YAML table's keys are its mapping keys"));
  std::string text;
  if (!read_whole(file, text))
    return Status::error(lookup_options.error("file", "cannot read lookup file \"" + file + "\""));
  Table table;
  size_t key_index = SIZE_MAX;
  std::string err;
  bool ok = format == Format::Csv ? load_csv(text, file, cfg.key_column.value_or(""), table, key_index, err)
                            : load_yaml_table(text, file, table, err);
  if (!ok) {
    if (err.rfind("key column ", 0) == 0) return Status::error(lookup_options.error("key_column", err));
    return Status::error(lookup_options.error("file", err));
  }

  FieldPath key;
  if (!parse_field_path(cfg.key, key))
    return Status::error(lookup_options.error("key", "invalid field path \"" + cfg.key + "\""));
  if (key.parts.size() == 1) lookup.key_slot = stage.keys.add(key.parts[0]);
  else stage.nested_lookup_keys = true;
  lookup.key_path = key;

  // Columns: the requested ones, or every column but the CSV key column.
  std::vector<size_t> cols;
  std::vector<YAML::Node> col_nodes;
  if (cfg.columns) {
    YAML::Node list = lookup_options.raw("columns");  // each column's node, to position its error
    if (cfg.columns->empty()) return Status::error(lookup_options.error("columns", "must list at least one column"));
    std::vector<std::string_view> names(table.columns.begin(), table.columns.end());
    for (size_t i = 0; i < cfg.columns->size(); ++i) {
      const std::string& column = (*cfg.columns)[i];
      auto it = std::find(table.columns.begin(), table.columns.end(), column);
      std::string path = lookup_options.child_path("columns") + "[" + std::to_string(i) + "]";
      if (it == table.columns.end()) {
        std::string msg = "column \"" + column + "\" is not in " + file;
        msg += names.empty() ? std::string(" (the table has no columns)") : suggestion(column, names);
        return Status::error(lookup_options.error_at(list[i], path, msg));
      }
      cols.push_back(static_cast<size_t>(it - table.columns.begin()));
      col_nodes.push_back(list[i]);
    }
  } else {
    for (size_t column_index = 0; column_index < table.columns.size(); ++column_index)
      if (column_index != key_index) {
        cols.push_back(column_index);
        col_nodes.push_back(lookup_options.node());
      }
    if (cols.empty()) return Status::error(lookup_options.error("file", file + " has no columns to add"));
  }

  const std::string& prefix = cfg.prefix;
  lookup.default_json =
      lookup_options.has("default") ? yaml_scalar_json(lookup_options.raw("default")) : json::quoted("unknown");
  lookup.ncols = cols.size();
  for (size_t i = 0; i < cols.size(); ++i) {
    const std::string& col = table.columns[cols[i]];
    std::string label = "lookups[" + std::to_string(index) + "] (column " + col + ")";
    std::string path =
        cfg.columns ? lookup_options.child_path("columns") + "[" + std::to_string(i) + "]" : lookup_options.path();
    size_t slot;
    if (Status status = builder.add(prefix + col, "", Origin{col_nodes[i], path, label}, &slot); !status.ok())
      return status;
    lookup.writes.push_back(slot);
  }
  for (size_t key_row = 0; key_row < table.keys.size(); ++key_row) {
    lookup.index.insert(hash_key(table.keys[key_row]),
                        static_cast<uint32_t>(key_row));  // keys are unique (the table loader checks)
    lookup.keys.push_back(table.keys[key_row]);
    std::string row;
    for (size_t i = 0; i < cols.size(); ++i) {
      lookup.cells.push_back(table.cells[key_row][cols[i]]);
      row += stage.writes[lookup.writes[i]].member + table.cells[key_row][cols[i]];
    }
    lookup.rows.push_back(std::move(row));
  }
  for (size_t i = 0; i < cols.size(); ++i)
    lookup.default_row += stage.writes[lookup.writes[i]].member + lookup.default_json;
  stage.lookups.push_back(std::move(lookup));
  return {};
}

Status make_enrich(const EnrichConfig& cfg, const OptionView& options, std::unique_ptr<Stage>& out) {
  auto stage = std::make_unique<EnrichStage>();
  Builder builder(options, *stage);
  builder.global_overwrite = cfg.overwrite;
  bool any = false;

  // normalize_time first: it claims its field so no other option writes it.
  if (options.has("normalize_time")) {
    any = true;
    OptionView time_options = options.object("normalize_time");
    TimeConfig time_config;
    if (Status status = bind_options(time_options, time_config); !status.ok()) return status;
    stage->time_on = true;
    stage->time_field = time_config.field;
    if (stage->time_field.empty()) return Status::error(time_options.error("field", "must not be empty"));
    if (Status status = builder.claim(stage->time_field, builder.origin(time_options, "field", "normalize_time.field"));
        !status.ok())
      return status;
    stage->time_slot = stage->keys.add(stage->time_field);
    stage->time_pointer = "/";
    for (char c : stage->time_field) {
      if (c == '~') stage->time_pointer += "~0";
      else if (c == '/') stage->time_pointer += "~1";
      else stage->time_pointer.push_back(c);
    }
    stage->on_error = time_config.on_error;
    stage->errors_field = time_config.errors_field;
    if (stage->on_error == OnError::Tag) {
      if (stage->errors_field.empty()) return Status::error(time_options.error("errors_field", "must not be empty"));
      if (Status status = builder.claim(stage->errors_field,
                                        builder.origin(time_options, "errors_field", "normalize_time.errors_field"));
          !status.ok())
        return status;
    }
  }

  if (options.has("fields")) {
    YAML::Node fields = options.raw("fields");
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      any = true;
      std::string name = it->first.Scalar();
      std::string path = options.child_path("fields") + "." + name;
      if (Status status =
              builder.add(name, yaml_scalar_json(it->second), Origin{it->first, path, "fields." + name}, nullptr);
          !status.ok())
        return status;
    }
  }
  if (cfg.host) {
    any = true;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0)
      return Status::error(options.error("host", std::string("cannot read the host name: ") + std::strerror(errno)));
    if (Status status = builder.add(cfg.host_field, json::quoted(host),
                                    builder.origin(options, "host_field", "host_field"), nullptr);
        !status.ok())
      return status;
  }
  if (options.has("add_pipeline")) {
    any = true;
    OptionView pipeline_options = options.object("add_pipeline");
    PipelineConfig pipeline_config;
    if (Status status = bind_options(pipeline_options, pipeline_config); !status.ok()) return status;
    if (Status status = builder.add(pipeline_config.name_field, json::quoted(pipeline_config.name),
                                    builder.origin(pipeline_options, "name_field", "add_pipeline.name_field"), nullptr);
        !status.ok())
      return status;
    if (pipeline_config.version)
      if (Status status =
              builder.add(pipeline_config.version_field, json::quoted(*pipeline_config.version),
                          builder.origin(pipeline_options, "version_field", "add_pipeline.version_field"), nullptr);
          !status.ok())
        return status;
  }
  stage->n_static = stage->writes.size();
  for (const Write& write : stage->writes) stage->static_block += write.member + write.json;

  auto lookups = options.objects("lookups");
  if (options.has("lookups") && lookups.empty())
    return Status::error(options.error("lookups", "must list at least one lookup"));
  for (size_t i = 0; i < lookups.size(); ++i) {
    any = true;
    if (Status status = build_lookup(lookups[i], i, builder, *stage); !status.ok()) return status;
  }
  if (options.has("event_id")) {
    any = true;
    OptionView event_id_options = options.object("event_id");
    EventIdConfig event_id_config;
    if (Status status = bind_options(event_id_options, event_id_config); !status.ok()) return status;
    size_t slot;
    if (Status status =
            builder.add(event_id_config.field, "", builder.origin(event_id_options, "field", "event_id.field"), &slot);
        !status.ok())
      return status;
    stage->event_id_write = static_cast<int>(slot);
    stage->id_prefix_json = json::quoted(event_id_config.prefix);
    stage->id_prefix_json.pop_back();
  }
  if (cfg.ingest_time) {
    any = true;
    size_t slot;
    if (Status status = builder.add(cfg.ingest_time_field, "",
                                    builder.origin(options, "ingest_time_field", "ingest_time_field"), &slot);
        !status.ok())
      return status;
    stage->ingest_write = static_cast<int>(slot);
  }
  if (!any)
    return Status::error(options.error("",
                                       "nothing to do: set at least one of fields, host, add_pipeline, lookups, "
                                       "event_id, ingest_time, normalize_time"));

  if (options.has("overwrite_fields")) {
    YAML::Node overwrite = options.raw("overwrite_fields");
    for (auto it = overwrite.begin(); it != overwrite.end(); ++it) {
      std::string name = it->first.Scalar();
      std::string path = options.child_path("overwrite_fields") + "." + name;
      const std::string& mode = it->second.Scalar();
      if (mode != "true" && mode != "false")
        return Status::error(options.error_at(it->second, path, "expected true or false, got \"" + mode + "\""));
      auto existing = std::find_if(stage->writes.begin(), stage->writes.end(),
                                   [&](const Write& candidate) { return candidate.name == name; });
      if (existing == stage->writes.end()) {
        std::vector<std::string_view> names;
        for (const auto& added : stage->writes) names.push_back(added.name);
        std::string msg = "\"" + name + "\" is not a field this stage adds";
        msg += names.empty() ? std::string(" (it adds none)") : suggestion(name, names);
        return Status::error(options.error_at(it->first, path, msg));
      }
      existing->overwrite = mode == "true";
    }
  }
  out = std::move(stage);
  return {};
}

}  // namespace

const PluginInfo& enrich_stage_plugin() {
  static const PluginInfo info = PluginInfo::stage<make_enrich>(
      "enrich", "add static fields, host, pipeline, event id, ingest time and lookup columns; normalise a time field",
      kEnrichOptions);
  return info;
}

}  // namespace agentlog::plugins
