// Tests for the valijson adapter over simdjson's DOM: direct checks, then the draft 7 part of
// the JSON-Schema-Test-Suite run through valijson with this adapter.
#include "plugins/validate/simdjson_adapter.h"  // first: it configures valijson

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/schema_suite.h"
#include <simdjson.h>
#include <valijson/internal/json_pointer.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

using agentlog::schema::SimdjsonAdapter;
using agentlog::schema::SimdjsonArray;
using agentlog::schema::SimdjsonObject;

namespace {

simdjson::dom::element parse_json(simdjson::dom::parser& parser, std::string_view text) {
  simdjson::dom::element e;
  const auto err = parser.parse(text.data(), text.size()).get(e);
  INFO(text);
  REQUIRE(err == simdjson::SUCCESS);
  return e;
}

// Validates `data` against `schema`, both JSON text, with the adapter on both sides.
bool validates(std::string_view schema_text, std::string_view data_text) {
  simdjson::dom::parser schema_parser, data_parser;
  const auto schema_doc = parse_json(schema_parser, schema_text);
  const auto data_doc = parse_json(data_parser, data_text);
  valijson::Schema schema;
  valijson::SchemaParser(valijson::SchemaParser::kDraft7).populateSchema(SimdjsonAdapter(schema_doc), schema);
  valijson::Validator validator;
  return validator.validate(schema, SimdjsonAdapter(data_doc), nullptr);
}

}  // namespace

TEST_CASE("simdjson adapter: value types", "[schema][simdjson_adapter]") {
  simdjson::dom::parser parser;
  const auto root = parse_json(parser, R"([null, true, false, "s", [], {}])");
  const SimdjsonArray items = SimdjsonAdapter(root).getArray();
  REQUIRE(items.size() == 6);
  auto it = items.begin();
  const SimdjsonAdapter null_v = *it++, true_v = *it++, false_v = *it++, str_v = *it++, arr_v = *it++,
                        obj_v = *it++;
  CHECK(it == items.end());

  CHECK(null_v.isNull());
  CHECK_FALSE(null_v.isObject());
  CHECK(true_v.isBool());
  CHECK(true_v.getBool());
  CHECK_FALSE(false_v.getBool());
  CHECK_FALSE(true_v.isNumber());
  CHECK(str_v.isString());
  CHECK(str_v.getString() == "s");
  CHECK(arr_v.isArray());
  CHECK(arr_v.getArraySize() == 0);
  CHECK(obj_v.isObject());
  CHECK(obj_v.getObjectSize() == 0);
  CHECK(SimdjsonAdapter(root).hasStrictTypes());

  // Default-constructed values: null adapter, empty array and object.
  CHECK(SimdjsonAdapter().isNull());
  CHECK(SimdjsonArray().size() == 0);
  CHECK(SimdjsonArray().begin() == SimdjsonArray().end());
  CHECK(SimdjsonObject().size() == 0);
  CHECK(SimdjsonObject().find("x") == SimdjsonObject().end());
  // valijson's permissive casts: an empty object may be read as an empty array.
  CHECK(obj_v.asArray().size() == 0);
  CHECK_THROWS_AS(str_v.getArray(), std::runtime_error);
}

