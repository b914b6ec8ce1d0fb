// The filters and tests of the chat-template renderer (core/jinja_builtins.h), each as jinja2
// 3.1 defines it (jinja2/filters.py, jinja2/tests.py), and tojson as transformers overrides
// it: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
// Filters that jinja2 writes as generators (select, map, items, ...) return lazy iterators, so
// that their truthiness, length and one-shot iteration behave as in Python.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <set>

#include "core/jinja_builtins.h"

namespace sculpt::jinja {
namespace {

bool is_absent(const std::optional<Value>& v) { return !v || v->kind() == Kind::kNone; }

// ---------------------------------------------------------------------------------------------
// tojson.

void append_json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  char buf[16];
  for (size_t p = 0; p < s.size();) {
    const size_t begin = p;
    const uint32_t c = next_code_point(s, &p);
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
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
          if (c >= 0x10000) {  // a surrogate pair, as Python writes it
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + ((c - 0x10000) >> 10),
                          0xDC00 + ((c - 0x10000) & 0x3FF));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
          }
          out += buf;
        } else {
          out.append(s, begin, p - begin);
        }
    }
  }
  out += '"';
}

class JsonWriter {
 public:
  explicit JsonWriter(const JsonOptions& options) : options_(options) {}

  void write(const Value& v, int level) {
    if (out_.size() > kMaxStringBytes)
      eval_fail("a string longer than ", kMaxStringBytes, " bytes");
    switch (v.kind()) {
      case Kind::kNone:
        out_ += "null";
        return;
      case Kind::kBool:
        out_ += v.as_bool() ? "true" : "false";
        return;
      case Kind::kInt:
        out_ += std::to_string(v.as_int());
        return;
      case Kind::kFloat:
        write_float(v.as_float());
        return;
      case Kind::kString:
        append_json_string(out_, v.as_string(), options_.ensure_ascii);
        return;
      case Kind::kDict:
        write_dict(v.as_dict(), level);
        return;
      case Kind::kSequence:
        if (v.as_sequence().kind == SeqKind::kList || v.as_sequence().kind == SeqKind::kTuple) {
          write_list(v.as_sequence().items, level);
          return;
        }
        break;
      default:
        break;
    }
    eval_fail("Object of type ", type_name(v), " is not JSON serializable");
  }

  std::string take() { return std::move(out_); }

 private:
  void write_float(double f) {
    if (std::isnan(f)) {
      out_ += "NaN";
    } else if (std::isinf(f)) {
      out_ += f > 0 ? "Infinity" : "-Infinity";
    } else {
      out_ += float_repr(f);
    }
  }

  // Python's json: '[' newline+indent item separator+newline+indent item ... newline ']'.
  void open(char bracket, int level) {
    out_ += bracket;
    if (options_.indented) newline(level + 1);
  }
  void close(char bracket, int level) {
    if (options_.indented) newline(level);
    out_ += bracket;
  }
  void separate(int level) {
    out_ += options_.item_separator;
    if (options_.indented) newline(level + 1);
  }
  void newline(int level) {
    out_ += '\n';
    for (int i = 0; i < level; ++i) out_ += options_.indent;
  }

  void write_list(const std::vector<Value>& items, int level) {
    if (items.empty()) {
      out_ += "[]";
      return;
    }
    open('[', level);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) separate(level);
      write(items[i], level + 1);
    }
    close(']', level);
  }

  void write_dict(const Dict& dict, int level) {
    if (dict.entries.empty()) {
      out_ += "{}";
      return;
    }
    std::vector<const std::pair<std::string, Value>*> entries;
    for (const auto& entry : dict.entries) entries.push_back(&entry);
    if (options_.sort_keys)
      std::stable_sort(entries.begin(), entries.end(),
                       [](auto* a, auto* b) { return a->first < b->first; });
    open('{', level);
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) separate(level);
      append_json_string(out_, entries[i]->first, options_.ensure_ascii);
      out_ += options_.key_separator;
      write(entries[i]->second, level + 1);
    }
    close('}', level);
  }

  const JsonOptions& options_;
  std::string out_;
};

// tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
Value filter_tojson(const Value& value, const CallArgs& args) {
  const auto a =
      bind_args("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"}, 0);
  JsonOptions options;
  options.ensure_ascii = a[0] && truthy(*a[0]);
  options.sort_keys = a[3] && truthy(*a[3]);
  if (!is_absent(a[1])) {
    options.indented = true;
    options.item_separator = ",";
    if (a[1]->is_string()) {
      options.indent = a[1]->as_string();
    } else if (a[1]->is_integral()) {
      if (a[1]->as_int() > 1024) eval_fail("tojson: an indent wider than 1024 is not supported");
      options.indent = std::string(size_t(std::max<int64_t>(0, a[1]->as_int())), ' ');
    } else {
      eval_fail("tojson: indent must be an integer or a string, not ", type_name(*a[1]));
    }
  }
  if (!is_absent(a[2])) {
    const std::vector<Value> parts = iterate(*a[2]);
    if (parts.size() != 2 || !parts[0].is_string() || !parts[1].is_string())
      eval_fail("tojson: separators must be two strings");
    options.item_separator = parts[0].as_string();
    options.key_separator = parts[1].as_string();
  }
  return Value::string(to_json(value, options));
}

// ---------------------------------------------------------------------------------------------
// Lazy iterators, for the filters jinja2 writes as generator functions: nothing runs (not even
// the `if value:` at their top) until the first item is pulled.

using ItemFn = std::function<std::optional<Value>(const Value& item)>;  // nullopt skips the item

Value lazy_map(const Value& source, std::function<ItemFn()> prepare) {
  auto it = std::make_shared<Iterator>();
  it->depth = source.kind() == Kind::kIterator ? source.as_iterator()->depth + 1 : 1;
  if (it->depth > kMaxValueDepth)
    eval_fail("iterators chained deeper than ", kMaxValueDepth, " levels");
  struct State {
    Value source;
    std::function<ItemFn()> prepare;
    ItemFn fn;
    bool started = false;
    std::vector<Value> items;
    size_t next = 0;
  };
  auto state = std::make_shared<State>();
  state->source = source;
  state->prepare = std::move(prepare);
  it->next = [state](Value& out) {
    State& s = *state;
    if (!s.started) {
      s.started = true;
      if (!truthy(s.source)) return false;
      s.fn = s.prepare();
      if (s.source.kind() != Kind::kIterator) s.items = iterate(s.source);
    }
    while (true) {
      Value item;
      if (s.source.kind() == Kind::kIterator) {
        if (!s.source.as_iterator()->pull(item)) return false;
      } else {
        if (s.next >= s.items.size()) return false;
        item = s.items[s.next++];
      }
      if (std::optional<Value> mapped = s.fn(item)) {
        out = std::move(*mapped);
        return true;
      }
    }
  };
  return Value::iterator(std::move(it));
}

// jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0.
std::function<Value(const Value&)> attr_getter(const Value& attribute,
                                               std::optional<Value> fallback) {
  std::vector<Value> parts;
  if (attribute.is_string()) {
    const std::string& a = attribute.as_string();
    size_t start = 0;
    while (true) {
      const size_t dot = a.find('.', start);
      const std::string part =
          a.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      const bool digits = !part.empty() && std::all_of(part.begin(), part.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
      if (std::any_of(part.begin(), part.end(),
                      [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
        eval_fail("non-ASCII attribute paths are not supported");
      parts.push_back(digits && part.size() < 18 ? Value::integer(std::stoll(part))
                                                 : Value::string(part));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  } else if (attribute.kind() != Kind::kNone) {
    parts.push_back(attribute);
  }
  return [parts, fallback](const Value& item) {
    Value v = item;
    for (const Value& part : parts) {
      v = get_item(v, part);
      if (fallback && v.is_undefined()) v = *fallback;
    }
    return v;
  };
}

Value filter_map(const Value& value, const CallArgs& args) {
  return lazy_map(value, [args]() -> ItemFn {
    const auto attribute = std::find_if(args.keywords.begin(), args.keywords.end(),
                                        [](const auto& kw) { return kw.first == "attribute"; });
    if (args.positional.empty() && attribute != args.keywords.end()) {
      std::optional<Value> fallback;
      for (const auto& [key, v] : args.keywords) {
        if (key == "default" && v.kind() != Kind::kNone) fallback = v;
        if (key != "attribute" && key != "default")
          eval_fail("map: unexpected keyword argument '", key, "'");
      }
      auto get = attr_getter(attribute->second, fallback);
      return [get](const Value& item) { return std::optional<Value>(get(item)); };
    }
    if (args.positional.empty()) eval_fail("map requires a filter argument");
    if (!args.positional[0].is_string()) eval_fail("map: the filter name must be a string");
    const std::string name = args.positional[0].as_string();
    CallArgs rest{{args.positional.begin() + 1, args.positional.end()}, args.keywords};
    return [name, rest](const Value& item) {
      return std::optional<Value>(call_filter(name, item, rest));
    };
  });
}

// select, reject, selectattr, rejectattr (jinja2's select_or_reject).
Value filter_select(const Value& value, const CallArgs& args, bool keep_if, bool lookup_attr) {
  return lazy_map(value, [args, keep_if, lookup_attr]() -> ItemFn {
    size_t offset = 0;
    std::function<Value(const Value&)> transform = [](const Value& v) { return v; };
    if (lookup_attr) {
      if (args.positional.empty()) eval_fail("Missing parameter for attribute name");
      transform = attr_getter(args.positional[0], std::nullopt);
      offset = 1;
    }
    std::function<bool(const Value&)> test = [](const Value& v) { return truthy(v); };
    if (args.positional.size() > offset) {
      if (!args.positional[offset].is_string()) eval_fail("the test name must be a string");
      const std::string name = args.positional[offset].as_string();
      CallArgs rest{{args.positional.begin() + long(offset) + 1, args.positional.end()},
                    args.keywords};
      test = [name, rest](const Value& v) { return call_test(name, v, rest); };
    }
    return [transform, test, keep_if](const Value& item) -> std::optional<Value> {
      if (test(transform(item)) == keep_if) return item;
      return std::nullopt;
    };
  });
}

// An iterator whose items are made when the first one is pulled.
Value lazy_items(std::function<std::vector<Value>()> produce) {
  auto it = std::make_shared<Iterator>();
  struct State {
    std::function<std::vector<Value>()> produce;
    std::vector<Value> items;
    size_t next = 0;
  };
  auto state = std::make_shared<State>();
  state->produce = std::move(produce);
  it->next = [state](Value& out) {
    if (state->produce) {
      state->items = state->produce();
      state->produce = nullptr;
    }
    if (state->next >= state->items.size()) return false;
    out = state->items[state->next++];
    return true;
  };
  return Value::iterator(std::move(it));
}

// jinja2's items filter: a generator of (key, value) tuples; nothing for undefined.
Value filter_items(const Value& value) {
  return lazy_items([value] {
    std::vector<Value> items;
    if (value.is_undefined()) return items;
    if (value.kind() != Kind::kDict) eval_fail("Can only get item pairs from a mapping.");
    for (const auto& [key, v] : value.as_dict().entries)
      items.push_back(Value::tuple({Value::string(key), v}));
    return items;
  });
}

// An iterator over fixed items (Python's reversed() of a list, dict.items() as a generator).
Value iterator_over(std::vector<Value> items) {
  auto it = std::make_shared<Iterator>();
  auto state = std::make_shared<std::pair<std::vector<Value>, size_t>>(std::move(items), 0);
  it->next = [state](Value& out) {
    if (state->second >= state->first.size()) return false;
    out = state->first[state->second++];
    return true;
  };
  return Value::iterator(std::move(it));
}

// ---------------------------------------------------------------------------------------------
// The other filters.

Value filter_first(const Value& value) {
  if (value.kind() == Kind::kIterator) {
    Value item;
    return value.as_iterator()->pull(item) ? item
                                           : Value::undefined("No first item, sequence was empty.");
  }
  if (value.kind() == Kind::kLoop) eval_fail("first of a loop object is not supported");
  const std::vector<Value> items = iterate(value);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value filter_last(const Value& value) {
  if (value.kind() == Kind::kIterator) eval_fail("'generator' object is not reversible");
  if (value.kind() == Kind::kLoop) eval_fail("last of a loop object is not supported");
  const std::vector<Value> items = iterate(value);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value filter_reverse(const Value& value) {
  if (value.is_string()) {
    const std::vector<size_t> offsets = code_point_offsets(value.as_string());
    std::string out;
    for (size_t k = offsets.size() - 1; k > 0; --k)
      out.append(value.as_string(), offsets[k - 1], offsets[k] - offsets[k - 1]);
    return Value::string(std::move(out));
  }
  if (value.kind() == Kind::kLoop) eval_fail("reverse of a loop object is not supported");
  const bool reversible =
      value.kind() == Kind::kSequence || value.kind() == Kind::kDict || value.is_undefined();
  if (!reversible && value.kind() != Kind::kIterator) eval_fail("argument must be iterable");
  std::vector<Value> items = iterate(value);
  std::reverse(items.begin(), items.end());
  // reversed() gives an iterator; a generator has no reversed(), so jinja2 makes a list.
  return reversible ? iterator_over(std::move(items)) : Value::list(std::move(items));
}

Value filter_join(const Value& value, const CallArgs& args) {
  const auto a = bind_args("join", args, {"d", "attribute"}, 0);
  const std::string separator = a[0] ? to_str(*a[0]) : "";
  std::vector<Value> items = iterate(value);
  if (!is_absent(a[1])) {
    const auto get = attr_getter(*a[1], std::nullopt);
    for (Value& item : items) item = get(item);
  }
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += to_str(items[i]);
    if (out.size() > kMaxStringBytes) eval_fail("a string longer than ", kMaxStringBytes, " bytes");
  }
  return Value::string(std::move(out));
}

Value filter_abs(const Value& value) {
  if (value.kind() == Kind::kFloat) return Value::number(std::fabs(value.as_float()));
  if (!value.is_integral()) eval_fail("bad operand type for abs(): '", type_name(value), "'");
  if (value.as_int() == std::numeric_limits<int64_t>::min())
    eval_fail("integer result beyond 64 bits");
  return Value::integer(std::llabs(value.as_int()));
}

Value filter_replace(const Value& value, const CallArgs& args) {
  const auto a = bind_args("replace", args, {"old", "new", "count"}, 2);
  CallArgs method_args;
  method_args.positional = {Value::string(to_str(*a[0])), Value::string(to_str(*a[1]))};
  if (!is_absent(a[2])) method_args.positional.push_back(*a[2]);
  return call_method(Function{"str.replace", Value::string(to_str(value))}, method_args);
}

Value filter_default(const Value& value, const CallArgs& args) {
  const auto a = bind_args("default", args, {"default_value", "boolean"}, 0);
  const bool use_default = value.is_undefined() || (a[1] && truthy(*a[1]) && !truthy(value));
  if (!use_default) return value;
  return a[0] ? *a[0] : Value::string("");
}

Value text_filter(std::string_view name, const Value& value, const CallArgs& args) {
  if (name == "trim") {
    const auto a = bind_args("trim", args, {"chars"}, 0);
    return Value::string(py_strip(to_str(value), a[0], StripSide::kBoth));
  }
  bind_args(name, args, {}, 0);
  if (name == "string") return Value::string(to_str(value));
  const CaseMap map = name == "upper"        ? CaseMap::kUpper
                      : name == "lower"      ? CaseMap::kLower
                      : name == "capitalize" ? CaseMap::kCapitalize
                                             : CaseMap::kTitleFilter;
  return Value::string(py_case(to_str(value), map));
}

const std::set<std::string_view>& filter_names() {
  static const std::set<std::string_view> kNames = {
      "abs",     "capitalize", "count",      "d",      "default", "first",  "items",      "join",
      "last",    "length",     "list",       "lower",  "map",     "reject", "rejectattr", "replace",
      "reverse", "select",     "selectattr", "string", "title",   "tojson", "trim",       "upper"};
  return kNames;
}

}  // namespace

std::string to_json(const Value& value, const JsonOptions& options) {
  JsonWriter writer(options);
  writer.write(value, 0);
  return writer.take();
}

bool is_supported_filter(std::string_view name) { return filter_names().count(name) > 0; }

Value call_filter(std::string_view name, const Value& value, const CallArgs& args) {
  if (!is_supported_filter(name)) eval_fail("filter '", name, "' is not supported");
  const auto no_args = [&] { bind_args(name, args, {}, 0); };
  if (name == "tojson") return filter_tojson(value, args);
  if (name == "default" || name == "d") return filter_default(value, args);
  if (name == "join") return filter_join(value, args);
  if (name == "replace") return filter_replace(value, args);
  if (name == "map") return filter_map(value, args);
  if (name == "select" || name == "reject")
    return filter_select(value, args, name == "select", false);
  if (name == "selectattr" || name == "rejectattr")
    return filter_select(value, args, name == "selectattr", true);
  if (name == "trim" || name == "string" || name == "upper" || name == "lower" ||
      name == "capitalize" || name == "title")
    return text_filter(name, value, args);
  no_args();
  if (name == "length" || name == "count") return Value::integer(length(value));
  if (name == "first") return filter_first(value);
  if (name == "last") return filter_last(value);
  if (name == "list") return Value::list(iterate(value));
  if (name == "items") return filter_items(value);
  if (name == "reverse") return filter_reverse(value);
  return filter_abs(value);
}

// ---------------------------------------------------------------------------------------------
// Tests.

namespace {

const std::set<std::string_view>& test_names() {
  static const std::set<std::string_view> kNames = {
      "defined",  "undefined", "none",        "boolean",     "false",    "true",     "integer",
      "float",    "number",    "string",      "mapping",     "sequence", "iterable", "callable",
      "odd",      "even",      "divisibleby", "eq",          "equalto",  "ne",       "lt",
      "lessthan", "le",        "gt",          "greaterthan", "ge",       "in",       "lower",
      "upper",    "==",        "!=",          "<",           "<=",       ">",        ">="};
  return kNames;
}

bool type_test(std::string_view name, const Value& v) {
  const Kind k = v.kind();
  const bool is_seq = k == Kind::kSequence;
  const bool is_view = is_seq && v.as_sequence().kind != SeqKind::kList &&
                       v.as_sequence().kind != SeqKind::kTuple &&
                       v.as_sequence().kind != SeqKind::kRange;
  if (name == "defined") return k != Kind::kUndefined;
  if (name == "undefined") return k == Kind::kUndefined;
  if (name == "none") return k == Kind::kNone;
  if (name == "boolean") return k == Kind::kBool;
  if (name == "false") return k == Kind::kBool && !v.as_bool();
  if (name == "true") return k == Kind::kBool && v.as_bool();
  if (name == "integer") return k == Kind::kInt;
  if (name == "float") return k == Kind::kFloat;
  if (name == "number") return v.is_number();
  if (name == "string") return k == Kind::kString;
  if (name == "mapping") return k == Kind::kDict;
  // len() and __getitem__: jinja2's Undefined has both; dict views and the loop lack the second.
  if (name == "sequence")
    return k == Kind::kString || k == Kind::kDict || k == Kind::kUndefined || (is_seq && !is_view);
  if (name == "iterable")
    return k == Kind::kString || is_seq || k == Kind::kDict || k == Kind::kUndefined ||
           k == Kind::kIterator || k == Kind::kLoop;
  // callable(): functions, and objects with __call__ (Undefined, LoopContext).
  return k == Kind::kFunction || k == Kind::kUndefined || k == Kind::kLoop;
}

// str(v).islower() / isupper() for ASCII text.
bool case_test(const Value& v, bool lower) {
  const std::string s = to_str(v);
  bool cased = false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80)
      eval_fail("case tests of non-ASCII text are not supported");
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      if ((c >= 'a' && c <= 'z') != lower) return false;
      cased = true;
    }
  }
  return cased;
}

CompareOp compare_test_op(std::string_view name) {
  if (name == "eq" || name == "equalto" || name == "==") return CompareOp::kEq;
  if (name == "ne" || name == "!=") return CompareOp::kNe;
  if (name == "lt" || name == "lessthan" || name == "<") return CompareOp::kLt;
  if (name == "le" || name == "<=") return CompareOp::kLe;
  if (name == "gt" || name == "greaterthan" || name == ">") return CompareOp::kGt;
  return CompareOp::kGe;
}

}  // namespace

bool is_supported_test(std::string_view name) { return test_names().count(name) > 0; }

bool call_test(std::string_view name, const Value& value, const CallArgs& args) {
  if (!test_names().count(name)) eval_fail("test '", name, "' is not supported");
  if (name == "odd" || name == "even") {
    bind_args(name, args, {}, 0);
    return equals(binary_op(BinaryOp::kMod, value, Value::integer(2)),
                  Value::integer(name == "odd" ? 1 : 0));
  }
  if (name == "divisibleby") {
    const auto a = bind_args(name, args, {"num"}, 1);
    return equals(binary_op(BinaryOp::kMod, value, *a[0]), Value::integer(0));
  }
  if (name == "lower" || name == "upper") {
    bind_args(name, args, {}, 0);
    return case_test(value, name == "lower");
  }
  if (name == "in") return contains(*bind_args(name, args, {"seq"}, 1)[0], value);
  static const std::set<std::string_view> kCompare = {
      "eq", "equalto", "ne", "lt", "lessthan", "le", "gt", "greaterthan",
      "ge", "==",      "!=", "<",  "<=",       ">",  ">="};
  if (kCompare.count(name))
    return compare(compare_test_op(name), value, *bind_args(name, args, {"other"}, 1)[0]);
  bind_args(name, args, {}, 0);
  return type_test(name, value);
}

}  // namespace sculpt::jinja
