// core/simdjson_tape.h reads simdjson's tape directly; these checks hold its reads to
// simdjson's own accessors, so a simdjson whose tape or element layout differs fails here.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/field_path.h"
#include "core/record.h"
#include "core/simdjson_tape.h"

using namespace agentlog;

namespace {
// Every element reachable from `e`, in document order.
void collect(simdjson::dom::element e, std::vector<simdjson::dom::element>& out) {
  out.push_back(e);
  simdjson::dom::object obj;
  simdjson::dom::array arr;
  if (e.get(obj) == simdjson::SUCCESS)
    for (auto field : obj) collect(field.value, out);
  else if (e.get(arr) == simdjson::SUCCESS)
    for (auto v : arr) collect(v, out);
}
}  // namespace

TEST_CASE("tape reads agree with simdjson's accessors", "[simdjson_tape]") {
  const std::vector<std::string> docs = {
      R"({"a":"x","b":12,"c":-3,"d":1.5,"e":18446744073709551615,"f":true,"g":null,"h":{"i":"y","j":[1,"z",{}]},"k":""})",
      R"(["s",1,[],{"k":"\u00e9\"\\"}])",
      R"("just a string")",
      R"({})",
  };
  simdjson::dom::parser parser;
  for (const std::string& text : docs) {
    simdjson::dom::document doc;
    REQUIRE(doc.allocate(1024) == simdjson::SUCCESS);
    simdjson::dom::element root;
    REQUIRE(parser.parse_into_document(doc, text.data(), text.size(), true).get(root) == simdjson::SUCCESS);
    std::vector<simdjson::dom::element> all;
    collect(root, all);
    for (const auto& e : all) {
      const auto ref = std::bit_cast<tape::tape_ref>(e);
      CHECK(ref.doc == &doc);
      // element_at gives back the same element: same type and the same JSON.
      simdjson::dom::element again = tape::element_at(doc, ref.json_index);
      CHECK(again.type() == e.type());
      CHECK(simdjson::minify(again) == simdjson::minify(e));
      // string_at reads strings as get_string does, and refuses every other type.
      std::string_view expected, got;
      bool is_string = e.get_string().get(expected) == simdjson::SUCCESS;
      CHECK(tape::string_at(doc, ref.json_index, got) == is_string);
      if (is_string) CHECK(got == expected);
    }
  }
}

TEST_CASE("FieldSet results carry the element they were set from", "[simdjson_tape]") {
  std::string text = R"({"n":7,"s":"v","o":{"p":[true]}})";
  text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  Record r;
  r.reset_borrowed(text);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  simdjson::dom::element o;
  REQUIRE(r.object().at_key("o").get(o) == simdjson::SUCCESS);
  FieldSet::Found f;
  CHECK_FALSE(f);
  f.set(o);
  REQUIRE(f);
  CHECK(simdjson::minify(*f) == R"({"p":[true]})");
  CHECK(f->type() == simdjson::dom::element_type::OBJECT);
  f.reset();
  CHECK_FALSE(f);
}
