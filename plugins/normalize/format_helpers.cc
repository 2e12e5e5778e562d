// What the formats of stage `normalize` share (declared in normalize_format.h): field
// readers, content hashes, times, program names and URL hosts, evidence URNs, the call table
// and the renderer of canonical records.
#include <charconv>
#include <cstring>

#include "core/hashing.h"
#include "core/json_text.h"
#include "core/time_format.h"
#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {

std::optional<std::string_view> str_at(object o, std::string_view key) {
  std::string_view s;
  if (o[key].get(s) != simdjson::SUCCESS) return std::nullopt;
  return s;
}

std::optional<object> obj_at(object o, std::string_view key) {
  object v;
  if (o[key].get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

std::string sha256_ref(std::string_view bytes) {
  std::string out;
  out.reserve(7 + 64);
  out.append("sha256:");
  append_sha256_hex(out, bytes);
  return out;
}

std::string json_ref(element v) {
  // simdjson's own minifier, into a buffer reused across calls (no allocation per value).
  thread_local simdjson::internal::string_builder<> sb;
  sb.clear();
  sb.append(v);
  return sha256_ref(sb.str());
}

std::optional<std::string_view> canonical_json_at(std::string_view t, size_t pos) {
  int depth = 0;
  size_t i = pos;
  const size_t n = t.size();
  do {
    if (i >= n) return std::nullopt;
    char c = t[i];
    if (c == '"') {
      for (++i;; ++i) {
        // Skip plain bytes 8 at a time (SWAR): only quotes and backslashes matter.
        while (i + 8 <= n) {
          uint64_t w;
          std::memcpy(&w, t.data() + i, 8);
          uint64_t q = w ^ 0x2222222222222222ull, b = w ^ 0x5C5C5C5C5C5C5C5Cull;
          uint64_t hit = ((q - 0x0101010101010101ull) & ~q) | ((b - 0x0101010101010101ull) & ~b);
          if (hit & 0x8080808080808080ull) break;
          i += 8;
        }
        while (i < n && t[i] != '"' && t[i] != '\\') ++i;
        if (i >= n) return std::nullopt;
        if (t[i] == '"') break;
        char e = i + 1 < n ? t[i + 1] : 0;
        if (e != '"' && e != '\\' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') return std::nullopt;
        ++i;
      }
      ++i;
    } else if (c == '{' || c == '[') {
      ++depth;
      ++i;
    } else if (c == '}' || c == ']') {
      --depth;
      ++i;
    } else if (c == ',' || c == ':') {
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = i;
      if (c == '-') ++i;
      size_t digits = i;
      while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
      size_t len = i - digits;
      if (len == 0 || len > 18 || (len > 1 && t[digits] == '0') || (c == '-' && len == 1 && t[digits] == '0'))
        return std::nullopt;
      if (i < n && (t[i] == '.' || t[i] == 'e' || t[i] == 'E')) return std::nullopt;
      (void)start;
    } else if (t.substr(i, 4) == "true" || t.substr(i, 4) == "null") {
      i += 4;
    } else if (t.substr(i, 5) == "false") {
      i += 5;
    } else {
      return std::nullopt;  // whitespace or anything else
    }
  } while (depth > 0);
  return t.substr(pos, i - pos);
}

std::string content_ref(element v) {
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) return sha256_ref(s);
  return json_ref(v);
}

std::optional<std::pair<std::string, int64_t>> normalize_time(std::string_view text) {
  auto ms = parse_rfc3339_ms(text);
  if (!ms && text.size() >= 19 && text.size() < 40 && text.find_first_of("Zz+", 19) == std::string_view::npos &&
      text.find('-', 19) == std::string_view::npos) {
    std::string with_z(text);
    with_z.push_back('Z');  // OpenHands writes naive ISO times: read as UTC
    ms = parse_rfc3339_ms(with_z);
  }
  if (!ms) return std::nullopt;
  return std::pair{format_rfc3339_ms(*ms), *ms};
}

std::optional<std::pair<std::string, int64_t>> line_time(std::optional<std::string_view> ts, std::string_view format,
                                                          std::string& why) {
  auto time = ts ? normalize_time(*ts) : std::nullopt;
  if (!time)
    why = ts ? "timestamp: not an " + std::string(format) + " date-time" : "timestamp: field is missing or not a string";
  return time;
}

namespace {
bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '+';
}
}  // namespace

std::string program_name(std::string_view cmd) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < cmd.size() && (cmd[i] == ' ' || cmd[i] == '\t' || cmd[i] == '\n' || cmd[i] == '(')) ++i;
  };
  for (;;) {
    skip_space();
    size_t start = i;
    char quote = 0;
    if (i < cmd.size() && (cmd[i] == '"' || cmd[i] == '\'')) quote = cmd[i++], start = i;
    while (i < cmd.size()) {
      char c = cmd[i];
      if (quote ? c == quote : (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '|' || c == '&' ||
                                c == '<' || c == '>' || c == ')' || c == '`'))
        break;
      ++i;
    }
    std::string_view word = cmd.substr(start, i - start);
    if (quote && i < cmd.size()) ++i;
    // NAME=value before the program sets the environment (often a secret): skip it.
    size_t equals_at = word.find('=');
    if (!quote && equals_at != std::string_view::npos && equals_at > 0) {
      bool name = true;
      for (size_t k = 0; k < equals_at; ++k) name = name && (ident_char(word[k]) && word[k] != '.' && word[k] != '-');
      if (name) continue;
    }
    if (!quote && word == "cd") {  // `cd dir && prog ...`: the program is the next command's
      size_t next = cmd.find_first_of(";&", i);
      if (next == std::string_view::npos) return "cd";
      i = next;
      while (i < cmd.size() && (cmd[i] == ';' || cmd[i] == '&')) ++i;
      continue;
    }
    if (size_t slash = word.rfind('/'); slash != std::string_view::npos) word.remove_prefix(slash + 1);
    if (word.empty() || word.size() > 64) return std::string(kUnknown);
    for (char c : word)
      if (!ident_char(c)) return std::string(kUnknown);
    return std::string(word);
  }
}

