#include "check/report_collector.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace agentlog::check {
namespace {

// Top-level fields read from every record, in slot order.
constexpr std::string_view kFields[] = {"event_type", "decision",   "agent_id",      "user_id",     "tool_name",
                                        "tool_action", "tool_target", "run_id",      "event_time",  "timestamp",
                                        "action_id",  "escalation_id", "error_code", "lifecycle",   "redactions",
                                        "collision",  "description", "summary",      "latency_ms"};
enum : size_t {
  kEventType, kDecision, kAgent, kUser, kTool, kAction, kTarget, kRun, kTime, kTimestamp,
  kActionId, kEscalationId, kErrorCode, kLifecycle, kRedactions, kCollision, kDescription, kSummary, kLatency,
  kFieldCount
};
static_assert(std::size(kFields) == kFieldCount);

constexpr size_t kMaxText = 120;

// Cuts at a UTF-8 boundary.
std::string cut(std::string_view s, size_t n = kMaxText) {
  if (s.size() <= n) return std::string(s);
  size_t k = n;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  return std::string(s.substr(0, k)) + "…";
}

int decision_index(std::string_view d) {
  if (d == "allow") return 0;
  if (d == "block") return 1;
  if (d == "needs_review") return 2;
  if (d == "unknown") return 3;
  return 4;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A prefix test the compiler inlines (string_view::starts_with is an out-of-line call here).
inline bool has_prefix(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && std::memcmp(s.data(), p.data(), p.size()) == 0;
}

std::string_view str_of(simdjson::dom::object o, std::string_view key) {
  std::string_view s;
  if (o.at_key(key).get(s) != simdjson::SUCCESS) return {};
  return s;
}

}  // namespace

void Histogram::add(uint64_t v) {
  if (n_ < kExact) {
    exact_.push_back(v);
    ++n_;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
    return;
  }
  if (!exact_.empty()) fold();
  size_t b = bucket(v);
  if (b >= counts_.size()) counts_.resize(b + 1);
  ++counts_[b];
  ++n_;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::fold() {
  for (uint64_t v : exact_) {
    size_t b = bucket(v);
    if (b >= counts_.size()) counts_.resize(b + 1);
    ++counts_[b];
  }
  std::vector<uint64_t>().swap(exact_);
}

size_t Histogram::bucket(uint64_t v) {
  if (v < 256) return v;
  int e = 63 - std::countl_zero(v);  // >= 8
  return 256 + static_cast<size_t>(e - 8) * 128 + ((v >> (e - 7)) & 127);
}

uint64_t Histogram::lower_bound(size_t b) {
  if (b < 256) return b;
  size_t e = (b - 256) / 128 + 8, sub = (b - 256) % 128;
  return (128 + sub) << (e - 7);
}

std::map<size_t, uint64_t> Histogram::buckets() const {
  std::map<size_t, uint64_t> out;
  for (size_t b = 0; b < counts_.size(); ++b)
    if (counts_[b]) out[b] = counts_[b];
  return out;
}

// Bucket counts of another histogram (one that was folded): this one folds too.
void Histogram::add_buckets(const std::map<size_t, uint64_t>& b, uint64_t min, uint64_t max) {
  if (b.empty()) return;
  if (!exact_.empty()) fold();
  for (const auto& [i, n] : b) {
    if (i >= counts_.size()) counts_.resize(i + 1);
    counts_[i] += n;
    n_ += n;
  }
  min_ = std::min(min_, min);
  max_ = std::max(max_, max);
}

Durations Histogram::summary() const {
  Durations d;
  d.count = n_;
  if (n_ == 0) return d;
  d.min = min_;
  d.max = max_;
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  std::vector<uint64_t> sorted = exact_;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](uint64_t p) {
    uint64_t rank = std::max<uint64_t>(1, (n_ * p + 99) / 100), seen = 0;
    if (!sorted.empty()) return sorted[rank - 1];
    for (size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen >= rank) return std::clamp(lower_bound(b), min_, max_);
    }
    return max_;
  };
  d.p50 = pct(50);
  d.p90 = pct(90);
  d.p99 = pct(99);
  return d;
}

