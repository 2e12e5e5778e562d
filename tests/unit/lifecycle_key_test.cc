#include <catch2/catch.hpp>

#include <string>

#include "core/json_text.h"
#include "core/key_render.h"

using namespace agentlog;

namespace {
// The plain definition the fast path must agree with.
std::string reference(std::string_view key) {
  std::string out;
  for (size_t from = 0;;) {
    size_t sep = key.find('\x1f', from);
    json::append_escaped(out, key.substr(from, sep == std::string_view::npos ? std::string_view::npos : sep - from));
    if (sep == std::string_view::npos) return out;
    out.push_back('/');
    from = sep + 1;
  }
}
}  // namespace

// Every key length around the 16-byte blocks, with each kind of byte at every position.
TEST_CASE("a key's display form: parts joined by '/', escaped where needed", "[lifecycle]") {
  const std::string specials[] = {"\x1f", "\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "/", " "};
  for (size_t len = 0; len <= 40; ++len) {
    std::string base;
    for (size_t i = 0; i < len; ++i) base.push_back(static_cast<char>('a' + i % 26));
    std::string out = "prefix:";
    append_shown_key(out, base);
    REQUIRE(out == "prefix:" + reference(base));
    for (const auto& sp : specials)
      for (size_t at = 0; at <= len; ++at) {
        std::string key = base.substr(0, at) + sp + base.substr(at);
        std::string got;
        append_shown_key(got, key);
        INFO("len " << len << " at " << at << " special " << json::quoted(sp));
        REQUIRE(got == reference(key));
      }
  }
  std::string got;
  append_shown_key(got, "run-1\x1f" "act\"2");
  CHECK(got == "run-1/act\\\"2");
}
