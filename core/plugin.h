// The plugin contracts: stages, inputs and outputs, and the descriptor each plugin exports.
// Plugins are listed explicitly in plugins/plugin_list.def (no static-initialiser registration).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/option_binding.h"
#include "core/options.h"
#include "core/record.h"
#include "core/status.h"

namespace agentlog {

// A stage's decision for one record.
struct StageVerdict {
  Verdict kind = Verdict::Keep;
  std::string reason;
  static StageVerdict keep() { return {}; }
  static StageVerdict drop() { return {Verdict::Drop, {}}; }
  static StageVerdict dead_letter(std::string reason) { return {Verdict::DeadLetter, std::move(reason)}; }
};

class RecordPool;
class ByteSource;

// The records of one batch, in output order. Stages decide on live records and may emit
// generated records, which enter the chain after the emitting stage.
class Batch {
 public:
  explicit Batch(RecordPool& pool) : pool_(&pool) {}
  std::vector<Record*> records;

  // Emits a generated record (a JSON object text), placed after `after` or at the end.
  Record& emit(std::string json_object, const Record* after = nullptr);
  // Emits a data record expanded from `origin` (Record::expanded), placed after it.
  Record& emit_expanded(std::string json_object, const Record& origin);

  // Used by the pipeline to merge emitted records into order.
  struct Pending {
    Record* record;
    const Record* after;
  };
  std::vector<Pending> pending;
  // Moves the pending records into `records`, each after its origin (or at the end).
  void merge_pending();
  RecordPool& pool() { return *pool_; }
  // Source names by Record::source, for warnings that cite lines.
  const std::vector<std::string>* source_names = nullptr;
  std::string_view source_name(uint32_t i) const {
    return source_names && i < source_names->size() ? std::string_view((*source_names)[i]) : std::string_view();
  }

 private:
  RecordPool* pool_;
};

// Follow mode with a checkpoint: stage state is saved with the input offsets and restored
// at the next start (docs/inputs.md#stage-state-across-restarts). State names its lines'
// sources by name, since a restart may expand the inputs differently.
class StateSources {
 public:
  explicit StateSources(std::vector<std::string>& names) : names_(&names) {}
  std::string_view name(uint32_t source) const {
    return source < names_->size() ? std::string_view((*names_)[source]) : std::string_view();
  }
  // This run's index for a saved source name; a name that is not among this run's sources
  // is added after them (no record comes from it; warnings can still cite its lines).
  uint32_t index(std::string_view name) {
    for (size_t i = 0; i < names_->size(); ++i)
      if ((*names_)[i] == name) return static_cast<uint32_t>(i);
    names_->emplace_back(name);
    return static_cast<uint32_t>(names_->size() - 1);
  }

 private:
  std::vector<std::string>* names_;
};

// What the engine runs. A plugin derives from one of its two kinds, not from Stage itself:
// RecordStage decides each record on its own (its batches may run on any worker thread);
// BatchStage sees whole batches in input order (correlation, expansion, records held back)
// and runs serially.
class Stage {
 public:
  virtual ~Stage() = default;
  // A batch of records: those whose verdict is still Keep are live, the others are skipped.
  // Must not throw; per-record problems become verdicts.
  virtual void process_batch(Batch& batch) = 0;
  // End of input: a batch stage emits what it still holds. Called again while it returns
  // true, so a stage can emit a large backlog one bounded batch at a time.
  virtual bool finish(Batch& batch) { return false; }
  // True when the stage depends on nothing but each record, so it may run on any thread.
  virtual bool stateless() const = 0;
  // Removes secrets from text bound for the dead-letter output (raw lines and reasons).
  virtual void scrub(std::string& text) {}
  // Extra stats as JSON members (`"key":value,...`) without braces; never record content.
  virtual std::string stats_json() const { return {}; }