uint32_t ValueCounter::add(std::string_view value) {
  uint32_t& hot = recent_[quick_slot(value)];
  if (hot != UINT32_MAX && names_[hot] == value) {
    ++counts_[hot];
    return hot;
  }
  auto it = index_.find(value);
  uint32_t i;
  if (it != index_.end()) {
    i = it->second;
  } else if (names_.size() < cap_) {
    i = static_cast<uint32_t>(names_.size());
    names_.emplace_back(value);
    counts_.push_back(0);
    index_.emplace(std::string(value), i);
  } else {
    if (other_ == UINT32_MAX) {
      other_ = static_cast<uint32_t>(names_.size());
      names_.emplace_back("(other)");
      counts_.push_back(0);
    }
    i = other_;
  }
  ++counts_[i];
  if (i != other_) hot = i;
  return i;
}

std::map<std::string, uint64_t> ValueCounter::sorted() const {
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < names_.size(); ++i) out[names_[i]] += counts_[i];
  return out;
}

ReportCollector::ReportCollector(const PipelineSpec& spec, const Policy& policy) : spec_(spec), policy_(policy) {
  auto add = [&](std::string_view name) -> size_t {
    for (size_t i = 0; i < field_names_.size(); ++i)
      if (field_names_[i] == name) return i;
    field_names_.emplace_back(name);
    uint16_t slot = static_cast<uint16_t>(field_names_.size() - 1);
    if (name.empty()) return slot;
    FieldBucket& bucket = field_buckets_[field_bucket(name)];
    if (bucket.n < bucket.slots.size()) bucket.slots[bucket.n++] = slot;
    else overflow_.push_back(slot);
    return slot;
  };
  for (auto f : kFields) add(f);
  for (size_t i = 0; i < policy.rules.size(); ++i) {
    const Rule& rule = policy.rules[i];
    if (rule.type == RuleType::RequiredFields) {
      record_rules_.push_back({i, rule_field_slots_.size()});
      for (const auto& field : rule.fields) rule_field_slots_.push_back(add(field));
    } else if (rule.type == RuleType::Forbidden || rule.type == RuleType::MaxUnknownShare) {
      record_rules_.push_back({i, 0});
    }
  }
  fields_size_ = field_names_.size();
  found_.resize(fields_size_);
  for (const auto& n : field_names_) field_views_.emplace_back(n);
  rule_tallies_.resize(policy.rules.size());
  for (const auto& s : spec.stages) is_validate_.push_back(s.type == "validate");
  stage_classes_.resize(spec.stages.size(), {UINT32_MAX, UINT32_MAX});
  recent_runs_.fill(UINT32_MAX);
  for (ValueCounter* c : {&event_types_, &decisions_, &agents_, &tools_}) c->set_cap(policy.limits.max_values);
  terminal_events_ = {"tool_result"};
  terminal_decisions_ = {"allow", "block"};
  for (const auto& rule : policy.rules)
    if (rule.type == RuleType::EscalationsResolved) {
      terminal_events_ = rule.terminal_events;
      terminal_decisions_ = rule.terminal_decisions;
      break;
    }
}

uint32_t ReportCollector::source_index(std::string_view name) {
  if (last_source_ != UINT32_MAX && same_text(name, last_source_name_)) return last_source_;
  auto it = std::find(sources_.begin(), sources_.end(), name);
  if (it == sources_.end()) {
    sources_.emplace_back(name);
    it = sources_.end() - 1;
  }
  last_source_name_.assign(name);
  return last_source_ = static_cast<uint32_t>(it - sources_.begin());
}

void ReportCollector::note(Tally& t, uint32_t source, uint64_t line, std::string why) {
  ++t.count;
  if (t.examples.size() < policy_.limits.examples) t.examples.push_back({source, line, std::move(why)});
}

ReportCollector::SourceAcc& ReportCollector::grow_source_acc(uint32_t source) {
  if (source >= source_accs_.size()) source_accs_.resize(source + 1);
  SourceAcc& a = source_accs_[source];
  a.by_class.resize(dl_classes_.size());
  a.examples.resize(dl_classes_.size());
  return a;
}