TEST_CASE("simdjson adapter: numbers", "[schema][simdjson_adapter]") {
  simdjson::dom::parser parser;
  const auto root = parse_json(parser,
                               "[7, -3, 9223372036854775807, 9223372036854775808, 18446744073709551615,"
                               " 1.0, 1.5, -0.0, 1e300]");
  std::vector<SimdjsonAdapter> v;
  for (const SimdjsonAdapter a : SimdjsonAdapter(root).getArray()) v.push_back(a);
  REQUIRE(v.size() == 9);
  for (const auto& a : v) CHECK(a.isNumber());

  // INT64
  CHECK(v[0].isInteger());
  CHECK_FALSE(v[0].isDouble());
  CHECK(v[0].getInteger() == 7);
  CHECK(v[0].getNumber() == 7.0);
  CHECK(v[1].getInteger() == -3);
  CHECK(v[2].getInteger() == INT64_MAX);

  // UINT64 above INT64_MAX: an integer with no int64 form, read through its double value.
  for (const int i : {3, 4}) {
    CHECK(v[i].isInteger());
    CHECK(v[i].isDouble());
    int64_t ignored = 0;
    CHECK_FALSE(v[i].getInteger(ignored));
  }
  CHECK(v[3].getNumber() == 9223372036854775808.0);
  CHECK(v[4].asDouble() == 18446744073709551615.0);

  // DOUBLE: integral values are integers too (draft 6+); 1e300 has no int64 form.
  CHECK(v[5].isDouble());
  CHECK(v[5].isInteger());
  CHECK(v[5].getInteger() == 1);
  CHECK(v[5].getDouble() == 1.0);
  CHECK_FALSE(v[6].isInteger());
  CHECK(v[6].getDouble() == 1.5);
  CHECK(v[7].isInteger());
  CHECK(v[7].getInteger() == 0);
  CHECK(v[8].isInteger());
  int64_t ignored = 0;
  CHECK_FALSE(v[8].getInteger(ignored));
  CHECK(v[8].getNumber() == 1e300);

  // The same numbers through valijson's keywords.
  CHECK(validates(R"({"type":"integer"})", "1.0"));
  CHECK_FALSE(validates(R"({"type":"integer"})", "1.5"));
  CHECK(validates(R"({"type":"integer"})", "18446744073709551615"));
  CHECK(validates(R"({"type":"number","minimum":9223372036854775807})", "18446744073709551615"));
  CHECK_FALSE(validates(R"({"maximum":9223372036854775807})", "18446744073709551615"));
  CHECK(validates(R"({"maximum":1e300})", "18446744073709551615"));
  CHECK(validates(R"({"const":1})", "1.0"));
  CHECK(validates(R"({"multipleOf":0.5})", "18446744073709551615"));
  CHECK(validates(R"({"multipleOf":3})", "9.0"));
  CHECK_FALSE(validates(R"({"multipleOf":3})", "10.0"));
  CHECK_FALSE(validates(R"({"multipleOf":3})", "18446744073709551615"));  // no int64 form: invalid
}

TEST_CASE("simdjson adapter: arrays and objects", "[schema][simdjson_adapter]") {
  simdjson::dom::parser parser;
  const auto root = parse_json(parser, R"({"z":1,"a":[10,20,30,[40]],"m":{"k":"v"},"z2":null})");
  const SimdjsonAdapter doc(root);
  REQUIRE(doc.isObject());
  CHECK(doc.getObjectSize() == 4);

  // Members come in document order.
  std::vector<std::string> keys;
  for (const auto& member : doc.getObject()) keys.push_back(member.first);
  CHECK(keys == std::vector<std::string>{"z", "a", "m", "z2"});
  keys.clear();
  CHECK(doc.applyToObject([&](const std::string& k, const valijson::adapters::Adapter&) {
    keys.push_back(k);
    return true;
  }));
  CHECK(keys == std::vector<std::string>{"z", "a", "m", "z2"});

  const SimdjsonObject obj = doc.getObject();
  CHECK(obj.find("z2") != obj.end());
  CHECK((*obj.find("z2")).second.isNull());
  CHECK(obj.find("zz") == obj.end());
  CHECK(obj.find("") == obj.end());
  CHECK(obj.find("m")->second.getObject().find("k")->second.getString() == "v");

  const SimdjsonAdapter arr = obj.find("a")->second;
  REQUIRE(arr.isArray());
  CHECK(arr.getArraySize() == 4);
  std::vector<int64_t> values;
  CHECK(arr.applyToArray([&](const valijson::adapters::Adapter& a) {
    if (a.isInteger()) values.push_back(a.getInteger());
    return true;
  }));
  CHECK(values == std::vector<int64_t>{10, 20, 30});

  // JSON Pointer resolution walks both containers (and array iterator advance()).
  using valijson::internal::json_pointer::resolveJsonPointer;
  CHECK(resolveJsonPointer(doc, "/a/2").getInteger() == 30);
  CHECK(resolveJsonPointer(doc, "/a/3/0").getInteger() == 40);
  CHECK(resolveJsonPointer(doc, "/m/k").getString() == "v");
  CHECK_THROWS(resolveJsonPointer(doc, "/a/9"));
}

