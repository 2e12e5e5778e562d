// Claude Code transcripts: turns (where they start and end), subagents and their parent calls,
// and what the end of a transcript closes. See claude_code_transcript.h.
#include <algorithm>

#include "core/time_format.h"
#include "plugins/normalize/claude_code_transcript.h"
#include "plugins/normalize/claude_tools.h"

namespace agentlog::plugins::normalize::claude_code {

void ClaudeCode::change_source(const LineRef& ref) {
  end_source(source_);
  source_ = ref.source_index;
  if (source_names_.size() <= source_) source_names_.resize(source_ + 1);
  source_names_[source_] = std::string(ref.source);
}

void ClaudeCode::end_source(uint32_t src) {
  if (src == UINT32_MAX) return;
  for (const std::string& key : source_streams_) {
    auto it = streams_.find(key);
    if (it == streams_.end() || it->second.source != src) continue;
    Stream& s = it->second;
    bool waiting = held_.holds_for(key);
    held_.release_stream(key, *this);
    // A turn whose transcript stops after the model's answer, with no call waiting, is over
    // (a `claude -p` transcript has no turn_duration); one that stops mid-call was cut off.
    if (s.open && (s.subagent || s.ending || (s.answered && !waiting))) end_at_last_activity(s, "");
  }
  source_streams_.clear();
}

void ClaudeCode::end_turn(Stream& s, std::string error_code, int64_t end_ms, const Pos& pos, std::string_view evidence) {
  Canon event = s.base;
  event.turn_id = s.turn_id;
  event.event_type = "agent_run";
  event.phase = "end";
  event.tool_name = "turn";
  event.tool_action = "end";
  event.input_ref = std::string(kNoRef);
  event.output_ref = std::string(kNoRef);
  event.error_code = std::move(error_code);
  end_ms = std::max(end_ms, s.start_ms);  // a line stamped early never makes a negative duration
  event.event_time = format_rfc3339_ms(end_ms);
  event.latency_ms = end_ms - s.start_ms;
  event.evidence_ref = std::string(evidence);
  event.parent_action_id = s.parent_action_id;
  emit_at(event, pos);
  s.open = false;
  s.ending = false;
}

void ClaudeCode::end_at_last_activity(Stream& s, std::string error_code) {
  end_turn(s, std::move(error_code), s.last_ms, s.last_pos, s.last_evidence);
}

void ClaudeCode::touch() {
  Stream& s = *stream_;
  if (!s.open) return;
  if (now_ms_ >= s.last_ms) {
    s.last_ms = now_ms_;
    s.last_pos = pos_;
    s.last_evidence = base_.evidence_ref;
  }
}

void ClaudeCode::start_turn() {
  Stream& stream = *stream_;
  if (stream.open) {
    held_.release_stream(turn_key_, *this);
    end_at_last_activity(stream, "");
  }
  if (stream.subagent && stream.parent_action_id.empty()) link_by_prompt(stream);
  base_.parent_action_id = stream.parent_action_id;
  stream.open = true;
  stream.ending = false;
  stream.answered = false;
  stream.turn_id = entry_id_;
  stream.start_ms = stream.last_ms = now_ms_;
  stream.last_pos = pos_;
  stream.last_evidence = base_.evidence_ref;
  stream.base = base_;
  stream.base.tool_target = cwd_;
  Canon event = base_;
  event.turn_id = stream.turn_id;
  event.event_type = "agent_run";
  event.phase = "start";
  event.tool_name = "turn";
  event.tool_action = "start";
  event.tool_target = cwd_;
  event.input_ref = content_ref(content_);
  event.output_ref = std::string(kNoRef);
  emit(event);
}

void ClaudeCode::link_by_prompt(Stream& s) {
  std::string hash = sha256_ref(claude::leading_text(content_));
  for (auto it = prompt_links_.begin(); it != prompt_links_.end(); ++it) {
    if (it->first != hash) continue;
    s.parent_action_id = it->second;
    if (top_.agent) remember_agent(std::string(*top_.agent), it->second);
    if (call_stream_.size() >= kMaxLinks) call_stream_.clear();
    call_stream_[it->second] = turn_key_;
    prompt_links_.erase(it);
    return;
  }
}

void ClaudeCode::remember_agent(std::string agent, const std::string& call) {
  if (agent_parent_.size() >= kMaxLinks) agent_parent_.clear();
  agent_parent_[std::move(agent)] = call;
}

void ClaudeCode::subagent_linked(std::string_view session, std::string_view agent, const std::string& call, bool returned) {
  std::string key;
  if (!agent.empty()) {
    remember_agent(std::string(agent), call);
    key.assign(session).push_back('\x1f');
    key += "claude-code/";
    key += ident_or(agent, "subagent");
  } else if (auto by_call = call_stream_.find(call); by_call != call_stream_.end()) {
    key = by_call->second;
  } else {
    return;
  }
  auto it = streams_.find(key);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  if (s.parent_action_id.empty()) s.parent_action_id = call;
  if (returned && s.open) {
    held_.release_stream(key, *this);
    end_at_last_activity(s, "");
  }
}

void ClaudeCode::on_system() {
  Stream* s = light_stream();
  if (!s) return;
  std::string_view subtype = top_.subtype.value_or("");
  if (subtype == "compact_boundary") {
    s->after_compact = true;
  } else if (subtype == "stop_hook_summary") {
    if (s->open) s->ending = true;
  } else if (subtype == "turn_duration" && s->open) {
    held_.release_stream(turn_key_, *this);
    int64_t d = -1;
    if (top_.duration) {
      if (top_.duration->is_int64()) d = top_.duration->get_int64().value_unsafe();
      else if (top_.duration->is_uint64()) d = static_cast<int64_t>(std::min<uint64_t>(top_.duration->get_uint64().value_unsafe(), INT64_MAX / 4));
      else if (top_.duration->is_double()) d = static_cast<int64_t>(top_.duration->get_double().value_unsafe() + 0.5);
    }
    Pos pos{ref_->source_index, ref_->line, kSystemEntry};
    std::string evidence = top_.uuid ? evidence_urn(kFormat, {*top_.session, *top_.uuid})
                                     : evidence_urn(kFormat, {*top_.session, "line", std::to_string(ref_->line)});
    // Claude Code's own measure of the turn: the end is the prompt's time plus durationMs.
    if (d >= 0 && d < int64_t(400) * 24 * 3600 * 1000) end_turn(*s, "", s->start_ms + d, pos, evidence);
    else end_turn(*s, "", s->last_ms, pos, evidence);
  }
}

Stream* ClaudeCode::light_stream() {
  if (!top_.session || top_.session->empty()) return nullptr;
  stream_key(*top_.session);
  auto it = streams_.find(turn_key_);
  return it == streams_.end() ? nullptr : &it->second;
}

void ClaudeCode::on_progress() {
  object data;
  if (!top_.data || top_.data->get(data) != simdjson::SUCCESS) return;
  std::string_view kind = str_at(data, "type").value_or("");
  if (kind == "hook_progress") {
    if (str_at(data, "hookEvent").value_or("") != "PreToolUse" || !top_.tool_use_id) return;
    held_.note_hook(*top_.tool_use_id, str_at(data, "hookName").value_or("PreToolUse"), {});
  } else if (kind == "agent_progress") {
    auto agent = str_at(data, "agentId");
    if (agent && top_.parent_tool_use_id && top_.session && !agent->empty())
      subagent_linked(*top_.session, *agent, std::string(*top_.parent_tool_use_id), false);
  }
}

void ClaudeCode::on_attachment() {
  object a;
  if (!top_.attachment || top_.attachment->get(a) != simdjson::SUCCESS) return;
  if (str_at(a, "hookEvent").value_or("") != "PreToolUse") return;
  auto call = str_at(a, "toolUseID");
  if (!call) return;
  std::string_view kind = str_at(a, "type").value_or("");
  std::string_view name = str_at(a, "hookName").value_or("PreToolUse");
  if (kind == "hook_blocking_error") held_.note_hook(*call, name, "deny");
  else if (kind == "hook_success") held_.note_hook(*call, name, claude::hook_permission_decision(str_at(a, "stdout").value_or("")));
  else if (kind == "hook_permission_decision") held_.note_hook(*call, name, str_at(a, "decision").value_or(""));
}

}  // namespace agentlog::plugins::normalize::claude_code
