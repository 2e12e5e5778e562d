#include <catch2/catch.hpp>

#include <cstring>
#include <functional>

#include "core/pipeline.h"
#include "core/plugin.h"
#include "core/record.h"
#include "core/top_fields.h"

using namespace agentlog;

namespace {
// Input bytes must stay readable SIMDJSON_PADDING past the end, as in the reader's buffer.
std::string padded(std::string s) {
  s.reserve(s.size() + simdjson::SIMDJSON_PADDING);
  return s;
}
}  // namespace

TEST_CASE("an unedited record keeps its original bytes", "[record]") {
  std::string line = padded(R"({ "b" : 1.50 , "a": "x" })");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  CHECK_FALSE(r.edited());
  CHECK(r.bytes() == line);
  CHECK(r.bytes().data() == line.data());  // no copy
  std::string_view a;
  REQUIRE(r.root()["a"].get(a) == simdjson::SUCCESS);
  CHECK(a == "x");
}

TEST_CASE("top-level edits splice the bytes", "[record]") {
  std::string line = padded(R"({"b" : 1.50, "a":{"x":[1,2]}, "c":"keep"})");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  r.set_member_string("a", "replaced");
  CHECK(r.bytes() == R"({"b" : 1.50, "a":"replaced", "c":"keep"})");
  r.set_member_raw("added", R"({"n":1})");
  CHECK(r.bytes() == R"({"b" : 1.50, "a":"replaced", "c":"keep","added":{"n":1}})");
  // The parsed view follows the edits.
  int64_t n = 0;
  REQUIRE(r.root()["added"]["n"].get(n) == simdjson::SUCCESS);
  CHECK(n == 1);
  CHECK(r.edited());
  CHECK(line == R"({"b" : 1.50, "a":{"x":[1,2]}, "c":"keep"})");  // the input is untouched
}

TEST_CASE("adding to an empty object needs no comma", "[record]") {
  std::string line = padded("{ }");
  Record r;
  r.reset_borrowed(line);
  r.set_member_string("k", "v\"q");
  CHECK(r.bytes() == R"({ "k":"v\"q"})");
  REQUIRE(r.parse() == simdjson::SUCCESS);
}

TEST_CASE("deep edits go through the tree and keep key order", "[record]") {
  std::string line = padded(R"({"z":1,"details":{"cmd":"ls","b":2},"a":3.0})");
  Record r;
  r.reset_borrowed(line);
  json::Value& t = r.tree();
  t.find("details")->set("cmd", json::Value::string("redacted"));
  CHECK(r.bytes() == R"({"z":1,"details":{"cmd":"redacted","b":2},"a":3.0})");
  CHECK(r.remove_member("z"));
  CHECK(r.bytes() == R"({"details":{"cmd":"redacted","b":2},"a":3.0})");
  std::string_view cmd;
  REQUIRE(r.root()["details"]["cmd"].get(cmd) == simdjson::SUCCESS);
  CHECK(cmd == "redacted");
}

TEST_CASE("reset clears verdicts and edits", "[record]") {
  std::string a = padded(R"({"a":1})"), b = padded(R"({"b":2})");
  Record r;
  r.reset_borrowed(a);
  r.set_member_raw("x", "1");
  r.verdict = Verdict::Drop;
  r.reason = "why";
  r.reset_borrowed(b);
  CHECK(r.bytes() == b);
  CHECK(r.verdict == Verdict::Keep);
  CHECK(r.reason.empty());
  CHECK_FALSE(r.edited());
}

