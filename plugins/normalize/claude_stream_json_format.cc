// The output of `claude -p --output-format stream-json` (and `--output-format json`: one result
// object, or with --verbose an array of the same messages) to spec 002.
// The mapping tables are in docs/formats/claude-code.md, section "claude-stream-json".
#include <algorithm>
#include <unordered_map>

#include "core/time_format.h"
#include "plugins/normalize/claude_tools.h"
#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {
namespace {

constexpr std::string_view kFormat = "claude-stream-json";
constexpr std::string_view kKnownTypes[] = {"system", "assistant", "user", "result", "stream_event", "rate_limit_event"};
constexpr size_t kMaxSessions = 10000, kMaxSubagents = 10000;

// A subagent working for a Task/Agent call of the main agent (its messages carry the call's id
// in parent_tool_use_id).
struct Subagent {
  bool open = false;
  int64_t start_ms = 0;
  std::string agent_id;
};

struct Session {
  std::string version, model, mode, cwd;
  bool open = false;
  std::string turn_id;
  int64_t start_ms = 0, now_ms = 0;  // the run's clock: the last time the stream gave, else 0 (the epoch)
  std::unordered_map<std::string, Subagent> subagents;           // by parent call id
  std::unordered_map<std::string, std::string> subagent_types;   // parent call id -> subagent_type
};

class ClaudeStreamJson : public Format {
 public:
  void convert(object line, const LineRef& ref, Converted& out) override {
    out_ = &out;
    ref_ = &ref;
    auto type = str_at(line, "type");
    if (!type) {
      out.type = "(no type)";
      out.why = "type: field is missing or not a string (a stream-json message has one)";
      return;
    }
    out.type = std::string(type_word(*type));
    out.known_type = std::find(std::begin(kKnownTypes), std::end(kKnownTypes), *type) != std::end(kKnownTypes);
    if (!out.known_type || *type == "stream_event" || *type == "rate_limit_event") return;
    // Hook, status and retry notices (hook_started, hook_response, status, api_retry...) carry no action.
    if (*type == "system" && str_at(line, "subtype").value_or("") != "init") return;
    auto session = str_at(line, "session_id");
    if (!session || session->empty()) {
      out.why = "session_id: field is missing or not a non-empty string";
      return;
    }
    if (sessions_.size() >= kMaxSessions && !sessions_.count(std::string(*session))) sessions_.clear();
    s_ = &sessions_[std::string(*session)];
    // Most lines carry no clock: a line's `timestamp` moves the run's clock, the others keep it.
    if (auto time_text = str_at(line, "timestamp")) {
      if (auto parsed = normalize_time(*time_text)) s_->now_ms = std::max(s_->now_ms, parsed->second);
    }
    base_ = Canon{};
    base_.run_id = std::string(*session);
    base_.event_time = format_rfc3339_ms(s_->now_ms);
    base_.agent_id = "claude-code";
    base_.recursion_depth = 0;
    auto uuid = str_at(line, "uuid");
    entry_id_ = uuid ? std::string(ident_or(*uuid, "")) : std::string();
    if (entry_id_.empty()) entry_id_ = "line-" + std::to_string(ref.line);
    base_.evidence_ref = uuid ? evidence_urn(kFormat, {*session, *uuid})
                              : evidence_urn(kFormat, {*session, "line", std::to_string(ref.line)});
    if (*type == "system") {
      on_init(line);
      return;
    }
    fill_base();
    if (*type == "result") {
      on_result(line);
      return;
    }
    object msg;
    element content;
    if (line["message"].get(msg) != simdjson::SUCCESS) {
      out.why = "message: field is missing or not an object";
      return;
    }
    if (msg["content"].get(content) != simdjson::SUCCESS || (!content.is_string() && !content.is_array())) {
      out.why = "message.content: expected a string or an array of blocks";
      return;
    }
    auto parent = str_at(line, "parent_tool_use_id");  // null for the main agent
    if (parent && !parent->empty()) enter_subagent(*parent, content);
    if (*type == "assistant") on_assistant(msg, content);
    else on_user(content, parent.has_value() && !parent->empty());
    if (!out.why.empty()) out.records.clear();
  }

 private:
  void fill_base() {
    base_.agent_version = s_->version.empty() ? std::string(kUnknown) : s_->version;
    if (!s_->mode.empty()) base_.auth_context = "permission_mode:" + s_->mode;
  }

  void emit(const Canon& event) {
    out_->records.emplace_back();
    render(event, *ref_, out_->type, out_->records.back());
  }

  Canon run_record(std::string_view phase, std::string turn_id) {
    Canon event = base_;
    event.event_type = "agent_run";
    event.phase = phase;
    event.turn_id = std::move(turn_id);
    event.tool_name = "turn";
    event.tool_action = phase;
    event.tool_target = s_->cwd;
    event.input_ref = std::string(kNoRef);
    event.output_ref = std::string(kNoRef);
    return event;
  }

