// valijson adapter over simdjson's DOM (simdjson::dom::element), in the style of valijson's own
// adapters (json11_adapter.hpp, rapidjson_adapter.hpp). Header-only.
//
// Every class here wraps a simdjson DOM handle by value (dom::element / dom::array / dom::object
// are a document pointer plus a tape index), so adapters are cheap to copy and never re-parse or
// copy the JSON. The caller keeps the dom::document (or dom::parser) alive while adapters, and
// any valijson::Schema built from them, are in use -- except for frozen values (see
// SimdjsonFrozenValue), which own a private copy.
//
// Usage:
//   valijson::Schema schema;
//   valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
//   parser.populateSchema(agentlog::schema::SimdjsonAdapter(schema_element), schema);
//   valijson::Validator validator;
//   validator.validate(schema, agentlog::schema::SimdjsonAdapter(value_element), &results);
//
// Numbers: simdjson reports INT64, UINT64 (only for values above INT64_MAX) and DOUBLE.
//   - INT64:  an integer; getInteger() gives the value.
//   - UINT64: a number and an integer (type "integer" accepts it). Its double view is
//             exposed through isDouble()/getDouble(), which is what valijson's numeric
//             comparisons (minimum, maximum, const, enum, multipleOf by a decimal) use;
//             getInteger() fails because the value has no int64 representation.
//   - DOUBLE: a number; also an integer when it has no fractional part, as draft 6+ requires
//             (1.0 is an integer). getInteger() succeeds only when the value fits in int64.
//   Integers outside int64 therefore fail valijson's integer-divisor multipleOf ("could not be
//   converted"), i.e. they are reported invalid rather than checked with a wrapped value.
//
// Strings and keys keep embedded NULs (lengths come from std::string_view), but valijson 1.0
// itself cuts names at a NUL in required/properties/dependencies and counts minLength/maxLength
// up to the first NUL.
//
// valijson reports schema errors by calling valijson::throwRuntimeError(), which aborts the
// process unless VALIJSON_USE_EXCEPTIONS is set when valijson's headers are compiled. This
// header turns it on; it must be included before any valijson header (or the macro defined
// project-wide), and every translation unit of a program must agree on it.
#pragma once

#if !defined(VALIJSON_USE_EXCEPTIONS)
#if defined(VALIJSON_NORETURN)
#error "valijson was included before simdjson_adapter.h without VALIJSON_USE_EXCEPTIONS; include this header first or define VALIJSON_USE_EXCEPTIONS=1"
#endif
#define VALIJSON_USE_EXCEPTIONS 1
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <simdjson.h>

#include <valijson/exceptions.hpp>
#include <valijson/internal/adapter.hpp>
#include <valijson/internal/basic_adapter.hpp>
#include <valijson/internal/frozen_value.hpp>

namespace agentlog::schema {

class SimdjsonAdapter;
class SimdjsonArrayValueIterator;
class SimdjsonObjectMemberIterator;

/// What iterating a SimdjsonObject yields (valijson wants the key as std::string).
using SimdjsonObjectMember = std::pair<std::string, SimdjsonAdapter>;

namespace simdjson_adapter_detail {

/// Immutable values used by default-constructed adapters, arrays and objects.
struct Constants {
  simdjson::dom::document doc;
  simdjson::dom::element null_value;
  simdjson::dom::array empty_array;
  simdjson::dom::object empty_object;

  Constants() {
    static constexpr char kText[] = "[null,[],{}]";
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse_into_document(doc, kText, sizeof(kText) - 1).get(root)) {
      valijson::throwRuntimeError("simdjson adapter: failed to build constant values");
    }
    auto it = root.get_array().value_unsafe().begin();
    null_value = *it;
    ++it;
    empty_array = (*it).get_array().value_unsafe();
    ++it;
    empty_object = (*it).get_object().value_unsafe();
  }
};

inline const Constants& constants() {
  static const Constants c;
  return c;
}

// dom::array::size() and dom::object::size() saturate at 0xFFFFFF; count past that.
inline size_t array_size(simdjson::dom::array a) {
  const size_t n = a.size();
  if (n < 0xFFFFFF) return n;
  size_t count = 0;
  for (auto it = a.begin(); it != a.end(); ++it) ++count;
  return count;
}

inline size_t object_size(simdjson::dom::object o) {
  const size_t n = o.size();
  if (n < 0xFFFFFF) return n;
  size_t count = 0;
  for (auto it = o.begin(); it != o.end(); ++it) ++count;
  return count;
}

/// The int64 equal to `d`, if there is one.
inline bool double_to_int64(double d, int64_t& out) {
  // [-2^63, 2^63) is exactly the range of int64; both bounds are exact doubles.
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return false;
  if (std::trunc(d) != d) return false;
  out = static_cast<int64_t>(d);
  return true;
}

}  // namespace simdjson_adapter_detail

