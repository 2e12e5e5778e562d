// Lookup tables for stage `enrich`, read from CSV (RFC 4180, header row) or YAML (a mapping
// of key -> mapping of column -> scalar). Errors read "<file>:<line>: message".
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace agentlog::plugins::enrich {

// A table read from a file: columns, then per row its key and its cells' JSON text.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::string> keys;
  std::vector<size_t> key_lines;
  std::vector<std::vector<std::string>> cells;  // per row, per column
};

bool read_whole(const std::string& path, std::string& out);
// `key_column` empty: the first column is the key.
bool load_csv(std::string_view text, const std::string& name, const std::string& key_column, Table& out,
              size_t& key_index, std::string& err);
bool load_yaml_table(const std::string& text, const std::string& name, Table& out, std::string& err);

}  // namespace agentlog::plugins::enrich
