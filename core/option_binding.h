// Typed plugin configs. A plugin declares a config struct whose static `bind` lists every
// option of its OptionSpec table once, either tied to a member or marked as read by hand:
//
//   struct FilterConfig {
//     enum class Action : uint8_t { Keep, Drop };  // in the order of the allowed list
//     Action action = Action::Keep;
//     template <class B> static void bind(B& b) {
//       b.field("action", &FilterConfig::action);
//       b.by_hand("conditions");  // a list of mappings: read through OptionView
//     }
//   };
//
// A mapping or list of mappings (Object, ObjectList) is read by hand; when its entries have
// a config of their own, `b.nested("name", config_of<SubConfig>)` lets the test check that one against
// the child table too, and the factory calls bind_options on the sub-view.
// `bind_options(view, cfg)` fills the members from a checked OptionView (defaults from the
// table); `bound_options<C>()` describes the binding so that a unit test can hold it to the
// table: every option bound exactly once, every bound name declared, every member able to
// hold its option's type and range. A misspelt name fails that test, not a user's run.
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/options.h"
#include "core/status.h"

namespace agentlog {

// A member that needs to know whether the config set the option: `value` holds the
// table's default when it did not.
template <class T>
struct Tracked {
  T value{};
  bool given = false;
};

// Names a nested config in `b.nested("name", config_of<SubConfig>)`.
template <class C>
inline constexpr std::type_identity<C> config_of{};

// What a binding says about one option (for the completeness test).
struct BoundOption {
  std::string_view name;
  uint32_t accepts = 0;  // one bit per OptType the member can hold; 0: read by hand
  // Int members: the member type's range, which must hold the option's min..max.
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
  // A plain enum member needs a value: the option must be required or have a default.
  bool needs_value = false;
  // A mapping or list of mappings read by hand whose entries have a typed config of
  // their own (bound by the plugin on the sub-view): that config's binding.
  std::vector<BoundOption> (*nested)() = nullptr;
};

namespace binding_detail {

constexpr uint32_t bit(OptType t) { return 1u << static_cast<unsigned>(t); }

template <class T> struct Wrapper { using type = T; static constexpr int kind = 0; };
template <class T> struct Wrapper<std::optional<T>> { using type = T; static constexpr int kind = 1; };
template <class T> struct Wrapper<Tracked<T>> { using type = T; static constexpr int kind = 2; };

template <class T>
constexpr uint32_t accepts() {
  if constexpr (std::is_same_v<T, std::string>)
    return bit(OptType::String) | bit(OptType::Enum) | bit(OptType::Scalar);
  else if constexpr (std::is_same_v<T, bool>) return bit(OptType::Bool);
  else if constexpr (std::is_integral_v<T>) return bit(OptType::Int);
  else if constexpr (std::is_floating_point_v<T>) return bit(OptType::Double);
  else if constexpr (std::is_enum_v<T>) return bit(OptType::Enum);
  else if constexpr (std::is_same_v<T, std::vector<std::string>>)
    return bit(OptType::StringList) | bit(OptType::ScalarList);
  else static_assert(!sizeof(T), "no binding for this member type; read the option by hand");
}

template <class T>
void read(const OptionView& v, const OptionSpec& spec, std::string_view name, T& out) {
  if constexpr (std::is_same_v<T, std::string>) out = v.str(name);
  else if constexpr (std::is_same_v<T, bool>) out = v.boolean(name);
  else if constexpr (std::is_integral_v<T>) out = static_cast<T>(v.integer(name));
  else if constexpr (std::is_floating_point_v<T>) out = static_cast<T>(v.number(name));
  else if constexpr (std::is_enum_v<T>) {
    const std::string s = v.str(name);
    for (size_t i = 0; i < spec.allowed.size(); ++i)
      if (spec.allowed[i] == s) out = static_cast<T>(i);
  } else out = v.strings(name);
}

}  // namespace binding_detail

// Describes a binding (instantiates `C::bind` with this collector).
class BindingCollector {
 public:
  std::vector<BoundOption> options;

  template <class C, class M>
  void field(std::string_view name, M C::*) {
    using W = binding_detail::Wrapper<M>;
    using T = typename W::type;
    BoundOption b{name, binding_detail::accepts<T>()};
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // Clamped to int64_t, the type OptionSpec's bounds are in.
      b.min = std::is_signed_v<T> ? static_cast<int64_t>(std::numeric_limits<T>::min()) : 0;
      b.max = std::numeric_limits<T>::max() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                  ? std::numeric_limits<int64_t>::max()
                  : static_cast<int64_t>(std::numeric_limits<T>::max());
    }
    b.needs_value = std::is_enum_v<T> && W::kind == 0;
    options.push_back(b);
  }
  void by_hand(std::string_view name) { options.push_back(BoundOption{name}); }
  template <class Sub>
  void nested(std::string_view name, std::type_identity<Sub>);
};

template <class C>
std::vector<BoundOption> bound_options() {
  BindingCollector c;
  C::bind(c);
  return c.options;
}

template <class Sub>
void BindingCollector::nested(std::string_view name, std::type_identity<Sub>) {
  BoundOption b{name};
  b.nested = &bound_options<Sub>;
  options.push_back(b);
}

// Fills `cfg` (instantiates `C::bind` with this reader).
template <class C>
class BindingReader {
 public:
  BindingReader(const OptionView& view, C& cfg) : view_(view), cfg_(cfg) {}

  template <class Owner, class M>
    requires std::is_base_of_v<Owner, C>
  void field(std::string_view name, M Owner::*member) {
    const OptionSpec* spec = view_.declared(name);
    if (spec == nullptr) {
      // Caught by the binding test; here so that no build reads a misspelt option as unset.
      if (status_.ok()) status_ = Status::error("internal error: option \"" + std::string(name) +
                                                "\" is bound but not declared");
      return;
    }
    M& out = cfg_.*member;
    using W = binding_detail::Wrapper<M>;
    if constexpr (W::kind == 0) {
      binding_detail::read(view_, *spec, name, out);
    } else if constexpr (W::kind == 1) {
      if (view_.has(name)) binding_detail::read(view_, *spec, name, out.emplace());
    } else {
      out.given = view_.has(name);
      binding_detail::read(view_, *spec, name, out.value);
    }
  }
  void by_hand(std::string_view) {}
  template <class Sub>
  void nested(std::string_view, std::type_identity<Sub>) {}
  Status status() const { return status_; }

 private:
  const OptionView& view_;
  C& cfg_;
  Status status_;
};

template <class C>
Status bind_options(const OptionView& view, C& cfg) {
  BindingReader<C> reader(view, cfg);
  C::bind(reader);
  return reader.status();
}

}  // namespace agentlog