  void start_run() {
    s_->open = true;
    s_->turn_id = entry_id_;
    s_->start_ms = s_->now_ms;
    Canon event = run_record("start", s_->turn_id);
    event.input_ref = std::string(kUnknownRef);  // the prompt is not in the stream
    event.model = s_->model;
    emit(event);
  }

  void on_init(object line) {
    s_->version = std::string(ident_or(str_at(line, "claude_code_version").value_or(""), ""));
    s_->model = std::string(ident_or(str_at(line, "model").value_or(""), ""));
    s_->mode = std::string(ident_or(str_at(line, "permissionMode").value_or(""), ""));
    s_->cwd = std::string(str_at(line, "cwd").value_or(""));
    fill_base();
    if (s_->open) end_run(s_->now_ms, "", -1, std::string(kNoRef));  // a new run without a result: the last one is over
    start_run();
  }

  void end_subagents(int64_t end_ms) {
    std::vector<std::string> ids;
    for (auto& [id, sub] : s_->subagents)
      if (sub.open) ids.push_back(id);
    std::sort(ids.begin(), ids.end());  // deterministic order
    for (auto& id : ids) end_subagent(id, end_ms);
  }

  void end_run(int64_t end_ms, std::string error_code, double cost, std::string output_ref) {
    end_subagents(end_ms);
    Canon event = run_record("end", s_->turn_id);
    event.event_time = format_rfc3339_ms(end_ms);
    event.latency_ms = end_ms - s_->start_ms;
    event.error_code = std::move(error_code);
    event.cost_estimate = cost;
    event.output_ref = std::move(output_ref);
    event.model = s_->model;
    emit(event);
    s_->open = false;
  }

  // The result message ends the run: Claude Code's duration_ms, cost and error.
  void on_result(object line) {
    if (!s_->open) start_run();  // --output-format json: the result is all there is
    int64_t duration_ms = -1;
    element duration;
    if (line["duration_ms"].get(duration) == simdjson::SUCCESS) {
      if (duration.is_int64()) duration_ms = duration.get_int64().value_unsafe();
      else if (duration.is_uint64())
        duration_ms = static_cast<int64_t>(std::min<uint64_t>(duration.get_uint64().value_unsafe(), INT64_MAX / 4));
      else if (duration.is_double()) duration_ms = static_cast<int64_t>(duration.get_double().value_unsafe() + 0.5);
    }
    int64_t end_ms =
        duration_ms >= 0 && duration_ms < int64_t(400) * 24 * 3600 * 1000 ? s_->start_ms + duration_ms : s_->now_ms;
    double cost = -1;
    element cost_value;
    if ((line["total_cost_usd"].get(cost_value) == simdjson::SUCCESS ||
         line["cost_usd"].get(cost_value) == simdjson::SUCCESS) &&
        cost_value.is_number()) {
      double usd = cost_value.is_double()  ? cost_value.get_double().value_unsafe()
                   : cost_value.is_int64() ? static_cast<double>(cost_value.get_int64().value_unsafe())
                                           : static_cast<double>(cost_value.get_uint64().value_unsafe());
      if (usd >= 0) cost = usd;
    }
    std::string error;
    if (bool_at(line, "is_error")) {
      std::string_view sub = str_at(line, "subtype").value_or("");
      error = sub.empty() || sub == "success" ? "error" : std::string(ident_or(sub, "error"));
    }
    element result;
    std::string output = line["result"].get(result) == simdjson::SUCCESS && result.is_string() ? content_ref(result)
                                                                                               : std::string(kNoRef);
    s_->now_ms = std::max(s_->now_ms, end_ms);
    end_run(end_ms, std::move(error), cost, std::move(output));
  }

  // A message of a subagent: its run opens with the first one.
  void enter_subagent(std::string_view parent, element content) {
    std::string id(parent);
    if (s_->subagents.size() >= kMaxSubagents && !s_->subagents.count(id)) s_->subagents.clear();
    Subagent& sub = s_->subagents[id];
    if (sub.agent_id.empty()) {
      auto type = s_->subagent_types.find(id);
      sub.agent_id = "claude-code/" + (type == s_->subagent_types.end() ? std::string("subagent") : type->second);
      Canon event = run_record("start", id);
      event.agent_id = sub.agent_id;
      event.recursion_depth = 1;
      event.parent_action_id = id;
      event.input_ref = content.is_string() ? content_ref(content) : std::string(kUnknownRef);
      emit(event);
      sub.open = true;
      sub.start_ms = s_->now_ms;
    }
    base_.agent_id = sub.agent_id;
    base_.recursion_depth = 1;
    base_.parent_action_id = id;
  }

