// The YAML side of the typed configuration: walks a type-erased schema (config.h) against
// yaml-cpp nodes, parses scalars strictly, and prints configs and help tables.
#include "core/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/text_check.h"

namespace sculpt {
namespace config_detail {
namespace {

constexpr std::size_t kMaxConfigBytes = std::size_t(16) << 20;
constexpr std::size_t kNoChoice = static_cast<std::size_t>(-1);

// ---------------------------------------------------------------------------------------------
// Where an error is reported: a file (messages "file:line: key: message") or a --set
// assignment (messages "--set key=value: message").

struct Origin {
  std::string where;    // file name, or "--set key=value"
  bool in_file = true;  // false for --set
  std::string set_key;  // for --set: the assigned key, left out of messages
};

// "file:line", or just the file or the --set assignment.
std::string location(const Origin& origin, const YAML::Mark& mark) {
  if (!origin.in_file || mark.is_null()) return origin.where;
  return str_cat(origin.where, ":", mark.line + 1);
}

[[noreturn]] void fail_at(const Origin& origin, const YAML::Mark& mark, const std::string& key,
                          const std::string& message) {
  if (!origin.in_file) {
    if (key.empty() || key == origin.set_key) fail(origin.where, message);
    fail(origin.where, key, ": ", message);
  }
  const std::string where = location(origin, mark);
  if (key.empty()) fail(where, message);
  fail(where, key, ": ", message);
}

std::string join_path(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

// ---------------------------------------------------------------------------------------------
// Names and suggestions.

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for the closest candidate, or " (expected one of: a, b)".
std::string suggestion(const std::string& name, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_distance = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (const std::string& candidate : candidates) {
    std::size_t d = edit_distance(name, candidate);
    if (d < best_distance) best = &candidate, best_distance = d;
  }
  if (best) return " (did you mean '" + *best + "'?)";
  if (candidates.empty()) return " (this section has no keys)";
  std::string list;
  for (std::size_t i = 0; i < candidates.size() && i < 16; ++i)
    list += (i ? ", " : "") + candidates[i];
  if (candidates.size() > 16) list += ", ...";
  return " (expected one of: " + list + ")";
}

// Removed keys stay in the schema, to name their replacement, but are never listed, dumped or
// suggested.
bool is_listed(const SchemaNode& node) { return node.type != ConfigType::kRemoved; }

bool has_listed_keys(const SchemaNode& section) {
  return std::any_of(section.children.begin(), section.children.end(), is_listed);
}

std::vector<std::string> child_names(const SchemaNode& section) {
  std::vector<std::string> names;
  for (const SchemaNode& child : section.children)
    if (is_listed(child)) names.push_back(child.name);
  return names;
}

const SchemaNode* find_child(const SchemaNode& section, const std::string& name) {
  for (const SchemaNode& child : section.children)
    if (child.name == name) return &child;
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Rendering values as YAML text.

// A double-quoted YAML scalar. Characters that YAML text may not hold raw (C0 and C1 controls,
// DEL, U+FFFE, U+FFFF: check_yaml_characters refuses them) are escaped, so that a value read
// from an escape ("\x9b") dumps to text that loads back.
std::string quote(const std::string& text) {
  std::string out = "\"";
  char buf[8];
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {  // U+0080..U+009F in UTF-8
          std::snprintf(buf, sizeof buf, "\\x%02x", next);
          out += buf;
          ++i;
        } else if (text.compare(i, 3, "\xEF\xBF\xBE") == 0 ||
                   text.compare(i, 3, "\xEF\xBF\xBF") == 0) {  // U+FFFE, U+FFFF
          out += text[i + 2] == '\xBE' ? "\\uFFFE" : "\\uFFFF";
          i += 2;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// Shortest text that parses back to exactly `value`; ".0" added to whole numbers.
template <class F>
std::string render_float(F value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, value);
  std::string text(buf, result.ptr);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string render_bound(long double bound) {
  if (std::isinf(bound)) return bound > 0 ? ".inf" : "-.inf";
  if (bound == std::floor(bound) && std::fabs(bound) < 9.2e18L)
    return std::to_string(static_cast<long long>(bound));
  return render_float(static_cast<double>(bound));
}

// Words that a plain scalar reads as a bool or null, in YAML 1.2 or 1.1.
bool is_reserved_word(const std::string& text) {
  static const char* const kReserved[] = {"true", "True", "TRUE", "false", "False", "FALSE", "null",
                                          "Null", "NULL", "yes",  "Yes",   "YES",   "no",    "No",
                                          "NO",   "on",   "On",   "ON",    "off",   "Off",   "OFF",
                                          "y",    "Y",    "n",    "N"};
  return std::any_of(std::begin(kReserved), std::end(kReserved),
                     [&](const char* reserved) { return text == reserved; });
}

// A plain YAML scalar for enum names; quoted if it could be read as something else.
std::string render_name(const std::string& name) {
  bool plain =
      !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  return plain && !is_reserved_word(name) ? name : quote(name);
}

template <class V, class Render>
std::string render_list(const std::vector<V>& values, Render render) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + render(values[i]);
  return out + "]";
}

// A grid key's alternatives as one line of YAML: bare when there is one that is not itself a
// list (a list would read back as several alternatives), else a flow list.
std::string render_alternatives(const std::vector<std::string>& values) {
  if (values.size() == 1 && values[0].rfind('[', 0) != 0) return values[0];
  return render_list(values, [](const std::string& value) { return value; });
}

// The (key, value) pairs of a field of changes to another config, each value one line of YAML.
std::vector<std::pair<std::string, std::string>> override_texts(const SchemaNode& node) {
  std::vector<std::pair<std::string, std::string>> out;
  if (node.type == ConfigType::kOverrides) {
    for (const ConfigOverride& o : *static_cast<const std::vector<ConfigOverride>*>(node.target))
      out.emplace_back(o.key, o.value);
  } else {
    for (const ConfigOverrideChoices& c :
         *static_cast<const std::vector<ConfigOverrideChoices>*>(node.target))
      out.emplace_back(c.key, render_alternatives(c.values));
  }
  return out;
}

std::string render_flow(const SchemaNode& node);

std::string render_value(const SchemaNode& node) {
  switch (node.type) {
    case ConfigType::kSection:
      return "";
    case ConfigType::kBool:
      return *static_cast<const bool*>(node.target) ? "true" : "false";
    case ConfigType::kInt:
      return std::to_string(*static_cast<const int*>(node.target));
    case ConfigType::kInt64:
      return std::to_string(*static_cast<const std::int64_t*>(node.target));
    case ConfigType::kUint64:
      return std::to_string(*static_cast<const std::uint64_t*>(node.target));
    case ConfigType::kFloat:
      return render_float(*static_cast<const float*>(node.target));
    case ConfigType::kDouble:
      return render_float(*static_cast<const double*>(node.target));
    case ConfigType::kString:
      return quote(*static_cast<const std::string*>(node.target));
    case ConfigType::kEnum: {
      std::size_t i = node.get_choice();
      if (i == kNoChoice) fail(node.path, "holds a value that is not among its choices");
      return render_name(node.choice_names[i]);
    }
    case ConfigType::kStringList:
      return render_list(*static_cast<const std::vector<std::string>*>(node.target), quote);
    case ConfigType::kIntList:
      return render_list(*static_cast<const std::vector<int>*>(node.target),
                         [](int v) { return std::to_string(v); });
    case ConfigType::kDoubleList:
      return render_list(*static_cast<const std::vector<double>*>(node.target),
                         [](double v) { return render_float(v); });
    case ConfigType::kOverrides:
    case ConfigType::kOverrideChoices: {
      std::string out = "{";
      for (const auto& [key, value] : override_texts(node))
        out += (out.size() > 1 ? ", " : "") + key + ": " + value;
      return out + "}";
    }
    case ConfigType::kSectionList: {
      std::vector<std::string> elements(node.list_size());
      for (std::size_t i = 0; i < elements.size(); ++i)
        node.with_element(i, [&](const SchemaNode& e) { elements[i] = render_flow(e); });
      return render_list(elements, [](const std::string& element) { return element; });
    }
    case ConfigType::kRemoved:
      return "";
  }
  return "";
}

// A field or a whole section as one line of flow YAML, for the value of a list of sections in
// the help table (the dump writes sections in block style).
std::string render_flow(const SchemaNode& node) {
  if (!node.is_section()) return render_value(node);
  std::string out;
  for (const SchemaNode& child : node.children) {
    if (is_listed(child))
      out += (out.empty() ? "" : ", ") + render_name(child.name) + ": " + render_flow(child);
  }
  return "{" + out + "}";
}

const char* type_name(ConfigType type) {
  switch (type) {
    case ConfigType::kSection:
      return "section";
    case ConfigType::kBool:
      return "bool";
    case ConfigType::kInt:
      return "int";
    case ConfigType::kInt64:
      return "int64";
    case ConfigType::kUint64:
      return "uint64";
    case ConfigType::kFloat:
      return "float";
    case ConfigType::kDouble:
      return "double";
    case ConfigType::kString:
      return "string";
    case ConfigType::kEnum:
      return "enum";
    case ConfigType::kStringList:
      return "list<string>";
    case ConfigType::kIntList:
      return "list<int>";
    case ConfigType::kDoubleList:
      return "list<double>";
    case ConfigType::kOverrides:
      return "map<key, value>";
    case ConfigType::kOverrideChoices:
      return "map<key, values>";
    case ConfigType::kSectionList:
      return "list<section>";
    case ConfigType::kRemoved:
      return "removed";
  }
  return "?";
}

bool has_range(const Range& range) { return !std::isinf(range.min) || !std::isinf(range.max); }

std::string describe_range(const Range& range) {
  if (!std::isinf(range.min) && !std::isinf(range.max))
    return "in [" + render_bound(range.min) + ", " + render_bound(range.max) + "]";
  if (!std::isinf(range.min)) return ">= " + render_bound(range.min);
  return "<= " + render_bound(range.max);
}

std::string constraint_of(const SchemaNode& node) {
  if (node.type == ConfigType::kEnum) {
    std::string out = "one of: ";
    for (std::size_t i = 0; i < node.choice_names.size(); ++i)
      out += (i ? ", " : "") + node.choice_names[i];
    return out;
  }
  if (!has_range(node.range)) return "";
  bool list = node.type == ConfigType::kIntList || node.type == ConfigType::kDoubleList;
  return (list ? "each " : "") + describe_range(node.range);
}

// ---------------------------------------------------------------------------------------------
// Parsing scalars strictly.

const char* node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "a scalar";
  }
}

bool is_quoted(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

// "'ten'", "the quoted string '10'", "a mapping", "null".
std::string got(const YAML::Node& node) {
  if (!node.IsScalar()) return node_kind(node);
  std::string text = node.Scalar();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return (is_quoted(node) ? "the quoted string '" : "'") + text + "'";
}

enum class Parsed { kOk, kNotANumber, kOutOfRange };

// A whole decimal integer with an optional sign.
template <class I>
Parsed parse_integer(const std::string& text, I& out) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+') ++begin;
  if (begin == end || *begin == '+' || (std::is_unsigned_v<I> && *begin == '-'))
    return Parsed::kNotANumber;
  auto [ptr, ec] = std::from_chars(begin, end, out);
  if (ptr != end) return Parsed::kNotANumber;
  if (ec == std::errc::result_out_of_range) return Parsed::kOutOfRange;
  return ec == std::errc() ? Parsed::kOk : Parsed::kNotANumber;
}

// A YAML float: integers, decimals, exponents, .inf/-.inf/.nan. Values the type cannot hold
// (1e39 for float; also 1e-50, which would silently become 0) are out of range.
template <class F>
Parsed parse_floating(const std::string& text, F& out) {
  static const char* const kInf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
  static const char* const kNan[] = {".nan", ".NaN", ".NAN"};
  for (const char* name : kInf) {
    if (text == name) return out = std::numeric_limits<F>::infinity(), Parsed::kOk;
    if (text == std::string("-") + (name[0] == '+' ? name + 1 : name))
      return out = -std::numeric_limits<F>::infinity(), Parsed::kOk;
  }
  for (const char* name : kNan)
    if (text == name) return out = std::numeric_limits<F>::quiet_NaN(), Parsed::kOk;
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+') ++begin;
  if (begin == end || *begin == '+') return Parsed::kNotANumber;
  auto [ptr, ec] = std::from_chars(begin, end, out, std::chars_format::general);
  if (ptr != end) return Parsed::kNotANumber;
  if (ec == std::errc::result_out_of_range) return Parsed::kOutOfRange;
  return ec == std::errc() ? Parsed::kOk : Parsed::kNotANumber;
}

template <class V>
void check_range(const Origin& origin, const YAML::Mark& mark, const std::string& key,
                 const Range& range, V value, const std::string& text) {
  if (!has_range(range)) return;  // unbounded: NaN and infinities are allowed
  bool ok;
  if constexpr (std::is_floating_point_v<V>) {
    // Compare in the field's own type: a float field bounded by 0.1 must accept 0.1f.
    ok = value >= static_cast<V>(range.min) && value <= static_cast<V>(range.max);
  } else {
    auto wide = static_cast<long double>(value);
    ok = wide >= range.min && wide <= range.max;
  }
  if (!ok) fail_at(origin, mark, key, "must be " + describe_range(range) + ", got " + text);
}

template <class N>
const char* number_type_name() {
  if constexpr (std::is_same_v<N, int>) return "int";
  if constexpr (std::is_same_v<N, std::int64_t>) return "int64";
  if constexpr (std::is_same_v<N, std::uint64_t>) return "uint64";
  if constexpr (std::is_same_v<N, float>) return "float";
  return "double";
}

// Reads a number of type N from a plain scalar, checking the type's limits and the range.
template <class N>
N read_number(const Origin& origin, const YAML::Mark& mark, const std::string& key,
              const YAML::Node& node, const Range& range) {
  const char* expected = std::is_floating_point_v<N> ? "expected a number"
                         : std::is_signed_v<N>       ? "expected an integer"
                                                     : "expected a non-negative integer";
  if (!node.IsScalar() || is_quoted(node))
    fail_at(origin, mark, key, str_cat(expected, ", got ", got(node)));
  const std::string& text = node.Scalar();
  N value{};
  Parsed parsed;
  if constexpr (std::is_floating_point_v<N>) {
    parsed = parse_floating(text, value);
  } else {
    parsed = parse_integer(text, value);
  }
  if (parsed == Parsed::kNotANumber)
    fail_at(origin, mark, key, str_cat(expected, ", got ", got(node)));
  if (parsed == Parsed::kOutOfRange) {
    fail_at(origin, mark, key, str_cat(text, " is out of range for ", number_type_name<N>()));
  }
  check_range(origin, mark, key, range, value, text);
  return value;
}

bool read_bool(const Origin& origin, const YAML::Mark& mark, const std::string& key,
               const YAML::Node& node) {
  if (node.IsScalar() && !is_quoted(node)) {
    const std::string& text = node.Scalar();
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  fail_at(origin, mark, key, "expected true or false, got " + got(node));
}

std::string read_string(const Origin& origin, const YAML::Mark& mark, const std::string& key,
                        const YAML::Node& node) {
  if (node.IsNull())
    fail_at(origin, mark, key, "expected a string, got null (write \"\" for an empty string)");
  if (!node.IsScalar()) fail_at(origin, mark, key, str_cat("expected a string, got ", got(node)));
  return node.Scalar();
}

// The mark to report for a value: a null value's own mark points past it, so use the key's.
YAML::Mark value_mark(const YAML::Node& value, const YAML::Mark& fallback) {
  return value.IsNull() || value.Mark().is_null() ? fallback : value.Mark();
}

template <class E, class Read>
std::vector<E> read_list(const Origin& origin, const YAML::Mark& mark, const std::string& key,
                         const YAML::Node& node, const char* element, Read read) {
  if (!node.IsSequence()) {
    std::string hint = node.IsNull() ? " (write [] for an empty list)" : "";
    fail_at(origin, mark, key, str_cat("expected a list of ", element, ", got ", got(node), hint));
  }
  std::vector<E> out;
  out.reserve(node.size());
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    out.push_back(read(value_mark(item, mark), str_cat(key, "[", i, "]"), item));
  }
  return out;
}

// Refuses a key seen before in the same mapping; `first_line` maps keys to their 1-based line.
void check_unique_key(std::map<std::string, int>& first_line, const Origin& origin,
                      const YAML::Node& key_node, const std::string& path) {
  auto [seen, inserted] = first_line.emplace(key_node.Scalar(), key_node.Mark().line + 1);
  if (!inserted)
    fail_at(origin, key_node.Mark(), path,
            str_cat("duplicate key (first at line ", seen->second, ")"));
}

// ---------------------------------------------------------------------------------------------
// Changes to another config: values kept as YAML text, for that config's --set.

// Text that YAML reads as the same plain scalar anywhere, also inside a flow collection: letters,
// digits and _ . + - / only, not a lone "-" (a sequence entry) or a document marker (---, ...).
bool is_plain_safe(const std::string& text) {
  auto safe = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '+' ||
           c == '-' || c == '/';
  };
  return !text.empty() && std::all_of(text.begin(), text.end(), safe) && text != "-" &&
         text.rfind("--", 0) != 0 && text.rfind("...", 0) != 0;
}

// A scalar as YAML text that reads back the same. A plain scalar stays plain where that is safe;
// a quoted one loses its quotes only when the text could not read as a number, bool or null.
std::string render_scalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (!is_plain_safe(text)) return quote(text);
  if (!is_quoted(node)) return text;
  double number;
  const bool word = std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_';
  const bool only_a_string =
      word && !is_reserved_word(text) && parse_floating(text, number) == Parsed::kNotANumber;
  return only_a_string ? text : quote(text);
}

// A YAML value as one line of flow YAML that the loader reads back as the same value. The
// recursion ends: check_alias_expansion refused documents whose aliases refer to themselves.
std::string render_yaml(const YAML::Node& node) {
  if (node.IsScalar()) return render_scalar(node);
  std::string out;
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) out += (out.empty() ? "" : ", ") + render_yaml(item);
    return "[" + out + "]";
  }
  if (node.IsMap()) {
    for (const auto& entry : node) {
      out +=
          (out.empty() ? "" : ", ") + render_yaml(entry.first) + ": " + render_yaml(entry.second);
    }
    return "{" + out + "}";
  }
  return "~";
}

