#include "core/pipeline.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <fstream>

#include "core/input.h"
#include "core/output.h"
#include "core/signals.h"

namespace agentlog {
namespace {

constexpr int kInputStage = -2;
constexpr size_t kKeepCapacity = 256 * 1024;  // per-record buffers above this are freed

std::string_view element_kind(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY: return "an array";
    case T::STRING: return "a string";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE: return "a number";
    case T::BOOL: return "a boolean";
    case T::NULL_VALUE: return "null";
    default: return "an object";
  }
}

class Runner {
 public:
  Runner(PipelineSpec& spec, const RunOptions& opts, RunStats& stats)
      : spec_(spec), opts_(opts), stats_(stats), batch_(pool_) {
    stats_.stages.resize(spec_.stages.size());
    batch_.source_names = &source_names_;
  }

  int run(std::string& error);

 private:
  Status run_source(const SourceSpec& src, uint32_t index);
  Status run_array(const SourceSpec& src, uint32_t index, std::string& text, bool forced, bool& handled);
  void add_line(const LineEvent& ev, uint32_t source);
  void dead_letter_input(Record* r, std::string reason, std::string_view kind);
  Status flush_batch(size_t first_stage);
  Status write_out(size_t first_stage);
  void run_stages(size_t first_stage);
  Status write_batch();
  Status finish_stages();
  Output& dead_letter_output() { return spec_.dead_letter ? *spec_.dead_letter : *default_dead_letter_; }

