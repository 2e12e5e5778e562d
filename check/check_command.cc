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
  if (Status status = load_pipeline_file(opts.config, spec, overrides); !status.ok())
    return error("config error: " + status.message());
  Policy policy;
  Status loaded =
      opts.policy.empty() ? load_policy_file(opts.config, false, policy) : load_policy_file(opts.policy, true, policy);
  if (!loaded.ok()) return error("config error: " + loaded.message());
  DeadLetterVocabulary vocabulary;
  for (const auto& stage : spec.stages) {
    vocabulary.stage_names.push_back(stage.name);
    vocabulary.stage_types.push_back(stage.type);
  }
  if (Status status = check_reasons(policy, vocabulary); !status.ok())
    return error("config error: " + status.message());

  std::vector<ReportTarget> targets;
  if (Status status = report_targets(opts.reports, policy, targets); !status.ok())
    return error("usage error: " + status.message());

  // Open every report file before any input is read, so a bad path fails early.
  std::vector<Destination> dests;
  for (const auto& target : targets) {
    Destination dest{target, nullptr};
    if (target.path != "-") {
      dest.file = std::make_unique<std::ofstream>(target.path, std::ios::binary | std::ios::trunc);
      if (!*dest.file) return error("error: " + target.path + ": cannot write the " + target.format + " report");
    }
    dests.push_back(std::move(dest));
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
    for (auto& input : spec.inputs)
      if (!input->expand(sources).ok()) sources.push_back({"-"});
    for (const auto& source : sources) paths.push_back(source.path.empty() ? "-" : source.path);
    if (spec.inputs.empty()) paths.push_back("-");
  }
  Progress progress(!opts.quiet && isatty(2), known_input_bytes(paths));

  ReportCollector collector(spec, policy);
  collector.progress_ = [&](const RunStats& s) { progress.update(s); };
  install_signal_handlers();
  RunOptions run_options;
  run_options.inputs = opts.inputs;
  run_options.framing = opts.framing;
  run_options.workers = opts.workers;
  run_options.quiet = true;
  run_options.observer = &collector;
  RunStats stats;
  std::string run_error;
  int exit_code = run_pipeline(spec, run_options, stats, run_error);
  progress.done();
  if (!run_error.empty()) std::fprintf(stderr, "agentlog: error: %s\n", run_error.c_str());

  CheckReport report = collector.finish(stats, opts.config);
  bool colour = isatty(1) && std::getenv("NO_COLOR") == nullptr;
  for (auto& dest : dests) {
    const std::string& format = dest.target.format;
    bool to_stdout = !dest.file;
    std::string doc = render_report(report, format, to_stdout && colour);
    if (to_stdout) {
      if (std::fwrite(doc.data(), 1, doc.size(), stdout) != doc.size() || std::fflush(stdout) != 0)
        return error("error: stdout: cannot write the " + format + " report");
    } else {
      *dest.file << doc;
      dest.file->flush();
      if (!*dest.file) return error("error: " + dest.target.path + ": cannot write the " + format + " report");
    }
  }
  // The check could not see every input (or write an output): it cannot pass.
  if (exit_code != 0) return kExitError;
  if (stats.interrupted) return error("error: interrupted; the check is incomplete");
  return report.passed ? kExitPass : kExitFail;
}

}  // namespace agentlog::check
