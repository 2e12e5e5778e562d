#include "plugins/enrich/enrich.h"

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

// ---------------------------------------------------------------------------------------
// Shared helpers (also used by stage `map`).
// ---------------------------------------------------------------------------------------
namespace enrich {

bool is_json_number(std::string_view s) {
  size_t i = 0, n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    size_t b = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == b) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t b = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == b) return false;
  }
  return i == n;
}

std::string yaml_scalar_json(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  const std::string& s = node.Scalar();
  if (node.Tag() == "?") {  // plain (unquoted, untagged) scalar
    if (s == "true" || s == "false" || s == "null") return s;
    if (is_json_number(s)) return s;
  }
  return json::quoted(s);
}

std::string quoted_for_message(std::string_view s) {
  if (s.size() <= 64) return json::quoted(s);
  size_t cut = 64;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return json::quoted(s.substr(0, cut)) + "...";
}

namespace {
constexpr int64_t kMaxMs = 253402300799999;  // 9999-12-31T23:59:59.999Z
}

namespace {
// `shown` is the value as a message shows it: quoted when it came from a string.
std::optional<int64_t> epoch_impl(std::string_view text, const std::string& shown, EpochUnit* unit, std::string* why) {
  auto fail = [&](std::string m) -> std::optional<int64_t> {
    if (why) *why = std::move(m);
    return std::nullopt;
  };
  if (!is_json_number(text)) return fail(shown + " is not a number");
  if (text[0] == '-') return fail(shown + " is a negative epoch time");
  // value = digits * 10^exp10, exactly.
  std::string digits;
  int64_t exp10 = 0;
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') digits.push_back(text[i++]);
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      digits.push_back(text[i++]);
      --exp10;
    }
  }
  if (i < text.size()) {  // exponent
    ++i;
    bool neg = text[i] == '-';
    if (text[i] == '+' || text[i] == '-') ++i;
    int64_t e = 0;
    for (; i < text.size(); ++i) {
      e = e * 10 + (text[i] - '0');
      if (e > 1000) return fail(shown + " is out of range for an epoch time");
    }
    exp10 += neg ? -e : e;
  }
  size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) {
    digits = "0";
    exp10 = 0;
  } else {
    digits.erase(0, lead);
  }
  // Digits of the integer part of the value: its magnitude.
  int64_t int_digits = static_cast<int64_t>(digits.size()) + exp10;
  EpochUnit u;
  int64_t shift;  // to milliseconds
  if (int_digits <= 11) u = EpochUnit::Seconds, shift = 3;
  else if (int_digits <= 14) u = EpochUnit::Milliseconds, shift = 0;
  else if (int_digits <= 17) u = EpochUnit::Microseconds, shift = -3;
  else if (int_digits <= 20) u = EpochUnit::Nanoseconds, shift = -6;
  else return fail(shown + " is too large for an epoch time (1e20 or more)");
  int64_t e = exp10 + shift;
  if (e < 0) {
    if (static_cast<int64_t>(digits.size()) <= -e) digits = "0";
    else digits.resize(digits.size() - static_cast<size_t>(-e));  // cut toward zero (floor)
  } else {
    digits.append(static_cast<size_t>(e), '0');
  }
  if (digits.size() > 16) return fail(shown + " is out of range for an epoch time");
  int64_t ms = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), ms);
  if (ms > kMaxMs) return fail(shown + " is after 9999-12-31 as an epoch time");
  if (unit) *unit = u;
  return ms;
}

}  // namespace

std::optional<int64_t> parse_epoch(std::string_view text, EpochUnit* unit, std::string* why) {
  std::string shown = text.size() <= 64 ? std::string(text) : std::string(text.substr(0, 64)) + "...";
  return epoch_impl(text, shown, unit, why);
}

std::optional<int64_t> parse_time_value(std::string_view text, bool is_string, std::string* why) {
  if (!is_string) return parse_epoch(text, nullptr, why);
  if (auto ms = parse_rfc3339_ms(text)) return ms;
  if (is_json_number(text)) return epoch_impl(text, quoted_for_message(text), nullptr, why);
  if (why) *why = quoted_for_message(text) + " is not an RFC 3339 date-time or an epoch number";
  return std::nullopt;
}

}  // namespace enrich

