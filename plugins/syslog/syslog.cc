#include "plugins/syslog/syslog.h"

#include <unistd.h>

#include <chrono>
#include <tuple>

#include "plugins/syslog/syslog_format.h"
#include "plugins/syslog/syslog_sender.h"

namespace agentlog::plugins {
namespace {

using namespace syslog;

constexpr std::string_view kTransports[] = {"tcp", "udp", "unix_dgram", "unix_stream"};
constexpr std::string_view kFormats[] = {"rfc5424", "rfc3164"};
constexpr std::string_view kFramings[] = {"octet_counting", "newline"};
constexpr std::string_view kFallbacks[] = {"nil", "now"};

constexpr OptionSpec kSeverityRuleOptions[] = {
    {.name = "when", .type = OptType::ObjectList, .description = "conditions that must all hold (as in filter)",
     .required = true, .children = kConditionOptions},
    {.name = "severity", .type = OptType::Enum, .description = "severity of matching records", .required = true,
     .allowed = kSeverities},
};

constexpr OptionSpec kSyslogOptions[] = {
    {.name = "transport", .type = OptType::Enum, .default_value = "tcp",
     .description = "tcp, udp, unix_dgram (e.g. /dev/log) or unix_stream", .allowed = kTransports},
    {.name = "host", .type = OptType::String, .default_value = "127.0.0.1",
     .description = "tcp/udp: receiver host name or address (resolved at each connect)"},
    {.name = "port", .type = OptType::Int, .default_value = "514", .description = "tcp/udp: receiver port",
     .min = 1, .max = 65535},
    {.name = "path", .type = OptType::String, .default_value = "/dev/log",
     .description = "unix_dgram/unix_stream: socket path"},
    {.name = "format", .type = OptType::Enum, .default_value = "rfc5424",
     .description = "rfc5424, or rfc3164 (BSD syslog: no STRUCTURED-DATA, no year, UTC)", .allowed = kFormats},
    {.name = "framing", .type = OptType::Enum, .default_value = "octet_counting",
     .description = "tcp/unix_stream: RFC 6587 octet counting (LEN SP MSG) or newline after each message",
     .allowed = kFramings},
    {.name = "facility", .type = OptType::Enum, .default_value = "user", .description = "syslog facility",
     .allowed = kFacilities},
    {.name = "severity", .type = OptType::Enum, .default_value = "info",
     .description = "severity when no severity_rules entry matches", .allowed = kSeverities},
    {.name = "severity_rules", .type = OptType::ObjectList,
     .description = "first match sets the severity (default: decision block -> warning, needs_review -> notice)",
     .children = kSeverityRuleOptions},
    {.name = "hostname", .type = OptType::String,
     .description = "HOSTNAME field (default: the machine's host name; - for none)"},
    {.name = "app_name", .type = OptType::String, .default_value = "agentlog",
     .description = "APP-NAME (RFC 3164: the TAG)"},
    {.name = "procid", .type = OptType::String, .default_value = "-",
     .description = "PROCID (- for none; a fixed value keeps output deterministic)"},
    {.name = "msgid", .type = OptType::String, .default_value = "-", .description = "MSGID (- for none)"},
    {.name = "msgid_field", .type = OptType::String,
     .description = "take MSGID from this field when it is 1-32 printable ASCII characters (e.g. event_type)"},
    {.name = "sd_id", .type = OptType::String, .default_value = "agentlog@32473",
     .description = "SD-ID of the STRUCTURED-DATA element"},
    {.name = "sd_fields", .type = OptType::StringList, .default_value = "[agent_id, run_id, event_type, decision]",
     .description = "fields written as SD-PARAMs (name = the path); absent fields are left out; [] for none"},
    {.name = "timestamp_fields", .type = OptType::StringList, .default_value = "[event_time, timestamp]",
     .description = "first field holding an RFC 3339 time gives the header TIMESTAMP (as UTC, ms)"},
    {.name = "timestamp_fallback", .type = OptType::Enum, .default_value = "nil",
     .description = "no usable time: nil (-, deterministic) or now (the current time)", .allowed = kFallbacks},
    {.name = "datagram_max_bytes", .type = OptType::Int, .default_value = "2048",
     .description = "udp/unix_dgram: longer messages are cut and end with truncation_marker", .min = 480, .max = 65507},
    {.name = "truncation_marker", .type = OptType::String, .default_value = "...[truncated]",
     .description = "udp/unix_dgram: text ending a cut message"},
    {.name = "stream_max_bytes", .type = OptType::Int, .default_value = "1048576",
     .description = "tcp/unix_stream: longer messages are dead-lettered whole", .min = 480, .max = 1ll << 30},
    {.name = "buffer_bytes", .type = OptType::Int, .default_value = "8388608",
     .description = "messages waiting to be sent; when full the pipeline waits", .min = 65536, .max = 1ll << 34},
    {.name = "replay_bytes", .type = OptType::Int, .default_value = "16777216",
     .description = "tcp/unix_stream: sent messages resent after a connection failure (0: none)", .min = 0,
     .max = 1ll << 34},
    {.name = "retry_initial_ms", .type = OptType::Int, .default_value = "100",
     .description = "first reconnect delay; doubles per failure", .min = 1, .max = 600000},
    {.name = "retry_max_ms", .type = OptType::Int, .default_value = "10000", .description = "longest reconnect delay",
     .min = 1, .max = 3600000},
    {.name = "connect_timeout_ms", .type = OptType::Int, .default_value = "5000", .description = "tcp connect timeout",
     .min = 1, .max = 600000},
    {.name = "shutdown_grace_ms", .type = OptType::Int, .default_value = "5000",
     .description = "at exit, time to deliver what is buffered before dead-lettering the rest", .min = 0,
     .max = 3600000},
};

class SyslogOutput : public Output {
 public:
  SyslogOutput(FormatConfig fmt, SenderConfig snd, size_t stream_max, bool octet)
      : formatter_(std::move(fmt)), stream_(snd.stream()), octet_(octet), stream_max_(stream_max),
        label_(snd.label), sender_(std::move(snd)) {
    staging_.data.reserve(kChunkBytes + 4096);
  }

