// Stage state across follow-mode restarts: lifecycle and collision save what they hold, a new
// stage restores it within its own limits and goes on as if the run had not stopped.
#include <catch2/catch.hpp>

#include "core/stage_state.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;

namespace {

// One stage of a loaded config, fed records directly (no inputs, no outputs).
struct OneStage {
  PipelineSpec spec;
  RecordPool pool;
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Record>> kept;
  uint64_t line = 0;

  OneStage(const std::string& stage_yaml, std::vector<std::string> sources = {"app.log"}) : names(std::move(sources)) {
    Status st = load_pipeline_text("pipeline:\n  stages:\n    - " + stage_yaml + "\n", "t.yaml", spec);
    REQUIRE(st.message() == "");
  }
  Stage& stage() { return *spec.stages[0].stage; }
  // The records after the stage (generated ones in place), as text.
  std::vector<std::string> run(const std::vector<std::string>& lines) {
    Batch b(pool);
    b.source_names = &names;
    for (const std::string& l : lines) {
      auto& r = kept.emplace_back(std::make_unique<Record>());
      r->reset_owned(l);
      REQUIRE(r->parse() == simdjson::SUCCESS);
      r->source = 0;
      r->line = ++line;
      b.records.push_back(r.get());
    }
    stage().process_batch(b);
    b.merge_pending();
    std::vector<std::string> out;
    for (Record* r : b.records) out.emplace_back(r->bytes());
    return out;
  }
  std::string save() {
    std::string s;
    StateSources sources(names);
    stage().save_state(s, sources);
    return s;
  }
  Status restore(const std::string& state, std::string& note) {
    StateSources sources(names);
    return stage().restore_state(state, sources, note);
  }
};

std::string tool(const std::string& type, const std::string& id, int second, const std::string& agent = "agent-a") {
  return "{\"event_time\":\"2026-01-15T09:30:" + std::string(second < 10 ? "0" : "") + std::to_string(second) +
         ".000Z\",\"event_type\":\"" + type + "\",\"run_id\":\"run-1\",\"action_id\":\"" + id + "\",\"agent_id\":\"" +
         agent + "\",\"frontier_item_id\":\"fi-" + id + "\"}";
}

}  // namespace

TEST_CASE("lifecycle: a restored stage goes on exactly as the stage that saved it", "[state]") {
  OneStage a("type: lifecycle");
  a.run({tool("tool_call", "act-1", 1), tool("tool_call", "act-2", 2), tool("tool_call", "act-3", 3),
         tool("tool_result", "act-3", 4)});
  const std::string saved = a.save();
  OneStage b("type: lifecycle");
  std::string note;
  REQUIRE(b.restore(saved, note).message() == "");
  CHECK(note.empty());
  CHECK(b.save() == saved);  // deterministic, and nothing lost or added
  b.line = a.line;
  // The result pairs with its call; the repeated result is a duplicate terminal (closed
  // lifecycles are remembered too): byte for byte what the uninterrupted stage writes.
  const std::vector<std::string> next = {tool("tool_result", "act-1", 9), tool("tool_result", "act-3", 9)};
  const std::vector<std::string> got = b.run(next);
  CHECK(got == a.run(next));
  REQUIRE(got.size() == 3);
  CHECK(got[0].find(R"("lifecycle":{"track":"tool","key":"run-1/act-1","state":"closed","event":"tool_result","seq":2,)"
                    R"("started_at":"2026-01-15T09:30:01.000Z","duration_ms":8000,"opened_by":"agent-a"})") !=
        std::string::npos);
  CHECK(got[2].find(R"("violation":"duplicate_terminal")") != std::string::npos);
  CHECK(got[2].find(R"("lines":[{"source":"app.log","line":4},{"source":"app.log","line":6}])") != std::string::npos);
}

TEST_CASE("lifecycle: a restore keeps within max_open and closed_memory, most recent first", "[state]") {
  OneStage a("type: lifecycle");
  for (int i = 1; i <= 5; ++i) a.run({tool("tool_call", "open-" + std::to_string(i), i)});
  for (int i = 1; i <= 3; ++i) a.run({tool("tool_call", "done-" + std::to_string(i), 10 + i), tool("tool_result", "done-" + std::to_string(i), 20 + i)});
  OneStage b("{type: lifecycle, max_open: 2, closed_memory: 1}");
  std::string note;
  REQUIRE(b.restore(a.save(), note).message() == "");
  CHECK(note ==
        "3 of 5 open lifecycles not restored (max_open is 2; the least recently active); 2 of 3 closed lifecycles not "
        "remembered (closed_memory is 1; the oldest)");
  CHECK(b.stage().stats_json().find("\"open\":2,") != std::string::npos);
  auto result = [&](const std::string& id) { return b.run({tool("tool_result", id, 30)}); };
  // First the closed ones (a close below would take the one place in closed memory).
  auto dup = result("done-3");
  REQUIRE(dup.size() == 2);
  CHECK(dup[1].find(R"("violation":"duplicate_terminal")") != std::string::npos);
  auto forgotten = result("done-2");
  REQUIRE(forgotten.size() == 2);
  CHECK(forgotten[1].find(R"("violation":"orphan")") != std::string::npos);
  CHECK(result("open-5").size() == 1);  // paired: no warning
  CHECK(result("open-4").size() == 1);
  auto orphan = result("open-3");
  REQUIRE(orphan.size() == 2);
  CHECK(orphan[1].find(R"("violation":"orphan")") != std::string::npos);
}

