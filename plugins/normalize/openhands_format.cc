// OpenHands event streams (a JSON array or JSON lines of events) to spec 002. An event is
// {id, timestamp, source, action | observation, args | extras, cause, tool_call_metadata};
// an observation's `cause` is the id of the action it answers. The mapping tables are in
// docs/formats/openhands.md.
#include <algorithm>
#include <unordered_map>

#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {
namespace {

constexpr std::string_view kFormat = "openhands";

enum class Target : uint8_t { Path, Command, Url, Ident, Fixed };

struct ActionRule {
  std::string_view action, tool_action;
  Target target;
  std::string_view key;  // args member, or fixed text
};

// Actions that run a tool (their observations are the results).
constexpr ActionRule kActions[] = {
    {"run", "execute", Target::Command, "command"},
    {"run_ipython", "execute", Target::Fixed, "ipython"},
    {"read", "read", Target::Path, "path"},
    {"write", "create", Target::Path, "path"},
    {"edit", "update", Target::Path, "path"},
    {"browse", "read", Target::Url, "url"},
    {"browse_interactive", "execute", Target::Fixed, "browser"},
    {"delegate", "execute", Target::Ident, "agent"},
    {"mcp", "execute", Target::Ident, "name"},
    {"call_tool_mcp", "execute", Target::Ident, "name"},
};

// Actions and observations that carry no tool call (counted by type).
constexpr std::string_view kOtherActions[] = {"message", "system", "finish", "think", "recall", "change_agent_state",
                                              "null", "condensation", "condensation_request", "task_tracking",
                                              "reject", "start"};
constexpr std::string_view kObservations[] = {"run", "run_ipython", "read", "write", "edit", "browse",
                                              "browse_interactive", "delegate", "mcp", "error", "user_rejected",
                                              "agent_state_changed", "recall", "null", "think", "success",
                                              "condense", "task_tracking", "download", "loop_recovery"};
constexpr std::string_view kRunEnds[] = {"awaiting_user_input", "finished", "error", "stopped", "rejected"};

template <size_t N>
bool listed(const std::string_view (&list)[N], std::string_view v) {
  return std::find(std::begin(list), std::end(list), v) != std::end(list);
}

// The `command` of an older event's `translated_ipython_code`, as OpenHands writes it:
// print(file_editor(**{'command': 'create', 'path': ...})); empty when there is none.
std::string_view editor_command(std::string_view code) {
  size_t at = code.find("'command'");
  if (at == std::string_view::npos) at = code.find("\"command\"");
  if (at == std::string_view::npos) return {};
  at = code.find(':', at + 9);
  if (at == std::string_view::npos) return {};
  at = code.find_first_not_of(" ", at + 1);
  if (at == std::string_view::npos || (code[at] != '\'' && code[at] != '"')) return {};
  size_t end = code.find(code[at], at + 1);
  if (end == std::string_view::npos) return {};
  return code.substr(at + 1, end - at - 1);
}

std::string id_text(element v) {
  int64_t i;
  if (v.get(i) == simdjson::SUCCESS) return std::to_string(i);
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) return std::string(ident_or(s, ""));
  return {};
}

class OpenHands : public Format {
 public:
  void convert(object ev, const LineRef& ref, Converted& out) override {
    if (ref.source_index != source_ || !started_) {
      if (started_) close_implicit(out.released);
      reset(ref);
    }
    simdjson::dom::array history;
    if (ev["action"].error() == simdjson::NO_SUCH_FIELD && ev["observation"].error() == simdjson::NO_SUCH_FIELD &&
        ev["history"].get(history) == simdjson::SUCCESS)
      return convert_output(ev, history, ref, out);
    convert_event(ev, ref, out);
  }

