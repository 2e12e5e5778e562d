// Thousands of generated records with secrets in refs, in URIs and in free text, some of
// them dead-lettered before or after the redact stage: no secret may survive anywhere.
#include <cstdlib>

#include <catch2/catch.hpp>

#include "tests/test_paths.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;

namespace {

struct Sample {
  std::string text, secret;
};

std::vector<Sample> corpus() {
  std::vector<Sample> out;
  for (const auto& line : lines_of(read_file(std::string(test::test_dir()) + "/redact_corpus/positives.jsonl"))) {
    auto v = json::parse(line);
    out.push_back({v->find("text")->text, v->find("secret")->text});
  }
  return out;
}

// Every way a secret could appear in output text: as is, or JSON-escaped.
bool leaks(const std::string& haystack, const std::string& secret) {
  if (haystack.find(secret) != std::string::npos) return true;
  std::string q = json::quoted(secret);
  return haystack.find(q.substr(1, q.size() - 2)) != std::string::npos;
}

}  // namespace

TEST_CASE("no secret survives redaction, in output or dead letters", "[redact][leak]") {
  auto samples = corpus();
  REQUIRE(samples.size() >= 80);
  Rng rng{2026};
  std::string data;
  std::vector<std::string> secrets;
  const std::string h = "sha256:" + std::string(64, 'a');
  for (int i = 0; i < 4000; ++i) {
    const Sample& s = samples[rng.below(samples.size())];
    secrets.push_back(s.secret);
    std::string rec = "{\"event_time\":\"2026-01-15T09:30:00Z\",\"agent_id\":\"a\",\"agent_version\":\"1\",\"run_id\":\"r\","
                      "\"event_type\":\"tool_call\",\"actor_id\":\"u\",\"tool_name\":\"shell\",\"tool_action\":\"execute\","
                      "\"auth_context\":\"role:dev\",\"evidence_ref\":\"urn:e:1\",";
    std::string where;
    // In a URI a secret must be a valid component (unreserved characters); others go elsewhere.
    bool uri_safe = std::all_of(s.secret.begin(), s.secret.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
    });
    size_t place = rng.below(7);
    if (!uri_safe && (place == 1 || place == 6)) place = 0;
    switch (place) {
      case 0: where = "\"input_ref\":" + json::quoted(s.text) + ",\"output_ref\":\"" + h + "\",\"tool_target\":\"/x\""; break;
      case 1: where = "\"input_ref\":\"" + h + "\",\"output_ref\":\"https://svc.example.com/v1/run?token=" + s.secret +
                      "&page=2\",\"tool_target\":\"/x\"";
        break;
      case 2: where = "\"input_ref\":\"" + h + "\",\"output_ref\":\"" + h + "\",\"tool_target\":" + json::quoted(s.text); break;
      case 3: where = "\"input_ref\":\"" + h + "\",\"output_ref\":\"" + h + "\",\"tool_target\":\"/x\",\"details\":{\"command\":" +
                      json::quoted(s.text) + "}";
        break;
      case 4: where = "\"input_ref\":\"" + h + "\",\"output_ref\":\"" + h + "\",\"tool_target\":\"/x\",\"error_code\":" +
                      json::quoted(s.text);
        break;
      case 5: where = "\"input_ref\":\"" + h + "\",\"output_ref\":\"" + h + "\",\"tool_target\":\"/x\",\"details\":{\"steps\":[1,{\"out\":" +
                      json::quoted(s.text) + "}]}";
        break;
      default: where = "\"input_ref\":\"" + h + "\",\"output_ref\":\"sftp://deploy:" + s.secret +
                       "@files.example.com/drop\",\"tool_target\":\"/x\"";
        break;
    }
    // Some records fail validation before redaction (bad decision) and are dead-lettered there.
    std::string decision = rng.below(10) == 0 ? "approve" : "allow";
    rec += where + ",\"decision\":\"" + decision + "\"}";
    if (rng.below(25) == 0) rec = rec.substr(0, rec.size() - 1) + ",";  // malformed: dead-lettered at input
    data += rec + "\n";
  }
  auto dir = temp_dir("leak");
  write_file(dir / "in.jsonl", data);
  ::setenv("AGENTLOG_LEAK_TEST_KEY", "leak-test-key-0123456789abcdef", 1);
  for (const char* mode : {"hmac-sha256", "sha256", "mask"}) {
    PipelineSpec spec;
    std::string cfg = std::string("pipeline:\n  stages:\n    - type: validate\n      schema: agent-activity\n") +
                      "    - type: redact\n      replacement: " + mode + "\n      hmac_key_env: AGENTLOG_LEAK_TEST_KEY\n";
    Status st = load_pipeline_text(cfg, "leak.yaml", spec);
    INFO(st.message());
    REQUIRE(st.ok());
    RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir / mode);
    REQUIRE(r.exit_code == 0);
    CHECK(r.stats.dead_lettered > 100);  // both routes to the dead-letter file are exercised
    CHECK(r.stats.records_out > 3000);
    size_t leaked = 0;
    for (const auto& secret : secrets) {
      if (leaks(r.out, secret) || leaks(r.dead, secret)) {
        if (leaked++ < 5) {
          size_t at = r.out.find(secret);
          std::string ctx = at != std::string::npos ? r.out.substr(at > 200 ? at - 200 : 0, 400) : r.dead.substr(r.dead.find(secret) > 200 ? r.dead.find(secret) - 200 : 0, 400);
          FAIL_CHECK(mode << ": secret survived: " << secret << "\n in: " << ctx);
        }
      }
    }
    CHECK(leaked == 0);
  }
}

