// `agentlog redact-test`: which rule matched where, so rule files and allowlists can be tuned
// on real logs. Prints positions and rule ids only, never the matched text.
#include <fstream>
#include <iostream>
#include <map>

#include "core/config.h"
#include "plugins/redact/redact.h"

namespace agentlog::plugins {

int run_redact_test(const std::string& config, const std::vector<std::string>& files, std::FILE* out, std::FILE* err) {
  PipelineSpec spec;
  if (Status st = load_pipeline_file(config, spec); !st.ok()) {
    std::fprintf(err, "agentlog: config error: %s\n", st.message().c_str());
    return 2;
  }
  std::vector<std::pair<std::string, const RedactExplainer*>> stages;
  for (const auto& slot : spec.stages)
    if (const auto* e = dynamic_cast<const RedactExplainer*>(slot.stage.get())) stages.emplace_back(slot.name, e);
  if (stages.empty()) {
    std::fprintf(err, "agentlog: config error: %s: the pipeline has no redact stage\n", config.c_str());
    return 2;
  }
  std::map<std::string, uint64_t> by_rule;
  uint64_t lines = 0, lines_with = 0, findings = 0;
  std::vector<RedactFinding> found;
  for (const auto& file : files) {
    std::ifstream f;
    std::istream* in = &std::cin;
    if (file != "-") {
      f.open(file, std::ios::binary);
      if (!f) {
        std::fprintf(err, "agentlog: error: cannot read \"%s\"\n", file.c_str());
        return 2;
      }
      in = &f;
    }
    std::string line;
    for (uint64_t n = 1; std::getline(*in, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ++lines;
      bool any = false;
      for (const auto& [name, stage] : stages) {
        found.clear();
        stage->explain(line, found);
        for (const auto& x : found) {
          std::fprintf(out, "%s:%llu: %s%s [%zu,%zu) %s\n", file.c_str(), static_cast<unsigned long long>(n),
                       stages.size() > 1 ? (name + ": ").c_str() : "", x.field.c_str(), x.begin, x.end, x.rule.c_str());
          ++by_rule[x.rule];
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
