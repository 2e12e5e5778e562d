// Ed25519 signed notes (C2SP signed-note) and tlog checkpoints (C2SP tlog-checkpoint), keys
// in Go's note formats: verifier key "name+hash+base64(0x01||pubkey)", private key
// "PRIVATE+KEY+name+hash+base64(0x01||seed)". Key material never enters a message.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/merkle.h"
#include "core/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace agentlog::note {

// First 4 bytes of SHA-256(name || 0x0A || 0x01 || pubkey), big-endian.
uint32_t key_id(std::string_view name, const std::array<unsigned char, 32>& pubkey);
bool valid_key_name(std::string_view name);

class Signer {
 public:
  Signer() = default;
  Signer(Signer&&) noexcept;
  Signer& operator=(Signer&&) noexcept;
  ~Signer();
  bool loaded() const { return pkey_ != nullptr; }
  const std::string& name() const { return name_; }
  uint32_t id() const { return id_; }
  // `what` names the key's place in messages ("key.pem", "$AGENTLOG_KEY").
  static Status from_text(std::string_view text, std::string_view what, Signer& out);
  // Refuses a file that group or others may access.
  static Status from_file(const std::string& path, Signer& out);
  // The signature line "— name base64(id||sig)\n" over `text` (which ends with a newline).
  std::string signature_line(std::string_view text) const;
  std::string verifier_key() const;

 private:
  EVP_PKEY* pkey_ = nullptr;
  std::string name_;
  uint32_t id_ = 0;
};

struct Verifier {
  std::string name;
  uint32_t id = 0;
  std::array<unsigned char, 32> pubkey{};
  static Status parse(std::string_view text, Verifier& out);
  bool verify(std::string_view text, std::string_view signature) const;
};

// A new key: the private key text (keep secret), the verifier key and the public key as
// PEM (SubjectPublicKeyInfo, for `openssl pkeyutl`).
Status generate_key(std::string_view name, std::string& private_text, std::string& verifier_text,
                    std::string& public_pem);
// The PEM form of a verifier key's public key.
std::string public_pem(const Verifier& v);

struct SignatureLine {
  std::string name;
  uint32_t id = 0;
  std::string signature;  // 64 bytes
};
struct Note {
  std::string text;  // the signed text, ending with a newline
  std::vector<SignatureLine> signatures;
  uint64_t first_line = 0;  // 1-based line of the origin in the file
};
// The length of `content` up to the end of its last signature line: what follows is a note
// torn by a crash while it was appended (or not a note at all).
size_t whole_notes_end(std::string_view content);
// Splits concatenated notes; an error names the line.
Status parse_notes(std::string_view content, std::string_view display_name, std::vector<Note>& out);

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  merkle::Hash root{};
};
std::string checkpoint_text(const Checkpoint& c);
// Reads origin, size and root (further extension lines are allowed); false with `why` set.
bool parse_checkpoint(std::string_view text, Checkpoint& out, std::string& why);

}  // namespace agentlog::note
