#include "cli/print_plugins.h"

#include <cstdio>
#include <span>
#include <string>

#include "core/json_text.h"
#include "core/options.h"
#include "core/plugin.h"

namespace agentlog::cli {
namespace {

// One option per line, nested tables indented under their option.
void print_options_text(std::span<const OptionSpec> opts, int indent) {
  for (const auto& o : opts) {
    std::string type(type_name(o.type));
    if (o.type == OptType::Enum) type = join(o.allowed, "|");
    std::string def = o.required ? "required" : (o.default_value.empty() ? "optional" : "default " + std::string(o.default_value));
    std::printf("%*s%-16s %-22s %-18s %s\n", indent, "", std::string(o.name).c_str(), type.c_str(), def.c_str(),
                std::string(o.description).c_str());
    if (!o.children.empty()) print_options_text(o.children, indent + 4);
  }
}

}  // namespace

void print_plugins_text() {
  for (PluginKind kind : {PluginKind::Input, PluginKind::Stage, PluginKind::Output}) {
    std::printf("%ss:\n", std::string(kind_name(kind)).c_str());
    for (const PluginInfo* p : all_plugins()) {
      if (p->kind() != kind) continue;
      std::printf("  %-10s %s\n", std::string(p->name).c_str(), std::string(p->summary).c_str());
      print_options_text(p->options, 6);
    }
    std::printf("\n");
  }
}

static void append_options_json(std::string& out, std::span<const OptionSpec> opts) {
  out += '[';
  for (size_t i = 0; i < opts.size(); ++i) {
    const OptionSpec& option = opts[i];
    if (i) out += ',';
    out += "{\"name\":";
    json::append_quoted(out, option.name);
    out += ",\"type\":";
    json::append_quoted(out, type_name(option.type));
    out += ",\"allowed\":[";
    for (size_t a = 0; a < option.allowed.size(); ++a) {
      if (a) out += ',';
      json::append_quoted(out, option.allowed[a]);
    }
    out += "],\"required\":";
    out += option.required ? "true" : "false";
    out += ",\"default\":";
    if (option.default_value.empty()) out += "null";
    else json::append_quoted(out, option.default_value);
    out += ",\"description\":";
    json::append_quoted(out, option.description);
    out += ",\"options\":";
    append_options_json(out, option.children);
    out += '}';
  }
  out += ']';
}

void print_plugins_json() {
  std::string out = "{";
  bool first_kind = true;
  for (PluginKind kind : {PluginKind::Input, PluginKind::Stage, PluginKind::Output}) {
    if (!first_kind) out += ',';
    first_kind = false;
    json::append_quoted(out, std::string(kind_name(kind)) + "s");
    out += ":[";
    bool first = true;
    for (const PluginInfo* plugin : all_plugins()) {
      if (plugin->kind() != kind) continue;
      if (!first) out += ',';
      first = false;
      out += "{\"name\":";
      json::append_quoted(out, plugin->name);
      out += ",\"summary\":";
      json::append_quoted(out, plugin->summary);
      out += ",\"options\":";
      append_options_json(out, plugin->options);
      out += '}';
    }
    out += ']';
  }
  out += "}\n";
  std::fputs(out.c_str(), stdout);
}

}  // namespace agentlog::cli