// ---------------------------------------------------------------------------------------
// The stage.
// ---------------------------------------------------------------------------------------
namespace {

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

enum class OnError { DeadLetter, Tag, Keep };

// One field this stage writes.
struct Write {
  std::string name;
  std::string json;    // fixed value (static fields, host, pipeline); empty for per-record values
  std::string member;  // `,"name":` for the append fast path
  bool overwrite = true;
  size_t slot = 0;     // TopKeys slot telling whether the record has it
};

struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The top-level members this stage reads, from the record's shared member cache
// (Record::top_member): found with the other stages' names in one pass per parse, and
// members held aside by earlier stages are read without joining them to the line.
class TopKeys {
 public:
  using Found = std::vector<std::optional<simdjson::dom::element>>;

  size_t add(const std::string& name) {
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) return i;
    names_.push_back(name);
    ids_.push_back(TopFieldRegistry::intern(name));
    return names_.size() - 1;
  }
  // Fills `found` (one slot per name); the first of duplicate keys wins, as with set_member_raw.
  void scan(Record& r, Found& found) const {
    found.assign(names_.size(), std::nullopt);
    for (size_t i = 0; i < ids_.size(); ++i)
      if (const simdjson::dom::element* e = r.top_member(ids_[i])) found[i] = *e;
  }

 private:
  std::vector<std::string> names_;
  std::vector<uint32_t> ids_;
};

struct Lookup {
  std::string file;
  FieldPath key_path;
  size_t key_slot = SIZE_MAX;      // TopKeys slot when the key is a top-level field
  HashIndex index;                 // hash of a key -> row
  std::vector<std::string> keys;   // per row
  size_t ncols = 0;
  std::vector<std::string> cells;  // JSON text, row-major (rows x ncols)
  std::vector<std::string> rows;   // per row: `,"col":value,...` for the fast path
  std::vector<size_t> writes;      // per column: index into EnrichStage::writes
  std::string default_json, default_row;
};

// One worker's counts (the parallel runner enriches on several threads).
struct EnrichCounts {
  uint64_t kept_existing = 0, time_normalized = 0, time_errors = 0;
  std::vector<uint64_t> hits, misses;  // by lookup
};


// Per-thread scratch, so process() keeps no per-record state in the stage.
thread_local std::string t_append;  // members appended on the fast path
thread_local std::vector<int64_t> t_rows;
thread_local TopKeys::Found t_found;

const char* type_word(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: return "array";
    case simdjson::dom::element_type::OBJECT: return "object";
    case simdjson::dom::element_type::BOOL: return "boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
    default: return "string";
  }
}

class EnrichStage : public Stage {
 public:
  std::vector<Write> writes;
  TopKeys keys;
  size_t n_static = 0;        // writes[0, n_static): fields, host, pipeline
  std::string static_block;   // their `,"name":value` members, for the fast path
  std::vector<Lookup> lookups;
  int event_id_write = -1, ingest_write = -1;
  bool nested_lookup_keys = false;  // a lookup key path below the top level
  std::string id_prefix_json;  // `"` + escaped prefix
  bool time_on = false;
  std::string time_field, time_pointer;
  size_t time_slot = 0;
  OnError on_error = OnError::DeadLetter;
  std::string errors_field;
  PerWorker<EnrichCounts> counts;

