// gen_activity: deterministic generator of realistic "Agent Activity Log
// Format" JSONL for benchmarking and testing agentlog.
//
// Usage:
//   gen_activity [--lines N] [--seed S] [--malformed-per-million M]
//                [--secrets-per-million K] [--schema-faults-per-million F]
//                [--unclassified-per-million U] [--id-reuse-per-million R]
//                [--faults] [--clean] [--out PATH]
//
// Defaults: N=1000000, S=42, M=1000 (0.1%), K=10000 (1%), F=U=R=0, output to stdout.
// --faults sets F=4000, U=1000, R=2000 (the checks' fault mix: schema-invalid records,
// records of no family and action ids reused by another agent in another run). --clean
// writes the same records with every fault left out (malformed lines and the faults above
// are drawn as before but not applied), so it is the fault-free copy of the same arguments
// without --clean. With F=U=R=0 the output is byte-identical to earlier versions.
//
// Output is byte-identical for the same arguments on every platform: the
// generator uses its own PRNG (splitmix64 seeding xoshiro256**), integer-only
// arithmetic (no floating point, no <random> distributions) and hand-written
// formatting (no locale-dependent printf).
//
// Secrets are fake/example values only (AWS documentation example key,
// random token-shaped strings, "hunter2", a JWT-shaped random string).
//
// Standard library only.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace {

// ---------------------------------------------------------------- PRNG ----

struct Rng {
  uint64_t s[4];

  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& v : s) v = splitmix64(x);
  }

  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  // xoshiro256**
  uint64_t next() {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  // Uniform-ish integer in [0, n) (multiply-shift; deterministic everywhere).
  // Portable high half of a 64x64-bit product (no __int128 needed).
  static uint64_t mulhi64(uint64_t a, uint64_t b) {
    const uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
    const uint64_t b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
    const uint64_t lo_lo = a_lo * b_lo;
    const uint64_t hi_lo = a_hi * b_lo;
    const uint64_t lo_hi = a_lo * b_hi;
    const uint64_t hi_hi = a_hi * b_hi;
    const uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
    return hi_hi + (hi_lo >> 32) + (cross >> 32);
  }

  uint64_t below(uint64_t n) { return mulhi64(next(), n); }

  // Integer in [lo, hi].
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }

  // True with probability num/den.
  bool chance(uint64_t num, uint64_t den) { return below(den) < num; }

  template <class T, size_t N>
  const T& pick(const T (&arr)[N]) {
    return arr[below(N)];
  }
};

// ------------------------------------------------------------- writer ----

constexpr char kHex[] = "0123456789abcdef";
constexpr char kAlnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr char kB64Url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Appends into a fixed scratch buffer (one record, always < 4 KiB).
struct Line {
  char buf[8192];
  size_t n = 0;

