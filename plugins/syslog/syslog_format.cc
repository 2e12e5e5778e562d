#include "plugins/syslog/syslog_format.h"

#include <charconv>

#include "core/time_format.h"

namespace agentlog::plugins::syslog {

int code_of(std::span<const std::string_view> names, std::string_view name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  return -1;
}

void append_sd_value(std::string& out, std::string_view v) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || c == ']') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
}

bool valid_sd_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name)
    if (c < 33 || c > 126 || c == '=' || c == ']' || c == '"') return false;
  return true;
}

bool printable_ascii(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (c < 33 || c > 126) return false;
  return true;
}

size_t utf8_prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t n = max;
  // Step back over continuation bytes so the cut lands before a lead byte.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

void append_rfc3164_time(std::string& out, int64_t epoch_ms) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::string iso = format_rfc3339_ms(epoch_ms);  // YYYY-MM-DDTHH:MM:SS.mmmZ
  size_t t = iso.find('T');
  int month = (iso[t - 5] - '0') * 10 + (iso[t - 4] - '0');
  out.append(kMonths[month - 1]);
  out.push_back(' ');
  out.push_back(iso[t - 2] == '0' ? ' ' : iso[t - 2]);
  out.push_back(iso[t - 1]);
  out.push_back(' ');
  out.append(iso, t + 1, 8);
}

Formatter::Formatter(FormatConfig cfg) : cfg_(std::move(cfg)) {
  for (const auto& p : cfg_.sd_fields) sd_slots_.push_back(fields_.add(p));
  for (const auto& p : cfg_.timestamp_fields) ts_slots_.push_back(fields_.add(p));
  if (cfg_.msgid_from_field) msgid_slot_ = fields_.add(cfg_.msgid_field);
}

int Formatter::severity_of(simdjson::dom::element root) const {
  for (const auto& r : cfg_.rules)
    if (eval_conditions(r.when, true, root)) return r.severity;
  return cfg_.severity;
}

void Formatter::append_sd(std::string& out) {
  size_t start = out.size();
  out.push_back('[');
  out.append(cfg_.sd_id);
  bool any = false;
  for (size_t i = 0; i < sd_slots_.size(); ++i) {
    const auto& value = fields_[sd_slots_[i]];
    if (!value || value->is_null()) continue;  // absent (or null) fields are left out
    out.push_back(' ');
    out.append(cfg_.sd_fields[i].text);
    out.append("=\"");
    if (value->is_string()) {
      append_sd_value(out, std::string_view(*value));
    } else {
      scratch_ = simdjson::minify(*value);  // numbers, booleans, objects, arrays as JSON text
      append_sd_value(out, scratch_);
    }
    out.push_back('"');
    any = true;
  }
  if (!any) {
    out.resize(start);
    out.push_back('-');
    return;
  }
  out.push_back(']');
}

size_t append_framed(std::string& out, std::string_view msg, Framing framing) {
  const size_t start = out.size();
  if (framing == Framing::OctetCounting) {
    char num[24];
    auto r = std::to_chars(num, num + sizeof num, msg.size());
    out.append(num, r.ptr);
    out.push_back(' ');
  }
  const size_t msg_at = out.size() - start;
  out.append(msg);
  if (framing == Framing::Newline) out.push_back('\n');
  return msg_at;
}

size_t Formatter::format(const simdjson::dom::element* root, std::string_view body, std::string& out,
                         int64_t now_ms) {
  int severity = cfg_.severity;
  int64_t time_ms = 0;
  bool have_ts = false;
  std::string_view msgid = cfg_.msgid;
  if (root) {
    fields_.extract(*root);
    severity = severity_of(*root);
    for (size_t slot : ts_slots_) {
      auto text = fields_.str(slot);
      if (!text) continue;
      if (auto parsed_ms = parse_rfc3339_ms(*text)) {
        time_ms = *parsed_ms;
        have_ts = true;
        break;
      }
    }
    if (cfg_.msgid_from_field)
      if (auto field_msgid = fields_.str(msgid_slot_); field_msgid && printable_ascii(*field_msgid, 32))
        msgid = *field_msgid;
  }
  if (!have_ts && (cfg_.timestamp_now || cfg_.format == Format::Rfc3164)) {
    time_ms = now_ms;
    have_ts = true;
  }
  char num[16];
  auto written = std::to_chars(num, num + sizeof num, cfg_.facility * 8 + severity);
  out.push_back('<');
  out.append(num, written.ptr);
  out.push_back('>');
  if (cfg_.format == Format::Rfc3164) {
    append_rfc3164_time(out, time_ms);
    out.push_back(' ');
    out.append(cfg_.hostname);
    out.push_back(' ');
    out.append(cfg_.app_name);
    if (cfg_.procid != "-") {
      out.push_back('[');
      out.append(cfg_.procid);
      out.push_back(']');
    }
    out.append(": ");
  } else {
    out.append("1 ");
    if (have_ts) append_rfc3339_ms(out, time_ms);
    else out.push_back('-');
    out.push_back(' ');
    out.append(cfg_.hostname);
    out.push_back(' ');
    out.append(cfg_.app_name);
    out.push_back(' ');
    out.append(cfg_.procid);
    out.push_back(' ');
    out.append(msgid);
    out.push_back(' ');
    if (root && !cfg_.sd_id.empty()) append_sd(out);
    else out.push_back('-');
    out.push_back(' ');
  }
  size_t body_at = out.size();
  out.append(body);
  return body_at;
}

}  // namespace agentlog::plugins::syslog
