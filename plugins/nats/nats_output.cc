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

#include "core/field_path.h"
#include "core/plugin.h"
#include "core/signals.h"
#include "plugins/nats/nats_common.h"
#include "plugins/nats/pending_table.h"

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

// Where a published record came from (its dead letter names it) and its partition.
struct Origin {
  uint32_t source = UINT32_MAX;
  uint32_t partition = 0;
  uint64_t line = 0;
  bool generated = false;
};

// A record to publish again (refused, not acked in time, or held at SIGTERM) or to
// dead-letter: its bytes and Nats-Msg-Id, copied out of the library's message.
struct Retry {
  std::string raw, msg_id;
  Origin origin;
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
    Origin origin{.source = r.source, .line = r.line, .generated = r.generated};
    simdjson::dom::element root = r.root();
    origin.partition = root.is_object() ? partition(root) : cfg_.unkeyed_partition;
    set_msg_id(root, r);
    return send(r.bytes(), origin);
  }
  Status write_line(std::string_view line) override {
    // Lines without a record (dead letters routed here): parsed for the key; id by content.
    simdjson::dom::element root;
    bool ok = parser_.parse(line.data(), line.size(), true).get(root) == simdjson::SUCCESS && root.is_object();
    Origin origin;
    origin.partition = ok ? partition(root) : cfg_.unkeyed_partition;
    content_msg_id(line, id_);
    return send(line, origin);
  }
  Status flush() override {
    resend_failed(false);
    return {};
  }
  bool delivered() const override {
    std::lock_guard lock(mu_);
    return pending_.size() == 0 && failed_.empty();
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
    // What is still unacked is given up: taken back from the library (its messages hold the
    // bytes), then dead-lettered. (libnats 3.4 crashes in this call when nothing was ever
    // published asynchronously.)
    std::vector<Retry> lost;
    natsMsgList pending{};
    if (any_published_ && js_PublishAsyncGetPendingList(&pending, conn_.js) == NATS_OK) {
      std::lock_guard lock(mu_);
      for (int i = 0; i < pending.Count; ++i) {
        Origin origin;
        if (pending.Msgs[i] && pending_.take(pending.Msgs[i], origin)) lost.push_back(retry_of(pending.Msgs[i], origin));
      }
      natsMsgList_Destroy(&pending);
    }
    // An ack callback already under way when the list was taken still holds its message: it
    // acks it or puts it back in failed_. Wait for it (briefly) before failed_ is read.
    for (int i = 0; i < 100; ++i) {
      {
        std::lock_guard lock(mu_);
        if (pending_.size() == 0) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string why;
    size_t unaccounted = 0;
    {
      std::lock_guard lock(mu_);
      for (auto& failed : failed_) lost.push_back(std::move(failed));
      failed_.clear();
      // Every message the library still had is in its pending list; none should be left.
      unaccounted = pending_.size();
      why = last_error_.empty() ? "" : "; last error: " + last_error_;
    }
    if (unaccounted > 0) why += "; " + std::to_string(unaccounted) + " more not returned by the library";
    conn_.close();
    if (lost.empty() && unaccounted == 0) return {};
    // Deterministic dead-letter order: by source and line.
    std::sort(lost.begin(), lost.end(), [](const Retry& a, const Retry& b) {
      return std::tie(a.origin.source, a.origin.line) < std::tie(b.origin.source, b.origin.line);
    });
    undelivered_ += lost.size() + unaccounted;
    for (auto& message : lost)
      rejected_.push_back({std::move(message.raw), message.origin.source, message.origin.line,
                           message.origin.generated, "output:nats",
                           "not acked by JetStream (" + conn_.label() + ", " + subjects_[message.origin.partition] +
                               ") within shutdown_grace_ms" + why,
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

  // The record's Nats-Msg-Id into id_ (reused: no allocation per record).
  void set_msg_id(simdjson::dom::element root, const Record& r) {
    if (cfg_.msg_id_from_field && root.is_object()) {
      auto v = lookup(root, cfg_.msg_id_field);
      if (v && v->is_string() && !std::string_view(*v).empty()) {
        id_.assign("id:").append(std::string_view(*v));
        return;
      }
    }
    // Source + line (a hash of the source name keeps the header short and free of control
    // characters); generated records are numbered after their origin line.
    std::string_view src = source_names_ && r.source < source_names_->size() ? std::string_view((*source_names_)[r.source]) : "";
    if (r.source != last_source_ || r.line != last_line_) generated_index_ = 0;
    last_source_ = r.source;
    last_line_ = r.line;
    char buf[80];
    int n = snprintf(buf, sizeof buf, "%016llx:%llu", static_cast<unsigned long long>(fnv1a64(src)),
                     static_cast<unsigned long long>(r.line));
    if (r.generated)
      n += snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ":g%llu",
                    static_cast<unsigned long long>(++generated_index_));
    id_.assign(buf, static_cast<size_t>(n));
  }

  // The Nats-Msg-Id of a line without a record: "line:" and the FNV-1a hash of its bytes.
  static void content_msg_id(std::string_view line, std::string& out) {
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(line)));
    out.assign("line:").append(hex);
  }

  // A message the library gives back (refused, timed out, or unacked at exit), as a record to
  // publish again or dead-letter.
  static Retry retry_of(natsMsg* msg, const Origin& origin) {
    Retry retry;
    retry.raw.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    const char* id = nullptr;
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id) retry.msg_id = id;
    // Always set by publish(); were it missing, an id by content keeps the resend
    // de-duplicated rather than none.
    if (retry.msg_id.empty()) content_msg_id(retry.raw, retry.msg_id);
    retry.origin = origin;
    return retry;
  }

  // Publishes one record (its Nats-Msg-Id in id_); waits while the window of unacked records
  // is full.
  Status send(std::string_view raw, const Origin& origin) {
    if (raw.size() + subjects_[origin.partition].size() + id_.size() + 64 > max_payload_) {
      ++too_large_;
      rejected_.push_back({std::string(raw), origin.source, origin.line, origin.generated, "output:nats",
                           "record is " + std::to_string(raw.size()) + " bytes, over the server's max_payload (" +
                               std::to_string(max_payload_) + ")",
                           "too_large"});
      return {};
    }
    // After SIGTERM, once a publish stalled, the rest of the drain waits with the failed
    // records for close() and its grace period: one stalled wait (StallWait) per record
    // would make a drain of thousands of records take minutes with the server not answering.
    if (stop_requested() && stalled_at_stop_) {
      std::lock_guard lock(mu_);
      failed_.push_back({std::string(raw), id_, origin});
      return {};
    }
    resend_failed(false);
    int pause_ms = 1;
    for (;;) {
      natsStatus nats_status = publish(raw, id_.c_str(), origin);
      if (nats_status == NATS_OK) {
        ++published_;
        return {};
      }
      // Window full (stall), or disconnected with a full reconnect buffer: wait and retry.
      // After SIGTERM the record waits with the failed ones for close() and its grace period.
      ++stalls_;
      if (stop_requested()) {
        stalled_at_stop_ = true;
        std::lock_guard lock(mu_);
        failed_.push_back({std::string(raw), id_, origin});
        return {};
      }
      if (nats_status != NATS_TIMEOUT) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
      pause_ms = std::min(pause_ms * 2, 100);
      resend_failed(false);
    }
  }

  // The entry is registered before the publish: its ack may arrive before the call returns.
  natsStatus publish(std::string_view raw, const char* msg_id, const Origin& origin) {
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subjects_[origin.partition].c_str(), nullptr, raw.data(),
                                  static_cast<int>(raw.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id);
    if (s != NATS_OK) {
      natsMsg_Destroy(msg);
      return s;
    }
    natsMsg* key = msg;
    {
      std::lock_guard lock(mu_);
      pending_.insert(key, origin);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = cfg_.ack_timeout_ms;
    s = js_PublishMsgAsync(conn_.js, &msg, &po);
    if (s == NATS_OK) any_published_ = true;  // a first send or a resend: the library holds it
    if (s != NATS_OK) {
      // Not taken by the library: the caller keeps the record.
      Origin ignored;
      std::lock_guard lock(mu_);
      pending_.take(key, ignored);
      natsMsg_Destroy(msg);
    }
    return s;
  }

  // Publishes again what JetStream refused or did not ack in time (same Nats-Msg-Id).
  void resend_failed(bool closing, Clock::time_point deadline = Clock::time_point::max()) {
    if (!closing && stop_requested()) return;  // close() resends them, within its grace period
    for (;;) {
      Retry f;
      {
        std::lock_guard lock(mu_);
        if (failed_.empty()) return;
        f = std::move(failed_.front());
        failed_.pop_front();
      }
      natsStatus s = publish(f.raw, f.msg_id.c_str(), f.origin);
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
      Origin origin;
      if (self->pending_.take(msg, origin)) {
        if (pa) {
          ++self->acked_;
          if (pa->Duplicate) ++self->duplicates_;
        } else {
          ++self->ack_errors_;
          self->last_error_ = pae && pae->ErrText && *pae->ErrText ? pae->ErrText
                              : pae ? natsStatus_GetText(pae->Err) : "no ack";
          self->failed_.push_back(retry_of(msg, origin));
        }
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
  std::string id_;           // the Nats-Msg-Id of the record being sent
  PendingTable<natsMsg, Origin> pending_;  // published, not yet acked (guarded by mu_)
  std::deque<Retry> failed_;  // refused or timed out: to be resent (guarded by mu_)
  std::string last_error_;
  std::atomic<uint64_t> acked_{0}, duplicates_{0}, ack_errors_{0};
  bool stalled_at_stop_ = false;  // a publish stalled after SIGTERM: the drain parks the rest
  bool any_published_ = false;  // the library took a message (its pending list exists)
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
