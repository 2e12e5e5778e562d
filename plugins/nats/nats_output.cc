// Output `nats`: publishes each record to JetStream on `agentlog.records.{partition}`, the
// partition being the FNV-1a 64 hash of the record's key field (run_id by default) modulo
// `partitions`. Publishing is asynchronous with a bounded window of outstanding acks; a record
// counts as delivered only once JetStream acked it (delivered() holds follow-mode checkpoints
// back until then). Nats-Msg-Id is stable (source + line, or a configured id field), so a
// retry or a replay after a crash is de-duplicated by the stream's duplicate window.
#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "core/field_path.h"
#include "core/plugin.h"
#include "core/signals.h"
#include "plugins/nats/nats_common.h"

namespace agentlog::plugins {
namespace {

using namespace agentlog::plugins::nats;
using Clock = std::chrono::steady_clock;

constexpr OptionSpec kOutputOwnOptions[] = {
    {.name = "subject", .type = OptType::String, .default_value = "agentlog.records.{partition}",
     .description = "subject template; {partition} is the record's partition number"},
    {.name = "partitions", .type = OptType::Int, .default_value = "4",
     .description = "number of partitions (fixed for a stream's life: it decides where each run goes)", .min = 1,
     .max = 4096},
    {.name = "partition_fields", .type = OptType::StringList, .default_value = "[run_id]",
     .description = "key fields, first present wins; hashed with FNV-1a 64 (strings by their text)"},
    {.name = "unkeyed_partition", .type = OptType::Int, .default_value = "0",
     .description = "partition of records that have none of partition_fields", .min = 0, .max = 4095},
    {.name = "msg_id_field", .type = OptType::String,
     .description = "Nats-Msg-Id from this string field when present (e.g. event_id; equal ids are de-duplicated "
                    "by the stream); default and fallback: the record's source and line"},
    {.name = "max_pending", .type = OptType::Int, .default_value = "4096",
     .description = "records published and not yet acked; when full the pipeline waits", .min = 1, .max = 1 << 20},
    {.name = "ack_timeout_ms", .type = OptType::Int, .default_value = "5000",
     .description = "a publish not acked within this is sent again (same Nats-Msg-Id)", .min = 10, .max = 600000},
    {.name = "shutdown_grace_ms", .type = OptType::Int, .default_value = "10000",
     .description = "at exit, time to get what is unacked acked before dead-lettering it", .min = 0, .max = 3600000},
};
constexpr auto kOutputOptions = concat_options(kOutputOwnOptions, kConnectionOptions);

struct OutputConfig {
  ConnectionConfig conn;
  std::string subject;
  uint32_t partitions = 4, unkeyed_partition = 0;
  std::vector<FieldPath> partition_fields;
  bool msg_id_from_field = false;
  FieldPath msg_id_field;
  int64_t max_pending = 4096;
  int ack_timeout_ms = 5000, grace_ms = 10000;
};

// A record between write_record and its ack, kept whole for a resend or a dead letter.
struct InFlight {
  std::string raw, subject, msg_id;
  uint32_t source = UINT32_MAX;
  uint64_t line = 0;
  bool generated = false;
};

class NatsOutput : public Output {
 public:
  explicit NatsOutput(OutputConfig cfg) : cfg_(std::move(cfg)) {
    for (uint32_t p = 0; p < cfg_.partitions; ++p) subjects_.push_back(subject_for(cfg_.subject, p));
  }

  Status open() override {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = cfg_.max_pending;
    jo.PublishAsync.AckHandler = &NatsOutput::on_ack;
    jo.PublishAsync.AckHandlerClosure = this;
    jo.PublishAsync.StallWait = 50;
    if (Status st = conn_.open(cfg_.conn, "nats output", &jo); !st.ok()) return st;
    if (Status st = conn_.ensure_stream(); !st.ok()) return st;
    max_payload_ = static_cast<size_t>(natsConnection_GetMaxPayload(conn_.nc));
    return {};
  }

  void bind_source_names(const std::vector<std::string>* names) override { source_names_ = names; }

