#include "plugins/nats/nats_common.h"

#include <algorithm>
#include <chrono>

#include "core/input.h"
#include "core/signals.h"

namespace agentlog::plugins::nats {

namespace {
constexpr std::string_view kPlaceholder = "{partition}";
}

std::string subject_for(std::string_view subject_template, uint32_t partition) {
  std::string out(subject_template);
  size_t at = out.find(kPlaceholder);
  if (at != std::string::npos) out.replace(at, kPlaceholder.size(), std::to_string(partition));
  return out;
}

std::string check_subject_template(std::string_view subject, bool need_partition) {
  size_t at = subject.find(kPlaceholder);
  if (at != std::string_view::npos && subject.find(kPlaceholder, at + 1) != std::string_view::npos)
    return "may hold {partition} only once";
  if (need_partition && at == std::string_view::npos) return "must hold {partition} when partitions is more than 1";
  std::string probe = subject_for(subject, 0);
  if (probe.empty()) return "must not be empty";
  for (char c : probe)
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '*' || c == '>' || c == '{' || c == '}')
      return "must be a NATS subject without spaces, wildcards (* >) or braces other than {partition}";
  if (probe.front() == '.' || probe.back() == '.' || probe.find("..") != std::string::npos)
    return "must not have an empty token (a leading, trailing or double dot)";
  return "";
}

std::string status_text(natsStatus s) {
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  std::string out = natsStatus_GetText(s);
  if (detail && *detail && last == s && out != detail) out += " (" + std::string(detail) + ")";
  return out;
}

natsStatus fetch_messages(natsMsgList* list, natsSubscription* sub, int batch, int64_t timeout_ms, jsErrCode* jerr) {
  int queued = 0, bytes = 0;
  if (natsSubscription_GetPending(sub, &queued, &bytes) == NATS_OK && queued > 0) batch = 1;
  return natsSubscription_Fetch(list, sub, batch, timeout_ms, jerr);
}

Status parse_connection(const ConnectionOptions& opts, const OptionView& options, std::string_view subject_template,
                        ConnectionConfig& config) {
  config.servers = opts.servers.value_or(std::vector<std::string>{"nats://127.0.0.1:4222"});
  if (config.servers.empty()) return Status::error(options.error("servers", "must list at least one server URL"));
  for (size_t i = 0; i < config.servers.size(); ++i) {
    const std::string& url = config.servers[i];
    if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0)
      return Status::error(
          options.error_at(options.raw("servers")[i], options.child_path("servers") + "[" + std::to_string(i) + "]",
                           "\"" + url + "\" is not a NATS server URL (nats://host:port or tls://host:port)"));
  }
  config.name = opts.connection_name;
  config.creds_file = opts.creds_file.value;
  config.user = opts.user.value;
  config.password = opts.password.value;
  config.token = opts.token.value;
  config.tls_ca_file = opts.tls_ca_file;
  if (opts.user.given != opts.password.given)
    return Status::error(opts.user.given ? options.error("user", "needs password")
                                         : options.error("password", "needs user"));
  int methods = (opts.creds_file.given ? 1 : 0) + (opts.user.given ? 1 : 0) + (opts.token.given ? 1 : 0);
  if (methods > 1) {
    std::string_view later = opts.token.given ? "token" : "user";
    return Status::error(options.error(later, "choose one of creds_file, user/password and token"));
  }
  config.connect_timeout_ms = opts.connect_timeout_ms;
  config.reconnect_initial_ms = opts.reconnect_initial_ms;
  config.reconnect_max_ms = opts.reconnect_max_ms;
  if (config.reconnect_max_ms < config.reconnect_initial_ms)
    return Status::error(options.error("reconnect_max_ms", "must be at least reconnect_initial_ms (" +
                                                               std::to_string(config.reconnect_initial_ms) + "), got " +
                                                               std::to_string(config.reconnect_max_ms)));
  config.reconnect_buffer_bytes = opts.reconnect_buffer_bytes;
  config.randomize_servers = opts.randomize_servers;
  config.stream = opts.stream;
  if (config.stream.empty() || config.stream.find_first_of(" \t.*>/\\") != std::string::npos)
    return Status::error(options.error(
        "stream", "must be a JetStream stream name (no spaces, dots, *, >, / or \\), got \"" + config.stream + "\""));
  config.create_stream = opts.create_stream;
  const std::pair<std::string_view, bool> create_only[] = {
      {"stream_subjects", opts.stream_subjects.has_value()}, {"replicas", opts.replicas.given},
      {"retention", opts.retention.given}, {"storage", opts.storage.given},
      {"duplicate_window_ms", opts.duplicate_window_ms.given}};
  for (auto [k, given] : create_only)
    if (given && !config.create_stream) return Status::error(options.error(k, "applies only with create_stream: true"));
  if (opts.stream_subjects) {
    config.stream_subjects = *opts.stream_subjects;
    if (config.stream_subjects.empty())
      return Status::error(options.error("stream_subjects", "must list at least one subject"));
  } else {
    std::string subject(subject_template);
    size_t at = subject.find("{partition}");
    if (at != std::string::npos) subject.replace(at, 11, "*");
    config.stream_subjects = {subject};
  }
  config.replicas = opts.replicas.value;
  config.retention = opts.retention.value;
  config.storage = opts.storage.value;
  config.duplicate_window_ms = opts.duplicate_window_ms.value;
  return {};
}

