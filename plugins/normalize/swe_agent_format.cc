// SWE-agent trajectories (`<instance>.traj`: ONE JSON object {trajectory,
// history, info, replay_config, environment}) to spec 002. The whole object
// arrives as one record (input option `framing: json-array`, or one trajectory
// per line of a JSONL file) and becomes many: a run start, a tool_call per
// model action in `history` and a tool_result per observation, and a run end
// from `info.exit_status` / `info.submission`. User docs:
// docs/formats/swe-agent.md.
#include <algorithm>
#include <cmath>

#include "core/time_format.h"
#include "plugins/normalize/minified_json.h"
#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {
namespace {

constexpr std::string_view kFormat = "swe-agent";
constexpr std::string_view kAgentId = "swe-agent";

// SWE-agent's own tools (tools/ bundles: windowed, search, edit_anthropic,
// submit): what they do and which argument names the file. Any other action is
// a shell command.
enum class Arg : uint8_t { None, Path, OpenFile, Fixed };
struct ToolRule {
  std::string_view name, action;
  Arg target;
  std::string_view fixed = {};
};
constexpr ToolRule kTools[] = {
    {"open", "read", Arg::Path},
    {"goto", "read", Arg::OpenFile},
    {"scroll_up", "read", Arg::OpenFile},
    {"scroll_down", "read", Arg::OpenFile},
    {"search_dir", "read", Arg::None},
    {"search_file", "read", Arg::OpenFile},
    {"find_file", "read", Arg::None},
    {"filemap", "read", Arg::Path},
    {"create", "create", Arg::Path},
    {"edit", "update", Arg::OpenFile},
    {"insert", "update", Arg::OpenFile},
    {"str_replace_editor", "update", Arg::Path},
    {"submit", "execute", Arg::Fixed, "submission"},
};

const ToolRule *tool_rule(std::string_view name) {
  for (const auto &r : kTools)
    if (r.name == name) return &r;
  return nullptr;
}

// str_replace_editor's `command`: view reads, create creates, the others edit.
std::string_view editor_action(std::string_view command) {
  if (command == "view") return "read";
  if (command == "create") return "create";
  return "update";
}

// The second word of an action line (`open "src/x.py" 40`), without quotes;
// empty if none.
std::string_view second_word(std::string_view action) {
  size_t a = action.find_first_of(" \t\n");
  if (a == std::string_view::npos) return {};
  a = action.find_first_not_of(" \t", a);
  if (a == std::string_view::npos || action[a] == '\n') return {};
  char q = action[a] == '"' || action[a] == '\'' ? action[a] : 0;
  if (q) ++a;
  size_t b = q ? action.find(q, a) : action.find_first_of(" \t\n", a);
  return action.substr(a, b == std::string_view::npos ? std::string_view::npos : b - a);
}

// "submitted" is a success; anything else ("exit_cost", "submitted
// (exit_context)", "early_exit") is kept as an error code word: lower-case
// letters, digits and `_`.
std::string exit_error(std::string_view status) {
  if (status == "submitted") return {};
  std::string w;
  for (char ch : status) {
    char c = ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep)
      w.push_back(c);
    else if (!w.empty() && w.back() != '_')
      w.push_back('_');
    if (w.size() >= 48) break;
  }
  while (!w.empty() && w.back() == '_') w.pop_back();
  return "exit_status:" + (w.empty() ? std::string(kUnknown) : w);
}

// The state SWE-agent records after a step: an object (1.x) or a JSON text
// (0.x).
std::string state_value(element state, std::string_view key) {
  object o;
  std::string_view text;
  if (state.get(o) == simdjson::SUCCESS) return std::string(str_at(o, key).value_or(""));
  if (state.get(text) != simdjson::SUCCESS || text.empty()) return {};
  thread_local simdjson::dom::parser parser;
  if (parser.parse(text.data(), text.size()).get(o) != simdjson::SUCCESS) return {};
  return std::string(str_at(o, key).value_or(""));
}

struct Step {
  int64_t exec_ms = 0;
  std::string open_file, working_dir;
};

}  // namespace

// A run's predictions, written beside its trajectories: {instance_id, model_patch, ...}, or
// preds.json mapping each instance id to one. Their patches are in the trajectories' info too.
bool is_swe_agent_prediction(object record) {
  auto has = [](object o, std::string_view key) { return o[key].error() != simdjson::NO_SUCH_FIELD; };
  if (has(record, "model_patch") && has(record, "instance_id")) return true;
  auto first = record.begin();  // preds.json: {"<instance id>": {instance_id, model_patch, ...}, ...}
  object pred;
  return first != record.end() && (*first).value.get(pred) == simdjson::SUCCESS && has(pred, "model_patch") &&
         has(pred, "instance_id");
}

