// Stage `enrich`: the per-record process() (static fields, lookups, event id, time
// normalisation, ingest time) and its stats.
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

namespace agentlog::plugins::enrich_stage {

namespace {
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
}  // namespace

// Reads the time field; on success sets `json` to the canonical text when it differs.
// Called before any edit, so the parsed view and the bytes agree.
inline bool EnrichStage::normalize(Record& record, EnrichCounts& local_counts, const TopKeys::Found& found,
                                   std::string& json, std::string& error) {
  const auto& time_value = found[time_slot];
  std::optional<int64_t> epoch_ms;
  std::string_view time_text;
  bool is_string = false;
  if (!time_value) {
    error = "field is missing";
  } else if (time_value->get(time_text) == simdjson::SUCCESS) {
    is_string = true;
    epoch_ms = enrich::parse_time_value(time_text, true, &error);
  } else if (time_value->is_number()) {
    char buf[40];
    std::string_view text;
    int64_t i;
    uint64_t unsigned_value;
    double double_value;
    if (time_value->get(i) == simdjson::SUCCESS)
      text = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, i).ptr - buf);
    else if (time_value->get(unsigned_value) == simdjson::SUCCESS)
      text = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, unsigned_value).ptr - buf);
    else if (time_value->get(double_value) == simdjson::SUCCESS) {
      // A fraction or exponent: read the literal itself (a double may not hold all its digits).
      std::string_view bytes = record.bytes();
      if (auto span = json::find_top_level_member(bytes, time_field))
        text = bytes.substr(span->begin, span->end - span->begin);
      else text = std::string_view(buf, std::to_chars(buf, buf + sizeof buf, double_value).ptr - buf);
    }
    epoch_ms = enrich::parse_time_value(text, false, &error);
  } else {
    error = std::string("expected a string or a number, got ") + type_word(*time_value);
  }
  if (!epoch_ms) {
    ++local_counts.time_errors;
    return false;
  }
  ++local_counts.time_normalized;
  std::string canon = format_rfc3339_ms(*epoch_ms);
  if (!(is_string && time_text == canon)) json = json::quoted(canon);
  return true;
}

// The row of the record's key in the table, or -1.
inline int64_t EnrichStage::find_row(const Lookup& lk, simdjson::dom::element root, const TopKeys::Found& found) const {
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
inline void EnrichStage::append_members(Record& r, std::string_view members) {
  if (members.empty()) return;
  // The line in pieces: members held aside by earlier stages are joined in this one copy.
  Record::BytePieces p = r.byte_pieces();
  std::string_view b = p.held.empty() ? p.head : p.tail;  // the piece with the closing brace
  auto [close, empty] = object_end(b);
  if (close == std::string_view::npos) return;
  if (p.held.empty() && empty) members.remove_prefix(1);  // empty object: no comma
  // Built aside (the pieces may point into the record's own buffer), then copied into that
  // buffer: no allocation per record, and none freed on another worker's arena.
  thread_local std::string out;
  out.clear();
  if (!p.held.empty()) out.append(p.head).append(p.held);
  out.append(b.data(), close).append(members).append(b.data() + close, b.size() - close);
  bool generated = r.generated, expanded = r.expanded;  // reset_owned clears the flags of a fresh record
  r.reset_owned_copy(out);
  r.generated = generated;
  r.expanded = expanded;
}

inline void EnrichStage::put(Record& r, EnrichCounts& n, const TopKeys::Found& found, const Write& w, std::string_view json) {
  if (found[w.slot]) {
    if (w.overwrite) r.set_member_raw(w.name, json);
    else ++n.kept_existing;
  } else {
    r.add_member_raw(w.name, json);
  }
}

StageVerdict EnrichStage::process(Record& record) {
  EnrichCounts& local_counts = counts.local();
  thread_local std::string id_json;  // reused: no allocation per record
  id_json.clear();
  if (event_id_write >= 0) {  // hash the bytes before this stage edits anything
    Record::BytePieces pieces = record.byte_pieces();
    id_json.reserve(id_prefix_json.size() + 66);
    id_json.append(id_prefix_json);
    append_sha256_hex(id_json, {pieces.head, pieces.held, pieces.tail});
    id_json.resize(id_prefix_json.size() + 32);
    id_json.push_back('"');
  }
  // A lookup key below the top level reads the whole record, which joins the members held
  // aside and parses again: before the top-level reads, whose views that would invalidate.
  simdjson::dom::element root;
  if (nested_lookup_keys) root = record.root();
  TopKeys::Found& found = t_found;
  keys.scan(record, found);

  // Everything is read before the first edit: the parsed view is stale afterwards.
  std::string time_json, time_error;
  if (time_on && !normalize(record, local_counts, found, time_json, time_error) && on_error == OnError::DeadLetter)
    return StageVerdict::dead_letter(time_field + ": " + time_error);
  t_rows.resize(lookups.size());
  if (local_counts.hits.size() < lookups.size())
    local_counts.hits.resize(lookups.size()), local_counts.misses.resize(lookups.size());
  for (size_t i = 0; i < lookups.size(); ++i) {
    t_rows[i] = find_row(lookups[i], root, found);
    ++(t_rows[i] >= 0 ? local_counts.hits : local_counts.misses)[i];
  }
  bool any_present = false;
  for (const Write& write : writes) any_present |= found[write.slot].has_value();

  // Edits.
  if (!time_json.empty()) record.set_member_raw(time_field, time_json);
  if (!time_error.empty() && on_error == OnError::Tag) {
    std::string tag = "[{\"pointer\":" + json::quoted(time_pointer) + ",\"message\":" + json::quoted(time_error) + "}]";
    record.set_member_raw(errors_field, tag);
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
    append_members(record, app);
    return StageVerdict::keep();
  }
  for (size_t i = 0; i < n_static; ++i) put(record, local_counts, found, writes[i], writes[i].json);
  for (size_t i = 0; i < lookups.size(); ++i) {
    const Lookup& lookup = lookups[i];
    for (size_t c = 0; c < lookup.ncols; ++c)
      put(record, local_counts, found, writes[lookup.writes[c]],
          t_rows[i] >= 0 ? std::string_view(lookup.cells[static_cast<size_t>(t_rows[i]) * lookup.ncols + c])
                         : std::string_view(lookup.default_json));
  }
  if (event_id_write >= 0) put(record, local_counts, found, writes[event_id_write], id_json);
  if (ingest_write >= 0) put(record, local_counts, found, writes[ingest_write], ingest_json);
  return StageVerdict::keep();
}

std::string EnrichStage::stats_json() const {
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

}  // namespace agentlog::plugins::enrich_stage
