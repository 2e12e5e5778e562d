#include "plugins/nats/partition_order.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/input.h"
#include "core/signals.h"

namespace agentlog::plugins::nats {

void PartitionOrder::open(size_t partitions, size_t window) {
  windows_.assign(partitions, Window{});
  window_ = window;
  acked_ = std::make_unique<std::atomic<uint64_t>[]>(partitions);
}

bool PartitionOrder::Window::has(uint64_t sseq) const { return std::binary_search(recent.begin(), recent.end(), sseq); }

void PartitionOrder::Window::add(uint64_t sseq, size_t window) {
  recent.push_back(sseq);
  last = sseq;
  while (recent.size() > window) recent.pop_front();
}

PartitionOrder::Take PartitionOrder::take(size_t part, uint64_t sseq) {
  Window& w = windows_[part];
  if (sseq != 0 && sseq <= w.last) return w.has(sseq) ? Take::Redelivery : Take::Late;
  if (sseq != 0) w.add(sseq, window_);
  return Take::New;
}

void PartitionOrder::acked(size_t part, uint64_t sseq) {
  if (sseq > acked_[part].load(std::memory_order_relaxed)) acked_[part].store(sseq, std::memory_order_relaxed);
}

uint64_t PartitionOrder::resync_start(size_t part) const {
  const uint64_t acked = acked_[part].load(std::memory_order_relaxed);
  return acked ? acked + 1 : 0;
}

jsConsumerConfig Durables::consumer_config() const {
  jsConsumerConfig config;
  jsConsumerConfig_Init(&config);
  config.AckPolicy = js_AckExplicit;
  config.DeliverPolicy = js_DeliverAll;
  config.AckWait = opts_.ack_wait_ms * 1000000;
  config.MaxAckPending = opts_.max_ack_pending;
  config.MaxDeliver = -1;
  return config;
}

bool Durables::transient(natsStatus status, jsErrCode jerr) {
  return status == NATS_TIMEOUT || status == NATS_NO_RESPONDERS || (status != NATS_OK && jerr == JSClusterNotAvailErr);
}

Status Durables::subscribe(const std::string& subject, const std::string& durable, const jsConsumerConfig& config,
                           bool recreating, natsSubscription*& out) {
  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  sub_options.Stream = opts_.stream.c_str();
  sub_options.Config = config;
  natsSubscription* sub = nullptr;
  natsStatus nats_status;
  const auto recreate_until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int64_t pause = opts_.retry_initial_ms;; pause = std::min<int64_t>(pause * 2, opts_.retry_max_ms)) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    nats_status = js_PullSubscribe(&sub, conn_.js, subject.c_str(), durable.c_str(), nullptr, &sub_options, &jerr);
    if (nats_status == NATS_OK) break;
    const bool in_time = std::chrono::steady_clock::now() < recreate_until;
    if (recreating && !transient(nats_status, jerr) && in_time) {
      // The durable deleted to be recreated is there again with its old start: a cluster
      // electing a leader answered the delete before it took effect (seen with a node
      // stopped). Deleted again, then created as asked.
      jsErrCode derr = static_cast<jsErrCode>(0);
      js_DeleteConsumer(conn_.js, opts_.stream.c_str(), durable.c_str(), nullptr, &derr);
    } else if (!transient(nats_status, jerr)) {
      break;
    }
    if (stop_requested() && !(recreating && in_time)) break;
    ++counters_.fetch_errors;
    wait_readable(-1, static_cast<int>(pause));
  }
  if (nats_status != NATS_OK)
    return Status::error("nats input (" + conn_.label() + "): consumer " + durable + " on " + subject + ": " +
                         status_text(nats_status));
  out = sub;
  if (opts_.leader_on_stream_leader) seat_leader(durable);
  return {};
}