  // State across follow-mode restarts. A stage that keeps state returns a fingerprint of the
  // config its state depends on (a state saved under another fingerprint is not restored);
  // empty: the stage keeps none.
  virtual std::string state_config() const { return {}; }
  // Appends the state as one JSON value: deterministic, and only the ids and keys the stage
  // keeps anyway (no other record content).
  virtual void save_state(std::string& out, const StateSources& sources) const {}
  // Restores a saved state into a stage that has seen no record yet, within the stage's own
  // limits; what did not fit is described in `note`. Errors: a state that does not parse.
  virtual Status restore_state(std::string_view json, StateSources& sources, std::string& note) { return {}; }
};

// A stage that decides each record on its own: `process` returns the verdict (keep, drop,
// dead-letter) and may edit the record. It keeps no state between records (counters go in a
// PerWorker, scratch in thread_locals), so the parallel runner runs it on every worker.
class RecordStage : public Stage {
 public:
  // One record; must not throw. Per-record problems become verdicts.
  virtual StageVerdict process(Record& record) = 0;
  // Runs `process` on each live record.
  void process_batch(Batch& batch) final;
  bool finish(Batch&) final { return false; }
  bool stateless() const final { return true; }
};

// A stage that works on whole batches in input order: it may keep state across records
// (open lifecycles, id owners), hold records back, emit records of its own (Batch::emit) and
// emit what it still holds at the end (finish). It runs on one thread at a time.
class BatchStage : public Stage {
 public:
  bool stateless() const override { return false; }
};

// One concrete input stream (a file or stdin), expanded from an input plugin's config.
struct SourceSpec {
  std::string name;           // as shown in dead letters ("-" is stdin)
  std::string path;           // empty for stdin
  std::string compression;    // auto | none | gzip | zstd
  size_t max_line_bytes = 1 << 20;
  bool glob_origin = false;
  std::string error;          // set when the source is known to be unreadable (glob without match)
  std::string framing = "lines";  // lines | json-array | auto (see core/input.h)
  // Follow mode (file input `follow: true`, see core/follow.h).
  bool follow = false;
  std::string checkpoint;     // checkpoint file path; empty: none
  bool start_at_end = false;  // a file not in the checkpoint starts at its end
  int poll_interval_ms = 250;
  // A message-queue input (e.g. `nats`): opens its own streaming source instead of a file.
  // Such a source is told, through ByteSource::delivered, how far its lines reached the outputs.
  std::function<Status(std::unique_ptr<ByteSource>&)> open;
};

class Input {
 public:
  virtual ~Input() = default;
  // Expands to concrete sources at run time (globs are matched here, not at config time).
  virtual Status expand(std::vector<SourceSpec>& out) const = 0;
  // Extra stats as JSON members (`"key":value,...`) without braces; never record content.
  virtual std::string stats_json() const { return {}; }
};

// A record an output gave up on (over a size limit, or still undelivered at shutdown). The
// runner writes it to the dead-letter output, so nothing is lost silently.
struct Undelivered {
  std::string raw;                 // the record's bytes
  uint32_t source = UINT32_MAX;    // Record::source; UINT32_MAX when unknown (write_line)
  uint64_t line = 0;
  bool generated = false;
  std::string stage;               // dead letter "stage", e.g. "output:syslog"
  std::string reason;
  std::string kind;                // stats key suffix: dead_letter_reasons["<stage>.<kind>"]
};

class Output {
 public:
  virtual ~Output() = default;
  virtual Status open() = 0;
  // Writes one line; the output adds the newline.
  virtual Status write_line(std::string_view line) = 0;
  // Writes one kept record. Outputs that need the parsed view or the origin (for dead
  // letters) override this; the default writes the bytes as a line.
  virtual Status write_record(Record& record) { return write_line(record.bytes()); }
  // Would this output use Record::leaf_hash (a Merkle log over what it writes)? The parallel
  // runner then hashes the records on the workers.
  virtual bool wants_leaf_hashes() const { return false; }
  virtual Status flush() = 0;
  // After flush(): has everything written so far left this process, so that a kill cannot
  // lose it? Follow mode moves its checkpoints only then. (Syslog: only once the sender has
  // written it to the socket.)
  virtual bool delivered() const { return true; }
  // SIGHUP: reopen files (logrotate). No-op for streams.
  virtual Status reopen() { return {}; }
  virtual std::string describe() const = 0;
  // Moves the records this output gave up on since the last call into `out` (called by the
  // runner after each batch's flush and after close()).
  virtual void take_undelivered(std::vector<Undelivered>& out) {}
  // End of run: delivers what is still buffered (outputs with their own delivery, such as
  // syslog, wait up to their grace period). An error makes the run exit 1; records not
  // delivered are reported through take_undelivered().
  virtual Status close() { return flush(); }
  // Extra stats as JSON members (`"key":value,...`) without braces; never record content.
  virtual std::string stats_json() const { return {}; }
  // Lines handed to write_line/write_record that were never written in full (a failed
  // write; every later line fails too). They are always the last lines handed over, so the
  // runner can tell which records failed and keep them out of records_out.
  virtual uint64_t lines_lost() const { return 0; }
  // The runner's source names by Record::source (grows during the run), for outputs that
  // identify a record by its origin (nats: the Nats-Msg-Id de-duplication key).
  virtual void bind_source_names(const std::vector<std::string>* names) {}
};

enum class PluginKind : uint8_t { Input, Stage, Output };
std::string_view kind_name(PluginKind k);

// Factories that read their options through OptionView. Errors are exact config messages.
using InputFactory = Status (*)(const OptionView& opts, std::unique_ptr<Input>& out);
using StageFactory = Status (*)(const OptionView& opts, std::unique_ptr<Stage>& out);
using OutputFactory = Status (*)(const OptionView& opts, std::unique_ptr<Output>& out);

namespace plugin_detail {
// `Status make(const XConfig&, const OptionView&, std::unique_ptr<P>&)`: a typed factory.
template <class F> struct TypedFactory;
template <class C, class P>
struct TypedFactory<Status (*)(const C&, const OptionView&, std::unique_ptr<P>&)> {
  using Config = C;
  using Product = P;
};

// Binds the options into the config, then calls the typed factory.
template <auto Make>
Status bind_then_make(const OptionView& opts,
                      std::unique_ptr<typename TypedFactory<decltype(Make)>::Product>& out) {
  typename TypedFactory<decltype(Make)>::Config cfg;
  if (Status st = bind_options(opts, cfg); !st.ok()) return st;
  return Make(cfg, opts, out);
}
}  // namespace plugin_detail

// A plugin's descriptor. The kind is the factory's type, so it cannot disagree with it:
// build one with PluginInfo::input / stage / output, either from a factory over OptionView
// or, for a typed config (core/option_binding.h), as `PluginInfo::stage<make_x>(...)` with
// `make_x(const XConfig&, const OptionView&, std::unique_ptr<Stage>&)`.
class PluginInfo {
 public:
  using Factory = std::variant<InputFactory, StageFactory, OutputFactory>;  // in PluginKind's order

