// agentlog command line: run, check, check-config, plugins.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "check/check_command.h"
#include "check/merge.h"
#include "check/policy.h"
#include "core/config.h"
#include "core/crash_report.h"
#include "core/parallel_runner.h"
#include "core/pipeline.h"
#include "core/signals.h"
#include "cli/print_plugins.h"
#include "cli/verify_command.h"
#include "plugins/redact/redact.h"

using namespace agentlog;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

const char* kFooter = R"(Run `agentlog COMMAND --help` for the options of one command; `man agentlog` has them all.

Exit codes:
  0  success, also after SIGTERM/SIGINT (they drain what was read, flush and stop)
  1  runtime failure (unreadable input, unwritable output, checkpoint not writable)
  2  usage or configuration error (nothing was read)
  3  an output's reader closed the pipe (e.g. stdout into a consumer that exited)

Exit codes of check:
  0  the policy passed (failed warning-severity rules are reported but pass, unless fail_on: warning)
  1  an error-severity rule failed
  2  usage, config or policy error, or the check could not read every input or write a report

Examples:
  agentlog run -c configs/default.yaml
  agentlog check -c configs/default.yaml --report text=- --report html=report.html
  agentlog check-config -c my.yaml
  agentlog plugins)";

// Each subcommand has its own footer: CLI11 would otherwise repeat the top-level one.
const char* kRunFooter = R"(With no INPUT the config's inputs are read; with none there either, stdin. An INPUT is a
file, a directory (read recursively) or a quoted glob ('**/' spans directories); '-' is stdin.
A summary line goes to stderr at exit unless -q.

Exit codes:
  0  success, also after SIGTERM/SIGINT (they drain what was read, flush and stop)
  1  runtime failure (unreadable input, unwritable output, checkpoint not writable)
  2  usage or configuration error (nothing was read)
  3  an output's reader closed the pipe (e.g. stdout into a consumer that exited)

Streaming: stdin or a pipe is read as data arrives; a record is written as soon as the
input goes quiet, and at most flush_interval_ms (pipeline option, default 100) later under
load. File inputs with `follow: true` run until SIGTERM/SIGINT and, with `checkpoint`,
resume after a restart (at-least-once). SIGHUP reopens file outputs.

