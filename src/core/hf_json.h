// Reading tokenizer.json: where a value sits (file and JSON path) and typed accessors whose
// errors say so in one line: "<file>: pre_tokenizer.pretokenizers[1].behavior: expected a string".
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/hf_text.h"

namespace sculpt::hf {

using nlohmann::json;

// s as it may appear in a one-line error message: control characters escaped (\x0a), and cut
// after about 80 bytes (at a character boundary).
inline std::string printable(std::string_view s) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  size_t i = 0;
  for (; i < s.size() && (i < 80 || (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += char(c);
    }
  }
  if (i < s.size()) out += "...";
  return out;
}

// A position in a JSON document, for error messages.
struct JsonAt {
  std::string file;
  std::string path;  // "" for the document itself

  JsonAt operator[](std::string_view key) const {
    return {file, path.empty() ? printable(key) : path + "." + printable(key)};
  }
  JsonAt operator[](size_t index) const { return {file, path + "[" + std::to_string(index) + "]"}; }

  // Throws Error("<file>: <path>: <message...>").
  template <class... Args>
  [[noreturn]] void fail(Args&&... message) const {
    sculpt::fail(path.empty() ? file : file + ": " + path, std::forward<Args>(message)...);
  }
  // Throws Error("<file>: <path> '<value>' is not supported (<why...>)").
  template <class... Args>
  [[noreturn]] void unsupported(std::string_view value, Args&&... why) const {
    sculpt::fail(file, path, " '", printable(value), "' is not supported (", std::forward<Args>(why)..., ")");
  }
};

inline const char* json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    default:
      return "a value";
  }
}

inline const json& require_object(const json& j, const JsonAt& at) {
  if (!j.is_object()) at.fail("expected an object, found ", json_kind(j));
  return j;
}

// The member `key` of object j; fails if it is missing.
inline const json& member(const json& j, const JsonAt& at, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) at[key].fail("is missing");
  return *it;
}

inline std::string get_string(const json& j, const JsonAt& at, const char* key) {
  const json& v = member(j, at, key);
  if (!v.is_string()) at[key].fail("expected a string, found ", json_kind(v));
  return v.get<std::string>();
}

inline bool get_bool(const json& j, const JsonAt& at, const char* key) {
  const json& v = member(j, at, key);
  if (!v.is_boolean()) at[key].fail("expected true or false, found ", json_kind(v));
  return v.get<bool>();
}

// An optional boolean: missing or null gives `fallback` (serde's Option / default).
inline bool get_bool_or(const json& j, const JsonAt& at, const char* key, bool fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) at[key].fail("expected true or false, found ", json_kind(*it));
  return it->get<bool>();
}

// A non-negative integer no larger than `max`.
inline uint64_t get_uint(const json& v, const JsonAt& at, uint64_t max) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    at.fail("expected a non-negative integer, found ", json_kind(v));
  }
  const uint64_t n = v.get<uint64_t>();
  if (n > max) at.fail(n, " is larger than ", max);
  return n;
}

// A Rust `char` field: a string of exactly one character.
inline char32_t get_char(const json& j, const JsonAt& at, const char* key) {
  const std::string s = get_string(j, at, key);
  size_t i = 0;
  if (s.empty() || utf8_invalid_at(s) != std::string::npos || (utf8_next(s, i), i != s.size())) {
    at[key].fail("expected a single character, found '", printable(s), "'");
  }
  i = 0;
  return utf8_next(s, i);
}

// Fails on any member not in `known` (an option this implementation would silently ignore).
inline void check_keys(const json& j, const JsonAt& at, std::initializer_list<std::string_view> known) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || it.key() == k;
    if (!ok) at[it.key()].fail("this option is not supported");
  }
}

// The "type" member of a component.
inline std::string component_type(const json& j, const JsonAt& at) {
  require_object(j, at);
  return get_string(j, at, "type");
}

}  // namespace sculpt::hf
