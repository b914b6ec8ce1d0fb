// The Jinja lexer of the chat-template renderer: splits template text into text, tags and the
// tokens inside tags, exactly as jinja2 3.1's lexer does with trim_blocks=True and
// lstrip_blocks=True (the settings of transformers' apply_chat_template): newline
// normalisation, the dropped final newline, whitespace control (-, +), Python string escapes.
//
//   std::vector<Token> tokens = tokenize("{{ 'hi' }}", "tpl");  // kVarBegin, kString, kVarEnd,
//   kEof
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/jinja_value.h"

namespace sculpt::jinja {

enum class TokenType {
  kText,        // template text between tags, after whitespace control
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,    // text holds the decoded value
  kInteger,   // integer holds the value
  kFloat,     // number holds the value
  kOperator,  // text holds the operator: "+", "//", "==", "(", ...
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string text;
  int64_t integer = 0;
  double number = 0;
  SourcePos pos;
};

// Largest template accepted, in bytes; published chat templates are a few kilobytes.
inline constexpr size_t kMaxTemplateBytes = size_t(1) << 20;

// Tokens of `source` (valid UTF-8), ending with kEof. Throws Error
// "<where>:<line>:<column>: <why>" for text that jinja2 would not lex, and for the lexical
// constructs the renderer refuses ({% raw %}, \N{...} escapes, non-ASCII names).
std::vector<Token> tokenize(const std::string& source, const std::string& where);

// "<where>:<line>:<column>" for error messages.
std::string location(const std::string& where, SourcePos pos);

}  // namespace sculpt::jinja