TEST_CASE("collision: restored owners and warned agents, with their sources by name", "[state]") {
  OneStage a("type: collision");
  a.run({tool("action_planned", "x", 1, "agent-a"), tool("action_planned", "y", 2, "agent-a"),
         tool("action_planned", "y", 3, "agent-b")});
  const std::string saved = a.save();
  OneStage b("type: collision", {"other.log"});
  std::string note;
  REQUIRE(b.restore(saved, note).message() == "");
  CHECK(note.empty());
  CHECK(b.names == std::vector<std::string>{"other.log", "app.log"});
  CHECK(b.save() == saved);
  b.line = a.line;
  const std::vector<std::string> next = {tool("action_planned", "x", 9, "agent-b"), tool("action_planned", "y", 9, "agent-b")};
  b.names[0] = "app.log";  // the uninterrupted stage's sources, to compare byte for byte
  const std::vector<std::string> got = b.run(next);
  CHECK(got == a.run(next));
  // x: a new collision, warned; y: agent-b was warned about before the restart, marked only.
  REQUIRE(got.size() == 3);
  CHECK(got[1].find(R"("warning":"action_id_collision","action_id":"x","established_by":"agent-a","reused_by":"agent-b")") !=
        std::string::npos);
  CHECK(got[1].find(R"("established_frontier_item_id":"fi-x")") != std::string::npos);
  CHECK(got[2].find(R"("collision":{"action_id":"y")") != std::string::npos);
}

TEST_CASE("collision: a restore keeps the newest max_keys ids", "[state]") {
  OneStage a("type: collision");
  for (const char* id : {"a", "b", "c"}) a.run({tool("action_planned", id, 1, "agent-a")});
  OneStage b("{type: collision, max_keys: 2}");
  std::string note;
  REQUIRE(b.restore(a.save(), note).message() == "");
  CHECK(note == "1 of 3 ids not restored (max_keys is 2; the oldest)");
  CHECK(b.run({tool("action_planned", "a", 2, "agent-b")}).size() == 1);  // forgotten: no collision
  CHECK(b.run({tool("action_planned", "c", 2, "agent-b")}).size() == 2);
  CHECK(b.stage().stats_json() == R"("ids":2,"collisions":1,"colliding_records":1,"forgotten":2)");
}

TEST_CASE("a saved state that does not parse is an error that says what is wrong", "[state]") {
  std::string note;
  auto lifecycle_error = [&](const std::string& state) { return OneStage("type: lifecycle").restore(state, note).message(); };
  CHECK(lifecycle_error("[]") == "the state must be an object");
  CHECK(lifecycle_error(R"({"format":2})") == "\"format\" must be 1");
  const std::string head = R"({"format":1,"watermark_ms":null,"agents":["a"],"sources":["s"],"closed":[],"open":)";
  CHECK(lifecycle_error(head + "[[1,\"k\",0,0,1,1,0,null,null,0,1,0]]}") == "an open lifecycle is too short");
  CHECK(lifecycle_error(head + "[[1,\"k\",7,0,1,1,0,null,null,0,1,0,1]]}") ==
        "an open lifecycle refers to a table entry that does not exist");
  CHECK(lifecycle_error(head + "[[1,\"k\",0,0,1,1,0,null,null,0,1,0,1],[1,\"k\",0,0,1,1,0,null,null,0,1,0,1]]}") ==
        "an open lifecycle appears twice");
  // Times no record could carry (they would overflow the timestamp rendering).
  CHECK(lifecycle_error(head + "[[1,\"k\",0,0,1,1,0,-9223372036854775807,null,0,1,0,1]]}") ==
        "an open lifecycle has a time out of range");
  CHECK(lifecycle_error(R"({"format":1,"watermark_ms":-9223372036854775807,"agents":[],"sources":[],"closed":[],"open":[]})") ==
        "\"watermark_ms\" is out of range");
  CHECK(OneStage("type: collision").restore(R"({"format":1,"agents":[],"sources":["s"],"owners":[[1,0,0,1,""]]})", note).message() ==
        "an owner refers to a table entry that does not exist");
}

TEST_CASE("the state's config fingerprint follows what the state means", "[state]") {
  auto config = [](const std::string& yaml) { return OneStage(yaml).stage().state_config(); };
  CHECK(config("type: lifecycle") == config("{type: lifecycle, max_open: 5, timeout_ms: 10}"));
  CHECK(config("type: lifecycle") != config("{type: lifecycle, profile: action-event}"));
  CHECK(config("type: collision") == config("{type: collision, max_keys: 5}"));
  CHECK(config("type: collision") != config("{type: collision, scope_fields: [run_id]}"));
  CHECK(config("{type: validate, schema: auto}").empty());  // keeps no state
}

TEST_CASE("the engine restores by stage name and drops a state of another type", "[state]") {
  OneStage a("type: collision");
  a.run({tool("action_planned", "x", 1, "agent-a")});
  Checkpoint cp("unused.json");
  std::map<std::string, SavedStageState> saved = collect_stage_state(a.spec.stages, a.names);
  REQUIRE(saved.count("collision") == 1);
  CHECK(saved["collision"].type == "collision");
  CHECK(saved["collision"].config == a.stage().state_config());
  saved["lifecycle"] = saved["collision"];  // a collision state under the name of a lifecycle stage
  cp.set_stages(saved);
  PipelineSpec spec;
  REQUIRE(load_pipeline_text("pipeline:\n  stages: [{type: collision}, {type: lifecycle}]\n", "t.yaml", spec).ok());
  std::vector<std::string> names{"app.log"};
  REQUIRE(restore_stage_state(cp, spec.stages, names).ok());
  auto now = collect_stage_state(spec.stages, names);
  CHECK(now["collision"] == saved["collision"]);
  CHECK(now["lifecycle"].state.find("\"open\":[]") != std::string::npos);
}