TEST_CASE("added members are held aside yet visible to top_member, and joined on output", "[record]") {
  uint32_t a = TopFieldRegistry::intern("rt_a");
  uint32_t note = TopFieldRegistry::intern("rt_note");
  uint32_t absent = TopFieldRegistry::intern("rt_absent");
  std::string line = padded(R"({"rt_a":"x","rt_a":"second","n":1 } )");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  std::string_view s;
  REQUIRE(r.top_member(a));
  REQUIRE(r.top_member(a)->get(s) == simdjson::SUCCESS);
  CHECK(s == "x");  // the first of duplicate keys, as at_key
  CHECK(r.top_member(note) == nullptr);
  r.add_member_raw("rt_note", R"({"k":[1,"two"]})");
  r.add_member_raw("unregistered", "true");
  CHECK(r.edited());
  // Existing members keep resolving; the added one is found too.
  REQUIRE(r.top_member(a)->get(s) == simdjson::SUCCESS);
  CHECK(s == "x");
  REQUIRE(r.top_member(note));
  REQUIRE((*r.top_member(note))["k"].at(1).get(s) == simdjson::SUCCESS);
  CHECK(s == "two");
  CHECK(r.top_member(absent) == nullptr);
  // A later addition is found as well (the held-aside part is parsed again).
  r.add_member_raw("rt_absent", "7");
  int64_t seven = 0;
  REQUIRE(r.top_member(absent));
  REQUIRE(r.top_member(absent)->get(seven) == simdjson::SUCCESS);
  CHECK(seven == 7);
  CHECK(r.bytes() == R"({"rt_a":"x","rt_a":"second","n":1 ,"rt_note":{"k":[1,"two"]},"unregistered":true,"rt_absent":7} )");
  // After joining, the parsed view includes them.
  int64_t k0 = 0;
  REQUIRE(r.root()["rt_note"]["k"].at(0).get(k0) == simdjson::SUCCESS);
  CHECK(k0 == 1);
  REQUIRE(r.top_member(absent));
}

TEST_CASE("an added member on an empty object needs no comma; splices join held members first", "[record]") {
  std::string empty = padded("{ }");
  Record r;
  r.reset_borrowed(empty);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  r.add_member_raw("x", "1");
  r.add_member_raw("y", "2");
  CHECK(r.bytes() == R"({ "x":1,"y":2})");

  std::string line = padded(R"({"a":1})");
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  r.add_member_raw("b", "2");
  r.set_member_raw("a", "3");
  CHECK(r.bytes() == R"({"a":3,"b":2})");
  // Reuse from a pool forgets everything held.
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  CHECK_FALSE(r.edited());
  CHECK(r.bytes() == line);
}

// A pool slot is reused for the records a stage emits (normalize's expanded records): the
// fresh record must not see the last user's top-member cache, held-aside members or flags.
TEST_CASE("an emitted record in a reused pool slot starts with a clean cache and appendix", "[record]") {
  uint32_t a = TopFieldRegistry::intern("rx_a");
  uint32_t b = TopFieldRegistry::intern("rx_b");
  uint32_t note = TopFieldRegistry::intern("rx_note");
  RecordPool pool;
  Batch batch(pool);
  std::string line = padded(R"({"rx_a":"old","rx_b":1})");
  Record* first = pool.acquire();
  first->reset_borrowed(line);
  REQUIRE(first->parse() == simdjson::SUCCESS);
  REQUIRE(first->top_member(a));
  first->add_member_raw("rx_note", "\"held\"");  // held aside, not joined yet
  REQUIRE(first->top_member(note));
  first->verdict = Verdict::Drop;
  pool.release_all();

  Record origin;
  std::string oline = padded(R"({"o":1})");
  origin.reset_borrowed(oline);
  origin.source = 3;
  origin.line = 42;
  Record& g = batch.emit_expanded(R"({"rx_b":2})", origin);
  REQUIRE(&g == first);  // the same slot
  CHECK(g.generated);
  CHECK(g.expanded);
  CHECK_FALSE(g.diagnostic());
  CHECK(g.source == 3);
  CHECK(g.line == 42);
  CHECK(g.verdict == Verdict::Keep);
  CHECK(g.top_member(a) == nullptr);     // the old record's member is gone
  CHECK(g.top_member(note) == nullptr);  // and so is its held-aside one
  int64_t v = 0;
  REQUIRE(g.top_member(b));
  REQUIRE(g.top_member(b)->get(v) == simdjson::SUCCESS);
  CHECK(v == 2);
  // A later stage's annotation is held aside on the new record and joined on output.
  g.add_member_raw("rx_note", "\"new\"");
  std::string_view s;
  REQUIRE(g.top_member(note));
  REQUIRE(g.top_member(note)->get(s) == simdjson::SUCCESS);
  CHECK(s == "new");
  CHECK(g.bytes() == R"({"rx_b":2,"rx_note":"new"})");
  REQUIRE(batch.pending.size() == 1);
  CHECK(batch.pending[0].after == &origin);

  // A diagnostic emitted into a slot that held an expanded record is not expanded.
  pool.release_all();
  batch.pending.clear();
  Record& w = batch.emit(R"({"event_type":"lifecycle_violation"})");
  REQUIRE(&w == first);
  CHECK(w.generated);
  CHECK_FALSE(w.expanded);
  CHECK(w.diagnostic());
  CHECK(w.top_member(b) == nullptr);
}

