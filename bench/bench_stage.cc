// Times the stages of a config alone, without reading, parsing or writing: records are
// parsed in batches outside the timed region (as `run` cuts them, or BENCH_BATCH records),
// then the stage chain runs on each batch.
// Usage: bench_stage -c CONFIG INPUT.jsonl
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/pipeline.h"

using namespace agentlog;

int main(int argc, char** argv) {
  if (argc != 4 || std::strcmp(argv[1], "-c") != 0) {
    std::fprintf(stderr, "usage: bench_stage -c CONFIG INPUT.jsonl\n");
    return 2;
  }
  PipelineSpec spec;
  if (Status st = load_pipeline_file(argv[2], spec); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 2;
  }
  std::ifstream in(argv[3], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", argv[3]);
    return 1;
  }
  RecordPool pool;
  Batch batch(pool);
  // Batches as `agentlog run` cuts them (RunOptions::batch_records) unless BENCH_BATCH says.
  std::vector<std::string> lines(std::getenv("BENCH_BATCH") ? std::atoi(std::getenv("BENCH_BATCH"))
                                                            : RunOptions().batch_records);
  uint64_t records = 0, kept = 0, bytes = 0;
  double seconds = 0;
  std::string line;
  auto run_batch = [&](size_t n) {
    batch.records.clear();
    pool.release_all();
    for (size_t i = 0; i < n; ++i) {
      Record* r = pool.acquire();
      lines[i].reserve(lines[i].size() + 64);  // simdjson padding
      r->reset_borrowed(lines[i]);
      if (r->parse() != simdjson::SUCCESS || r->root().type() != simdjson::dom::element_type::OBJECT) continue;
      batch.records.push_back(r);
      bytes += lines[i].size() + 1;
    }
    records += batch.records.size();
    auto t0 = std::chrono::steady_clock::now();
    for (auto& s : spec.stages) {
      s.stage->process_batch(batch);
      for (auto& p : batch.pending) batch.records.push_back(p.record);
      batch.pending.clear();
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (Record* r : batch.records) kept += r->verdict == Verdict::Keep;
  };
  size_t n = 0;
  while (std::getline(in, line)) {
    lines[n++] = std::move(line);
    if (n == lines.size()) {
      run_batch(n);
      n = 0;
    }
  }
  if (n) run_batch(n);
  auto t0 = std::chrono::steady_clock::now();
  for (auto& s : spec.stages) {
    while (s.stage->finish(batch)) {
      batch.pending.clear();
      pool.release_all();
    }
    batch.pending.clear();
    pool.release_all();
  }
  seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::printf("bench_stage: config=%s records=%llu kept=%llu stage_seconds=%.3f ns_per_record=%.1f records_per_s=%.0f "
              "stage_MB_s=%.1f peak_rss_MiB=%.1f\n",
              argv[2], static_cast<unsigned long long>(records), static_cast<unsigned long long>(kept), seconds,
              seconds * 1e9 / records, records / seconds, bytes / 1e6 / seconds, ru.ru_maxrss / 1024.0);
  for (size_t i = 0; i < spec.stages.size(); ++i)
    std::printf("  stage %s: %s\n", spec.stages[i].name.c_str(), spec.stages[i].stage->stats_json().c_str());
  return 0;
}