 private:
  // A line of an evaluation's output.jsonl ({instance_id, instruction, history, metadata,
  // test_result, ...}): one conversation, its events in `history`, its run id the instance's.
  void convert_output(object line, simdjson::dom::array history, const LineRef& ref, Converted& out) {
    close_implicit(out.released);
    reset(ref);
    element inst;
    if (line["instance_id"].get(inst) == simdjson::SUCCESS) {
      if (std::string id = id_text(inst); !id.empty()) base_.run_id = std::move(id);
    }
    for (element e : history) {
      object ev;
      if (e.get(ev) != simdjson::SUCCESS) continue;
      convert_event(ev, ref, out);
      out.why.clear();  // an event that cannot be used is skipped; the line holds the others
    }
    // The instance is over: its run ends with its history (an `error` says how it ended).
    element error;
    bool failed = line["error"].get(error) == simdjson::SUCCESS && !error.is_null();
    implicit_ = open_;
    std::vector<HeldRecord> end;
    close_implicit(end, failed ? "error" : "");
    for (auto& h : end) out.records.push_back(std::move(h.record));
    out.type = "evaluation_output";
    out.known_type = true;
  }

  void convert_event(object source_event, const LineRef& ref, Converted& out) {
    auto action = str_at(source_event, "action");
    auto observation = str_at(source_event, "observation");
    if (!action && !observation) {
      out.type = "(neither)";
      out.why = "an OpenHands event needs a string \"action\" or \"observation\"";
      return;
    }
    std::string_view kind = action ? *action : *observation;
    out.type = std::string(action ? "action." : "observation.") + std::string(type_word(kind));
    const ActionRule* rule = nullptr;
    if (action) {
      for (const auto& candidate : kActions)
        if (candidate.action == kind) rule = &candidate;
      out.known_type = rule || listed(kOtherActions, kind);
    } else {
      out.known_type = listed(kObservations, kind);
    }
    element idv;
    std::string id = source_event["id"].get(idv) == simdjson::SUCCESS ? id_text(idv) : std::string();
    if (id.empty()) {
      out.why = "id: field is missing or not an integer";
      return;
    }
    std::optional<object> args = obj_at(source_event, action ? "args" : "extras");
    // An observation answers a tool action (by cause, or by the id of a call seen): the
    // observation of `think` or `recall` carries tool_call_metadata too but answers no call.
    bool tool_result = observation && (results_.count(cause_of(source_event)) || answers_call(source_event)) &&
                       kind != "agent_state_changed";
    bool run_change = (action && (kind == "system" || kind == "finish")) ||
                      (observation && kind == "agent_state_changed");
    if (!rule && !tool_result && !run_change) {
      // A session without agent-state changes is still a run: it opens at the first event
      // and closes at the last (close_implicit).
      std::string why;
      if (auto time = line_time(str_at(source_event, "timestamp"), "ISO 8601", why)) {
        base_.event_time = std::move(time->first);
        now_ms_ = time->second;
        base_.evidence_ref = evidence_urn(kFormat, {base_.run_id, "event", id});
        note_event(id, ref, out.type, out);
      }
      return;
    }
    auto time = line_time(str_at(source_event, "timestamp"), "ISO 8601", out.why);
    if (!time) return;
    base_.event_time = std::move(time->first);
    now_ms_ = time->second;
    base_.evidence_ref = evidence_urn(kFormat, {base_.run_id, "event", id});
    bool explicit_start = run_change && (action ? kind == "system" : state_of(args) == "running");
    bool explicit_end = run_change && (action ? kind == "finish" : listed(kRunEnds, state_of(args)));
    if (explicit_start) {
      if (!open_) run_seen_ = true;
    } else if (!explicit_end || open_) {  // an end with no run open opens none
      note_event(id, ref, out.type, out);
    }
    if (action && kind == "system" && args) {
      base_.agent_version = std::string(ident_or(str_at(*args, "openhands_version").value_or(""), kUnknown));
      if (auto cls = str_at(*args, "agent_class")) base_.agent_id = "openhands/" + std::string(ident_or(*cls, "agent"));
    }
    if (run_change) return run_event(kind, action.has_value(), id, args, ref, out);
    if (rule) return tool_call(source_event, *rule, id, args, ref, out);
    tool_result_event(source_event, kind, args, ref, out);
  }

