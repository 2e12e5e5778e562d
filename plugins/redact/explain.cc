// `agentlog redact-test`: which rule matched where, so rule files and allowlists can be tuned
// on real logs. Prints positions and rule ids only, never the matched text. The redact stage's
// side of it (RedactExplainer) is here too.
#include <fstream>
#include <iostream>
#include <map>

#include "core/config.h"
#include "plugins/redact/redact.h"
#include "plugins/redact/redact_stage.h"

namespace agentlog::plugins {

namespace redact_stage {

void RedactStage::explain(std::string_view line, std::vector<RedactFinding>& out) const {
  auto parsed = json::parse(line);
  if (!parsed || parsed->kind != json::Value::Kind::Object) {
    explain_string(line, "(line)", out);
    return;
  }
  json::Value work = std::move(*parsed);
  for (const auto& f : ref_fields) visit_all(work, f, 0, [&](json::Value& v) { explain_ref(v, f.text, out); });
  if (all_strings) {
    explain_value(work, "", out, true);
  } else {
    for (const auto& f : fields)
      if (!is_ref_field(f)) visit_all(work, f, 0, [&](json::Value& v) { explain_value(v, f.text, out, false); });
  }
}

void RedactStage::explain_string(std::string_view text, const std::string& field,
                                 std::vector<RedactFinding>& out) const {
  thread_local std::vector<Finding> found;
  find_secrets(text, found, true);
  std::sort(found.begin(), found.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end != b.end ? a.end < b.end : a.rule < b.rule;
  });
  found.erase(std::unique(found.begin(), found.end(),
                          [](const Finding& a, const Finding& b) { return a.begin == b.begin && a.end == b.end && a.rule == b.rule; }),
              found.end());
  for (const auto& f : found)
    if (!is_placeholder(text.substr(f.begin, f.end - f.begin))) out.push_back({field, f.begin, f.end, rules.rules()[f.rule].id});
}

void RedactStage::explain_ref(json::Value& v, const std::string& field, std::vector<RedactFinding>& out) const {
  if (v.kind == json::Value::Kind::Null) return;
  if (v.kind != json::Value::Kind::String) {
    out.push_back({field, 0, 0, "ref-raw-content"});
    return;
  }
  RefKind k = redact::classify_ref(v.text);
  if (k == RefKind::HashRef) return;
  if (k == RefKind::Raw) {
    out.push_back({field, 0, v.text.size(), "ref-raw-content"});
    return;
  }
  if (k == RefKind::UriWithSecrets) {
    std::vector<std::string> what;
    std::vector<std::pair<size_t, size_t>> spans;
    redact::redact_uri(v.text, [&](std::string_view s) {
      size_t b = static_cast<size_t>(s.data() - v.text.data());
      spans.emplace_back(b, b + s.size());
      return std::string();
    }, what);
    for (size_t i = 0; i < spans.size() && i < what.size(); ++i) out.push_back({field, spans[i].first, spans[i].second, what[i]});
  }
  explain_string(v.text, field, out);
}

void RedactStage::explain_value(json::Value& v, const std::string& path, std::vector<RedactFinding>& out,
                                bool top) const {
  switch (v.kind) {
    case json::Value::Kind::String: explain_string(v.text, path, out); break;
    case json::Value::Kind::Array:
      for (size_t i = 0; i < v.items.size(); ++i)
        explain_value(v.items[i], path.empty() ? std::to_string(i) : path + "." + std::to_string(i), out, false);
      break;
    case json::Value::Kind::Object:
      for (auto& [k, child] : v.members) {
        if (top && is_top_ref(k)) continue;
        std::string child_path = path.empty() ? k : path + "." + k;
        explain_string(k, child_path + " (name)", out);
        if (child.kind == json::Value::Kind::String && secret_member_name(k) && is_secret_value(child.text)) {
          out.push_back({child_path, 0, child.text.size(), "json-secret-member"});
          continue;
        }
        explain_value(child, child_path, out, false);
      }
      break;
    default: break;
  }
}

}  // namespace redact_stage

int run_redact_test(const std::string& config, const std::vector<std::string>& files, std::FILE* out, std::FILE* err) {
  PipelineSpec spec;
  if (Status status = load_pipeline_file(config, spec); !status.ok()) {
    std::fprintf(err, "agentlog: config error: %s\n", status.message().c_str());
    return 2;
  }
  std::vector<std::pair<std::string, const RedactExplainer*>> stages;
  for (const auto& slot : spec.stages)
    if (const auto* explainer = dynamic_cast<const RedactExplainer*>(slot.stage.get()))
      stages.emplace_back(slot.name, explainer);
  if (stages.empty()) {
    std::fprintf(err, "agentlog: config error: %s: the pipeline has no redact stage\n", config.c_str());
    return 2;
  }
  std::map<std::string, uint64_t> by_rule;
  uint64_t lines = 0, lines_with = 0, findings = 0;
  std::vector<RedactFinding> found;
  for (const auto& file : files) {
    std::ifstream opened;
    std::istream* input = &std::cin;
    if (file != "-") {
      opened.open(file, std::ios::binary);
      if (!opened) {
        std::fprintf(err, "agentlog: error: cannot read \"%s\"\n", file.c_str());
        return 2;
      }
      input = &opened;
    }
    std::string line;
    for (uint64_t line_number = 1; std::getline(*input, line); ++line_number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ++lines;
      bool any = false;
      for (const auto& [name, stage] : stages) {
        found.clear();
        stage->explain(line, found);
        for (const auto& finding : found) {
          std::fprintf(out, "%s:%llu: %s%s [%zu,%zu) %s\n", file.c_str(), static_cast<unsigned long long>(line_number),
                       stages.size() > 1 ? (name + ": ").c_str() : "", finding.field.c_str(), finding.begin,
                       finding.end, finding.rule.c_str());
          ++by_rule[finding.rule];
          ++findings;
          any = true;
        }
      }
      lines_with += any;
    }
  }
  std::fprintf(out, "redact-test: %llu lines, %llu with findings, %llu findings\n", static_cast<unsigned long long>(lines),
               static_cast<unsigned long long>(lines_with), static_cast<unsigned long long>(findings));
  for (const auto& [rule, count] : by_rule)
    std::fprintf(out, "  %-40s %llu\n", rule.c_str(), static_cast<unsigned long long>(count));
  return 0;
}

}  // namespace agentlog::plugins