  void clear() { n = 0; }
  void put(std::string_view s) {
    std::memcpy(buf + n, s.data(), s.size());
    n += s.size();
  }
  void put(char c) { buf[n++] = c; }
  void put_uint(uint64_t v) {
    char tmp[24];
    int i = 0;
    do {
      tmp[i++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (i) buf[n++] = tmp[--i];
  }
  void put_uint_pad(uint64_t v, int width) {
    char tmp[24];
    int i = 0;
    do {
      tmp[i++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (i < width) tmp[i++] = '0';
    while (i) buf[n++] = tmp[--i];
  }
  void put_hex(Rng& r, int count) {
    while (count > 0) {
      uint64_t x = r.next();
      for (int k = 0; k < 16 && count > 0; ++k, --count) {
        buf[n++] = kHex[x & 15];
        x >>= 4;
      }
    }
  }
  void put_hex_of(uint64_t x, int count) {
    for (int k = count - 1; k >= 0; --k) buf[n++] = kHex[(x >> (4 * k)) & 15];
  }
  void put_chars(Rng& r, const char* alphabet, uint64_t alen, int count) {
    for (int k = 0; k < count; ++k) buf[n++] = alphabet[r.below(alen)];
  }
  // Fixed-point decimal: value / 10^frac_digits, e.g. (123, 4) -> "0.0123".
  void put_fixed(uint64_t value, int frac_digits) {
    uint64_t div = 1;
    for (int i = 0; i < frac_digits; ++i) div *= 10;
    put_uint(value / div);
    put('.');
    put_uint_pad(value % div, frac_digits);
  }
  // Helpers for "key": fields. Keys and most values are trusted literals that
  // are already valid JSON string content.
  void key(std::string_view k) {
    put('"');
    put(k);
    put("\":");
  }
  void kv(std::string_view k, std::string_view v) {
    key(k);
    put('"');
    put(v);
    put('"');
  }
  std::string_view view() const { return {buf, n}; }
};

struct Out {
  static constexpr size_t kBlock = 1 << 20;  // 1 MiB writes
  std::FILE* f;
  std::vector<char> buf;
  size_t n = 0;
  uint64_t total = 0;

  explicit Out(std::FILE* file) : f(file), buf(kBlock + 16384) {}
  void write(const char* p, size_t len) {
    std::memcpy(buf.data() + n, p, len);
    n += len;
    total += len;
    if (n >= kBlock) flush();
  }
  void flush() {
    if (n && std::fwrite(buf.data(), 1, n, f) != n) {
      std::perror("gen_activity: write");
      std::exit(1);
    }
    n = 0;
  }
};

// ---------------------------------------------------------- vocabulary ----

constexpr std::string_view kAgentNames[] = {
    "planner",  "codegen",  "reviewer", "triage",   "deployer",
    "analyst",  "support",  "research", "sre",      "secaudit",
    "docs",     "tester",   "migrator", "router",   "billing",
    "release",  "drift",    "refactor", "qa",       "compliance"};
constexpr int kNumAgents = sizeof(kAgentNames) / sizeof(kAgentNames[0]);

constexpr std::string_view kVersions[] = {"1.8.2", "1.9.0", "2.0.0-rc.3",
                                          "2.1.4", "2.2.0", "3.0.1"};

constexpr std::string_view kActors[] = {
    "user:alice",  "user:bob",     "user:carmen", "user:dmitri", "user:emma",
    "user:farah",  "user:george",  "user:hana",   "user:ines",   "user:jamal",
    "user:kai",    "user:lena",    "user:mateo",  "user:nora",   "user:omar",
    "user:priya",  "svc:ci",       "svc:nightly", "svc:oncall",  "svc:gh-app",
    "svc:slack",   "svc:reports",  "team:platform", "team:data-eng"};

constexpr std::string_view kRoles[] = {"developer", "developer", "developer",
                                       "sre",       "analyst",   "admin",
                                       "reviewer",  "service",   "readonly"};

constexpr std::string_view kProjects[] = {
    "project-x", "payments", "web-app", "datalake", "ml-infra", "mobile",
    "infra",     "docs",     "auth",    "search",   "billing",  "obs"};

constexpr std::string_view kEnvs[] = {"dev", "dev", "staging", "prod"};

constexpr std::string_view kModels[] = {
    "gpt-4.1-2025-04-14", "gpt-4o-mini-2024-07-18", "claude-sonnet-4-20250514",
    "claude-3-5-haiku-20241022", "gemini-2.5-pro", "llama-3.1-70b-instruct",
    "mistral-large-2411"};

constexpr std::string_view kDirs[] = {
    "src",      "src/core",   "src/api",  "src/util", "lib",    "tests/unit",
    "tests/e2e", "docs",      "scripts",  "config",   "db/migrations",
    "deploy/helm", "internal/auth", "cmd/server", "pkg/store", ".github/workflows"};

constexpr std::string_view kFiles[] = {
    "main.cc",         "parser.cc",     "parser.h",        "handler.go",
    "server.go",       "models.py",     "views.py",        "utils.ts",
    "index.tsx",       "README.md",     "CHANGELOG.md",    "config.yaml",
    "values.yaml",     "Dockerfile",    "Makefile",        "schema.sql",
    "0042_add_index.sql", "test_api.py", "client_test.go", "ci.yml",
    "settings.json",   "routes.rs",     "lib.rs",          "deployment.yaml"};

constexpr std::string_view kHosts[] = {
    "api.github.com",          "registry.npmjs.org",
    "pypi.org",                "api.stripe.example",
    "wiki.corp.example", "jira.corp.example",
    "grafana.ops.example",     "docs.python.org",
    "status.example.com",      "api.weather.example",
    "hooks.slack.example",     "storage.example.com"};

constexpr std::string_view kUrlPaths[] = {
    "/repos/acme/api/pulls?state=open",
    "/v1/charges/ch_3PqR9x/refunds",
    "/simple/requests/",
    "/wiki/ENG/Runbook",
    "/rest/api/2/issue/PLAT-4821",
    "/api/v1/query_range",
    "/3/library/json.html",
    "/api/v2/summary.json",
    "/data/2.5/weather?q=Berlin",
    "/services/T000/B000/XXXX",
    "/upload/storage/v1/b/o",
    "/repos/acme/web/actions/runs/99812"};

constexpr std::string_view kDbHosts[] = {
    "pg-prod-01.internal:5432", "pg-replica-02.internal:5432",
    "mysql-analytics.internal:3306", "redis-cache-01.internal:6379",
    "clickhouse-logs.internal:9000"};

constexpr std::string_view kRunHosts[] = {
    "host:build-runner-03", "host:build-runner-11", "host:sandbox-7f2a",
    "host:sandbox-c01d",    "host:dev-vm-priya",    "host:gpu-node-4"};

constexpr std::string_view kCommands[] = {
    "make -j8 test",
    "npm run lint -- --fix",
    R"(grep -rn \"TODO\" src/ | head -n 50)",
    "pytest -q tests/unit -k 'not slow'",
    "go test ./... -run TestHandler -count=1",
    "cargo build --release --locked",
    "git diff --stat HEAD~3..HEAD",
    "kubectl get pods -n payments -o wide",
    "terraform plan -out=tfplan -lock-timeout=60s",
    "docker build -t registry.internal/web:sha-4f2a1c .",
    R"(psql -c \"SELECT count(*) FROM orders WHERE status='open'\")",
    "ls -la /workspace/project-x/build",
    "python3 scripts/backfill.py --dry-run --since 2026-01-01",
    R"(jq '.items[] | {name: .metadata.name}' pods.json)",
    "curl -sS -o /dev/null -w '%{http_code}' https://status.example.com/healthz",
    "rg --json -e 'deprecated' docs/"};

constexpr std::string_view kCallMessages[] = {
    "inspect repo layout before the change",
    "read failing test output",
    "apply patch from review comments on PR #4821",
    "confirm the API contract upstream",
    "rerun unit tests after parser refactor",
    "reproduce customer-reported issue",
    "bump image tag for the release",
    "find callers of deprecated helper",
    "summarise incident timeline",
    "check health before canary rollout",
    "draft release notes since v2.3.0",
    R"(user asked: \"clean up stale flags\")",
    "vérification des dépendances — étape 2/5",
    "sync データ for nightly report",
    "remove build artifacts older than 7d",
    "open ticket for flaky test"};

constexpr std::string_view kResultMessages[] = {
    "ok; 14 files inspected, no changes",
    "exit 0 with 2 warnings",
    "patch applied (+42 -17)",
    "HTTP 200; body cached as artifact",
    "218 passed, 3 skipped in 41.2s",
    "1,284 rows; first 50 attached",
    "manifest updated; rollout pending",
    "9 call sites in 4 packages",
    "summary posted to #incident",
    "healthy 6/6, p99 within budget",
    "23 entries grouped by component",
    "no stale flags found\\nnothing to do",
    "4 fichiers modifiés ✅",
    "removed 2.3 GiB in 118 dirs",
    "created PLAT-4822"};

constexpr std::string_view kFailMessages[] = {
    "timed out after 120s waiting for lock",
    "permission denied opening target",
    "HTTP 503 from upstream; retrying",
    "exit status 1: 2 tests failed",
    "connection reset by peer",
    "rate limited (429); retry-after 30s"};

constexpr std::string_view kErrorCodes[] = {"ETIMEDOUT", "EACCES",   "HTTP_503",
                                            "EXIT_1",    "ECONNRESET", "HTTP_429"};

constexpr std::string_view kEscalationReasons[] = {
    "Action touches production resources and requires human approval",
    "Policy requires review for destructive operations on shared data",
    "Target host is outside the approved network allow-list",
    "Cost estimate exceeds the per-run budget threshold",
    "Requested scope is broader than the granted auth context"};

constexpr std::string_view kReviewers[] = {"oncall:platform", "oncall:security",
                                           "user:lena.petrova", "user:george.kim",
                                           "team:change-advisory"};

constexpr std::string_view kBuckets[] = {"agent-io", "acme-runs", "ml-out"};

enum Tool {
  kShellExec, kFsRead, kFsWrite, kFsDelete, kHttpGet, kHttpPost, kGitCommit,
  kGitPush, kDbQuery, kWebSearch, kCodeSearch, kPythonRun, kK8sApply,
  kEmailSend, kTicketUpdate, kNumTools
};

constexpr std::string_view kToolNames[kNumTools] = {
    "shell.exec", "fs.read",     "fs.write",   "fs.delete",  "http.get",
    "http.post",  "git.commit",  "git.push",   "db.query",   "web.search",
    "code.search", "python.run", "k8s.apply",  "email.send", "ticket.update"};

// Relative frequency of each tool (sums to 100).
constexpr int kToolWeights[kNumTools] = {16, 18, 12, 2, 9, 3, 4, 2,
                                         7,  5,  9,  5, 2, 2, 3};

// ---------------------------------------------------------------- runs ----

struct Pending {
  bool active = false;
  int tool = 0;
  std::string_view action;
  std::string target;
  std::string input_ref;
  std::string_view decision;
  uint32_t action_seq = 0;
  uint64_t action_key = 0;  // globally unique, shown as 10 hex digits
  uint32_t depth = 0;
  bool escalated = false;
  int cmd = 0;
  int msg = 0;
  bool reused = false;  // its action_id is another agent's (--id-reuse-per-million)
};

struct Run {
  int agent = 0;
  int version = 0;
  char run_id[15] = {};  // "run-" + 10 hex
  int actor = 0;
  int role = 0;
  int project = 0;
  int env = 0;
  int model = 0;
  uint32_t remaining = 0;
  uint32_t action_seq = 0;
  uint64_t started_ms = 0;
  uint64_t cost_units = 0;  // 1e-4 USD
  bool started = false;
  Pending pending;
};

struct Gen {
  Rng rng;
  uint64_t now_ms;
  uint64_t secret_budget_num;
  uint64_t malformed_num;
  uint64_t schema_fault_num = 0, unclassified_num = 0, reuse_num = 0;
  bool clean = false;
  std::vector<Run> runs;
  int tool_cdf[kNumTools];
  uint64_t malformed = 0;
  uint64_t secrets = 0;
  uint64_t schema_faults = 0, unclassified = 0, id_reuses = 0;
  // Recent actions (key, agent) that another agent may reuse; agent -1: already reused.
  struct Recent {
    uint64_t key = 0;
    int agent = -1;
  };
  Recent recent[64];
  uint32_t recent_at = 0;
  bool line_has_reused_id = false;  // the current line carries a reused action_id
  uint64_t action_counter = 0;
  Line line;
  std::string scratch;

  Gen(uint64_t seed, uint64_t malformed_pm, uint64_t secrets_pm)
      : rng(seed), secret_budget_num(secrets_pm), malformed_num(malformed_pm) {
    // 2026-01-15T09:30:00.000Z
    now_ms = (days_from_civil(2026, 1, 15) * 86400ULL + 9 * 3600 + 30 * 60) * 1000ULL;
    int acc = 0;
    for (int i = 0; i < kNumTools; ++i) tool_cdf[i] = (acc += kToolWeights[i]);
    runs.resize(12);
    for (auto& r : runs) new_run(r);
  }

  static uint64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<uint64_t>(era * 146097 + static_cast<int64_t>(doe) - 719468);
  }

  void put_time(uint64_t ms) {
    const uint64_t days = ms / 86400000ULL;
    uint64_t rem = ms % 86400000ULL;
    // civil_from_days (Howard Hinnant), days >= 0 here.
    const int64_t z = static_cast<int64_t>(days) + 719468;
    const int64_t era = z / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    line.put_uint_pad(static_cast<uint64_t>(y), 4);
    line.put('-');
    line.put_uint_pad(m, 2);
    line.put('-');
    line.put_uint_pad(d, 2);
    line.put('T');
    line.put_uint_pad(rem / 3600000, 2);
    rem %= 3600000;
    line.put(':');
    line.put_uint_pad(rem / 60000, 2);
    rem %= 60000;
    line.put(':');
    line.put_uint_pad(rem / 1000, 2);
    line.put('.');
    line.put_uint_pad(rem % 1000, 3);
    line.put('Z');
  }

  void new_run(Run& r) {
    r.agent = static_cast<int>(rng.below(kNumAgents));
    // Each agent mostly runs one version, occasionally a newer/older one.
    r.version = rng.chance(9, 10) ? r.agent % 6 : static_cast<int>(rng.below(6));
    uint64_t id = rng.next();
    std::memcpy(r.run_id, "run-", 4);
    for (int k = 0; k < 10; ++k) r.run_id[4 + k] = kHex[(id >> (36 - 4 * k)) & 15];
    r.run_id[14] = 0;
    r.actor = static_cast<int>(rng.below(std::size(kActors)));
    r.role = static_cast<int>(rng.below(std::size(kRoles)));
    r.project = static_cast<int>(rng.below(std::size(kProjects)));
    r.env = static_cast<int>(rng.below(std::size(kEnvs)));
    r.model = static_cast<int>(rng.below(std::size(kModels)));
    r.remaining = static_cast<uint32_t>(rng.range(20, 420));  // tool calls
    r.action_seq = 0;
    r.cost_units = 0;
    r.started = false;
    r.pending = Pending{};
  }

  int pick_tool() {
    const int x = static_cast<int>(rng.below(100));
    for (int i = 0; i < kNumTools; ++i)
      if (x < tool_cdf[i]) return i;
    return kNumTools - 1;
  }

  void make_path(std::string& s, const Run& r) {
    // Mostly workspace-relative paths, some absolute.
    if (rng.chance(1, 5)) {
      s = "/workspace/";
      s += kProjects[r.project];
      s += '/';
    } else {
      s.clear();
    }
    s += rng.pick(kDirs);
    s += '/';
    s += rng.pick(kFiles);
  }

  void make_url(std::string& s) {
    s = "https://";
    s += rng.pick(kHosts);
    s += rng.pick(kUrlPaths);
  }

  void make_ref(std::string& s, const Run& r, uint32_t seq, std::string_view kind) {
    const uint64_t x = rng.below(100);
    if (x < 70) {
      s = "sha256:";
      s.resize(7 + 64);
      for (int k = 0; k < 64; k += 16) {
        uint64_t v = rng.next();
        for (int j = 0; j < 16; ++j, v >>= 4) s[7 + k + j] = kHex[v & 15];
      }
    } else if (x < 90) {
      s = "s3://";
      s += rng.pick(kBuckets);
      s += '/';
      s += std::string_view(r.run_id + 4, 10);
      s += '/';
      s += std::to_string(seq);
      s += '.';
      s += kind;
    } else {
      s = "urn:artifact:";
      s += std::string_view(r.run_id + 4, 10);
      s += ':';
      s += std::to_string(seq);
      s += ':';
      s += kind;
    }
  }

  // Fills action + target for a new tool call.
  std::string_view make_target(int tool, Run& r, std::string& target) {
    switch (tool) {
      case kShellExec:
        target = rng.pick(kRunHosts);
        return "execute";
      case kFsRead:
        make_path(target, r);
        return "read";
      case kFsWrite:
        make_path(target, r);
        return rng.chance(1, 4) ? "create" : "update";
      case kFsDelete:
        make_path(target, r);
        return "delete";
      case kHttpGet:
        make_url(target);
        return "read";
      case kHttpPost:
        make_url(target);
        return "create";
      case kGitCommit:
        target = "/workspace/";
        target += kProjects[r.project];
        return "create";
      case kGitPush:
        target = "https://github.com/acme/";
        target += kProjects[r.project];
        target += ".git";
        return "update";
      case kDbQuery: {
        target = rng.pick(kDbHosts);
        const uint64_t x = rng.below(20);
        return x < 16 ? "read" : (x < 19 ? "update" : "delete");
      }
      case kWebSearch:
        target = "https://search.example.com/?q=";
        target += kProjects[r.project];
        target += "+errors";
        return "read";
      case kCodeSearch:
        target = "/workspace/";
        target += kProjects[r.project];
        target += '/';
        target += rng.pick(kDirs);
        return "read";
      case kPythonRun:
        target = "/workspace/";
        target += kProjects[r.project];
        target += "/scripts/analyze_";
        target += rng.pick(kEnvs);
        target += ".py";
        return "execute";
      case kK8sApply:
        target = "k8s://eu-west-1/";
        target += kProjects[r.project];
        target += '-';
        target += kEnvs[r.env];
        target += "/deploy/";
        target += kProjects[r.project];
        return rng.chance(1, 5) ? "create" : "update";
      case kEmailSend:
        target = "smtp.mail.example.com:587";
        return "create";
      case kTicketUpdate:
      default:
        target = "https://jira.corp.example/browse/PLAT-";
        target += std::to_string(4000 + rng.below(1000));
        return "update";
    }
  }

  // Common prefix of every record.
  void put_head(const Run& r, std::string_view event_type) {
    line.put("{\"event_time\":\"");
    put_time(now_ms);
    line.put("\",\"agent_id\":\"");
    line.put(kAgentNames[r.agent]);
    line.put('-');
    line.put_uint_pad(static_cast<uint64_t>(r.agent + 1), 2);
    line.put("\",");
    line.kv("agent_version", kVersions[r.version]);
    line.put(',');
    line.kv("run_id", r.run_id);
    line.put(',');
    line.kv("event_type", event_type);
  }

  // Bijective scramble of a counter on 40 bits: ids look random but never
  // repeat (for fewer than 2^40 actions).
  static uint64_t scramble40(uint64_t x) {
    constexpr uint64_t kMask = (1ULL << 40) - 1;
    x = (x * 0x9E3779B97F4A7C15ULL) & kMask;
    x ^= x >> 21;
    x = (x * 0xBF58476D1CE4E5B9ULL) & kMask;
    x ^= x >> 19;
    return x;
  }

  void put_action_id(const Pending& p) {
    line_has_reused_id = p.reused;
    line.put(",\"action_id\":\"act-");
    line.put_hex_of(p.action_key, 10);
    line.put('"');
  }

  void put_auth(const Run& r) {
    line.put(",\"auth_context\":\"role:");
    line.put(kRoles[r.role]);
    line.put(",scope:");
    line.put(kProjects[r.project]);
    if (r.env == 3) line.put(",env:prod");
    line.put('"');
  }

  // Evidence records live in a separate store keyed by a random id.
  void put_evidence() {
    line.put(",\"evidence_ref\":\"urn:evidence:");
    line.put_hex(rng, 8);
    line.put('"');
  }

  void put_policy(int tool) {
    line.put(",\"policy_id\":\"pol-");
    line.put(kToolNames[tool]);
    line.put("-v");
    line.put_uint(1 + static_cast<uint64_t>(tool) % 4);
    line.put('"');
  }

  // ------------------------------------------------------------ secrets --

  enum SecretPlace { kInTarget, kInInput, kInOutput, kInDetails };

  // Builds a fake secret-bearing string for the given placement.
  void make_secret(std::string& s, SecretPlace place, const Run& r) {
    const uint64_t kind = rng.below(4);
    switch (kind) {
      case 0:  // AWS documentation example access key id
        if (place == kInDetails) {
          s = "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE && aws s3 ls s3://";
          s += kBuckets[0];
        } else {
          s = "https://";
          s += kBuckets[rng.below(3)];
          s += ".s3.amazonaws.com/runs/";
          s += r.run_id;
          s += "/input.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
               "AKIAIOSFODNN7EXAMPLE%2F20260115%2Fus-east-1%2Fs3%2Faws4_request";
        }
        break;
      case 1: {  // GitHub-token-shaped string (random, not a real token)
        std::string tok = "ghp_";
        for (int k = 0; k < 36; ++k) tok += kAlnum[rng.below(62)];
        if (place == kInDetails) {
          s = "git clone https://x-access-token:" + tok + "@github.com/acme/" +
              std::string(kProjects[r.project]) + ".git";
        } else {
          s = "https://" + tok + "@github.com/acme/" +
              std::string(kProjects[r.project]) + ".git";
        }
        break;
      }
      case 2:  // password in URL query
        if (place == kInDetails) {
          s = "curl 'https://db-admin.corp.example/login?user=admin&password=hunter2'";
        } else {
          s = "https://db-admin.corp.example/login?user=admin&password=hunter2&next=%2Fdash";
        }
        break;
      default: {  // JWT-shaped bearer token (random payload/signature)
        std::string jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ";
        for (int k = 0; k < 60; ++k) jwt += kB64Url[rng.below(64)];
        jwt += '.';
        for (int k = 0; k < 43; ++k) jwt += kB64Url[rng.below(64)];
        if (place == kInDetails) {
          s = "curl -H 'Authorization: Bearer " + jwt + "' https://api.corp.example/v1/me";
        } else {
          s = "https://api.corp.example/v1/export?access_token=" + jwt;
          if (place == kInTarget) s = "Bearer " + jwt;
        }
        break;
      }
    }
  }

  // ------------------------------------------------------------- events --

  // Emits one record for run r into `line`. `secret` asks for a secret to be
  // embedded in this record.
  void emit(Run& r, bool secret) {
    line.clear();
    line_has_reused_id = false;
    std::string secret_str;
    SecretPlace place = kInDetails;
    if (secret) {
      place = static_cast<SecretPlace>(rng.below(4));
      make_secret(secret_str, place, r);
    }

    if (!r.started) {
      emit_run_start(r, secret, place, secret_str);
      r.started = true;
      r.started_ms = now_ms;
      return;
    }
    Pending& p = r.pending;
    if (p.active) {
      if (p.decision == "needs_review" && !p.escalated) {
        emit_escalation(r, secret, place, secret_str);
        p.escalated = true;
        return;
      }
      emit_result(r, secret, place, secret_str);
      p.active = false;
      return;
    }
    if (r.remaining == 0) {
      emit_run_end(r, secret, place, secret_str);
      new_run(r);
      return;
    }
    --r.remaining;
    emit_call(r, secret, place, secret_str);
  }

  // pending_out: the output does not exist yet (tool_call/escalation), so the
  // output_ref usually names the artifact slot it will be written to.
  void put_refs(const Run& r, uint32_t seq, std::string_view in_given, bool secret,
                SecretPlace place, const std::string& secret_str,
                bool pending_out = false) {
    line.put(",\"input_ref\":\"");
    if (secret && place == kInInput) {
      line.put(secret_str);
    } else if (!in_given.empty()) {
      line.put(in_given);
    } else {
      make_ref(scratch, r, seq, "in");
      line.put(scratch);
    }
    line.put("\",\"output_ref\":\"");
    if (secret && place == kInOutput) {
      line.put(secret_str);
    } else if (pending_out && rng.chance(1, 2)) {
      line.put("urn:artifact:");
      line.put(std::string_view(r.run_id + 4, 10));
      line.put(':');
      line.put_uint(seq);
      line.put(":out");
    } else {
      make_ref(scratch, r, seq, "out");
      line.put(scratch);
    }
    line.put('"');
  }

  void emit_run_start(Run& r, bool secret, SecretPlace place,
                      const std::string& secret_str) {
    put_head(r, "agent_run");
    line.put(",");
    line.kv("actor_id", kActors[r.actor]);
    line.put(",\"tool_name\":\"agent.runtime\",\"tool_action\":\"execute\",\"tool_target\":\"");
    if (secret && place == kInTarget) {
      line.put(secret_str);
    } else {
      line.put("/workspace/");
      line.put(kProjects[r.project]);
    }
    line.put('"');
    put_auth(r);
    put_refs(r, 0, {}, secret, place, secret_str);
    line.put(",\"decision\":\"allow\"");
    put_evidence();
    line.put(",");
    line.kv("model", kModels[r.model]);
    line.put(",\"recursion_depth\":0,\"details\":{\"message\":\"run started for ");
    line.put(kActors[r.actor]);
    line.put(" in ");
    line.put(kEnvs[r.env]);
    line.put("\",\"command\":\"");
    if (secret && place == kInDetails) {
      line.put(secret_str);
    } else {
      line.put("agent run --project ");
      line.put(kProjects[r.project]);
      line.put(" --max-steps 500");
    }
    line.put("\"}}");
  }

  void emit_run_end(Run& r, bool secret, SecretPlace place,
                    const std::string& secret_str) {
    put_head(r, "agent_run");
    line.put(",");
    line.kv("actor_id", kActors[r.actor]);
    line.put(",\"tool_name\":\"agent.runtime\",\"tool_action\":\"execute\",\"tool_target\":\"");
    if (secret && place == kInTarget) {
      line.put(secret_str);
    } else {
      line.put("/workspace/");
      line.put(kProjects[r.project]);
    }
    line.put('"');
    put_auth(r);
    put_refs(r, r.action_seq + 1, {}, secret, place, secret_str);
    line.put(",\"decision\":\"allow\"");
    put_evidence();
    line.put(",");
    line.kv("model", kModels[r.model]);
    line.put(",\"latency_ms\":");
    line.put_uint(now_ms - r.started_ms);
    line.put(",\"cost_estimate\":");
    line.put_fixed(r.cost_units, 4);
    line.put(",\"details\":{\"message\":\"run finished: ");
    line.put_uint(r.action_seq);
    line.put(" actions\",\"status\":\"");
    line.put(rng.chance(9, 10) ? "completed" : "stopped_max_steps");
    line.put('"');
    if (secret && place == kInDetails) {
      line.put(",\"command\":\"");
      line.put(secret_str);
      line.put('"');
    }
    line.put("}}");
  }

  void emit_call(Run& r, bool secret, SecretPlace place,
                 const std::string& secret_str) {
    Pending& p = r.pending;
    p.active = true;
    p.escalated = false;
    p.tool = pick_tool();
    p.action = make_target(p.tool, r, p.target);
    p.action_seq = ++r.action_seq;
    p.action_key = scramble40(++action_counter);
    p.reused = false;
    if (reuse_num && rng.below(1000000) < reuse_num) reuse_action_id(r, p);
    else if (reuse_num) recent[recent_at++ % std::size(recent)] = {p.action_key, r.agent};
    p.depth = static_cast<uint32_t>(rng.below(10) < 7 ? rng.below(2) : rng.range(2, 6));
    const uint64_t d = rng.below(1000);
    p.decision = d < 930 ? "allow" : d < 960 ? "needs_review" : d < 985 ? "block" : "unknown";
    // Destructive/production actions need review more often.
    if (p.decision == "allow" && (p.action == "delete" || (r.env == 3 && p.tool == kK8sApply)) &&
        rng.chance(1, 2))
      p.decision = "needs_review";
    p.cmd = static_cast<int>(rng.below(std::size(kCommands)));
    p.msg = static_cast<int>(rng.below(std::size(kCallMessages)));
    make_ref(p.input_ref, r, p.action_seq, "in");

    put_head(r, "tool_call");
    put_action_id(p);
    line.put(",");
    line.kv("actor_id", kActors[r.actor]);
    line.put(",");
    line.kv("tool_name", kToolNames[p.tool]);
    line.put(",");
    line.kv("tool_action", p.action);
    line.put(",\"tool_target\":\"");
    line.put(secret && place == kInTarget ? std::string_view(secret_str)
                                          : std::string_view(p.target));
    line.put('"');
    put_auth(r);
    put_refs(r, p.action_seq, p.input_ref, secret, place, secret_str, true);
    line.put(",");
    line.kv("decision", p.decision);
    if (rng.chance(1, 4)) put_policy(p.tool);
    put_evidence();
    if (rng.chance(1, 4)) {
      line.put(",");
      line.kv("model", kModels[r.model]);
    }
    if (rng.chance(1, 3)) {
      line.put(",\"recursion_depth\":");
      line.put_uint(p.depth);
    }
    const bool cmd = (secret && place == kInDetails) || p.tool == kShellExec ||
                     p.tool == kPythonRun;
    const bool msg = rng.chance(1, 4);
    if (cmd || msg) {
      line.put(",\"details\":{");
      if (cmd) {
        line.put("\"command\":\"");
        line.put(secret && place == kInDetails ? std::string_view(secret_str)
                                               : kCommands[p.cmd]);
        line.put('"');
        if (msg) line.put(',');
      }
      if (msg) {
        line.put("\"message\":\"");
        line.put(kCallMessages[p.msg]);
        line.put('"');
      }
      line.put('}');
    }
    line.put('}');
  }

  void emit_escalation(Run& r, bool secret, SecretPlace place,
                       const std::string& secret_str) {
    Pending& p = r.pending;
    put_head(r, "escalation");
    put_action_id(p);
    line.put(",");
    line.kv("actor_id", kActors[r.actor]);
    line.put(",");
    line.kv("tool_name", kToolNames[p.tool]);
    line.put(",");
    line.kv("tool_action", p.action);
    line.put(",\"tool_target\":\"");
    line.put(secret && place == kInTarget ? std::string_view(secret_str)
                                          : std::string_view(p.target));
    line.put('"');
    put_auth(r);
    put_refs(r, p.action_seq, p.input_ref, secret, place, secret_str, true);
    line.put(",\"decision\":\"needs_review\"");
    put_policy(p.tool);
    put_evidence();
    line.put(",\"recursion_depth\":");
    line.put_uint(p.depth);
    line.put(",\"details\":{\"message\":\"");
    line.put(rng.pick(kEscalationReasons));
    line.put("\",\"reviewer\":\"");
    line.put(rng.pick(kReviewers));
    line.put('"');
    if (secret && place == kInDetails) {
      line.put(",\"command\":\"");
      line.put(secret_str);
      line.put('"');
    }
    line.put("}}");
    // Reviewer outcome decides what the result will say.
    const uint64_t o = rng.below(10);
    p.decision = o < 7 ? "allow" : o < 9 ? "block" : "unknown";
  }

  void emit_result(Run& r, bool secret, SecretPlace place,
                   const std::string& secret_str) {
    Pending& p = r.pending;
    const bool blocked = p.decision == "block";
    const bool failed = !blocked && rng.chance(1, 20);
    uint64_t latency;
    const uint64_t lt = rng.below(100);
    if (p.tool == kFsRead || p.tool == kCodeSearch)
      latency = rng.range(2, 120);
    else if (lt < 90)
      latency = rng.range(40, 2500);
    else
      latency = rng.range(2500, 120000);
    if (blocked) latency = rng.range(1, 15);
    const uint64_t cost = blocked ? 0 : rng.range(5, 400);  // 1e-4 USD
    r.cost_units += cost;

    put_head(r, "tool_result");
    put_action_id(p);
    line.put(",");
    line.kv("actor_id", kActors[r.actor]);
    line.put(",");
    line.kv("tool_name", kToolNames[p.tool]);
    line.put(",");
    line.kv("tool_action", p.action);
    line.put(",\"tool_target\":\"");
    line.put(secret && place == kInTarget ? std::string_view(secret_str)
                                          : std::string_view(p.target));
    line.put('"');
    put_auth(r);
    put_refs(r, p.action_seq, p.input_ref, secret, place, secret_str);
    line.put(",");
    line.kv("decision", p.decision);
    if (blocked || rng.chance(1, 5)) put_policy(p.tool);
    put_evidence();
    line.put(",\"latency_ms\":");
    line.put_uint(latency);
    if (rng.chance(2, 5)) {
      line.put(",\"cost_estimate\":");
      line.put_fixed(cost, 4);
    }
    if (rng.chance(1, 3)) {
      line.put(",\"retry_count\":");
      line.put_uint(failed || rng.chance(1, 25) ? rng.range(1, 3) : 0);
    }
    int fail_idx = 0;
    if (failed) {
      fail_idx = static_cast<int>(rng.below(std::size(kErrorCodes)));
      line.put(",");
      line.kv("error_code", kErrorCodes[fail_idx]);
    } else if (blocked) {
      line.put(",\"error_code\":\"POLICY_BLOCKED\"");
    }
    if (blocked || failed || (secret && place == kInDetails) || rng.chance(1, 6)) {
      line.put(",\"details\":{");
      if (blocked || failed) {
        line.put("\"status\":\"");
        line.put(blocked ? "blocked" : "error");
        line.put("\",");
      }
      line.put("\"message\":\"");
      if (blocked)
        line.put("blocked by policy");
      else if (failed)
        line.put(kFailMessages[fail_idx]);
      else
        line.put(kResultMessages[static_cast<size_t>(p.msg) % std::size(kResultMessages)]);
      line.put('"');
      if (secret && place == kInDetails) {
        line.put(",\"command\":\"");
        line.put(secret_str);
        line.put('"');
      }
      line.put('}');
    }
    line.put('}');
  }

  // ------------------------------------------------------------ faults ----

  // Gives the new action the id of a recent action of another agent (so of another run):
  // a collision wherever the guard keeps one owner per id. Each id is reused once.
  void reuse_action_id(const Run& r, Pending& p) {
    const uint32_t start = static_cast<uint32_t>(rng.below(std::size(recent)));
    for (uint32_t i = 0; i < std::size(recent); ++i) {
      Recent& c = recent[(start + i) % std::size(recent)];
      if (c.agent < 0 || c.agent == r.agent) continue;
      if (!clean) p.action_key = c.key;
      p.reused = true;
      c.agent = -1;
      ++id_reuses;
      return;
    }
  }

  // Replaces the first `from` in `s` by `to`; false when absent.
  static bool replace_first(std::string& s, std::string_view from, std::string_view to) {
    const size_t at = s.find(from);
    if (at == std::string::npos) return false;
    s.replace(at, from.size(), to);
    return true;
  }

  // Removes the member `"name":"..."` (a string without escapes) with its comma.
  static bool remove_member(std::string& s, std::string_view name) {
    const std::string key = "\"" + std::string(name) + "\":\"";
    const size_t at = s.find(key);
    if (at == std::string::npos) return false;
    const size_t end = s.find('"', at + key.size());
    if (end == std::string::npos) return false;
    size_t from = at, to = end + 1;
    if (from > 0 && s[from - 1] == ',') --from;
    else if (to < s.size() && s[to] == ',') ++to;
    s.erase(from, to - from);
    return true;
  }

  // A record its family's schema refuses: a decision out of the enum, a required field
  // missing, an empty agent_version or an event_time that is no date-time.
  void schema_fault() {
    std::string s(line.view());
    const uint64_t kind = rng.below(4);
    bool done = false;
    if (kind == 0) {
      for (std::string_view d : {"allow", "block", "needs_review", "unknown"})
        if (!done) done = replace_first(s, "\"decision\":\"" + std::string(d) + "\"", "\"decision\":\"approve\"");
    } else if (kind == 1) {
      done = remove_member(s, "evidence_ref");
    } else if (kind == 2) {
      const size_t at = s.find("\"agent_version\":\"");
      const size_t end = at == std::string::npos ? at : s.find('"', at + 17);
      if (end != std::string::npos) s.erase(at + 17, end - at - 17), done = true;
    }
    if (!done) {  // event_time: 2026-01-15T... -> 2026-01-15 ... (no T: not RFC 3339)
      const size_t at = s.find("\"event_time\":\"");
      if (at != std::string::npos) s[at + 24] = ' ';
    }
    line.clear();
    line.put(s);
  }

  // A record of no family: a misspelt event_type, another value, or none at all.
  void unclassified_fault() {
    std::string s(line.view());
    const uint64_t kind = rng.below(3);
    const size_t at = s.find("\"event_type\":\"");
    const size_t end = at == std::string::npos ? at : s.find('"', at + 14);
    if (end != std::string::npos) {
      if (kind == 0) s.erase(end - 1, 1);                       // tool_call -> tool_cal
      else if (kind == 1) s.replace(at + 14, end - at - 14, "tool_invocation");
      else remove_member(s, "event_type");
    }
    line.clear();
    line.put(s);
  }

  // -------------------------------------------------------- malformed ----

  // Rewrites `line` into one of several malformed variants.
  void corrupt() {
    std::string s(line.view());
    const uint64_t kind = rng.below(4);
    switch (kind) {
      case 0: {  // truncated mid-record
        const size_t cut = static_cast<size_t>(rng.range(s.size() / 5, s.size() * 4 / 5));
        s.resize(cut);
        break;
      }
      case 1: {  // invalid UTF-8 bytes inside a string value
        static constexpr std::string_view kBad[] = {"\xff", "\xc3\x28", "\xc0\xaf",
                                                    "\xed\xa0\x80", "\xfe\xfe"};
        const std::string_view bad = rng.pick(kBad);
        const size_t at = s.find("\"actor_id\":\"");
        if (at != std::string::npos) s.insert(at + 12 + 5, bad);
        break;
      }
      case 2:  // a JSON array instead of an object
        s = "[" + s + "]";
        break;
      default: {  // unquoted key
        const size_t at = s.find("\"run_id\":");
        if (at != std::string::npos) s.replace(at, 8, "run_id");
        break;
      }
    }
    line.clear();
    line.put(s);
  }

  // Generates the next line (without newline) into `line`.
  void next_line() {
    now_ms += 1 + rng.below(60);
    Run& r = runs[rng.below(runs.size())];
    const bool bad = malformed_num && rng.below(1000000) < malformed_num;
    const bool secret = !bad && secret_budget_num && rng.below(1000000) < secret_budget_num;
    emit(r, secret);
    // New fault kinds draw only when asked for, so the default output stays as it was.
    const bool schema_bad = !bad && !secret && schema_fault_num && rng.below(1000000) < schema_fault_num;
    const bool no_family =
        !bad && !secret && !schema_bad && unclassified_num && rng.below(1000000) < unclassified_num;
    // A record that carries a reused id keeps its family and schema, so that every reuse
    // reaches the collision guard and the counts add up exactly (the fault is drawn and
    // undone, keeping the PRNG stream).
    const bool faultable = !line_has_reused_id;
    if (bad) {
      if (clean) {
        std::string keep(line.view());
        corrupt();  // draws as the faulty copy does, then is undone
        line.clear();
        line.put(keep);
      } else {
        corrupt();
      }
      ++malformed;
    } else if (schema_bad || no_family) {
      std::string keep(line.view());
      if (schema_bad) schema_fault(), schema_faults += faultable;
      else unclassified_fault(), unclassified += faultable;
      if (clean || !faultable) line.clear(), line.put(keep);
    } else if (secret) {
      ++secrets;
    }
  }
};

[[noreturn]] void usage(const char* msg) {
  if (msg) std::fprintf(stderr, "gen_activity: %s\n", msg);
  std::fprintf(stderr,
               "usage: gen_activity [--lines N] [--seed S] [--malformed-per-million M]\n"
               "                    [--secrets-per-million K] [--schema-faults-per-million F]\n"
               "                    [--unclassified-per-million U] [--id-reuse-per-million R]\n"
               "                    [--faults] [--clean] [--out PATH]\n"
               "defaults: N=1000000 S=42 M=1000 K=10000 F=U=R=0, output to stdout;\n"
               "--faults: F=4000 U=1000 R=2000; --clean: the same records without any fault\n");
  std::exit(msg ? 2 : 0);
}

uint64_t parse_u64(const char* flag, const char* v) {
  if (!v || !*v) usage((std::string("missing value for ") + flag).c_str());
  char* end = nullptr;
  errno = 0;
  const unsigned long long x = std::strtoull(v, &end, 10);
  if (errno || *end || *v == '-')
    usage((std::string("invalid value for ") + flag + ": " + v).c_str());
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t lines = 1000000, seed = 42, malformed_pm = 1000, secrets_pm = 10000;
  uint64_t schema_pm = 0, unclassified_pm = 0, reuse_pm = 0;
  bool clean = false;
  const char* out_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "-h" || a == "--help") usage(nullptr);
    if (a == "--lines") lines = parse_u64("--lines", v), ++i;
    else if (a == "--seed") seed = parse_u64("--seed", v), ++i;
    else if (a == "--malformed-per-million")
      malformed_pm = parse_u64("--malformed-per-million", v), ++i;
    else if (a == "--secrets-per-million")
      secrets_pm = parse_u64("--secrets-per-million", v), ++i;
    else if (a == "--schema-faults-per-million")
      schema_pm = parse_u64("--schema-faults-per-million", v), ++i;
    else if (a == "--unclassified-per-million")
      unclassified_pm = parse_u64("--unclassified-per-million", v), ++i;
    else if (a == "--id-reuse-per-million")
      reuse_pm = parse_u64("--id-reuse-per-million", v), ++i;
    else if (a == "--faults")
      schema_pm = 4000, unclassified_pm = 1000, reuse_pm = 2000;
    else if (a == "--clean")
      clean = true;
    else if (a == "--out") {
      if (!v) usage("missing value for --out");
      out_path = v;
      ++i;
    } else {
      usage((std::string("unknown argument: ") + argv[i]).c_str());
    }
  }
  if (malformed_pm > 1000000) usage("--malformed-per-million must be <= 1000000");
  if (secrets_pm > 1000000) usage("--secrets-per-million must be <= 1000000");
  if (schema_pm > 1000000 || unclassified_pm > 1000000 || reuse_pm > 1000000)
    usage("the per-million rates must be <= 1000000");

  std::FILE* f = stdout;
  if (out_path && std::string_view(out_path) != "-") {
    f = std::fopen(out_path, "wb");
    if (!f) {
      std::perror(out_path);
      return 1;
    }
  }

  Out out(f);
  Gen gen(seed, malformed_pm, secrets_pm);
  gen.schema_fault_num = schema_pm;
  gen.unclassified_num = unclassified_pm;
  gen.reuse_num = reuse_pm;
  gen.clean = clean;
  for (uint64_t i = 0; i < lines; ++i) {
    gen.next_line();
    gen.line.put('\n');
    out.write(gen.line.buf, gen.line.n);
  }
  out.flush();
  if (std::fflush(f) != 0 || (f != stdout && std::fclose(f) != 0)) {
    std::perror("gen_activity: close");
    return 1;
  }
  std::fprintf(stderr,
               "gen_activity: lines=%llu bytes=%llu malformed=%llu secrets=%llu seed=%llu\n",
               static_cast<unsigned long long>(lines),
               static_cast<unsigned long long>(out.total),
               static_cast<unsigned long long>(gen.malformed),
               static_cast<unsigned long long>(gen.secrets),
               static_cast<unsigned long long>(seed));
  if (schema_pm || unclassified_pm || reuse_pm || clean)
    std::fprintf(stderr, "gen_activity: %s schema_faults=%llu unclassified=%llu id_reuses=%llu\n",
                 clean ? "left out (--clean):" : "faults:", static_cast<unsigned long long>(gen.schema_faults),
                 static_cast<unsigned long long>(gen.unclassified), static_cast<unsigned long long>(gen.id_reuses));
  return 0;
}