TEST_CASE("replace_tree swaps in a whole new record, held-aside members included", "[record]") {
  uint32_t a = TopFieldRegistry::intern("rr_a");
  uint32_t note = TopFieldRegistry::intern("rr_note");
  std::string line = padded(R"({"rr_a":"old","b":1})");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  REQUIRE(r.top_member(a) != nullptr);
  r.add_member_raw("rr_note", "true");
  // A stage parsed the bytes (appendix joined), edited its copy and hands it back.
  auto copy = json::parse(r.bytes());
  REQUIRE(copy);
  copy->set("rr_a", json::Value::string("new"));
  r.replace_tree(std::move(*copy));
  CHECK(r.edited());
  CHECK(r.bytes() == R"({"rr_a":"new","b":1,"rr_note":true})");
  std::string_view s;
  REQUIRE(r.top_member(a) != nullptr);
  REQUIRE(r.top_member(a)->get(s) == simdjson::SUCCESS);
  CHECK(s == "new");
  CHECK(r.top_member(note) != nullptr);
}

TEST_CASE("a prepared name adds the same member as the plain one", "[record]") {
  PreparedName name("rp_note");
  CHECK(name.member_prefix == ",\"rp_note\":");
  CHECK(name.id == TopFieldRegistry::find("rp_note"));
  for (std::string line : {R"({"a":1})", R"({})", R"({"a":{"b":[1,2]}})"}) {
    std::string text = padded(line);
    Record plain, prepared;
    plain.reset_borrowed(text);
    prepared.reset_borrowed(text);
    REQUIRE(plain.parse() == simdjson::SUCCESS);
    REQUIRE(prepared.parse() == simdjson::SUCCESS);
    plain.add_member_raw("rp_note", R"({"x":"y"})");
    prepared.add_member_text(name, name.member_prefix + R"({"x":"y"})");
    REQUIRE(prepared.top_member(name.id) != nullptr);
    CHECK(prepared.top_member(name.id)->is_object());
    CHECK(prepared.bytes() == plain.bytes());
  }
  // Not parsed, or edited as a tree: the value after the prefix goes the plain way.
  std::string text = padded(R"({"a":1})");
  Record r;
  r.reset_borrowed(text);
  r.add_member_text(name, name.member_prefix + "2");
  CHECK(r.bytes() == R"({"a":1,"rp_note":2})");
  Record t;
  t.reset_borrowed(text);
  REQUIRE(t.parse() == simdjson::SUCCESS);
  t.tree();
  t.add_member_text(name, name.member_prefix + "[true]");
  CHECK(t.bytes() == R"({"a":1,"rp_note":[true]})");
}

