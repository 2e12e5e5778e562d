// The `nats` input's source: one JetStream durable pull consumer per partition subject (`{durable}-{p}`
// on `agentlog.records.{p}`), fetched in batches by one thread per partition. Messages become
// lines of one streaming source; a message is acked only once every line it produced reached
// every output (or was dead-lettered or dropped), as the runner reports through
// ByteSource::delivered. Like follow mode it never ends by itself; SIGTERM drains it.
//
// Order per partition is kept across faults by the worker itself, as a Kafka consumer keeps
// its offset: a message whose stream sequence it already took is a redelivery (its ack was
// lost with a server) and is acked, not written again; after a reconnect, or a gap in the
// consumer's delivery sequence (a batch lost in flight), the partition is resynced: what was
// fetched and not yet read is dropped, and the durable is recreated from just after the last
// message this worker acked, so the partition comes again in stream order. The sequences and
// the JetStream calls of that are in partition_order.h.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "core/input.h"
#include "core/signals.h"
#include "plugins/nats/nats_common.h"
#include "plugins/nats/nats_source.h"
#include "plugins/nats/partition_order.h"

namespace agentlog::plugins::nats {
namespace {

class NatsSource : public ByteSource {
 public:
  NatsSource(const InputConfig& cfg, std::shared_ptr<InputStats> stats)
      : cfg_(cfg),
        stats_(std::move(stats)),
        durables_(conn_,
                  DurableOptions{.stream = cfg.conn.stream,
                                 .ack_wait_ms = cfg.ack_wait_ms,
                                 .max_ack_pending = cfg.max_ack_pending,
                                 .fetch_timeout_ms = cfg.fetch_timeout_ms,
                                 .resume_in_order = cfg.resume_in_order,
                                 .leader_on_stream_leader = cfg.leader_on_stream_leader,
                                 .retry_initial_ms = cfg.conn.reconnect_initial_ms,
                                 .retry_max_ms = cfg.conn.reconnect_max_ms},
                  DurableCounters{stats_->fetch_errors, stats_->unacked_at_start, stats_->resumed_from_ack_floor,
                                  stats_->leader_moves}) {}
  ~NatsSource() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    space_cv_.notify_all();
    for (auto& t : threads_) t.join();
    // What was fetched but not delivered goes back at once (not after ack_wait).
    for (auto& u : unacked_) nak(u.msg);
    for (const Ready& r : ready_) nak(r.msg);
    if (current_) nak(current_);
    if (conn_.nc) natsConnection_FlushTimeout(conn_.nc, 2000);  // the acks reach the server
    // The connection is closed before its subscriptions are destroyed: a pull request still
    // open (a 408 or 409 status on its way, a retired subscription's last request) can be
    // delivered by the read loop while natsSubscription_Destroy frees the subscription, a
    // use after free in libnats before 3.6 (nats.c#637). Closed, the read loop is stopped and
    // every subscription closed. Destroying a subscription keeps its durable.
    conn_.close_connection();
    for (Part& part : parts_)
      if (part.sub) natsSubscription_Destroy(part.sub);
    for (natsSubscription* s : retired_) natsSubscription_Destroy(s);
    stats_->disconnects += conn_.disconnects;
    stats_->reconnects += conn_.reconnects;
    conn_.close();
    if (event_fd_ >= 0) ::close(event_fd_);
  }

