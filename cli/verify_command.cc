#include "cli/verify_command.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <openssl/crypto.h>
#include <simdjson.h>

#include "core/json_text.h"
#include "core/merkle.h"
#include "core/signed_note.h"

namespace agentlog {
namespace {

constexpr int kOk = 0, kFail = 1, kUsage = 2;

bool read_text(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

Status write_new_file(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::error(path + ": cannot create: " + std::strerror(errno));
  ::fchmod(fd, mode);  // not widened by the umask's absence, not narrowed below what we ask
  const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ::close(fd);
  if (!ok) return Status::error(path + ": cannot write: " + std::strerror(errno));
  return {};
}

// A log file mapped into memory.
struct Mapped {
  const char* data = nullptr;
  size_t size = 0;
  ~Mapped() {
    if (data && size) ::munmap(const_cast<char*>(data), size);
  }
};

Status map_file(const std::string& path, Mapped& m) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(path + ": cannot read: " + std::strerror(errno));
  struct stat st{};
  ::fstat(fd, &st);
  m.size = static_cast<size_t>(st.st_size);
  if (m.size > 0) {
    void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return Status::error(path + ": cannot map: " + std::strerror(errno));
    }
    ::madvise(p, m.size, MADV_SEQUENTIAL);
    m.data = static_cast<const char*>(p);
  }
  ::close(fd);
  return {};
}

// Leaf hashes of the whole lines of [begin, end), appended to `out`.
void hash_lines(const char* begin, const char* end, std::vector<merkle::Hash>& out) {
  for (const char* p = begin; p < end;) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!nl) break;
    out.push_back(merkle::leaf_hash(std::string_view(p, static_cast<size_t>(nl - p))));
    p = nl + 1;
  }
}

// The whole lines of a buffer hashed on `threads` threads, split at newlines, in order.
void hash_all(const char* data, size_t size, int threads, std::vector<merkle::Hash>& out) {
  std::vector<const char*> cuts{data};
  for (int t = 1; t < threads; ++t) {
    const char* at = data + size * t / threads;
    if (at <= cuts.back()) continue;
    const char* nl = static_cast<const char*>(std::memchr(at, '\n', static_cast<size_t>(data + size - at)));
    if (!nl) break;
    cuts.push_back(nl + 1);
  }
  cuts.push_back(data + size);
  std::vector<std::vector<merkle::Hash>> parts(cuts.size() - 1);
  std::vector<std::thread> pool;
  for (size_t i = 1; i < parts.size(); ++i) pool.emplace_back([&, i] { hash_lines(cuts[i], cuts[i + 1], parts[i]); });
  hash_lines(cuts[0], cuts[1], parts[0]);
  for (auto& t : pool) t.join();
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
}

