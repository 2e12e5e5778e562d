#include "plugins/normalize/normalize.h"

#include <algorithm>
#include <cstdio>

#include "core/json_text.h"
#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins {
namespace {

using normalize::Converted;
using normalize::Format;
using normalize::LineRef;

// The formats, in one list: the `format` option's values (with `auto`) and their converters.
struct FormatEntry {
  std::string_view name;
  std::unique_ptr<Format> (*make)();
  std::string_view describes;  // for error messages: what a file of this format is
};
constexpr FormatEntry kFormatTable[] = {
    {"claude-code", normalize::make_claude_code_format, "a Claude Code transcript"},
    {"claude-stream-json", normalize::make_claude_stream_json_format, "claude -p stream-json output"},
    {"codex", normalize::make_codex_format, "a Codex CLI rollout"},
    {"openhands", normalize::make_openhands_format, "OpenHands events"},
    {"swe-agent", normalize::make_swe_agent_format, "an SWE-agent trajectory"},
};
constexpr std::string_view kFormats[] = {"auto", "claude-code", "claude-stream-json", "codex", "openhands",
                                         "swe-agent"};

constexpr OptionSpec kNormalizeOptions[] = {
    {.name = "format", .type = OptType::Enum,
     .description = "the log format: auto (told per source from its first record; spec 000/001/002 records pass "
                    "through), claude-code (transcripts), claude-stream-json (claude -p output), codex (CLI "
                    "rollouts), openhands (event streams), swe-agent (.traj trajectories)",
     .required = true, .allowed = kFormats},
    {.name = "run_id", .type = OptType::String,
     .description = "run id for formats whose lines carry none (openhands, swe-agent without instance id); "
                    "default: the source file's name without directory and extension"},
};

// Counts by a small set of names (line types, event types); names beyond kMaxNames share
// "(other)" so the stats stay bounded whatever the input holds.
class Counts {
 public:
  static constexpr size_t kMaxNames = 64;
  void add(std::string_view name, uint64_t n = 1) {
    for (auto& [k, v] : items_)
      if (k == name) {
        v += n;
        return;
      }
    if (items_.size() >= kMaxNames) name = "(other)";
    for (auto& [k, v] : items_)
      if (k == name) {
        v += n;
        return;
      }
    items_.emplace_back(std::string(name), n);
  }
  std::string json() const {
    std::vector<std::pair<std::string, uint64_t>> sorted = items_;
    std::sort(sorted.begin(), sorted.end());
    std::string o = "{";
    for (size_t i = 0; i < sorted.size(); ++i)
      o += (i ? "," : "") + json::quoted(sorted[i].first) + ":" + std::to_string(sorted[i].second);
    return o + "}";
  }

 private:
  std::vector<std::pair<std::string, uint64_t>> items_;
};

std::string expected_formats() {
  std::string o;
  for (const auto& f : kFormatTable) o.append(f.describes).append(" (").append(f.name).append("), ");
  return o + "or spec 000/001/002 records";
}

class NormalizeStage : public BatchStage {
 public:
  std::string format_name, run_id;


