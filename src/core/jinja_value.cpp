// Python's semantics for the values of the Jinja subset (core/jinja_value.h): truthiness,
// equality and ordering, str(), arithmetic (CPython's floor division and modulo), len() and
// iteration, and text as a sequence of code points.
#include "core/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sculpt::jinja {

// ---------------------------------------------------------------------------------------------
// The allocation budget.

namespace {
thread_local int64_t* t_budget_used = nullptr;
}  // namespace

BuildBudget::BuildBudget() : outer_(t_budget_used) { t_budget_used = &used_; }
BuildBudget::~BuildBudget() { t_budget_used = outer_; }

void charge_bytes(size_t bytes) {
  if (!t_budget_used) return;
  *t_budget_used += int64_t(std::min<size_t>(bytes, size_t(kMaxBuiltBytes)));
  if (*t_budget_used > kMaxBuiltBytes)
    eval_fail("the template built more than ", kMaxBuiltBytes, " bytes of strings and lists");
}

// ---------------------------------------------------------------------------------------------
// Construction and access.

Value Value::undefined(std::string why) {
  Value v;
  v.data_ = std::make_shared<const std::string>(std::move(why));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.data_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.data_ = i;
  return v;
}

Value Value::number(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.data_ = f;
  return v;
}

Value Value::string(std::string s) {
  if (s.size() > kMaxStringBytes) eval_fail("a string longer than ", kMaxStringBytes, " bytes");
  charge_bytes(s.size());
  Value v;
  v.kind_ = Kind::kString;
  v.data_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

namespace {

void check_depth(int depth) {
  if (depth > kMaxValueDepth)
    eval_fail("lists or dicts nested deeper than ", kMaxValueDepth, " levels");
}

}  // namespace

Value Value::sequence(SeqKind kind, std::vector<Value> items) {
  if (items.size() > kMaxStringBytes) eval_fail("a list longer than ", kMaxStringBytes, " items");
  charge_bytes(items.size() * sizeof(Value));
  auto seq = std::make_shared<Sequence>();
  seq->kind = kind;
  for (const Value& item : items) seq->depth = std::max(seq->depth, item.depth() + 1);
  check_depth(seq->depth);
  seq->items = std::move(items);
  Value v;
  v.kind_ = Kind::kSequence;
  v.data_ = SequencePtr(std::move(seq));
  return v;
}

Value Value::dict(std::vector<std::pair<std::string, Value>> entries) {
  charge_bytes(entries.size() * sizeof(entries[0]));
  auto dict = std::make_shared<Dict>();
  for (const auto& entry : entries) dict->depth = std::max(dict->depth, entry.second.depth() + 1);
  check_depth(dict->depth);
  dict->entries = std::move(entries);
  if (dict->entries.size() > 8) {  // beyond a message's few keys, look keys up in a table
    for (size_t i = 0; i < dict->entries.size(); ++i)
      dict->index.emplace(dict->entries[i].first, i);
  }
  Value v;
  v.kind_ = Kind::kDict;
  v.data_ = DictPtr(std::move(dict));
  return v;
}

Value Value::ns(Namespace* ns) {
  Value v;
  v.kind_ = Kind::kNamespace;
  v.data_ = ns;
  return v;
}

Value Value::loop(LoopState* loop) {
  Value v;
  v.kind_ = Kind::kLoop;
  v.data_ = loop;
  return v;
}

Value Value::iterator(std::shared_ptr<Iterator> it) {
  Value v;
  v.kind_ = Kind::kIterator;
  v.data_ = std::move(it);
  return v;
}

Value Value::function(std::string name) { return function(std::move(name), Value()); }

Value Value::function(std::string name, Value self) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.data_ =
      FunctionPtr(std::make_shared<const Function>(Function{std::move(name), std::move(self)}));
  return v;
}

int64_t Value::as_int() const {
  return kind_ == Kind::kBool ? int64_t(std::get<bool>(data_)) : std::get<int64_t>(data_);
}

double Value::as_float() const {
  return kind_ == Kind::kFloat ? std::get<double>(data_) : double(as_int());
}

const std::string& Value::undefined_why() const {
  static const std::string kEmpty;
  const auto* name = std::get_if<StringPtr>(&data_);
  return name ? **name : kEmpty;
}

int Value::depth() const {
  switch (kind_) {
    case Kind::kSequence:
      return as_sequence().depth;
    case Kind::kDict:
      return as_dict().depth;
    case Kind::kFunction:
      return as_function().self.depth();
    default:
      return 0;
  }
}

