// The labelled secret corpus (tests/redact_corpus/corpus.jsonl + corpus.labels.jsonl, written
// by make_corpus.py) through the redact stage as configs/default.yaml configures it: recall per
// placement and per kind, the share of negatives altered, and a gate against the committed
// baseline (tests/redact_corpus/baseline.json). AGENTLOG_UPDATE_BASELINE=1 rewrites the baseline.
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/test_paths.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;

namespace {

struct Label {
  std::string id, label, kind, placement, field, secret;
  bool positive() const { return label == "positive"; }
};

struct Tally {
  size_t hit = 0, total = 0;  // positives: caught; negatives: altered
  double rate() const { return total ? static_cast<double>(hit) / static_cast<double>(total) : 0.0; }
};

struct Measure {
  std::map<std::string, Tally> recall, altered;             // per placement
  std::map<std::string, Tally> kind_recall, kind_altered;   // per kind
  Tally free_text_recall, free_text_altered;                // details.message, both placements in it
  std::vector<std::string> misses, false_positives;         // "kind placement id"
};

std::string corpus_path(const std::string& name) { return std::string(test::test_dir()) + "/redact_corpus/" + name; }

std::string str_member(const json::Value& v, const char* key) {
  const json::Value* m = v.find(key);
  return m && m->kind == json::Value::Kind::String ? m->text : std::string();
}

std::vector<Label> load_labels() {
  std::vector<Label> out;
  for (const auto& line : lines_of(read_file(corpus_path("corpus.labels.jsonl")))) {
    auto v = json::parse(line);
    REQUIRE(v);
    out.push_back({str_member(*v, "id"), str_member(*v, "label"), str_member(*v, "kind"), str_member(*v, "placement"),
                   str_member(*v, "field"), str_member(*v, "secret")});
  }
  return out;
}

// Every way the secret could still be in an output line: as is, or JSON-escaped.
bool survives(const std::string& line, const std::string& secret) {
  if (line.find(secret) != std::string::npos) return true;
  std::string q = json::quoted(secret);
  return line.find(q.substr(1, q.size() - 2)) != std::string::npos;
}

// The stages of configs/default.yaml up to and including redact (the later ones do not edit
// strings); `replacement` as given.
std::string default_like_config(const std::string& replacement) {
  return "pipeline:\n  stages:\n"
         "    - type: validate\n      name: agent-activity\n      schema: agent-activity\n"
         "      select:\n        - {field: event_type, in: [agent_run, tool_call, tool_result, escalation]}\n"
         "    - type: redact\n      replacement: " + replacement + "\n      hmac_key_env: AGENTLOG_CORPUS_TEST_KEY\n";
}

Measure run_corpus(const std::string& config, const std::string& name) {
  const std::vector<Label> labels = load_labels();
  const std::vector<std::string> input = lines_of(read_file(corpus_path("corpus.jsonl")));
  REQUIRE(input.size() == labels.size());
  ::setenv("AGENTLOG_CORPUS_TEST_KEY", "corpus-test-key-0123456789abcdef", 1);
  PipelineSpec spec;
  Status st = load_pipeline_text(config, name, spec);
  INFO(st.message());
  REQUIRE(st.ok());
  auto dir = temp_dir("corpus-" + name);
  RunResult r = run_captured(spec, {corpus_path("corpus.jsonl")}, dir);
  REQUIRE(r.exit_code == 0);
  INFO("dead letters: " << r.dead.substr(0, 500));
  CHECK(r.dead.empty());  // every corpus record is a valid spec 002 record

  std::map<std::string, std::string> out_by_id;
  for (const auto& line : lines_of(r.out)) {
    auto v = json::parse(line);
    REQUIRE(v);
    out_by_id[str_member(*v, "run_id")] = line;
  }
  Measure m;
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label& l = labels[i];
    auto it = out_by_id.find(l.id);
    const bool present = it != out_by_id.end();
    const bool free_text = l.field == "details.message";
    const std::string where = l.kind + " " + l.placement + " " + l.id;
    if (l.positive()) {
      bool caught = present && !survives(it->second, l.secret);
      Tally* ts[] = {&m.recall[l.placement], &m.kind_recall[l.kind], free_text ? &m.free_text_recall : nullptr};
      for (Tally* t : ts)
        if (t) t->hit += caught, t->total += 1;
      if (!caught) m.misses.push_back(where);
    } else {
      bool altered = !present || it->second != input[i];
      Tally* ts[] = {&m.altered[l.placement], &m.kind_altered[l.kind], free_text ? &m.free_text_altered : nullptr};
      for (Tally* t : ts)
        if (t) t->hit += altered, t->total += 1;
      if (altered) m.false_positives.push_back(where);
    }
  }
  return m;
}

std::string pct(const Tally& t) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << 100.0 * t.rate() << "% (" << t.hit << "/" << t.total << ")";
  return o.str();
}