/// A simdjson array, iterable by valijson.
class SimdjsonArray {
 public:
  using const_iterator = SimdjsonArrayValueIterator;
  using iterator = SimdjsonArrayValueIterator;

  /// An empty array.
  SimdjsonArray() : m_value(simdjson_adapter_detail::constants().empty_array) {}

  explicit SimdjsonArray(simdjson::dom::array value) : m_value(value) {}

  SimdjsonArrayValueIterator begin() const;
  SimdjsonArrayValueIterator end() const;

  size_t size() const { return simdjson_adapter_detail::array_size(m_value); }

 private:
  simdjson::dom::array m_value;
};

/// A simdjson object, iterable by valijson. Members come in document order; with duplicate
/// keys, find() returns the first.
class SimdjsonObject {
 public:
  using const_iterator = SimdjsonObjectMemberIterator;
  using iterator = SimdjsonObjectMemberIterator;

  /// An empty object.
  SimdjsonObject() : m_value(simdjson_adapter_detail::constants().empty_object) {}

  explicit SimdjsonObject(simdjson::dom::object value) : m_value(value) {}

  SimdjsonObjectMemberIterator begin() const;
  SimdjsonObjectMemberIterator end() const;

  /// The member named `propertyName` (compared by length and bytes), or end().
  SimdjsonObjectMemberIterator find(const std::string& propertyName) const;

  size_t size() const { return simdjson_adapter_detail::object_size(m_value); }

 private:
  simdjson::dom::object m_value;
};

/// An independent copy of a value, for valijson's enum and const constraints. The value is
/// serialised and parsed into a document of its own, shared (read-only) between clones.
class SimdjsonFrozenValue : public valijson::adapters::FrozenValue {
 public:
  explicit SimdjsonFrozenValue(simdjson::dom::element source) {
    const std::string text = simdjson::to_string(source);
    auto doc = std::make_shared<simdjson::dom::document>();
    simdjson::dom::parser parser;
    if (parser.parse_into_document(*doc, text.data(), text.size()).get(m_root)) {
      valijson::throwRuntimeError("simdjson adapter: failed to copy a frozen value");
    }
    m_doc = std::move(doc);
  }

  FrozenValue* clone() const override { return new SimdjsonFrozenValue(*this); }

  bool equalTo(const valijson::adapters::Adapter& other, bool strict) const override;

 private:
  std::shared_ptr<const simdjson::dom::document> m_doc;  // owns what m_root points into
  simdjson::dom::element m_root;
};

/// Read access to one simdjson value; BasicAdapter supplies valijson's casting semantics.
class SimdjsonValue {
 public:
  /// A null value.
  SimdjsonValue() : m_value(simdjson_adapter_detail::constants().null_value) {}

  SimdjsonValue(simdjson::dom::element value) : m_value(value) {}

  valijson::adapters::FrozenValue* freeze() const { return new SimdjsonFrozenValue(m_value); }

  std::optional<SimdjsonArray> getArrayOptional() const {
    if (m_value.type() == simdjson::dom::element_type::ARRAY) {
      return SimdjsonArray(m_value.get_array().value_unsafe());
    }
    return {};
  }

  bool getArraySize(size_t& result) const {
    if (m_value.type() != simdjson::dom::element_type::ARRAY) return false;
    result = simdjson_adapter_detail::array_size(m_value.get_array().value_unsafe());
    return true;
  }

  bool getBool(bool& result) const {
    if (m_value.type() != simdjson::dom::element_type::BOOL) return false;
    result = m_value.get_bool().value_unsafe();
    return true;
  }

  /// DOUBLE values, and UINT64 values (which have no int64 form) converted to double.
  bool getDouble(double& result) const {
    switch (m_value.type()) {
      case simdjson::dom::element_type::DOUBLE:
        result = m_value.get_double().value_unsafe();
        return true;
      case simdjson::dom::element_type::UINT64:
        result = static_cast<double>(m_value.get_uint64().value_unsafe());
        return true;
      default:
        return false;
    }
  }