Connection::~Connection() { close(); }

void Connection::close_connection() {
  if (!nc) return;
  natsConnection_Close(nc);  // a second call does nothing
  std::unique_lock<std::mutex> lock(closed_mu_);
  closed_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return closed_; });
}

void Connection::close() {
  close_connection();
  if (js) jsCtx_Destroy(js);
  js = nullptr;
  if (nc) natsConnection_Destroy(nc);
  nc = nullptr;
}

std::string Connection::label() const { return cfg_.servers.empty() ? "" : cfg_.servers.front(); }

int64_t Connection::reconnect_delay(natsConnection*, int attempts, void* closure) {
  auto* self = static_cast<Connection*>(closure);
  int64_t d = self->cfg_.reconnect_initial_ms;
  for (int i = 1; i < attempts && d < self->cfg_.reconnect_max_ms; ++i) d *= 2;
  return std::min<int64_t>(d, self->cfg_.reconnect_max_ms);
}

void Connection::on_disconnected(natsConnection*, void* closure) { ++static_cast<Connection*>(closure)->disconnects; }
void Connection::on_reconnected(natsConnection*, void* closure) { ++static_cast<Connection*>(closure)->reconnects; }
void Connection::on_closed(natsConnection*, void* closure) {
  auto* self = static_cast<Connection*>(closure);
  std::lock_guard<std::mutex> lock(self->closed_mu_);
  self->closed_ = true;
  self->closed_cv_.notify_all();
}

