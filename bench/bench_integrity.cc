// Cost of `integrity:` on the file output per 585-byte record, on one core: the same lines
// written through FdOutput with and without an IntegrityLog (alternating rounds, best of 5),
// and inclusion-proof size and check time for a 1M-line tree.
//   build/bench_integrity [records] [dir]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/integrity_log.h"
#include "core/merkle.h"
#include "core/output.h"

using namespace agentlog;
// CPU time of this thread: the machine is shared, wall time would count other workers' turns.
struct Clock {
  static double now_ns() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
  }
};

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 500000;
  const std::string dir = argc > 2 ? argv[2] : "/tmp";
  std::string priv, verifier, pem;
  if (!note::generate_key("bench", priv, verifier, pem).ok()) return 1;
  // The verifier key beside the log, for `agentlog verify --key-file DIR/bench_integrity.pub`.
  if (FILE* f = std::fopen((dir + "/bench_integrity.pub").c_str(), "w")) {
    std::fprintf(f, "%s\n", verifier.c_str());
    std::fclose(f);
  }
  auto signer = std::make_shared<note::Signer>();
  if (!note::Signer::from_text(priv, "bench key", *signer).ok()) return 1;
  std::string line = "{\"ts\":\"2025-01-01T00:00:00.000Z\",\"agent\":\"agent-0001\",\"n\":1234567,\"text\":\"";
  line += std::string(585 - line.size() - 2, 'x') + "\"}";
  double best[2] = {1e30, 1e30};
  for (int round = 0; round < 10; ++round) {
    const bool with = round % 2;
    const std::string path = dir + "/bench_integrity.jsonl";
    for (const char* ext : {"", ".checkpoints", ".checkpoints.state"}) std::filesystem::remove(path + ext);
    FdOutput out(path, -1, path, true);
    if (with) {
      IntegritySettings s;
      s.origin = "bench";
      s.signer = signer;
      out.set_integrity(std::make_unique<IntegrityLog>(path, s));
    }
    if (!out.open().ok()) return 1;
    const double t0 = Clock::now_ns();
    for (size_t i = 0; i < n; ++i) {
      out.write_line(line);
      if (i % 4096 == 4095) out.flush();
    }
    out.close();
    const double ns = (Clock::now_ns() - t0) / n;
    best[with] = std::min(best[with], ns);
  }
  std::printf("file output, %zu records of %zu bytes: %.0f ns/record without integrity, %.0f with: +%.0f ns\n", n,
              line.size() + 1, best[0], best[1], best[1] - best[0]);
  std::vector<merkle::Hash> leaves(1 << 20);
  for (size_t i = 0; i < leaves.size(); ++i) leaves[i] = merkle::leaf_hash(std::to_string(i));
  const auto root = merkle::root_of(leaves);
  const auto proof = merkle::inclusion_proof(leaves, 123457);
  const double t0 = Clock::now_ns();
  bool ok = true;
  for (int i = 0; i < 1000; ++i) ok &= merkle::verify_inclusion(123457, leaves.size(), leaves[123457], proof, root);
  const double us = (Clock::now_ns() - t0) / 1000 / 1000;
  std::printf("inclusion proof in a %zu-leaf tree: %zu hashes (%zu bytes raw), check %.1f us (%s)\n", leaves.size(),
              proof.size(), proof.size() * 32, us, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
