#include "core/signed_note.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

namespace agentlog::note {
namespace {

constexpr std::string_view kDash = "\xe2\x80\x94 ";  // "— "
constexpr unsigned char kEd25519 = 1;                   // the signed-note algorithm byte

std::string hex8(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

// At most `parts` pieces: the base64 at the end may hold '+' itself.
std::vector<std::string_view> split_plus(std::string_view s, size_t parts) {
  std::vector<std::string_view> out;
  size_t at = 0;
  for (size_t p; out.size() + 1 < parts && (p = s.find('+', at)) != std::string_view::npos; at = p + 1)
    out.push_back(s.substr(at, p - at));
  out.push_back(s.substr(at));
  return out;
}

// Wipes a std::string's bytes before it is freed (it held key material).
struct Wiped {
  std::string s;
  ~Wiped() { OPENSSL_cleanse(s.data(), s.size()); }
};

}  // namespace

bool valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= ' ' || c == '+' || c >= 0x7f) return false;
  return true;
}

uint32_t key_id(std::string_view name, const std::array<unsigned char, 32>& pubkey) {
  std::string data(name);
  data.push_back('\n');
  data.push_back(static_cast<char>(kEd25519));
  data.append(reinterpret_cast<const char*>(pubkey.data()), 32);
  unsigned char md[32];
  unsigned n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  return (uint32_t(md[0]) << 24) | (uint32_t(md[1]) << 16) | (uint32_t(md[2]) << 8) | md[3];
}

Signer::Signer(Signer&& o) noexcept : pkey_(o.pkey_), name_(std::move(o.name_)), id_(o.id_) { o.pkey_ = nullptr; }
Signer& Signer::operator=(Signer&& o) noexcept {
  std::swap(pkey_, o.pkey_);
  name_ = std::move(o.name_);
  id_ = o.id_;
  return *this;
}
Signer::~Signer() { EVP_PKEY_free(pkey_); }

Status Signer::from_text(std::string_view text, std::string_view what, Signer& out) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  const std::string bad = std::string(what) + ": not a private key (expected PRIVATE+KEY+<name>+<hash>+<base64>, as `agentlog keygen` writes)";
  auto parts = split_plus(text, 5);
  if (parts.size() != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY") return Status::error(bad);
  if (!valid_key_name(parts[2])) return Status::error(bad);
  Wiped raw;
  if (!merkle::from_base64(parts[4], raw.s) || raw.s.size() != 33 || raw.s[0] != kEd25519)
    return Status::error(bad);
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                reinterpret_cast<const unsigned char*>(raw.s.data()) + 1, 32);
  if (pkey == nullptr) return Status::error(bad);
  std::array<unsigned char, 32> pub{};
  size_t len = pub.size();
  EVP_PKEY_get_raw_public_key(pkey, pub.data(), &len);
  const uint32_t id = key_id(parts[2], pub);
  if (hex8(id) != parts[3]) {
    EVP_PKEY_free(pkey);
    return Status::error(std::string(what) + ": the key's hash does not match its name and key (a damaged key?)");
  }
  EVP_PKEY_free(out.pkey_);
  out.pkey_ = pkey;
  out.name_ = std::string(parts[2]);
  out.id_ = id;
  return {};
}

Status Signer::from_file(const std::string& path, Signer& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(path + ": cannot read the private key: " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error(path + ": the private key is not a regular file");
  }
  if (st.st_mode & 077) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::error(path + ": the private key may be read by group or others (mode " + mode +
                         "); run chmod 600 on it");
  }
  Wiped text;
  char buf[512];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0 && text.s.size() < 4096;) text.s.append(buf, n);
  OPENSSL_cleanse(buf, sizeof buf);
  ::close(fd);
  return from_text(text.s, path, out);
}

std::string Signer::signature_line(std::string_view text) const {
  unsigned char sig[4 + 64];
  for (int i = 0; i < 4; ++i) sig[i] = static_cast<unsigned char>(id_ >> (24 - 8 * i));
  size_t len = 64;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pkey_) == 1 &&
                  EVP_DigestSign(ctx, sig + 4, &len, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != 64) return {};
  return std::string(kDash) + name_ + " " + merkle::base64(std::string_view(reinterpret_cast<char*>(sig), sizeof sig)) + "\n";
}

std::string Signer::verifier_key() const {
  std::array<unsigned char, 32> pub{};
  size_t len = pub.size();
  EVP_PKEY_get_raw_public_key(pkey_, pub.data(), &len);
  std::string raw(1, static_cast<char>(kEd25519));
  raw.append(reinterpret_cast<const char*>(pub.data()), 32);
  return name_ + "+" + hex8(id_) + "+" + merkle::base64(raw);
}

Status Verifier::parse(std::string_view text, Verifier& out) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  auto parts = split_plus(text, 3);
  const std::string bad = "not a verifier key (expected <name>+<hash>+<base64>, as `agentlog keygen` prints)";
  if (parts.size() != 3 || !valid_key_name(parts[0])) return Status::error(bad);
  std::string raw;
  if (!merkle::from_base64(parts[2], raw) || raw.size() != 33 || raw[0] != kEd25519) return Status::error(bad);
  Verifier v;
  v.name = std::string(parts[0]);
  std::memcpy(v.pubkey.data(), raw.data() + 1, 32);
  v.id = key_id(v.name, v.pubkey);
  if (hex8(v.id) != parts[1]) return Status::error("the verifier key's hash does not match its name and key");
  out = std::move(v);
  return {};
}

