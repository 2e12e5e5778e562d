// The runner in follow mode: followed files read in turn, and their checkpoints.
#include "core/pipeline_runner.h"
#include "core/signals.h"
#include "core/stage_state.h"

namespace agentlog::runner {
namespace {

// Follow mode: refills of one file before the next file gets its turn.
constexpr int kFollowRefillsPerTurn = 16;

}  // namespace

Status Runner::save_checkpoints(bool final) {
  if (followed_.empty()) return {};
  // The state is written whole, so a large one costs each save: saves wait until nine times
  // the last one's duration has passed (at most a tenth of the time). The offsets wait with
  // it, so the two still agree; a kill meanwhile repeats more lines, nothing is lost.
  const bool with_state = state_checkpoint_ && state_dirty_;
  const Clock::time_point began = Clock::now();
  if (with_state && !final && began < next_state_save_) return {};
  std::vector<Checkpoint*> dirty;
  if (with_state) {
    state_dirty_ = false;
    auto now = collect_stage_state(spec_.stages, source_names_);
    if (now != state_checkpoint_->stages()) {
      state_checkpoint_->set_stages(std::move(now));
      dirty.push_back(state_checkpoint_);
    }
  }
  for (auto& file : followed_) {
    if (file->store_checkpoint()) {
      Checkpoint* checkpoint = checkpoints_[file->spec().checkpoint].get();
      if (std::find(dirty.begin(), dirty.end(), checkpoint) == dirty.end()) dirty.push_back(checkpoint);
    }
  }
  for (Checkpoint* checkpoint : dirty) {
    if (Status status = checkpoint->save(); !status.ok()) return status;
  }
  if (with_state) next_state_save_ = Clock::now() + 9 * (Clock::now() - began);
  return {};
}

Status Runner::open_checkpoints(const std::vector<SourceSpec>& sources) {
  for (const SourceSpec& spec : sources) {
    if (!spec.follow || !spec.error.empty() || spec.checkpoint.empty()) continue;
    auto& slot = checkpoints_[spec.checkpoint];
    if (slot) continue;
    slot = std::make_unique<Checkpoint>(spec.checkpoint);
    // Fatal, before anything is read: an unreadable checkpoint (reading from the start
    // would repeat everything) or one that cannot be written (no progress could be kept).
    Status st = slot->load();
    if (st.ok()) st = slot->save();
    if (!st.ok()) return st;
    if (!state_checkpoint_) state_checkpoint_ = slot.get();
  }
  if (!state_checkpoint_) return {};
  state_dirty_ = true;  // the first save writes what the stages hold after the restore
  return restore_stage_state(*state_checkpoint_, spec_.stages, source_names_);
}

// Follow mode: the followed files are read in turn, each until it has nothing more for
// now, until SIGTERM or SIGINT. When every file is idle, outputs flush (and checkpoints
// are saved) and the run sleeps poll_interval_ms. Errors of one file are reported in
// its counters and the others go on.
Status Runner::run_follow(const std::vector<SourceSpec>& sources, const std::vector<uint32_t>& indices) {
  int poll_ms = 60000;
  for (uint32_t i : indices) {
    const SourceSpec& spec = sources[i];
    Checkpoint* checkpoint = nullptr;
    if (!spec.checkpoint.empty()) checkpoint = checkpoints_[spec.checkpoint].get();  // open_checkpoints
    followed_.push_back(std::make_unique<FollowedFile>(spec, checkpoint));
    poll_ms = std::min(poll_ms, spec.poll_interval_ms);
  }
  std::vector<bool> failed(indices.size(), false);
  Status result;
  auto fail_source = [&](size_t slot, const Status& status) {
    failed[slot] = true;
    SourceCounters& counters = stats_.sources[indices[slot]];
    counters.error = status.message();
    ++stats_.source_errors;
    result = Status::error(result.ok() ? status.message() : result.message() + "\n" + status.message());
  };
  // Every exit, an output failure included, reports what was read.
  struct CountRead {
    Runner& runner;
    const std::vector<uint32_t>& indices;
    ~CountRead() {
      for (size_t k = 0; k < runner.followed_.size(); ++k) {
        SourceCounters& c = runner.stats_.sources[indices[k]];
        c.lines = runner.followed_[k]->lines_read();
        c.bytes = runner.followed_[k]->bytes_read();
      }
    }
  } count_read{*this, indices};
  for (bool first = true; !stop_requested(); first = false) {
    bool progressed = false;
    for (size_t k = 0; k < followed_.size() && !stop_requested(); ++k) {
      if (failed[k]) continue;
      FollowedFile& file = *followed_[k];
      if (!file.reader()) {
        if (Status status = file.try_open(first); !status.ok()) {
          fail_source(k, status);
          continue;
        }
        if (!file.reader()) continue;  // not there yet
      }
      if (Status status = pump_follow(file, indices[k], progressed); !status.ok()) {
        if (output_failed_) return status;
        fail_source(k, status);
      }
    }
    if (std::all_of(failed.begin(), failed.end(), [](bool b) { return b; })) break;
    if (progressed) {
      if (Status status = maybe_timed_flush(); !status.ok()) return status;
      continue;
    }
    if (Status status = flush_outputs(); !status.ok()) return status;
    wait_readable(-1, poll_ms);
  }
  if (stop_requested()) stats_.interrupted = true;
  if (Status status = flush_outputs(); !status.ok()) return status;  // also saves the final checkpoints
  return result;
}

// Reads one followed file until it has nothing more for now (or its turn is over).
Status Runner::pump_follow(FollowedFile& file, uint32_t index, bool& progressed) {
  // A file that was idle may have been rotated or truncated meanwhile: look before
  // reading, so that a truncated file that grew again is not read from the old offset.
  if (file.idle) {
    file.idle = false;
    FollowedFile::Change change = file.check();
    if (change == FollowedFile::Change::Truncated) file.cut();
    else if (change == FollowedFile::Change::Rotated) file.drain();
  }
  LineReader* reader = file.reader();
  LineEvent event;
  for (int refills = 0;;) {
    LineReader::Next next = reader->next(event);
    if (next == LineReader::Next::Line) {
      if (event.kind == LineEvent::Kind::Blank) {
        ++stats_.blank_lines;
        continue;
      }
      add_line(event, index);
      if (batch_.records.size() >= opts_.batch_records) {
        Status status = process_batch(0);
        if (status.ok()) status = maybe_timed_flush();
        if (!status.ok()) return status;
      }
      continue;
    }
    if (Status status = process_batch(0); !status.ok()) return status;  // views end at refill
    if (next == LineReader::Next::Error) {
      Status status = Status::error(file.spec().name + ": " + reader->error());
      file.reader_ended(FollowedFile::Change::Rotated);  // closes it
      return status;
    }
    if (next == LineReader::Next::End) {
      // Only a drain (rotation) or a cut (truncation) ends a followed file's reader.
      file.reader_ended(file.pending_change());
      progressed = true;
      return {};
    }
    if (stop_requested() || ++refills > kFollowRefillsPerTurn) return {};
    if (Status status = reader->refill(); !status.ok())
      return Status::error(file.spec().name + ": " + status.message());
    if (reader->starved()) {
      file.idle = true;  // checked for rotation at its next turn
      return {};
    }
    progressed = true;
  }
}

}  // namespace agentlog::runner