bool Durables::leaders(const std::string& durable, std::string& stream_leader, std::string& consumer_leader,
                       int64_t wait_ms) {
  stream_leader.clear();
  consumer_leader.clear();
  jsOptions wait;  // each answer waited for at most wait_ms (the library's default is 5 s)
  jsOptions_Init(&wait);
  wait.Wait = std::max<int64_t>(wait_ms, 1);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  if (js_GetStreamInfo(&si, conn_.js, opts_.stream.c_str(), &wait, &jerr) != NATS_OK || si == nullptr) return false;
  const bool clustered = si->Cluster != nullptr;
  if (clustered && si->Cluster->Leader != nullptr) stream_leader = si->Cluster->Leader;
  jsStreamInfo_Destroy(si);
  if (!clustered) return true;  // a server without a cluster: nothing to move
  if (stream_leader.empty()) return false;  // electing one
  jsConsumerInfo* ci = nullptr;
  if (stop_requested() ||
      js_GetConsumerInfo(&ci, conn_.js, opts_.stream.c_str(), durable.c_str(), &wait, &jerr) != NATS_OK ||
      ci == nullptr)
    return false;
  if (ci->Cluster != nullptr && ci->Cluster->Leader != nullptr) consumer_leader = ci->Cluster->Leader;
  // A durable without replicas (created R1 by someone else) cannot move: read where it is.
  const bool movable = ci->Cluster != nullptr && ci->Cluster->ReplicasLen > 0;
  jsConsumerInfo_Destroy(ci);
  if (!movable && !consumer_leader.empty()) consumer_leader = stream_leader;
  return true;
}

void Durables::seat_leader(const std::string& durable, int64_t deadline_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
  const std::string stepdown = "$JS.API.CONSUMER.LEADER.STEPDOWN." + opts_.stream + "." + durable;
  std::string stream_leader, consumer_leader, asked_from;
  auto asked_at = std::chrono::steady_clock::time_point{};
  while (!stop_requested()) {
    auto left_ms = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    };
    const bool known = leaders(durable, stream_leader, consumer_leader, std::min<int64_t>(1000, left_ms()));
    if (known && consumer_leader == stream_leader) return;
    const auto now = std::chrono::steady_clock::now();
    if (now >= until || stop_requested()) break;
    // A leader just asked to step down is given two seconds to hand over before it is asked
    // again; with no leader, the election is under way.
    if (known && !consumer_leader.empty() &&
        (consumer_leader != asked_from || now - asked_at > std::chrono::seconds(2))) {
      natsMsg* reply = nullptr;
      const int64_t wait_ms = std::max<int64_t>(1, std::min<int64_t>(2000, left_ms()));
      if (natsConnection_Request(&reply, conn_.nc, stepdown.c_str(), nullptr, 0, wait_ms) == NATS_OK) {
        asked_from = consumer_leader;
        asked_at = now;
        // An error answer ("not leader", no quorum) asked nothing: not counted.
        std::string_view answer(natsMsg_GetData(reply), static_cast<size_t>(natsMsg_GetDataLength(reply)));
        if (answer.find("\"success\":true") != std::string_view::npos) ++counters_.leader_moves;
      }
      natsMsg_Destroy(reply);
    }
    wait_readable(-1, 100);
  }
  if (!stop_requested())
    std::fprintf(stderr,
                 "agentlog: warning: nats input: consumer %s: its leader %s is not on the stream leader %s after %lld "
                 "ms; reading it there (a node still catching up may step over messages: nats-server#3299)\n",
                 durable.c_str(), consumer_leader.empty() ? "(none)" : consumer_leader.c_str(),
                 stream_leader.empty() ? "(none)" : stream_leader.c_str(), static_cast<long long>(deadline_ms));
}

Status Durables::delete_for_start(const std::string& durable, jsConsumerConfig& config, uint64_t& from) {
  if (from == 0) {
    State state;
    if (Status status = read(durable, config, state); !status.ok()) return status;
    if (!state.found) return Status::error("nats input: consumer " + durable + " is gone");
    from = state.from;
  }
  natsStatus nats_status = NATS_OK;
  for (int64_t pause = opts_.retry_initial_ms;; pause = std::min<int64_t>(pause * 2, opts_.retry_max_ms)) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    nats_status = js_DeleteConsumer(conn_.js, opts_.stream.c_str(), durable.c_str(), nullptr, &jerr);
    if (nats_status == NATS_OK || nats_status == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) break;
    if (!transient(nats_status, jerr) || stop_requested())
      return Status::error("nats input (" + conn_.label() + "): consumer " + durable +
                           ": cannot recreate it from its ack floor: " + status_text(nats_status));
    wait_readable(-1, static_cast<int>(pause));
  }
  config.DeliverPolicy = js_DeliverByStartSequence;
  config.OptStartSeq = from;
  return {};
}

