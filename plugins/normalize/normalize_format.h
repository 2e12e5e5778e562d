// What the per-format converters of stage `normalize` share: the canonical record they fill,
// the converter interface and helpers for targets, hashes, times and evidence URNs.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

namespace agentlog::plugins::normalize {

using simdjson::dom::element;
using simdjson::dom::object;

inline constexpr std::string_view kUnknown = "unknown";
inline constexpr std::string_view kNone = "none";
// Refs are always a hash or a URI (spec 002): these URNs say "there is no input/output" and
// "the log does not say".
inline constexpr std::string_view kNoRef = "urn:agentlog:none";
inline constexpr std::string_view kUnknownRef = "urn:agentlog:unknown";

// One canonical record: the 14 required fields of spec 002 (written first, in schema order),
// then the optional ones that are set.
struct Canon {
  std::string event_time, agent_id, agent_version, run_id;
  std::string_view event_type;
  std::string actor_id, tool_name, tool_action, tool_target, auth_context, input_ref, output_ref;
  std::string_view decision = "unknown";
  std::string evidence_ref;
  std::string action_id;       // empty: absent
  std::string_view phase;      // agent_run: start | end
  std::string turn_id;         // agent_run and escalation: the turn (lifecycle's optional run key)
  std::string error_code, model;
  int recursion_depth = -1;    // < 0: absent
  int64_t latency_ms = -1;     // < 0: absent
  std::string policy_id;         // the hook or rule that decided (spec 002 optional field)
  std::string parent_action_id;  // a subagent's records: the parent's call that started it
  double cost_estimate = -1;     // < 0: absent
};

// Where the line being converted came from.
struct LineRef {
  std::string_view source;  // source name as given ("-" is stdin)
  uint32_t source_index = 0;
  uint64_t line = 0;
  std::string_view run_id_option;  // the stage's `run_id` option ("" when unset)
  std::string_view bytes;          // the line's text
};

// A record a format held back and releases later (a turn start waiting for its context, a
// run closed at its last event): it belongs to an earlier line, possibly of an earlier source.
struct HeldRecord {
  std::string record;
  uint32_t source_index = 0;
  uint64_t line = 0;
};

// What one source line became.
struct Converted {
  std::string type;                  // the line's type, for the per-type counts
  bool known_type = true;            // false: counted in unknown_types too
  std::vector<HeldRecord> released;  // records of earlier lines, emitted before `records`
  std::vector<std::string> records;  // canonical records (JSON objects)
  std::string why;                   // set when the line is structurally invalid: dead-lettered
  // The line each record belongs to, when a format writes records for earlier lines too (the
  // same length as `records`; empty: every record belongs to the line converted). Dead letters
  // and `check` cite it.
  struct Origin {
    uint32_t source_index = 0;
    uint64_t line = 0;
  };
  std::vector<Origin> origins;
};

class Format {
 public:
  virtual ~Format() = default;
  // Converts one line (a JSON object). Fills `out`; sets out.why when the line cannot be used.
  virtual void convert(object line, const LineRef& ref, Converted& out) = 0;
  // End of input: the records the format still holds, in order (runs that end with their
  // transcript or trajectory), with the source line each belongs to.
  using Held = HeldRecord;
  virtual void finish(std::vector<HeldRecord>& /*out*/) {}
};

// `format: auto`: the format of a source told from its first record: a format name
// ("claude-code", "codex", ...), one of the spec families below (records that need no
// normalising: they pass through), or "" when it is none of them.
inline constexpr std::string_view kAgentActivity = "agent-activity";  // spec 002
inline constexpr std::string_view kActionEvent = "action-event";      // spec 000
inline constexpr std::string_view kActionLog = "action-log";          // spec 001
std::string_view detect_format(object line);

// A SWE-agent run's prediction record (preds.json, all_preds.jsonl), not a trajectory.
bool is_swe_agent_prediction(object record);

std::unique_ptr<Format> make_claude_code_format();
std::unique_ptr<Format> make_claude_stream_json_format();
std::unique_ptr<Format> make_codex_format();
std::unique_ptr<Format> make_openhands_format();
std::unique_ptr<Format> make_swe_agent_format();

// ---- helpers (format_helpers.cc) --------------------------------------------------------------

// Appends the record as JSON (`details` holds the source name and line).
void render(const Canon& event, const LineRef& ref, std::string_view entry_type, std::string& out);

// The string member `key` of `o`, or nullopt when missing or not a string.
std::optional<std::string_view> str_at(object o, std::string_view key);
std::optional<object> obj_at(object o, std::string_view key);
// The boolean member `key` of `o`; false when missing or not a boolean.
inline bool bool_at(object o, std::string_view key) {
  bool b = false;
  return o[key].get(b) == simdjson::SUCCESS && b;
}

// "sha256:<hex>" of bytes.
std::string sha256_ref(std::string_view bytes);
// The raw text of the JSON value starting at `pos` of `text` (valid JSON), when it is already
// exactly what simdjson's minifier writes for it (no whitespace, integers only, escapes only
// \" \\ \b \f \n \r \t); nullopt otherwise. Hashing it equals hashing json_ref's text,
// without serialising the value again.
std::optional<std::string_view> canonical_json_at(std::string_view text, size_t pos);
// "sha256:<hex>" of a value: of a string's bytes, else of its minified JSON text.
std::string content_ref(element v);
// "sha256:<hex>" of the minified JSON text of a value (key order as in the source).
std::string json_ref(element v);

// An RFC 3339 time (with offset or `Z`; without one it is read as UTC, as OpenHands writes
// it) as YYYY-MM-DDTHH:MM:SS.mmmZ with its epoch milliseconds; nullopt when unreadable.
std::optional<std::pair<std::string, int64_t>> normalize_time(std::string_view text);
// A line's `timestamp` (`ts`: its string, nullopt when missing or not a string) normalised;
// nullopt with `why` naming the problem, `format` the kind of time expected ("RFC 3339").
std::optional<std::pair<std::string, int64_t>> line_time(std::optional<std::string_view> ts, std::string_view format,
                                                          std::string& why);

// The program an argv runs: argv[0]'s base name, or for `bash -lc SCRIPT` (sh, zsh, dash;
// -c, -lc, -ic) the program of the script.
std::string argv_program(simdjson::dom::array argv);
// The program a command line runs: the first word after NAME=value assignments, without
// quotes and directory; never arguments. "unknown" when it is not a plain program name.
std::string program_name(std::string_view command);
// The host of an absolute URL (no user info, port or path), lower case; "unknown" otherwise.
std::string url_host(std::string_view url);
// A value from the log that is an identifier (letters, digits, ._:/@+-, at most 64 bytes), or
// `fallback`: keeps free text out of ids, error codes and the stats.
std::string_view ident_or(std::string_view s, std::string_view fallback);
// A line type for the stats and details.entry: lower-case letters, digits, `_.-`, at most 40
// bytes and 4 digits (so no token-like value reaches the stats), else "(other)".
std::string_view type_word(std::string_view s);
// "urn:agentlog:<format>:<part>:<part>..." with each part percent-encoded as needed.
std::string evidence_urn(std::string_view format, std::initializer_list<std::string_view> parts);
// The source's file name without directory and extension ("stdin" for "-").
std::string source_stem(std::string_view source);

// A bounded map from call ids to what the result needs to know about its call; the oldest
// entries are forgotten beyond `cap`.
struct CallInfo {
  std::string tool_name, tool_action, tool_target, input_ref;
  int64_t time_ms = INT64_MIN;
};
class CallTable {
 public:
  explicit CallTable(size_t cap = 100000) : cap_(cap) {}
  void put(std::string id, CallInfo info);
  // Removes the call `id` and gives its result what it knew: tool, target, input_ref and,
  // when both times are known, the latency. An unknown id leaves `result` as it is.
  void answer(std::string_view id, int64_t now_ms, Canon& result);
  const CallInfo* find(std::string_view id) const {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : &it->second;
  }
  void clear() {
    calls_.clear();
    order_.clear();
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  size_t cap_;
  std::unordered_map<std::string, CallInfo, Hash, std::equal_to<>> calls_;
  std::deque<std::string> order_;
};

}  // namespace agentlog::plugins::normalize