TEST_CASE("simdjson adapter: strings with NUL and unicode", "[schema][simdjson_adapter]") {
  simdjson::dom::parser parser;
  const auto root = parse_json(
      parser, R"({"a\u0000b":"x\u0000y","a":"caf\u00e9 \ud83d\ude00","\u00e9":1,"plain":"a"})");
  const SimdjsonAdapter doc(root);
  const std::string nul_key("a\0b", 3);
  const std::string nul_value("x\0y", 3);

  const SimdjsonObject obj = doc.getObject();
  REQUIRE(obj.find(nul_key) != obj.end());
  CHECK(obj.find(nul_key)->second.getString() == nul_value);
  CHECK(obj.find(nul_key)->second.getString().size() == 3);
  CHECK(obj.find("a")->second.getString() == "caf\xc3\xa9 \xf0\x9f\x98\x80");
  CHECK(obj.find("\xc3\xa9")->second.getInteger() == 1);
  CHECK(std::string(obj.begin()->first) == nul_key);  // key copied with its length

  // Embedded NUL is significant to comparisons and keywords.
  CHECK(validates(R"({"const":"x\u0000y"})", R"("x\u0000y")"));
  CHECK_FALSE(validates(R"({"const":"x\u0000y"})", R"("x")"));
  CHECK_FALSE(validates(R"({"enum":["x"]})", R"("x\u0000y")"));
  CHECK(validates(R"({"propertyNames":{"const":"a\u0000b"}})", R"({"a\u0000b":1})"));
  CHECK_FALSE(validates(R"({"propertyNames":{"const":"a"}})", R"({"a\u0000b":1})"));
  // (valijson 1.0 itself stops at a NUL in names given to required/properties/dependencies
  // and when counting minLength/maxLength, so those keywords are not tested with NULs here.)
  CHECK(validates(R"({"maxLength":1})", R"("\ud83d\ude00")"));  // one code point, 4 bytes
  CHECK_FALSE(validates(R"({"minLength":2})", R"("\u00e9")"));
}

TEST_CASE("simdjson adapter: frozen values own their copy", "[schema][simdjson_adapter]") {
  std::unique_ptr<valijson::adapters::FrozenValue> frozen, clone;
  {
    simdjson::dom::parser parser;
    const auto root = parse_json(parser, R"({"b":[1,2.5,"s\u0000"],"a":{"n":null,"t":true}})");
    frozen.reset(SimdjsonAdapter(root).freeze());
    // Reuse the parser for something else so the original buffers are overwritten.
    (void)parse_json(parser, R"([0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0])");
  }  // the original document is gone
  clone.reset(frozen->clone());

  simdjson::dom::parser parser;
  const auto same_reordered = parse_json(parser, R"({"a":{"t":true,"n":null},"b":[1.0,2.5,"s\u0000"]})");
  CHECK(frozen->equalTo(SimdjsonAdapter(same_reordered), true));
  CHECK(clone->equalTo(SimdjsonAdapter(same_reordered), true));
  frozen.reset();
  CHECK(clone->equalTo(SimdjsonAdapter(same_reordered), true));  // clones outlive the original

  simdjson::dom::parser p2;
  CHECK_FALSE(clone->equalTo(SimdjsonAdapter(parse_json(p2, R"({"a":{"t":true,"n":null},"b":[2.5,1,"s\u0000"]})")), true));
  CHECK_FALSE(clone->equalTo(SimdjsonAdapter(parse_json(p2, R"({"a":{"t":true,"n":null},"b":[1,2.5,"s"]})")), true));
  CHECK_FALSE(clone->equalTo(SimdjsonAdapter(parse_json(p2, R"({"a":{"t":true},"b":[1,2.5,"s\u0000"]})")), true));
  CHECK_FALSE(clone->equalTo(SimdjsonAdapter(parse_json(p2, R"([1])")), true));

  // Scalars, including values that only compare equal as numbers.
  simdjson::dom::parser p3;
  const auto scalars = parse_json(p3, R"([1, 1.0, "1", true, null, 18446744073709551615, 1.8446744073709552e19])");
  std::vector<SimdjsonAdapter> v;
  for (const SimdjsonAdapter a : SimdjsonAdapter(scalars).getArray()) v.push_back(a);
  const std::unique_ptr<valijson::adapters::FrozenValue> one(v[0].freeze());
  CHECK(one->equalTo(v[1], true));
  CHECK_FALSE(one->equalTo(v[2], true));
  CHECK(one->equalTo(v[2], false));  // valijson's loose comparison
  CHECK_FALSE(one->equalTo(v[3], true));
  const std::unique_ptr<valijson::adapters::FrozenValue> null_v(v[4].freeze());
  CHECK(null_v->equalTo(v[4], true));
  CHECK_FALSE(null_v->equalTo(v[0], true));
  const std::unique_ptr<valijson::adapters::FrozenValue> big(v[5].freeze());
  CHECK(big->equalTo(v[5], true));
  CHECK(big->equalTo(v[6], true));  // same double value
}