const Value* Dict::find(std::string_view key) const {
  if (!index.empty()) {
    const auto it = index.find(key);
    return it == index.end() ? nullptr : &entries[it->second].second;
  }
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

const Value* Namespace::find(const std::string& name) const {
  const auto it = attrs.find(name);
  return it == attrs.end() ? nullptr : &it->second;
}

void Namespace::set(const std::string& name, Value value) { attrs[name] = std::move(value); }

bool Iterator::pull(Value& out) {
  if (done) return false;
  if (next(out)) return true;
  done = true;
  next = nullptr;  // lets go of the source
  return false;
}

// ---------------------------------------------------------------------------------------------
// Names, truth and printing.

namespace {

const char* seq_type_name(SeqKind kind) {
  switch (kind) {
    case SeqKind::kList:
      return "list";
    case SeqKind::kTuple:
      return "tuple";
    case SeqKind::kRange:
      return "range";
    case SeqKind::kDictKeys:
      return "dict_keys";
    case SeqKind::kDictValues:
      return "dict_values";
    case SeqKind::kDictItems:
      return "dict_items";
  }
  return "sequence";
}

[[noreturn]] void fail_undefined(const Value& v) {
  eval_fail(v.undefined_why().empty() ? "a value is undefined" : v.undefined_why());
}

}  // namespace

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kSequence:
      return seq_type_name(v.as_sequence().kind);
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kLoop:
      return "LoopContext";
    case Kind::kIterator:
      return "generator";
    case Kind::kFunction:
      return "function";
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return v.as_bool();
    case Kind::kInt:
      return v.as_int() != 0;
    case Kind::kFloat:
      return v.as_float() != 0.0;  // NaN is true, as in Python
    case Kind::kString:
      return !v.as_string().empty();
    case Kind::kSequence:
      return !v.as_sequence().items.empty();
    case Kind::kDict:
      return !v.as_dict().entries.empty();
    case Kind::kLoop:
      return !v.as_loop()->items.empty();  // LoopContext has __len__
    default:
      return true;
  }
}

std::string float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  const std::string sci(buf, result.ptr);  // "-1.2345e-05": shortest round-trip digits
  const size_t e = sci.find('e');
  const bool negative = sci[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string out = negative ? "-" : "";
  // CPython's repr: positional notation for 1e-4 <= |f| < 1e16, else scientific.
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      if (digits.size() < size_t(exponent) + 1)
        digits.append(size_t(exponent) + 1 - digits.size(), '0');
      out += digits.substr(0, size_t(exponent) + 1) + ".";
      const std::string rest = digits.substr(size_t(exponent) + 1);
      out += rest.empty() ? "0" : rest;
    } else {
      out += "0." + std::string(size_t(-exponent - 1), '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  const int magnitude = std::abs(exponent);
  out += exponent < 0 ? "e-" : "e+";
  if (magnitude < 10) out += "0";
  return out + std::to_string(magnitude);
}

namespace {

// Python's repr(str), for the ASCII strings it is able to reproduce: Python keeps printable
// non-ASCII characters and escapes the others, which needs Unicode's tables.
void append_str_repr(std::string& out, const std::string& s) {
  if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
    eval_fail("printing a list or dict that holds non-ASCII text is not supported (Python's repr)");
  const bool has_single = s.find('\'') != std::string::npos,
             has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out += quote;
  for (char c : s) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(c));
      out += buf;
    } else {
      out += c;
    }
  }
  out += quote;
}

void append_repr(std::string& out, const Value& v);

void append_items_repr(std::string& out, const std::vector<Value>& items, const char* open,
                       const char* close) {
  out += open;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    append_repr(out, items[i]);
  }
  out += close;
}