Status Connection::open(const ConnectionConfig& cfg, std::string_view what, jsOptions* js_options) {
  cfg_ = cfg;
  what_ = what;
  closed_ = false;
  natsOptions* opts = nullptr;
  auto fail = [&](const std::string& step, natsStatus nats_status) {
    if (opts) natsOptions_Destroy(opts);
    close();
    return Status::error(what_ + " (" + label() + "): " + step + ": " + status_text(nats_status));
  };
  natsStatus nats_status = natsOptions_Create(&opts);
  if (nats_status != NATS_OK) return fail("options", nats_status);
  std::vector<const char*> urls;
  for (const auto& url : cfg_.servers) urls.push_back(url.c_str());
  nats_status = natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
  if (nats_status == NATS_OK) nats_status = natsOptions_SetNoRandomize(opts, !cfg_.randomize_servers);
  if (nats_status == NATS_OK) nats_status = natsOptions_SetName(opts, cfg_.name.c_str());
  if (nats_status == NATS_OK) nats_status = natsOptions_SetTimeout(opts, cfg_.connect_timeout_ms);
  if (nats_status == NATS_OK)
    nats_status = natsOptions_SetMaxReconnect(opts, -1);  // forever: the edge must not give up
  if (nats_status == NATS_OK)
    nats_status = natsOptions_SetCustomReconnectDelay(opts, &Connection::reconnect_delay, this);
  if (nats_status == NATS_OK)
    nats_status = natsOptions_SetReconnectBufSize(opts, static_cast<int>(cfg_.reconnect_buffer_bytes));
  if (nats_status == NATS_OK) nats_status = natsOptions_SetDisconnectedCB(opts, &Connection::on_disconnected, this);
  if (nats_status == NATS_OK) nats_status = natsOptions_SetReconnectedCB(opts, &Connection::on_reconnected, this);
  if (nats_status == NATS_OK) nats_status = natsOptions_SetClosedCB(opts, &Connection::on_closed, this);
  if (nats_status != NATS_OK) return fail("options", nats_status);
  if (!cfg_.creds_file.empty()) {
    nats_status = natsOptions_SetUserCredentialsFromFiles(opts, cfg_.creds_file.c_str(), nullptr);
    if (nats_status != NATS_OK) return fail("creds_file " + cfg_.creds_file, nats_status);
  }
  if (!cfg_.user.empty() || !cfg_.password.empty())
    nats_status = natsOptions_SetUserInfo(opts, cfg_.user.c_str(), cfg_.password.c_str());
  if (nats_status == NATS_OK && !cfg_.token.empty()) nats_status = natsOptions_SetToken(opts, cfg_.token.c_str());
  if (nats_status != NATS_OK) return fail("credentials", nats_status);
  if (!cfg_.tls_ca_file.empty()) {
    nats_status = natsOptions_SetSecure(opts, true);
    if (nats_status == NATS_OK) nats_status = natsOptions_LoadCATrustedCertificates(opts, cfg_.tls_ca_file.c_str());
    if (nats_status != NATS_OK) return fail("tls_ca_file " + cfg_.tls_ca_file, nats_status);
  }
  nats_status = natsConnection_Connect(&nc, opts);
  if (nats_status != NATS_OK) return fail("cannot connect", nats_status);
  natsOptions_Destroy(opts);
  opts = nullptr;
  nats_status = natsConnection_JetStream(&js, nc, js_options);
  if (nats_status != NATS_OK) return fail("JetStream context", nats_status);
  return {};
}

Status Connection::ensure_stream() {
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus nats_status;
  // Transient (a node down, a leader election): retried with backoff until SIGTERM.
  for (int64_t pause = cfg_.reconnect_initial_ms;; pause = std::min<int64_t>(pause * 2, cfg_.reconnect_max_ms)) {
    nats_status = js_GetStreamInfo(&info, js, cfg_.stream.c_str(), nullptr, &jerr);
    if ((nats_status != NATS_TIMEOUT && nats_status != NATS_NO_RESPONDERS) || stop_requested()) break;
    wait_readable(-1, static_cast<int>(pause));
  }
  if (nats_status == NATS_OK) {
    jsStreamInfo_Destroy(info);
    return {};
  }
  std::string prefix = what_ + " (" + label() + "): stream " + cfg_.stream + ": ";
  if (nats_status != NATS_NOT_FOUND) return Status::error(prefix + status_text(nats_status));
  if (!cfg_.create_stream)
    return Status::error(prefix + "not found (create it, or set create_stream: true for development)");
  jsStreamConfig stream_config;
  jsStreamConfig_Init(&stream_config);
  stream_config.Name = cfg_.stream.c_str();
  std::vector<const char*> subjects;
  for (const auto& subject : cfg_.stream_subjects) subjects.push_back(subject.c_str());
  stream_config.Subjects = subjects.data();
  stream_config.SubjectsLen = static_cast<int>(subjects.size());
  stream_config.Retention = cfg_.retention == "interest"    ? js_InterestPolicy
                            : cfg_.retention == "workqueue" ? js_WorkQueuePolicy
                                                            : js_LimitsPolicy;
  stream_config.Storage = cfg_.storage == "memory" ? js_MemoryStorage : js_FileStorage;
  stream_config.Replicas = cfg_.replicas;
  stream_config.Duplicates = cfg_.duplicate_window_ms * 1000000;  // nanoseconds
  nats_status = js_AddStream(&info, js, &stream_config, nullptr, &jerr);
  if (nats_status != NATS_OK && jerr == JSStreamNameExistErr)
    nats_status = NATS_OK;  // another process created it meanwhile
  if (nats_status != NATS_OK) return Status::error(prefix + "cannot create: " + status_text(nats_status));
  if (info) jsStreamInfo_Destroy(info);
  return {};
}

}  // namespace agentlog::plugins::nats
