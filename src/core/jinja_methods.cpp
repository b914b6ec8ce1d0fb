// The objects side of the built-ins (core/jinja_builtins.h): attribute and item lookup as
// jinja2's ImmutableSandboxedEnvironment does it, slicing, the methods of str, dict and the
// loop object, the global functions, and Python-style argument binding.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

#include "core/jinja_builtins.h"

namespace sculpt::jinja {

// Most objects one render may create: a loop that makes a namespace per iteration is bounded
// by the iteration limit, this bounds the rest.
constexpr size_t kMaxHeapObjects = 1'000'000;

Namespace* Heap::new_namespace() {
  if (namespaces_.size() >= kMaxHeapObjects)
    eval_fail("more than ", kMaxHeapObjects, " namespaces");
  namespaces_.push_back(std::make_unique<Namespace>());
  return namespaces_.back().get();
}

LoopState* Heap::new_loop() {
  if (loops_.size() >= kMaxHeapObjects) eval_fail("more than ", kMaxHeapObjects, " loops");
  loops_.push_back(std::make_unique<LoopState>());
  return loops_.back().get();
}

std::vector<std::optional<Value>> bind_args(std::string_view callee, const CallArgs& args,
                                            std::initializer_list<std::string_view> names,
                                            size_t n_required) {
  std::vector<std::optional<Value>> slots(names.size());
  if (args.positional.size() > names.size())
    eval_fail(callee, "() takes at most ", names.size(), " arguments (", args.positional.size(),
              " given)");
  for (size_t i = 0; i < args.positional.size(); ++i) slots[i] = args.positional[i];
  for (const auto& [key, value] : args.keywords) {
    const auto it = std::find(names.begin(), names.end(), key);
    if (it == names.end()) eval_fail(callee, "() got an unexpected keyword argument '", key, "'");
    std::optional<Value>& slot = slots[size_t(it - names.begin())];
    if (slot) eval_fail(callee, "() got multiple values for argument '", key, "'");
    slot = value;
  }
  for (size_t i = 0; i < n_required; ++i)
    if (!slots[i]) eval_fail(callee, "() missing required argument '", *(names.begin() + i), "'");
  return slots;
}

namespace {

[[noreturn]] void fail_undefined(const Value& v) {
  eval_fail(v.undefined_why().empty() ? "a value is undefined" : v.undefined_why());
}

Value no_attribute(const Value& obj, const std::string& name) {
  return Value::undefined(str_cat("'", type_name(obj), "' object has no attribute '", name, "'"));
}

Value no_item(const Value& obj, const std::string& key) {
  return Value::undefined(str_cat("'", type_name(obj), "' object has no item ", key));
}

bool is_absent(const std::optional<Value>& v) { return !v || v->kind() == Kind::kNone; }

const std::string& str_arg(std::string_view callee, const Value& v) {
  if (!v.is_string()) eval_fail(callee, "() argument must be str, not ", type_name(v));
  return v.as_string();
}

int64_t int_arg(std::string_view callee, const Value& v) {
  if (!v.is_integral()) eval_fail(callee, "() argument must be an integer, not ", type_name(v));
  return v.as_int();
}

// ---------------------------------------------------------------------------------------------
// Which Python attributes exist, and which of them the subset implements.

const std::set<std::string_view>& python_attrs(const Value& obj) {
  static const std::set<std::string_view> kStr = {
      "capitalize",   "casefold",    "center",    "count",      "encode",       "endswith",
      "expandtabs",   "find",        "format",    "format_map", "index",        "isalnum",
      "isalpha",      "isascii",     "isdecimal", "isdigit",    "isidentifier", "islower",
      "isnumeric",    "isprintable", "isspace",   "istitle",    "isupper",      "join",
      "ljust",        "lower",       "lstrip",    "maketrans",  "partition",    "removeprefix",
      "removesuffix", "replace",     "rfind",     "rindex",     "rjust",        "rpartition",
      "rsplit",       "rstrip",      "split",     "splitlines", "startswith",   "strip",
      "swapcase",     "title",       "translate", "upper",      "zfill"};
  static const std::set<std::string_view> kDict = {"clear",      "copy",   "fromkeys", "get",
                                                   "items",      "keys",   "pop",      "popitem",
                                                   "setdefault", "update", "values"};
  static const std::set<std::string_view> kList = {"append", "clear",   "copy",   "count",
                                                   "extend", "index",   "insert", "pop",
                                                   "remove", "reverse", "sort"};
  static const std::set<std::string_view> kTuple = {"count", "index"};
  static const std::set<std::string_view> kRange = {"count", "index", "start", "step", "stop"};
  static const std::set<std::string_view> kView = {"isdisjoint", "mapping"};
  static const std::set<std::string_view> kInt = {
      "as_integer_ratio", "bit_count", "bit_length", "conjugate", "denominator",
      "from_bytes",       "imag",      "numerator",  "real",      "to_bytes"};
  static const std::set<std::string_view> kFloat = {
      "as_integer_ratio", "conjugate", "fromhex", "hex", "imag", "is_integer", "real"};
  static const std::set<std::string_view> kGenerator = {
      "close",        "gi_code",      "gi_frame", "gi_running",
      "gi_suspended", "gi_yieldfrom", "send",     "throw"};
  static const std::set<std::string_view> kNone;
  switch (obj.kind()) {
    case Kind::kString:
      return kStr;
    case Kind::kDict:
      return kDict;
    case Kind::kSequence:
      switch (obj.as_sequence().kind) {
        case SeqKind::kList:
          return kList;
        case SeqKind::kTuple:
          return kTuple;
        case SeqKind::kRange:
          return kRange;
        default:
          return kView;
      }
    case Kind::kBool:
    case Kind::kInt:
      return kInt;
    case Kind::kFloat:
      return kFloat;
    case Kind::kIterator:
      return kGenerator;
    default:
      return kNone;
  }
}

bool is_supported_method(const Value& obj, std::string_view name) {
  static const std::set<std::string_view> kStr = {
      "startswith", "endswith",   "split", "rsplit",  "strip", "lstrip", "rstrip", "upper",
      "lower",      "capitalize", "title", "replace", "find",  "count",  "join"};
  static const std::set<std::string_view> kDict = {"get", "items", "keys", "values"};
  if (obj.is_string()) return kStr.count(name) > 0;
  if (obj.kind() == Kind::kDict) return kDict.count(name) > 0;
  if (obj.kind() == Kind::kLoop) return name == "cycle" || name == "changed";
  return false;
}

// The bound method obj.name if the subset has it; EvalError for Python attributes it has not.
bool find_method(const Value& obj, const std::string& name, Value* out) {
  if (name.rfind("__", 0) == 0) eval_fail("attribute '", name, "' is not supported");
  if (is_supported_method(obj, name)) {
    *out = Value::function(type_name(obj) + "." + name, obj);
    return true;
  }
  if (python_attrs(obj).count(name))
    eval_fail("'", type_name(obj), "' attribute '", name, "' is not supported");
  return false;
}

Value loop_attr(const LoopState& loop, const std::string& name) {
  const int64_t n = int64_t(loop.items.size()), i = loop.index0;
  if (name == "index0") return Value::integer(i);
  if (name == "index") return Value::integer(i + 1);
  if (name == "revindex") return Value::integer(n - i);
  if (name == "revindex0") return Value::integer(n - i - 1);
  if (name == "first") return Value::boolean(i == 0);
  if (name == "last") return Value::boolean(i == n - 1);
  if (name == "length") return Value::integer(n);
  if (name == "depth") return Value::integer(loop.depth0 + 1);
  if (name == "depth0") return Value::integer(loop.depth0);
  if (name == "previtem")
    return i > 0 ? loop.items[size_t(i - 1)] : Value::undefined("there is no previous item");
  if (name == "nextitem")
    return i + 1 < n ? loop.items[size_t(i + 1)] : Value::undefined("there is no next item");
  return Value::undefined(str_cat("'LoopContext' object has no attribute '", name, "'"));
}

// Attribute lookup without the item fallback: what jinja2's getitem tries after the item.
Value attr_only(const Value& obj, const std::string& name) {
  Value method;
  if (find_method(obj, name, &method)) return method;
  if (obj.kind() == Kind::kNamespace) {
    const Value* v = obj.as_ns()->find(name);
    return v ? *v : no_attribute(obj, name);
  }
  if (obj.kind() == Kind::kLoop) return loop_attr(*obj.as_loop(), name);
  return no_attribute(obj, name);
}

// Python's index i into n items (negative from the end), or -1 when out of range.
int64_t resolve_index(int64_t i, int64_t n) {
  if (i < 0) i += n;
  return i >= 0 && i < n ? i : -1;
}

Value index_item(const Value& obj, int64_t i) {
  if (obj.is_string()) {
    const std::string& s = obj.as_string();
    const std::vector<size_t> offsets = code_point_offsets(s);
    const int64_t k = resolve_index(i, int64_t(offsets.size()) - 1);
    if (k < 0) return no_item(obj, std::to_string(i));
    return Value::string(s.substr(offsets[size_t(k)], offsets[size_t(k) + 1] - offsets[size_t(k)]));
  }
  const std::vector<Value>& items = obj.as_sequence().items;
  const int64_t k = resolve_index(i, int64_t(items.size()));
  return k < 0 ? no_item(obj, std::to_string(i)) : items[size_t(k)];
}

bool is_indexable(const Value& obj) {
  if (obj.is_string()) return true;
  if (obj.kind() != Kind::kSequence) return false;
  const SeqKind k = obj.as_sequence().kind;
  return k == SeqKind::kList || k == SeqKind::kTuple || k == SeqKind::kRange;
}

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.kind() == Kind::kDict) {
    Value method;
    if (find_method(obj, name, &method)) return method;
    const Value* v = obj.as_dict().find(name);
    return v ? *v : no_attribute(obj, name);
  }
  return attr_only(obj, name);
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.kind() == Kind::kDict && key.is_string()) {
    if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
  }
  if (is_indexable(obj) && key.is_integral()) return index_item(obj, key.as_int());
  if (key.is_string()) return attr_only(obj, key.as_string());
  return no_item(
      obj, key.kind() == Kind::kInt ? std::to_string(key.as_int()) : "of type " + type_name(key));
}