Examples:
  agentlog run -c configs/default.yaml
  agentlog run -c configs/default.yaml --stats-json stats.json logs/*.jsonl.gz
  agentlog run -c configs/default.yaml --format auto ~/.claude/projects/-home-me-repo/
  tail -F agent.jsonl | agentlog run -c configs/default.yaml -
  agentlog run -c configs/follow-checkpoint.yaml)";

const char* kCheckConfigFooter = R"(Loads the config (and its policy: and reports: sections), builds every plugin and reads no
input. Prints `CONFIG: OK (N inputs, M stages, K outputs)` on stdout, or the config error with
file:line:col on stderr.

Exit codes:
  0  the config is valid
  2  usage or configuration error

Example:
  agentlog check-config -c configs/default.yaml)";

const char* kPluginsFooter = R"(The listing is generated from the option tables that check configs: each plugin's name and
summary, then its options with type (or allowed values), default or `required`, and description;
nested options are indented. --json prints the same as one JSON object:
  {"inputs": [...], "stages": [...], "outputs": [...]}, each plugin {"name", "summary", "options"},
  each option {"name", "type", "allowed", "required", "default", "description", "options"}.

Exit codes:
  0  success)";

const char* kRedactTestFooter = R"(Runs only the redact stages of the config over each line and prints, per finding,
`FILE:LINE: FIELD [BEGIN,END) RULE` (never the secret), then a count per rule. Use it to tune
allowlists.

Exit codes:
  0  success
  2  usage or configuration error, the config has no redact stage, or a file cannot be read

Example:
  agentlog redact-test -c configs/default.yaml samples/multi_agent_session.jsonl)";

const std::vector<std::string> kFormatNames = {"auto",      "claude-code", "claude-stream-json",
                                               "codex",     "openhands",   "swe-agent"};
const std::vector<std::string> kFramingNames = {"lines", "json-array", "auto"};
constexpr const char* kFormatHelp =
    "Agent log format of the inputs: auto (recognised per file), claude-code, claude-stream-json, codex, "
    "openhands, swe-agent. Sets the format of the config's normalize stage, or puts one first";
constexpr const char* kFramingHelp =
    "How every input is split into records: lines, json-array, or auto (the default for inputs named on the "
    "command line: a JSON array or one multi-line object is read whole, anything else as lines)";

int load(const std::string& path, PipelineSpec& spec, const LoadOverrides& ov) {
  Status st = load_pipeline_file(path, spec, ov);
  if (!st.ok()) {
    std::fprintf(stderr, "agentlog: config error: %s\n", st.message().c_str());
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

// --workers N: "auto" or a number, as the config's `workers:`.
static CLI::Option* add_workers_option(CLI::App* cmd, unsigned& workers) {
  return cmd
      ->add_option_function<std::string>(
          "--workers",
          [&workers](const std::string& text) { parse_workers(text, workers); },
          "Threads that run the chain: auto (the cores this process may use) or a number; replaces the config's workers:")
      ->check([](const std::string& text) {
        unsigned n = 0;
        return parse_workers(text, n) ? std::string() : workers_error(text);
      });
}

int main(int argc, char** argv) {
  CLI::App app{"agentlog: a fast, strict filter for AI-agent activity logs (JSON lines).\n"
               "Reads JSONL from files or stdin, runs a YAML-configured chain of stages, and writes\n"
               "kept records to the outputs; every other line goes to the dead-letter output.",
               "agentlog"};
  app.footer(kFooter);
  app.set_version_flag("--version", std::string("agentlog ") + AGENTLOG_VERSION);
  app.require_subcommand(1);

  std::string config, stats_path, format, framing;
  std::vector<std::string> inputs;
  bool quiet = false;
  unsigned workers = 0;

  auto* run = app.add_subcommand("run", "Run the pipeline over the inputs and write the outputs");
  run->footer(kRunFooter);
  run->add_option("-c,--config", config, "Pipeline config (YAML)")->required();
  run->add_option("inputs", inputs, "Input files; they replace the config's inputs ('-' is stdin)");
  run->add_option("--stats-json", stats_path, "Write the run's counters as JSON to this path at exit");
  run->add_flag("-q,--quiet", quiet, "Do not print the summary line on stderr");
  run->add_option("--format", format, kFormatHelp)->check(CLI::IsMember(kFormatNames));
  run->add_option("--framing", framing, kFramingHelp)->check(CLI::IsMember(kFramingNames));
  add_workers_option(run, workers);
  bool step_times = false;
  run->add_flag("--step-times", step_times,
                "With more than one worker: print each step's CPU time on stderr (the serial steps cap the speed-up)");

  auto* check_config = app.add_subcommand("check-config", "Validate a config (and its policy) without reading any input");
  check_config->footer(kCheckConfigFooter);
  check_config->add_option("-c,--config", config, "Pipeline config (YAML)")->required();

  check::CheckOptions check_opts;
  auto* check_cmd = app.add_subcommand(
      "check", "Run the pipeline, evaluate the policy and write reports (exit 0 pass, 1 fail, 2 error)");
  // Required, except with --merge (checked after parsing, with CLI11's message).
  check_cmd->add_option("-c,--config", check_opts.config, "Pipeline config (YAML); its policy: and reports: sections are used");
  bool check_merge = false;
  check_cmd->add_flag("--merge", check_merge,
                      "Merge JSON reports of earlier checks (given instead of inputs): sum their counts and "
                      "evaluate the policy (--policy, -c's, else the default) over the sums");
  check_cmd->add_option("--policy", check_opts.policy, "Policy file (YAML with policy: and reports:) instead of the config's");
  check_cmd->add_option("--report", check_opts.reports,
                    "FORMAT=PATH, repeatable; FORMAT is text, json, junit or html; PATH '-' is stdout. "
                    "Replaces the reports: section; default text=-")
      ->allow_extra_args(false);
  check_cmd->footer(
      "Policy (YAML, under policy: in the config or the --policy file):\n"
      "  policy:\n"
      "    name: ci-gate\n"
      "    fail_on: error            # or warning\n"
      "    rules:                    # each: type, id, severity (error|warning), message\n"
      "      - {type: max_schema_violations, max: 0}\n"
      "      - {type: max_dead_letters, max: 0}          # or max_share: 0.01; reasons: [...]; per_input\n"
      "      - {type: min_records, min: 1}               # per_input: true for every input\n"
      "      - {type: max_redacted_records, max: 0}\n"
      "      - {type: lifecycles_complete}\n"
      "      - {type: max_collisions, max: 0}\n"
      "      - {type: required_fields, decisions: [block], fields: [policy_id, evidence_ref]}\n"
      "      - {type: forbidden, agents: [agent-x], tools: [shell_exec]}\n"
      "      - {type: max_unknown_share, max: 0.05}\n"
      "      - {type: escalations_resolved}\n"
      "  reports:\n"
      "    - {format: junit, path: policy.xml}\n"
      "Without a policy: max_schema_violations 0, max_dead_letters 0 and min_records 1. See docs/check.md.\n"
      "\n"
      "Exit codes of check:\n"
      "  0  the policy passed (failed warning-severity rules are reported but pass, unless fail_on: warning)\n"
      "  1  an error-severity rule failed\n"
      "  2  usage, config or policy error, or the check could not read every input or write a report\n"
      "\n"
      "Examples:\n"
      "  agentlog check -c configs/default.yaml --report text=- --report html=report.html\n"
      "  agentlog check -c configs/default.yaml --policy policy.yaml --report junit=junit.xml logs/*.jsonl\n"
      "  agentlog check --merge --policy policy.yaml --report text=- worker-0.json worker-1.json");
  check_cmd->add_flag("--write-outputs", check_opts.write_outputs,
                  "Also write the pipeline's outputs and dead letters (off: records are only counted)");
  check_cmd->add_flag("-q,--quiet", check_opts.quiet, "No progress line on stderr (shown only on a TTY anyway)");
  check_cmd->add_option("inputs", check_opts.inputs, "Input files; they replace the config's inputs ('-' is stdin)");
  check_cmd->add_option("--format", check_opts.format, kFormatHelp)->check(CLI::IsMember(kFormatNames));
  check_cmd->add_option("--framing", check_opts.framing, kFramingHelp)->check(CLI::IsMember(kFramingNames));
  add_workers_option(check_cmd, check_opts.workers);

  bool plugins_json = false;
  auto* plugins_cmd = app.add_subcommand("plugins", "List every input, stage and output with its options");
  plugins_cmd->footer(kPluginsFooter);
  plugins_cmd->add_flag("--json", plugins_json, "Print the listing as one JSON object");

  std::vector<std::string> redact_files;
  auto* redact_test = app.add_subcommand(
      "redact-test", "Show where the config's redact stages find secrets: line, field, offsets, rule (never the secret)");
  redact_test->footer(kRedactTestFooter);
  redact_test->add_option("-c,--config", config, "Pipeline config with a redact stage")->required();
  redact_test->add_option("files", redact_files, "JSONL files ('-' is stdin)")->required();

  KeygenOptions keygen_opts;
  auto* keygen = app.add_subcommand("keygen", "Make an Ed25519 key for signing integrity checkpoints");
  keygen->footer(
      "Writes the private key to OUT (mode 0600, never overwritten), the verifier key to OUT.pub and the\n"
      "public key as PEM to OUT.pub.pem (for openssl), and prints the verifier key. The private key is\n"
      "never printed. See docs/integrity.md.\n\nExit codes:\n  0  success\n  2  usage error, or a file could not be written\n\n"
      "Example:\n  agentlog keygen --name audit.example.com --out /etc/agentlog/audit.key");
  keygen->add_option("--name", keygen_opts.name, "Key name, shown in every signature line (no spaces or '+')")->required();
  keygen->add_option("--out", keygen_opts.out, "Private key file to create")->required();

  VerifyOptions verify_opts;
  auto* verify = app.add_subcommand("verify", "Check a tamper-evident log against its signed checkpoints");
  verify->footer(
      "Recomputes the Merkle tree over the log's lines (rotated files oldest first, then the current one) and\n"
      "checks every checkpoint: signature, origin, growing size, and its root over the lines it covers.\n"
      "Prints OK or the first failure with its reason. See docs/integrity.md.\n\n"
      "Exit codes:\n  0  the log and every checkpoint verify\n  1  a check failed (the first failure is printed)\n"
      "  2  usage error, unreadable file or key\n\nExamples:\n"
      "  agentlog verify --key-file audit.key.pub out.jsonl.1 out.jsonl\n"
      "  agentlog verify --key-file audit.key.pub --prove 42 out.jsonl > line42.proof.json\n"
      "  agentlog verify --key-file audit.key.pub --record \"$(sed -n 42p out.jsonl)\" --proof line42.proof.json");
  verify->add_option("logs", verify_opts.logs, "Log files, oldest first");
  verify->add_option("--checkpoints", verify_opts.checkpoints, "Checkpoints file (default: LAST_LOG.checkpoints)");
  verify->add_option("--key", verify_opts.key, "Verifier key (name+hash+base64, as keygen prints)");
  verify->add_option("--key-file", verify_opts.key_file, "File holding the verifier key (OUT.pub of keygen)");
  verify->add_option("--origin", verify_opts.origin, "The origin every checkpoint must state (default: theirs)");
  verify->add_flag("--allow-tail", verify_opts.allow_tail,
                   "Lines after the last checkpoint are not a failure (a log still being written)");
  verify->add_option("--prove", verify_opts.prove_line, "Print an inclusion proof (JSON) of this line against the last checkpoint")
      ->check(CLI::PositiveNumber);
  auto* record_opt = verify->add_option("--record", verify_opts.record, "Check this one record (the line's text) with --proof");
  verify->add_option("--proof", verify_opts.proof, "Proof file written by --prove");
  verify->add_option("--threads", verify_opts.threads, "Threads hashing lines (default 2)")->check(CLI::Range(1, 64));

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  if (app.got_subcommand("plugins")) {
    if (plugins_json) cli::print_plugins_json();
    else cli::print_plugins_text();
    return kExitOk;
  }

  if (app.got_subcommand("check")) {
    if (check_merge)
      return check::run_merge({check_opts.config, check_opts.policy, check_opts.inputs, check_opts.reports});
    if (check_opts.config.empty()) {
      std::fprintf(stderr, "--config is required\nRun with --help for more information.\n");
      return kExitUsage;
    }
    return check::run_check(check_opts);
  }
  if (app.got_subcommand("keygen")) return run_keygen(keygen_opts, stdout, stderr);
  if (app.got_subcommand("verify")) {
    verify_opts.record_given = record_opt->count() > 0;
    return run_verify(verify_opts, stdout, stderr);
  }
  if (app.got_subcommand("redact-test")) return plugins::run_redact_test(config, redact_files, stdout, stderr);

  PipelineSpec spec;
  LoadOverrides overrides;
  overrides.format = format;
  if (int exit_code = load(config, spec, overrides); exit_code != kExitOk) return exit_code;

  if (app.got_subcommand("check-config")) {
    check::Policy policy;
    if (Status status = check::load_policy_file(config, false, policy); !status.ok()) {
      std::fprintf(stderr, "agentlog: config error: %s\n", status.message().c_str());
      return kExitUsage;
    }
    std::printf("%s: OK (%zu inputs, %zu stages, %zu outputs)\n", config.c_str(), spec.inputs.size(),
                spec.stages.size(), spec.outputs.size());
    return kExitOk;
  }

  // A fatal signal prints a backtrace to stderr (not in sanitizer builds, which report their own).
  install_crash_reporter();
  install_signal_handlers();
  RunOptions opts;
  opts.inputs = inputs;
  opts.framing = framing;
  opts.stats_json_path = stats_path;
  opts.quiet = quiet;
  opts.workers = workers;
  opts.measure_steps = step_times;
  RunStats stats;
  std::string error;
  int exit_code = run_pipeline(spec, opts, stats, error);
  if (!error.empty()) std::fprintf(stderr, "agentlog: error: %s\n", error.c_str());
  if (!quiet) std::fprintf(stderr, "%s\n", stats_summary(stats).c_str());
  uint64_t total_ns = 0;
  const StepTime* busiest_serial = nullptr;
  for (const StepTime& step : stats.step_times) {
    std::fprintf(stderr, "agentlog: step %s (%s): %.3f s CPU\n", step.step.c_str(),
                 step.parallel ? "parallel" : "serial", static_cast<double>(step.cpu_ns) / 1e9);
    total_ns += step.cpu_ns;
    if (!step.parallel && (!busiest_serial || step.cpu_ns > busiest_serial->cpu_ns)) busiest_serial = &step;
  }
  // A serial step runs on one core at a time: the run cannot take less than its time.
  if (busiest_serial && busiest_serial->cpu_ns > 0)
    std::fprintf(stderr, "agentlog: the serial step %s limits the speed-up to about %.1fx, whatever the cores\n",
                 busiest_serial->step.c_str(), static_cast<double>(total_ns) / static_cast<double>(busiest_serial->cpu_ns));
  if (!stats_path.empty()) {
    std::ofstream file(stats_path, std::ios::binary | std::ios::trunc);
    file << stats_to_json(spec, stats) << "\n";
    if (!file) {
      std::fprintf(stderr, "agentlog: error: %s: cannot write stats\n", stats_path.c_str());
      exit_code = kExitRuntime;
    }
  }
  return exit_code;
}