  Status open() {
    event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) return Status::error("nats input: eventfd: " + std::string(std::strerror(errno)));
    poll_fd = event_fd_;
    if (Status status = conn_.open(cfg_.conn, "nats input", nullptr); !status.ok()) return status;
    if (Status status = conn_.ensure_stream(); !status.ok()) return status;
    parts_.resize(cfg_.partitions.size());
    const auto parts = static_cast<int64_t>(cfg_.partitions.size());
    order_.open(cfg_.partitions.size(), static_cast<size_t>(2 * cfg_.max_ack_pending * parts + cfg_.batch));
    for (size_t i = 0; i < parts_.size(); ++i) {
      Part& part = parts_[i];
      part.subject = subject_for(cfg_.subject, cfg_.partitions[i]);
      part.durable = cfg_.durable + "-" + std::to_string(cfg_.partitions[i]);
      part.generation = conn_.reconnects.load();
      jsConsumerConfig config = durables_.consumer_config();
      bool recreating = false;
      if (Status status = durables_.prepare(part.durable, config, recreating); !status.ok()) return status;
      if (Status status = subscribe(part, config, recreating); !status.ok()) return status;
    }
    for (size_t i = 0; i < parts_.size(); ++i) threads_.emplace_back([this, i] { fetch_loop(i); });
    return {};
  }