  StageVerdict process(Record& r) override {
    EnrichCounts& n = counts.local();
    std::string id_json;
    if (event_id_write >= 0) {  // hash the bytes before this stage edits anything
      Record::BytePieces b = r.byte_pieces();
      id_json.reserve(id_prefix_json.size() + 66);
      id_json.append(id_prefix_json);
      append_sha256_hex(id_json, {b.head, b.held, b.tail});
      id_json.resize(id_prefix_json.size() + 32);
      id_json.push_back('"');
    }
    // A lookup key below the top level reads the whole record, which joins the members held
    // aside and parses again: before the top-level reads, whose views that would invalidate.
    simdjson::dom::element root;
    if (nested_lookup_keys) root = r.root();
    TopKeys::Found& found = t_found;
    keys.scan(r, found);

    // Everything is read before the first edit: the parsed view is stale afterwards.
    std::string time_json, time_error;
    if (time_on && !normalize(r, n, found, time_json, time_error) && on_error == OnError::DeadLetter)
      return StageVerdict::dead_letter(time_field + ": " + time_error);
    t_rows.resize(lookups.size());
    if (n.hits.size() < lookups.size()) n.hits.resize(lookups.size()), n.misses.resize(lookups.size());
    for (size_t i = 0; i < lookups.size(); ++i) {
      t_rows[i] = find_row(lookups[i], root, found);
      ++(t_rows[i] >= 0 ? n.hits : n.misses)[i];
    }
    bool any_present = false;
    for (const Write& w : writes) any_present |= found[w.slot].has_value();

    // Edits.
    if (!time_json.empty()) r.set_member_raw(time_field, time_json);
    if (!time_error.empty() && on_error == OnError::Tag) {
      std::string tag = "[{\"pointer\":" + json::quoted(time_pointer) + ",\"message\":" + json::quoted(time_error) + "}]";
      r.set_member_raw(errors_field, tag);
    }
    std::string ingest_json;
    if (ingest_write >= 0) {
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      ingest_json = json::quoted(format_rfc3339_ms(now));
    }
    if (!any_present) {
      // Fast path: the record has none of the fields, so all of them are appended at once.
      std::string& app = t_append;
      app.clear();
      app += static_block;
      for (size_t i = 0; i < lookups.size(); ++i)
        app += t_rows[i] >= 0 ? lookups[i].rows[static_cast<size_t>(t_rows[i])] : lookups[i].default_row;
      if (event_id_write >= 0) app.append(writes[event_id_write].member).append(id_json);
      if (ingest_write >= 0) app.append(writes[ingest_write].member).append(ingest_json);
      append_members(r, app);
      return StageVerdict::keep();
    }
    for (size_t i = 0; i < n_static; ++i) put(r, n, found, writes[i], writes[i].json);
    for (size_t i = 0; i < lookups.size(); ++i) {
      const Lookup& lk = lookups[i];
      for (size_t c = 0; c < lk.ncols; ++c)
        put(r, n, found, writes[lk.writes[c]],
            t_rows[i] >= 0 ? std::string_view(lk.cells[static_cast<size_t>(t_rows[i]) * lk.ncols + c])
                           : std::string_view(lk.default_json));
    }
    if (event_id_write >= 0) put(r, n, found, writes[event_id_write], id_json);
    if (ingest_write >= 0) put(r, n, found, writes[ingest_write], ingest_json);
    return StageVerdict::keep();
  }

  std::string stats_json() const override {
    EnrichCounts total;
    total.hits.resize(lookups.size());
    total.misses.resize(lookups.size());
    counts.each([&](const EnrichCounts& c) {
      total.kept_existing += c.kept_existing;
      total.time_normalized += c.time_normalized;
      total.time_errors += c.time_errors;
      for (size_t i = 0; i < c.hits.size(); ++i) total.hits[i] += c.hits[i], total.misses[i] += c.misses[i];
    });
    std::string out = "\"kept_existing\":" + std::to_string(total.kept_existing);
    if (time_on)
      out += ",\"time_normalized\":" + std::to_string(total.time_normalized) +
             ",\"time_errors\":" + std::to_string(total.time_errors);
    if (!lookups.empty()) {
      out += ",\"lookups\":[";
      for (size_t i = 0; i < lookups.size(); ++i) {
        if (i) out += ",";
        out += "{\"file\":" + json::quoted(lookups[i].file) + ",\"hits\":" + std::to_string(total.hits[i]) +
               ",\"misses\":" + std::to_string(total.misses[i]) + "}";
      }
      out += "]";
    }
    return out;
  }