  PipelineSpec& spec_;
  const RunOptions& opts_;
  RunStats& stats_;
  RecordPool pool_;
  Batch batch_;
  std::vector<std::string> source_names_;
  std::unique_ptr<Output> default_output_, default_dead_letter_;
  std::vector<Output*> outputs_;
  bool output_failed_ = false;  // a write or reopen failed: the run cannot go on
};

void Runner::dead_letter_input(Record* r, std::string reason, std::string_view kind) {
  r->verdict = Verdict::DeadLetter;
  r->decided_by = kInputStage;
  r->reason = std::move(reason);
  ++stats_.dead_letter_reasons["input." + std::string(kind)];
}

void Runner::add_line(const LineEvent& ev, uint32_t source) {
  Record* r = pool_.acquire();
  r->reset_borrowed(ev.text);
  r->source = source;
  r->line = ev.line_no;
  ++stats_.records_in;
  batch_.records.push_back(r);
  if (ev.kind == LineEvent::Kind::TooLong) {
    dead_letter_input(r, "line is longer than max_line_bytes (" + std::to_string(ev.text.size()) +
                             "); raw holds its first " + std::to_string(ev.text.size()) + " bytes",
                      "line_too_long");
    return;
  }
  simdjson::error_code err = r->parse();
  if (err == simdjson::UTF8_ERROR) {
    size_t at = json::find_invalid_utf8(ev.text);
    dead_letter_input(r, "invalid UTF-8 at byte " + std::to_string(at == std::string_view::npos ? 0 : at + 1),
                      "invalid_utf8");
  } else if (err != simdjson::SUCCESS) {
    dead_letter_input(r, std::string("malformed JSON: ") + simdjson::error_message(err), "malformed_json");
  } else if (r->root().type() != simdjson::dom::element_type::OBJECT) {
    dead_letter_input(r, "not a JSON object (the line is " + std::string(element_kind(r->root().type())) + ")",
                      "not_an_object");
  }
}

void Runner::run_stages(size_t first_stage) {
  for (size_t i = first_stage; i < spec_.stages.size(); ++i) {
    StageCounters& c = stats_.stages[i];
    for (Record* r : batch_.records)
      if (r->verdict == Verdict::Keep) ++c.in;
    spec_.stages[i].stage->process_batch(batch_);
    for (Record* r : batch_.records) {
      if (r->verdict == Verdict::Keep || r->decided_by != -1) continue;
      r->decided_by = static_cast<int>(i);
      if (r->verdict == Verdict::Drop) ++c.dropped;
      else {
        ++c.dead_lettered;
        ++stats_.dead_letter_reasons[spec_.stages[i].name];
      }
    }
    if (!batch_.pending.empty()) {
      // Merge generated records after their origin (or at the end), keeping emit order.
      c.generated += batch_.pending.size();
      stats_.records_generated += batch_.pending.size();
      std::vector<Record*> merged;
      merged.reserve(batch_.records.size() + batch_.pending.size());
      std::vector<std::vector<Record*>> after(batch_.records.size());
      std::vector<Record*> at_end;
      // Emits mostly come in record order: search from the last origin found, then wrap.
      size_t hint = 0;
      const size_t n = batch_.records.size();
      for (auto& p : batch_.pending) {
        size_t at = n;
        if (p.after) {
          for (size_t k = hint; k < n && at == n; ++k)
            if (batch_.records[k] == p.after) at = k;
          for (size_t k = 0; k < hint && at == n; ++k)
            if (batch_.records[k] == p.after) at = k;
        }
        if (at == n) at_end.push_back(p.record);
        else after[hint = at].push_back(p.record);
      }
      for (size_t k = 0; k < batch_.records.size(); ++k) {
        merged.push_back(batch_.records[k]);
        for (Record* g : after[k]) merged.push_back(g);
      }
      for (Record* g : at_end) merged.push_back(g);
      batch_.records.swap(merged);
      batch_.pending.clear();
    }
  }
}

Status Runner::write_batch() {
  for (Record* r : batch_.records) {
    switch (r->verdict) {
      case Verdict::Keep: {
        std::string_view b = r->bytes();
        for (Output* o : outputs_) {
          Status st = o->write_line(b);
          if (!st.ok()) return st;
        }
        ++(r->generated ? stats_.generated_out : stats_.records_out);
        break;
      }
      case Verdict::Drop:
        ++(r->generated ? stats_.generated_dropped : stats_.dropped);
        break;
      case Verdict::DeadLetter: {
        std::string_view stage = r->decided_by >= 0 ? std::string_view(spec_.stages[r->decided_by].name) : "input";
        std::string_view src = r->source < source_names_.size() ? std::string_view(source_names_[r->source]) : "";
        std::string raw(r->bytes());
        // Every stage may scrub secrets from dead letters, wherever the line was stopped.
        for (auto& s : spec_.stages) {
          s.stage->scrub(raw);
          s.stage->scrub(r->reason);
        }
        Status st = dead_letter_output().write_line(
            dead_letter_line(src, r->line, stage, r->reason, raw, r->generated));
        if (!st.ok()) return st;
        ++(r->generated ? stats_.generated_dead_lettered : stats_.dead_lettered);
        break;
      }
    }
  }
  return {};
}

Status Runner::flush_batch(size_t first_stage) {
  Status st = write_out(first_stage);
  if (!st.ok()) output_failed_ = true;
  return st;
}

Status Runner::write_out(size_t first_stage) {
  if (batch_.records.empty()) return {};
  run_stages(first_stage);
  Status st = write_batch();
  batch_.records.clear();
  pool_.release_all();
  if (!st.ok()) return st;
  for (Output* o : outputs_) {
    st = o->flush();
    if (!st.ok()) return st;
  }
  st = dead_letter_output().flush();
  if (!st.ok()) return st;
  if (take_reopen_request()) {
    for (Output* o : outputs_) {
      st = o->reopen();
      if (!st.ok()) return st;
    }
    st = dead_letter_output().reopen();
  }
  return st;
}

Status Runner::finish_stages() {
  for (size_t i = 0; i < spec_.stages.size(); ++i) {
    for (bool more = true; more;) {
      more = spec_.stages[i].stage->finish(batch_);
      if (batch_.pending.empty()) continue;
      stats_.stages[i].generated += batch_.pending.size();
      stats_.records_generated += batch_.pending.size();
      for (auto& p : batch_.pending) batch_.records.push_back(p.record);
      batch_.pending.clear();
      Status st = flush_batch(i + 1);
      if (!st.ok()) return st;
    }
  }
  return {};
}

Status Runner::run_source(const SourceSpec& src, uint32_t index) {
  SourceCounters& counters = stats_.sources.back();
  if (!src.error.empty()) return Status::error(src.error);
  std::unique_ptr<ByteSource> bytes;
  Status st = open_byte_source(src, bytes);
  if (!st.ok()) return st;
  if (src.framing != "lines") {
    std::string head;
    st = read_for_framing(*bytes, src.framing == "json-array", head);
    if (!st.ok()) return Status::error(src.name + ": " + st.message());
    size_t first = head.find_first_not_of(" \t\r\n", head.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0);
    if (src.framing == "json-array" || (first != std::string::npos && head[first] == '[')) {
      bool handled = false;
      st = run_array(src, index, head, src.framing == "json-array", handled);
      if (handled || !st.ok()) return st;
    }
    bytes = prefixed_source(std::move(head), std::move(bytes));
  }
  LineReader reader(std::move(bytes), src.max_line_bytes);
  LineEvent ev;
  for (;;) {
    LineReader::Next n = reader.next(ev);
    if (n == LineReader::Next::Line) {
      if (ev.kind == LineEvent::Kind::Blank) {
        ++stats_.blank_lines;
        continue;
      }
      add_line(ev, index);
      if (batch_.records.size() >= opts_.batch_records) {
        st = flush_batch(0);
        if (!st.ok()) return st;
      }
      continue;
    }
    // The views into the reader's buffer end at refill: finish the batch first.
    st = flush_batch(0);
    if (!st.ok()) return st;
    counters.lines = reader.lines();
    counters.bytes = reader.bytes_read();
    if (n == LineReader::Next::End) break;
    if (n == LineReader::Next::Error) return Status::error(src.name + ": " + reader.error());
    if (stop_requested()) {
      stats_.interrupted = true;
      break;
    }
    st = reader.refill();
    if (!st.ok()) return Status::error(src.name + ": " + st.message());
  }
  counters.lines = reader.lines();
  counters.bytes = reader.bytes_read();
  return {};
}

// `framing: json-array` (or auto on a source that is one JSON array): each element is a
// record, numbered from 1, as its minified text. `handled` stays false when auto finds no array.
Status Runner::run_array(const SourceSpec& src, uint32_t index, std::string& text, bool forced, bool& handled) {
  SourceCounters& counters = stats_.sources.back();
  text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  size_t skip = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  std::string_view body(text.data() + skip, text.size() - skip);
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    handled = forced;  // an empty source holds no records
    return {};
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::error_code err = parser.parse(body.data(), body.size(), false).get(root);
  if (!forced && (err != simdjson::SUCCESS || root.type() != simdjson::dom::element_type::ARRAY)) return {};
  handled = true;
  counters.bytes = text.size();
  std::deque<std::string> held;  // element texts of the batch in flight (records borrow them)
  Status st;
  auto flush = [&] {
    if (st.ok()) st = flush_batch(0);
    held.clear();
  };
  auto add = [&](simdjson::dom::element e, uint64_t line_no) {
    held.emplace_back(simdjson::minify(e));
    held.back().reserve(held.back().size() + simdjson::SIMDJSON_PADDING);
    std::string_view t = held.back();
    LineEvent ev;
    ev.line_no = line_no;
    ev.kind = t.size() > src.max_line_bytes ? LineEvent::Kind::TooLong : LineEvent::Kind::Line;
    ev.text = ev.kind == LineEvent::Kind::TooLong ? t.substr(0, src.max_line_bytes) : t;
    add_line(ev, index);
    counters.lines = line_no;
    if (batch_.records.size() >= opts_.batch_records) flush();
  };
  if (err != simdjson::SUCCESS) {
    // One dead letter for the whole source, holding its first max_line_bytes bytes.
    std::string_view prefix = body.substr(0, std::min(body.size(), src.max_line_bytes));
    Record* r = pool_.acquire();
    r->reset_borrowed(prefix);
    r->source = index;
    r->line = 1;
    ++stats_.records_in;
    batch_.records.push_back(r);
    dead_letter_input(r, std::string("malformed JSON array (framing json-array): ") + simdjson::error_message(err) +
                             "; raw holds the first " + std::to_string(prefix.size()) + " bytes of the source",
                      "malformed_json");
    counters.lines = 1;
  } else if (root.type() != simdjson::dom::element_type::ARRAY) {
    add(root, 1);  // json-array forced on a single value: it is one record
  } else {
    uint64_t n = 0;
    for (simdjson::dom::element e : simdjson::dom::array(root)) {
      add(e, ++n);
      if (!st.ok()) break;
      if (stop_requested()) {
        stats_.interrupted = true;
        break;
      }
    }
  }
  flush();
  return st;
}

int Runner::run(std::string& error) {
  std::vector<SourceSpec> sources;
  if (!opts_.inputs.empty()) {
    for (const auto& p : opts_.inputs) sources.push_back({p, p == "-" ? "" : p, "auto", 1 << 20, false});
  } else if (spec_.inputs.empty()) {
    sources.push_back({"-", "", "auto", 1 << 20, false});
  } else {
    for (auto& in : spec_.inputs) {
      Status st = in->expand(sources);
      if (!st.ok()) {
        error = st.message();
        return 1;
      }
    }
  }
  if (spec_.outputs.empty()) default_output_ = std::make_unique<FdOutput>("stdout", 1, "", true);
  if (!spec_.dead_letter) default_dead_letter_ = std::make_unique<FdOutput>("stderr", 2, "", true);
  for (auto& o : spec_.outputs) outputs_.push_back(o.get());
  if (default_output_) outputs_.push_back(default_output_.get());
  for (Output* o : outputs_) {
    Status st = o->open();
    if (!st.ok()) {
      error = st.message();
      return 1;
    }
  }
  if (Status st = dead_letter_output().open(); !st.ok()) {
    error = st.message();
    return 1;
  }

  int rc = 0;
  for (uint32_t i = 0; i < sources.size() && !stop_requested(); ++i) {
    source_names_.push_back(sources[i].name);
    stats_.sources.push_back({sources[i].name, 0, 0, {}});
    Status st = run_source(sources[i], i);
    stats_.lines_read += stats_.sources.back().lines;
    stats_.bytes_read += stats_.sources.back().bytes;
    if (!st.ok()) {
      // An unreadable source is reported and the run goes on with the next one.
      if (output_failed_) {
        error = st.message();
        return 1;
      }
      stats_.sources.back().error = st.message();
      ++stats_.source_errors;
      error += (error.empty() ? "" : "\n") + st.message();
      rc = 1;
    }
  }
  if (stop_requested()) stats_.interrupted = true;
  if (Status st = finish_stages(); !st.ok()) {
    error = st.message();
    return 1;
  }
  return rc;
}

}  // namespace

