// The values of the Jinja subset that chat templates use (core/chat_template.h), with the
// semantics of the Python objects that jinja2 would hold: Python's truthiness, equality,
// ordering, str() and arithmetic, and jinja2's Undefined. Internal to the template renderer.
//
//   Value a = Value::string("hi"), b = Value::integer(2);
//   Value c = binary_op(BinaryOp::kMul, a, b);     // "hihi", as Python's 'hi' * 2
//   std::string text = to_str(Value::number(0.5));  // "0.5", as Python's str(0.5)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.h"

namespace sculpt::jinja {

// A place in the template source: 1-based line and column (columns count code points).
struct SourcePos {
  int line = 0;
  int column = 0;
};

// A runtime error of the template; the renderer adds the template's name and the position of
// the innermost expression or statement that was running.
class EvalError : public std::runtime_error {
 public:
  explicit EvalError(const std::string& message) : std::runtime_error(message) {}
  SourcePos pos;
  bool located = false;
};

template <class... Args>
[[noreturn]] void eval_fail(Args&&... message) {
  throw EvalError(str_cat(std::forward<Args>(message)...));
}

// Deepest nesting of lists and dicts a template may build: well below Python's own recursion
// limit (json.dumps), and shallow enough that recursive helpers never exhaust the stack.
inline constexpr int kMaxValueDepth = 64;

// Largest string (or list) a template may build, in bytes (elements).
inline constexpr size_t kMaxStringBytes = size_t(64) << 20;

// Bytes one render may allocate for strings, lists and dicts in total (what it frees counts
// too): bounds the memory and the time of templates that build large values in loops.
inline constexpr int64_t kMaxBuiltBytes = int64_t(1) << 30;

// The allocation budget of the render running on this thread, for as long as it lives;
// charge_bytes() counts against it (and does nothing outside a render).
class BuildBudget {
 public:
  BuildBudget();
  ~BuildBudget();
  BuildBudget(const BuildBudget&) = delete;
  BuildBudget& operator=(const BuildBudget&) = delete;

 private:
  int64_t used_ = 0;
  int64_t* outer_;
};
void charge_bytes(size_t bytes);

enum class Kind {
  kUndefined,  // jinja2.Undefined: prints as "", false, iterates as empty, errors on use
  kNone,
  kBool,
  kInt,    // Python int, limited to int64 (overflow is an error)
  kFloat,  // Python float (double)
  kString,
  kSequence,   // list, tuple, range, dict views (SeqKind)
  kDict,       // dict with string keys, in insertion order
  kNamespace,  // jinja2's namespace(): the one mutable object
  kLoop,       // the `loop` variable of a for loop
  kIterator,   // a one-shot Python iterator or generator (select, map, reverse, items)
  kFunction,   // a global function or a bound method
};

// What Python type a kSequence is; they differ in equality, printing and JSON.
enum class SeqKind { kList, kTuple, kRange, kDictKeys, kDictValues, kDictItems };

class Value;
struct Sequence;
struct Dict;
struct Namespace;
struct LoopState;
struct Iterator;
struct Function;

// A Python value as jinja2 would hold it. Cheap to copy: strings, lists and dicts are shared
// and never changed once made; namespaces (the mutable objects) and loops belong to the render.
class Value {
 public:
  Value() = default;                        // undefined, with no reason given
  static Value undefined(std::string why);  // why it is undefined, for the error on use
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double f);
  static Value string(std::string s);
  static Value sequence(SeqKind kind, std::vector<Value> items);  // checks depth and size
  static Value list(std::vector<Value> items) { return sequence(SeqKind::kList, std::move(items)); }
  static Value tuple(std::vector<Value> items) {
    return sequence(SeqKind::kTuple, std::move(items));
  }
  static Value dict(std::vector<std::pair<std::string, Value>> entries);  // keys unique
  static Value ns(Namespace* ns);                                         // owned by the render
  static Value loop(LoopState* loop);                                     // owned by the render
  static Value iterator(std::shared_ptr<Iterator> it);
  static Value function(std::string name);              // a global function
  static Value function(std::string name, Value self);  // a method bound to self

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_number() const {
    return kind_ == Kind::kBool || kind_ == Kind::kInt || kind_ == Kind::kFloat;
  }
  bool is_integral() const { return kind_ == Kind::kBool || kind_ == Kind::kInt; }  // Python int

  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const;   // bool or int
  double as_float() const;  // bool, int or float
  const std::string& as_string() const { return *std::get<StringPtr>(data_); }
  const std::string& undefined_why() const;  // "'x' is undefined"
  const Sequence& as_sequence() const { return *std::get<SequencePtr>(data_); }
  const Dict& as_dict() const { return *std::get<DictPtr>(data_); }
  Namespace* as_ns() const { return std::get<Namespace*>(data_); }
  LoopState* as_loop() const { return std::get<LoopState*>(data_); }
  const std::shared_ptr<Iterator>& as_iterator() const { return std::get<IteratorPtr>(data_); }
  const Function& as_function() const { return *std::get<FunctionPtr>(data_); }
  int depth() const;  // nesting of lists and dicts: 0 for scalars