TEST_CASE("clean hashes and URIs are never altered", "[redact][leak]") {
  Rng rng{99};
  std::string data;
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < 3000; ++i) {
    std::string h;
    for (int k = 0; k < 64; ++k) h.push_back(hex[rng.below(16)]);
    std::string uri = rng.below(2) ? "s3://agent-artifacts/run-" + std::to_string(i) + "/stdout-" + h.substr(0, 12) + ".txt"
                                   : "https://api.example.com/v1/items/" + h.substr(0, 32) + "?page=" + std::to_string(i);
    data += "{\"input_ref\":\"sha256:" + h + "\",\"output_ref\":\"" + uri + "\",\"tool_target\":\"/srv/app/" +
            h.substr(0, 8) + ".py\",\"details\":{\"commit\":\"" + h.substr(0, 40) + "\"}}\n";
  }
  auto dir = temp_dir("clean");
  write_file(dir / "in.jsonl", data);
  PipelineSpec spec;
  REQUIRE(load_pipeline_text("pipeline:\n  stages:\n    - type: redact\n      replacement: mask\n", "c.yaml", spec).ok());
  RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == data);  // byte-identical: nothing flagged, nothing rewritten
}

// Found by tests/fuzz/fuzz_redact.cc: in a malformed line, an invalid UTF-8 byte inside a
// finding of another rule (here after `secret":"`, with the quotes paired off wrongly) made
// the replacement miss, and the token beside it went to the dead letter unmasked.
TEST_CASE("a secret beside invalid UTF-8 in a malformed line is scrubbed", "[redact][leak]") {
  const std::string secret = "glpat-CDcATMvS8qfDAU-374LE";
  auto dir = temp_dir("invalid-utf8-scrub");
  write_file(dir / "in.jsonl", "\"\"secret\":\"P\xff " + secret + " G\"\n"
                               "{\"rule\": \"x\", \"secret\": \"pypi-Ag\xff\xff " + secret + " cLG\"}\n");
  PipelineSpec spec;
  REQUIRE(load_pipeline_text("pipeline:\n  stages:\n    - type: redact\n      replacement: mask\n", "c.yaml", spec).ok());
  RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir);
  REQUIRE(r.exit_code == 0);
  CHECK(r.stats.dead_lettered == 2);
  CHECK_FALSE(leaks(r.out + r.dead, secret));
  CHECK(lines_of(r.dead).size() == 2);
}