void Stage::process_batch(Batch& batch) {
  const auto& recs = batch.records;
  for (size_t i = 0; i < recs.size(); ++i) {
    if (i + 4 < recs.size()) recs[i + 4]->prefetch();
    Record* r = recs[i];
    if (r->verdict != Verdict::Keep) continue;
    StageVerdict v = process(*r);
    if (v.kind != Verdict::Keep) {
      r->verdict = v.kind;
      r->reason = std::move(v.reason);
    }
  }
}

Record& Batch::emit(std::string json_object, const Record* after) {
  Record* r = pool_->acquire();
  r->reset_owned(std::move(json_object));
  r->generated = true;
  if (after) {
    r->source = after->source;
    r->line = after->line;
  }
  pending.push_back({r, after});
  return *r;
}

Record& Batch::emit_expanded(std::string json_object, const Record& origin) {
  Record& r = emit(std::move(json_object), &origin);
  r.expanded = true;
  return r;
}

Record* RecordPool::acquire() {
  if (used_ == slots_.size()) slots_.push_back(std::make_unique<Record>());
  return slots_[used_++].get();
}

void RecordPool::release_all() {
  for (size_t i = 0; i < used_; ++i) slots_[i]->trim_memory(kKeepCapacity);
  used_ = 0;
}

std::string dead_letter_line(std::string_view source, uint64_t line, std::string_view stage,
                             std::string_view reason, std::string_view raw, bool generated) {
  std::string out;
  out.reserve(raw.size() + reason.size() + source.size() + 64);
  out.append("{\"source\":");
  json::append_quoted(out, source);
  out.append(",\"line\":");
  out.append(std::to_string(line));
  out.append(",\"stage\":");
  json::append_quoted(out, stage);
  out.append(",\"reason\":");
  json::append_quoted(out, reason);
  if (generated) out.append(",\"generated\":true");
  out.append(",\"raw\":");
  json::append_quoted(out, raw);
  out.push_back('}');
  return out;
}

