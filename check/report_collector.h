// Observes each record leaving the chain and each dead letter, and keeps what the report
// needs: counts, per-rule tallies with a few example lines, a bounded per-run timeline.
// It reads the record's parsed view (parsed again only when a stage edited the record) and
// never keeps record content other than the timeline's short fields.
#pragma once
#include <array>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "check/policy.h"
#include "check/report.h"
#include "core/config.h"
#include "core/pipeline.h"

namespace agentlog::check {

// Counts distinct string values up to a cap; the rest go to "(other)".
// A direct-mapped cache in front of a hash map: hot values (decisions, event types, the agents
// and runs that interleave) are found without hashing the whole string.
inline size_t quick_slot(std::string_view s) {
  if (s.empty()) return 0;
  return (s.size() * 7 + static_cast<uint8_t>(s.front()) * 3 + static_cast<uint8_t>(s.back()) * 5 +
          static_cast<uint8_t>(s[s.size() / 2]) * 11 + static_cast<uint8_t>(s[s.size() * 3 / 4])) & 63;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class ValueCounter {
 public:
  explicit ValueCounter(size_t cap = 1000) : cap_(cap) { recent_.fill(UINT32_MAX); }
  void set_cap(size_t cap) { cap_ = cap; }
  uint32_t add(std::string_view v);  // returns the value's index
  std::map<std::string, uint64_t> sorted() const;
  size_t size() const { return names_.size(); }
  const std::string& name(uint32_t i) const { return names_[i]; }

 private:
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> index_;
  std::vector<std::string> names_;
  std::vector<uint64_t> counts_;
  size_t cap_;
  uint32_t other_ = UINT32_MAX;
  std::array<uint32_t, 64> recent_;  // by quick_slot: an index into names_, or UINT32_MAX
 public:
  ValueCounter(const ValueCounter&) = delete;
};

class ReportCollector : public RecordObserver {
 public:
  ReportCollector(const PipelineSpec& spec, const Policy& policy);
  void on_record(Record& record, std::string_view source) override;
  void on_dead_letter(const Record& record, std::string_view source, std::string_view stage,
                      std::string_view reason) override;
  void on_batch(const RunStats& stats) override {
    if (progress_) progress_(stats);
  }
  std::function<void(const RunStats&)> progress_;

  // Builds the report and evaluates the policy (check/evaluate.cc).
  CheckReport finish(const RunStats& stats, const std::string& config_path);

 private:
  using Example = check::Example;
  using Tally = check::Tally;
  struct RunAcc {
    std::string id, first_time, last_time;
    uint64_t records = 0, violations = 0;
    std::vector<std::string> agents;
    std::array<uint64_t, 5> decisions{};  // allow, block, needs_review, unknown, other
    bool timeline = false;
    std::vector<TimelineEntry> events;
    uint64_t events_dropped = 0;
  };
  struct Escalation {
    uint32_t source = 0;
    uint64_t line = 0;
    bool resolved = false;
  };
  enum Slot : size_t;
  using SourceAcc = InputTally;

  uint32_t source_index(std::string_view name);
  void note(Tally& t, uint32_t source, uint64_t line, std::string note);
  void on_warning(simdjson::dom::object obj, uint32_t source, uint64_t line);
  void on_activity(Record& r, uint32_t source);
  RunAcc* run_for(std::string_view id);
  void escalation(std::string_view run, std::string_view event, std::string_view decision,
                  std::string_view agent, uint32_t source, uint64_t line);
  SourceAcc& source_acc(uint32_t source) {
    if (source < source_accs_.size() && source_accs_[source].by_class.size() >= dl_classes_.size()) [[likely]]
      return source_accs_[source];
    return grow_source_acc(source);
  }
  SourceAcc& grow_source_acc(uint32_t source);
  static bool same_text(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
  }
  uint32_t dead_letter_class(int stage, std::string_view stage_name, std::string_view reason);

  const PipelineSpec& spec_;
  const Policy& policy_;
  // The top-level fields read from every record: found in one pass over the members, by a
  // 256-bucket table on (length, first and last byte). Members stages appended after the
  // record's last parse (Record::view_and_appended) are parsed on their own and override.
  struct FieldBucket {
    uint8_t n = 0;
    std::array<uint16_t, 4> slots{};  // more names in one bucket go to `overflow_`
  };
  std::array<FieldBucket, 256> field_buckets_;
  std::vector<std::string_view> field_views_;  // views of field_names_ (stable once built)
  std::vector<uint16_t> overflow_;
  std::vector<std::optional<simdjson::dom::element>> found_;
  simdjson::dom::parser tail_parser_;
  std::string tail_text_;
  static size_t field_bucket(std::string_view k) {
    return (k.size() * 131 + static_cast<uint8_t>(k.front()) * 31 + static_cast<uint8_t>(k.back())) & 255;
  }
  int field_slot(std::string_view k) const;
  void scan(simdjson::dom::object o);
  const std::optional<simdjson::dom::element>& field(size_t slot) const { return found_[slot]; }
  std::optional<std::string_view> str(size_t slot) const;
  void extract(Record& r, simdjson::dom::element& root);
  std::vector<std::string> field_names_;  // by slot
  size_t fields_size_ = 0;
  std::vector<size_t> rule_field_slots_;  // RequiredFields: slots of rules' fields, flattened
  // Rules evaluated per record (required_fields, forbidden, max_unknown_share): the rule's
  // index and, for required_fields, its first entry in rule_field_slots_.
  std::vector<std::pair<size_t, size_t>> record_rules_;
  std::vector<std::string> sources_;
  std::vector<SourceAcc> source_accs_;         // by source index
  std::vector<uint64_t> kept_by_source_;       // kept data records by source index (hot path)
  std::vector<DeadLetterClass> dl_classes_;
  std::array<uint32_t, 5> input_classes_{UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};  // by kind
  std::vector<std::array<uint32_t, 2>> stage_classes_;  // by stage index, then unclassified
  std::vector<bool> is_validate_;                       // by stage index
  std::vector<uint64_t> validate_dead_letters_;  // by stage index: dead letters of validate stages
  uint64_t unclassified_seen_ = 0;
  int last_dl_stage_ = -1;
  bool last_dl_stage_known_ = false;
  std::string last_dl_stage_name_;
  uint32_t last_source_ = UINT32_MAX;
  std::string last_source_name_;

  ValueCounter event_types_, decisions_, agents_, tools_;
  std::vector<Histogram> durations_;  // by tool index
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> run_index_;
  std::vector<RunAcc> runs_;
  std::array<uint32_t, 64> recent_runs_;  // by quick_slot
  uint64_t other_runs_ = 0;

  std::vector<Tally> rule_tallies_;  // per policy rule (record rules)
  Tally schema_, redacted_, collision_examples_;
  uint64_t collisions_seen_ = 0;
  std::map<std::pair<std::string, std::string>, Tally> lifecycle_warnings_;  // (track, violation)
  std::vector<std::pair<std::string, LifecycleOutcomes>> outcomes_;          // by track (few)
  LifecycleOutcomes& outcomes(std::string_view track);
  uint64_t decided_ = 0, unknown_ = 0;
  std::vector<Escalation> escalations_;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> pending_escalations_;
  uint64_t escalation_records_ = 0;
  std::vector<std::string> terminal_events_, terminal_decisions_;
  std::string key_;  // scratch
};

}  // namespace agentlog::check