// ---------------------------------------------------------------------------------------------
// Slices.

namespace {

// Python's slice.indices(): the positions a slice selects from n items.
std::vector<int64_t> slice_positions(int64_t n, const Value& start, const Value& stop,
                                     const Value& step_value) {
  const int64_t step = step_value.kind() == Kind::kNone ? 1 : step_value.as_int();
  if (step == 0) eval_fail("slice step cannot be zero");
  const int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1;
  const auto clamp = [&](const Value& v, int64_t otherwise) {
    if (v.kind() == Kind::kNone) return otherwise;
    int64_t i = v.as_int();
    if (i < 0) i = (i < -n) ? lower : i + n;  // written so as not to overflow
    return std::clamp(i, lower, upper);
  };
  int64_t i = clamp(start, step > 0 ? lower : upper);
  const int64_t end = clamp(stop, step > 0 ? upper : lower);
  std::vector<int64_t> positions;
  while (step > 0 ? i < end : i > end) {
    positions.push_back(i);
    if (__builtin_add_overflow(i, step, &i)) break;
  }
  return positions;
}

bool is_slice_bound(const Value& v) { return v.kind() == Kind::kNone || v.is_integral(); }

}  // namespace

// jinja2 compiles a slice to Python's own obj[a:b:c], without the sandbox's getitem that turns
// errors into undefined: slicing what Python cannot slice is an error.
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (!is_indexable(obj)) eval_fail("'", type_name(obj), "' object is not subscriptable");
  if (!is_slice_bound(start) || !is_slice_bound(stop) || !is_slice_bound(step))
    eval_fail("slice indices must be integers or None");
  if (obj.is_string()) {
    const std::string& s = obj.as_string();
    const std::vector<size_t> offsets = code_point_offsets(s);
    std::string out;
    for (int64_t k : slice_positions(int64_t(offsets.size()) - 1, start, stop, step))
      out.append(s, offsets[size_t(k)], offsets[size_t(k) + 1] - offsets[size_t(k)]);
    return Value::string(std::move(out));
  }
  const Sequence& seq = obj.as_sequence();
  std::vector<Value> items;
  for (int64_t k : slice_positions(int64_t(seq.items.size()), start, stop, step))
    items.push_back(seq.items[size_t(k)]);
  return Value::sequence(seq.kind, std::move(items));
}

