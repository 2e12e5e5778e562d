// The `nats` input's source: a JetStream durable pull consumer per partition, fetched by one
// thread per partition, read as the lines of one streaming source (nats_source.cc). The
// plugin's options and factory are in nats_input.cc.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/input.h"
#include "core/status.h"
#include "plugins/nats/nats_common.h"

namespace agentlog::plugins::nats {

struct InputConfig {
  ConnectionConfig conn;
  std::string subject, durable;
  std::vector<uint32_t> partitions;
  int batch = 256, fetch_timeout_ms = 500;
  int64_t max_ack_pending = 4096, ack_wait_ms = 30000, max_line_bytes = 1 << 20;
  bool resume_in_order = true, leader_on_stream_leader = true;
};

struct InputStats {
  std::atomic<uint64_t> fetched{0}, acked{0}, redelivered{0}, nacked{0}, fetch_errors{0};
  std::atomic<uint64_t> resumed_from_ack_floor{0};  // durables recreated after a crash (resume_in_order)
  std::atomic<uint64_t> unacked_at_start{0};  // messages an earlier process fetched and did not ack
  std::atomic<uint64_t> resyncs{0};           // durables recreated after a reconnect or a lost batch
  std::atomic<uint64_t> duplicates_skipped{0};  // redeliveries of messages already read (acked, not written)
  std::atomic<uint64_t> late{0};  // messages older than one read before them, not seen before (written)
  std::atomic<uint64_t> disconnects{0}, reconnects{0};
  std::atomic<uint64_t> leader_moves{0};  // consumer leaders moved to the stream leader's node
};

// Connects, binds (or creates) the partitions' durables and starts their fetch threads.
Status open_nats_source(const InputConfig& cfg, std::shared_ptr<InputStats> stats, std::unique_ptr<ByteSource>& out);

}  // namespace agentlog::plugins::nats