std::string argv_program(simdjson::dom::array argv) {
  std::vector<std::string_view> words;
  for (element e : argv) {
    std::string_view w;
    if (e.get(w) != simdjson::SUCCESS) return std::string(kUnknown);
    words.push_back(w);
    if (words.size() == 3) break;
  }
  if (words.empty()) return std::string(kUnknown);
  std::string first = program_name(words[0]);
  if (words.size() == 3 && (first == "bash" || first == "sh" || first == "zsh" || first == "dash") &&
      (words[1] == "-c" || words[1] == "-lc" || words[1] == "-ic"))
    return program_name(words[2]);
  return first;
}

std::string url_host(std::string_view url) {
  size_t colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) return std::string(kUnknown);
  std::string_view rest = url.substr(colon + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    rest = close == std::string_view::npos ? std::string_view() : rest.substr(0, close + 1);
  } else {
    rest = rest.substr(0, rest.find(':'));
  }
  if (rest.empty() || rest.size() > 253) return std::string(kUnknown);
  std::string host(rest);
  for (char& c : host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    else if (!ident_char(c) && c != '[' && c != ']' && c != ':') return std::string(kUnknown);
  }
  return host;
}

std::string_view ident_or(std::string_view s, std::string_view fallback) {
  if (s.empty() || s.size() > 64) return fallback;
  for (char c : s)
    if (!ident_char(c) && c != ':' && c != '/' && c != '@') return fallback;
  return s;
}

std::string_view type_word(std::string_view s) {
  if (s.empty() || s.size() > 40) return "(other)";
  int digits = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') ++digits;
    else if (!((c >= 'a' && c <= 'z') || c == '_' || c == '-' || c == '.')) return "(other)";
  }
  return digits > 4 ? "(other)" : s;
}