namespace {

class SweAgent : public Format {
 public:
  void convert(object traj, const LineRef &ref, Converted &out) override {
    out.type = "trajectory";
    simdjson::dom::array history;
    if (traj["history"].get(history) != simdjson::SUCCESS) {
      if (is_swe_agent_prediction(traj)) {  // preds.json / all_preds.jsonl / .pred beside the trajectories
        out.type = "prediction";
        return;
      }
      out.type = "(no history)";
      out.why =
          "history: field is missing or not an array (a SWE-agent "
          "trajectory has one)";
      return;
    }
    ref_ = &ref;
    out_ = &out;
    base_ = Canon{};
    clock_ms_ = 0;
    pending_.clear();
    base_.agent_id = std::string(kAgentId);
    auto info = obj_at(traj, "info");
    read_identity(traj, info, ref);
    read_steps(traj);

    // Run start, at the epoch: input_ref is the task (the first user message).
    Canon start = base_;
    start.event_type = "agent_run";
    start.phase = "start";
    start.tool_name = "agent";
    start.tool_action = "start";
    start.tool_target = steps_.empty() || steps_[0].working_dir.empty() ? std::string(kUnknown) : steps_[0].working_dir;
    start.output_ref = std::string(kNoRef);
    start.input_ref = std::string(kUnknownRef);
    size_t index = 0;
    for (element item : history) {
      object message;
      if (item.get(message) == simdjson::SUCCESS && !bool_at(message, "is_demo") && str_at(message, "role") == "user") {
        element content;
        if (message["content"].get(content) == simdjson::SUCCESS) start.input_ref = minified_content_ref(content);
        break;
      }
      ++index;
    }
    emit(start, "history", index);

    size_t step = 0;
    index = 0;
    for (element item : history) {
      object message;
      if (item.get(message) != simdjson::SUCCESS || bool_at(message, "is_demo")) {
        ++index;
        continue;
      }
      std::string_view role = str_at(message, "role").value_or("");
      if (role == "assistant") assistant(message, index, step);
      else if ((role == "user" || role == "tool") && !pending_.empty()) observation(message, index);
      ++index;
    }
    // 0.x ends its loop before the last observation reaches `history`: the
    // trajectory step holds it.
    while (!pending_.empty() && pending_.front().step < steps_.size()) {
      element obs;
      std::string output = traj_steps_.at(pending_.front().step)["observation"].get(obs) == simdjson::SUCCESS
                               ? minified_content_ref(obs)
                               : std::string(kNoRef);
      answer(pending_.begin(), output, "trajectory", pending_.front().step);
    }
    if (info) run_end(*info);
  }

 private:
  struct Pending {
    std::string id;
    CallInfo call;
    int64_t exec_ms = 0;
    size_t step = SIZE_MAX;  // its trajectory step
  };

  void read_identity(object traj, std::optional<object> info, const LineRef &ref) {
    std::string id;
    object config;
    element replay_config;
    // replay_config: a JSON text (1.x: model_dump_json; 0.x: the run's
    // arguments) or an object.
    std::string_view text;
    thread_local simdjson::dom::parser parser;
    bool have = false;
    if (traj["replay_config"].get(replay_config) == simdjson::SUCCESS) {
      if (replay_config.get(config) == simdjson::SUCCESS) have = true;
      else if (replay_config.get(text) == simdjson::SUCCESS &&
               parser.parse(text.data(), text.size()).get(config) == simdjson::SUCCESS)
        have = true;
    }
    base_.model.clear();
    if (have) {
      object model;
      if (config["agent"]["model"].get(model) == simdjson::SUCCESS) {
        auto name = str_at(model, "name");
        if (!name) name = str_at(model, "model_name");
        if (name) base_.model = std::string(ident_or(*name, ""));
      }
      object problem;
      if (config["problem_statement"].get(problem) == simdjson::SUCCESS)
        id = std::string(ident_or(str_at(problem, "id").value_or(""), ""));
    }
    if (info) {
      base_.agent_version = std::string(ident_or(str_at(*info, "swe_agent_version").value_or(""), kUnknown));
      if (base_.model.empty())
        if (auto model_name = str_at(*info, "model_name")) base_.model = std::string(ident_or(*model_name, ""));
    }
    if (id.empty()) {
      id = ref.run_id_option.empty() ? source_stem(ref.source) : std::string(ref.run_id_option);
      if (ref.line > 1) id += "#" + std::to_string(ref.line);  // several trajectories in one JSONL file
    }
    base_.run_id = std::move(id);
    std::string_view env = str_at(traj, "environment").value_or("");
    base_.auth_context = env.empty() ? std::string() : "environment:" + std::string(ident_or(env, kUnknown));
  }

