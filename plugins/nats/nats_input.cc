// Input `nats`: its options and factory. One JetStream durable pull consumer per partition
// subject (`{durable}-{p}` on `agentlog.records.{p}`), read as the lines of one streaming
// source that never ends by itself (SIGTERM drains it); a message is acked only once every
// line it produced reached every output. The source and how it keeps each partition's order
// across faults: nats_source.cc and partition_order.h.
#include <cctype>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/plugin.h"
#include "plugins/nats/nats_common.h"
#include "plugins/nats/nats_source.h"

namespace agentlog::plugins {
namespace {

using namespace agentlog::plugins::nats;

constexpr OptionSpec kInputOwnOptions[] = {
    {.name = "subject", .type = OptType::String, .default_value = "agentlog.records.{partition}",
     .description = "subject template, as on the publishing nats output"},
    {.name = "partitions", .type = OptType::StringList,
     .description = "partition numbers this worker consumes, e.g. [0, 1]", .required = true},
    {.name = "durable", .type = OptType::String, .default_value = "agentlog",
     .description = "durable consumer name prefix: partition p is consumed by {durable}-{p}"},
    {.name = "batch", .type = OptType::Int, .default_value = "256", .description = "messages per fetch", .min = 1,
     .max = 10000},
    {.name = "max_ack_pending", .type = OptType::Int, .default_value = "4096",
     .description = "messages fetched and not yet acked, per partition (backpressure)", .min = 1, .max = 1 << 20},
    {.name = "ack_wait_ms", .type = OptType::Int, .default_value = "30000",
     .description = "the server redelivers a message not acked within this", .min = 100, .max = 3600000},
    {.name = "resume_in_order", .type = OptType::Bool, .default_value = "true",
     .description = "after a crash, recreate the durable from its ack floor so the partition is delivered again in stream order (not the unacked messages after newer ones)"},
    {.name = "leader_on_stream_leader", .type = OptType::Bool, .default_value = "true",
     .description = "after creating or binding a durable, move its leader to the stream leader's node (nats-server 2.9 can deliver past messages from a node still catching up)"},
    {.name = "fetch_timeout_ms", .type = OptType::Int, .default_value = "500",
     .description = "longest wait of one fetch (also the longest delay of a drain)", .min = 10, .max = 60000},
    {.name = "max_line_bytes", .type = OptType::Int, .default_value = "1048576",
     .description = "longer messages are dead-lettered", .min = 16, .max = 1ll << 30},
};
constexpr auto kInputOptions = concat_options(kInputOwnOptions, kConnectionOptions);

class NatsInput : public Input {
 public:
  explicit NatsInput(InputConfig cfg) : cfg_(std::move(cfg)), stats_(std::make_shared<InputStats>()) {}
  Status expand(std::vector<SourceSpec>& out) const override {
    SourceSpec s;
    std::string parts;
    for (uint32_t p : cfg_.partitions) parts += (parts.empty() ? "" : ",") + std::to_string(p);
    s.name = "nats:" + cfg_.conn.stream + "/" + cfg_.durable + "[" + parts + "]";
    s.max_line_bytes = static_cast<size_t>(cfg_.max_line_bytes);
    s.framing = "lines";
    s.open = [this](std::unique_ptr<ByteSource>& src) -> Status { return open_nats_source(cfg_, stats_, src); };
    out.push_back(std::move(s));
    return {};
  }
  std::string stats_json() const override {
    std::string o = "\"input\":\"nats:" + cfg_.conn.stream + "/" + cfg_.durable + "\"";
    auto num = [&](const char* k, uint64_t v) { o += ",\"" + std::string(k) + "\":" + std::to_string(v); };
    num("fetched", stats_->fetched);
    num("acked", stats_->acked);
    num("redelivered", stats_->redelivered);
    num("nacked", stats_->nacked);
    num("fetch_errors", stats_->fetch_errors);
    num("resumed_from_ack_floor", stats_->resumed_from_ack_floor);
    num("unacked_at_start", stats_->unacked_at_start);
    num("resyncs", stats_->resyncs);
    num("duplicates_skipped", stats_->duplicates_skipped);
    num("late", stats_->late);
    num("disconnects", stats_->disconnects);
    num("reconnects", stats_->reconnects);
    num("leader_moves", stats_->leader_moves);
    return o;
  }