struct OverrideEntry {
  std::string key;    // as written: "refine.steps"
  std::string path;   // for messages: "set.refine.steps"
  std::string where;  // "file:line" of the key, or "--set ..."
  YAML::Node value;
  YAML::Mark mark;  // of the value
};

// The entries of a mapping of another config's keys to values, in file order. Keys are plain
// names without '=' (each becomes the left side of a "key=value" for --set) and not repeated;
// values are not null, which every field refuses.
std::vector<OverrideEntry> override_entries(const Origin& origin, const YAML::Mark& mark,
                                            const std::string& key, const YAML::Node& map) {
  if (!map.IsMap()) {
    std::string hint = map.IsNull() ? " (write {} for none)" : "";
    fail_at(origin, mark, key,
            str_cat("expected a mapping of keys to values, got ", got(map), hint));
  }
  std::vector<OverrideEntry> out;
  std::map<std::string, int> first_line;
  for (const auto& item : map) {
    const YAML::Node& key_node = item.first;
    if (!key_node.IsScalar() || is_quoted(key_node))
      fail_at(origin, key_node.Mark(), key,
              str_cat("keys must be plain names, got ", got(key_node), " as a key"));
    OverrideEntry entry{key_node.Scalar(), join_path(key, key_node.Scalar()),
                        location(origin, key_node.Mark()), item.second,
                        value_mark(item.second, key_node.Mark())};
    if (entry.key.find('=') != std::string::npos)
      fail_at(origin, key_node.Mark(), entry.path, "a key may not contain '='");
    check_unique_key(first_line, origin, key_node, entry.path);
    if (entry.value.IsNull()) fail_at(origin, entry.mark, entry.path, "expected a value, got null");
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<ConfigOverride> read_overrides(const Origin& origin, const YAML::Mark& mark,
                                           const std::string& key, const YAML::Node& map) {
  std::vector<ConfigOverride> out;
  for (const OverrideEntry& entry : override_entries(origin, mark, key, map))
    out.push_back({entry.key, render_yaml(entry.value), entry.where});
  return out;
}

// Alternatives for each key: a sequence lists them; any other value is the only one.
std::vector<ConfigOverrideChoices> read_override_choices(const Origin& origin,
                                                         const YAML::Mark& mark,
                                                         const std::string& key,
                                                         const YAML::Node& map) {
  std::vector<ConfigOverrideChoices> out;
  for (const OverrideEntry& entry : override_entries(origin, mark, key, map)) {
    ConfigOverrideChoices choices{entry.key, {}, entry.where};
    if (!entry.value.IsSequence()) choices.values.push_back(render_yaml(entry.value));
    for (std::size_t i = 0; entry.value.IsSequence() && i < entry.value.size(); ++i) {
      const YAML::Node item = entry.value[i];
      if (item.IsNull())
        fail_at(origin, value_mark(item, entry.mark), str_cat(entry.path, "[", i, "]"),
                "expected a value, got null");
      choices.values.push_back(render_yaml(item));
    }
    if (choices.values.empty())
      fail_at(origin, entry.mark, entry.path, "expected at least one alternative, got []");
    out.push_back(std::move(choices));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Storing values.

[[noreturn]] void fail_removed(const Origin& origin, const YAML::Mark& mark,
                               const SchemaNode& node) {
  fail_at(origin, mark, node.path, "not a key any more; use " + node.replacement);
}

void load_section(const SchemaNode& section, const YAML::Node& map, const Origin& origin);

// A list of sections replaces the whole list. Each element starts from S{} and is loaded like a
// section, so a key absent from an element keeps the element type's default.
void load_section_list(const SchemaNode& node, const YAML::Node& value, const Origin& origin,
                       const YAML::Mark& mark) {
  if (!value.IsSequence()) {
    std::string hint = value.IsNull() ? " (write [] for an empty list)" : "";
    fail_at(origin, mark, node.path,
            str_cat("expected a list of sections, got ", got(value), hint));
  }
  node.list_reset(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const YAML::Node item = value[i];
    node.with_element(i, [&](const SchemaNode& element) {
      if (!item.IsMap()) {
        std::string hint = item.IsNull() ? " (write {} for an element with default values)" : "";
        fail_at(origin, value_mark(item, mark), element.path,
                str_cat("expected a section (a mapping of keys), got ", got(item), hint));
      }
      load_section(element, item, origin);
    });
  }
}

// Stores `value` into the field `node`; `mark` is where the value (or its key) is.
void set_field(const SchemaNode& node, const YAML::Node& value, const Origin& origin,
               const YAML::Mark& mark) {
  const std::string& key = node.path;
  switch (node.type) {
    case ConfigType::kSection:
      fail(key, "internal error: set_field on a section");
    case ConfigType::kBool:
      *static_cast<bool*>(node.target) = read_bool(origin, mark, key, value);
      return;
    case ConfigType::kInt:
      *static_cast<int*>(node.target) = read_number<int>(origin, mark, key, value, node.range);
      return;
    case ConfigType::kInt64:
      *static_cast<std::int64_t*>(node.target) =
          read_number<std::int64_t>(origin, mark, key, value, node.range);
      return;
    case ConfigType::kUint64:
      *static_cast<std::uint64_t*>(node.target) =
          read_number<std::uint64_t>(origin, mark, key, value, node.range);
      return;
    case ConfigType::kFloat:
      *static_cast<float*>(node.target) = read_number<float>(origin, mark, key, value, node.range);
      return;
    case ConfigType::kDouble:
      *static_cast<double*>(node.target) =
          read_number<double>(origin, mark, key, value, node.range);
      return;
    case ConfigType::kString: {
      std::string text = read_string(origin, mark, key, value);
      if (node.check && !text.empty())
        if (const std::string why = node.check(text); !why.empty()) fail_at(origin, mark, key, why);
      *static_cast<std::string*>(node.target) = std::move(text);
      return;
    }
    case ConfigType::kEnum: {
      std::string choices;
      for (std::size_t i = 0; i < node.choice_names.size(); ++i)
        choices += (i ? ", " : "") + node.choice_names[i];
      if (value.IsScalar()) {
        for (std::size_t i = 0; i < node.choice_names.size(); ++i) {
          if (node.choice_names[i] == value.Scalar()) {
            node.set_choice(i);
            return;
          }
        }
      }
      fail_at(origin, mark, key, str_cat("expected one of ", choices, "; got ", got(value)));
    }
    case ConfigType::kStringList:
      *static_cast<std::vector<std::string>*>(node.target) = read_list<std::string>(
          origin, mark, key, value, "strings",
          [&](const YAML::Mark& m, const std::string& k, const YAML::Node& item) {
            return read_string(origin, m, k, item);
          });
      return;
    case ConfigType::kIntList:
      *static_cast<std::vector<int>*>(node.target) =
          read_list<int>(origin, mark, key, value, "integers",
                         [&](const YAML::Mark& m, const std::string& k, const YAML::Node& item) {
                           return read_number<int>(origin, m, k, item, node.range);
                         });
      return;
    case ConfigType::kDoubleList:
      *static_cast<std::vector<double>*>(node.target) =
          read_list<double>(origin, mark, key, value, "numbers",
                            [&](const YAML::Mark& m, const std::string& k, const YAML::Node& item) {
                              return read_number<double>(origin, m, k, item, node.range);
                            });
      return;
    case ConfigType::kOverrides:
      *static_cast<std::vector<ConfigOverride>*>(node.target) =
          read_overrides(origin, mark, key, value);
      return;
    case ConfigType::kOverrideChoices:
      *static_cast<std::vector<ConfigOverrideChoices>*>(node.target) =
          read_override_choices(origin, mark, key, value);
      return;
    case ConfigType::kSectionList:
      load_section_list(node, value, origin, mark);
      return;
    case ConfigType::kRemoved:
      fail_removed(origin, mark, node);
  }
}

// ---------------------------------------------------------------------------------------------
// Loading mappings.

void load_section(const SchemaNode& section, const YAML::Node& map, const Origin& origin) {
  std::map<std::string, int> first_line;  // key -> 1-based line, to refuse duplicates
  for (const auto& entry : map) {
    const YAML::Node& key_node = entry.first;
    const YAML::Node& value = entry.second;
    if (!key_node.IsScalar()) {
      fail_at(origin, key_node.Mark(), section.path,
              str_cat("keys must be plain names, got ", node_kind(key_node), " as a key"));
    }
    const std::string name = key_node.Scalar();
    const std::string path = join_path(section.path, name);
    check_unique_key(first_line, origin, key_node, path);
    const SchemaNode* child = find_child(section, name);
    if (!child)
      fail_at(origin, key_node.Mark(), path,
              "unknown key" + suggestion(name, child_names(section)));
    if (child->type == ConfigType::kRemoved) fail_removed(origin, key_node.Mark(), *child);
    YAML::Mark mark = value_mark(value, key_node.Mark());
    if (child->is_section()) {
      if (value.IsNull()) continue;  // `draft:` with every key commented out
      if (!value.IsMap())
        fail_at(origin, mark, path,
                str_cat("expected a section (a mapping of keys), got ", got(value)));
      load_section(*child, value, origin);
    } else {
      set_field(*child, value, origin, mark);
    }
  }
}

// YAML text is UTF-8 made of printable characters (YAML 1.2, section 5.1: no C0 controls but
// tab, line feed and carriage return; no DEL, no C1 controls but NEL, no U+FFFE/U+FFFF). Checked
// before yaml-cpp sees the text: its scanner loops allocating forever on some NUL-byte inputs
// (found by fuzz_yaml_config; "\0,\0" exhausts memory), and a binary file deserves a plain
// "not text" error anyway.
void check_yaml_characters(const std::string& text, const Origin& origin) {
  auto location = [&](std::size_t line) {
    return origin.in_file ? str_cat(origin.where, ":", line) : origin.where;
  };
  const int64_t bad = first_invalid_utf8(text);
  const std::size_t end = bad < 0 ? text.size() : static_cast<std::size_t>(bad);
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < end;) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    uint32_t cp = length == 1 ? lead : lead & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (text[i + k] & 0x3F);
    const bool printable = cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp < 0x7F) ||
                           cp == 0x85 || (cp >= 0xA0 && cp != 0xFFFE && cp != 0xFFFF);
    if (!printable) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
      fail(location(line), "not YAML text (column ", column, "): non-printable character ", code,
           "; YAML allows only printable characters (is this a binary file?)");
    }
    if (cp == 0x0A) {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
  if (bad >= 0)
    fail(location(line), "not YAML text (column ", column,
         "): invalid UTF-8; YAML config files must be UTF-8");
}

// Where each document of a YAML stream starts and where its first node is, as yaml-cpp's event
// parser reports them; also how many nodes the text holds and whether any is an alias (*name).
class DocumentMarks : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts, first_nodes;
  std::size_t n_nodes = 0;
  bool has_alias = false;

  void OnDocumentStart(const YAML::Mark& mark) override {
    starts.push_back(mark);
    first_nodes.push_back(YAML::Mark::null_mark());
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    has_alias = true;
    node(mark);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    ++n_nodes;
    if (!first_nodes.empty() && first_nodes.back().is_null()) first_nodes.back() = mark;
  }
};

[[noreturn]] void fail_yaml_syntax(const Origin& origin, const YAML::Exception& e) {
  if (!origin.in_file) fail(origin.where, "invalid YAML value: ", e.msg);
  if (e.mark.is_null()) fail(origin.where, "invalid YAML: ", e.msg);
  fail(str_cat(origin.where, ":", e.mark.line + 1), "invalid YAML (column ", e.mark.column + 1,
       "): ", e.msg);
}

// How far aliases may expand a document beyond its own nodes and text.
constexpr std::size_t kAliasSlack = std::size_t(1) << 16;

// Refuses a document whose aliases (*name) expand it far beyond its text. Loading copies aliased
// values: a list of sections each repeating `*big` would otherwise turn a small file into any
// amount of memory, and `&a [*a]` into a value that never ends. Walks the expanded tree without
// recursion and stops at the bound.
void check_alias_expansion(const YAML::Node& top, std::size_t n_nodes, std::size_t text_size,
                           const Origin& origin) {
  const std::size_t max_nodes = n_nodes + kAliasSlack;
  const std::size_t max_bytes = 2 * text_size + kAliasSlack;
  std::size_t nodes = 1, bytes = 0;
  std::vector<YAML::Node> pending{top};
  auto push = [&](const YAML::Node& node) {
    pending.push_back(node);
    ++nodes;
  };
  while (!pending.empty() && nodes <= max_nodes && bytes <= max_bytes) {
    const YAML::Node node = pending.back();
    pending.pop_back();
    if (node.IsScalar()) bytes += node.Scalar().size();
    if (node.IsSequence())
      for (const YAML::Node& item : node) push(item);
    if (node.IsMap()) {
      for (const auto& entry : node) {
        push(entry.first);
        push(entry.second);
      }
    }
  }
  if (nodes > max_nodes || bytes > max_bytes)
    fail(origin.where,
         "YAML aliases (*name) expand this text far beyond its size, or refer to themselves; "
         "write the values out");
}

// Parses `text` as one YAML document (null if it has none). Not YAML::LoadAll: yaml-cpp 0.7's
// parser stops advancing at a stray ',' that starts a document (jbeder/yaml-cpp#1040, fixed
// after 0.8), and LoadAll then appends null documents until memory runs out; fuzz_yaml_config
// found it with the input " ,". The documents are walked as events first, and a document that
// starts where the previous one did is refused.
YAML::Node load_single_document(const std::string& text, const Origin& origin) {
  check_yaml_characters(text, origin);
  DocumentMarks marks;
  try {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    while (parser.HandleNextDocument(marks)) {
      const std::size_t n = marks.starts.size();
      if (n >= 2 && marks.starts[n - 1].pos == marks.starts[n - 2].pos) {
        const YAML::Mark& at = marks.starts[n - 1];
        const std::string character = text.substr(static_cast<std::size_t>(at.pos), 1);
        YAML::Exception stuck(at, str_cat("unexpected '", character, "'"));
        fail_yaml_syntax(origin, stuck);
      }
    }
  } catch (const YAML::Exception& e) {
    fail_yaml_syntax(origin, e);
  }
  if (marks.starts.size() > 1) {
    const YAML::Mark& second =
        marks.first_nodes[1].is_null() ? marks.starts[1] : marks.first_nodes[1];
    fail_at(origin, second, "",
            str_cat("expected one YAML document, found ", marks.starts.size()));
  }
  if (marks.starts.empty()) return YAML::Node();
  YAML::Node top;
  try {
    top = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail_yaml_syntax(origin, e);
  }
  if (marks.has_alias) check_alias_expansion(top, marks.n_nodes, text.size(), origin);
  return top;
}

void load_document(const SchemaNode& root, const std::string& text, const std::string& where) {
  Origin origin{where, /*in_file=*/true, ""};
  const YAML::Node top = load_single_document(text, origin);
  if (top.IsNull()) return;  // empty file or only comments: all defaults
  if (!top.IsMap())
    fail_at(origin, top.Mark(), "",
            str_cat("expected a mapping of keys at the top level, got ", got(top)));
  load_section(root, top, origin);
}

// ---------------------------------------------------------------------------------------------
// --set lookups.

const SchemaNode* find_path(const SchemaNode& root, const std::string& path) {
  const SchemaNode* node = &root;
  std::size_t begin = 0;
  while (node && begin <= path.size()) {
    std::size_t dot = path.find('.', begin);
    std::string part =
        path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
    if (!node->is_section()) return nullptr;
    node = find_child(*node, part);
    if (dot == std::string::npos) return node;
    begin = dot + 1;
  }
  return nullptr;
}

void collect_paths(const SchemaNode& node, std::vector<std::string>& fields) {
  for (const SchemaNode& child : node.children) {
    if (child.is_section()) {
      collect_paths(child, fields);
    } else if (is_listed(child)) {
      fields.push_back(child.path);
    }
  }
}

std::string trim(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  std::size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// ---------------------------------------------------------------------------------------------
// Dumping.

struct DumpLine {
  std::string text;
  std::string comment;
};

std::string one_line(const std::string& doc) {
  std::string out = doc;
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

std::string indent_of(int depth) { return std::string(static_cast<std::size_t>(depth) * 2, ' '); }

// Changes to another config one key a line, in block style: any key that was read as a plain
// name reads back the same there, while a flow mapping would split keys at ',' or ']'.
void dump_overrides(const SchemaNode& node, const std::string& key, int depth,
                    std::vector<DumpLine>& lines) {
  const std::vector<std::pair<std::string, std::string>> entries = override_texts(node);
  lines.push_back({key + (entries.empty() ? " {}" : ""), one_line(node.doc)});
  for (const auto& [name, value] : entries)
    lines.push_back({indent_of(depth + 1) + name + ": " + value, ""});
}

void dump_section(const SchemaNode& section, int depth, std::vector<DumpLine>& lines);

// A list of sections as a block sequence: each element is dumped as a section two levels in,
// and "- " takes the place of its first line's indent.
void dump_section_list(const SchemaNode& node, const std::string& key, int depth,
                       std::vector<DumpLine>& lines) {
  const std::size_t n = node.list_size();
  lines.push_back({key + (n == 0 ? " []" : ""), one_line(node.doc)});
  const std::size_t dash = static_cast<std::size_t>(depth + 1) * 2;
  for (std::size_t i = 0; i < n; ++i) {
    node.with_element(i, [&](const SchemaNode& element) {
      if (!has_listed_keys(element)) {
        lines.push_back({indent_of(depth + 1) + "- {}", ""});
        return;
      }
      const std::size_t first = lines.size();
      dump_section(element, depth + 2, lines);
      lines[first].text.replace(dash, 2, "- ");
    });
  }
}

void dump_section(const SchemaNode& section, int depth, std::vector<DumpLine>& lines) {
  for (const SchemaNode& child : section.children) {
    if (!is_listed(child)) continue;
    std::string key = indent_of(depth) + render_name(child.name) + ":";
    if (child.is_section()) {
      lines.push_back({key + (has_listed_keys(child) ? "" : " {}"), one_line(child.doc)});
      dump_section(child, depth + 1, lines);
    } else if (child.type == ConfigType::kOverrides || child.type == ConfigType::kOverrideChoices) {
      dump_overrides(child, key, depth, lines);
    } else if (child.type == ConfigType::kSectionList) {
      dump_section_list(child, key, depth, lines);
    } else {
      std::string comment = one_line(child.doc);
      std::string constraint = constraint_of(child);
      if (!constraint.empty()) comment += (comment.empty() ? "" : "; ") + constraint;
      lines.push_back({key + " " + render_value(child), comment});
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SchemaBuilder.

SchemaNode& SchemaBuilder::add(std::string_view name, std::string_view doc, ConfigType type,
                               void* target, Range range) {
  std::string path = join_path(section_.path, std::string(name));
  if (name.empty() || name.find('.') != std::string_view::npos ||
      name.find('=') != std::string_view::npos)
    fail("config schema", "bad key name '", path, "' (must be non-empty, without '.' or '=')");
  if (find_child(section_, std::string(name)))
    fail("config schema", "key '", path, "' is declared twice");
  SchemaNode node;
  node.name = std::string(name);
  node.path = std::move(path);
  node.doc = std::string(doc);
  node.type = type;
  node.target = target;
  node.range = range;
  section_.children.push_back(std::move(node));
  return section_.children.back();
}

void SchemaBuilder::removed(std::string_view name, std::string_view replacement) {
  SchemaNode& node = add(name, "", ConfigType::kRemoved, nullptr);
  if (replacement.empty())
    fail("config schema", "removed key '", node.path, "' must name what to write instead");
  node.replacement = std::string(replacement);
}

void SchemaBuilder::field(std::string_view name, bool& value, std::string_view doc) {
  add(name, doc, ConfigType::kBool, &value);
}
void SchemaBuilder::field(std::string_view name, int& value, std::string_view doc, Range range) {
  add(name, doc, ConfigType::kInt, &value, range);
}
void SchemaBuilder::field(std::string_view name, std::int64_t& value, std::string_view doc,
                          Range range) {
  add(name, doc, ConfigType::kInt64, &value, range);
}
void SchemaBuilder::field(std::string_view name, std::uint64_t& value, std::string_view doc,
                          Range range) {
  add(name, doc, ConfigType::kUint64, &value, range);
}
void SchemaBuilder::field(std::string_view name, float& value, std::string_view doc, Range range) {
  add(name, doc, ConfigType::kFloat, &value, range);
}
void SchemaBuilder::field(std::string_view name, double& value, std::string_view doc, Range range) {
  add(name, doc, ConfigType::kDouble, &value, range);
}
void SchemaBuilder::field(std::string_view name, std::string& value, std::string_view doc) {
  add(name, doc, ConfigType::kString, &value);
}
void SchemaBuilder::field(std::string_view name, std::string& value, std::string_view doc,
                          std::function<std::string(const std::string&)> check) {
  add(name, doc, ConfigType::kString, &value).check = std::move(check);
}
void SchemaBuilder::field(std::string_view name, std::vector<std::string>& value,
                          std::string_view doc) {
  add(name, doc, ConfigType::kStringList, &value);
}
void SchemaBuilder::field(std::string_view name, std::vector<int>& value, std::string_view doc,
                          Range range) {
  add(name, doc, ConfigType::kIntList, &value, range);
}
void SchemaBuilder::field(std::string_view name, std::vector<double>& value, std::string_view doc,
                          Range range) {
  add(name, doc, ConfigType::kDoubleList, &value, range);
}
void SchemaBuilder::field(std::string_view name, std::vector<ConfigOverride>& value,
                          std::string_view doc) {
  add(name, doc, ConfigType::kOverrides, &value);
}
void SchemaBuilder::field(std::string_view name, std::vector<ConfigOverrideChoices>& value,
                          std::string_view doc) {
  add(name, doc, ConfigType::kOverrideChoices, &value);
}

// ---------------------------------------------------------------------------------------------
// The non-template entry points.

void load_yaml_file(const SchemaNode& root, const std::string& path) {
  load_document(root, read_file(path, kMaxConfigBytes), path);
}

void load_yaml_text(const SchemaNode& root, const std::string& text, const std::string& where) {
  load_document(root, text, where);
}

void apply_assignment(const SchemaNode& root, const std::string& assignment) {
  const std::string where = "--set " + assignment;
  std::size_t eq = assignment.find('=');
  std::string key = trim(assignment.substr(0, eq));
  if (eq == std::string::npos || key.empty())
    fail(where, "expected key=value, e.g. section.key=42");
  const SchemaNode* node = find_path(root, key);
  if (!node) {
    std::vector<std::string> fields;
    collect_paths(root, fields);
    fail(where, "unknown key '", key, "'", suggestion(key, fields));
  }
  if (node->is_section()) {
    std::vector<std::string> fields;
    collect_paths(*node, fields);
    fail(where, "'", key, "' is a section; set one of its keys",
         fields.empty() ? std::string() : ", e.g. " + fields.front());
  }
  const Origin origin{where, /*in_file=*/false, key};
  if (node->type == ConfigType::kRemoved) fail_removed(origin, YAML::Mark::null_mark(), *node);
  set_field(*node, load_single_document(assignment.substr(eq + 1), origin), origin,
            YAML::Mark::null_mark());
}

void validate_all(const SchemaNode& root, const std::string& where) {
  for (const SchemaNode& child : root.children) {
    if (child.is_section()) validate_all(child, where);
    if (child.type != ConfigType::kSectionList) continue;
    for (std::size_t i = 0; i < child.list_size(); ++i)
      child.with_element(i, [&](const SchemaNode& element) { validate_all(element, where); });
  }
  if (!root.validate) return;
  try {
    root.validate();
  } catch (const Error& e) {
    if (root.path.empty()) fail(where, e.what());
    fail(where, root.path, ": ", e.what());
  }
}

std::string dump_yaml(const SchemaNode& root) {
  std::vector<DumpLine> lines;
  dump_section(root, 0, lines);
  std::size_t column = 0;  // of the comments; lines without one do not push it right
  for (const DumpLine& line : lines)
    if (!line.comment.empty()) column = std::max(column, line.text.size());
  column = std::min<std::size_t>(column + 2, 44);
  std::string out;
  for (const DumpLine& line : lines) {
    out += line.text;
    if (!line.comment.empty()) {
      out += std::string(line.text.size() + 2 <= column ? column - line.text.size() : 2, ' ');
      out += "# " + line.comment;
    }
    out += "\n";
  }
  return out;
}

// A list of sections is followed by its elements' fields ("variants[].name") with the values of
// a default element, to document them.
std::vector<ConfigField> list_fields(const SchemaNode& root) {
  std::vector<ConfigField> out;
  auto append = [&out](const SchemaNode& section) {
    std::vector<ConfigField> inner = list_fields(section);
    out.insert(out.end(), inner.begin(), inner.end());
  };
  for (const SchemaNode& child : root.children) {
    if (!is_listed(child)) continue;
    out.push_back({child.path, child.type, type_name(child.type), render_value(child), child.doc,
                   constraint_of(child)});
    if (child.is_section()) append(child);
    if (child.type == ConfigType::kSectionList) child.with_element(kDefaultElement, append);
  }
  return out;
}

std::string format_field_table(const std::vector<ConfigField>& fields) {
  std::size_t key_width = 3, type_width = 4, value_width = 7;
  for (const ConfigField& f : fields) {
    key_width = std::max(key_width, f.path.size());
    type_width = std::max(type_width, f.type_name.size());
    value_width = std::max(value_width, std::min<std::size_t>(f.value.size(), 24));
  }
  auto pad = [](const std::string& text, std::size_t width) {
    return text + std::string(text.size() < width ? width - text.size() : 0, ' ') + "  ";
  };
  std::string out = pad("key", key_width) + pad("type", type_width) + pad("default", value_width) +
                    "description\n";
  for (const ConfigField& f : fields) {
    std::string doc = one_line(f.doc);
    if (!f.constraint.empty()) doc += (doc.empty() ? "" : "; ") + f.constraint;
    std::string line =
        pad(f.path, key_width) + pad(f.type_name, type_width) + pad(f.value, value_width) + doc;
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

}  // namespace config_detail
std::vector<std::string> config_file_sections(const std::string& path) {
  const config_detail::Origin origin{path, /*in_file=*/true, ""};
  const YAML::Node top = config_detail::load_single_document(read_file(path, config_detail::kMaxConfigBytes), origin);
  std::vector<std::string> keys;
  if (top.IsMap())
    for (const auto& entry : top)
      if (entry.first.IsScalar()) keys.push_back(entry.first.Scalar());
  return keys;
}

}  // namespace sculpt
