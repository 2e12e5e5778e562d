// The compiled Hyperscan databases of a rule set, kept on disk between runs: compiling the
// built-in rules takes about half a second, loading them a few milliseconds. The file is
// only a cache: anything unexpected (another Hyperscan version or CPU, a short or foreign
// file, a file others could have written) and the rules are compiled again.
#include "plugins/redact/hs_disk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <hs/hs.h>

#include "core/hashing.h"

namespace agentlog::redact {
namespace {

constexpr char kMagic[8] = {'A', 'L', 'H', 'S', 'D', 'B', '0', '1'};

// The cache directory: $AGENTLOG_CACHE_DIR ("off" turns the cache off), else
// $XDG_CACHE_HOME/agentlog, else $HOME/.cache/agentlog.
std::string cache_dir() {
  if (const char* d = std::getenv("AGENTLOG_CACHE_DIR"))
    return std::strcmp(d, "off") == 0 ? std::string() : std::string(d);
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/agentlog";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/agentlog";
  return {};
}

// Ours alone: owned by this user and writable by nobody else (a database written by someone
// else could hide secrets from the scan).
bool private_to_us(const struct stat& st) { return st.st_uid == geteuid() && (st.st_mode & 022) == 0; }

std::string file_for(const std::string& key) {
  std::string dir = cache_dir();
  if (dir.empty()) return {};
  std::string name;
  append_sha256_hex(name, key + '\0' + hs_version());
  return dir + "/rules-" + name.substr(0, 32) + ".hsdb";
}

void put_u32(std::string& o, uint32_t v) { o.append(reinterpret_cast<const char*>(&v), 4); }
bool get_u32(std::string_view& in, uint32_t& v) {
  if (in.size() < 4) return false;
  std::memcpy(&v, in.data(), 4);
  in.remove_prefix(4);
  return true;
}
template <class T>
void put_vec(std::string& o, const std::vector<T>& v) {
  put_u32(o, static_cast<uint32_t>(v.size()));
  o.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
template <class T>
bool get_vec(std::string_view& in, std::vector<T>& v) {
  uint32_t n = 0;
  if (!get_u32(in, n) || in.size() / sizeof(T) < n) return false;
  v.resize(n);
  if (n) std::memcpy(v.data(), in.data(), n * sizeof(T));  // an empty vector's data() may be null
  in.remove_prefix(n * sizeof(T));
  return true;
}
void put_db(std::string& o, const hs_database_t* db) {
  char* bytes = nullptr;
  size_t len = 0;
  if (db == nullptr || hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
    put_u32(o, 0);
    return;
  }
  put_u32(o, static_cast<uint32_t>(len));
  o.append(bytes, len);
  std::free(bytes);
}
bool get_db(std::string_view& in, hs_database_t** db) {
  uint32_t len = 0;
  *db = nullptr;
  if (!get_u32(in, len) || in.size() < len) return false;
  if (len > 0 && hs_deserialize_database(in.data(), len, db) != HS_SUCCESS) return false;
  in.remove_prefix(len);
  return true;
}

}  // namespace

bool load_cached_databases(const std::string& key, CachedDatabases& out) {
  std::string path = file_for(key);
  if (path.empty()) return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat file_info {};
  bool ok = fstat(fd, &file_info) == 0 && S_ISREG(file_info.st_mode) && private_to_us(file_info) &&
            file_info.st_size < (1 << 30);
  std::string bytes;
  if (ok) {
    bytes.resize(static_cast<size_t>(file_info.st_size));
    ok = ::read(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  }
  ::close(fd);
  if (!ok) return false;
  std::string_view rest(bytes);
  std::string key_hash;
  append_sha256_hex(key_hash, key);
  if (rest.size() < sizeof kMagic + 64 || std::memcmp(rest.data(), kMagic, sizeof kMagic) != 0 ||
      rest.substr(sizeof kMagic, 64) != key_hash)
    return false;
  rest.remove_prefix(sizeof kMagic + 64);
  uint32_t gate_complete = 0;
  std::vector<uint32_t> modes;
  CachedDatabases cached;
  bool good = get_u32(rest, gate_complete) && get_vec(rest, modes) && get_vec(rest, cached.max_width) &&
              get_vec(rest, cached.min_width) && get_vec(rest, cached.sensitive) && get_vec(rest, cached.gate_wide) &&
              get_db(rest, &cached.db) && get_db(rest, &cached.gate) && rest.empty();
  if (!good) {
    hs_free_database(cached.db);
    hs_free_database(cached.gate);
    return false;
  }
  cached.gate_complete = gate_complete != 0;
  cached.modes = std::move(modes);
  out = std::move(cached);
  return true;
}

void store_cached_databases(const std::string& key, const CachedDatabases& c) {
  std::string path = file_for(key);
  if (path.empty()) return;
  std::string dir = path.substr(0, path.rfind('/'));
  ::mkdir(dir.c_str(), 0700);  // and its parent is $HOME/.cache, which usually exists
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !private_to_us(st)) return;
  std::string o(kMagic, sizeof kMagic);
  append_sha256_hex(o, key);
  put_u32(o, c.gate_complete ? 1 : 0);
  put_vec(o, c.modes);
  put_vec(o, c.max_width);
  put_vec(o, c.min_width);
  put_vec(o, c.sensitive);
  put_vec(o, c.gate_wide);
  put_db(o, c.db);
  put_db(o, c.gate);
  // Written aside and renamed into place, so a concurrent run reads a whole file or none.
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;
  bool ok = ::write(fd, o.data(), o.size()) == static_cast<ssize_t>(o.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace agentlog::redact