// The class of a dead letter: its stats key (`input.<kind>` from the input's fixed reason texts,
// else the stage's name) and, for a validate stage, whether the record belongs to no family.
// Classes are found by (input kind) or (stage, unclassified) without building the key again.
uint32_t ReportCollector::dead_letter_class(int stage, std::string_view stage_name, std::string_view reason) {
  static constexpr std::string_view kKinds[] = {"malformed_json", "invalid_utf8", "not_an_object", "line_too_long",
                                                "other"};
  uint32_t* slot;
  DeadLetterClass c;
  if (stage >= 0) c.stage_type = spec_.stages[stage].type;
  if (stage < 0) {
    // The input's reasons differ in their first byte; the prefix is checked for that one only.
    static constexpr std::string_view kPrefixes[] = {"malformed JSON", "invalid UTF-8", "not a JSON object",
                                                     "line is longer"};
    size_t kind = reason.empty() ? 4 : reason[0] == 'm' ? 0 : reason[0] == 'i' ? 1 : reason[0] == 'n' ? 2
                                     : reason[0] == 'l' ? 3 : 4;
    if (kind < 4 && !has_prefix(reason, kPrefixes[kind])) kind = 4;
    slot = &input_classes_[kind];
    if (*slot != UINT32_MAX) return *slot;
    c.key = "input." + std::string(kKinds[kind]);
  } else {
    c.unclassified = is_validate_[stage] && has_prefix(reason, "unclassified");
    slot = &stage_classes_[stage][c.unclassified];
    if (*slot != UINT32_MAX) return *slot;
    c.key = stage_name;
  }
  dl_classes_.push_back(std::move(c));
  return *slot = static_cast<uint32_t>(dl_classes_.size() - 1);
}

void ReportCollector::on_dead_letter(const Record& record, std::string_view source_name, std::string_view stage,
                                     std::string_view reason) {
  uint32_t source = source_index(source_name);
  // The stage by name; dead letters come in runs from one stage, so the last one is kept.
  int stage_i = last_dl_stage_;
  if (!last_dl_stage_known_ || !same_text(stage, last_dl_stage_name_)) {
    stage_i = -1;
    for (size_t i = 0; i < spec_.stages.size() && stage_i < 0; ++i)
      if (spec_.stages[i].name == stage) stage_i = static_cast<int>(i);
    last_dl_stage_ = stage_i;
    last_dl_stage_name_.assign(stage);
    last_dl_stage_known_ = true;
  }
  uint32_t cls = dead_letter_class(stage_i, stage, reason);
  SourceAcc& acc = source_acc(source);
  ++acc.dead;
  ++acc.by_class[cls];
  // Examples for the dead-letter rules of the first max_values inputs (the others are summed).
  if (source < policy_.limits.max_values && acc.examples[cls].size() < policy_.limits.examples)
    acc.examples[cls].push_back({source, record.line, std::string(stage) + ": " + cut(reason, 200)});
  if (stage_i < 0 || !is_validate_[stage_i]) return;
  if (validate_dead_letters_.size() < spec_.stages.size()) validate_dead_letters_.resize(spec_.stages.size());
  ++validate_dead_letters_[stage_i];
  if (dl_classes_[cls].unclassified) ++unclassified_seen_;
  if (schema_.examples.size() < policy_.limits.examples)
    schema_.examples.push_back({source, record.line, std::string(stage) + ": " + cut(reason, 200)});
}

LifecycleOutcomes& ReportCollector::outcomes(std::string_view track) {
  for (auto& [name, o] : outcomes_)
    if (name == track) return o;
  return outcomes_.emplace_back(std::string(track), LifecycleOutcomes{}).second;
}

ReportCollector::RunAcc* ReportCollector::run_for(std::string_view id) {
  uint32_t& hot = recent_runs_[quick_slot(id)];
  if (hot != UINT32_MAX && runs_[hot].id == id) return &runs_[hot];
  auto it = run_index_.find(id);
  if (it != run_index_.end()) return &runs_[hot = it->second];
  if (runs_.size() >= policy_.limits.max_runs) return nullptr;
  runs_.emplace_back();
  RunAcc& r = runs_.back();
  r.id = id;
  r.timeline = runs_.size() <= policy_.limits.timeline_runs;
  hot = static_cast<uint32_t>(runs_.size() - 1);
  run_index_.emplace(r.id, hot);
  return &r;
}