  Status open() override {
    sender_.start();
    return {};
  }
  Status write_record(Record& r) override {
    std::string_view bytes = r.bytes();
    simdjson::dom::element root = r.root();
    add(root.is_object() ? &root : nullptr, bytes, r.source, r.line, r.generated);
    return {};
  }
  Status write_line(std::string_view line) override {
    // Lines without a record (dead letters): parsed here for the header and SD fields.
    simdjson::dom::element root;
    bool ok = parser_.parse(line.data(), line.size(), true).get(root) == simdjson::SUCCESS && root.is_object();
    add(ok ? &root : nullptr, line, UINT32_MAX, 0, false);
    return {};
  }
  Status flush() override {
    if (!staging_.messages.empty()) push_staging();
    return {};
  }
  bool delivered() const override { return staging_.messages.empty() && sender_.drained(); }
  void take_undelivered(std::vector<Undelivered>& out) override {
    for (auto& u : rejected_) out.push_back(std::move(u));
    rejected_.clear();
  }
  Status close() override {
    flush();
    std::vector<UndeliveredMessage> lost;
    std::string last = sender_.finish(lost);
    if (lost.empty()) return {};
    undelivered_ += lost.size();
    std::string why = last.empty() ? "" : "; last error: " + last;
    for (auto& m : lost)
      rejected_.push_back({std::move(m.raw), m.meta.source, m.meta.line, m.meta.generated, "output:syslog",
                           (m.sent ? "sent to " + label_ + " but delivery not confirmed within shutdown_grace_ms"
                                   : "not delivered to " + label_ + " within shutdown_grace_ms") +
                               why,
                           m.sent ? "unconfirmed" : "undelivered"});
    return Status::error(describe() + ": " + std::to_string(lost.size()) +
                         " records not delivered within shutdown_grace_ms (dead-lettered)" + why);
  }
  std::string describe() const override { return "syslog " + label_; }
  std::string stats_json() const override {
    const SenderStats& s = sender_.stats();
    std::string o;
    auto num = [&](const char* k, uint64_t v) {
      if (!o.empty()) o += ",";
      o += "\"" + std::string(k) + "\":" + std::to_string(v);
    };
    num("sent", s.sent);
    num("bytes_sent", s.bytes_sent);
    num("truncated", s.truncated);
    num("too_large", too_large_);
    num("retries", s.retries);
    num("connects", s.connects);
    num("reconnects", s.reconnects);
    num("replayed", s.replayed);
    num("undelivered", undelivered_);
    num("blocked_ms", s.blocked_ms);
    num("buffer_peak_bytes", s.buffer_peak_bytes);
    return o;
  }