// Python's repr() of the values whose repr does not depend on object addresses.
void append_repr(std::string& out, const Value& v) {
  if (out.size() > kMaxStringBytes) eval_fail("a string longer than ", kMaxStringBytes, " bytes");
  switch (v.kind()) {
    case Kind::kUndefined:
      out += "Undefined";
      return;
    case Kind::kString:
      append_str_repr(out, v.as_string());
      return;
    case Kind::kDict: {
      out += "{";
      const auto& entries = v.as_dict().entries;
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += ", ";
        append_str_repr(out, entries[i].first);
        out += ": ";
        append_repr(out, entries[i].second);
      }
      out += "}";
      return;
    }
    case Kind::kSequence: {
      const Sequence& seq = v.as_sequence();
      switch (seq.kind) {
        case SeqKind::kList:
          return append_items_repr(out, seq.items, "[", "]");
        case SeqKind::kTuple:
          return append_items_repr(out, seq.items, "(", seq.items.size() == 1 ? ",)" : ")");
        case SeqKind::kDictKeys:
          return append_items_repr(out, seq.items, "dict_keys([", "])");
        case SeqKind::kDictValues:
          return append_items_repr(out, seq.items, "dict_values([", "])");
        case SeqKind::kDictItems:
          return append_items_repr(out, seq.items, "dict_items([", "])");
        case SeqKind::kRange:
          break;
      }
      break;
    }
    case Kind::kNone:
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kFloat:
      out += to_str(v);
      return;
    default:
      break;
  }
  eval_fail("printing a ", type_name(v),
            " is not supported (its Python repr shows a memory address)");
}

}  // namespace

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return "";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return v.as_bool() ? "True" : "False";
    case Kind::kInt:
      return std::to_string(v.as_int());
    case Kind::kFloat:
      return float_repr(v.as_float());
    case Kind::kString:
      return v.as_string();
    default: {
      std::string out;
      append_repr(out, v);
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Equality and ordering.

namespace {

// Python compares int and float exactly; long double holds every int64 exactly on the
// platforms we build for (x86-64 80-bit, AArch64 128-bit).
long double exact(const Value& v) {
  return v.kind() == Kind::kFloat ? static_cast<long double>(v.as_float())
                                  : static_cast<long double>(v.as_int());
}

bool is_view(SeqKind kind) {
  return kind == SeqKind::kDictKeys || kind == SeqKind::kDictValues || kind == SeqKind::kDictItems;
}

bool sequences_equal(const Sequence& a, const Sequence& b) {
  if (is_view(a.kind) || is_view(b.kind)) eval_fail("comparing dict views is not supported");
  if (a.kind != b.kind || a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); ++i)
    if (!equals(a.items[i], b.items[i])) return false;
  return true;
}

bool dicts_equal(const Dict& a, const Dict& b) {
  if (a.entries.size() != b.entries.size()) return false;
  for (const auto& [key, value] : a.entries) {
    const Value* other = b.find(key);
    if (!other || !equals(value, *other)) return false;
  }
  return true;
}

bool numbers_compare(CompareOp op, long double a, long double b) {
  switch (op) {
    case CompareOp::kLt:
      return a < b;
    case CompareOp::kLe:
      return a <= b;
    case CompareOp::kGt:
      return a > b;
    case CompareOp::kGe:
      return a >= b;
    default:
      return false;
  }
}

bool strings_compare(CompareOp op, const std::string& a, const std::string& b) {
  const int c = a.compare(b);  // UTF-8 byte order is code point order, as Python compares
  return numbers_compare(op, c, 0);
}

const char* op_text(CompareOp op) {
  switch (op) {
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    default:
      return ">=";
  }
}

// Python's ordering of lists (and of tuples): the first unequal items decide, else the lengths.
bool sequences_compare(CompareOp op, const Sequence& a, const Sequence& b) {
  const size_t n = std::min(a.items.size(), b.items.size());
  for (size_t i = 0; i < n; ++i)
    if (!equals(a.items[i], b.items[i])) return compare(op, a.items[i], b.items[i]);
  return numbers_compare(op, static_cast<long double>(a.items.size()),
                         static_cast<long double>(b.items.size()));
}

bool is_ordered_sequence(const Value& v) {
  return v.kind() == Kind::kSequence &&
         (v.as_sequence().kind == SeqKind::kList || v.as_sequence().kind == SeqKind::kTuple);
}

bool order(CompareOp op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) return numbers_compare(op, exact(a), exact(b));
  if (a.is_string() && b.is_string()) return strings_compare(op, a.as_string(), b.as_string());
  if (is_ordered_sequence(a) && is_ordered_sequence(b) &&
      a.as_sequence().kind == b.as_sequence().kind)
    return sequences_compare(op, a.as_sequence(), b.as_sequence());
  eval_fail("'", op_text(op), "' not supported between instances of '", type_name(a), "' and '",
            type_name(b), "'");
}

bool is_unhashable(const Value& v) {
  return v.kind() == Kind::kDict ||
         (v.kind() == Kind::kSequence && v.as_sequence().kind != SeqKind::kTuple &&
          v.as_sequence().kind != SeqKind::kRange);
}