void print_report(const Measure& m, const std::string& title) {
  std::ostringstream o;
  o << "\n== redact corpus: " << title << " ==\n";
  o << std::left << std::setw(12) << "placement" << std::setw(26) << "recall" << "negatives altered\n";
  std::set<std::string> places;
  for (const auto& [p, _] : m.recall) places.insert(p);
  for (const auto& [p, _] : m.altered) places.insert(p);
  for (const auto& p : places) {
    auto r = m.recall.find(p);
    auto a = m.altered.find(p);
    o << std::setw(12) << p << std::setw(26) << (r != m.recall.end() ? pct(r->second) : "-")
      << (a != m.altered.end() ? pct(a->second) : "-") << "\n";
  }
  o << std::setw(12) << "free text" << std::setw(26) << pct(m.free_text_recall) << pct(m.free_text_altered)
    << "   (details.message: free_text + snippet)\n";
  size_t full = 0;
  for (const auto& [k, t] : m.kind_recall) full += t.hit == t.total;
  o << "kinds fully caught: " << full << "/" << m.kind_recall.size() << "\n";
  o << "kinds with misses (recall):\n";
  for (const auto& [k, t] : m.kind_recall)
    if (t.hit < t.total) o << "  " << std::setw(40) << k << pct(t) << "\n";
  o << "negative kinds altered:\n";
  for (const auto& [k, t] : m.kind_altered)
    if (t.hit) o << "  " << std::setw(40) << k << pct(t) << "\n";
  if (std::getenv("AGENTLOG_CORPUS_VERBOSE")) {
    for (const auto& s : m.misses) o << "  missed: " << s << "\n";
    for (const auto& s : m.false_positives) o << "  altered: " << s << "\n";
  } else {
    o << "(AGENTLOG_CORPUS_VERBOSE=1 lists every missed positive and altered negative by id)\n";
  }
  std::cout << o.str() << std::flush;
}

std::string tally_json(const Tally& t, const char* hit_name) {
  return "{\"" + std::string(hit_name) + "\": " + std::to_string(t.hit) + ", \"total\": " + std::to_string(t.total) + "}";
}

std::string baseline_json(const Measure& m) {
  std::string o = "{\n  \"about\": \"redact corpus baseline; regenerate with AGENTLOG_UPDATE_BASELINE=1 ./build/tests/agentlog_tests '[corpus-gate]'\",\n";
  auto section = [&](const char* name, const std::map<std::string, Tally>& per, const Tally& free, const char* hit_name) {
    o += "  \"" + std::string(name) + "\": {\n";
    for (const auto& [p, t] : per) o += "    \"" + p + "\": " + tally_json(t, hit_name) + ",\n";
    o += "    \"free_text_overall\": " + tally_json(free, hit_name) + "\n  },\n";
  };
  section("recall", m.recall, m.free_text_recall, "caught");
  section("negatives_altered", m.altered, m.free_text_altered, "altered");
  auto list = [&](const char* name, const std::map<std::string, Tally>& per, bool want_full, bool last) {
    o += "  \"" + std::string(name) + "\": [";
    bool first = true;
    for (const auto& [k, t] : per)
      if (want_full ? t.hit == t.total : t.hit == 0) {
        o += std::string(first ? "\n    " : ",\n    ") + json::quoted(k);
        first = false;
      }
    o += std::string(first ? "]" : "\n  ]") + (last ? "\n" : ",\n");
  };
  list("must_catch", m.kind_recall, true, false);
  list("must_keep", m.kind_altered, false, false);
  auto per_kind = [&](const char* name, const std::map<std::string, Tally>& per, const char* hit_name, bool last) {
    o += "  \"" + std::string(name) + "\": {";
    bool first = true;
    for (const auto& [k, t] : per) {
      o += std::string(first ? "\n    " : ",\n    ") + json::quoted(k) + ": " + tally_json(t, hit_name);
      first = false;
    }
    o += std::string(first ? "}" : "\n  }") + (last ? "\n" : ",\n");
  };
  per_kind("kind_recall", m.kind_recall, "caught", false);
  per_kind("negative_kind_altered", m.kind_altered, "altered", true);
  return o + "}\n";
}

Tally tally_of(const json::Value* v, const char* hit_name) {
  Tally t;
  if (!v) return t;
  if (const json::Value* h = v->find(hit_name)) t.hit = std::stoull(h->text);
  if (const json::Value* n = v->find("total")) t.total = std::stoull(n->text);
  return t;
}

// a/b < c/d without floating point.
bool rate_below(const Tally& now, const Tally& base) { return now.hit * base.total < base.hit * now.total; }

}  // namespace

TEST_CASE("the secret corpus is large, labelled and regenerable", "[redact][corpus-gate]") {
  auto labels = load_labels();
  auto input = lines_of(read_file(corpus_path("corpus.jsonl")));
  REQUIRE(labels.size() == input.size());
  std::set<std::string> ids, pos_kinds, neg_kinds, places;
  size_t pos = 0, neg = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label& l = labels[i];
    INFO(l.id);
    CHECK(ids.insert(l.id).second);
    auto v = json::parse(input[i]);
    REQUIRE(v);
    CHECK(str_member(*v, "run_id") == l.id);
    places.insert(l.placement);
    if (l.positive()) {
      ++pos;
      pos_kinds.insert(l.kind);
      REQUIRE(!l.secret.empty());
      // The label's secret is in the field it names, exactly.
      std::string field = l.field == "details.message" ? str_member(*v->find("details"), "message") : str_member(*v, l.field.c_str());
      CHECK(field.find(l.secret) != std::string::npos);
    } else {
      CHECK(l.label == "negative");
      ++neg;
      neg_kinds.insert(l.kind);
    }
  }
  CHECK(pos >= 1000);
  CHECK(neg >= 1000);
  CHECK(pos_kinds.size() >= 150);
  CHECK(neg_kinds.size() >= 30);
  CHECK(places == std::set<std::string>{"free_text", "ref", "snippet", "uri"});
}

