// Runs a parsed chat template (core/jinja_ast.h) with jinja2's semantics: a for loop's body
// runs in a fresh scope for each iteration (its `set`s do not outlive the iteration), `if`
// shares its enclosing scope, names resolve through the scopes, then the context, then the
// globals. Work is bounded: loop iterations, evaluation steps and output size.
//
//   Template t = parse_template("{{ greeting }}!", "tpl");
//   std::string s = render_template(t, {{"greeting", Value::string("hi")}}, "tpl");  // "hi!"
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/jinja_ast.h"

namespace sculpt::jinja {

// Limits of one render, far above what a chat of any real length needs.
inline constexpr int64_t kMaxLoopIterations = 1'000'000;  // summed over all loops
inline constexpr int64_t kMaxSteps = 10'000'000;          // expressions and statements run
inline constexpr size_t kMaxOutputBytes = kMaxStringBytes;

// Renders `t` with the variables of `context`. Throws Error "<where>:<line>:<column>: <why>"
// for a runtime error: raise_exception, an undefined value used, a type error, a limit.
std::string render_template(const Template& t,
                            const std::vector<std::pair<std::string, Value>>& context,
                            const std::string& where);

}  // namespace sculpt::jinja