// `key in d` for a dict (or its keys): only string keys exist.
bool has_key(const Value& key, const std::vector<Value>* keys, const Dict* dict) {
  if (is_unhashable(key)) eval_fail("unhashable type: '", type_name(key), "'");
  if (!key.is_string()) return false;
  if (dict) return dict->find(key.as_string()) != nullptr;
  return std::any_of(keys->begin(), keys->end(), [&](const Value& k) { return equals(k, key); });
}

}  // namespace

bool equals(const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.is_number() && b.is_number()) return exact(a) == exact(b);
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kNone:
      return true;
    case Kind::kString:
      return a.as_string() == b.as_string();
    case Kind::kSequence:
      return sequences_equal(a.as_sequence(), b.as_sequence());
    case Kind::kDict:
      return dicts_equal(a.as_dict(), b.as_dict());
    case Kind::kNamespace:
      return a.as_ns() == b.as_ns();
    case Kind::kLoop:
      return a.as_loop() == b.as_loop();
    case Kind::kIterator:
      return a.as_iterator() == b.as_iterator();
    case Kind::kFunction:
      eval_fail("comparing functions is not supported");
    default:
      return false;
  }
}

bool compare(CompareOp op, const Value& a, const Value& b) {
  switch (op) {
    case CompareOp::kEq:
      return equals(a, b);
    case CompareOp::kNe:
      return !equals(a, b);
    case CompareOp::kIn:
      return contains(b, a);
    case CompareOp::kNotIn:
      return !contains(b, a);
    default:
      return order(op, a, b);
  }
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kUndefined:
      return false;  // jinja2's Undefined iterates as empty
    case Kind::kString:
      if (!item.is_string())
        eval_fail("'in <string>' requires string as left operand, not ", type_name(item));
      return find_text(container.as_string(), item.as_string()) != std::string::npos;
    case Kind::kDict:
      return has_key(item, nullptr, &container.as_dict());
    case Kind::kSequence: {
      const Sequence& seq = container.as_sequence();
      if (seq.kind == SeqKind::kDictKeys) return has_key(item, &seq.items, nullptr);
      return std::any_of(seq.items.begin(), seq.items.end(),
                         [&](const Value& x) { return equals(x, item); });
    }
    case Kind::kIterator: {
      Value x;
      while (container.as_iterator()->pull(x))
        if (equals(x, item)) return true;
      return false;
    }
    default:
      eval_fail("argument of type '", type_name(container), "' is not iterable");
  }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic.

namespace {

const char* op_symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kFloorDiv:
      return "//";
    case BinaryOp::kMod:
      return "%";
  }
  return "?";
}

[[noreturn]] void fail_operands(BinaryOp op, const Value& a, const Value& b) {
  eval_fail("unsupported operand type(s) for ", op_symbol(op), ": '", type_name(a), "' and '",
            type_name(b), "'");
}

[[noreturn]] void fail_overflow() { eval_fail("integer result beyond 64 bits"); }

Value int_floor_div(int64_t a, int64_t b) {
  if (b == 0) eval_fail("integer division or modulo by zero");
  if (a == std::numeric_limits<int64_t>::min() && b == -1) fail_overflow();
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return Value::integer(q);
}

Value int_mod(int64_t a, int64_t b) {
  if (b == 0) eval_fail("integer division or modulo by zero");
  if (b == -1) return Value::integer(0);
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return Value::integer(r);
}

// CPython's float_rem and float_floor_div (Objects/floatobject.c).
Value float_mod(double a, double b) {
  if (b == 0.0) eval_fail("float modulo by zero");
  double mod = std::fmod(a, b);
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = std::copysign(0.0, b);
  }
  return Value::number(mod);
}

Value float_floor_div(double a, double b) {
  if (b == 0.0) eval_fail("float floor division by zero");
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0 && ((b < 0) != (mod < 0))) div -= 1.0;
  if (div == 0.0) return Value::number(std::copysign(0.0, a / b));
  double floordiv = std::floor(div);
  if (div - floordiv > 0.5) floordiv += 1.0;
  return Value::number(floordiv);
}

Value true_div(const Value& a, const Value& b) {
  if (b.as_float() == 0.0) eval_fail("division by zero");
  constexpr int64_t kExact = int64_t(1) << 53;  // ints that convert to double exactly
  if (a.is_integral() && b.is_integral() &&
      (std::llabs(a.as_int()) > kExact || std::llabs(b.as_int()) > kExact))
    eval_fail("dividing integers beyond 2**53 is not supported");
  return Value::number(a.as_float() / b.as_float());
}