TEST_CASE("redact recall and false positives on the corpus do not fall behind the baseline", "[redact][corpus-gate]") {
  Measure m = run_corpus(default_like_config("mask"), "default-mask");
  print_report(m, "stages of configs/default.yaml (validate, redact replacement: mask)");

  const std::string path = corpus_path("baseline.json");
  if (const char* u = std::getenv("AGENTLOG_UPDATE_BASELINE"); u && std::string(u) == "1") {
    write_file(path, baseline_json(m));
    std::cout << "wrote " << path << "\n";
    return;
  }
  auto base = json::parse(read_file(path));
  if (!base) FAIL("cannot read " << path << "; create it with AGENTLOG_UPDATE_BASELINE=1 ./build/tests/agentlog_tests '[corpus-gate]'");
  const json::Value* recall = base->find("recall");
  const json::Value* altered = base->find("negatives_altered");
  REQUIRE(recall);
  REQUIRE(altered);
  const char* how = "If the change is intended, rewrite the baseline: AGENTLOG_UPDATE_BASELINE=1 ./build/tests/agentlog_tests '[corpus-gate]'";
  INFO(how);
  for (const auto& [p, t] : m.recall) {
    Tally b = tally_of(recall->find(p), "caught");
    INFO("recall in placement " << p << ": now " << pct(t) << ", baseline " << pct(b));
    CHECK_FALSE(rate_below(t, b));
  }
  {
    Tally b = tally_of(recall->find("free_text_overall"), "caught");
    INFO("recall in free text overall: now " << pct(m.free_text_recall) << ", baseline " << pct(b));
    CHECK_FALSE(rate_below(m.free_text_recall, b));
  }
  for (const auto& [p, t] : m.altered) {
    Tally b = tally_of(altered->find(p), "altered");
    INFO("negatives altered in placement " << p << ": now " << pct(t) << ", baseline " << pct(b));
    CHECK_FALSE(rate_below(b, t));
  }
  {
    Tally b = tally_of(altered->find("free_text_overall"), "altered");
    INFO("negatives altered in free text overall: now " << pct(m.free_text_altered) << ", baseline " << pct(b));
    CHECK_FALSE(rate_below(b, m.free_text_altered));
  }
  if (const json::Value* must = base->find("must_catch")) {
    for (const auto& k : must->items) {
      auto it = m.kind_recall.find(k.text);
      INFO("must-catch kind " << k.text << ": " << (it == m.kind_recall.end() ? "no longer in the corpus" : pct(it->second)));
      CHECK((it != m.kind_recall.end() && it->second.hit == it->second.total));
    }
  }
  // Per kind: no kind's recall may fall, no negative kind may be altered more often.
  if (const json::Value* kinds = base->find("kind_recall")) {
    for (const auto& [k, v] : kinds->members) {
      auto it = m.kind_recall.find(k);
      Tally b = tally_of(&v, "caught");
      INFO("kind " << k << ": recall now " << (it == m.kind_recall.end() ? "(no longer in the corpus)" : pct(it->second)) << ", baseline " << pct(b));
      CHECK((it != m.kind_recall.end() && !rate_below(it->second, b)));
    }
  }
  if (const json::Value* kinds = base->find("negative_kind_altered")) {
    for (const auto& [k, v] : kinds->members) {
      auto it = m.kind_altered.find(k);
      Tally b = tally_of(&v, "altered");
      INFO("negative kind " << k << ": altered now " << (it == m.kind_altered.end() ? "(no longer in the corpus)" : pct(it->second)) << ", baseline " << pct(b));
      CHECK((it != m.kind_altered.end() && !rate_below(b, it->second)));
    }
  }
  if (const json::Value* keep = base->find("must_keep")) {
    for (const auto& k : keep->items) {
      auto it = m.kind_altered.find(k.text);
      INFO("must-keep negative kind " << k.text << ": " << (it == m.kind_altered.end() ? "no longer in the corpus" : pct(it->second)) << " altered");
      CHECK((it != m.kind_altered.end() && it->second.hit == 0));
    }
  }
}

TEST_CASE("keyed hashes as replacement catch what masking catches", "[redact][corpus-gate]") {
  // The replacement must not change what is found: same misses, same alterations.
  Measure mask = run_corpus(default_like_config("mask"), "mask");
  Measure hmac = run_corpus(default_like_config("hmac-sha256"), "hmac");
  CHECK(hmac.misses == mask.misses);
  CHECK(hmac.false_positives == mask.false_positives);
}
