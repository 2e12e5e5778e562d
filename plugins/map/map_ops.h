// Stage `map`'s field operations (rename, copy, move, delete, default, set, coerce, hash) as
// built from the config (map.cc) and applied to one record's tree (map_ops.cc).
#pragma once
#include <cstdint>
#include <string>

#include "core/field_path.h"
#include "core/json_text.h"

namespace agentlog::plugins::map {

enum class OpKind { Rename, Copy, Move, Delete, Default, Set, Coerce, Hash };
enum class CoerceTo { String, Integer, Number, Boolean };

struct Op {
  OpKind kind;
  std::string label;  // "operations[2] (coerce)"
  FieldPath from, to;
  bool overwrite = true, required = false;
  json::Value value;
  CoerceTo coerce = CoerceTo::String;
};

// Applies one operation; sets `changed` when it edits the record. False with `why` when the
// record cannot be mapped; a missing optional field is skipped and counted in `skipped_missing`.
bool apply_op(const Op& op, json::Value& root, std::string& why, bool& changed, uint64_t& skipped_missing);

}  // namespace agentlog::plugins::map