 private:
  InputConfig cfg_;
  std::shared_ptr<InputStats> stats_;
};

struct NatsInputOptions : ConnectionOptions {
  std::string subject;
  std::vector<std::string> partitions;  // checked as numbers below, with positioned errors
  std::string durable;
  int batch = 0, fetch_timeout_ms = 0;
  int64_t max_ack_pending = 0, ack_wait_ms = 0, max_line_bytes = 0;
  bool resume_in_order = true, leader_on_stream_leader = true;
  template <class B>
  static void bind(B& b) {
    b.field("subject", &NatsInputOptions::subject);
    b.field("partitions", &NatsInputOptions::partitions);
    b.field("durable", &NatsInputOptions::durable);
    b.field("batch", &NatsInputOptions::batch);
    b.field("max_ack_pending", &NatsInputOptions::max_ack_pending);
    b.field("ack_wait_ms", &NatsInputOptions::ack_wait_ms);
    b.field("resume_in_order", &NatsInputOptions::resume_in_order);
    b.field("leader_on_stream_leader", &NatsInputOptions::leader_on_stream_leader);
    b.field("fetch_timeout_ms", &NatsInputOptions::fetch_timeout_ms);
    b.field("max_line_bytes", &NatsInputOptions::max_line_bytes);
    ConnectionOptions::bind(b);
  }
};

Status make_nats_input(const NatsInputOptions& opts, const OptionView& options, std::unique_ptr<Input>& out) {
  InputConfig config;
  config.subject = opts.subject;
  const std::vector<std::string>& parts = opts.partitions;
  if (parts.empty()) return Status::error(options.error("partitions", "must list at least one partition number"));
  for (size_t i = 0; i < parts.size(); ++i) {
    char* end = nullptr;
    unsigned long partition = std::strtoul(parts[i].c_str(), &end, 10);
    bool ok =
        !parts[i].empty() && std::isdigit(static_cast<unsigned char>(parts[i][0])) && *end == 0 && partition < 4096;
    for (uint32_t seen : config.partitions) ok = ok && seen != partition;
    if (!ok)
      return Status::error(options.error_at(
          options.raw("partitions")[i], options.child_path("partitions") + "[" + std::to_string(i) + "]",
          "must be a partition number from 0 to 4095, listed once, got \"" + parts[i] + "\""));
    config.partitions.push_back(static_cast<uint32_t>(partition));
  }
  if (std::string bad = check_subject_template(config.subject, config.partitions.size() > 1); !bad.empty())
    return Status::error(options.error("subject", bad + ", got \"" + config.subject + "\""));
  config.durable = opts.durable;
  if (config.durable.empty() || config.durable.find_first_of(" \t.*>/\\") != std::string::npos)
    return Status::error(options.error(
        "durable", "must be a consumer name (no spaces, dots, *, >, / or \\), got \"" + config.durable + "\""));
  config.batch = opts.batch;
  config.max_ack_pending = opts.max_ack_pending;
  config.ack_wait_ms = opts.ack_wait_ms;
  config.resume_in_order = opts.resume_in_order;
  config.leader_on_stream_leader = opts.leader_on_stream_leader;
  config.fetch_timeout_ms = opts.fetch_timeout_ms;
  config.max_line_bytes = opts.max_line_bytes;
  if (Status status = parse_connection(opts, options, config.subject, config.conn); !status.ok()) return status;
  out = std::make_unique<NatsInput>(std::move(config));
  return {};
}

}  // namespace

const PluginInfo& nats_input_plugin() {
  static const PluginInfo info = PluginInfo::input<make_nats_input>(
      "nats", "consume records from NATS JetStream partitions (durable pull consumers, at-least-once)", kInputOptions);
  return info;
}

}  // namespace agentlog::plugins