std::string evidence_urn(std::string_view format, std::initializer_list<std::string_view> parts) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "urn:agentlog:";
  out.append(format);
  for (std::string_view p : parts) {
    out.push_back(':');
    for (char ch : p) {
      unsigned char c = static_cast<unsigned char>(ch);
      if (ident_char(ch) || c == '~' || c == '@' || c == '/' || c == '=' || c == ',') {
        out.push_back(ch);
      } else {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
  }
  return out;
}

std::string source_stem(std::string_view source) {
  if (source.empty() || source == "-") return "stdin";
  if (size_t slash = source.rfind('/'); slash != std::string_view::npos) source.remove_prefix(slash + 1);
  for (std::string_view ext : {".gz", ".zst"})
    if (source.size() > ext.size() && source.substr(source.size() - ext.size()) == ext)
      source.remove_suffix(ext.size());
  if (size_t dot = source.rfind('.'); dot != std::string_view::npos && dot > 0) source = source.substr(0, dot);
  return std::string(source);
}

void CallTable::put(std::string id, CallInfo info) {
  if (calls_.size() >= cap_) {
    while (!order_.empty() && calls_.size() >= cap_) {
      calls_.erase(order_.front());
      order_.pop_front();
    }
  }
  auto [it, fresh] = calls_.insert_or_assign(std::move(id), std::move(info));
  if (fresh) order_.push_back(it->first);
  if (order_.size() > 2 * cap_ + 16) {  // ids taken by results linger in order_: compact
    std::deque<std::string> live;
    for (auto& k : order_)
      if (calls_.count(k)) live.push_back(std::move(k));
    order_.swap(live);
  }
}

void CallTable::answer(std::string_view id, int64_t now_ms, Canon& result) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  CallInfo& call = it->second;
  result.tool_name = std::move(call.tool_name);
  result.tool_action = std::move(call.tool_action);
  result.tool_target = std::move(call.tool_target);
  result.input_ref = std::move(call.input_ref);
  if (call.time_ms != INT64_MIN && now_ms >= call.time_ms) result.latency_ms = now_ms - call.time_ms;
  calls_.erase(it);
}

void render(const Canon& event, const LineRef& ref, std::string_view entry_type, std::string& out) {
  auto field = [&](std::string_view key, std::string_view value, bool first = false) {
    if (!first) out.push_back(',');
    out.push_back('"');
    out.append(key);
    out.append("\":");
    json::append_quoted(out, value);
  };
  auto num = [&](std::string_view key, int64_t number) {
    char buf[24];
    auto written = std::to_chars(buf, buf + sizeof buf, number);
    out.append(",\"").append(key).append("\":").append(buf, written.ptr);
  };
  out.reserve(1024);
  out.push_back('{');
  field("event_time", event.event_time, true);
  field("agent_id", event.agent_id);
  field("agent_version", event.agent_version.empty() ? kUnknown : std::string_view(event.agent_version));
  field("run_id", event.run_id);
  field("event_type", event.event_type);
  field("actor_id", event.actor_id.empty() ? kUnknown : std::string_view(event.actor_id));
  field("tool_name", event.tool_name.empty() ? kUnknown : std::string_view(event.tool_name));
  field("tool_action", event.tool_action.empty() ? kUnknown : std::string_view(event.tool_action));
  field("tool_target", event.tool_target.empty() ? kUnknown : std::string_view(event.tool_target));
  field("auth_context", event.auth_context.empty() ? kUnknown : std::string_view(event.auth_context));
  field("input_ref", event.input_ref.empty() ? kUnknownRef : std::string_view(event.input_ref));
  field("output_ref", event.output_ref.empty() ? kNoRef : std::string_view(event.output_ref));
  field("decision", event.decision);
  field("evidence_ref", event.evidence_ref);
  if (!event.action_id.empty()) field("action_id", event.action_id);
  if (!event.phase.empty()) field("phase", event.phase);
  if (!event.turn_id.empty()) field("turn_id", event.turn_id);
  if (!event.error_code.empty()) field("error_code", event.error_code);
  if (!event.model.empty()) field("model", event.model);
  if (event.recursion_depth >= 0) num("recursion_depth", event.recursion_depth);
  if (event.latency_ms >= 0) num("latency_ms", event.latency_ms);
  if (!event.policy_id.empty()) field("policy_id", event.policy_id);
  if (event.cost_estimate >= 0) {
    char buf[32];
    auto written = std::to_chars(buf, buf + sizeof buf, event.cost_estimate);
    out.append(",\"cost_estimate\":").append(buf, written.ptr);
  }
  if (!event.parent_action_id.empty()) field("parent_action_id", event.parent_action_id);
  out.append(",\"details\":{\"source\":");
  json::append_quoted(out, ref.source);
  num("line", static_cast<int64_t>(ref.line));
  out.append(",\"entry\":");
  json::append_quoted(out, entry_type);
  out.append("}}");
  if (out.capacity() - out.size() < simdjson::SIMDJSON_PADDING)
    out.reserve(out.size() + simdjson::SIMDJSON_PADDING + 256);
}

}  // namespace agentlog::plugins::normalize
