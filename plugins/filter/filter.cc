#include "plugins/filter/filter.h"

#include "core/condition.h"

namespace agentlog::plugins {
namespace {

constexpr std::string_view kActions[] = {"keep", "drop"};
constexpr std::string_view kMatch[] = {"all", "any"};

constexpr OptionSpec kFilterOptions[] = {
    {.name = "action", .type = OptType::Enum, .default_value = "keep",
     .description = "keep: pass only matching records; drop: drop matching records", .allowed = kActions},
    {.name = "match", .type = OptType::Enum, .default_value = "all",
     .description = "all conditions must hold, or any one of them", .allowed = kMatch},
    {.name = "conditions", .type = OptType::ObjectList, .description = "the conditions (at least one)",
     .required = true, .children = kConditionOptions},
};

struct FilterConfig {
  enum class Action : uint8_t { Keep, Drop };  // in kActions' order
  enum class Match : uint8_t { All, Any };     // in kMatch's order
  Action action = Action::Keep;
  Match match = Match::All;
  template <class B>
  static void bind(B& b) {
    b.field("action", &FilterConfig::action);
    b.field("match", &FilterConfig::match);
    b.by_hand("conditions");  // a list of mappings: build_conditions reads them
  }
};

class FilterStage : public RecordStage {
 public:
  bool keep_matching = true;
  bool match_all = true;
  std::vector<Condition> conditions;

  StageVerdict process(Record& record) override {
    bool m = eval_conditions(conditions, match_all, record.root());
    return m == keep_matching ? StageVerdict::keep() : StageVerdict::drop();
  }
};

Status make_filter(const FilterConfig& cfg, const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<FilterStage>();
  st->keep_matching = cfg.action == FilterConfig::Action::Keep;
  st->match_all = cfg.match == FilterConfig::Match::All;
  auto conds = o.objects("conditions");
  if (conds.empty()) return Status::error(o.error("conditions", "must list at least one condition"));
  if (Status s = build_conditions(conds, st->conditions); !s.ok()) return s;
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& filter_stage_plugin() {
  static const PluginInfo info = PluginInfo::stage<make_filter>(
      "filter", "keep or drop records by field conditions (equals, in, exists, regex)", kFilterOptions);
  return info;
}

}  // namespace agentlog::plugins