// Rendered in place (member_text_room + commit_member_text): the same member as
// add_member_text, also after other members held aside and past the buffer's first size.
TEST_CASE("a member written in place equals the one added as text", "[record]") {
  PreparedName name("rp_inplace");
  PreparedName other("rp_other");
  for (size_t len : {1, 200, 5000}) {
    const std::string value = "\"" + std::string(len, 'v') + "\"";
    const std::string member = name.member_prefix + value;
    std::string text = padded(R"({"a":1})");
    Record copied, in_place;
    copied.reset_borrowed(text);
    in_place.reset_borrowed(text);
    REQUIRE(copied.parse() == simdjson::SUCCESS);
    REQUIRE(in_place.parse() == simdjson::SUCCESS);
    copied.add_member_text(other, other.member_prefix + "7");
    in_place.add_member_text(other, other.member_prefix + "7");
    copied.add_member_text(name, member);
    char* room = in_place.member_text_room(member.size() + 40);
    REQUIRE(room != nullptr);
    std::memcpy(room, member.data(), member.size());
    in_place.commit_member_text(name, member.size());
    REQUIRE(in_place.top_member(name.id) != nullptr);
    std::string_view got;
    REQUIRE(in_place.top_member(name.id)->get(got) == simdjson::SUCCESS);
    CHECK(got.size() == len);
    CHECK(in_place.bytes() == copied.bytes());
    CHECK(in_place.bytes() == R"({"a":1,"rp_other":7,"rp_inplace":)" + value + "}");
  }
  // Not parsed, or edited as a tree: no room (the caller adds the member as text).
  std::string text = padded(R"({"a":1})");
  Record r;
  r.reset_borrowed(text);
  CHECK(r.member_text_room(16) == nullptr);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  r.tree();
  CHECK(r.member_text_room(16) == nullptr);
}

#include "core/field_path.h"

// FieldSet reads the record's shared member cache in one go; a registered member added
// after the parse (held aside) takes the per-name path. Both must see the same fields.
TEST_CASE("FieldSet sees parsed members, nested paths and members added since the parse", "[record]") {
  FieldSet fs;
  auto path = [](std::string_view text) {
    FieldPath p;
    REQUIRE(parse_field_path(text, p));
    return p;
  };
  size_t a = fs.add(path("fs_a")), nested = fs.add(path("fs_obj.inner")), added = fs.add(path("fs_added")),
         absent = fs.add(path("fs_absent"));
  std::string line = padded(R"({"fs_a":"x","fs_obj":{"inner":7},"other":1})");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  fs.extract(r);
  CHECK(fs.str(a) == "x");
  REQUIRE(fs[nested]);
  CHECK(fs[nested]->get_int64().value() == 7);
  CHECK_FALSE(fs[added]);
  CHECK_FALSE(fs[absent]);
  r.add_member_raw("fs_added", R"("late")");
  fs.extract(r);
  CHECK(fs.str(a) == "x");
  CHECK(fs[nested]->get_int64().value() == 7);
  CHECK(fs.str(added) == "late");
  CHECK_FALSE(fs[absent]);
}

TEST_CASE("the registry tells apart names that share their first byte and length", "[record]") {
  const std::string long_a = "tf_" + std::string(70, 'x');  // 73 bytes: in the "63 or more" entry
  const std::string long_b = "tf_" + std::string(69, 'x') + "y";
  const std::string mid = "tf_0123456789abcdef_z";  // 21 bytes: the memcmp past 16
  std::vector<std::string> names = {"tf_time", "tf_type", "tf_tame", long_a, long_b, mid, "Zq"};
  std::vector<uint32_t> ids;
  for (const auto& n : names) ids.push_back(TopFieldRegistry::intern(n));
  for (size_t i = 0; i < names.size(); ++i) CHECK(TopFieldRegistry::find(names[i]) == ids[i]);
  for (size_t i = 0; i < names.size(); ++i) CHECK(TopFieldRegistry::intern(names[i]) == ids[i]);  // no second id
  for (const std::string& other : std::vector<std::string>{"tf_tyme", "tf_tim", "tf_times", "Zr", "Zqq", "tf_" + std::string(71, 'x'),
                            "tf_0123456789abcdef_y", std::string("\x01") + "f_time"})
    CHECK(TopFieldRegistry::find(other) == TopFieldRegistry::kNone);
  // Through a record: registered members are found, the others are not.
  std::string text = padded(R"({"Zq":1,"tf_tyme":2,"tf_type":3,"tf_time":4})");
  Record r;
  r.reset_borrowed(text);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  REQUIRE(r.top_member(TopFieldRegistry::find("Zq")) != nullptr);
  CHECK(r.top_member(TopFieldRegistry::find("Zq"))->get_int64().value() == 1);
  CHECK(r.top_member(TopFieldRegistry::find("tf_type"))->get_int64().value() == 3);
  CHECK(r.top_member(TopFieldRegistry::find("tf_time"))->get_int64().value() == 4);
  CHECK(r.top_member(TopFieldRegistry::find("tf_tame")) == nullptr);
}