// ---------------------------------------------------------------------------------------------
// Text helpers.

std::string py_strip(const std::string& text, const std::optional<Value>& chars, StripSide side) {
  std::vector<uint32_t> strip_set;
  const bool whitespace = is_absent(chars);
  if (!whitespace) {
    const std::string& c = str_arg("strip", *chars);
    for (size_t p = 0; p < c.size();) strip_set.push_back(next_code_point(c, &p));
  }
  const auto strips = [&](uint32_t c) {
    return whitespace ? is_py_space(c)
                      : std::find(strip_set.begin(), strip_set.end(), c) != strip_set.end();
  };
  const std::vector<size_t> offsets = code_point_offsets(text);
  size_t begin = 0, end = offsets.size() - 1;
  const auto cp = [&](size_t k) {
    size_t p = offsets[k];
    return next_code_point(text, &p);
  };
  if (side != StripSide::kRight)
    while (begin < end && strips(cp(begin))) ++begin;
  if (side != StripSide::kLeft)
    while (end > begin && strips(cp(end - 1))) --end;
  return text.substr(offsets[begin], offsets[end] - offsets[begin]);
}

namespace {

char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 32) : c; }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }
bool ascii_letter(uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Scripts and symbols without letter case, which Python's case mappings leave unchanged:
// Hebrew to Tibetan, general punctuation, arrows to dingbats (not the circled letters of
// U+24B6..U+24E9), CJK, kana, Hangul, emoji (not the squared letters of U+1F130..U+1F189,
// which Python counts as cased). Checked against Python 3.11's str methods.
bool is_caseless(uint32_t c) {
  return (c >= 0x0590 && c <= 0x0FFF) || (c >= 0x2000 && c <= 0x206F) ||
         (c >= 0x2190 && c <= 0x245F) || (c >= 0x2500 && c <= 0x27BF) ||
         (c >= 0x3000 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
         (c >= 0x1F000 && c <= 0x1F12F) || (c >= 0x1F18A && c <= 0x1FAFF) ||
         (c >= 0x20000 && c <= 0x3FFFF);
}

// The title filter's word boundaries: runs of whitespace and -({[< (jinja2's
// _word_beginning_split_re).
bool title_separator(uint32_t c) {
  return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_py_space(c);
}

}  // namespace

std::string py_case(const std::string& text, CaseMap map) {
  std::string out;
  out.reserve(text.size());
  bool word_start = true;  // title filter: at a word start; title method: after an uncased char
  for (size_t p = 0; p < text.size();) {
    const size_t begin = p;
    const uint32_t c = next_code_point(text, &p);
    if (c >= 0x80) {
      const bool separator = map == CaseMap::kTitleFilter && is_py_space(c);
      if (!separator && !is_caseless(c))
        eval_fail("changing the case of non-ASCII letters is not supported");
      out.append(text, begin, p - begin);
      word_start = map == CaseMap::kTitleFilter ? separator : true;
      continue;
    }
    const char ch = char(c);
    switch (map) {
      case CaseMap::kUpper:
        out += ascii_upper(ch);
        break;
      case CaseMap::kLower:
        out += ascii_lower(ch);
        break;
      case CaseMap::kCapitalize:
        out += begin == 0 ? ascii_upper(ch) : ascii_lower(ch);
        break;
      case CaseMap::kTitleMethod:
        out += word_start ? ascii_upper(ch) : ascii_lower(ch);
        word_start = !ascii_letter(c);
        break;
      case CaseMap::kTitleFilter:
        out += title_separator(c) ? ch : word_start ? ascii_upper(ch) : ascii_lower(ch);
        word_start = title_separator(c);
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// str methods.

namespace {

std::vector<Value> strings(const std::vector<std::string>& parts) {
  std::vector<Value> out;
  for (const std::string& p : parts) out.push_back(Value::string(p));
  return out;
}

// str.split() and str.rsplit() without a separator: runs of whitespace (CPython's
// split_whitespace and rsplit_whitespace).
std::vector<std::string> split_whitespace(const std::string& s, int64_t maxsplit, bool from_right) {
  std::vector<uint32_t> cps;
  std::vector<size_t> offsets = code_point_offsets(s);
  for (size_t k = 0; k + 1 < offsets.size(); ++k) {
    size_t p = offsets[k];
    cps.push_back(next_code_point(s, &p));
  }
  const int64_t n = int64_t(cps.size());
  const auto text = [&](int64_t a, int64_t b) {
    return s.substr(offsets[size_t(a)], offsets[size_t(b)] - offsets[size_t(a)]);
  };
  const auto space = [&](int64_t k) { return is_py_space(cps[size_t(k)]); };
  std::vector<std::string> parts;
  int64_t budget = maxsplit < 0 ? n + 1 : maxsplit;
  if (!from_right) {
    int64_t i = 0;
    while (budget-- > 0) {
      while (i < n && space(i)) ++i;
      if (i == n) break;
      const int64_t j = i;
      while (i < n && !space(i)) ++i;
      parts.push_back(text(j, i));
    }
    while (i < n && space(i)) ++i;
    if (i < n) parts.push_back(text(i, n));
    return parts;
  }
  int64_t i = n - 1;
  while (budget-- > 0) {
    while (i >= 0 && space(i)) --i;
    if (i < 0) break;
    const int64_t j = i;
    while (i >= 0 && !space(i)) --i;
    parts.push_back(text(i + 1, j + 1));
  }
  while (i >= 0 && space(i)) --i;
  if (i >= 0) parts.push_back(text(0, i + 1));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> split_on(const std::string& s, const std::string& sep, int64_t maxsplit,
                                  bool from_right) {
  if (sep.empty()) eval_fail("empty separator");
  std::vector<std::string> parts;
  int64_t budget = maxsplit < 0 ? int64_t(s.size()) + 1 : maxsplit;
  if (!from_right) {
    size_t start = 0;
    for (size_t hit; budget-- > 0 && (hit = find_text(s, sep, start)) != std::string::npos;
         start = hit + sep.size())
      parts.push_back(s.substr(start, hit - start));
    parts.push_back(s.substr(start));
    return parts;
  }
  size_t end = s.size();
  while (budget-- > 0 && end >= sep.size()) {
    const size_t hit = rfind_text(s, sep, end - sep.size());
    if (hit == std::string::npos) break;
    parts.push_back(s.substr(hit + sep.size(), end - hit - sep.size()));
    end = hit;
  }
  parts.push_back(s.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

Value str_split(const std::string& s, const CallArgs& args, bool from_right) {
  const auto a = bind_args(from_right ? "rsplit" : "split", args, {"sep", "maxsplit"}, 0);
  const int64_t maxsplit = a[1] ? int_arg("split", *a[1]) : -1;
  if (is_absent(a[0])) return Value::list(strings(split_whitespace(s, maxsplit, from_right)));
  return Value::list(strings(split_on(s, str_arg("split", *a[0]), maxsplit, from_right)));
}

// str.startswith / endswith with a str or a tuple of str.
Value str_affix(const std::string& s, const CallArgs& args, bool prefix) {
  const char* name = prefix ? "startswith" : "endswith";
  const auto a = bind_args(name, args, {"prefix"}, 1);
  std::vector<Value> options;
  if (a[0]->kind() == Kind::kSequence && a[0]->as_sequence().kind == SeqKind::kTuple) {
    options = a[0]->as_sequence().items;
  } else {
    options.push_back(*a[0]);
  }
  for (const Value& o : options) {
    if (!o.is_string())
      eval_fail(name, "() argument must be str or a tuple of str, not ", type_name(o));
    const std::string& t = o.as_string();
    const bool hit =
        t.size() <= s.size() && (prefix ? s.compare(0, t.size(), t) == 0
                                        : s.compare(s.size() - t.size(), t.size(), t) == 0);
    if (hit) return Value::boolean(true);
  }
  return Value::boolean(false);
}

Value str_replace(const std::string& s, const std::string& old, const std::string& replacement,
                  int64_t count) {
  std::string out;
  if (count < 0) count = int64_t(s.size()) + 2;
  if (old.empty()) {  // Python inserts the replacement around every character
    const std::vector<size_t> offsets = code_point_offsets(s);
    for (size_t k = 0; k + 1 < offsets.size(); ++k) {
      if (count-- > 0) out += replacement;
      out.append(s, offsets[k], offsets[k + 1] - offsets[k]);
    }
    if (count > 0) out += replacement;
    return Value::string(std::move(out));
  }
  size_t start = 0;
  for (size_t hit; count-- > 0 && (hit = find_text(s, old, start)) != std::string::npos;
       start = hit + old.size()) {
    out.append(s, start, hit - start);
    out += replacement;
    if (out.size() > kMaxStringBytes) eval_fail("a string longer than ", kMaxStringBytes, " bytes");
  }
  out.append(s, start, std::string::npos);
  return Value::string(std::move(out));
}

Value str_count(const std::string& s, const std::string& sub) {
  if (sub.empty()) return Value::integer(count_code_points(s) + 1);
  int64_t n = 0;
  for (size_t hit = find_text(s, sub); hit != std::string::npos;
       hit = find_text(s, sub, hit + sub.size()))
    ++n;
  return Value::integer(n);
}

Value str_join(const std::string& sep, const Value& iterable) {
  std::string out;
  const std::vector<Value> items = iterate(iterable);
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string())
      eval_fail("sequence item ", i, ": expected str instance, ", type_name(items[i]), " found");
    if (i) out += sep;
    out += items[i].as_string();
    if (out.size() > kMaxStringBytes) eval_fail("a string longer than ", kMaxStringBytes, " bytes");
  }
  return Value::string(std::move(out));
}

Value call_str_method(const std::string& name, const std::string& s, const CallArgs& args) {
  if (name == "startswith" || name == "endswith") return str_affix(s, args, name == "startswith");
  if (name == "split" || name == "rsplit") return str_split(s, args, name == "rsplit");
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const auto a = bind_args(name, args, {"chars"}, 0);
    const StripSide side = name == "strip"    ? StripSide::kBoth
                           : name == "lstrip" ? StripSide::kLeft
                                              : StripSide::kRight;
    return Value::string(py_strip(s, a[0], side));
  }
  if (name == "replace") {
    const auto a = bind_args(name, args, {"old", "new", "count"}, 2);
    return str_replace(s, str_arg(name, *a[0]), str_arg(name, *a[1]),
                       a[2] ? int_arg(name, *a[2]) : -1);
  }
  if (name == "find" || name == "count") {
    const auto a = bind_args(name, args, {"sub"}, 1);
    const std::string& sub = str_arg(name, *a[0]);
    if (name == "count") return str_count(s, sub);
    const size_t hit = find_text(s, sub);
    return Value::integer(
        hit == std::string::npos ? -1 : count_code_points(std::string_view(s).substr(0, hit)));
  }
  if (name == "join") return str_join(s, *bind_args(name, args, {"iterable"}, 1)[0]);
  bind_args(name, args, {}, 0);
  static const std::pair<const char*, CaseMap> kCases[] = {{"upper", CaseMap::kUpper},
                                                           {"lower", CaseMap::kLower},
                                                           {"capitalize", CaseMap::kCapitalize},
                                                           {"title", CaseMap::kTitleMethod}};
  for (const auto& [case_name, map] : kCases)
    if (name == case_name) return Value::string(py_case(s, map));
  eval_fail("str.", name, " is not supported");
}

// ---------------------------------------------------------------------------------------------
// dict and loop methods.

Value call_dict_method(const std::string& name, const Dict& d, const CallArgs& args) {
  if (name == "get") {
    const auto a = bind_args(name, args, {"key", "default"}, 1);
    if (a[0]->kind() == Kind::kDict || a[0]->kind() == Kind::kSequence) {
      const SeqKind k = a[0]->kind() == Kind::kSequence ? a[0]->as_sequence().kind : SeqKind::kList;
      if (k != SeqKind::kTuple && k != SeqKind::kRange)
        eval_fail("unhashable type: '", type_name(*a[0]), "'");
    }
    const Value* v = a[0]->is_string() ? d.find(a[0]->as_string()) : nullptr;
    return v ? *v : (a[1] ? *a[1] : Value::none());
  }
  bind_args(name, args, {}, 0);
  std::vector<Value> items;
  for (const auto& [key, value] : d.entries) {
    if (name == "keys") items.push_back(Value::string(key));
    if (name == "values") items.push_back(value);
    if (name == "items") items.push_back(Value::tuple({Value::string(key), value}));
  }
  const SeqKind kind = name == "keys"     ? SeqKind::kDictKeys
                       : name == "values" ? SeqKind::kDictValues
                                          : SeqKind::kDictItems;
  return Value::sequence(kind, std::move(items));
}

Value call_loop_method(const std::string& name, LoopState& loop, const CallArgs& args) {
  if (!args.keywords.empty()) eval_fail("loop.", name, "() takes no keyword arguments");
  if (name == "cycle") {
    if (args.positional.empty()) eval_fail("no items for cycling given");
    return args.positional[size_t(loop.index0 % int64_t(args.positional.size()))];
  }
  const bool changed =
      !loop.changed_called || loop.last_changed.size() != args.positional.size() ||
      !std::equal(args.positional.begin(), args.positional.end(), loop.last_changed.begin(),
                  [](const Value& a, const Value& b) { return equals(a, b); });
  if (changed) {
    loop.changed_called = true;
    loop.last_changed = args.positional;
  }
  return Value::boolean(changed);
}

// ---------------------------------------------------------------------------------------------
// Global functions.

// sandbox.MAX_RANGE: the sandbox refuses longer ranges.
constexpr int64_t kMaxRange = 100000;

Value call_range(const CallArgs& args) {
  if (!args.keywords.empty()) eval_fail("range() takes no keyword arguments");
  if (args.positional.empty() || args.positional.size() > 3)
    eval_fail("range expected 1 to 3 arguments, got ", args.positional.size());
  int64_t bounds[3] = {0, 0, 1};
  for (size_t i = 0; i < args.positional.size(); ++i) {
    const Value& v = args.positional[i];
    if (!v.is_integral())
      eval_fail("'", type_name(v), "' object cannot be interpreted as an integer");
    bounds[args.positional.size() == 1 ? 1 : i] = v.as_int();
  }
  const int64_t start = bounds[0], stop = bounds[1], step = bounds[2];
  if (step == 0) eval_fail("range() arg 3 must not be zero");
  const long double span = step > 0 ? (long double)stop - start : (long double)start - stop;
  const long double count = span <= 0 ? 0 : std::ceil(span / std::fabs((long double)step));
  if (count > kMaxRange)
    eval_fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (", kMaxRange, ").");
  std::vector<Value> items;
  for (int64_t k = 0; k < int64_t(count); ++k) items.push_back(Value::integer(start + k * step));
  return Value::sequence(SeqKind::kRange, std::move(items));
}

Value call_namespace(Heap& heap, const CallArgs& args) {
  Namespace* ns = heap.new_namespace();
  if (args.positional.size() > 1) eval_fail("namespace() takes at most one positional argument");
  if (!args.positional.empty()) {
    if (args.positional[0].kind() != Kind::kDict)
      eval_fail("namespace() with a positional argument other than a dict is not supported");
    for (const auto& [key, value] : args.positional[0].as_dict().entries) ns->set(key, value);
  }
  for (const auto& [key, value] : args.keywords) ns->set(key, value);
  return Value::ns(ns);
}

Value call_dict(const CallArgs& args) {
  if (!args.positional.empty()) eval_fail("dict() with positional arguments is not supported");
  return Value::dict(args.keywords);
}

// datetime.now().strftime(format), as transformers' strftime_now.
Value call_strftime_now(const CallArgs& args) {
  const auto a = bind_args("strftime_now", args, {"format"}, 1);
  const std::string& format = str_arg("strftime_now", *a[0]);
  for (size_t i = 0; i + 1 < format.size(); ++i) {
    if (format[i] != '%') continue;
    // Python formats these itself (and a naive datetime has no zone); the C library differs.
    if (std::string_view("fzZ:").find(format[i + 1]) != std::string_view::npos)
      eval_fail("strftime_now: %", format[i + 1], " is not supported");
    ++i;
  }
  if (format.size() > 256)
    eval_fail("strftime_now: a format longer than 256 bytes is not supported");
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::vector<char> buf(4096);
  const size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &local);
  if (n == 0 && !format.empty()) eval_fail("strftime_now: cannot format '", format, "'");
  return Value::string(std::string(buf.data(), n));
}

}  // namespace

Value global_function(const std::string& name) {
  static const std::set<std::string_view> kSupported = {"namespace", "range", "dict",
                                                        "raise_exception", "strftime_now"};
  if (kSupported.count(name)) return Value::function(name);
  if (name == "cycler" || name == "joiner" || name == "lipsum")
    eval_fail("the global '", name, "' is not supported");
  return Value::undefined(str_cat("'", name, "' is undefined"));
}

Value call_method(const Function& fn, const CallArgs& args) {
  const Value& self = fn.self;
  const std::string method = fn.name.substr(fn.name.find('.') + 1);
  if (self.is_string()) return call_str_method(method, self.as_string(), args);
  if (self.kind() == Kind::kDict) return call_dict_method(method, self.as_dict(), args);
  if (self.kind() == Kind::kLoop) return call_loop_method(method, *self.as_loop(), args);
  eval_fail("'", fn.name, "' is not callable");
}

Value call_function(Heap& heap, const Function& fn, const CallArgs& args) {
  if (!fn.self.is_undefined()) return call_method(fn, args);
  if (fn.name == "range") return call_range(args);
  if (fn.name == "namespace") return call_namespace(heap, args);
  if (fn.name == "dict") return call_dict(args);
  if (fn.name == "strftime_now") return call_strftime_now(args);
  if (fn.name == "raise_exception") {
    const auto a = bind_args("raise_exception", args, {"message"}, 1);
    eval_fail("raise_exception: ", to_str(*a[0]));
  }
  eval_fail("'", fn.name, "' is not callable");
}

}  // namespace sculpt::jinja