  void reset(const LineRef& ref) {
    started_ = true;
    source_ = ref.source_index;
    calls_.clear();
    results_.clear();
    open_ = implicit_ = run_seen_ = false;
    turn_.clear();
    base_ = Canon{};
    base_.agent_id = "openhands";
    base_.run_id = ref.run_id_option.empty() ? source_stem(ref.source) : std::string(ref.run_id_option);
  }

  static std::string_view state_of(std::optional<object> extras) {
    return extras ? str_at(*extras, "agent_state").value_or("") : std::string_view();
  }

  // Every event with a time: the first opens the implicit run of a session whose first
  // event is no run start; each is the run's latest event.
  void note_event(const std::string& id, const LineRef& ref, std::string_view type, Converted& out) {
    if (!open_ && !run_seen_) {
      run_seen_ = open_ = implicit_ = true;
      turn_ = "event-" + id;
      Canon event = run_record("start");
      emit(event, ref, out, type);
    }
    if (!open_) return;
    last_time_ = base_.event_time;
    last_evidence_ = base_.evidence_ref;
    last_source_ = std::string(ref.source);
    last_line_ = ref.line;
    last_type_ = std::string(type);
  }

  Canon run_record(std::string_view phase) {
    Canon event = base_;
    event.turn_id = turn_;
    event.event_type = "agent_run";
    event.phase = phase;
    event.tool_name = "agent";
    event.tool_action = std::string(phase);
    event.tool_target = "conversation";
    event.output_ref = std::string(kNoRef);
    return event;
  }

  // The end of a source: the implicit run ends at its last event.
  void close_implicit(std::vector<HeldRecord>& out, std::string_view error_code = {}) {
    if (!open_ || !implicit_) return;
    Canon event = run_record("end");
    event.error_code = std::string(error_code);
    event.event_time = last_time_;
    event.evidence_ref = last_evidence_;
    LineRef at{last_source_, source_, last_line_, {}, {}};
    out.push_back({{}, source_, last_line_});
    render(event, at, last_type_, out.back().record);
    open_ = implicit_ = false;
  }

 public:
  void finish(std::vector<HeldRecord>& out) override {
    if (started_) close_implicit(out);
    started_ = false;
  }

 private:
  static std::string cause_of(object ev) {
    element c;
    return ev["cause"].get(c) == simdjson::SUCCESS ? id_text(c) : std::string();
  }
  static std::optional<std::string_view> tool_call_id(object ev) {
    auto meta = obj_at(ev, "tool_call_metadata");
    return meta ? str_at(*meta, "tool_call_id") : std::nullopt;
  }
  bool answers_call(object ev) {
    auto id = tool_call_id(ev);
    return id && calls_.find(*id);
  }

  void emit(const Canon& event, const LineRef& ref, Converted& out, std::string_view type) {
    out.records.emplace_back();
    render(event, ref, type, out.records.back());
  }

  void run_event(std::string_view kind, bool action, const std::string& id, std::optional<object> args,
                 const LineRef& ref, Converted& out) {
    std::string_view state = !action && args ? str_at(*args, "agent_state").value_or("") : "";
    bool start = action ? kind == "system" : state == "running";
    bool end = action ? kind == "finish" : listed(kRunEnds, state);
    if ((start && open_) || (end && !open_) || (!start && !end)) return;
    open_ = start;
    implicit_ = false;
    if (start) turn_ = "event-" + id;
    Canon event = run_record(start ? "start" : "end");
    if (state == "error" || state == "stopped" || state == "rejected") event.error_code = std::string(state);
    emit(event, ref, out, std::string(action ? "action." : "observation.") + std::string(kind));
  }