Value int_arith(BinaryOp op, int64_t a, int64_t b) {
  int64_t r = 0;
  switch (op) {
    case BinaryOp::kAdd:
      if (__builtin_add_overflow(a, b, &r)) fail_overflow();
      return Value::integer(r);
    case BinaryOp::kSub:
      if (__builtin_sub_overflow(a, b, &r)) fail_overflow();
      return Value::integer(r);
    case BinaryOp::kMul:
      if (__builtin_mul_overflow(a, b, &r)) fail_overflow();
      return Value::integer(r);
    case BinaryOp::kFloorDiv:
      return int_floor_div(a, b);
    default:
      return int_mod(a, b);
  }
}

Value numeric(BinaryOp op, const Value& a, const Value& b) {
  if (op == BinaryOp::kDiv) return true_div(a, b);
  if (a.is_integral() && b.is_integral()) return int_arith(op, a.as_int(), b.as_int());
  const double x = a.as_float(), y = b.as_float();
  switch (op) {
    case BinaryOp::kAdd:
      return Value::number(x + y);
    case BinaryOp::kSub:
      return Value::number(x - y);
    case BinaryOp::kMul:
      return Value::number(x * y);
    case BinaryOp::kFloorDiv:
      return float_floor_div(x, y);
    default:
      return float_mod(x, y);
  }
}

bool is_list_or_tuple(const Value& v) { return is_ordered_sequence(v); }

Value concatenate(const Value& a, const Value& b) {
  if (a.is_string() && b.is_string()) {
    if (a.as_string().size() + b.as_string().size() > kMaxStringBytes)
      eval_fail("a string longer than ", kMaxStringBytes, " bytes");
    return Value::string(a.as_string() + b.as_string());
  }
  if (is_list_or_tuple(a) && is_list_or_tuple(b) && a.as_sequence().kind == b.as_sequence().kind) {
    std::vector<Value> items = a.as_sequence().items;
    if (items.size() + b.as_sequence().items.size() > kMaxStringBytes)
      eval_fail("a list longer than ", kMaxStringBytes, " items");
    items.insert(items.end(), b.as_sequence().items.begin(), b.as_sequence().items.end());
    return Value::sequence(a.as_sequence().kind, std::move(items));
  }
  fail_operands(BinaryOp::kAdd, a, b);
}

// Python's sequence * n: n copies, nothing for n <= 0.
Value repeat(const Value& seq, int64_t n) {
  const size_t size = seq.is_string() ? seq.as_string().size() : seq.as_sequence().items.size();
  const size_t count = n > 0 ? size_t(n) : 0;
  if (size != 0 && count > kMaxStringBytes / size)
    eval_fail("a string or list longer than ", kMaxStringBytes);
  if (seq.is_string()) {
    std::string out;
    out.reserve(size * count);
    for (size_t i = 0; i < count; ++i) out += seq.as_string();
    return Value::string(std::move(out));
  }
  std::vector<Value> items;
  items.reserve(size * count);
  for (size_t i = 0; i < count; ++i)
    items.insert(items.end(), seq.as_sequence().items.begin(), seq.as_sequence().items.end());
  return Value::sequence(seq.as_sequence().kind, std::move(items));
}

bool is_repeatable(const Value& v) { return v.is_string() || is_list_or_tuple(v); }

}  // namespace

Value binary_op(BinaryOp op, const Value& a, const Value& b) {
  if (op == BinaryOp::kMod && a.is_string()) eval_fail("string formatting with % is not supported");
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) return numeric(op, a, b);
  if (op == BinaryOp::kAdd) return concatenate(a, b);
  if (op == BinaryOp::kMul && is_repeatable(a) && b.is_integral()) return repeat(a, b.as_int());
  if (op == BinaryOp::kMul && a.is_integral() && is_repeatable(b)) return repeat(b, a.as_int());
  fail_operands(op, a, b);
}

Value negate(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.kind() == Kind::kFloat) return Value::number(-v.as_float());
  if (!v.is_integral()) eval_fail("bad operand type for unary -: '", type_name(v), "'");
  if (v.as_int() == std::numeric_limits<int64_t>::min()) fail_overflow();
  return Value::integer(-v.as_int());
}

Value unary_plus(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.kind() == Kind::kFloat) return v;
  if (!v.is_integral()) eval_fail("bad operand type for unary +: '", type_name(v), "'");
  return Value::integer(v.as_int());
}

