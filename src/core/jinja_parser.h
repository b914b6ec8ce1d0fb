// The Jinja parser of the chat-template renderer: tokens (core/jinja_lexer.h) to a syntax tree
// (core/jinja_ast.h), following jinja2 3.1's Parser production by production, so that
// precedence and the odd corners (a test's bare argument, `not` below comparisons) match.
// Everything outside the supported subset is refused here, naming the construct and where it is.
//
//   Template t = parse_template(source, "tokenizer_config.json");  // throws sculpt::Error
#pragma once

#include <string>

#include "core/jinja_ast.h"

namespace sculpt::jinja {

// Deepest nesting of statements, and height of an expression, that a template may have: far
// beyond published templates, shallow enough for the recursive parser and renderer.
inline constexpr int kMaxNesting = 100;

// Parses a template. Throws Error "<where>:<line>:<column>: <why>": "syntax error: ..." for
// text jinja2 would refuse, "<construct> is not supported ..." for what the subset leaves out.
Template parse_template(const std::string& source, const std::string& where);

}  // namespace sculpt::jinja