 private:
  static constexpr size_t kChunkBytes = 64 * 1024;

  void push_staging() {
    sender_.push(std::move(staging_));
    staging_ = Chunk{};
    staging_.data.reserve(kChunkBytes + 4096);
  }

  void add(const simdjson::dom::element* root, std::string_view body, uint32_t source, uint64_t line, bool gen) {
    msg_.clear();
    int64_t now = formatter_.config().timestamp_now || formatter_.config().format == Format::Rfc3164
                      ? std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count()
                      : 0;
    size_t body_at = formatter_.format(root, body, msg_, now);
    if (stream_ && msg_.size() > stream_max_) {
      ++too_large_;
      rejected_.push_back({std::string(body), source, line, gen, "output:syslog",
                           "message is " + std::to_string(msg_.size()) + " bytes, over stream_max_bytes (" +
                               std::to_string(stream_max_) + ")",
                           "too_large"});
      return;
    }
    MessageMeta meta;
    meta.off = static_cast<uint32_t>(staging_.data.size());
    const Framing framing = !stream_ ? Framing::None : octet_ ? Framing::OctetCounting : Framing::Newline;
    meta.body_off = static_cast<uint32_t>(meta.off + append_framed(staging_.data, msg_, framing) + body_at);
    meta.body_len = static_cast<uint32_t>(body.size());
    meta.len = static_cast<uint32_t>(staging_.data.size() - meta.off);
    meta.source = source;
    meta.line = line;
    meta.generated = gen;
    staging_.messages.push_back(meta);
    if (staging_.data.size() >= kChunkBytes) push_staging();
  }

