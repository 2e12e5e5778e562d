// Fuzz target: the `syslog` output's message formatting and framing. The first bytes pick the
// settings (RFC 5424 or 3164, framing, facility, severity, msgid from a field, STRUCTURED-DATA),
// the rest is the record. Oracles: the frame gives back exactly the message; an RFC 5424
// header has its fields, PRI in range, printable ASCII tokens and well-formed, escaped
// STRUCTURED-DATA; the record follows byte for byte where format() says.
#include <cstddef>
#include <cstdint>
#include <string>

#include <simdjson.h>

#include "plugins/syslog/syslog_format.h"
#include "tests/fuzz/fuzz_support.h"

using namespace agentlog;
using namespace agentlog::plugins::syslog;

namespace {

FieldPath path(const char* p) {
  FieldPath f;
  if (!parse_field_path(p, f)) fuzz::fail(std::string("field path ") + p);
  return f;
}

bool printable(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < 33 || c > 126) return false;
  return true;
}

// Reads one space-terminated header token at `i`.
std::string_view token(std::string_view msg, size_t& i) {
  size_t sp = msg.find(' ', i);
  if (sp == std::string_view::npos) fuzz::fail("header ends early: " + std::string(msg));
  std::string_view t = msg.substr(i, sp - i);
  i = sp + 1;
  if (!printable(t)) fuzz::fail("header field not printable ASCII: " + std::string(msg));
  return t;
}

// RFC 5424 §6.3: "-" or [SD-ID *(SP PARAM-NAME="PARAM-VALUE")], values with \" \\ \] escaped
// and (agentlog's rule) no control characters. Returns the index after it.
size_t check_sd(std::string_view msg, size_t i) {
  if (i < msg.size() && msg[i] == '-') return i + 1;
  if (i >= msg.size() || msg[i] != '[') fuzz::fail("no STRUCTURED-DATA: " + std::string(msg));
  ++i;
  auto name_end = [&](size_t j) {
    while (j < msg.size() && msg[j] != ' ' && msg[j] != '=' && msg[j] != ']' && msg[j] != '"') ++j;
    return j;
  };
  size_t e = name_end(i);
  if (e == i || !valid_sd_name(msg.substr(i, e - i))) fuzz::fail("bad SD-ID: " + std::string(msg));
  i = e;
  while (i < msg.size() && msg[i] == ' ') {
    ++i;
    e = name_end(i);
    if (e == i || e >= msg.size() || msg[e] != '=' || e + 1 >= msg.size() || msg[e + 1] != '"')
      fuzz::fail("bad SD-PARAM: " + std::string(msg));
    i = e + 2;
    for (;; ++i) {
      if (i >= msg.size()) fuzz::fail("unterminated PARAM-VALUE: " + std::string(msg));
      unsigned char c = static_cast<unsigned char>(msg[i]);
      if (c < 0x20 || c == 0x7f) fuzz::fail("control character in PARAM-VALUE: " + std::string(msg));
      if (c == '\\') {
        if (i + 1 >= msg.size() || (msg[i + 1] != '"' && msg[i + 1] != '\\' && msg[i + 1] != ']'))
          fuzz::fail("bad escape in PARAM-VALUE: " + std::string(msg));
        ++i;
      } else if (c == ']') {
        fuzz::fail("unescaped ] in PARAM-VALUE: " + std::string(msg));
      } else if (c == '"') {
        break;
      }
    }
    ++i;
  }
  if (i >= msg.size() || msg[i] != ']') fuzz::fail("SD-ELEMENT not closed: " + std::string(msg));
  return i + 1;
}

void check_rfc5424(std::string_view msg, size_t body_at) {
  if (msg.empty() || msg[0] != '<') fuzz::fail("no PRI: " + std::string(msg));
  size_t close = msg.find('>');
  if (close == std::string_view::npos || close < 2 || close > 4) fuzz::fail("bad PRI: " + std::string(msg));
  int pri = std::stoi(std::string(msg.substr(1, close - 1)));
  if (pri < 0 || pri > 191) fuzz::fail("PRI out of range: " + std::string(msg));
  size_t i = close + 1;
  if (token(msg, i) != "1") fuzz::fail("VERSION is not 1: " + std::string(msg));
  for (int f = 0; f < 5; ++f) token(msg, i);  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
  i = check_sd(msg, i);
  if (i >= msg.size() || msg[i] != ' ' || i + 1 != body_at) fuzz::fail("MSG not after SD: " + std::string(msg));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser* parser = new simdjson::dom::parser;
  if (size < 3) return -1;
  const uint8_t flags = data[0];
  FormatConfig cfg;
  cfg.format = flags & 1 ? Format::Rfc3164 : Format::Rfc5424;
  const Framing framing = static_cast<Framing>(((flags >> 1) & 3) % 3);
  cfg.msgid_from_field = flags & 8;
  cfg.timestamp_now = flags & 16;
  cfg.facility = data[1] % 24;
  cfg.severity = data[2] % 8;
  cfg.hostname = "host-1.example";
  cfg.app_name = "agentlog";
  cfg.procid = flags & 64 ? "4242" : "-";
  cfg.msgid = "-";
  if (cfg.msgid_from_field) cfg.msgid_field = path("event_type");
  if (flags & 32) {
    cfg.sd_id = "agentlog@32473";
    for (const char* f : {"agent_id", "run_id", "event_type", "details.tool", "decision", "a.b.c"})
      cfg.sd_fields.push_back(path(f));
  }
  cfg.timestamp_fields = {path("event_time"), path("timestamp")};
  Formatter formatter(cfg);

  // A record's bytes are one line (the chain target checks that).
  std::string body(reinterpret_cast<const char*>(data + 3), size - 3);
  for (char& c : body)
    if (c == '\n') c = ' ';
  simdjson::dom::element root;
  bool ok = parser->parse(body).get(root) == simdjson::SUCCESS && root.is_object();
  std::string msg;
  size_t body_at = formatter.format(ok ? &root : nullptr, body, msg, 1767225600000);
  if (msg.compare(body_at, std::string::npos, body) != 0) fuzz::fail("body not at its offset: " + msg);
  if (msg.substr(0, body_at).find_first_of(std::string_view("\n\0", 2)) != std::string::npos)
    fuzz::fail("header holds a newline or NUL: " + msg);
  if (cfg.format == Format::Rfc5424) check_rfc5424(msg, body_at);

  // The frame gives back the message, and nothing else.
  std::string wire = "prefix";
  size_t msg_at = append_framed(wire, msg, framing) + 6;
  std::string_view w(wire);
  w.remove_prefix(6);
  switch (framing) {
    case Framing::OctetCounting: {
      size_t sp = w.find(' ');
      if (sp == std::string_view::npos || sp == 0 || w[0] == '0') fuzz::fail("bad octet count: " + wire);
      size_t len = std::stoul(std::string(w.substr(0, sp)));
      if (len != msg.size() || w.size() != sp + 1 + len || w.substr(sp + 1) != msg) fuzz::fail("octet count wrong: " + wire);
      break;
    }
    case Framing::Newline:
      if (w.find('\n') != msg.size() || w.size() != msg.size() + 1) fuzz::fail("newline framing broken: " + wire);
      break;
    case Framing::None:
      if (w != msg) fuzz::fail("datagram differs from the message");
      break;
  }
  if (wire.compare(msg_at, msg.size(), msg) != 0) fuzz::fail("message not at its offset");
  return 0;
}