Status Durables::recreate(const std::string& subject, const std::string& durable, uint64_t& from,
                          natsSubscription*& sub) {
  jsConsumerConfig config = consumer_config();
  Status status = delete_for_start(durable, config, from);
  if (status.ok()) status = subscribe(subject, durable, config, true, sub);
  return status;
}

Status Durables::read(const std::string& durable, jsConsumerConfig& config, State& state) {
  natsStatus nats_status = NATS_OK;
  for (int64_t pause = opts_.retry_initial_ms;; pause = std::min<int64_t>(pause * 2, opts_.retry_max_ms)) {
    jsConsumerInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    nats_status = js_GetConsumerInfo(&info, conn_.js, opts_.stream.c_str(), durable.c_str(), nullptr, &jerr);
    if (nats_status == NATS_OK && info != nullptr) {
      state.found = true;
      state.pending = info->NumAckPending;
      state.waiting = info->NumWaiting;
      state.from = info->AckFloor.Stream + 1;
      if (info->Config != nullptr) {
        config.DeliverPolicy = info->Config->DeliverPolicy;
        config.OptStartSeq = info->Config->OptStartSeq;
      }
      jsConsumerInfo_Destroy(info);
      return {};
    }
    if (nats_status == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
      state.found = false;
      return {};
    }
    if (!transient(nats_status, jerr) || stop_requested()) break;
    wait_readable(-1, static_cast<int>(pause));
  }
  return Status::error("nats input (" + conn_.label() + "): consumer " + durable + ": " + status_text(nats_status));
}

Status Durables::prepare(const std::string& durable, jsConsumerConfig& config, bool& recreating) {
  recreating = false;
  State state;
  if (Status status = read(durable, config, state); !status.ok()) return status;
  if (!state.found) return {};  // a new durable
  counters_.unacked_at_start += static_cast<uint64_t>(std::max<int64_t>(state.pending, 0));
  if (state.pending == 0 || !opts_.resume_in_order) return {};
  // A killed process's last pull request stays open on the server until it expires (a
  // fetch's expiry is its timeout) or the server sees its connection gone: a restart that
  // comes at once must not take it for another process. Wait for such a request to lapse;
  // a consumer whose ack floor moves meanwhile is alive (a killed process acks nothing).
  const uint64_t floor_at_start = state.from;
  const auto lapse = std::chrono::steady_clock::now() + std::chrono::milliseconds(2 * opts_.fetch_timeout_ms + 1000);
  while (state.waiting > 0 && std::chrono::steady_clock::now() < lapse && !stop_requested()) {
    wait_readable(-1, 100);
    if (Status status = read(durable, config, state); !status.ok()) return status;
    if (!state.found) return {};
    if (state.pending == 0) return {};
    if (state.from != floor_at_start) break;
  }
  if (stop_requested()) return {};
  const int64_t pending = state.pending;
  const uint64_t from = state.from;
  if (state.waiting > 0 || state.from != floor_at_start) {
    // A pull request is open: another process consumes this durable now. Recreating it
    // would cut that process off; its messages stay where they are.
    std::fprintf(stderr,
                 "agentlog: warning: nats input: consumer %s is being consumed by another process; not recreated "
                 "from its ack floor (set resume_in_order: false where processes share a partition)\n",
                 durable.c_str());
    return {};
  }
  uint64_t start = from;  // sets config to deliver from it
  if (Status status = delete_for_start(durable, config, start); !status.ok()) return status;
  recreating = true;
  ++counters_.resumed_from_ack_floor;
  std::fprintf(stderr,
               "agentlog: warning: nats input: consumer %s had %lld messages fetched and not acked (an earlier "
               "process was killed, or gave them back at its stop); delivering the partition again in order from "
               "stream sequence %llu\n",
               durable.c_str(), static_cast<long long>(pending), static_cast<unsigned long long>(from));
  return {};
}

}  // namespace agentlog::plugins::nats