  std::string_view name;
  std::string_view summary;
  std::span<const OptionSpec> options;
  // Typed configs only: the binding, held to `options` by a unit test.
  std::vector<BoundOption> (*binding)() = nullptr;

  static constexpr PluginInfo input(std::string_view name, std::string_view summary,
                                    std::span<const OptionSpec> options, InputFactory make) {
    return PluginInfo(name, summary, options, make, nullptr);
  }
  static constexpr PluginInfo stage(std::string_view name, std::string_view summary,
                                    std::span<const OptionSpec> options, StageFactory make) {
    return PluginInfo(name, summary, options, make, nullptr);
  }
  static constexpr PluginInfo output(std::string_view name, std::string_view summary,
                                     std::span<const OptionSpec> options, OutputFactory make) {
    return PluginInfo(name, summary, options, make, nullptr);
  }
  template <auto Make>
  static constexpr PluginInfo input(std::string_view name, std::string_view summary,
                                    std::span<const OptionSpec> options) {
    return typed<Make, Input>(name, summary, options);
  }
  template <auto Make>
  static constexpr PluginInfo stage(std::string_view name, std::string_view summary,
                                    std::span<const OptionSpec> options) {
    return typed<Make, Stage>(name, summary, options);
  }
  template <auto Make>
  static constexpr PluginInfo output(std::string_view name, std::string_view summary,
                                     std::span<const OptionSpec> options) {
    return typed<Make, Output>(name, summary, options);
  }

  PluginKind kind() const { return static_cast<PluginKind>(factory_.index()); }
  const Factory& factory() const { return factory_; }

  // Builds the plugin; the product's type must match kind() (config.cc only asks for it).
  template <class P>
  Status make(const OptionView& opts, std::unique_ptr<P>& out) const {
    using F = Status (*)(const OptionView&, std::unique_ptr<P>&);
    const F* f = std::get_if<F>(&factory_);
    if (f == nullptr) return Status::error("internal error: plugin \"" + std::string(name) + "\" is not a " +
                                           std::string(kind_name(kind())));
    return (*f)(opts, out);
  }

 private:
  constexpr PluginInfo(std::string_view n, std::string_view s, std::span<const OptionSpec> o, Factory f,
                       std::vector<BoundOption> (*b)())
      : name(n), summary(s), options(o), binding(b), factory_(f) {}

  template <auto Make, class P>
  static constexpr PluginInfo typed(std::string_view name, std::string_view summary,
                                    std::span<const OptionSpec> options) {
    using T = plugin_detail::TypedFactory<decltype(Make)>;
    static_assert(std::is_same_v<typename T::Product, P>, "the factory makes another kind of plugin");
    Status (*f)(const OptionView&, std::unique_ptr<P>&) = &plugin_detail::bind_then_make<Make>;
    return PluginInfo(name, summary, options, f, &bound_options<typename T::Config>);
  }

  Factory factory_;
};

// The explicit registry (plugins/registry.cc).
std::span<const PluginInfo* const> all_plugins();
const PluginInfo* find_plugin(PluginKind kind, std::string_view name);
std::vector<std::string_view> plugin_names(PluginKind kind);

}  // namespace agentlog