  void end_subagent(const std::string& id, int64_t end_ms) {
    auto it = s_->subagents.find(id);
    if (it == s_->subagents.end() || !it->second.open) return;
    Canon event = run_record("end", id);
    event.agent_id = it->second.agent_id;
    event.recursion_depth = 1;
    event.parent_action_id = id;
    end_ms = std::max(end_ms, it->second.start_ms);
    event.event_time = format_rfc3339_ms(end_ms);
    event.latency_ms = end_ms - it->second.start_ms;
    emit(event);
    it->second.open = false;
  }

  void on_assistant(object msg, element content) {
    if (!s_->open && base_.parent_action_id.empty()) start_run();
    std::string model(ident_or(str_at(msg, "model").value_or(""), ""));
    if (!model.empty() && base_.parent_action_id.empty()) s_->model = model;
    simdjson::dom::array blocks;
    if (content.get(blocks) != simdjson::SUCCESS) return;
    size_t i = 0, cursor = 0;
    for (element item : blocks) {
      object block;
      if (item.get(block) != simdjson::SUCCESS || str_at(block, "type").value_or("") != "tool_use") {
        ++i;
        continue;
      }
      Canon event;
      claude::ToolKind kind;
      if (!claude::tool_call_of_block(block, i, base_, model, s_->cwd, ref_->bytes, cursor, event, kind, out_->why))
        return;
      object input;
      bool input_object = block["input"].get(input) == simdjson::SUCCESS;
      event.decision = s_->mode == "bypassPermissions" ? "allow" : "unknown";
      calls_.put(event.action_id, {event.tool_name, event.tool_action, event.tool_target, event.input_ref, s_->now_ms});
      if (kind.subagent) {
        std::string type(ident_or(input_object ? str_at(input, "subagent_type").value_or("") : "", "subagent"));
        if (s_->subagent_types.size() >= kMaxSubagents) s_->subagent_types.clear();
        s_->subagent_types[event.action_id] = std::move(type);
      }
      emit(event);
      if (kind.asks_user) {
        event.event_type = "escalation";
        event.decision = "needs_review";
        event.turn_id = base_.parent_action_id.empty() ? s_->turn_id : base_.parent_action_id;
        emit(event);
      }
      ++i;
    }
  }

  void on_user(element content, bool in_subagent) {
    simdjson::dom::array blocks;
    bool results = false;
    if (content.get(blocks) == simdjson::SUCCESS) {
      size_t i = 0;
      for (element b : blocks) {
        object block;
        if (b.get(block) != simdjson::SUCCESS || str_at(block, "type").value_or("") != "tool_result") {
          ++i;
          continue;
        }
        auto id = claude::tool_result_id(block, i, out_->why);
        if (!id) return;
        tool_result(block, *id);
        results = true;
        ++i;
      }
    }
    // A prompt fed on stdin (--input-format stream-json) starts a run when none is open.
    if (!results && !in_subagent && !s_->open) start_run();
  }

  void tool_result(object block, std::string_view id) {
    Canon event = base_;
    event.event_type = "tool_result";
    event.action_id = std::string(id);
    const CallInfo* call = calls_.find(id);
    bool asks = call && (call->tool_name == "AskUserQuestion" || call->tool_name == "ExitPlanMode");
    calls_.answer(id, s_->now_ms, event);
    element content;
    bool has = block["content"].get(content) == simdjson::SUCCESS && !content.is_null();
    event.output_ref = has ? content_ref(content) : std::string(kNoRef);
    bool error = bool_at(block, "is_error");
    bool denied = error && has && claude::is_denial(content);
    std::string_view hook = error && has && !denied ? claude::hook_block_name(content) : std::string_view();
    if (!hook.empty() && claude::hook_tool(hook) != event.tool_name) hook = {};  // only the call's own tool's hook
    event.decision = denied || !hook.empty() ? "block" : "allow";
    if (error) event.error_code = denied ? "permission_denied" : !hook.empty() ? "hook_blocked" : "tool_error";
    event.policy_id = std::string(hook);
    // The call that started a subagent returned: the subagent's run is over.
    end_subagent(event.action_id, s_->now_ms);
    emit(event);
    if (denied || (asks && !error)) {
      Canon escalation = event;
      escalation.event_type = "escalation";
      escalation.turn_id = base_.parent_action_id.empty() ? s_->turn_id : base_.parent_action_id;
      emit(escalation);
    }
  }

  Converted* out_ = nullptr;
  const LineRef* ref_ = nullptr;
  std::unordered_map<std::string, Session> sessions_;
  Session* s_ = nullptr;
  CallTable calls_;
  Canon base_;
  std::string entry_id_;
};

}  // namespace

std::unique_ptr<Format> make_claude_stream_json_format() { return std::make_unique<ClaudeStreamJson>(); }

}  // namespace agentlog::plugins::normalize
