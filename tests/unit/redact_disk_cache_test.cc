// The on-disk cache of compiled Hyperscan databases: a second load gives the same scan, and a
// file that is not ours alone, not whole, or of other rules is never used.
#include <sys/stat.h>

#include <hs/hs.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "plugins/redact/hs_disk_cache.h"
#include "plugins/redact/hs_scanner.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::redact;

namespace {

struct CacheDir {
  std::filesystem::path dir;
  explicit CacheDir(const std::string& name) : dir(test::temp_dir(name)) {
    std::filesystem::remove_all(dir);
    ::setenv("AGENTLOG_CACHE_DIR", dir.c_str(), 1);
  }
  ~CacheDir() { ::unsetenv("AGENTLOG_CACHE_DIR"); }
  std::vector<std::filesystem::path> files() const {
    std::vector<std::filesystem::path> out;
    if (std::filesystem::exists(dir))
      for (auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path());
    return out;
  }
};

// The key HsDatabase::build uses for these patterns and no keywords.
std::string key_of(const std::vector<std::string>& patterns) { return HsDatabase::cache_key(patterns, {}); }

}  // namespace

TEST_CASE("compiled rules are cached on disk and loaded back whole", "[redact][engine]") {
  CacheDir cache("hs-disk-cache");
  // Patterns no other test builds, so the in-process cache cannot answer first.
  std::vector<std::string> patterns = {"disk-cache-probe-[0-9]{6}", "(?i)other-probe-[a-f]{8}"};
  HsDatabase first;
  REQUIRE(first.build(patterns, {}).ok());
  auto files = cache.files();
  REQUIRE(files.size() == 1);
  CHECK((std::filesystem::status(files[0]).permissions() & std::filesystem::perms::group_write) ==
        std::filesystem::perms::none);

  CachedDatabases loaded;
  REQUIRE(load_cached_databases(key_of(patterns), loaded));
  CHECK(loaded.modes.size() == 2);
  CHECK(loaded.db != nullptr);
  hs_free_database(loaded.db);
  hs_free_database(loaded.gate);

  HsDatabase::Hits hits;
  first.scan("x disk-cache-probe-123456 y", hits);
  CHECK(hits.first_end[0] != UINT32_MAX);
  CHECK(hits.first_end[1] == UINT32_MAX);

  // (No SECTIONs: the build above writes the file once per process.)
  CachedDatabases other;
  CHECK_FALSE(load_cached_databases(key_of({"disk-cache-probe-[0-9]{7}"}), other));  // other rules

  ::setenv("AGENTLOG_CACHE_DIR", "off", 1);  // off turns the cache off
  CachedDatabases off;
  CHECK_FALSE(load_cached_databases(key_of(patterns), off));
  ::setenv("AGENTLOG_CACHE_DIR", cache.dir.c_str(), 1);

  ::chmod(files[0].c_str(), 0666);  // a file others may write is not used
  CachedDatabases shared;
  CHECK_FALSE(load_cached_databases(key_of(patterns), shared));
  ::chmod(files[0].c_str(), 0600);

  std::filesystem::resize_file(files[0], std::filesystem::file_size(files[0]) - 10);  // a cut file
  CachedDatabases cut;
  CHECK_FALSE(load_cached_databases(key_of(patterns), cut));
}