 private:
  // Reads the time field; on success sets `json` to the canonical text when it differs.
  // Called before any edit, so the parsed view and the bytes agree.
  bool normalize(Record& r, EnrichCounts& n, const TopKeys::Found& found, std::string& json, std::string& error) {
    const auto& v = found[time_slot];
    std::optional<int64_t> ms;
    std::string_view s;
    bool is_string = false;
    if (!v) {
      error = "field is missing";
    } else if (v->get(s) == simdjson::SUCCESS) {
      is_string = true;
      ms = enrich::parse_time_value(s, true, &error);
    } else if (v->is_number()) {
      char buf[40];
      std::string_view text;
      int64_t i;
      uint64_t u;
      double d;
      if (v->get(i) == simdjson::SUCCESS) text = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, i).ptr - buf);
      else if (v->get(u) == simdjson::SUCCESS) text = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, u).ptr - buf);
      else if (v->get(d) == simdjson::SUCCESS) {
        // A fraction or exponent: read the literal itself (a double may not hold all its digits).
        std::string_view b = r.bytes();
        if (auto span = json::find_top_level_member(b, time_field)) text = b.substr(span->begin, span->end - span->begin);
        else text = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, d).ptr - buf);
      }
      ms = enrich::parse_time_value(text, false, &error);
    } else {
      error = std::string("expected a string or a number, got ") + type_word(*v);
    }
    if (!ms) {
      ++n.time_errors;
      return false;
    }
    ++n.time_normalized;
    std::string canon = format_rfc3339_ms(*ms);
    if (!(is_string && s == canon)) json = json::quoted(canon);
    return true;
  }

  // The row of the record's key in the table, or -1.
  int64_t find_row(const Lookup& lk, simdjson::dom::element root, const TopKeys::Found& found) const {
    std::optional<simdjson::dom::element> kv =
        lk.key_slot != SIZE_MAX ? found[lk.key_slot] : lookup(root, lk.key_path);
    if (kv) {
      std::string_view key;
      char buf[24];
      int64_t iv;
      uint64_t uv;
      bool have = true;
      if (kv->get(key) == simdjson::SUCCESS) {
      } else if (kv->get(iv) == simdjson::SUCCESS) {
        key = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, iv).ptr - buf);
      } else if (kv->get(uv) == simdjson::SUCCESS) {
        key = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, uv).ptr - buf);
      } else {
        have = false;
      }
      if (have) {
        uint32_t row = lk.index.find(hash_key(key), [&](uint32_t r) { return lk.keys[r] == key; });
        if (row != HashIndex::kNone) return row;
      }
    }
    return -1;
  }

  // Appends `members` (`,"k":v...`) before the record's closing brace in one copy.
  static void append_members(Record& r, std::string_view members) {
    if (members.empty()) return;
    // The line in pieces: members held aside by earlier stages are joined in this one copy.
    Record::BytePieces p = r.byte_pieces();
    std::string_view b = p.held.empty() ? p.head : p.tail;  // the piece with the closing brace
    size_t close = b.rfind('}');
    if (close == std::string_view::npos) return;
    if (p.held.empty()) {
      size_t k = close;
      while (k > 0 && (b[k - 1] == ' ' || b[k - 1] == '\t' || b[k - 1] == '\n' || b[k - 1] == '\r')) --k;
      if (k > 0 && b[k - 1] == '{') members.remove_prefix(1);  // empty object: no comma
    }
    std::string out;
    out.reserve(p.head.size() + p.held.size() + p.tail.size() + members.size() + simdjson::SIMDJSON_PADDING);
    if (!p.held.empty()) out.append(p.head).append(p.held);
    out.append(b.data(), close).append(members).append(b.data() + close, b.size() - close);
    bool generated = r.generated, expanded = r.expanded;  // reset_owned clears the flags of a fresh record
    r.reset_owned(std::move(out));
    r.generated = generated;
    r.expanded = expanded;
  }

  void put(Record& r, EnrichCounts& n, const TopKeys::Found& found, const Write& w, std::string_view json) {
    if (found[w.slot]) {
      if (w.overwrite) r.set_member_raw(w.name, json);
      else ++n.kept_existing;
    } else {
      r.add_member_raw(w.name, json);
    }
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

Status build_lookup(const OptionView& lo, size_t index, Builder& b, EnrichStage& st) {
  Lookup lk;
  std::string file = lo.str("file");
  lk.file = file;
  std::string format = lo.str("format");
  if (format == "auto") {
    if (file.ends_with(".csv")) format = "csv";
    else if (file.ends_with(".yaml") || file.ends_with(".yml")) format = "yaml";
    else
      return Status::error(lo.error("file", "cannot tell the format of \"" + file +
                                                "\" from its name; set format: csv or format: yaml"));
  }
  if (format == "yaml" && lo.has("key_column"))
    return Status::error(lo.error("key_column", "is for CSV tables; a YAML table's keys are its mapping keys"));
  std::string text;
  if (!read_whole(file, text)) return Status::error(lo.error("file", "cannot read lookup file \"" + file + "\""));
  Table table;
  size_t key_index = SIZE_MAX;
  std::string err;
  bool ok = format == "csv" ? load_csv(text, file, lo.str("key_column"), table, key_index, err)
                            : load_yaml_table(text, file, table, err);
  if (!ok) {
    if (err.rfind("key column ", 0) == 0) return Status::error(lo.error("key_column", err));
    return Status::error(lo.error("file", err));
  }

  FieldPath key;
  if (!parse_field_path(lo.str("key"), key))
    return Status::error(lo.error("key", "invalid field path \"" + lo.str("key") + "\""));
  if (key.parts.size() == 1) lk.key_slot = st.keys.add(key.parts[0]);
  else st.nested_lookup_keys = true;
  lk.key_path = key;

  // Columns: the requested ones, or every column but the CSV key column.
  std::vector<size_t> cols;
  std::vector<YAML::Node> col_nodes;
  if (lo.has("columns")) {
    YAML::Node list = lo.raw("columns");
    if (list.size() == 0) return Status::error(lo.error("columns", "must list at least one column"));
    std::vector<std::string_view> names(table.columns.begin(), table.columns.end());
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string& c = list[i].Scalar();
      auto it = std::find(table.columns.begin(), table.columns.end(), c);
      std::string path = lo.child_path("columns") + "[" + std::to_string(i) + "]";
      if (it == table.columns.end()) {
        std::string msg = "column \"" + c + "\" is not in " + file;
        msg += names.empty() ? std::string(" (the table has no columns)") : suggestion(c, names);
        return Status::error(lo.error_at(list[i], path, msg));
      }
      cols.push_back(static_cast<size_t>(it - table.columns.begin()));
      col_nodes.push_back(list[i]);
    }
  } else {
    for (size_t c = 0; c < table.columns.size(); ++c)
      if (c != key_index) {
        cols.push_back(c);
        col_nodes.push_back(lo.node());
      }
    if (cols.empty()) return Status::error(lo.error("file", file + " has no columns to add"));
  }

  std::string prefix = lo.str("prefix");
  lk.default_json = lo.has("default") ? yaml_scalar_json(lo.raw("default")) : json::quoted("unknown");
  lk.ncols = cols.size();
  for (size_t i = 0; i < cols.size(); ++i) {
    const std::string& col = table.columns[cols[i]];
    std::string label = "lookups[" + std::to_string(index) + "] (column " + col + ")";
    std::string path = lo.has("columns") ? lo.child_path("columns") + "[" + std::to_string(i) + "]" : lo.path();
    size_t w;
    if (Status s = b.add(prefix + col, "", Origin{col_nodes[i], path, label}, &w); !s.ok()) return s;
    lk.writes.push_back(w);
  }
  for (size_t r = 0; r < table.keys.size(); ++r) {
    lk.index.insert(hash_key(table.keys[r]), static_cast<uint32_t>(r));  // keys are unique (the table loader checks)
    lk.keys.push_back(table.keys[r]);
    std::string row;
    for (size_t i = 0; i < cols.size(); ++i) {
      lk.cells.push_back(table.cells[r][cols[i]]);
      row += st.writes[lk.writes[i]].member + table.cells[r][cols[i]];
    }
    lk.rows.push_back(std::move(row));
  }
  for (size_t i = 0; i < cols.size(); ++i) lk.default_row += st.writes[lk.writes[i]].member + lk.default_json;
  st.lookups.push_back(std::move(lk));
  return {};
}

