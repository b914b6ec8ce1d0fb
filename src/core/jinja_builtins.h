// The built-ins of the chat-template renderer, with jinja2's and Python's behaviour: filters,
// tests, global functions (namespace, range, dict, raise_exception, strftime_now), the methods
// of strings, dicts and the loop object, attribute and item lookup as jinja2's sandbox does it,
// and transformers' tojson (json.dumps with ensure_ascii=False).
//
//   Heap heap;
//   Value v = call_filter(heap, "trim", Value::string(" hi "), {});  // "hi"
//   bool odd = call_test("odd", Value::integer(3), {});              // true
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/jinja_value.h"

namespace sculpt::jinja {

// The mutable objects of one render (namespaces, loop states); values point into it, so no
// reference cycle can leak and everything goes when the render ends.
class Heap {
 public:
  Namespace* new_namespace();
  LoopState* new_loop();

 private:
  std::vector<std::unique_ptr<Namespace>> namespaces_;
  std::vector<std::unique_ptr<LoopState>> loops_;
};

// The arguments of a call, a filter or a test (the filtered or tested value apart).
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

// Names the parser accepts after `|` and `is`.
bool is_supported_filter(std::string_view name);
bool is_supported_test(std::string_view name);

Value call_filter(std::string_view name, const Value& value, const CallArgs& args);
bool call_test(std::string_view name, const Value& value, const CallArgs& args);

// The global named `name` (namespace, range, dict, raise_exception, strftime_now) as a
// function value; undefined for other names. EvalError for jinja2 globals that are not
// supported (cycler, joiner, lipsum).
Value global_function(const std::string& name);

// Calls a global function or a bound method.
Value call_function(Heap& heap, const Function& fn, const CallArgs& args);
// Calls a bound method (fn.self is the str, dict or loop object).
Value call_method(const Function& fn, const CallArgs& args);

// obj.name and obj[key] as jinja2's ImmutableSandboxedEnvironment resolves them: attributes
// first for `.`, items first for `[]`, undefined when neither exists. Python attributes that
// the subset does not implement are EvalErrors rather than silently undefined.
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);

// obj[start:stop:step] (null bounds are None) of a str, list, tuple or range; EvalError for
// anything else, as Python's own subscription raises.
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// json.dumps(value, ensure_ascii, indent, separators, sort_keys), as transformers' tojson.
struct JsonOptions {
  bool ensure_ascii = false;
  bool indented = false;
  std::string indent;  // per level, when indented
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
std::string to_json(const Value& value, const JsonOptions& options);

// ---------------------------------------------------------------------------------------------
// Helpers shared by the filters and the methods.

// Python's binding of arguments to the parameters `names` (each positional or keyword); the
// first n_required must be given. One slot per name, nullopt where an optional one is absent.
std::vector<std::optional<Value>> bind_args(std::string_view callee, const CallArgs& args,
                                            std::initializer_list<std::string_view> names,
                                            size_t n_required);

// str.strip / lstrip / rstrip: `chars` is None (or absent) for whitespace, else a str.
enum class StripSide { kBoth, kLeft, kRight };
std::string py_strip(const std::string& text, const std::optional<Value>& chars, StripSide side);

// str.upper, lower, capitalize, title and the title filter, for ASCII text: Python maps the
// case of other letters with Unicode tables that the renderer does not carry, so non-ASCII
// text is an EvalError rather than a silently different result.
enum class CaseMap { kUpper, kLower, kCapitalize, kTitleMethod, kTitleFilter };
std::string py_case(const std::string& text, CaseMap map);

}  // namespace sculpt::jinja