  Status write_record(Record& r) override {
    InFlight f;
    f.raw.assign(r.bytes());
    f.source = r.source;
    f.line = r.line;
    f.generated = r.generated;
    simdjson::dom::element root = r.root();
    f.subject = subjects_[root.is_object() ? partition(root) : cfg_.unkeyed_partition];
    f.msg_id = msg_id(root, r);
    return send(std::move(f));
  }
  Status write_line(std::string_view line) override {
    // Lines without a record (dead letters routed here): parsed for the key; id by content.
    InFlight f;
    f.raw.assign(line);
    simdjson::dom::element root;
    bool ok = parser_.parse(line.data(), line.size(), true).get(root) == simdjson::SUCCESS && root.is_object();
    f.subject = subjects_[ok ? partition(root) : cfg_.unkeyed_partition];
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(line)));
    f.msg_id = std::string("line:") + hex;
    return send(std::move(f));
  }
  Status flush() override {
    resend_failed(false);
    return {};
  }
  bool delivered() const override {
    std::lock_guard lock(mu_);
    return in_flight_.empty() && failed_.empty();
  }
  void take_undelivered(std::vector<Undelivered>& out) override {
    for (auto& u : rejected_) out.push_back(std::move(u));
    rejected_.clear();
  }
  Status close() override {
    if (!conn_.js) return {};
    // Wait for the acks (resending what failed) until the grace period ends.
    const auto deadline = Clock::now() + std::chrono::milliseconds(cfg_.grace_ms);
    for (;;) {
      resend_failed(true, deadline);
      if (delivered() || Clock::now() >= deadline) break;
      jsPubOptions pub_options;
      jsPubOptions_Init(&pub_options);
      pub_options.MaxWait = std::max<int64_t>(
          1, std::min<int64_t>(100,
                               std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
      js_PublishAsyncComplete(conn_.js, &pub_options);
    }
    // What is still unacked is given up: taken back from the library, then dead-lettered.
    // (libnats 3.4 crashes in this call when nothing was ever published asynchronously.)
    natsMsgList pending{};
    if (published_ > 0 && js_PublishAsyncGetPendingList(&pending, conn_.js) == NATS_OK) natsMsgList_Destroy(&pending);
    std::vector<InFlight> lost;
    std::string why;
    {
      std::lock_guard lock(mu_);
      for (auto& [msg, f] : in_flight_) lost.push_back(std::move(f));
      in_flight_.clear();
      for (auto& failed : failed_) lost.push_back(std::move(failed));
      failed_.clear();
      why = last_error_.empty() ? "" : "; last error: " + last_error_;
    }
    conn_.close();
    if (lost.empty()) return {};
    // Deterministic dead-letter order: by source and line.
    std::sort(lost.begin(), lost.end(), [](const InFlight& a, const InFlight& b) {
      return std::tie(a.source, a.line) < std::tie(b.source, b.line);
    });
    undelivered_ += lost.size();
    for (auto& message : lost)
      rejected_.push_back(
          {std::move(message.raw), message.source, message.line, message.generated, "output:nats",
           "not acked by JetStream (" + conn_.label() + ", " + message.subject + ") within shutdown_grace_ms" + why,
           "unacked"});
    return Status::error(describe() + ": " + std::to_string(lost.size()) +
                         " records not acked within shutdown_grace_ms (dead-lettered)" + why);
  }
  std::string describe() const override { return "nats " + conn_.label() + " stream " + cfg_.conn.stream; }
  std::string stats_json() const override {
    std::string o;
    auto num = [&](const char* k, uint64_t v) {
      if (!o.empty()) o += ",";
      o += "\"" + std::string(k) + "\":" + std::to_string(v);
    };
    num("published", published_);
    num("acked", acked_);
    num("duplicates", duplicates_);
    num("ack_errors", ack_errors_);
    num("resent", resent_);
    num("too_large", too_large_);
    num("undelivered", undelivered_);
    num("unkeyed", unkeyed_);
    num("stalls", stalls_);
    num("disconnects", conn_.disconnects);
    num("reconnects", conn_.reconnects);
    std::string parts;
    for (uint64_t n : per_partition_) parts += (parts.empty() ? "" : ",") + std::to_string(n);
    o += ",\"per_partition\":[" + parts + "]";
    return o;
  }

 private:
  uint32_t partition(simdjson::dom::element root) {
    if (per_partition_.empty()) per_partition_.assign(cfg_.partitions, 0);
    uint32_t p = cfg_.unkeyed_partition;
    bool keyed = false;
    for (const FieldPath& path : cfg_.partition_fields) {
      auto v = lookup(root, path);
      if (!v) continue;
      std::string_view key;
      std::string text;
      if (v->is_string()) key = std::string_view(*v);
      else key = text = simdjson::minify(*v);
      p = partition_of(key, cfg_.partitions);
      keyed = true;
      break;
    }
    if (!keyed) ++unkeyed_;
    ++per_partition_[p];
    return p;
  }

  std::string msg_id(simdjson::dom::element root, const Record& r) {
    if (cfg_.msg_id_from_field && root.is_object()) {
      auto v = lookup(root, cfg_.msg_id_field);
      if (v && v->is_string() && !std::string_view(*v).empty()) return "id:" + std::string(std::string_view(*v));
    }
    // Source + line (a hash of the source name keeps the header short and free of control
    // characters); generated records are numbered after their origin line.
    std::string_view src = source_names_ && r.source < source_names_->size() ? std::string_view((*source_names_)[r.source]) : "";
    if (r.source != last_source_ || r.line != last_line_) generated_index_ = 0;
    last_source_ = r.source;
    last_line_ = r.line;
    char buf[64];
    snprintf(buf, sizeof buf, "%016llx:%llu", static_cast<unsigned long long>(fnv1a64(src)),
             static_cast<unsigned long long>(r.line));
    std::string id = buf;
    if (r.generated) id += ":g" + std::to_string(++generated_index_);
    return id;
  }

  // Publishes one record; waits while the window of unacked records is full.
  Status send(InFlight&& message) {
    if (message.raw.size() + message.subject.size() + message.msg_id.size() + 64 > max_payload_) {
      ++too_large_;
      rejected_.push_back({std::move(message.raw), message.source, message.line, message.generated, "output:nats",
                           "record is " + std::to_string(message.raw.size()) +
                               " bytes, over the server's max_payload (" + std::to_string(max_payload_) + ")",
                           "too_large"});
      return {};
    }
    resend_failed(false);
    int pause_ms = 1;
    for (;;) {
      natsStatus nats_status = publish(message);
      if (nats_status == NATS_OK) {
        ++published_;
        return {};
      }
      // Window full (stall), or disconnected with a full reconnect buffer: wait and retry.
      // After SIGTERM the record waits with the failed ones for close() and its grace period.
      ++stalls_;
      if (stop_requested()) {
        std::lock_guard lock(mu_);
        failed_.push_back(std::move(message));
        return {};
      }
      if (nats_status != NATS_TIMEOUT) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
      pause_ms = std::min(pause_ms * 2, 100);
      resend_failed(false);
    }
  }

  // The entry is registered before the publish: its ack may arrive before the call returns.
  natsStatus publish(InFlight& f) {
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, f.subject.c_str(), nullptr, f.raw.data(), static_cast<int>(f.raw.size()));
    if (s != NATS_OK) return s;
    natsMsg* key = msg;
    const std::string id = f.msg_id;
    {
      std::lock_guard lock(mu_);
      in_flight_.emplace(key, std::move(f));
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.c_str();
    po.MaxWait = cfg_.ack_timeout_ms;
    s = js_PublishMsgAsync(conn_.js, &msg, &po);
    if (s != NATS_OK) {
      // Not taken by the library: the entry comes back to the caller.
      std::lock_guard lock(mu_);
      auto it = in_flight_.find(key);
      f = std::move(it->second);
      in_flight_.erase(it);
      natsMsg_Destroy(msg);
    }
    return s;
  }

  // Publishes again what JetStream refused or did not ack in time (same Nats-Msg-Id).
  void resend_failed(bool closing, Clock::time_point deadline = Clock::time_point::max()) {
    for (;;) {
      InFlight f;
      {
        std::lock_guard lock(mu_);
        if (failed_.empty()) return;
        f = std::move(failed_.front());
        failed_.pop_front();
      }
      natsStatus s = publish(f);
      if (s == NATS_OK) {
        ++resent_;
        continue;
      }
      std::lock_guard lock(mu_);
      failed_.push_front(std::move(f));
      if (!closing || Clock::now() >= deadline) return;
      if (s != NATS_TIMEOUT) return;  // disconnected: close() waits and comes back
    }
  }

  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<NatsOutput*>(closure);
    {
      std::lock_guard lock(self->mu_);
      auto it = self->in_flight_.find(msg);
      if (it != self->in_flight_.end()) {
        if (pa) {
          ++self->acked_;
          if (pa->Duplicate) ++self->duplicates_;
        } else {
          ++self->ack_errors_;
          self->last_error_ = pae && pae->ErrText && *pae->ErrText ? pae->ErrText
                              : pae ? natsStatus_GetText(pae->Err) : "no ack";
          self->failed_.push_back(std::move(it->second));
        }
        self->in_flight_.erase(it);
      }
    }
    natsMsg_Destroy(msg);
  }

  OutputConfig cfg_;
  Connection conn_;
  std::vector<std::string> subjects_;
  const std::vector<std::string>* source_names_ = nullptr;
  size_t max_payload_ = 1 << 20;
  simdjson::dom::parser parser_;
  uint32_t last_source_ = UINT32_MAX;
  uint64_t last_line_ = 0, generated_index_ = 0;
  std::vector<Undelivered> rejected_;
  std::vector<uint64_t> per_partition_;
  mutable std::mutex mu_;
  std::unordered_map<natsMsg*, InFlight> in_flight_;  // by the library's message (ack callback)
  std::deque<InFlight> failed_;                        // refused or timed out: to be resent
  std::string last_error_;
  std::atomic<uint64_t> acked_{0}, duplicates_{0}, ack_errors_{0};
  uint64_t published_ = 0, resent_ = 0, too_large_ = 0, undelivered_ = 0, unkeyed_ = 0, stalls_ = 0;
};

struct NatsOutputOptions : ConnectionOptions {
  std::string subject;
  uint32_t partitions = 0, unkeyed_partition = 0;
  std::optional<std::vector<std::string>> partition_fields;  // unset: run_id
  std::optional<std::string> msg_id_field;
  int64_t max_pending = 0;
  int ack_timeout_ms = 0, shutdown_grace_ms = 0;
  template <class B>
  static void bind(B& b) {
    b.field("subject", &NatsOutputOptions::subject);
    b.field("partitions", &NatsOutputOptions::partitions);
    b.field("partition_fields", &NatsOutputOptions::partition_fields);
    b.field("unkeyed_partition", &NatsOutputOptions::unkeyed_partition);
    b.field("msg_id_field", &NatsOutputOptions::msg_id_field);
    b.field("max_pending", &NatsOutputOptions::max_pending);
    b.field("ack_timeout_ms", &NatsOutputOptions::ack_timeout_ms);
    b.field("shutdown_grace_ms", &NatsOutputOptions::shutdown_grace_ms);
    ConnectionOptions::bind(b);
  }
};

Status make_nats_output(const NatsOutputOptions& opts, const OptionView& options, std::unique_ptr<Output>& out) {
  OutputConfig config;
  config.subject = opts.subject;
  config.partitions = opts.partitions;
  if (std::string bad = check_subject_template(config.subject, config.partitions > 1); !bad.empty())
    return Status::error(options.error("subject", bad + ", got \"" + config.subject + "\""));
  config.unkeyed_partition = opts.unkeyed_partition;
  if (config.unkeyed_partition >= config.partitions)
    return Status::error(options.error("unkeyed_partition", "must be below partitions (" +
                                                                std::to_string(config.partitions) + "), got " +
                                                                std::to_string(config.unkeyed_partition)));
  std::vector<std::string> fields = opts.partition_fields.value_or(std::vector<std::string>{"run_id"});
  if (fields.empty()) return Status::error(options.error("partition_fields", "must list at least one field"));
  for (size_t i = 0; i < fields.size(); ++i) {
    FieldPath path;
    if (!parse_field_path(fields[i], path))
      return Status::error(options.error_at(
          options.raw("partition_fields")[i], options.child_path("partition_fields") + "[" + std::to_string(i) + "]",
          "invalid field path \"" + fields[i] + "\" (use a.b.c or a JSON Pointer such as /a/b)"));
    config.partition_fields.push_back(std::move(path));
  }
  if (opts.msg_id_field) {
    config.msg_id_from_field = true;
    if (!parse_field_path(*opts.msg_id_field, config.msg_id_field))
      return Status::error(options.error("msg_id_field", "invalid field path \"" + *opts.msg_id_field +
                                                             "\" (use a.b.c or a JSON Pointer such as /a/b)"));
  }
  config.max_pending = opts.max_pending;
  config.ack_timeout_ms = opts.ack_timeout_ms;
  config.grace_ms = opts.shutdown_grace_ms;
  if (Status status = parse_connection(opts, options, config.subject, config.conn); !status.ok()) return status;
  out = std::make_unique<NatsOutput>(std::move(config));
  return {};
}

}  // namespace

const PluginInfo& nats_output_plugin() {
  static const PluginInfo info = PluginInfo::output<make_nats_output>(
      "nats", "publish records to NATS JetStream, partitioned by a key field (at-least-once)", kOutputOptions);
  return info;
}

}  // namespace agentlog::plugins
