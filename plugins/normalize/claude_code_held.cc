#include "plugins/normalize/claude_code_held.h"

#include <vector>

namespace agentlog::plugins::normalize::claude {

void HeldCalls::hold(Canon event, const Pos& pos, const std::string& stream, std::string turn, bool asks_user,
                     RecordSink& sink) {
  std::string id = event.action_id;
  if (held_.size() >= kMaxHeld) release(std::string(order_.front()), {}, {}, sink);
  auto [it, fresh] = held_.try_emplace(id);
  it->second = HeldCall{std::move(event), pos, stream, {}, std::move(turn), {}, asks_user};
  if (fresh) order_.push_back(std::move(id));
}

void HeldCalls::release(const std::string& id, std::string_view decision, std::string_view policy, RecordSink& sink) {
  auto it = held_.find(id);
  if (it != held_.end()) {
    HeldCall& h = it->second;
    if (!decision.empty()) h.call.decision = decision;
    if (!policy.empty()) h.call.policy_id = std::string(policy);
    sink.emit_at(h.call, h.pos);
    if (h.asks_user || h.hook_decision == "ask") {
      Canon escalation = h.call;
      escalation.event_type = "escalation";
      escalation.decision = "needs_review";
      escalation.policy_id.clear();
      escalation.turn_id = h.turn;
      sink.emit_at(escalation, h.pos);
    }
    held_.erase(it);
  }
  while (!order_.empty() && !held_.count(order_.front())) order_.pop_front();
}

void HeldCalls::release_stream(const std::string& stream, RecordSink& sink) {
  if (held_.empty()) return;
  std::vector<std::string> ids;
  for (const auto& id : order_) {
    auto it = held_.find(id);
    if (it != held_.end() && it->second.stream == stream) ids.push_back(id);
  }
  for (const auto& id : ids) release(id, {}, {}, sink);
}

void HeldCalls::release_all(RecordSink& sink) {
  std::vector<std::string> ids(order_.begin(), order_.end());
  for (const auto& id : ids) release(id, {}, {}, sink);
}

bool HeldCalls::holds_for(const std::string& stream) const {
  for (const auto& [id, h] : held_)
    if (h.stream == stream) return true;
  return false;
}

void HeldCalls::note_hook(std::string_view call, std::string_view name, std::string_view decision) {
  auto it = held_.find(std::string(call));
  if (it == held_.end()) return;
  HeldCall& h = it->second;
  // The first hook that decides wins; one that only ran names itself when no other did.
  if (!h.hook_decision.empty()) return;
  h.hook = std::string(ident_or(name, "PreToolUse"));
  if (decision == "allow") h.hook_decision = "allow";
  else if (decision == "deny") h.hook_decision = "deny";
  else if (decision == "ask") h.hook_decision = "ask";
}

}  // namespace agentlog::plugins::normalize::claude