  void read_steps(object traj) {
    steps_.clear();
    simdjson::dom::array steps;
    if (traj["trajectory"].get(steps) != simdjson::SUCCESS) return;
    traj_steps_ = steps;
    for (element s : steps) {
      Step st;
      double secs = 0;
      if (s["execution_time"].get(secs) == simdjson::SUCCESS && secs > 0 && secs < 1e9)
        st.exec_ms = static_cast<int64_t>(std::llround(secs * 1000));
      element state;
      if (s["state"].get(state) == simdjson::SUCCESS) {
        st.open_file = state_value(state, "open_file");
        if (st.open_file == "n/a") st.open_file.clear();
        st.working_dir = state_value(state, "working_dir");
      }
      steps_.push_back(std::move(st));
    }
  }

  void emit(Canon &event, std::string_view part, size_t index) {
    event.event_time = format_rfc3339_ms(clock_ms_);
    event.evidence_ref = part == "info" ? evidence_urn(kFormat, {base_.run_id, part})
                                        : evidence_urn(kFormat, {base_.run_id, part, std::to_string(index)});
    out_->records.emplace_back();
    render(event, *ref_, "trajectory", out_->records.back());
  }

  void assistant(object message, size_t index, size_t &step) {
    const Step *step_info = step < steps_.size() ? &steps_[step] : nullptr;
    simdjson::dom::array calls;
    bool function_calling = message["tool_calls"].get(calls) == simdjson::SUCCESS && calls.size() > 0;
    std::string_view action = str_at(message, "action").value_or("");
    if (!function_calling && action.find_first_not_of(" \t\r\n") == std::string_view::npos) return;
    ++step;
    if (function_calling) {
      for (element tool_call : calls) {
        object call;
        if (tool_call.get(call) != simdjson::SUCCESS) continue;
        std::string id(ident_or(str_at(call, "id").value_or(""), ""));
        if (id.empty()) id = "swe-step-" + std::to_string(index);
        auto function = obj_at(call, "function");
        std::string_view name = function ? str_at(*function, "name").value_or("") : std::string_view();
        Canon event = base_;
        element args;
        object parsed_args;
        std::string_view args_text;
        std::optional<object> parsed;
        thread_local simdjson::dom::parser parser;
        if (function && (*function)["arguments"].get(args) == simdjson::SUCCESS) {
          if (args.get(args_text) == simdjson::SUCCESS) {
            event.input_ref = sha256_ref(args_text);
            if (parser.parse(args_text.data(), args_text.size()).get(parsed_args) == simdjson::SUCCESS)
              parsed = parsed_args;
          } else {
            event.input_ref = json_ref(args);
            if (args.get(parsed_args) == simdjson::SUCCESS) parsed = parsed_args;
          }
        }
        describe_function(name, parsed, step_info, event);
        call_record(event, std::move(id), step_info, step - 1, index);
      }
      return;
    }
    // Thought/action shape (0.x): the action is a command line; its observation
    // is the next user message.
    Canon event = base_;
    event.input_ref = sha256_ref(action);
    describe_command(action, step_info, event);
    call_record(event, "swe-step-" + std::to_string(index), step_info, step - 1, index);
  }

  void describe_function(std::string_view name, std::optional<object> args, const Step *st, Canon &event) {
    event.tool_name = std::string(ident_or(name, kUnknown));
    event.tool_action = "execute";
    if (name == "bash") {
      event.tool_target = args ? program_name(str_at(*args, "command").value_or("")) : std::string(kUnknown);
      return;
    }
    const ToolRule *rule = tool_rule(name);
    if (!rule) return;
    event.tool_action = std::string(rule->action);
    if (name == "str_replace_editor" && args)
      event.tool_action = std::string(editor_action(str_at(*args, "command").value_or("")));
    std::optional<std::string_view> path;
    if (args)
      for (std::string_view key : {"path", "filename", "file_path", "file_name", "dir"})
        if ((path = str_at(*args, key))) break;
    target(*rule, path.value_or(""), st, event);
  }

  void describe_command(std::string_view action, const Step *st, Canon &event) {
    std::string word = program_name(action);
    const ToolRule *rule = tool_rule(word);
    event.tool_action = "execute";
    if (!rule) {
      event.tool_name = "bash";
      event.tool_target = word;
      return;
    }
    event.tool_name = word;
    event.tool_action = std::string(rule->action);
    target(*rule, rule->target == Arg::Path ? second_word(action) : std::string_view(), st, event);
  }

