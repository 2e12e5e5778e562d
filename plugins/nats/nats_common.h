// Shared by the `nats` input and output: connection options (servers, credentials, TLS,
// reconnect backoff), the JetStream stream (create-if-missing), the subject template and the
// partition hash. Designed so that a `kafka` plugin could reuse the same key and id rules.
#pragma once
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nats/nats.h>

#include "core/option_binding.h"
#include "core/options.h"
#include "core/status.h"

namespace agentlog::plugins::nats {

// The partition hash, stable across versions (it decides where a run's records go, and a
// change would split runs in flight): FNV-1a 64 of the key's bytes (a string field's
// characters, any other value's minified JSON), modulo the number of partitions.
constexpr uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}
constexpr uint32_t partition_of(std::string_view key, uint32_t partitions) {
  return static_cast<uint32_t>(fnv1a64(key) % partitions);
}

// `agentlog.records.{partition}` with the placeholder replaced.
std::string subject_for(std::string_view subject_template, uint32_t partition);
// Checks a subject template: NATS tokens (no spaces, no wildcards, no empty token) and
// `{partition}` at most once (required when there is more than one partition). Returns "" or
// the problem.
std::string check_subject_template(std::string_view subject, bool need_partition);

template <size_t A, size_t B>
constexpr std::array<OptionSpec, A + B> concat_options(const OptionSpec (&a)[A], const OptionSpec (&b)[B]) {
  std::array<OptionSpec, A + B> out{};
  for (size_t i = 0; i < A; ++i) out[i] = a[i];
  for (size_t i = 0; i < B; ++i) out[A + i] = b[i];
  return out;
}

inline constexpr std::string_view kRetentions[] = {"limits", "interest", "workqueue"};
inline constexpr std::string_view kStorages[] = {"file", "memory"};

// The options both plugins take (connection and stream).
inline constexpr OptionSpec kConnectionOptions[] = {
    {.name = "servers", .type = OptType::StringList, .default_value = "[nats://127.0.0.1:4222]",
     .description = "server URLs (nats://host:port or tls://host:port); a cluster's members for failover"},
    {.name = "randomize_servers", .type = OptType::Bool, .default_value = "true",
     .description = "connect to the servers in random order (spreads clients); false: in the order listed"},
    {.name = "connection_name", .type = OptType::String, .default_value = "agentlog",
     .description = "client name shown by the server's monitoring"},
    {.name = "creds_file", .type = OptType::String, .description = "NATS credentials file (JWT and NKey seed)"},
    {.name = "user", .type = OptType::String, .description = "user name (with password)"},
    {.name = "password", .type = OptType::String, .description = "password (with user; use ${ENV} rather than text)"},
    {.name = "token", .type = OptType::String, .description = "authentication token (use ${ENV} rather than text)"},
    {.name = "tls_ca_file", .type = OptType::String,
     .description = "CA certificates (PEM) that verify the servers; enables TLS"},
    {.name = "connect_timeout_ms", .type = OptType::Int, .default_value = "2000",
     .description = "timeout of one connection attempt", .min = 1, .max = 600000},
    {.name = "reconnect_initial_ms", .type = OptType::Int, .default_value = "100",
     .description = "first reconnect delay; doubles per failed attempt", .min = 1, .max = 600000},
    {.name = "reconnect_max_ms", .type = OptType::Int, .default_value = "5000", .description = "longest reconnect delay",
     .min = 1, .max = 3600000},
    {.name = "reconnect_buffer_bytes", .type = OptType::Int, .default_value = "16777216",
     .description = "messages held while disconnected (then publishing waits)", .min = 65536, .max = 1ll << 31},
    {.name = "stream", .type = OptType::String, .default_value = "AGENTLOG", .description = "JetStream stream name"},
    {.name = "create_stream", .type = OptType::Bool, .default_value = "false",
     .description = "create the stream when it does not exist (development; production streams are provisioned)"},
    {.name = "stream_subjects", .type = OptType::StringList,
     .description = "created stream: its subjects (default: the subject template with {partition} as *)"},
    {.name = "replicas", .type = OptType::Int, .default_value = "1", .description = "created stream: replicas (R1, R3)",
     .min = 1, .max = 5},
    {.name = "retention", .type = OptType::Enum, .default_value = "limits",
     .description = "created stream: limits, interest or workqueue", .allowed = kRetentions},
    {.name = "storage", .type = OptType::Enum, .default_value = "file", .description = "created stream: file or memory",
     .allowed = kStorages},
    {.name = "duplicate_window_ms", .type = OptType::Int, .default_value = "120000",
     .description = "created stream: how long a Nats-Msg-Id is remembered for de-duplication", .min = 100,
     .max = 7 * 24 * 3600 * 1000ll},
};

struct ConnectionConfig {
  std::vector<std::string> servers;
  std::string name, creds_file, user, password, token, tls_ca_file;
  int connect_timeout_ms = 2000, reconnect_initial_ms = 100, reconnect_max_ms = 5000;
  int64_t reconnect_buffer_bytes = 16 << 20;
  bool randomize_servers = true;
  std::string stream;
  bool create_stream = false;
  std::vector<std::string> stream_subjects;
  int replicas = 1;
  std::string retention = "limits", storage = "file";
  int64_t duplicate_window_ms = 120000;
};