// ---------------------------------------------------------------------------------------------
// Iteration and length.

std::vector<Value> iterate(const Value& v) {
  std::vector<Value> items;
  if (v.kind() == Kind::kSequence) charge_bytes(v.as_sequence().items.size() * sizeof(Value));
  if (v.kind() == Kind::kString) charge_bytes(v.as_string().size() * sizeof(Value));
  switch (v.kind()) {
    case Kind::kUndefined:
      return items;
    case Kind::kString: {
      const std::string& s = v.as_string();
      const std::vector<size_t> offsets = code_point_offsets(s);
      for (size_t i = 0; i + 1 < offsets.size(); ++i)
        items.push_back(Value::string(s.substr(offsets[i], offsets[i + 1] - offsets[i])));
      return items;
    }
    case Kind::kSequence:
      return v.as_sequence().items;
    case Kind::kDict:
      for (const auto& entry : v.as_dict().entries) items.push_back(Value::string(entry.first));
      return items;
    case Kind::kIterator: {
      Value item;
      while (v.as_iterator()->pull(item)) {
        if (items.size() >= kMaxStringBytes)
          eval_fail("an iterator longer than ", kMaxStringBytes, " items");
        items.push_back(item);
      }
      return items;
    }
    default:
      eval_fail("'", type_name(v), "' object is not iterable");
  }
}

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return 0;
    case Kind::kString:
      return count_code_points(v.as_string());
    case Kind::kSequence:
      return int64_t(v.as_sequence().items.size());
    case Kind::kDict:
      return int64_t(v.as_dict().entries.size());
    case Kind::kLoop:
      return int64_t(v.as_loop()->items.size());
    default:
      eval_fail("object of type '", type_name(v), "' has no len()");
  }
}

// ---------------------------------------------------------------------------------------------
// Text.

bool is_py_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

uint32_t next_code_point(std::string_view text, size_t* pos) {
  const auto lead = static_cast<unsigned char>(text[*pos]);
  const int n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  uint32_t c = n == 1 ? lead : n == 2 ? (lead & 0x1F) : n == 3 ? (lead & 0x0F) : (lead & 0x07);
  for (int i = 1; i < n && *pos + size_t(i) < text.size(); ++i)
    c = (c << 6) | (static_cast<unsigned char>(text[*pos + size_t(i)]) & 0x3F);
  *pos = std::min(text.size(), *pos + size_t(n));
  return c;
}

std::vector<size_t> code_point_offsets(std::string_view text) {
  charge_bytes(text.size() * sizeof(size_t));
  std::vector<size_t> offsets;
  offsets.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) offsets.push_back(i);
  offsets.push_back(text.size());
  return offsets;
}

int64_t count_code_points(std::string_view text) {
  int64_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

// Knuth-Morris-Pratt: linear in the lengths, where std::string::find can take the product of
// them (a template can build megabyte strings that nearly match).
size_t find_text(std::string_view text, std::string_view needle, size_t from) {
  if (needle.size() <= 16 || from >= text.size()) return text.find(needle, from);
  charge_bytes(needle.size() * sizeof(size_t));
  std::vector<size_t> fail(needle.size(), 0);  // longest proper border of needle[0..i]
  for (size_t i = 1, k = 0; i < needle.size(); ++i) {
    while (k > 0 && needle[i] != needle[k]) k = fail[k - 1];
    if (needle[i] == needle[k]) ++k;
    fail[i] = k;
  }
  for (size_t i = from, k = 0; i < text.size(); ++i) {
    while (k > 0 && text[i] != needle[k]) k = fail[k - 1];
    if (text[i] == needle[k]) ++k;
    if (k == needle.size()) return i + 1 - needle.size();
  }
  return std::string_view::npos;
}

size_t rfind_text(std::string_view text, std::string_view needle, size_t from) {
  if (needle.size() <= 16) return text.rfind(needle, from);
  if (needle.size() > text.size()) return std::string_view::npos;
  const size_t end = std::min(from, text.size() - needle.size()) + needle.size();
  const std::string reversed_text(text.rend() - std::ptrdiff_t(end), text.rend());
  const std::string reversed_needle(needle.rbegin(), needle.rend());
  const size_t hit = find_text(reversed_text, reversed_needle, 0);
  return hit == std::string_view::npos ? hit : end - hit - needle.size();
}

}  // namespace sculpt::jinja