  void process_batch(Batch& batch) override {
    const auto& recs = batch.records;
    const size_t count = recs.size();  // emitted records are merged after the stage returns
    for (size_t i = 0; i < count; ++i) {
      Record* record = recs[i];
      if (record->verdict != Verdict::Keep || record->generated) continue;
      SourceState& src = source(record->source);
      std::string_view name = batch.source_name(record->source);
      if (src.format == kUndecided) choose(src, record->object(), name);
      if (src.format == kPassThrough) continue;  // already a spec format
      if (src.format == kUnrecognised) {
        ++invalid_;
        record->verdict = Verdict::DeadLetter;
        record->reason = "format auto: not a known agent log format; its first record is none of " + expected_formats();
        continue;
      }
      ++src.lines;
      LineRef ref{name, record->source, record->line, run_id, record->bytes()};
      conv_.type.clear();
      conv_.known_type = true;
      conv_.records.clear();
      conv_.released.clear();
      conv_.origins.clear();
      conv_.why.clear();
      converter(src.format).convert(record->object(), ref, conv_);
      lines_by_type_.add(conv_.type);
      if (!conv_.known_type) {
        unknown_types_.add(conv_.type);
        ++src.unknown;
      }
      for (auto& held : conv_.released) {
        Record& generated = batch.emit_expanded(std::move(held.record), *record);
        generated.source = held.source_index;  // placed here, but it belongs to its own line
        generated.line = held.line;
        count_event_type(generated.bytes());
      }
      if (!conv_.why.empty()) {
        ++invalid_;
        record->verdict = Verdict::DeadLetter;
        record->reason = std::move(conv_.why);
        continue;
      }
      if (conv_.records.empty()) ++no_action_;
      else ++with_action_;
      bool own_origins = conv_.origins.size() == conv_.records.size();
      for (size_t k = 0; k < conv_.records.size(); ++k) {
        Record& generated = batch.emit_expanded(std::move(conv_.records[k]), *record);
        if (own_origins) {
          generated.source = conv_.origins[k].source_index;
          generated.line = conv_.origins[k].line;
        }
        count_event_type(generated.bytes());
      }
      record->verdict = Verdict::Drop;  // consumed: its actions continue as the records emitted after it
    }
  }

  // End of input: a source whose lines were mostly of types the format does not know was
  // probably read with the wrong format; say so (stderr and stats) rather than drop quietly.
  bool finish(Batch& batch) override {
    // What the formats still hold (runs that end with their transcript or trajectory).
    std::vector<normalize::HeldRecord> held;
    for (auto& c : converters_)
      if (c) c->finish(held);
    for (auto& h : held) {
      Record& g = batch.emit(std::move(h.record));
      g.expanded = true;
      g.source = h.source_index;
      g.line = h.line;
      count_event_type(g.bytes());
    }
    for (size_t i = 0; i < sources_.size(); ++i) {
      const SourceState& src = sources_[i];
      if (src.lines < 4 || src.unknown * 2 <= src.lines) continue;
      std::string name(batch.source_name(static_cast<uint32_t>(i)));
      if (mostly_unknown_.size() < kMaxListedSources) mostly_unknown_.push_back(name);
      std::fprintf(stderr,
                   "agentlog: warning: normalize: %s: %llu of %llu lines are of types format %s does not know "
                   "(counted in unknown_types and dropped); is it the right format? Try --format auto\n",
                   name.c_str(), static_cast<unsigned long long>(src.unknown),
                   static_cast<unsigned long long>(src.lines), std::string(format_at(src.format)).c_str());
    }
    return false;
  }

  std::string stats_json() const override {
    std::string o = "\"format\":" + json::quoted(format_name);
    if (format_name == "auto") {
      o += ",\"formats_detected\":" + detected_.json() + ",\"sources\":{";
      std::vector<std::pair<std::string, std::string>> listed = listed_;
      std::sort(listed.begin(), listed.end());
      for (size_t i = 0; i < listed.size(); ++i)
        o += (i ? "," : "") + json::quoted(listed[i].first) + ":" + json::quoted(listed[i].second);
      o += "}";
    }
    o += ",\"lines_with_records\":" + std::to_string(with_action_) + ",\"lines_without_records\":" +
         std::to_string(no_action_) + ",\"invalid_lines\":" + std::to_string(invalid_) +
         ",\"lines_by_type\":" + lines_by_type_.json() + ",\"unknown_types\":" + unknown_types_.json() +
         ",\"records_by_event_type\":" + records_by_event_type_.json() + ",\"sources_mostly_unknown\":[";
    for (size_t i = 0; i < mostly_unknown_.size(); ++i) o += (i ? "," : "") + json::quoted(mostly_unknown_[i]);
    return o + "]";
  }

  Status init(std::string_view format) {
    format_name = std::string(format);
    if (format == "auto") return {};
    for (size_t i = 0; i < std::size(kFormatTable); ++i)
      if (kFormatTable[i].name == format) fixed_ = static_cast<int>(i);
    return {};
  }