  long read(char* buf, size_t capacity) override {
    size_t done = 0;
    while (done < capacity) {
      if (!current_) {
        if (stop_requested()) break;  // drain: what is still queued goes back (nak)
        Ready next;
        {
          std::lock_guard lock(mu_);
          if (ready_.empty()) break;
          next = ready_.front();
          ready_.pop_front();
        }
        const PartitionOrder::Take take = order_.take(next.part, next.sseq);
        if (take == PartitionOrder::Take::Redelivery) {
          // Read already (its ack was lost with a server, or a resync delivered it again):
          // acked once everything before it is.
          ++stats_->duplicates_skipped;
          if (produced_ == consumed_) ack_now(next.msg);
          else unacked_.push_back({produced_, next.msg, next.part, 0});
          continue;
        }
        if (take == PartitionOrder::Take::Late) ++stats_->late;  // written, out of order or again
        current_ = next.msg;
        current_part_ = next.part;
        current_sseq_ = next.sseq;
        current_at_ = 0;
      }
      const char* data = natsMsg_GetData(current_);
      size_t len = static_cast<size_t>(natsMsg_GetDataLength(current_));
      size_t take = std::min(capacity - done, len + 1 - current_at_);  // the data, then its newline
      size_t from_data = current_at_ < len ? std::min(take, len - current_at_) : 0;
      if (from_data) std::memcpy(buf + done, data + current_at_, from_data);
      if (take > from_data) buf[done + from_data] = '\n';
      done += take;
      current_at_ += take;
      produced_ += take;
      if (current_at_ == len + 1) {
        unacked_.push_back({produced_, current_, current_part_, current_sseq_});
        current_ = nullptr;
      }
    }
    if (done) return static_cast<long>(done);
    if (stop_requested()) return 0;  // drained what was fetched: the end of this run
    uint64_t v;
    [[maybe_unused]] ssize_t r = ::read(event_fd_, &v, sizeof v);  // rearm, then look again
    std::lock_guard lock(mu_);
    if (!ready_.empty()) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t w = ::write(event_fd_, &one, sizeof one);
    }
    return kWouldBlock;
  }

  void delivered(uint64_t consumed) override {
    consumed_ = std::max(consumed_, consumed);
    size_t n = 0;
    while (!unacked_.empty() && unacked_.front().end <= consumed) {
      natsMsg* m = unacked_.front().msg;
      order_.acked(unacked_.front().part, unacked_.front().sseq);
      unacked_.pop_front();
      natsMsg_Ack(m, nullptr);
      natsMsg_Destroy(m);
      ++n;
    }
    if (!n) return;
    stats_->acked += n;
    {
      std::lock_guard lock(mu_);
      outstanding_ -= n;
    }
    space_cv_.notify_all();
  }

 private:
  struct Unacked {
    uint64_t end;  // the byte after the message's newline
    natsMsg* msg;
    size_t part;
    uint64_t sseq;  // 0: a skipped redelivery, or unknown
  };
  struct Ready {
    natsMsg* msg = nullptr;
    size_t part = 0;    // index in parts_
    uint64_t sseq = 0;  // stream sequence (0: unknown)
  };
  // One partition: its durable and the subscription its fetch thread owns.
  struct Part {
    std::string subject, durable;
    natsSubscription* sub = nullptr;
    uint64_t generation = 0;  // the connection's reconnect count this subscription has seen
    uint64_t last_cseq = 0;   // the consumer's last delivery sequence (0: not known yet)
  };

  // Binds (or creates) the partition's durable (Durables::subscribe); its delivery sequence
  // starts again.
  Status subscribe(Part& part, const jsConsumerConfig& config, bool recreating) {
    natsSubscription* sub = nullptr;
    if (Status status = durables_.subscribe(part.subject, part.durable, config, recreating, sub); !status.ok())
      return status;
    part.sub = sub;
    part.last_cseq = 0;
    return {};
  }

  void ack_now(natsMsg* m) {
    natsMsg_Ack(m, nullptr);
    natsMsg_Destroy(m);
    ++stats_->acked;
    {
      std::lock_guard lock(mu_);
      --outstanding_;
    }
    space_cv_.notify_all();
  }

  // After a reconnect or a lost batch: drops what this partition fetched and the reader has
  // not taken, and recreates the durable after its last ack. Redeliveries of what was taken
  // are then skipped by read(); everything after comes in stream order. Returns false when
  // the partition cannot go on (its fetch thread ends; the stop comes from SIGTERM).
  bool resync(size_t index) {
    // One partition at a time: after a reconnect every fetch thread resyncs at once, and the
    // JetStream API calls (consumer info, delete, create) then go out one by one, as at start.
    std::lock_guard resync_lock(resync_mu_);
    Part& part = parts_[index];
    {
      std::lock_guard lock(mu_);
      size_t dropped = 0;
      for (auto it = ready_.begin(); it != ready_.end();) {
        if (it->part != index) {
          ++it;
          continue;
        }
        natsMsg_Destroy(it->msg);  // not acked: the recreated durable delivers it again
        it = ready_.erase(it);
        ++dropped;
      }
      outstanding_ -= static_cast<int64_t>(dropped);
      // Kept, not destroyed: messages of it may still be in the pipeline, to be acked.
      retired_.push_back(part.sub);
    }
    space_cv_.notify_all();
    part.sub = nullptr;
    // From just after the last message this process acked (PartitionOrder::resync_start).
    uint64_t from = order_.resync_start(index);
    natsSubscription* sub = nullptr;
    if (Status status = durables_.recreate(part.subject, part.durable, from, sub); !status.ok()) {
      if (!stop_requested()) std::fprintf(stderr, "agentlog: error: %s\n", status.message().c_str());
      return false;
    }
    part.sub = sub;
    part.last_cseq = 0;
    ++stats_->resyncs;
    std::fprintf(stderr,
                 "agentlog: warning: nats input: consumer %s resynced after a fault (a reconnect or a lost batch): "
                 "delivering the partition again in order from stream sequence %llu\n",
                 part.durable.c_str(), static_cast<unsigned long long>(from));
    return true;
  }

  void nak(natsMsg* m) {
    natsMsg_Nak(m, nullptr);
    natsMsg_Destroy(m);
    ++stats_->nacked;
  }

  void fetch_loop(size_t index) {
    Part& part = parts_[index];
    int pause_ms = 10;
    // One budget for the input: max_ack_pending per partition it consumes.
    const int64_t limit = cfg_.max_ack_pending * static_cast<int64_t>(parts_.size());
    bool lost_batch = false;
    for (;;) {
      int want;
      {
        std::unique_lock lock(mu_);
        space_cv_.wait(lock, [&] { return stopping_ || outstanding_ < limit; });
        if (stopping_) return;
        want = static_cast<int>(std::min<int64_t>(cfg_.batch, limit - outstanding_));
      }
      if (stop_requested()) return;
      const uint64_t generation = conn_.reconnects.load();
      if (cfg_.resume_in_order && (lost_batch || generation != part.generation)) {
        if (!resync(index)) return;
        part.generation = generation;
        lost_batch = false;
        continue;
      }
      part.generation = generation;
      natsMsgList list{};
      jsErrCode jerr = static_cast<jsErrCode>(0);
      natsStatus nats_status = fetch_messages(&list, part.sub, want, cfg_.fetch_timeout_ms, &jerr);
      if (nats_status != NATS_OK && nats_status != NATS_TIMEOUT) {
        ++stats_->fetch_errors;
        std::unique_lock lock(mu_);
        space_cv_.wait_for(lock, std::chrono::milliseconds(pause_ms), [&] { return stopping_; });
        pause_ms = std::min(pause_ms * 2, 1000);
        continue;
      }
      pause_ms = 10;
      if (list.Count == 0) {
        natsMsgList_Destroy(&list);
        continue;
      }
      // A batch fetched across a reconnect may follow messages lost with the old connection:
      // dropped (not acked), and the partition resynced.
      bool drop = cfg_.resume_in_order && conn_.reconnects.load() != generation;
      thread_local std::vector<uint64_t> sseqs;
      sseqs.assign(static_cast<size_t>(list.Count), 0);
      for (int i = 0; i < list.Count && !drop; ++i) {
        jsMsgMetaData* meta = nullptr;
        if (natsMsg_GetMetaData(&meta, list.Msgs[i]) != NATS_OK) continue;
        if (meta->NumDelivered > 1) ++stats_->redelivered;
        sseqs[static_cast<size_t>(i)] = meta->Sequence.Stream;
        // Deliveries are numbered without gaps; a gap is a batch lost in flight (its
        // messages come again only after ack_wait, after newer ones).
        const uint64_t cseq = meta->Sequence.Consumer;
        if (cfg_.resume_in_order && part.last_cseq != 0 && cseq != part.last_cseq + 1) drop = lost_batch = true;
        part.last_cseq = cseq;
        jsMsgMetaData_Destroy(meta);
      }
      if (drop) {
        natsMsgList_Destroy(&list);  // destroys its messages, unacked
        lost_batch = true;
        continue;
      }
      stats_->fetched += static_cast<uint64_t>(list.Count);
      {
        std::lock_guard lock(mu_);
        for (int i = 0; i < list.Count; ++i) {
          ready_.push_back({list.Msgs[i], index, sseqs[static_cast<size_t>(i)]});
          list.Msgs[i] = nullptr;  // now ours
        }
        outstanding_ += list.Count;
      }
      natsMsgList_Destroy(&list);
      uint64_t one = 1;
      [[maybe_unused]] ssize_t w = ::write(event_fd_, &one, sizeof one);
    }
  }

  const InputConfig& cfg_;
  std::shared_ptr<InputStats> stats_;
  Connection conn_;
  Durables durables_;  // JetStream calls of a resume at start and of a resync
  PartitionOrder order_;  // the stream sequences read lately and the last acked, per partition
  std::vector<Part> parts_;                // each owned by its fetch thread after open()
  std::mutex resync_mu_;
  std::vector<natsSubscription*> retired_;  // replaced by a resync (guarded by mu_; destroyed last)
  std::vector<std::thread> threads_;
  int event_fd_ = -1;
  std::mutex mu_;
  std::condition_variable space_cv_;
  std::deque<Ready> ready_;     // fetched, not yet read (guarded by mu_)
  int64_t outstanding_ = 0;     // fetched and not yet acked (guarded by mu_)
  bool stopping_ = false;
  // Reader side (the pipeline's thread).
  natsMsg* current_ = nullptr;
  size_t current_part_ = 0;
  uint64_t current_sseq_ = 0;
  size_t current_at_ = 0;
  uint64_t produced_ = 0;
  uint64_t consumed_ = 0;        // the runner's last delivered() position
  std::deque<Unacked> unacked_;
};

}  // namespace

Status open_nats_source(const InputConfig& cfg, std::shared_ptr<InputStats> stats, std::unique_ptr<ByteSource>& out) {
  auto source = std::make_unique<NatsSource>(cfg, std::move(stats));
  if (Status status = source->open(); !status.ok()) return status;
  out = std::move(source);
  return {};
}

}  // namespace agentlog::plugins::nats