 private:
  using StringPtr = std::shared_ptr<const std::string>;
  using SequencePtr = std::shared_ptr<const Sequence>;
  using DictPtr = std::shared_ptr<const Dict>;
  using IteratorPtr = std::shared_ptr<Iterator>;
  using FunctionPtr = std::shared_ptr<const Function>;

  Kind kind_ = Kind::kUndefined;
  std::variant<std::monostate, bool, int64_t, double, StringPtr, SequencePtr, DictPtr, Namespace*,
               LoopState*, IteratorPtr, FunctionPtr>
      data_;
};

struct Sequence {
  SeqKind kind = SeqKind::kList;
  std::vector<Value> items;
  int depth = 1;
};

struct Dict {
  std::vector<std::pair<std::string, Value>> entries;  // insertion order
  int depth = 1;
  std::unordered_map<std::string_view, size_t> index;  // key -> entry, for larger dicts
  const Value* find(std::string_view key) const;       // nullptr if absent
};

struct Namespace {
  std::unordered_map<std::string, Value> attrs;
  const Value* find(const std::string& name) const;
  void set(const std::string& name, Value value);
};

// jinja2's LoopContext over a materialised sequence.
struct LoopState {
  std::vector<Value> items;
  int64_t index0 = 0;
  int depth0 = 0;  // 0 for an outermost loop
  bool changed_called = false;
  std::vector<Value> last_changed;  // arguments of the last loop.changed(...)
};

// A one-shot iterator: next() yields the following item, or returns false at the end (and
// from then on). Errors surface when items are pulled, as from a Python generator.
struct Iterator {
  std::function<bool(Value& out)> next;
  int depth = 1;  // length of the chain of iterators this one pulls from
  bool done = false;
  bool pull(Value& out);
};

struct Function {
  std::string name;  // "raise_exception", or a method: "startswith"
  Value self;        // the bound object of a method; undefined for a global function
};

// ---------------------------------------------------------------------------------------------
// Python semantics.

// Python's type name of a value, for messages: "str", "int", "list", "dict", "NoneType".
std::string type_name(const Value& v);

bool truthy(const Value& v);

// Python's str(v): lists, tuples and dicts print as Python's repr, with ASCII strings only;
// EvalError for non-ASCII text inside them, and for objects whose repr shows an address
// (namespace, loop, generator, function) or that is not reproduced (range).
std::string to_str(const Value& v);

// Python's repr(float): the shortest text that reads back as `f` ("0.1", "1e+16", "inf").
std::string float_repr(double f);

bool equals(const Value& a, const Value& b);

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };
bool compare(CompareOp op, const Value& a, const Value& b);

// Python's `item in container`.
bool contains(const Value& container, const Value& item);

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod };
Value binary_op(BinaryOp op, const Value& a, const Value& b);
Value negate(const Value& v);  // unary minus
Value unary_plus(const Value& v);

// The items of an iterable as Python's iter() yields them (a string's characters, a dict's
// keys, an iterator's remaining items, nothing for undefined); EvalError if not iterable.
std::vector<Value> iterate(const Value& v);

// Python's len(); EvalError for values without one.
int64_t length(const Value& v);

// ---------------------------------------------------------------------------------------------
// Text as Python sees it: a sequence of code points.

bool is_py_space(uint32_t code_point);  // str.isspace()
// Byte offsets of each code point of valid UTF-8 text, plus text.size() at the end.
std::vector<size_t> code_point_offsets(std::string_view text);
// The first (last) occurrence of needle in text at or after (at or before) `from`, in time
// linear in their lengths; npos if none.
size_t find_text(std::string_view text, std::string_view needle, size_t from = 0);
size_t rfind_text(std::string_view text, std::string_view needle, size_t from);
int64_t count_code_points(std::string_view text);
void append_utf8(std::string& out, uint32_t code_point);
// Decodes the code point at text[*pos] (valid UTF-8) and advances *pos past it.
uint32_t next_code_point(std::string_view text, size_t* pos);

}  // namespace sculpt::jinja
