// Stages `enrich` and `map`: what golden files cannot show (the clock, the host name, epoch
// unit boundaries, byte-identical re-runs, flags kept across the append fast path).
#include <unistd.h>

#include <chrono>
#include <regex>

#include <catch2/catch.hpp>

#include "tests/test_paths.h"
#include "core/hashing.h"
#include "core/time_format.h"
#include "plugins/enrich/enrich.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;
using plugins::enrich::EpochUnit;

namespace {

// Builds the stages of a config given as YAML text (no inputs or outputs needed).
PipelineSpec load(const std::string& yaml) {
  PipelineSpec spec;
  Status st = load_pipeline_text(yaml, "test.yaml", spec);
  INFO(st.message());
  REQUIRE(st.ok());
  return spec;
}

// Runs one record through one stage; returns the verdict, leaves the edited bytes in `out`.
// (enrich and map decide each record on its own: RecordStage.)
StageVerdict run_one(Stage& any_stage, const std::string& line, std::string& out, bool generated = false) {
  auto* stage_ptr = dynamic_cast<RecordStage*>(&any_stage);
  REQUIRE(stage_ptr);
  RecordStage& stage = *stage_ptr;
  Record r;
  r.reset_owned(line);
  r.generated = generated;
  REQUIRE(r.parse() == simdjson::SUCCESS);
  StageVerdict v = stage.process(r);
  out = std::string(r.bytes());
  CHECK(r.generated == generated);
  return v;
}

std::string field(const std::string& json_text, std::string_view key) {
  auto v = json::parse(json_text);
  REQUIRE(v);
  const json::Value* f = v->find(key);
  REQUIRE(f);
  return f->text;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("enrich ingest_time is RFC 3339 UTC with milliseconds and Z, read from the clock", "[enrich]") {
  auto spec = load(R"(
pipeline:
  stages:
    - type: enrich
      ingest_time: true
      ingest_time_field: received_at
)");
  std::string out;
  int64_t before = now_ms();
  REQUIRE(run_one(*spec.stages[0].stage, R"({"agent_id":"a"})", out).kind == Verdict::Keep);
  int64_t after = now_ms();
  std::string t = field(out, "received_at");
  CHECK(std::regex_match(t, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")));
  auto ms = parse_rfc3339_ms(t);
  REQUIRE(ms);
  CHECK(*ms >= before);
  CHECK(*ms <= after);
}

TEST_CASE("enrich host adds gethostname()", "[enrich]") {
  auto spec = load(R"(
pipeline:
  stages:
    - type: enrich
      host: true
)");
  char host[256] = {};
  REQUIRE(gethostname(host, sizeof host - 1) == 0);
  std::string out;
  run_one(*spec.stages[0].stage, R"({"agent_id":"a"})", out);
  CHECK(field(out, "host") == host);
}

TEST_CASE("epoch numbers: the unit follows from the magnitude", "[enrich]") {
  using plugins::enrich::parse_epoch;
  struct Case {
    const char* text;
    EpochUnit unit;
    int64_t ms;
  };
  const Case cases[] = {
      {"0", EpochUnit::Seconds, 0},
      {"1768469400", EpochUnit::Seconds, 1768469400000},
      {"1768469400.1129", EpochUnit::Seconds, 1768469400112},   // fractions of a ms are cut
      {"1.7684694e9", EpochUnit::Seconds, 1768469400000},
      {"99999999999", EpochUnit::Seconds, 99999999999000},        // below 1e11: seconds
      {"100000000000", EpochUnit::Milliseconds, 100000000000},    // 1e11: milliseconds
      {"1768469400112", EpochUnit::Milliseconds, 1768469400112},
      {"1768469400112.9", EpochUnit::Milliseconds, 1768469400112},
      {"99999999999999", EpochUnit::Milliseconds, 99999999999999},
      {"100000000000000", EpochUnit::Microseconds, 100000000000},  // 1e14: microseconds
      {"1768469400112345", EpochUnit::Microseconds, 1768469400112},
      {"99999999999999999", EpochUnit::Microseconds, 99999999999999},
      {"100000000000000000", EpochUnit::Nanoseconds, 100000000000},  // 1e17: nanoseconds
      {"1768469400112345678", EpochUnit::Nanoseconds, 1768469400112},
      {"99999999999999999999", EpochUnit::Nanoseconds, 99999999999999},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    EpochUnit unit{};
    std::string why;
    auto ms = parse_epoch(c.text, &unit, &why);
    REQUIRE(ms);
    CHECK(unit == c.unit);
    CHECK(*ms == c.ms);
  }
  for (const char* bad : {"100000000000000000000", "1e20", "-1", "1.2.3", "", "0x10", "+5", "NaN"}) {
    INFO(bad);
    std::string why;
    CHECK_FALSE(parse_epoch(bad, nullptr, &why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("time values: RFC 3339 with any offset, epoch numbers and numeric strings", "[enrich]") {
  using plugins::enrich::parse_time_value;
  auto fmt = [](std::string_view text, bool is_string) {
    std::string why;
    auto ms = parse_time_value(text, is_string, &why);
    return ms ? format_rfc3339_ms(*ms) : "error: " + why;
  };
  CHECK(fmt("2026-01-15T11:30:00.112+02:00", true) == "2026-01-15T09:30:00.112Z");
  CHECK(fmt("2026-01-14T23:59:59.9999-10:00", true) == "2026-01-15T09:59:59.999Z");
  CHECK(fmt("1768469400", true) == "2026-01-15T09:30:00.000Z");
  CHECK(fmt("1768469400", false) == "2026-01-15T09:30:00.000Z");
  CHECK(fmt("1768469400112", false) == "2026-01-15T09:30:00.112Z");
  CHECK(fmt("next tuesday", true) == "error: \"next tuesday\" is not an RFC 3339 date-time or an epoch number");
  CHECK(fmt("-5", false) == "error: -5 is a negative epoch time");
}

TEST_CASE("YAML scalars keep their type unless quoted", "[enrich]") {
  using plugins::enrich::yaml_scalar_json;
  YAML::Node n = YAML::Load(R"({a: 2, b: "2", c: 2.50, d: true, e: "true", f: yes, g: null, h: 1e3, i: 0x1F, j: -0, k: text})");
  CHECK(yaml_scalar_json(n["a"]) == "2");
  CHECK(yaml_scalar_json(n["b"]) == "\"2\"");
  CHECK(yaml_scalar_json(n["c"]) == "2.50");
  CHECK(yaml_scalar_json(n["d"]) == "true");
  CHECK(yaml_scalar_json(n["e"]) == "\"true\"");
  CHECK(yaml_scalar_json(n["f"]) == "\"yes\"");  // YAML 1.1 booleans are text
  CHECK(yaml_scalar_json(n["g"]) == "null");
  CHECK(yaml_scalar_json(n["h"]) == "1e3");
  CHECK(yaml_scalar_json(n["i"]) == "\"0x1F\"");
  CHECK(yaml_scalar_json(n["j"]) == "-0");
  CHECK(yaml_scalar_json(n["k"]) == "\"text\"");
}

TEST_CASE("enrich appends in one splice and keeps the record's flags", "[enrich]") {
  auto spec = load(R"(
pipeline:
  stages:
    - type: enrich
      fields: {env: prod, tier: 2}
      event_id: {prefix: "evt-"}
)");
  Stage& st = *spec.stages[0].stage;
  std::string out;
  run_one(st, "{}", out, /*generated=*/true);
  CHECK(out == R"({"env":"prod","tier":2,"event_id":"evt-44136fa355b3678a1146ad16f7e8649e"})");
  run_one(st, "{ \"a\" : 1 }", out);
  CHECK(out.starts_with(R"({ "a" : 1 ,"env":"prod","tier":2,"event_id":"evt-)"));
  // A field the record has is replaced in place (the slow path), the others appended.
  run_one(st, R"({"tier":1,"a":1})", out);
  CHECK(out.starts_with(R"({"tier":2,"a":1,"env":"prod","event_id":"evt-)"));
}

TEST_CASE("enrich and map give byte-identical output on a re-run (no ingest_time)", "[enrich][map]") {
  auto dir = temp_dir("enrich-map-rerun");
  write_file(dir / "owners.csv", "agent_id,owner,team\nagent-recon-01,alice@example.com,red-team\n");
  write_file(dir / "config.yaml", R"(
pipeline:
  stages:
    - type: enrich
      name: before-map
      event_id: {prefix: "src-"}
      normalize_time: {field: event_time, on_error: tag}
    - type: map
      profile: action-event
      operations:
        - hash: {field: description, to: details.description_ref}
    - type: enrich
      fields: {environment: lab}
      host: false
      add_pipeline: {name: pentest, version: "1"}
      event_id: {prefix: "evt-"}
      lookups:
        - {file: owners.csv, key: agent_id, columns: [owner, team]}
)");
  std::string input = read_file(std::filesystem::path(test::source_dir()) / "samples" / "action_events.jsonl");
  input += R"({"event_type":"action_started","description":"no time"})"
           "\n";
  write_file(dir / "input.jsonl", input);
  std::vector<std::string> outs, deads;
  for (int run = 0; run < 2; ++run) {
    std::filesystem::path saved = std::filesystem::current_path();
    std::filesystem::current_path(dir);
    PipelineSpec spec;
    Status st = load_pipeline_file("config.yaml", spec);
    REQUIRE(st.ok());
    RunResult r = run_captured(spec, {"input.jsonl"}, dir / ("run" + std::to_string(run)));
    std::filesystem::current_path(saved);
    REQUIRE(r.exit_code == 0);
    CHECK(r.stats.records_in == 14);
    CHECK(r.stats.records_out == 13);
    CHECK(r.stats.dead_lettered == 1);
    outs.push_back(r.out);
    deads.push_back(r.dead);
  }
  CHECK(outs[0] == outs[1]);
  CHECK(deads[0] == deads[1]);
  CHECK(outs[0].find("\"owner\":\"alice@example.com\"") != std::string::npos);
}

TEST_CASE("map leaves records it does not change byte for byte", "[map]") {
  auto spec = load(R"(
pipeline:
  stages:
    - type: map
      operations:
        - delete: details.password
        - default: {field: decision, value: unknown}
)");
  Stage& st = *spec.stages[0].stage;
  std::string out;
  std::string line = R"({ "decision" : "allow", "n": 1.50 })";
  REQUIRE(run_one(st, line, out).kind == Verdict::Keep);
  CHECK(out == line);
  REQUIRE(run_one(st, R"({"n": 1.50})", out).kind == Verdict::Keep);
  CHECK(out == R"({"n":1.50,"decision":"unknown"})");
}

TEST_CASE("map restores the record it received when an operation fails", "[map]") {
  auto spec = load(R"(
pipeline:
  stages:
    - type: map
      operations:
        - move: {from: a, to: b}
        - coerce: {field: b, to: integer}
)");
  std::string out;
  std::string line = R"({"a": "abc", "keep": true})";
  StageVerdict v = run_one(*spec.stages[0].stage, line, out, /*generated=*/true);
  CHECK(v.kind == Verdict::DeadLetter);
  CHECK(v.reason == R"(operations[1] (coerce): b: "abc" is not an integer)");
  CHECK(out == line);
}

TEST_CASE("enrich event_id hashes the line as received, members held aside by earlier stages included",
          "[enrich]") {
  // lifecycle holds its annotation aside (no join, no re-parse); enrich must hash the line as
  // it would be written, and leave the output whole.
  auto spec = load(R"(
pipeline:
  stages:
    - type: lifecycle
      profile: agent-activity
    - type: enrich
      fields: {env: prod}
      event_id: {}
)");
  auto dir = temp_dir("enrich-event-id-held");
  write_file(dir / "in.jsonl",
             R"({"event_time":"2026-01-15T09:30:00.033Z","agent_id":"a","run_id":"r1","event_type":"agent_run","tool_name":"agent.runtime","tool_action":"execute","tool_target":"t","decision":"allow"})"
             "\n{ }\n");
  RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 3);  // and lifecycle's open_at_end violation
  CHECK(lines[0].find(R"("lifecycle":{)") != std::string::npos);
  for (const std::string& line : lines) {
    INFO(line);
    std::smatch m;
    REQUIRE(std::regex_search(line, m, std::regex(R"re(,?"env":"prod","event_id":"([0-9a-f]{32})"\})re")));
    // What enrich received: the line without the members it appended.
    std::string received = line.substr(0, static_cast<size_t>(m.position(0))) + "}";
    CHECK(m[1].str() == sha256_hex(received).substr(0, 32));
  }
}