bool Verifier::verify(std::string_view text, std::string_view signature) const {
  if (signature.size() != 64) return false;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pubkey.data(), 32);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = pkey && ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), 64,
                                   reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

std::string public_pem(const Verifier& v) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, v.pubkey.data(), 32);
  std::string out;
  BIO* bio = BIO_new(BIO_s_mem());
  if (pkey && bio && PEM_write_bio_PUBKEY(bio, pkey) == 1) {
    char* p = nullptr;
    long n = BIO_get_mem_data(bio, &p);
    out.assign(p, static_cast<size_t>(n));
  }
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return out;
}

Status generate_key(std::string_view name, std::string& private_text, std::string& verifier_text,
                    std::string& public_pem_out) {
  if (!valid_key_name(name))
    return Status::error("key name \"" + std::string(name) + "\" must be non-empty, without spaces or '+'");
  Wiped seed;
  seed.s.assign(33, '\0');
  seed.s[0] = static_cast<char>(kEd25519);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(seed.s.data()) + 1, 32) != 1)
    return Status::error("the random number generator failed");
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                reinterpret_cast<const unsigned char*>(seed.s.data()) + 1, 32);
  if (pkey == nullptr) return Status::error("cannot make an Ed25519 key");
  Verifier v;
  v.name = std::string(name);
  size_t len = 32;
  EVP_PKEY_get_raw_public_key(pkey, v.pubkey.data(), &len);
  EVP_PKEY_free(pkey);
  v.id = key_id(name, v.pubkey);
  private_text = "PRIVATE+KEY+" + v.name + "+" + hex8(v.id) + "+" + merkle::base64(seed.s) + "\n";
  std::string raw(1, static_cast<char>(kEd25519));
  raw.append(reinterpret_cast<const char*>(v.pubkey.data()), 32);
  verifier_text = v.name + "+" + hex8(v.id) + "+" + merkle::base64(raw);
  public_pem_out = public_pem(v);
  return {};
}

size_t whole_notes_end(std::string_view content) {
  size_t end = 0;
  for (size_t at = 0, nl; at < content.size() && (nl = content.find('\n', at)) != std::string_view::npos; at = nl + 1)
    if (content.substr(at).starts_with(kDash)) end = nl + 1;
  return end;
}

Status parse_notes(std::string_view content, std::string_view display_name, std::vector<Note>& out) {
  uint64_t line_no = 0;
  size_t at = 0;
  auto next_line = [&](std::string_view& line) -> bool {
    if (at >= content.size()) return false;
    size_t nl = content.find('\n', at);
    if (nl == std::string_view::npos) {
      line = content.substr(at);
      at = content.size() + 1;  // marks "no newline"
    } else {
      line = content.substr(at, nl - at);
      at = nl + 1;
    }
    ++line_no;
    return true;
  };
  auto err = [&](std::string_view why) {
    return Status::error(std::string(display_name) + ":" + std::to_string(line_no) + ": " + std::string(why));
  };
  std::string_view line;
  while (at < content.size()) {
    Note note;
    note.first_line = line_no + 1;
    // The text: lines up to a blank line.
    bool ended = false;
    while (next_line(line)) {
      if (at > content.size()) return err("the last line has no newline (a torn write?)");
      if (line.empty()) {
        ended = true;
        break;
      }
      note.text.append(line);
      note.text.push_back('\n');
    }
    if (!ended) return err("a note ends without its blank line and signature");
    if (note.text.empty()) return err("an empty note text (two blank lines?)");
    // Signature lines, up to the next note or the end.
    while (at < content.size() && content.substr(at).starts_with(kDash)) {
      next_line(line);
      if (at > content.size()) return err("the last line has no newline (a torn write?)");
      std::string_view rest = line.substr(kDash.size());
      const size_t space = rest.find(' ');
      std::string raw;
      if (space == std::string_view::npos || !valid_key_name(rest.substr(0, space)) ||
          !merkle::from_base64(rest.substr(space + 1), raw) || raw.size() < 5)
        return err("a malformed signature line");
      SignatureLine signature;
      signature.name = std::string(rest.substr(0, space));
      for (int i = 0; i < 4; ++i) signature.id = (signature.id << 8) | static_cast<unsigned char>(raw[i]);
      signature.signature = raw.substr(4);
      note.signatures.push_back(std::move(signature));
    }
    if (note.signatures.empty()) return err("a note without a signature line");
    out.push_back(std::move(note));
  }
  return {};
}

std::string checkpoint_text(const Checkpoint& c) {
  return c.origin + "\n" + std::to_string(c.size) + "\n" + merkle::base64(c.root) + "\n";
}

bool parse_checkpoint(std::string_view text, Checkpoint& out, std::string& why) {
  std::string_view lines[3];
  size_t at = 0;
  for (auto& l : lines) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) {
      why = "not a checkpoint (fewer than three lines: origin, size, root hash)";
      return false;
    }
    l = text.substr(at, nl - at);
    at = nl + 1;
  }
  if (lines[0].empty()) {
    why = "the origin line is empty";
    return false;
  }
  out.origin = std::string(lines[0]);
  if (lines[1].empty() || lines[1].size() > 19 || lines[1].find_first_not_of("0123456789") != std::string_view::npos ||
      (lines[1].size() > 1 && lines[1][0] == '0')) {
    why = "the tree size is not a decimal number";
    return false;
  }
  out.size = std::stoull(std::string(lines[1]));
  if (!merkle::hash_from_base64(lines[2], out.root)) {
    why = "the root hash is not 32 bytes of base64";
    return false;
  }
  return true;
}

}  // namespace agentlog::note
