// Per-partition stream order for the `nats` input (`resume_in_order`), kept by the worker as a
// Kafka consumer keeps its offset (docs/nats.md):
// - PartitionOrder (reader side): per partition, the stream sequences the reader took lately,
//   which tell a redelivery of a message taken before from one never seen, and the last one
//   acked after delivery, where a resync starts again.
// - Durables (JetStream side): a durable pull consumer read (acks, open pull requests),
//   deleted and created again from a stream sequence, and bound; a worker restarted after a
//   crash resumes from the ack floor (prepare), a resync from its last ack (recreate). Every
//   call is retried while a cluster has no answer or no leader for the moment.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <nats/nats.h>

#include "core/status.h"
#include "plugins/nats/nats_common.h"

namespace agentlog::plugins::nats {

class PartitionOrder {
 public:
  // `window`: how many recent stream sequences each partition keeps (more than can be
  // fetched and unacked at once).
  void open(size_t partitions, size_t window);

  enum class Take {
    New,         // written
    Redelivery,  // taken before (its ack was lost with a server, or a resync delivered it
                 // again): acked once everything before it is, not written again
    Late,        // older than the last one taken and never taken (a delivery lost without a
                 // trace, or taken so long ago it left the window): written, never dropped
  };
  // Reader thread: the reader takes a message of partition `part` (`sseq` 0: unknown, New).
  Take take(size_t part, uint64_t sseq);
  // Reader thread: a message of `part` acked after delivery.
  void acked(size_t part, uint64_t sseq);
  // Any thread: where a resync recreates the partition's durable from, just after the last
  // message this process acked (every message before it was written); 0 before any ack (the
  // server's ack floor then). Not the server's floor otherwise: a consumer's new leader may
  // not have heard of a delivery lost in flight and count it as acked (seen with nats-server
  // 2.9: one record never delivered again).
  uint64_t resync_start(size_t part) const;

 private:
  // The stream sequences taken lately (ascending).
  struct Window {
    std::deque<uint64_t> recent;
    uint64_t last = 0;
    bool has(uint64_t sseq) const;
    void add(uint64_t sseq, size_t window);
  };
  std::vector<Window> windows_;
  size_t window_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> acked_;
};

struct DurableOptions {
  std::string stream;
  int64_t ack_wait_ms = 30000, max_ack_pending = 4096;
  int fetch_timeout_ms = 500;
  bool resume_in_order = true;
  bool leader_on_stream_leader = true;  // seat_leader after every create or bind
  int64_t retry_initial_ms = 100, retry_max_ms = 5000;  // the connection's reconnect backoff
};

// The input's counters these calls move.
struct DurableCounters {
  std::atomic<uint64_t>& fetch_errors;
  std::atomic<uint64_t>& unacked_at_start;        // messages an earlier process fetched and did not ack
  std::atomic<uint64_t>& resumed_from_ack_floor;  // durables recreated after a crash
  std::atomic<uint64_t>& leader_moves;            // consumer leaders asked to step down (seat_leader)
};

class Durables {
 public:
  Durables(Connection& conn, DurableOptions options, DurableCounters counters)
      : conn_(conn), opts_(std::move(options)), counters_(counters) {}

  // Explicit acks, delivered from the stream's start, max_ack_pending, redelivered forever.
  jsConsumerConfig consumer_config() const;

  // At start: a process killed with messages fetched and not acked leaves them pending on
  // the durable; JetStream redelivers them after ack_wait, but hands out newer ones at once,
  // so the partition would come out of order (a lifecycle's end before its start). Instead,
  // as a Kafka consumer resumes from its committed offset, the durable is recreated from its
  // ack floor (acks are sent in order, so everything after the floor is what was not acked):
  // the partition is delivered again in stream order from the first message not acked.
  // Sets where `config` delivers from: an existing durable's own start (a bind must repeat
  // it), or the ack floor after a crash. `recreating`: the durable was deleted, so the
  // subscribe that creates it again must not give up early (a durable that is not there
  // would be created from the stream's start: every message again).
  Status prepare(const std::string& durable, jsConsumerConfig& config, bool& recreating);

  // Binds (or creates) the partition's durable pull consumer. A cluster that lost a node or
  // is electing a leader answers late: transient failures are retried with backoff until
  // SIGTERM, as a worker must outlive a node restart. A deleted durable (`recreating`) is
  // created again even past a SIGTERM, for up to a minute.
  Status subscribe(const std::string& subject, const std::string& durable, const jsConsumerConfig& config,
                   bool recreating, natsSubscription*& sub);

  // A resync: deletes the durable and creates it again, delivering from `from` (0: from its
  // ack floor, set in `from`).
  Status recreate(const std::string& subject, const std::string& durable, uint64_t& from, natsSubscription*& sub);

  // Worth another try: no answer yet, or a cluster without a leader for the moment.
  static bool transient(natsStatus status, jsErrCode jerr);

  // nats-server 2.9 (Debian 12 has 2.9.10) can seat a consumer's leader on a node that has just
  // come back and is still catching up its copy of the stream ("last sequence mismatch",
  // "Resetting stream cluster state" in its log). That leader delivers from its copy and steps
  // over the messages it does not hold yet: messages JetStream acked to the publisher, never
  // delivered (nats-server#3299; seen in r3-cluster-faults at a million records, 12 and 45
  // records lost). So after every create or bind, the durable's leader is asked to step down
  // until it sits on the stream leader's node, whose copy holds every acked message. Gives up
  // with a warning after `deadline_ms` (the partition is read where it is). A server without
  // a cluster has nothing to move.
  void seat_leader(const std::string& durable, int64_t deadline_ms = 20000);

 private:
  struct State {
    bool found = false;
    int64_t pending = 0, waiting = 0;
    uint64_t from = 0;
  };
  // The durable's acks and open pull requests; retried while the cluster has no answer.
  Status read(const std::string& durable, jsConsumerConfig& config, State& state);
  // The stream's and the durable's leaders; both empty for a server without a cluster. False
  // when one is not known yet (no answer, or an election under way).
  bool leaders(const std::string& durable, std::string& stream_leader, std::string& consumer_leader,
               int64_t wait_ms);
  // Deletes the durable, so that the next subscribe creates it from `from`; 0: from the
  // durable's ack floor (set in `from`).
  Status delete_for_start(const std::string& durable, jsConsumerConfig& config, uint64_t& from);

  Connection& conn_;
  DurableOptions opts_;
  DurableCounters counters_;
};

}  // namespace agentlog::plugins::nats
