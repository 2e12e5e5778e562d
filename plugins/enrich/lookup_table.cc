#include "plugins/enrich/lookup_table.h"

#include <fstream>
#include <sstream>
#include <unordered_map>

#include <yaml-cpp/yaml.h>

#include "core/json_text.h"
#include "core/options.h"
#include "plugins/enrich/enrich.h"

namespace agentlog::plugins::enrich {
namespace {
struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace

bool read_whole(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return !f.bad();
}

// RFC 4180 CSV: a header row, then rows of the same width; fields may be quoted ("" is a
// quote; quoted fields may span lines). CRLF or LF; a UTF-8 BOM is skipped; blank lines
// are skipped. Errors read "<name>:<line>: message".
static bool parse_csv(std::string_view t, const std::string& name, std::vector<std::vector<std::string>>& rows,
               std::vector<size_t>& lines, std::string& err) {
  if (t.substr(0, 3) == "\xEF\xBB\xBF") t.remove_prefix(3);
  size_t i = 0, line = 1;
  auto fail = [&](size_t at, const std::string& m) {
    err = name + ":" + std::to_string(at) + ": " + m;
    return false;
  };
  while (i < t.size()) {
    size_t start_line = line;
    std::vector<std::string> row;
    bool blank = true;
    while (true) {
      std::string cell;
      if (i < t.size() && t[i] == '"') {
        blank = false;
        ++i;
        while (true) {
          if (i >= t.size()) return fail(start_line, "unterminated quoted field");
          char c = t[i++];
          if (c == '"') {
            if (i < t.size() && t[i] == '"') {
              cell.push_back('"');
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          cell.push_back(c);
        }
        if (i < t.size() && t[i] != ',' && t[i] != '\n' && !(t[i] == '\r' && (i + 1 == t.size() || t[i + 1] == '\n')))
          return fail(line, "unexpected character after a closing quote");
      } else {
        while (i < t.size() && t[i] != ',' && t[i] != '\n' && t[i] != '\r') {
          if (t[i] == '"') return fail(line, "quote inside an unquoted field (quote the whole field)");
          cell.push_back(t[i++]);
        }
        if (i < t.size() && t[i] == '\r' && i + 1 < t.size() && t[i + 1] != '\n')
          return fail(line, "carriage return inside an unquoted field");
        if (!cell.empty()) blank = false;
      }
      row.push_back(std::move(cell));
      if (i < t.size() && t[i] == ',') {
        blank = false;
        ++i;
        continue;
      }
      if (i < t.size() && t[i] == '\r') ++i;
      if (i < t.size() && t[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    if (blank) continue;
    rows.push_back(std::move(row));
    lines.push_back(start_line);
  }
  if (rows.empty()) {
    err = name + ": the table is empty (no header row)";
    return false;
  }
  return true;
}

bool load_csv(std::string_view text, const std::string& name, const std::string& key_column, Table& out,
              size_t& key_index, std::string& err) {
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> lines;
  if (!parse_csv(text, name, rows, lines, err)) return false;
  out.columns = rows[0];
  for (size_t c = 0; c < out.columns.size(); ++c) {
    if (out.columns[c].empty()) {
      err = name + ":" + std::to_string(lines[0]) + ": header column " + std::to_string(c + 1) + " has no name";
      return false;
    }
    for (size_t d = 0; d < c; ++d)
      if (out.columns[d] == out.columns[c]) {
        err = name + ":" + std::to_string(lines[0]) + ": header names column \"" + out.columns[c] + "\" twice";
        return false;
      }
  }
  key_index = 0;
  if (!key_column.empty()) {
    auto it = std::find(out.columns.begin(), out.columns.end(), key_column);
    if (it == out.columns.end()) {
      std::vector<std::string_view> names(out.columns.begin(), out.columns.end());
      err = "key column \"" + key_column + "\" is not in " + name + suggestion(key_column, names);
      return false;
    }
    key_index = static_cast<size_t>(it - out.columns.begin());
  }
  std::unordered_map<std::string, size_t, SvHash, std::equal_to<>> seen;
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != out.columns.size()) {
      err = name + ":" + std::to_string(lines[r]) + ": row has " + std::to_string(rows[r].size()) +
            " fields, the header has " + std::to_string(out.columns.size());
      return false;
    }
    const std::string& key = rows[r][key_index];
    if (key.empty()) {
      err = name + ":" + std::to_string(lines[r]) + ": empty key";
      return false;
    }
    auto [it, fresh] = seen.emplace(key, lines[r]);
    if (!fresh) {
      err = name + ":" + std::to_string(lines[r]) + ": duplicate key " + quoted_for_message(key) + " (first on line " +
            std::to_string(it->second) + ")";
      return false;
    }
    out.keys.push_back(key);
    out.key_lines.push_back(lines[r]);
    std::vector<std::string> cells;
    for (auto& c : rows[r]) cells.push_back(json::quoted(c));
    out.cells.push_back(std::move(cells));
  }
  return true;
}

static std::string mark_of(const std::string& name, const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return name;
  return name + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// YAML: a mapping of key -> mapping of column -> scalar; every row has the same columns.
bool load_yaml_table(const std::string& text, const std::string& name, Table& out, std::string& err) {
  YAML::Node root;
  if (Status status = parse_yaml(text, name, root); !status.ok()) {
    err = status.message();
    return false;
  }
  if (!root.IsMap()) {
    err = (root.IsNull() || !root.IsDefined() ? name : mark_of(name, root)) +
          ": expected a mapping of key -> mapping of column -> scalar, got " + std::string(node_kind(root));
    return false;
  }
  std::unordered_map<std::string, size_t, SvHash, std::equal_to<>> seen;
  for (auto it = root.begin(); it != root.end(); ++it) {
    YAML::Node k = it->first;
    YAML::Node row = it->second;
    if (!k.IsScalar()) {
      err = mark_of(name, k) + ": expected a scalar key, got " + std::string(node_kind(k));
      return false;
    }
    const std::string key = k.Scalar();
    size_t line = static_cast<size_t>(k.Mark().line + 1);
    if (key.empty()) {
      err = mark_of(name, k) + ": empty key";
      return false;
    }
    if (auto [s, fresh] = seen.emplace(key, line); !fresh) {
      err = mark_of(name, k) + ": duplicate key " + quoted_for_message(key) + " (first on line " +
            std::to_string(s->second) + ")";
      return false;
    }
    if (!row.IsMap()) {
      err = mark_of(name, row.IsDefined() && row.Mark().line >= 0 ? row : k) + ": " + quoted_for_message(key) +
            ": expected a mapping of column -> scalar, got " + std::string(node_kind(row));
      return false;
    }
    std::vector<std::string> cols;
    std::vector<std::string> cells;
    for (auto c = row.begin(); c != row.end(); ++c) {
      YAML::Node ck = c->first, cv = c->second;
      if (!ck.IsScalar() || ck.Scalar().empty()) {
        err = mark_of(name, ck) + ": " + quoted_for_message(key) + ": expected a column name";
        return false;
      }
      const std::string col = ck.Scalar();
      if (std::find(cols.begin(), cols.end(), col) != cols.end()) {
        err = mark_of(name, ck) + ": " + quoted_for_message(key) + ": column \"" + col + "\" appears twice";
        return false;
      }
      if (!cv.IsScalar() && !cv.IsNull()) {
        err = mark_of(name, cv) + ": " + quoted_for_message(key) + "." + col + ": expected a scalar, got " +
              std::string(node_kind(cv));
        return false;
      }
      cols.push_back(col);
      cells.push_back(yaml_scalar_json(cv));
    }
    if (out.keys.empty()) {
      out.columns = cols;
    } else {
      // Same columns as the first row, in any order; cells are stored in the first row's order.
      bool same = cols.size() == out.columns.size();
      std::vector<std::string> ordered(out.columns.size());
      for (size_t c = 0; same && c < cols.size(); ++c) {
        auto f = std::find(out.columns.begin(), out.columns.end(), cols[c]);
        if (f == out.columns.end()) same = false;
        else ordered[static_cast<size_t>(f - out.columns.begin())] = std::move(cells[c]);
      }
      if (!same) {
        std::vector<std::string_view> a(out.columns.begin(), out.columns.end()), b(cols.begin(), cols.end());
        err = mark_of(name, k) + ": " + quoted_for_message(key) + ": has columns " + join(b) +
              ", but the first row has " + join(a);
        return false;
      }
      cells = std::move(ordered);
    }
    out.keys.push_back(key);
    out.key_lines.push_back(line);
    out.cells.push_back(std::move(cells));
  }
  return true;
}

}  // namespace agentlog::plugins::enrich