Status make_enrich(const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<EnrichStage>();
  Builder b(o, *st);
  b.global_overwrite = o.boolean("overwrite");
  bool any = false;

  // normalize_time first: it claims its field so no other option writes it.
  if (o.has("normalize_time")) {
    any = true;
    OptionView t = o.object("normalize_time");
    st->time_on = true;
    st->time_field = t.str("field");
    if (st->time_field.empty()) return Status::error(t.error("field", "must not be empty"));
    if (Status s = b.claim(st->time_field, b.origin(t, "field", "normalize_time.field")); !s.ok()) return s;
    st->time_slot = st->keys.add(st->time_field);
    st->time_pointer = "/";
    for (char c : st->time_field) {
      if (c == '~') st->time_pointer += "~0";
      else if (c == '/') st->time_pointer += "~1";
      else st->time_pointer.push_back(c);
    }
    std::string on = t.str("on_error");
    st->on_error = on == "tag" ? OnError::Tag : on == "keep" ? OnError::Keep : OnError::DeadLetter;
    st->errors_field = t.str("errors_field");
    if (st->on_error == OnError::Tag) {
      if (st->errors_field.empty()) return Status::error(t.error("errors_field", "must not be empty"));
      if (Status s = b.claim(st->errors_field, b.origin(t, "errors_field", "normalize_time.errors_field")); !s.ok())
        return s;
    }
  }

  if (o.has("fields")) {
    YAML::Node m = o.raw("fields");
    for (auto it = m.begin(); it != m.end(); ++it) {
      any = true;
      std::string name = it->first.Scalar();
      std::string path = o.child_path("fields") + "." + name;
      if (Status s = b.add(name, yaml_scalar_json(it->second), Origin{it->first, path, "fields." + name}, nullptr);
          !s.ok())
        return s;
    }
  }
  if (o.boolean("host")) {
    any = true;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0)
      return Status::error(o.error("host", std::string("cannot read the host name: ") + std::strerror(errno)));
    if (Status s = b.add(o.str("host_field"), json::quoted(host), b.origin(o, "host_field", "host_field"), nullptr);
        !s.ok())
      return s;
  }
  if (o.has("add_pipeline")) {
    any = true;
    OptionView p = o.object("add_pipeline");
    if (Status s = b.add(p.str("name_field"), json::quoted(p.str("name")),
                         b.origin(p, "name_field", "add_pipeline.name_field"), nullptr);
        !s.ok())
      return s;
    if (p.has("version"))
      if (Status s = b.add(p.str("version_field"), json::quoted(p.str("version")),
                           b.origin(p, "version_field", "add_pipeline.version_field"), nullptr);
          !s.ok())
        return s;
  }
  st->n_static = st->writes.size();
  for (const Write& w : st->writes) st->static_block += w.member + w.json;

  auto lookups = o.objects("lookups");
  if (o.has("lookups") && lookups.empty()) return Status::error(o.error("lookups", "must list at least one lookup"));
  for (size_t i = 0; i < lookups.size(); ++i) {
    any = true;
    if (Status s = build_lookup(lookups[i], i, b, *st); !s.ok()) return s;
  }
  if (o.has("event_id")) {
    any = true;
    OptionView e = o.object("event_id");
    size_t w;
    if (Status s = b.add(e.str("field"), "", b.origin(e, "field", "event_id.field"), &w); !s.ok()) return s;
    st->event_id_write = static_cast<int>(w);
    st->id_prefix_json = json::quoted(e.str("prefix"));
    st->id_prefix_json.pop_back();
  }
  if (o.boolean("ingest_time")) {
    any = true;
    size_t w;
    if (Status s = b.add(o.str("ingest_time_field"), "", b.origin(o, "ingest_time_field", "ingest_time_field"), &w);
        !s.ok())
      return s;
    st->ingest_write = static_cast<int>(w);
  }
  if (!any)
    return Status::error(o.error("", "nothing to do: set at least one of fields, host, add_pipeline, lookups, "
                                     "event_id, ingest_time, normalize_time"));

  if (o.has("overwrite_fields")) {
    YAML::Node m = o.raw("overwrite_fields");
    for (auto it = m.begin(); it != m.end(); ++it) {
      std::string name = it->first.Scalar();
      std::string path = o.child_path("overwrite_fields") + "." + name;
      const std::string& v = it->second.Scalar();
      if (v != "true" && v != "false")
        return Status::error(o.error_at(it->second, path, "expected true or false, got \"" + v + "\""));
      auto w = std::find_if(st->writes.begin(), st->writes.end(), [&](const Write& x) { return x.name == name; });
      if (w == st->writes.end()) {
        std::vector<std::string_view> names;
        for (const auto& x : st->writes) names.push_back(x.name);
        std::string msg = "\"" + name + "\" is not a field this stage adds";
        msg += names.empty() ? std::string(" (it adds none)") : suggestion(name, names);
        return Status::error(o.error_at(it->first, path, msg));
      }
      w->overwrite = v == "true";
    }
  }
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& enrich_stage_plugin() {
  static const PluginInfo info{"enrich", PluginKind::Stage,
                               "add static fields, host, pipeline, event id, ingest time and lookup columns; "
                               "normalise a time field",
                               kEnrichOptions, make_enrich, nullptr, nullptr};
  return info;
}

}  // namespace agentlog::plugins
