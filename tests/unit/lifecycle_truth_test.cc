// A generated stream of action-event lifecycles with known injected faults: every injected
// orphan, duplicate terminal, collision and open lifecycle must be reported, and nothing else.
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;

namespace {

std::string event(const std::string& type, const std::string& id, const std::string& agent, int64_t sec,
                  const std::string& fi) {
  char t[32];
  std::snprintf(t, sizeof t, "2026-02-03T%02lld:%02lld:%02lld.000Z", static_cast<long long>(sec / 3600 % 24),
                static_cast<long long>(sec / 60 % 60), static_cast<long long>(sec % 60));
  return "{\"event_time\":\"" + std::string(t) + "\",\"event_type\":\"" + type + "\",\"description\":\"d\",\"action_id\":\"" +
         id + "\",\"agent_id\":\"" + agent + "\",\"frontier_item_id\":\"" + fi + "\"}\n";
}

}  // namespace

TEST_CASE("every injected lifecycle fault and collision is reported, and nothing else", "[lifecycle]") {
  Rng rng{7};
  std::string data;
  std::set<std::pair<std::string, std::string>> truth;  // (violation or warning, action_id)
  int64_t sec = 0;
  std::vector<std::pair<std::string, std::string>> established;  // (id, agent)
  for (int i = 0; i < 3000; ++i) {
    std::string id = "act-" + std::to_string(i);
    std::string agent = "agent-" + std::to_string(rng.below(5));
    std::string fi = "fi-" + std::to_string(i);
    size_t fault = rng.below(100);
    if (fault < 5) {  // started without planned, then completed
      data += event("action_started", id, agent, ++sec, fi);
      data += event("action_completed", id, agent, ++sec, fi);
      truth.insert({"orphan", id});
    } else if (fault < 10) {  // completed out of nowhere
      data += event("action_completed", id, agent, ++sec, fi);
      truth.insert({"orphan", id});
    } else if (fault < 14) {  // a second terminal event
      data += event("action_planned", id, agent, ++sec, fi);
      data += event("action_started", id, agent, ++sec, fi);
      data += event("action_failed", id, agent, ++sec, fi);
      data += event("action_failed", id, agent, ++sec, fi);
      truth.insert({"duplicate_terminal", id});
    } else if (fault < 17) {  // never finishes
      data += event("action_planned", id, agent, ++sec, fi);
      data += event("action_started", id, agent, ++sec, fi);
      truth.insert({"open_at_end", id});
    } else if (fault < 21 && !established.empty()) {  // another agent reuses an established id
      auto [other_id, owner] = established[rng.below(established.size())];
      std::string thief = owner == "agent-9" ? "agent-8" : "agent-9";
      bool first_time = truth.insert({"action_id_collision:" + thief, other_id}).second;
      (void)first_time;
      data += event("action_planned", other_id, thief, ++sec, "fi-stolen");
      data += event("action_completed", other_id, thief, ++sec, "fi-stolen");
      // The stolen id's own lifecycle stays clean: the reuse is not threaded into it.
      --i;
      continue;
    } else {  // clean
      data += event("action_planned", id, agent, ++sec, fi);
      data += event("action_started", id, agent, ++sec, fi);
      data += event(rng.below(2) ? "action_completed" : "action_failed", id, agent, ++sec, fi);
      established.push_back({id, agent});
    }
  }
  auto dir = temp_dir("lifecycle-truth");
  write_file(dir / "in.jsonl", data);
  PipelineSpec spec;
  Status st = load_pipeline_text(
      "pipeline:\n  stages:\n    - type: collision\n    - type: lifecycle\n      profile: action-event\n", "t.yaml", spec);
  REQUIRE(st.ok());
  RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir);
  REQUIRE(r.exit_code == 0);
  std::set<std::pair<std::string, std::string>> reported;
  size_t warnings = 0;
  for (const auto& line : lines_of(r.out)) {
    auto v = json::parse(line);
    REQUIRE(v);
    const json::Value* type = v->find("event_type");
    if (type->text == "lifecycle_violation") {
      reported.insert({v->find("violation")->text, v->find("key")->text});
      ++warnings;
    } else if (type->text == "instrumentation_warning") {
      reported.insert({"action_id_collision:" + v->find("reused_by")->text, v->find("action_id")->text});
      ++warnings;
    }
  }
  CHECK(warnings == reported.size());  // one warning per fault, no repeats
  std::vector<std::pair<std::string, std::string>> missing, extra;
  std::set_difference(truth.begin(), truth.end(), reported.begin(), reported.end(), std::back_inserter(missing));
  std::set_difference(reported.begin(), reported.end(), truth.begin(), truth.end(), std::back_inserter(extra));
  for (auto& m : missing) INFO("missing " << m.first << " " << m.second);
  for (auto& e : extra) INFO("extra " << e.first << " " << e.second);
  CHECK(missing.empty());
  CHECK(extra.empty());
  CHECK(truth.size() > 300);
  CHECK(r.stats.records_in == r.stats.records_out);  // lifecycle and collision never drop
}

TEST_CASE("timeout warnings do not depend on how the input is cut into batches", "[lifecycle]") {
  Rng rng{11};
  std::string data;
  int64_t sec = 0;
  for (int i = 0; i < 400; ++i) {
    std::string id = "act-" + std::to_string(i);
    data += event("action_planned", id, "agent-1", sec += rng.below(40), "fi");
    if (rng.below(3) != 0) data += event("action_completed", id, "agent-1", sec += rng.below(200), "fi");
  }
  auto dir = temp_dir("lifecycle-timeout-batches");
  write_file(dir / "in.jsonl", data);
  std::string config =
      "pipeline:\n  stages:\n    - type: lifecycle\n      profile: action-event\n      timeout_ms: 120000\n";
  std::string first;
  for (size_t batch : {size_t{1}, size_t{7}, size_t{1024}}) {
    PipelineSpec spec;
    REQUIRE(load_pipeline_text(config, "t.yaml", spec).ok());
    RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir / ("b" + std::to_string(batch)), batch);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("\"timeout\"") != std::string::npos);
    if (first.empty()) first = r.out;
    else CHECK(r.out == first);
  }
}
