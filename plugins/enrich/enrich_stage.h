// Stage `enrich`'s stage class and the types it keeps, shared by enrich.cc (the per-record
// process() and stats) and enrich_config.cc (options, lookup tables and the factory).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/field_path.h"
#include "core/hash_index.h"
#include "core/top_fields.h"
#include "core/worker_slots.h"
#include "plugins/enrich/enrich.h"

namespace agentlog::plugins::enrich_stage {

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

class EnrichStage : public RecordStage {
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

  StageVerdict process(Record& r) override;
  std::string stats_json() const override;

 private:
  // enrich.cc: the per-record steps.
  bool normalize(Record& r, EnrichCounts& n, const TopKeys::Found& found, std::string& json, std::string& error);
  int64_t find_row(const Lookup& lk, simdjson::dom::element root, const TopKeys::Found& found) const;
  static void append_members(Record& r, std::string_view members);
  void put(Record& r, EnrichCounts& n, const TopKeys::Found& found, const Write& w, std::string_view json);
};

}  // namespace agentlog::plugins::enrich_stage