  void tool_call(object source_event, const ActionRule& rule, const std::string& id, std::optional<object> args,
                 const LineRef& ref, Converted& out) {
    Canon event = base_;
    event.event_type = "tool_call";
    auto tcid = tool_call_id(source_event);
    event.action_id = tcid && !tcid->empty() ? std::string(*tcid) : "oh-event-" + id;
    event.tool_name = std::string(rule.action);
    if (auto meta = obj_at(source_event, "tool_call_metadata"))
      if (auto function_name = str_at(*meta, "function_name"))
        event.tool_name = std::string(ident_or(*function_name, rule.action));
    event.tool_action = std::string(rule.tool_action);
    std::string_view target = args ? str_at(*args, rule.key).value_or("") : std::string_view();
    switch (rule.target) {
      case Target::Path: event.tool_target = std::string(target); break;
      case Target::Command: event.tool_target = program_name(target); break;
      case Target::Url: event.tool_target = url_host(target); break;
      case Target::Ident: event.tool_target = std::string(ident_or(target, kUnknown)); break;
      case Target::Fixed: event.tool_target = std::string(rule.key); break;
    }
    if (rule.action == "edit" && args) {
      std::string_view cmd = str_at(*args, "command").value_or("");
      if (cmd.empty()) cmd = editor_command(str_at(*args, "translated_ipython_code").value_or(""));
      if (cmd == "create") event.tool_action = "create";
      else if (cmd == "view") event.tool_action = "read";
    }
    element args_element;
    event.input_ref =
        source_event["args"].get(args_element) == simdjson::SUCCESS ? json_ref(args_element) : std::string(kUnknownRef);
    event.output_ref = std::string(kNoRef);
    std::string_view confirmation = args ? str_at(*args, "confirmation_state").value_or("") : "";
    event.decision = confirmation == "confirmed"               ? "allow"
                     : confirmation == "awaiting_confirmation" ? "needs_review"
                     : confirmation == "rejected"              ? "block"
                                                               : "unknown";
    results_[id] = event.action_id;
    if (results_.size() > 100000) results_.clear();  // bounded: old actions are forgotten
    calls_.put(event.action_id, {event.tool_name, event.tool_action, event.tool_target, event.input_ref, now_ms_});
    std::string type = "action." + std::string(rule.action);
    emit(event, ref, out, type);
    if (event.decision == "needs_review" || event.decision == "block") {
      event.event_type = "escalation";
      event.turn_id = open_ ? turn_ : std::string();
      emit(event, ref, out, type);
    }
  }

  void tool_result_event(object source_event, std::string_view kind, std::optional<object> extras, const LineRef& ref,
                         Converted& out) {
    Canon event = base_;
    event.event_type = "tool_result";
    auto tcid = tool_call_id(source_event);
    auto by_cause = results_.find(cause_of(source_event));
    if (by_cause != results_.end()) event.action_id = by_cause->second;
    else event.action_id = std::string(*tcid);
    calls_.answer(event.action_id, now_ms_, event);
    element content;
    event.output_ref =
        source_event["content"].get(content) == simdjson::SUCCESS ? content_ref(content) : std::string(kNoRef);
    bool rejected = kind == "user_rejected";
    event.decision = rejected ? "block" : "allow";
    int64_t code = 0;
    if (rejected) event.error_code = "permission_denied";
    else if (kind == "error") event.error_code = "error";
    else if (extras && ((*extras)["exit_code"].get(code) == simdjson::SUCCESS ||
                        ((*extras)["metadata"]["exit_code"].get(code) == simdjson::SUCCESS)) && code != 0)
      event.error_code = "exit_code:" + std::to_string(code);
    std::string type = "observation." + std::string(kind);
    emit(event, ref, out, type);
    if (rejected) {
      event.event_type = "escalation";
      event.turn_id = open_ ? turn_ : std::string();
      emit(event, ref, out, type);
    }
  }

  bool started_ = false, open_ = false;
  bool implicit_ = false;  // the open run was opened by a session's first event, not a state change
  bool run_seen_ = false;  // a run was opened in this source
  std::string last_time_, last_evidence_, last_source_, last_type_;  // the open run's latest event
  uint64_t last_line_ = 0;
  uint32_t source_ = 0;
  CallTable calls_;
  std::unordered_map<std::string, std::string> results_;  // action event id -> action_id
  Canon base_;
  int64_t now_ms_ = 0;
  std::string turn_;
};

}  // namespace

std::unique_ptr<Format> make_openhands_format() { return std::make_unique<OpenHands>(); }

}  // namespace agentlog::plugins::normalize
