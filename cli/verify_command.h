// `agentlog keygen` and `agentlog verify` (tamper-evident file outputs, docs/integrity.md).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace agentlog {

struct KeygenOptions {
  std::string name;
  std::string out;  // private key path; <out>.pub and <out>.pub.pem beside it
};
// Exit 0, or 2 on a usage or I/O error.
int run_keygen(const KeygenOptions& opts, FILE* out, FILE* err);

struct VerifyOptions {
  std::vector<std::string> logs;  // oldest first (rotated files, then the current one)
  std::string checkpoints;        // default: <last log>.checkpoints
  std::string key;                // verifier key text
  std::string key_file;           // or a file holding it
  std::string origin;             // expected origin; default: the checkpoints' own
  bool allow_tail = false;        // lines after the last checkpoint are not an error
  uint64_t prove_line = 0;        // --prove LINE (1-based)
  std::string record;             // --record TEXT
  std::string proof;              // --proof FILE
  bool record_given = false;
  int threads = 2;
};
// Exit 0 verified, 1 a check failed (the first failure is printed with its reason),
// 2 usage or I/O error.
int run_verify(const VerifyOptions& opts, FILE* out, FILE* err);

}  // namespace agentlog
