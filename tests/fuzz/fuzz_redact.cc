// Fuzz target: the `redact` rule engine on arbitrary text. The input picks a secret from a
// fixed list, where to put it in the fuzzer's text and how (in a JSON string, raw in the
// line, \u-escaped, percent-encoded). Oracle: that secret survives nowhere in the output or
// the dead letters, neither raw nor after JSON-unescaping or percent-decoding any string.
#include <cstddef>
#include <cstdint>

#include "core/json_text.h"
#include "tests/fuzz/fuzz_support.h"

using namespace agentlog;

namespace {

// Synthetic tokens from tests/redact_corpus (random, in each provider's documented shape).
constexpr std::string_view kSecrets[] = {
    "AKIAB6CNL4U2OQ5IKPNU",
    "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",
    "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",
    "glpat-CDcATMvS8qfDAU-374LE",
    "xoxb-81655432501-3837199912228-1zdeogCutkIB2LZmu9ct5ar1",
    "sk_live_uHwZzH2erMBVdaTDTLVqItjJZ",
    "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",
};

constexpr const char* kConfig = R"(pipeline:
  stages:
    - type: redact
      replacement: mask
      all_strings: true
)";

std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool in_text(std::string_view text, std::string_view secret) {
  return text.find(secret) != std::string_view::npos || percent_decode(text).find(secret) != std::string::npos;
}

bool in_value(const json::Value& v, std::string_view secret) {
  if (v.kind == json::Value::Kind::String && in_text(v.text, secret)) return true;
  for (const auto& item : v.items)
    if (in_value(item, secret)) return true;
  for (const auto& [key, member] : v.members)
    if (in_text(key, secret) || in_value(member, secret)) return true;
  return false;
}

// Is the secret in this line in any form the oracle looks at: raw, in a string as JSON
// decodes it, percent-decoded, or inside a dead letter's "raw" line read as JSON again?
bool visible(const std::string& line, std::string_view secret) {
  if (in_text(line, secret)) return true;
  auto v = json::parse(line);
  if (!v) return false;
  if (in_value(*v, secret)) return true;
  if (const json::Value* raw = v->find("raw"); raw && raw->kind == json::Value::Kind::String)
    if (auto inner = json::parse(raw->text)) return in_value(*inner, secret);
  return false;
}

void check_lines(const std::vector<std::string>& lines, std::string_view secret, const char* where) {
  for (const std::string& line : lines)
    if (visible(line, secret)) fuzz::fail(std::string("secret survives in ") + where + ": " + line);
}

struct Harness {
  PipelineSpec spec;
  fuzz::Captured captured;
  fuzz::InputFile file;
  Harness() {
    fuzz::load_or_die(kConfig, spec);
    captured = fuzz::capture_outputs(spec);
  }
};

// The record for one input: the fuzzer's text with `secret` put in at `at`, as `mode` says.
std::string build_line(uint8_t mode, std::string_view text, size_t at, std::string_view secret) {
  const std::string before(text.substr(0, at)), after(text.substr(at));
  switch (mode) {
    case 0:  // inside a JSON string, spaced from the text around it
      return R"({"event_type":"tool_result","details":{"message":)" +
             json::quoted(before + " " + std::string(secret) + " " + after) + "}}";
    case 1:  // raw in the line, whatever the line is
      return before + " " + std::string(secret) + " " + after;
    case 2: {  // each character \u-escaped in a JSON string
      std::string esc;
      char buf[8];
      for (char c : secret) {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
        esc += buf;
      }
      std::string b = json::quoted(before + " "), a = json::quoted(" " + after);
      return R"({"details":{"message":)" + b.substr(0, b.size() - 1) + esc + a.substr(1) + "}}";
    }
    default: {  // percent-encoded in a URL query value
      std::string enc;
      char buf[4];
      for (char c : secret) {
        std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
        enc += buf;
      }
      return R"({"output_ref":)" + json::quoted("https://example.com/cb?" + before + "&token=" + enc) +
             R"(,"details":{"note":)" + json::quoted(after) + "}}";
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = new Harness;
  if (size < 4) return -1;  // reject: not in the corpus
  std::string_view secret = kSecrets[data[0] % std::size(kSecrets)];
  const uint8_t mode = data[1] % 4;
  std::string_view text(reinterpret_cast<const char*>(data + 3), size - 3);
  const size_t at = std::min<size_t>(data[2], text.size());
  // The fuzzer's own text may hold the secret glued into a longer token (its comparison
  // tracing finds the string): that copy is no secret of that shape, so such inputs are
  // not judged. Only the copy put in here, set apart by spaces, must go.
  if (visible(build_line(mode, text, at, ""), secret)) return -1;
  std::string line = build_line(mode, text, at, secret) + "\n";
  fuzz::run_and_check(h->spec, h->captured, h->file, line, "lines");
  check_lines(h->captured.out->lines, secret, "output");
  check_lines(h->captured.dead->lines, secret, "dead letter");
  return 0;
}