 private:
  static constexpr int kUndecided = -1, kPassThrough = -2, kUnrecognised = -3;
  static constexpr size_t kMaxListedSources = 256;
  struct SourceState {
    int format = kUndecided;  // index into kFormatTable, or one of the codes above
    uint64_t lines = 0, unknown = 0;
  };

  SourceState& source(uint32_t i) {
    if (i >= sources_.size()) sources_.resize(i + 1);
    return sources_[i];
  }

  static std::string_view format_at(int i) { return i >= 0 ? kFormatTable[i].name : std::string_view("auto"); }

  // The first record of a source decides its format (format auto), or is checked against the
  // configured one: a source that is plainly another format gets a hint on stderr.
  void choose(SourceState& src, simdjson::dom::object first, std::string_view name) {
    std::string_view found = normalize::detect_format(first);
    int index = kUnrecognised;
    for (size_t i = 0; i < std::size(kFormatTable); ++i)
      if (kFormatTable[i].name == found) index = static_cast<int>(i);
    if (fixed_ >= 0) {
      src.format = fixed_;
      if (!found.empty() && index != fixed_)
        std::fprintf(stderr, "agentlog: warning: normalize: %s looks like %s, not %s; try --format auto\n",
                     std::string(name).c_str(), std::string(found).c_str(), format_name.c_str());
      return;
    }
    if (found == normalize::kAgentActivity || found == normalize::kActionEvent || found == normalize::kActionLog)
      index = kPassThrough;
    src.format = index;
    std::string label = index == kUnrecognised ? "unrecognised" : std::string(found);
    detected_.add(label);
    if (listed_.size() < kMaxListedSources) listed_.emplace_back(std::string(name), label);
    if (index == kUnrecognised)
      std::fprintf(stderr,
                   "agentlog: error: normalize: %s is not a known agent log format (expected %s); its lines are "
                   "dead-lettered\n",
                   std::string(name).c_str(), expected_formats().c_str());
  }

  void count_event_type(std::string_view b) {
    // event_type is the fifth member: cheap to find in our own output.
    size_t at = b.find("\"event_type\":\"");
    if (at != std::string_view::npos) {
      at += 14;
      records_by_event_type_.add(b.substr(at, b.find('"', at) - at));
    }
  }

  Format& converter(int i) {
    if (converters_.size() < std::size(kFormatTable)) converters_.resize(std::size(kFormatTable));
    auto& c = converters_[static_cast<size_t>(i)];
    if (!c) c = kFormatTable[i].make();
    return *c;
  }

  int fixed_ = kUndecided;  // the configured format's index; kUndecided with auto
  std::vector<SourceState> sources_;
  std::vector<std::unique_ptr<Format>> converters_;  // one per format, made when first needed
  std::vector<std::pair<std::string, std::string>> listed_;  // source -> format chosen (auto)
  std::vector<std::string> mostly_unknown_;
  Converted conv_;
  Counts lines_by_type_, unknown_types_, records_by_event_type_, detected_;
  uint64_t with_action_ = 0, no_action_ = 0, invalid_ = 0;
};

struct NormalizeConfig {
  std::string format;  // kept as text: the stage looks it up in kFormatTable and names it in stats
  Tracked<std::string> run_id;
  template <class B>
  static void bind(B& b) {
    b.field("format", &NormalizeConfig::format);
    b.field("run_id", &NormalizeConfig::run_id);
  }
};

Status make_normalize(const NormalizeConfig& cfg, const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<NormalizeStage>();
  st->run_id = cfg.run_id.value;
  if (cfg.run_id.given && st->run_id.empty()) return Status::error(o.error("run_id", "must not be empty"));
  if (Status s = st->init(cfg.format); !s.ok()) return s;
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& normalize_stage_plugin() {
  static const PluginInfo info = PluginInfo::stage<make_normalize>(
      "normalize",
      "turn agent logs (Claude Code transcripts and stream-json, Codex CLI rollouts, OpenHands events, SWE-agent "
      "trajectories; format auto tells them apart) into Agent Activity Log records (spec 002); content is hashed, "
      "never copied",
      kNormalizeOptions);
  return info;
}

}  // namespace agentlog::plugins