  Formatter formatter_;
  bool stream_, octet_;
  size_t stream_max_;
  std::string label_;
  Sender sender_;
  Chunk staging_;
  std::string msg_;
  simdjson::dom::parser parser_;
  std::vector<Undelivered> rejected_;
  uint64_t too_large_ = 0, undelivered_ = 0;
};

// Options that only apply to some transports are refused elsewhere, so a typo'd setup fails early.
struct TransportOnly {
  std::string_view option;
  bool stream, datagram, inet, unix_socket;
};
constexpr TransportOnly kTransportOnly[] = {
    {"host", true, true, true, false},          {"port", true, true, true, false},
    {"path", true, true, false, true},          {"framing", true, false, true, true},
    {"stream_max_bytes", true, false, true, true}, {"replay_bytes", true, false, true, true},
    {"datagram_max_bytes", false, true, true, true}, {"truncation_marker", false, true, true, true},
    {"connect_timeout_ms", true, true, true, false},
};

struct SeverityRuleConfig {
  std::string severity;  // a name of kSeverities: code_of gives its code
  template <class B>
  static void bind(B& b) {
    b.by_hand("when");  // a list of mappings: build_conditions reads them
    b.field("severity", &SeverityRuleConfig::severity);
  }
};

struct SyslogConfig {
  enum class Framing : uint8_t { OctetCounting, Newline };  // in kFramings' order
  enum class Fallback : uint8_t { Nil, Now };               // in kFallbacks' order
  std::string transport;  // kept as text: messages and the sender's label name it
  std::string host;
  int port = 0;
  std::string path;
  Format format = Format::Rfc5424;  // in kFormats' order
  Framing framing = Framing::OctetCounting;
  std::string facility;  // names of kFacilities and kSeverities: code_of gives the code
  std::string severity;
  std::optional<std::string> hostname;
  std::string app_name;
  std::string procid;
  std::string msgid;
  std::optional<std::string> msgid_field;
  std::string sd_id;
  std::optional<std::vector<std::string>> sd_fields;         // unset: the defaults in make_syslog
  std::optional<std::vector<std::string>> timestamp_fields;  // unset: the defaults in make_syslog
  Fallback timestamp_fallback = Fallback::Nil;
  size_t datagram_max_bytes = 0;
  std::string truncation_marker;
  size_t stream_max_bytes = 0;
  size_t buffer_bytes = 0;
  size_t replay_bytes = 0;
  int retry_initial_ms = 0;
  int retry_max_ms = 0;
  int connect_timeout_ms = 0;
  int shutdown_grace_ms = 0;
  template <class B>
  static void bind(B& b) {
    b.field("transport", &SyslogConfig::transport);
    b.field("host", &SyslogConfig::host);
    b.field("port", &SyslogConfig::port);
    b.field("path", &SyslogConfig::path);
    b.field("format", &SyslogConfig::format);
    b.field("framing", &SyslogConfig::framing);
    b.field("facility", &SyslogConfig::facility);
    b.field("severity", &SyslogConfig::severity);
    b.nested("severity_rules", config_of<SeverityRuleConfig>);
    b.field("hostname", &SyslogConfig::hostname);
    b.field("app_name", &SyslogConfig::app_name);
    b.field("procid", &SyslogConfig::procid);
    b.field("msgid", &SyslogConfig::msgid);
    b.field("msgid_field", &SyslogConfig::msgid_field);
    b.field("sd_id", &SyslogConfig::sd_id);
    b.field("sd_fields", &SyslogConfig::sd_fields);
    b.field("timestamp_fields", &SyslogConfig::timestamp_fields);
    b.field("timestamp_fallback", &SyslogConfig::timestamp_fallback);
    b.field("datagram_max_bytes", &SyslogConfig::datagram_max_bytes);
    b.field("truncation_marker", &SyslogConfig::truncation_marker);
    b.field("stream_max_bytes", &SyslogConfig::stream_max_bytes);
    b.field("buffer_bytes", &SyslogConfig::buffer_bytes);
    b.field("replay_bytes", &SyslogConfig::replay_bytes);
    b.field("retry_initial_ms", &SyslogConfig::retry_initial_ms);
    b.field("retry_max_ms", &SyslogConfig::retry_max_ms);
    b.field("connect_timeout_ms", &SyslogConfig::connect_timeout_ms);
    b.field("shutdown_grace_ms", &SyslogConfig::shutdown_grace_ms);
  }
};

Status header_field(const OptionView& o, std::string_view name, const std::string& value, size_t max,
                    std::string_view rfc_name, std::string& out) {
  out = value;
  if (!printable_ascii(out, max))
    return Status::error(o.error(name, "must be 1 to " + std::to_string(max) +
                                           " printable US-ASCII characters without spaces (RFC 5424 " +
                                           std::string(rfc_name) + "), got " + json::quoted(out)));
  return {};
}

// `given`: the option's list, if the config sets it; errors point at its entries.
Status parse_paths(const OptionView& o, std::string_view name, const std::optional<std::vector<std::string>>& given,
                   std::vector<std::string> defaults, bool sd_names, std::vector<FieldPath>& out) {
  std::vector<std::string> list = given.value_or(std::move(defaults));
  for (size_t i = 0; i < list.size(); ++i) {
    FieldPath p;
    auto fail = [&](const std::string& msg) {
      return Status::error(o.error_at(o.raw(name)[i], o.child_path(name) + "[" + std::to_string(i) + "]", msg));
    };
    if (!parse_field_path(list[i], p))
      return fail("invalid field path \"" + list[i] + "\" (use a.b.c or a JSON Pointer such as /a/b)");
    if (sd_names && !valid_sd_name(list[i]))
      return fail("\"" + list[i] + "\" cannot be an SD PARAM-NAME: 1 to 32 printable US-ASCII characters except = ] \" and space");
    out.push_back(std::move(p));
  }
  return {};
}

Status make_syslog(const SyslogConfig& cfg, const OptionView& options, std::unique_ptr<Output>& out) {
  const std::string& transport = cfg.transport;
  bool stream = transport == "tcp" || transport == "unix_stream";
  bool unix_socket = transport.rfind("unix", 0) == 0;
  for (const auto& option : kTransportOnly) {
    if (!options.has(option.option)) continue;
    auto applies = [&](bool str, bool uni) {
      return (str ? option.stream : option.datagram) && (uni ? option.unix_socket : option.inet);
    };
    if (applies(stream, unix_socket)) continue;
    std::string transport_name;
    for (auto [name, str, uni] : {std::tuple{"tcp", true, false}, {"udp", false, false}, {"unix_dgram", false, true},
                                  {"unix_stream", true, true}})
      if (applies(str, uni)) transport_name += std::string(transport_name.empty() ? "" : ", ") + name;
    return Status::error(
        options.error(option.option, "does not apply to transport " + transport + " (only to " + transport_name + ")"));
  }

  SenderConfig sender;
  sender.transport = transport == "tcp"          ? Transport::Tcp
                     : transport == "udp"        ? Transport::Udp
                     : transport == "unix_dgram" ? Transport::UnixDgram
                                                 : Transport::UnixStream;
  sender.host = cfg.host;
  sender.port = cfg.port;
  sender.path = cfg.path;
  if (!unix_socket && sender.host.empty()) return Status::error(options.error("host", "must not be empty"));
  if (unix_socket && (sender.path.empty() || sender.path.size() > 107))
    return Status::error(options.error(
        "path", "must be 1 to 107 bytes (the Unix socket path limit), got " + std::to_string(sender.path.size())));
  sender.label = unix_socket
                     ? transport + " " + sender.path
                     : transport + " " +
                           (sender.host.find(':') != std::string::npos ? "[" + sender.host + "]" : sender.host) + ":" +
                           std::to_string(sender.port);
  sender.datagram_max_bytes = cfg.datagram_max_bytes;
  sender.truncation_marker = cfg.truncation_marker;
  if (sender.truncation_marker.size() > 64)
    return Status::error(options.error(
        "truncation_marker", "must be at most 64 bytes, got " + std::to_string(sender.truncation_marker.size())));
  sender.buffer_bytes = cfg.buffer_bytes;
  sender.replay_bytes = cfg.replay_bytes;
  sender.retry_initial_ms = cfg.retry_initial_ms;
  sender.retry_max_ms = cfg.retry_max_ms;
  if (sender.retry_max_ms < sender.retry_initial_ms)
    return Status::error(options.error("retry_max_ms", "must be at least retry_initial_ms (" +
                                                           std::to_string(sender.retry_initial_ms) + "), got " +
                                                           std::to_string(sender.retry_max_ms)));
  sender.connect_timeout_ms = cfg.connect_timeout_ms;
  sender.grace_ms = cfg.shutdown_grace_ms;

  FormatConfig format;
  format.format = cfg.format;
  format.facility = code_of(kFacilities, cfg.facility);
  format.severity = code_of(kSeverities, cfg.severity);
  if (options.has("severity_rules")) {
    for (const OptionView& rule_options : options.objects("severity_rules")) {
      SeverityRuleConfig rule_config;
      if (Status status = bind_options(rule_options, rule_config); !status.ok()) return status;
      SeverityRule rule;
      auto when = rule_options.objects("when");
      if (when.empty()) return Status::error(rule_options.error("when", "must list at least one condition"));
      if (Status status = build_conditions(when, rule.when); !status.ok()) return status;
      rule.severity = code_of(kSeverities, rule_config.severity);
      format.rules.push_back(std::move(rule));
    }
  } else {
    // The default mapping, built through the same condition code as configured rules.
    static const ConfigSource kDefaults{"(syslog default severity_rules)"};
    for (auto [value, sev] : {std::pair{"block", "warning"}, std::pair{"needs_review", "notice"}}) {
      SeverityRule rule;
      YAML::Node condition = YAML::Load(std::string("{field: decision, equals: ") + value + "}");
      rule.when.emplace_back();
      if (Status status = Condition::build(OptionView(&kDefaults, condition, kConditionOptions, ""), rule.when.back());
          !status.ok())
        return status;
      rule.severity = code_of(kSeverities, sev);
      format.rules.push_back(std::move(rule));
    }
  }
  if (cfg.hostname) {
    if (Status status = header_field(options, "hostname", *cfg.hostname, 255, "HOSTNAME", format.hostname);
        !status.ok())
      return status;
  } else {
    char host[256] = {};
    format.hostname = gethostname(host, sizeof host - 1) == 0 && printable_ascii(host, 255) ? host : "-";
  }
  size_t app_max = format.format == Format::Rfc3164 ? 32 : 48;
  if (Status status =
          header_field(options, "app_name", cfg.app_name, app_max,
                       format.format == Format::Rfc3164 ? "APP-NAME; RFC 3164 TAG" : "APP-NAME", format.app_name);
      !status.ok())
    return status;
  if (Status status = header_field(options, "procid", cfg.procid, 128, "PROCID", format.procid); !status.ok())
    return status;
  if (Status status = header_field(options, "msgid", cfg.msgid, 32, "MSGID", format.msgid); !status.ok()) return status;
  if (cfg.msgid_field) {
    format.msgid_from_field = true;
    if (!parse_field_path(*cfg.msgid_field, format.msgid_field))
      return Status::error(options.error(
          "msgid_field", "invalid field path \"" + *cfg.msgid_field + "\" (use a.b.c or a JSON Pointer such as /a/b)"));
  }
  format.sd_id = cfg.sd_id;
  if (!valid_sd_name(format.sd_id))
    return Status::error(options.error("sd_id",
                                       "must be an SD-ID: 1 to 32 printable US-ASCII characters except = ] \" and "
                                       "space, such as agentlog@32473, got " +
                                           json::quoted(format.sd_id)));
  if (Status status = parse_paths(options, "sd_fields", cfg.sd_fields, {"agent_id", "run_id", "event_type", "decision"},
                                  true, format.sd_fields);
      !status.ok())
    return status;
  if (format.sd_fields.empty()) format.sd_id.clear();
  if (Status status = parse_paths(options, "timestamp_fields", cfg.timestamp_fields, {"event_time", "timestamp"}, false,
                                  format.timestamp_fields);
      !status.ok())
    return status;
  format.timestamp_now = cfg.timestamp_fallback == SyslogConfig::Fallback::Now;

  out = std::make_unique<SyslogOutput>(std::move(format), std::move(sender), cfg.stream_max_bytes,
                                       cfg.framing == SyslogConfig::Framing::OctetCounting);
  return {};
}

}  // namespace

const PluginInfo& syslog_output_plugin() {
  static const PluginInfo info = PluginInfo::output<make_syslog>(
      "syslog", "send records to a syslog receiver (RFC 5424/3164 over tcp, udp or a Unix socket)", kSyslogOptions);
  return info;
}

}  // namespace agentlog::plugins