  /// INT64 values, and DOUBLE values with no fractional part that fit in int64.
  bool getInteger(int64_t& result) const {
    switch (m_value.type()) {
      case simdjson::dom::element_type::INT64:
        result = m_value.get_int64().value_unsafe();
        return true;
      case simdjson::dom::element_type::DOUBLE:
        return simdjson_adapter_detail::double_to_int64(m_value.get_double().value_unsafe(), result);
      default:
        return false;
    }
  }

  std::optional<SimdjsonObject> getObjectOptional() const {
    if (m_value.type() == simdjson::dom::element_type::OBJECT) {
      return SimdjsonObject(m_value.get_object().value_unsafe());
    }
    return {};
  }

  bool getObjectSize(size_t& result) const {
    if (m_value.type() != simdjson::dom::element_type::OBJECT) return false;
    result = simdjson_adapter_detail::object_size(m_value.get_object().value_unsafe());
    return true;
  }

  /// The string's bytes, embedded NULs included.
  bool getString(std::string& result) const {
    if (m_value.type() != simdjson::dom::element_type::STRING) return false;
    const std::string_view s = m_value.get_string().value_unsafe();
    result.assign(s.data(), s.size());
    return true;
  }

  static bool hasStrictTypes() { return true; }

  bool isArray() const { return m_value.type() == simdjson::dom::element_type::ARRAY; }

  bool isBool() const { return m_value.type() == simdjson::dom::element_type::BOOL; }

  bool isDouble() const {
    const auto t = m_value.type();
    return t == simdjson::dom::element_type::DOUBLE || t == simdjson::dom::element_type::UINT64;
  }

  /// Mathematically integral: INT64, UINT64, and DOUBLE with no fractional part.
  bool isInteger() const {
    switch (m_value.type()) {
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64:
        return true;
      case simdjson::dom::element_type::DOUBLE: {
        const double d = m_value.get_double().value_unsafe();
        return std::isfinite(d) && std::trunc(d) == d;
      }
      default:
        return false;
    }
  }

  bool isNull() const { return m_value.type() == simdjson::dom::element_type::NULL_VALUE; }

  bool isNumber() const {
    const auto t = m_value.type();
    return t == simdjson::dom::element_type::INT64 || t == simdjson::dom::element_type::UINT64 ||
           t == simdjson::dom::element_type::DOUBLE;
  }

  bool isObject() const { return m_value.type() == simdjson::dom::element_type::OBJECT; }

  bool isString() const { return m_value.type() == simdjson::dom::element_type::STRING; }

 private:
  simdjson::dom::element m_value;
};

/// The valijson Adapter for a simdjson DOM value.
class SimdjsonAdapter
    : public valijson::adapters::BasicAdapter<SimdjsonAdapter, SimdjsonArray, SimdjsonObjectMember,
                                              SimdjsonObject, SimdjsonValue> {
 public:
  /// A null value.
  SimdjsonAdapter() : BasicAdapter() {}

  SimdjsonAdapter(simdjson::dom::element value) : BasicAdapter(SimdjsonValue(value)) {}

  /// The root of a document; valijson builds adapters this way for fetched remote schemas.
  SimdjsonAdapter(const simdjson::dom::document& document)
      : BasicAdapter(SimdjsonValue(document.root())) {}
};

/// Iterates the values of a SimdjsonArray. simdjson's tape can only be walked forwards, so
/// operator-- and a negative advance() re-walk from the start of the array (O(n)); valijson
/// decrements only once per uniqueItems check, whose comparisons are O(n^2) anyway.
class SimdjsonArrayValueIterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = SimdjsonAdapter;
  using difference_type = std::ptrdiff_t;
  using pointer = SimdjsonAdapter*;
  using reference = SimdjsonAdapter&;

  SimdjsonArrayValueIterator(simdjson::dom::array array, simdjson::dom::array::iterator itr)
      : m_array(array), m_itr(itr) {}

  SimdjsonAdapter operator*() const { return SimdjsonAdapter(*m_itr); }

  valijson::adapters::DerefProxy<SimdjsonAdapter> operator->() const {
    return valijson::adapters::DerefProxy<SimdjsonAdapter>(**this);
  }

  bool operator==(const SimdjsonArrayValueIterator& other) const { return m_itr == other.m_itr; }
  bool operator!=(const SimdjsonArrayValueIterator& other) const { return m_itr != other.m_itr; }

  const SimdjsonArrayValueIterator& operator++() {
    ++m_itr;
    return *this;
  }

  SimdjsonArrayValueIterator operator++(int) {
    SimdjsonArrayValueIterator before(*this);
    ++m_itr;
    return before;
  }

  const SimdjsonArrayValueIterator& operator--() {
    const auto last = m_array.end();
    auto prev = m_array.begin();
    if (prev == m_itr) valijson::throwRuntimeError("simdjson adapter: decrementing the first array iterator");
    for (auto next = prev; ++next != m_itr; prev = next) {
      if (next == last) valijson::throwRuntimeError("simdjson adapter: iterator not in its array");
    }
    m_itr = prev;
    return *this;
  }

  SimdjsonArrayValueIterator operator--(int) {
    SimdjsonArrayValueIterator before(*this);
    --*this;
    return before;
  }

  void advance(std::ptrdiff_t n) {
    for (; n > 0; --n) ++m_itr;
    for (; n < 0; ++n) --*this;
  }

 private:
  simdjson::dom::array m_array;  // the container, for walking back from its start
  simdjson::dom::array::iterator m_itr;
};