std::string hex8(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

Status load_verifier(const VerifyOptions& o, note::Verifier& v) {
  std::string text = o.key;
  if (!o.key_file.empty() && !read_text(o.key_file, text))
    return Status::error(o.key_file + ": cannot read: " + std::strerror(errno));
  if (text.empty()) return Status::error("give the verifier key with --key or --key-file");
  if (Status st = note::Verifier::parse(text, v); !st.ok())
    return Status::error((o.key_file.empty() ? std::string("--key") : o.key_file) + ": " + st.message());
  return {};
}

struct Verified {
  note::Note note;
  note::Checkpoint cp;
};

// Checks one checkpoint note against the key and the origin; empty on success.
std::string check_note(const note::Note& n, const note::Verifier& v, const std::string& origin, note::Checkpoint& cp) {
  std::string why;
  if (!note::parse_checkpoint(n.text, cp, why)) return why;
  if (!origin.empty() && cp.origin != origin)
    return "origin \"" + cp.origin + "\" is not the log's origin \"" + origin + "\"";
  const note::SignatureLine* mine = nullptr;
  for (const auto& s : n.signatures)
    if (s.name == v.name && s.id == v.id) mine = &s;
  if (!mine) {
    const auto& s = n.signatures.front();
    return "not signed by the verifier key " + v.name + "+" + hex8(v.id) + " (signed by key \"" + s.name + "\" id " +
           hex8(s.id) + ")";
  }
  if (!v.verify(n.text, mine->signature)) return "the signature does not verify (the checkpoint text was changed)";
  return {};
}

int verify_record(const VerifyOptions& opts, const note::Verifier& verifier, FILE* out, FILE* err) {
  std::string text;
  if (!read_text(opts.proof, text)) {
    std::fprintf(err, "agentlog verify: %s: cannot read: %s\n", opts.proof.c_str(), std::strerror(errno));
    return kUsage;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view cp_text, leaf_b64;
  uint64_t index = 0, size = 0;
  simdjson::dom::array path;
  if (parser.parse(text).get(doc) || doc["checkpoint"].get(cp_text) || doc["leaf_index"].get(index) ||
      doc["tree_size"].get(size) || doc["proof"].get(path)) {
    std::fprintf(err, "agentlog verify: %s: not a proof written by agentlog verify --prove\n", opts.proof.c_str());
    return kUsage;
  }
  std::vector<note::Note> notes;
  if (Status status = note::parse_notes(cp_text, opts.proof + " (checkpoint)", notes);
      !status.ok() || notes.size() != 1) {
    std::fprintf(out, "FAIL: %s\n",
                 status.ok() ? "the proof holds more than one checkpoint" : status.message().c_str());
    return kFail;
  }
  note::Checkpoint checkpoint;
  if (std::string why = check_note(notes[0], verifier, opts.origin, checkpoint); !why.empty()) {
    std::fprintf(out, "FAIL: the proof's checkpoint: %s\n", why.c_str());
    return kFail;
  }
  std::vector<merkle::Hash> proof;
  for (auto item : path) {
    std::string_view encoded;
    merkle::Hash hash;
    if (item.get(encoded) || !merkle::hash_from_base64(encoded, hash)) {
      std::fprintf(out, "FAIL: the proof holds a hash that is not 32 bytes of base64\n");
      return kFail;
    }
    proof.push_back(hash);
  }
  if (size != checkpoint.size) {
    std::fprintf(out, "FAIL: the proof is for tree size %llu, its checkpoint states %llu\n",
                 static_cast<unsigned long long>(size), static_cast<unsigned long long>(checkpoint.size));
    return kFail;
  }
  if (!merkle::verify_inclusion(index, checkpoint.size, merkle::leaf_hash(opts.record), proof, checkpoint.root)) {
    std::fprintf(out, "FAIL: the record is not line %llu of %s at tree size %llu (the record or the proof differs)\n",
                 static_cast<unsigned long long>(index + 1), checkpoint.origin.c_str(),
                 static_cast<unsigned long long>(checkpoint.size));
    return kFail;
  }
  std::fprintf(out, "OK: the record is line %llu of %s, in the checkpoint of size %llu\n",
               static_cast<unsigned long long>(index + 1), checkpoint.origin.c_str(),
               static_cast<unsigned long long>(checkpoint.size));
  return kOk;
}

}  // namespace

int run_keygen(const KeygenOptions& o, FILE* out, FILE* err) {
  std::string priv, verifier, pem;
  if (Status st = note::generate_key(o.name, priv, verifier, pem); !st.ok()) {
    std::fprintf(err, "agentlog keygen: %s\n", st.message().c_str());
    return kUsage;
  }
  Status st = write_new_file(o.out, priv, 0600);
  OPENSSL_cleanse(priv.data(), priv.size());
  if (st.ok()) st = write_new_file(o.out + ".pub", verifier + "\n", 0644);
  if (st.ok()) st = write_new_file(o.out + ".pub.pem", pem, 0644);
  if (!st.ok()) {
    std::fprintf(err, "agentlog keygen: %s\n", st.message().c_str());
    return kUsage;
  }
  std::fprintf(out, "%s\n", verifier.c_str());
  return kOk;
}

int run_verify(const VerifyOptions& opts, FILE* out, FILE* err) {
  note::Verifier verifier;
  if (Status status = load_verifier(opts, verifier); !status.ok()) {
    std::fprintf(err, "agentlog verify: %s\n", status.message().c_str());
    return kUsage;
  }
  if (opts.record_given) {
    if (opts.proof.empty()) {
      std::fprintf(err, "agentlog verify: --record needs --proof FILE\n");
      return kUsage;
    }
    return verify_record(opts, verifier, out, err);
  }
  if (opts.logs.empty()) {
    std::fprintf(err, "agentlog verify: name the log file(s), oldest first\n");
    return kUsage;
  }
  const std::string cp_path = opts.checkpoints.empty() ? opts.logs.back() + ".checkpoints" : opts.checkpoints;
  std::string cp_text;
  if (!read_text(cp_path, cp_text)) {
    std::fprintf(err, "agentlog verify: %s: cannot read: %s\n", cp_path.c_str(), std::strerror(errno));
    return kUsage;
  }
  auto fail = [&](const std::string& msg) {
    std::fprintf(out, "FAIL: %s\n", msg.c_str());
    return kFail;
  };
  std::vector<note::Note> notes;
  if (Status status = note::parse_notes(cp_text, cp_path, notes); !status.ok()) return fail(status.message());
  if (notes.empty()) return fail(cp_path + ": holds no checkpoint");
  // The log's origin: given, else the one most checkpoints state (a changed one stands out).
  std::string origin = opts.origin;
  if (origin.empty()) {
    std::map<std::string, size_t> seen;
    for (const auto& parsed : notes) {
      note::Checkpoint checkpoint;
      std::string why;
      if (note::parse_checkpoint(parsed.text, checkpoint, why)) ++seen[checkpoint.origin];
    }
    size_t best = 0;
    for (const auto& [name, count] : seen)
      if (count > best) best = count, origin = name;
  }
  std::vector<Verified> cps;
  for (size_t i = 0; i < notes.size(); ++i) {
    Verified verified{notes[i], {}};
    const std::string where = "checkpoint " + std::to_string(i + 1) + " (" + cp_path + ":" +
                              std::to_string(notes[i].first_line) + ")";
    if (std::string why = check_note(notes[i], verifier, origin, verified.cp); !why.empty())
      return fail(where + ": " + why);
    if (!cps.empty() && verified.cp.size < cps.back().cp.size)
      return fail(where + ": tree size " + std::to_string(verified.cp.size) +
                  " is smaller than the previous checkpoint's " + std::to_string(cps.back().cp.size) +
                  " (an older checkpoint replayed?)");
    cps.push_back(std::move(verified));
  }

  // Leaf hashes of every line, file by file; where each file starts.
  std::vector<merkle::Hash> leaves;
  std::vector<uint64_t> file_start;
  uint64_t bytes = 0;
  for (const std::string& path : opts.logs) {
    Mapped mapped;
    if (Status status = map_file(path, mapped); !status.ok()) {
      std::fprintf(err, "agentlog verify: %s\n", status.message().c_str());
      return kUsage;
    }
    file_start.push_back(leaves.size());
    hash_all(mapped.data, mapped.size, std::max(1, opts.threads), leaves);
    bytes += mapped.size;
    if (mapped.size > 0 && mapped.data[mapped.size - 1] != '\n')
      return fail(path + ": ends with an incomplete line after line " +
                  std::to_string(leaves.size() - file_start.back()) + " (a torn write: the writer stopped mid-line)");
  }
  // "file:line" of a 0-based leaf index.
  auto where_line = [&](uint64_t index) {
    size_t file = std::upper_bound(file_start.begin(), file_start.end(), index) - file_start.begin() - 1;
    return opts.logs[file] + ":" + std::to_string(index - file_start[file] + 1);
  };
  merkle::Frontier tree;
  uint64_t prev = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    const note::Checkpoint& checkpoint = cps[i].cp;
    const std::string where = "checkpoint " + std::to_string(i + 1) + " (" + cp_path + ":" +
                              std::to_string(cps[i].note.first_line) + ", size " + std::to_string(checkpoint.size) +
                              ")";
    if (checkpoint.size > leaves.size())
      return fail("the log has " + std::to_string(leaves.size()) + " lines but " + where + " covers " +
                  std::to_string(checkpoint.size) + ": lines were removed or the log was truncated" +
                  (leaves.size() > prev ? "" : " after " + std::to_string(prev) + " lines"));
    while (tree.size() < checkpoint.size) tree.append(leaves[tree.size()]);
    if (tree.root() != checkpoint.root) {
      if (checkpoint.size == prev)
        return fail(where + ": its root differs from the previous checkpoint's at the same size (a forged checkpoint)");
      return fail("lines " + std::to_string(prev + 1) + ".." + std::to_string(checkpoint.size) + " (" +
                  where_line(prev) + " to " + where_line(checkpoint.size - 1) + ") do not match " + where +
                  ": a line in this range was changed, inserted, removed or moved");
    }
    prev = checkpoint.size;
  }
  if (leaves.size() > prev && !opts.allow_tail)
    return fail("lines " + std::to_string(prev + 1) + ".." + std::to_string(leaves.size()) + " (from " +
                where_line(prev) + ") are not covered by any checkpoint (added after the last one; agentlog "
                "signs one at every close)");
  const Verified& last = cps.back();
  if (opts.prove_line > 0) {
    if (opts.prove_line > last.cp.size)
      return fail("line " + std::to_string(opts.prove_line) + " is not covered by the last checkpoint (size " +
                  std::to_string(last.cp.size) + ")");
    const uint64_t index = opts.prove_line - 1;
    std::span<const merkle::Hash> hashes(leaves.data(), last.cp.size);
    std::string proof_json = "{\"origin\":";
    json::append_quoted(proof_json, last.cp.origin);
    proof_json += ",\"tree_size\":" + std::to_string(last.cp.size) + ",\"leaf_index\":" + std::to_string(index) +
                  ",\"line\":" + std::to_string(opts.prove_line) + ",\"leaf_hash\":\"" + merkle::base64(hashes[index]) +
                  "\",\"root\":\"" + merkle::base64(last.cp.root) + "\",\"proof\":[";
    const auto proof = merkle::inclusion_proof(hashes, index);
    for (size_t i = 0; i < proof.size(); ++i)
      proof_json += std::string(i ? "," : "") + "\"" + merkle::base64(proof[i]) + "\"";
    std::string note_text = last.note.text + "\n";
    // The signature line as written, so the checkpoint verifies alone.
    for (const auto& signature : last.note.signatures) {
      std::string raw;
      for (int k = 0; k < 4; ++k) raw.push_back(static_cast<char>(signature.id >> (24 - 8 * k)));
      note_text += "\xe2\x80\x94 " + signature.name + " " + merkle::base64(raw + signature.signature) + "\n";
    }
    proof_json += "],\"checkpoint\":";
    json::append_quoted(proof_json, note_text);
    proof_json += "}\n";
    std::fputs(proof_json.c_str(), out);
    return kOk;
  }
  std::fprintf(out, "OK: %zu lines in %zu files (%llu bytes), %zu checkpoints of %s, last size %llu root %s\n",
               leaves.size(), opts.logs.size(), static_cast<unsigned long long>(bytes), cps.size(), origin.c_str(),
               static_cast<unsigned long long>(last.cp.size), merkle::base64(last.cp.root).c_str());
  return kOk;
}

}  // namespace agentlog