std::optional<std::string_view> ReportCollector::str(size_t slot) const {
  std::string_view s;
  const auto& v = found_[slot];
  if (v && v->get(s) == simdjson::SUCCESS) return s;
  return std::nullopt;
}

int ReportCollector::field_slot(std::string_view k) const {
  if (k.empty()) return -1;
  const FieldBucket& b = field_buckets_[field_bucket(k)];
  for (uint8_t i = 0; i < b.n; ++i) {
    std::string_view name = field_views_[b.slots[i]];
    if (name.size() == k.size() && std::memcmp(name.data(), k.data(), k.size()) == 0) return b.slots[i];
  }
  for (uint16_t s : overflow_)
    if (field_views_[s] == k) return s;
  return -1;
}

// The first of duplicate keys wins, as with simdjson's at_key; appended members are new names.
void ReportCollector::scan(simdjson::dom::object o) {
  for (auto m : o) {
    int s = field_slot(m.key);
    if (s >= 0 && !found_[s]) found_[s] = m.value;
  }
}

// Reads the record's fields. A record that stages only annotated since it was last parsed
// (the common case: lifecycle, redactions, collision marks) is read from that parse plus its
// small appended tail, instead of parsing the whole record again.
void ReportCollector::extract(Record& r, simdjson::dom::element& root) {
  std::fill(found_.begin(), found_.end(), std::nullopt);
  std::string_view appended;
  bool reuse = r.view_and_appended(root, appended);
  if (!reuse) root = r.root();
  simdjson::dom::object obj;
  if (root.get(obj) != simdjson::SUCCESS) return;
  scan(obj);
  if (!reuse || appended.empty()) return;
  if (appended.front() == ',') appended.remove_prefix(1);
  tail_text_.assign("{");
  tail_text_.append(appended);
  tail_text_.push_back('}');
  tail_text_.reserve(tail_text_.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::object tail;
  if (tail_parser_.parse(tail_text_).get(tail) == simdjson::SUCCESS) {
    scan(tail);
    return;
  }
  // Cannot happen for valid edits; read the whole record then.
  std::fill(found_.begin(), found_.end(), std::nullopt);
  root = r.root();
  if (root.get(obj) == simdjson::SUCCESS) scan(obj);
}

void ReportCollector::on_record(Record& r, std::string_view source_name) {
  uint32_t source = source_index(source_name);
  // Diagnostics (warnings) are reported as such; records a stage expanded from a line
  // (normalize) are activity like input records.
  if (r.diagnostic()) {
    simdjson::dom::object obj;
    if (r.root().get(obj) == simdjson::SUCCESS) on_warning(obj, source, r.line);
    return;
  }
  if (source >= kept_by_source_.size()) kept_by_source_.resize(source + 1);
  ++kept_by_source_[source];
  simdjson::dom::element root;
  extract(r, root);
  if (!root.is_object()) return;
  on_activity(r, source);
}

void ReportCollector::on_warning(simdjson::dom::object obj, uint32_t source, uint64_t line) {
  std::string_view type = str_of(obj, "event_type");
  // Cite the line the warning is about: the last of its `lines`, else its origin.
  uint32_t at_source = source;
  uint64_t at_line = line;
  simdjson::dom::array lines;
  if (obj.at_key("lines").get(lines) == simdjson::SUCCESS && lines.size() > 0) {
    simdjson::dom::object last;
    if (lines.at(lines.size() - 1).get(last) == simdjson::SUCCESS) {
      at_source = source_index(str_of(last, "source"));
      uint64_t line_no = 0;
      if (last.at_key("line").get(line_no) == simdjson::SUCCESS) at_line = line_no;
    }
  }
  std::string_view run = str_of(obj, "run_id");
  if (type == "lifecycle_violation") {
    std::string track(str_of(obj, "track")), violation(str_of(obj, "violation"));
    std::string_view key = str_of(obj, "key");
    note(lifecycle_warnings_[{track, violation}], at_source, at_line, violation + " " + track + " " + cut(key, 80));
    if (violation == "orphan") ++outcomes(track).orphaned;
    else if (violation == "open_at_end" || violation == "timeout" || violation == "evicted") ++outcomes(track).open;
    if (run.empty()) run = key.substr(0, key.find('/'));
  } else if (type == "instrumentation_warning" && str_of(obj, "warning") == "action_id_collision") {
    ++collisions_seen_;
    note(collision_examples_, at_source, at_line,
         cut(str_of(obj, "action_id"), 60) + " established by " + cut(str_of(obj, "established_by"), 40) +
             ", reused by " + cut(str_of(obj, "reused_by"), 40));
  } else {
    return;
  }
  if (run.empty()) return;
  auto it = run_index_.find(run);
  if (it != run_index_.end()) ++runs_[it->second].violations;
}

void ReportCollector::on_activity(Record& rec, uint32_t source) {
  const ReportCollector& fields = *this;
  std::string_view event = fields.str(kEventType).value_or("");
  std::string_view decision = fields.str(kDecision).value_or("");
  std::string_view agent = fields.str(kAgent).value_or(fields.str(kUser).value_or(""));
  std::string_view tool = fields.str(kTool).value_or("");
  std::string_view run_id = fields.str(kRun).value_or("");
  std::string_view time = fields.str(kTime).value_or(fields.str(kTimestamp).value_or(""));
  if (event.empty() && !fields.field(kEventType) && fields.field(kUser)) event = "action";  // spec 001 action log

  event_types_.add(event.empty() ? "(none)" : event);
  if (!decision.empty()) decisions_.add(decision);
  agents_.add(agent.empty() ? "(none)" : agent);
  uint32_t tool_i = tools_.add(tool.empty() ? "(none)" : tool);

  // Lifecycle annotation: outcome and duration.
  int64_t duration = -1;
  std::string_view state;
  simdjson::dom::object lifecycle;
  if (fields.field(kLifecycle) && fields.field(kLifecycle)->get(lifecycle) == simdjson::SUCCESS) {
    std::string_view track, event_name;
    for (auto member : lifecycle) {
      simdjson::error_code ignored;  // a wrong type leaves the value empty
      if (member.key == "state") ignored = member.value.get(state);
      else if (member.key == "track") ignored = member.value.get(track);
      else if (member.key == "event") ignored = member.value.get(event_name);
      else if (member.key == "duration_ms") ignored = member.value.get(duration);
      (void)ignored;
    }
    if (state == "closed") {
      bool failed = event_name.find("fail") != std::string_view::npos || !fields.str(kErrorCode).value_or("").empty();
      auto& track_outcomes = outcomes(track);
      ++(failed ? track_outcomes.failed : track_outcomes.complete);
    } else {
      duration = -1;
    }
  }
  if (duration < 0 && event == "tool_result" && fields.field(kLatency)) {
    double duration_ms = 0;
    if (fields.field(kLatency)->get(duration_ms) == simdjson::SUCCESS && duration_ms >= 0)
      duration = static_cast<int64_t>(duration_ms);
  }
  if (duration >= 0 && !tool.empty()) {
    if (tool_i >= durations_.size()) durations_.resize(tool_i + 1);
    durations_[tool_i].add(static_cast<uint64_t>(duration));
  }

  if (fields.field(kRedactions)) {
    std::string rules;
    simdjson::dom::array arr;
    if (fields.field(kRedactions)->get(arr) == simdjson::SUCCESS)
      for (auto item : arr) {
        simdjson::dom::object escalation_json;
        if (item.get(escalation_json) == simdjson::SUCCESS && rules.size() < 160)
          rules += (rules.empty() ? "" : ", ") + std::string(str_of(escalation_json, "rule"));
      }
    note(redacted_, source, rec.line, "redacted: " + rules);
  }

  if (!decision.empty()) {
    ++decided_;
    if (decision == "unknown") ++unknown_;
  }

  // Record rules (the rules that look at each record; the others read totals at the end).
  for (const auto& [i, first] : record_rules_) {
    const Rule& rule = policy_.rules[i];
    if (rule.type == RuleType::RequiredFields) {
      if (!contains(rule.decisions, decision)) continue;
      for (size_t k = 0; k < rule.fields.size(); ++k) {
        const auto& value = fields.field(rule_field_slots_[first + k]);
        std::string_view text;
        bool empty = !value || value->is_null() || (value->get(text) == simdjson::SUCCESS && text.empty());
        if (empty) {
          note(rule_tallies_[i], source, rec.line, "decision " + std::string(decision) + " without " + rule.fields[k]);
          break;
        }
      }
    } else if (rule.type == RuleType::Forbidden) {
      if (!agent.empty() && contains(rule.agents, agent))
        note(rule_tallies_[i], source, rec.line, "agent " + cut(agent, 80));
      else if (!tool.empty() && contains(rule.tools, tool))
        note(rule_tallies_[i], source, rec.line, "tool " + cut(tool, 80));
    } else if (decision == "unknown") {  // MaxUnknownShare
      note(rule_tallies_[i], source, rec.line, "decision unknown");
    }
  }

  if (event == "escalation" || (!pending_escalations_.empty() && contains(terminal_events_, event)))
    escalation(run_id, event, decision, agent, source, rec.line);

  // Runs and the timeline.
  std::string run_key = run_id.empty() ? "(no run_id) " + sources_[source] : std::string();
  RunAcc* run = run_for(run_id.empty() ? std::string_view(run_key) : run_id);
  if (!run) {
    ++other_runs_;
    return;
  }
  ++run->records;
  if (!time.empty()) {
    if (run->first_time.empty() || time < run->first_time) run->first_time = time;
    if (time > run->last_time) run->last_time = time;
  }
  if (!agent.empty() && !contains(run->agents, agent) && run->agents.size() < 8) run->agents.emplace_back(agent);
  if (!decision.empty()) ++run->decisions[decision_index(decision)];
  if (!run->timeline) return;
  if (run->events.size() >= policy_.limits.timeline_events) {
    ++run->events_dropped;
    return;
  }
  TimelineEntry entry;
  entry.time = cut(time, 40);
  entry.event = cut(event, 40);
  entry.agent = cut(agent, 60);
  entry.tool = cut(tool, 60);
  entry.action = cut(fields.str(kAction).value_or(""), 40);
  entry.decision = cut(decision, 20);
  entry.state = cut(state, 20);
  entry.target =
      cut(fields.str(kTarget).value_or(fields.str(kDescription).value_or(fields.str(kSummary).value_or(""))));
  entry.duration_ms = duration;
  entry.source = sources_[source];
  entry.line = rec.line;
  run->events.push_back(std::move(entry));
}

// An escalation waits under its (run, escalation_id) and (run, action_id) keys, or (run, agent)
// when it has neither; a later terminal event or deciding escalation with a key resolves it.
void ReportCollector::escalation(std::string_view run, std::string_view event, std::string_view decision,
                                 std::string_view agent, uint32_t source, uint64_t line) {
  std::string_view esc_id = str(kEscalationId).value_or("");
  std::string_view act_id = str(kActionId).value_or("");
  auto key = [&](char kind, std::string_view id) -> const std::string& {
    key_.assign(1, kind);
    key_.append(run);
    key_.push_back('\x1f');
    key_.append(id);
    return key_;
  };
  auto resolve = [&](char kind, std::string_view id) {
    auto it = pending_escalations_.find(key(kind, id));
    if (it == pending_escalations_.end()) return false;
    escalations_[it->second].resolved = true;
    pending_escalations_.erase(it);
    return true;
  };
  bool is_escalation = event == "escalation";
  if (is_escalation) ++escalation_records_;
  if (!is_escalation || contains(terminal_decisions_, decision)) {
    bool any = false;
    if (!esc_id.empty()) any = resolve('e', esc_id) || any;
    if (!act_id.empty()) any = resolve('a', act_id) || any;
    if (!any) resolve('g', agent);
    if (!is_escalation || any) return;
    // A deciding escalation nobody asked for needs nothing more.
    return;
  }
  uint32_t idx = static_cast<uint32_t>(escalations_.size());
  escalations_.push_back({source, line, false});
  if (!esc_id.empty()) pending_escalations_[key('e', esc_id)] = idx;
  if (!act_id.empty()) pending_escalations_[key('a', act_id)] = idx;
  if (esc_id.empty() && act_id.empty()) pending_escalations_[key('g', agent)] = idx;
}

}  // namespace agentlog::check
