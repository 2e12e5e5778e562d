// The explicit plugin registry, generated from plugins/plugin_list.def.
#include "core/plugin.h"

namespace agentlog {
namespace plugins {
#define AGENTLOG_PLUGIN(fn) const PluginInfo& fn();
#include "plugins/plugin_list.def"
#undef AGENTLOG_PLUGIN
}  // namespace plugins

std::span<const PluginInfo* const> all_plugins() {
  static const PluginInfo* const list[] = {
#define AGENTLOG_PLUGIN(fn) &plugins::fn(),
#include "plugins/plugin_list.def"
#undef AGENTLOG_PLUGIN
  };
  return list;
}

const PluginInfo* find_plugin(PluginKind kind, std::string_view name) {
  for (const PluginInfo* p : all_plugins())
    if (p->kind() == kind && p->name == name) return p;
  return nullptr;
}

std::vector<std::string_view> plugin_names(PluginKind kind) {
  std::vector<std::string_view> out;
  for (const PluginInfo* p : all_plugins())
    if (p->kind() == kind) out.push_back(p->name);
  return out;
}

std::string_view kind_name(PluginKind k) {
  switch (k) {
    case PluginKind::Input: return "input";
    case PluginKind::Stage: return "stage";
    case PluginKind::Output: return "output";
  }
  return "?";
}

}  // namespace agentlog