  static void target(const ToolRule &rule, std::string_view path, const Step *st, Canon &event) {
    switch (rule.target) {
      case Arg::Path: event.tool_target = std::string(path); break;
      case Arg::OpenFile: event.tool_target = st ? st->open_file : std::string(); break;
      case Arg::Fixed: event.tool_target = std::string(rule.fixed); break;
      case Arg::None: event.tool_target = st ? st->working_dir : std::string(); break;
    }
    if (event.tool_target.find('\n') != std::string::npos || event.tool_target.size() > 1024) event.tool_target.clear();
  }

  void call_record(Canon &event, std::string id, const Step *st, size_t step, size_t index) {
    event.event_type = "tool_call";
    event.action_id = id;
    event.output_ref = std::string(kNoRef);
    event.decision = "allow";  // SWE-agent runs every action it parses: there is no
                               // approval step
    clock_ms_ += 1;
    int64_t exec_ms = st ? st->exec_ms : 0;
    pending_.push_back({std::move(id),
                        {event.tool_name, event.tool_action, event.tool_target, event.input_ref, clock_ms_},
                        exec_ms,
                        st ? step : SIZE_MAX});
    emit(event, "history", index);
  }

  void observation(object m, size_t index) {
    simdjson::dom::array ids;
    element content;
    std::string output =
        m["content"].get(content) == simdjson::SUCCESS ? minified_content_ref(content) : std::string(kNoRef);
    std::vector<std::string> answered;
    if (m["tool_call_ids"].get(ids) == simdjson::SUCCESS && ids.size() > 0) {
      for (element e : ids) {
        std::string_view id;
        if (e.get(id) == simdjson::SUCCESS) answered.emplace_back(id);
      }
    } else {
      for (const auto &p : pending_) answered.push_back(p.id);  // paired by order
    }
    for (const auto &id : answered) {
      auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending &p) { return p.id == id; });
      if (it != pending_.end()) answer(it, output, "history", index);
    }
  }

  void answer(std::vector<Pending>::iterator it, const std::string &output, std::string_view part, size_t index) {
    Canon event = base_;
    event.event_type = "tool_result";
    event.action_id = it->id;
    event.tool_name = it->call.tool_name;
    event.tool_action = it->call.tool_action;
    event.tool_target = it->call.tool_target;
    event.input_ref = it->call.input_ref;
    event.output_ref = output;
    event.decision = "allow";
    event.latency_ms = it->exec_ms;
    clock_ms_ = std::max(clock_ms_, it->call.time_ms + it->exec_ms);
    pending_.erase(it);
    emit(event, part, index);
  }

  void run_end(object info) {
    element status, submission;
    bool has_status = info["exit_status"].get(status) == simdjson::SUCCESS && !status.is_null();
    bool has_submission = info["submission"].get(submission) == simdjson::SUCCESS && !submission.is_null();
    if (!has_status && !has_submission) return;  // still running when saved: the run stays open
    Canon event = base_;
    event.event_type = "agent_run";
    event.phase = "end";
    event.tool_name = "agent";
    event.tool_action = "end";
    event.tool_target =
        steps_.empty() || steps_.back().working_dir.empty() ? std::string(kUnknown) : steps_.back().working_dir;
    event.input_ref = std::string(kNoRef);
    std::string_view text;
    event.output_ref = has_submission && !(submission.get(text) == simdjson::SUCCESS && text.empty())
                           ? minified_content_ref(submission)
                           : std::string(kNoRef);
    std::string_view status_text;
    if (has_status)
      event.error_code = status.get(status_text) == simdjson::SUCCESS ? exit_error(status_text) : "exit_status:unknown";
    double cost = 0;
    object stats;
    if (info["model_stats"].get(stats) == simdjson::SUCCESS && stats["instance_cost"].get(cost) == simdjson::SUCCESS &&
        cost >= 0 && std::isfinite(cost))
      event.cost_estimate = cost;
    clock_ms_ += 1;
    emit(event, "info", 0);
  }

  const LineRef *ref_ = nullptr;
  Converted *out_ = nullptr;
  Canon base_;
  int64_t clock_ms_ = 0;
  std::vector<Step> steps_;
  simdjson::dom::array traj_steps_;
  std::vector<Pending> pending_;
};

}  // namespace

std::unique_ptr<Format> make_swe_agent_format() { return std::make_unique<SweAgent>(); }

}  // namespace agentlog::plugins::normalize