int run_pipeline(PipelineSpec& spec, const RunOptions& opts, RunStats& stats, std::string& error) {
  Runner runner(spec, opts, stats);
  return runner.run(error);
}

std::string stats_summary(const RunStats& s) {
  std::string out = "agentlog: " + std::to_string(s.records_in) + " in, " + std::to_string(s.records_out) +
                    " out, " + std::to_string(s.dropped) + " dropped, " + std::to_string(s.dead_lettered) +
                    " dead-lettered, " + std::to_string(s.records_generated) + " generated, " +
                    std::to_string(s.blank_lines) + " blank lines skipped";
  if (s.source_errors) out += ", " + std::to_string(s.source_errors) + " unreadable sources";
  if (s.interrupted) out += " (interrupted)";
  return out;
}

std::string stats_to_json(const PipelineSpec& spec, const RunStats& s) {
  std::string o = "{";
  auto num = [&](std::string_view k, uint64_t v, bool comma = true) {
    json::append_quoted(o, k);
    o += ":" + std::to_string(v);
    if (comma) o += ",";
  };
  o += "\"pipeline\":";
  json::append_quoted(o, spec.name);
  o += ",";
  num("records_in", s.records_in);
  num("records_out", s.records_out);
  num("dropped", s.dropped);
  num("dead_lettered", s.dead_lettered);
  num("records_generated", s.records_generated);
  num("generated_out", s.generated_out);
  num("generated_dropped", s.generated_dropped);
  num("generated_dead_lettered", s.generated_dead_lettered);
  num("blank_lines", s.blank_lines);
  num("lines_read", s.lines_read);
  num("bytes_read", s.bytes_read);
  num("source_errors", s.source_errors);
  o += "\"interrupted\":";
  o += s.interrupted ? "true," : "false,";
  o += "\"dead_letter_reasons\":{";
  bool first = true;
  for (auto& [k, v] : s.dead_letter_reasons) {
    if (!first) o += ",";
    first = false;
    num(k, v, false);
  }
  o += "},\"sources\":[";
  for (size_t i = 0; i < s.sources.size(); ++i) {
    if (i) o += ",";
    o += "{\"name\":";
    json::append_quoted(o, s.sources[i].name);
    o += ",";
    num("lines", s.sources[i].lines);
    num("bytes", s.sources[i].bytes);
    o += "\"error\":";
    if (s.sources[i].error.empty()) o += "null";
    else json::append_quoted(o, s.sources[i].error);
    o += "}";
  }
  o += "],\"stages\":[";
  for (size_t i = 0; i < s.stages.size() && i < spec.stages.size(); ++i) {
    if (i) o += ",";
    const StageCounters& c = s.stages[i];
    o += "{\"name\":";
    json::append_quoted(o, spec.stages[i].name);
    o += ",\"type\":";
    json::append_quoted(o, spec.stages[i].type);
    o += ",";
    num("in", c.in);
    num("dropped", c.dropped);
    num("dead_lettered", c.dead_lettered);
    num("generated", c.generated, false);
    std::string extra = spec.stages[i].stage->stats_json();
    if (!extra.empty()) o += "," + extra;
    o += "}";
  }
  o += "]}";
  return o;
}

}  // namespace agentlog