TEST_CASE("simdjson adapter: schema errors are exceptions", "[schema][simdjson_adapter]") {
  simdjson::dom::parser parser;
  const auto bad = parse_json(parser, R"({"type":5})");
  valijson::Schema schema;
  valijson::SchemaParser schema_parser(valijson::SchemaParser::kDraft7);
  CHECK_THROWS_AS(schema_parser.populateSchema(SimdjsonAdapter(bad), schema), std::runtime_error);
  simdjson::dom::parser p2;
  const auto remote = parse_json(p2, R"({"$ref":"http://example.invalid/s.json"})");
  valijson::Schema schema2;
  CHECK_THROWS_AS(schema_parser.populateSchema(SimdjsonAdapter(remote), schema2), std::runtime_error);
}

// ---------------------------------------------------------------------------------------------
// JSON-Schema-Test-Suite, draft 7 (required tests only: tests/draft7/*.json, not optional/).

namespace {


struct KnownFailure {
  const char* file;
  const char* group;
  const char* test;
  const char* reason;
};

// Every case valijson 1.0 gets wrong through this adapter, determined by running the suite (the
// RapidJSON adapter fails exactly the same cases). All are schema-loading errors. The test fails
// if any other case fails, or if one of these passes.
const KnownFailure kKnownFailures[] = {
    {"definitions.json", "valid definition", "valid definition schema",
     "$ref to the draft-07 meta-schema: valijson 1.0 bundles no meta-schema and remotes/ lacks it"},
    {"definitions.json", "invalid definition", "invalid definition schema",
     "$ref to the draft-07 meta-schema: valijson 1.0 bundles no meta-schema and remotes/ lacks it"},
    {"ref.json", "remote ref, containing refs itself", "remote ref valid",
     "$ref to the draft-07 meta-schema: valijson 1.0 bundles no meta-schema and remotes/ lacks it"},
    {"ref.json", "remote ref, containing refs itself", "remote ref invalid",
     "$ref to the draft-07 meta-schema: valijson 1.0 bundles no meta-schema and remotes/ lacks it"},
    {"ref.json", "Recursive references between schemas", "valid tree",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"node\""},
    {"ref.json", "Recursive references between schemas", "invalid tree",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"node\""},
    {"refRemote.json", "base URI change", "base URI change ref valid",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"folderInteger.json\""},
    {"refRemote.json", "base URI change", "base URI change ref invalid",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"folderInteger.json\""},
    {"refRemote.json", "base URI change - change folder", "number is valid",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"folderInteger.json\""},
    {"refRemote.json", "base URI change - change folder", "string is invalid",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"folderInteger.json\""},
    {"refRemote.json", "base URI change - change folder in subschema", "number is valid",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"folderInteger.json\""},
    {"refRemote.json", "base URI change - change folder in subschema", "string is invalid",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"folderInteger.json\""},
    {"refRemote.json", "root ref in remote ref", "string is valid",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"name.json\""},
    {"refRemote.json", "root ref in remote ref", "null is valid",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"name.json\""},
    {"refRemote.json", "root ref in remote ref", "object is invalid",
     "valijson 1.0 drops the $id base URI for this relative $ref and fetches the bare \"name.json\""},
};

using CaseKey = std::tuple<std::string, std::string, std::string>;

// Remote documents for $ref, parsed once and kept for the life of the test binary.
std::map<std::string, std::unique_ptr<simdjson::dom::document>>& remote_store() {
  static std::map<std::string, std::unique_ptr<simdjson::dom::document>> store;
  return store;
}

// The suite serves remotes/ as http://localhost:1234/.
const simdjson::dom::document* fetch_remote(const std::string& uri) {
  static constexpr std::string_view kPrefix = "http://localhost:1234/";
  if (uri.compare(0, kPrefix.size(), kPrefix) != 0) return nullptr;
  std::string rel = uri.substr(kPrefix.size());
  rel = rel.substr(0, rel.find_first_of("#?"));
  if (rel.empty() || rel.find("..") != std::string::npos) return nullptr;

  auto& store = remote_store();
  if (auto it = store.find(rel); it != store.end()) return it->second.get();

  simdjson::padded_string text;
  if (simdjson::padded_string::load((std::filesystem::path(JSON_SCHEMA_TEST_SUITE_DIR) / "remotes" / rel).string()).get(text)) return nullptr;
  auto doc = std::make_unique<simdjson::dom::document>();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse_into_document(*doc, text).get(root)) return nullptr;
  return store.emplace(rel, std::move(doc)).first->second.get();
}

void free_remote(const simdjson::dom::document*) {}  // the store owns fetched documents


}  // namespace