TEST_CASE("byte_pieces gives the joined bytes without joining the members held aside", "[record]") {
  auto joined = [](const Record::BytePieces& p) {
    return std::string(p.head) + std::string(p.held) + std::string(p.tail);
  };
  for (std::string text : {std::string(R"({"a":1})"), std::string("{ }"), std::string("{}"),
                           std::string("{\"a\":1 \n\t}  "), std::string(R"({"a":{"b":{}}})")}) {
    INFO(text);
    std::string line = padded(text);
    Record r;
    r.reset_borrowed(line);
    REQUIRE(r.parse() == simdjson::SUCCESS);
    Record::BytePieces none = r.byte_pieces();
    CHECK(none.head.data() == line.data());  // nothing held: the line itself, one piece
    CHECK(joined(none) == line);
    r.add_member_raw("x", "1");
    r.add_member_raw("y", R"({"z":"}"})");
    Record::BytePieces p = r.byte_pieces();
    CHECK(r.edited());
    std::string pieces = joined(p);
    CHECK(pieces == std::string(r.bytes()));  // bytes() joins: the same text
    simdjson::dom::parser parser;
    CHECK(parser.parse(pieces).error() == simdjson::SUCCESS);
  }
  // A record in tree form is serialised once; one piece.
  std::string line = padded(R"({"a":1})");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  r.tree().set("b", json::Value());
  Record::BytePieces p = r.byte_pieces();
  CHECK(p.held.empty());
  CHECK(p.tail.empty());
  CHECK(p.head == R"({"a":1,"b":null})");
}

TEST_CASE("a leaf hash set on a worker is forgotten by every edit", "[record]") {
  const Record::LeafHash h{1, 2, 3};
  std::string line = padded(R"({"a":1,"b":"x"})");
  PreparedName prepared("rl_prepared");
  std::vector<std::pair<const char*, std::function<void(Record&)>>> edits = {
      {"set_member_raw", [](Record& r) { r.set_member_raw("a", "2"); }},
      {"set_member_string", [](Record& r) { r.set_member_string("b", "y"); }},
      {"add_member_raw", [](Record& r) { r.add_member_raw("c", "3"); }},
      {"add_member_text", [&](Record& r) { r.add_member_text(prepared, prepared.member_prefix + "4"); }},
      {"member_text_room",
       [&](Record& r) {
         char* room = r.member_text_room(64);
         REQUIRE(room);
         std::string m = prepared.member_prefix + "5";
         std::memcpy(room, m.data(), m.size());
         r.commit_member_text(prepared, m.size());
       }},
      {"remove_member", [](Record& r) { r.remove_member("a"); }},
      {"tree", [](Record& r) { r.tree().set("d", json::Value()); }},
      {"replace_tree", [](Record& r) { r.replace_tree(*json::parse(R"({"e":1})")); }},
      {"reset_borrowed", [&](Record& r) { r.reset_borrowed(line); }},
      {"reset_owned", [](Record& r) { r.reset_owned(R"({"f":1})"); }},
  };
  for (auto& [name, edit] : edits) {
    INFO(name);
    Record r;
    r.reset_borrowed(line);
    REQUIRE(r.parse() == simdjson::SUCCESS);
    r.set_leaf_hash(h);
    REQUIRE(r.leaf_hash());
    CHECK(*r.leaf_hash() == h);
    r.bytes();  // reading is not an edit
    r.byte_pieces();
    CHECK(r.leaf_hash());
    edit(r);
    CHECK_FALSE(r.leaf_hash());
  }
}