// kConnectionOptions bound (core/option_binding.h); each plugin's options struct derives
// from it and calls its bind first.
struct ConnectionOptions {
  std::optional<std::vector<std::string>> servers;  // unset: nats://127.0.0.1:4222
  std::string connection_name;
  bool randomize_servers = true;
  Tracked<std::string> creds_file, user, password, token;
  std::string tls_ca_file;
  int connect_timeout_ms = 0, reconnect_initial_ms = 0, reconnect_max_ms = 0;
  int64_t reconnect_buffer_bytes = 0;
  std::string stream;
  bool create_stream = false;
  std::optional<std::vector<std::string>> stream_subjects;
  Tracked<int> replicas;
  Tracked<std::string> retention, storage;  // kept as text: the stream config takes them so
  Tracked<int64_t> duplicate_window_ms;
  template <class B>
  static void bind(B& b) {
    b.field("servers", &ConnectionOptions::servers);
    b.field("randomize_servers", &ConnectionOptions::randomize_servers);
    b.field("connection_name", &ConnectionOptions::connection_name);
    b.field("creds_file", &ConnectionOptions::creds_file);
    b.field("user", &ConnectionOptions::user);
    b.field("password", &ConnectionOptions::password);
    b.field("token", &ConnectionOptions::token);
    b.field("tls_ca_file", &ConnectionOptions::tls_ca_file);
    b.field("connect_timeout_ms", &ConnectionOptions::connect_timeout_ms);
    b.field("reconnect_initial_ms", &ConnectionOptions::reconnect_initial_ms);
    b.field("reconnect_max_ms", &ConnectionOptions::reconnect_max_ms);
    b.field("reconnect_buffer_bytes", &ConnectionOptions::reconnect_buffer_bytes);
    b.field("stream", &ConnectionOptions::stream);
    b.field("create_stream", &ConnectionOptions::create_stream);
    b.field("stream_subjects", &ConnectionOptions::stream_subjects);
    b.field("replicas", &ConnectionOptions::replicas);
    b.field("retention", &ConnectionOptions::retention);
    b.field("storage", &ConnectionOptions::storage);
    b.field("duplicate_window_ms", &ConnectionOptions::duplicate_window_ms);
  }
};

// Checks the connection and stream options (`o` positions the errors);
// `subject_template` gives the default stream_subjects.
Status parse_connection(const ConnectionOptions& opts, const OptionView& o, std::string_view subject_template,
                        ConnectionConfig& out);

// One connection and its JetStream context. Reconnects forever with bounded exponential
// backoff; counts disconnects and reconnects for the stats.
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();
  // `what` names the plugin in messages ("nats output").
  Status open(const ConnectionConfig& cfg, std::string_view what, jsOptions* js_options);
  // Looks the stream up; creates it when create_stream is set and it does not exist.
  Status ensure_stream();
  // Closes the connection (its read loop stops and every subscription on it is closed) and
  // waits for the closed callback; `nc` and `js` stay valid until close(). Subscriptions are
  // destroyed after this: libnats before 3.6 (nats.c#637) could hand an inbound message to
  // a subscription being destroyed on another thread.
  void close_connection();
  void close();
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::atomic<uint64_t> disconnects{0}, reconnects{0};
  std::string label() const;  // first server URL, for messages (no credentials)

 private:
  static int64_t reconnect_delay(natsConnection*, int attempts, void* closure);
  static void on_disconnected(natsConnection*, void* closure);
  static void on_reconnected(natsConnection*, void* closure);
  static void on_closed(natsConnection*, void* closure);
  // The library calls back on its own thread, also after natsConnection_Close returns:
  // close() waits for the closed callback, its last, before this object can go away.
  std::mutex closed_mu_;
  std::condition_variable closed_cv_;
  bool closed_ = false;
  ConnectionConfig cfg_;
  std::string what_;
};

// natsStatus with the library's last error text, for messages.
std::string status_text(natsStatus s);

// natsSubscription_Fetch without libnats 3.4's heap overflow (issue 22). A fetch that starts
// with messages already queued in the subscription (the late answer to an earlier fetch that
// gave up waiting, or deliveries after a reconnect) takes them first, asks the server for
// `batch` minus their number, and then counts on until that reduced number: with more than
// half a batch queued it never reaches it, and stores every further message past the end of
// its `batch`-sized array (nats.c 3.4.1 `_fetch`: `count != req->Batch` after
// `req->Batch -= count`; later versions compare with the batch asked for). So with messages
// queued this fetches one (a one-message fetch stops at one, whatever was queued), else
// `batch`. A queue that fills between the check and the fetch's own look is not covered: the
// late answers that fill it come after a fault, and the next fetches drain them one by one.
natsStatus fetch_messages(natsMsgList* list, natsSubscription* sub, int batch, int64_t timeout_ms, jsErrCode* jerr);

}  // namespace agentlog::plugins::nats
