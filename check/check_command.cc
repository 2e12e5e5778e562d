#include "check/check_command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "check/policy.h"
#include "check/progress.h"
#include "check/report_collector.h"
#include "core/config.h"
#include "core/pipeline.h"
#include "core/signals.h"

namespace agentlog::check {
namespace {

// Stands in for the pipeline's outputs when `check` does not write them.
class NullOutput : public Output {
 public:
  Status open() override { return {}; }
  Status write_line(std::string_view) override { return {}; }
  Status flush() override { return {}; }
  std::string describe() const override { return "null"; }
};

struct Destination {
  ReportTarget target;
  std::unique_ptr<std::ofstream> file;  // null: stdout
};

int error(const std::string& msg) {
  std::fprintf(stderr, "agentlog: %s\n", msg.c_str());
  return kExitError;
}

}  // namespace

int run_check(const CheckOptions& opts) {
  PipelineSpec spec;
  LoadOverrides overrides;
  overrides.format = opts.format;
  if (Status st = load_pipeline_file(opts.config, spec, overrides); !st.ok())
    return error("config error: " + st.message());
  Policy policy;
  Status st = opts.policy.empty() ? load_policy_file(opts.config, false, policy)
                                  : load_policy_file(opts.policy, true, policy);
  if (!st.ok()) return error("config error: " + st.message());
  DeadLetterVocabulary vocabulary;
  for (const auto& s : spec.stages) {
    vocabulary.stage_names.push_back(s.name);
    vocabulary.stage_types.push_back(s.type);
  }
  if (Status s = check_reasons(policy, vocabulary); !s.ok()) return error("config error: " + s.message());

  std::vector<ReportTarget> targets;
  if (Status s = report_targets(opts.reports, policy, targets); !s.ok()) return error("usage error: " + s.message());

  // Open every report file before any input is read, so a bad path fails early.
  std::vector<Destination> dests;
  for (const auto& t : targets) {
    Destination d{t, nullptr};
    if (t.path != "-") {
      d.file = std::make_unique<std::ofstream>(t.path, std::ios::binary | std::ios::trunc);
      if (!*d.file) return error("error: " + t.path + ": cannot write the " + t.format + " report");
    }
    dests.push_back(std::move(d));
  }

  if (!opts.write_outputs) {
    spec.outputs.clear();
    spec.outputs.push_back(std::make_unique<NullOutput>());
    if (!spec.warnings.empty()) {  // warnings still reach the observer
      spec.warnings.clear();
      spec.warnings.push_back(std::make_unique<NullOutput>());
    }
    spec.dead_letter = std::make_unique<NullOutput>();
  }

  std::vector<std::string> paths = opts.inputs;
  if (paths.empty()) {
    std::vector<SourceSpec> sources;
    for (auto& in : spec.inputs)
      if (!in->expand(sources).ok()) sources.push_back({"-"});
    for (const auto& s : sources) paths.push_back(s.path.empty() ? "-" : s.path);
    if (spec.inputs.empty()) paths.push_back("-");
  }
  Progress progress(!opts.quiet && isatty(2), known_input_bytes(paths));

  ReportCollector collector(spec, policy);
  collector.progress_ = [&](const RunStats& s) { progress.update(s); };
  install_signal_handlers();
  RunOptions ro;
  ro.inputs = opts.inputs;
  ro.framing = opts.framing;
  ro.workers = opts.workers;
  ro.quiet = true;
  ro.observer = &collector;
  RunStats stats;
  std::string run_error;
  int rc = run_pipeline(spec, ro, stats, run_error);
  progress.done();
  if (!run_error.empty()) std::fprintf(stderr, "agentlog: error: %s\n", run_error.c_str());

  CheckReport report = collector.finish(stats, opts.config);
  bool colour = isatty(1) && std::getenv("NO_COLOR") == nullptr;
  for (auto& d : dests) {
    const std::string& f = d.target.format;
    bool to_stdout = !d.file;
    std::string doc = render_report(report, f, to_stdout && colour);
    if (to_stdout) {
      if (std::fwrite(doc.data(), 1, doc.size(), stdout) != doc.size() || std::fflush(stdout) != 0)
        return error("error: stdout: cannot write the " + f + " report");
    } else {
      *d.file << doc;
      d.file->flush();
      if (!*d.file) return error("error: " + d.target.path + ": cannot write the " + f + " report");
    }
  }
  // The check could not see every input (or write an output): it cannot pass.
  if (rc != 0) return kExitError;
  if (stats.interrupted) return error("error: interrupted; the check is incomplete");
  return report.passed ? kExitPass : kExitFail;
}

}  // namespace agentlog::check