TEST_CASE("simdjson adapter: JSON-Schema-Test-Suite draft7 via valijson", "[schema][simdjson_adapter][suite]") {
  const auto started = std::chrono::steady_clock::now();
  std::map<CaseKey, const KnownFailure*> known;
  for (const auto& k : kKnownFailures) {
    INFO("duplicate known failure: " << k.file << " / " << k.group << " / " << k.test);
    CHECK(known.emplace(CaseKey{k.file, k.group, k.test}, &k).second);
  }
  std::set<CaseKey> known_seen;

  size_t passes = 0, known_failed = 0;
  std::unique_ptr<valijson::Schema> schema;
  std::string schema_error;
  const size_t cases = agentlog::test::for_each_suite_case([&](const agentlog::test::SuiteCase& c, bool first) {
    if (first) {
      schema = std::make_unique<valijson::Schema>();
      schema_error.clear();
      try {
        valijson::SchemaParser schema_parser(valijson::SchemaParser::kDraft7);
        schema_parser.populateSchema(SimdjsonAdapter(c.schema), *schema, fetch_remote, free_remote);
      } catch (const std::exception& e) {
        schema_error = std::string("schema parse threw: ") + e.what();
      }
    }
    std::string detail = schema_error;
    bool ok = false;
    if (schema_error.empty()) {
      try {
        valijson::Validator validator;
        valijson::ValidationResults results;
        const bool valid = validator.validate(*schema, SimdjsonAdapter(c.data), &results);
        ok = valid == c.valid;
        if (!ok) detail = std::string("valijson says ") + (valid ? "valid" : "invalid");
      } catch (const std::exception& e) {
        detail = std::string("validation threw: ") + e.what();
      }
    }

    const CaseKey key{c.file, c.group, c.test};
    const auto k = known.find(key);
    if (k != known.end()) known_seen.insert(key);
    if (ok) {
      ++passes;
      if (k != known.end()) {
        FAIL_CHECK("known failure now passes (remove it from kKnownFailures): " << c.file << " / " << c.group << " / "
                                                                               << c.test);
      }
    } else if (k != known.end()) {
      ++known_failed;
    } else {
      FAIL_CHECK("unexpected failure: " << c.file << " / " << c.group << " / " << c.test << " (expected "
                                        << (c.valid ? "valid" : "invalid") << "; " << detail << ")");
    }
  });
  REQUIRE(cases > 0);

  for (const auto& [key, k] : known) {
    if (!known_seen.count(key)) {
      FAIL_CHECK("kKnownFailures names a case the suite does not have: " << k->file << " / " << k->group << " / "
                                                                          << k->test);
    }
  }

  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  WARN("draft7 via valijson: " << cases << " cases, " << passes << " pass, "
                               << known_failed << " known failures (" << ms << " ms)");
  CHECK(cases == passes + known_failed);
  CHECK(known_failed == std::size(kKnownFailures));
}