/// Iterates the members of a SimdjsonObject in document order; operator-- re-walks from the
/// start of the object (O(n)), as for arrays.
class SimdjsonObjectMemberIterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = SimdjsonObjectMember;
  using difference_type = std::ptrdiff_t;
  using pointer = SimdjsonObjectMember*;
  using reference = SimdjsonObjectMember&;

  SimdjsonObjectMemberIterator(simdjson::dom::object object, simdjson::dom::object::iterator itr)
      : m_object(object), m_itr(itr) {}

  SimdjsonObjectMember operator*() const {
    const std::string_view key = m_itr.key();
    return SimdjsonObjectMember(std::string(key.data(), key.size()), SimdjsonAdapter(m_itr.value()));
  }

  valijson::adapters::DerefProxy<SimdjsonObjectMember> operator->() const {
    return valijson::adapters::DerefProxy<SimdjsonObjectMember>(**this);
  }

  bool operator==(const SimdjsonObjectMemberIterator& other) const { return m_itr == other.m_itr; }
  bool operator!=(const SimdjsonObjectMemberIterator& other) const { return m_itr != other.m_itr; }

  const SimdjsonObjectMemberIterator& operator++() {
    ++m_itr;
    return *this;
  }

  SimdjsonObjectMemberIterator operator++(int) {
    SimdjsonObjectMemberIterator before(*this);
    ++m_itr;
    return before;
  }

  const SimdjsonObjectMemberIterator& operator--() {
    const auto last = m_object.end();
    auto prev = m_object.begin();
    if (prev == m_itr) valijson::throwRuntimeError("simdjson adapter: decrementing the first object iterator");
    for (auto next = prev; ++next != m_itr; prev = next) {
      if (next == last) valijson::throwRuntimeError("simdjson adapter: iterator not in its object");
    }
    m_itr = prev;
    return *this;
  }

  SimdjsonObjectMemberIterator operator--(int) {
    SimdjsonObjectMemberIterator before(*this);
    --*this;
    return before;
  }

 private:
  simdjson::dom::object m_object;  // the container, for walking back from its start
  simdjson::dom::object::iterator m_itr;
};

inline SimdjsonArrayValueIterator SimdjsonArray::begin() const {
  return SimdjsonArrayValueIterator(m_value, m_value.begin());
}

inline SimdjsonArrayValueIterator SimdjsonArray::end() const {
  return SimdjsonArrayValueIterator(m_value, m_value.end());
}

inline SimdjsonObjectMemberIterator SimdjsonObject::begin() const {
  return SimdjsonObjectMemberIterator(m_value, m_value.begin());
}

inline SimdjsonObjectMemberIterator SimdjsonObject::end() const {
  return SimdjsonObjectMemberIterator(m_value, m_value.end());
}

inline SimdjsonObjectMemberIterator SimdjsonObject::find(const std::string& propertyName) const {
  const auto last = m_value.end();
  for (auto it = m_value.begin(); it != last; ++it) {
    if (it.key_equals(propertyName)) return SimdjsonObjectMemberIterator(m_value, it);
  }
  return SimdjsonObjectMemberIterator(m_value, last);
}

inline bool SimdjsonFrozenValue::equalTo(const valijson::adapters::Adapter& other, bool strict) const {
  return SimdjsonAdapter(m_root).equalTo(other, strict);
}

}  // namespace agentlog::schema

namespace valijson::adapters {

/// Lets valijson::SchemaParser name the document type that fetchDoc/freeDoc callbacks use.
template <>
struct AdapterTraits<agentlog::schema::SimdjsonAdapter> {
  typedef simdjson::dom::document DocumentType;

  static std::string adapterName() { return "SimdjsonAdapter"; }
};

}  // namespace valijson::adapters
