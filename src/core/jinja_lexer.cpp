// The Jinja lexer (core/jinja_lexer.h). It follows jinja2 3.1's Lexer.tokeniter rule by rule:
// the root rule finds the next "{{", "{%" or "{#"; lstrip_blocks strips the whitespace before
// a block or comment tag that starts its line; trim_blocks drops the newline after "%}" and
// "#}"; inside tags the rules are tried in jinja2's order (end of tag, whitespace, float,
// integer, name, string, operator), and the end of a tag is only seen outside brackets.
#include "core/jinja_lexer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/error.h"

namespace sculpt::jinja {

std::string location(const std::string& where, SourcePos pos) {
  return str_cat(where, ":", pos.line, ":", pos.column);
}

namespace {

// jinja2 turns \r\n and \r into \n and drops one final newline (keep_trailing_newline=False).
std::string normalize_newlines(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// The operators of jinja2's lexer, longest first.
constexpr std::array<std::string_view, 26> kOperators = {
    "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[",
    "]",  "(",  ")",  "{",  "}",  "=",  ".", ":", "|", ",", ";", ">", "<"};

class Lexer {
 public:
  Lexer(const std::string& source, const std::string& where)
      : src_(normalize_newlines(source)), where_(where) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_root();
    push(TokenType::kEof, src_.size());
    return std::move(tokens_);
  }

 private:
  // Line and column of a byte offset. Tokens come in order, so the column is counted on from
  // the previous one (counting from the line start each time is quadratic in a long line).
  SourcePos pos_of(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line = size_t(it - line_starts_.begin());
    const size_t start = line_starts_[line - 1];
    if (cursor_.line != int(line) || cursor_offset_ > offset) {
      cursor_ = {int(line), 1};
      cursor_offset_ = start;
    }
    cursor_.column += int(
        count_code_points(std::string_view(src_).substr(cursor_offset_, offset - cursor_offset_)));
    cursor_offset_ = offset;
    return cursor_;
  }

  template <class... Args>
  [[noreturn]] void fail_at(size_t offset, Args&&... message) const {
    fail(location(where_, pos_of(offset)), std::forward<Args>(message)...);
  }

  Token& push(TokenType type, size_t offset, std::string text = "") {
    Token token;
    token.type = type;
    token.text = std::move(text);
    token.pos = pos_of(offset);
    tokens_.push_back(std::move(token));
    return tokens_.back();
  }

  bool at(size_t p, std::string_view s) const { return src_.compare(p, s.size(), s) == 0; }

  // Length of the Python whitespace code point at p, or 0.
  size_t space_at(size_t p) const {
    if (p >= src_.size()) return 0;
    size_t next = p;
    return is_py_space(next_code_point(src_, &next)) ? next - p : 0;
  }

  size_t skip_spaces(size_t p) const {
    while (size_t n = space_at(p)) p += n;
    return p;
  }

  static bool all_spaces(std::string_view text) {
    size_t p = 0;
    while (p < text.size())
      if (!is_py_space(next_code_point(text, &p))) return false;
    return true;
  }

  // Python's str.rstrip(): trailing whitespace removed.
  static std::string_view rstrip(std::string_view text) {
    const std::vector<size_t> offsets = code_point_offsets(text);
    size_t end = offsets.size() - 1;
    while (end > 0) {
      size_t p = offsets[end - 1];
      if (!is_py_space(next_code_point(text, &p))) break;
      --end;
    }
    return text.substr(0, offsets[end]);
  }

  // ---- root state: text up to the next tag, then the tag.
  void lex_root() {
    size_t tag = std::string::npos;
    for (size_t p = src_.find('{', pos_); p != std::string::npos; p = src_.find('{', p + 1)) {
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) {
        tag = p;
        break;
      }
    }
    if (tag == std::string::npos) {
      push(TokenType::kText, pos_, src_.substr(pos_));
      pos_ = src_.size();
      return;
    }
    const char kind = src_[tag + 1];
    const char sign =
        tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
    if (kind == '%') refuse_raw(tag, sign);
    std::string_view text = std::string_view(src_).substr(pos_, tag - pos_);
    if (sign == '-') {
      text = rstrip(text);
    } else if (sign != '+' && kind != '{') {
      text = lstrip_line(text);
    }
    if (!text.empty()) push(TokenType::kText, pos_, std::string(text));
    const size_t body = tag + 2 + (sign ? 1 : 0);
    if (kind == '#') {
      lex_comment(tag, body);
    } else {
      push(kind == '%' ? TokenType::kBlockBegin : TokenType::kVarBegin, tag);
      lex_tag(body, kind == '%');
    }
  }

  // lstrip_blocks: whitespace between the start of the line and a block or comment tag goes.
  std::string_view lstrip_line(std::string_view text) const {
    const size_t newline = text.rfind('\n');
    const size_t line = newline == std::string_view::npos ? 0 : newline + 1;
    if ((line > 0 || line_starting_) && line < text.size() && all_spaces(text.substr(line)))
      return text.substr(0, line);
    return text;
  }

  // {% raw %} is lexed specially by jinja2; the renderer does not support it.
  void refuse_raw(size_t tag, char sign) const {
    size_t p = skip_spaces(tag + 2 + (sign ? 1 : 0));
    if (!at(p, "raw")) return;
    p = skip_spaces(p + 3);
    if (at(p, "-%}") || at(p, "%}")) fail_at(tag, "{% raw %} is not supported");
  }

  void lex_comment(size_t tag, size_t body) {
    for (size_t end = src_.find("#}", body); end != std::string::npos;
         end = src_.find("#}", end + 1)) {
      const char sign =
          end > body && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
      finish_tag(end + 2, sign);
      return;
    }
    // jinja2 reports an unclosed comment only when something follows its "{#".
    if (body >= src_.size()) {
      pos_ = src_.size();
      return;
    }
    fail_at(tag, "syntax error: missing end of comment tag");
  }

  // After the end of a tag ("%}", "#}", "}}"): "-" eats the whitespace that follows, "+" keeps
  // it, and trim_blocks eats one newline after a block or comment tag.
  void finish_tag(size_t after, char sign, bool trims = true) {
    size_t p = after;
    if (sign == '-') {
      p = skip_spaces(p);
    } else if (sign != '+' && trims && p < src_.size() && src_[p] == '\n') {
      ++p;
    }
    line_starting_ = p > after && src_[p - 1] == '\n';
    pos_ = p;
  }

  // ---- tag state: tokens up to the end of the tag.
  void lex_tag(size_t p, bool block) {
    std::vector<char> brackets;  // closing brackets expected, innermost last
    while (p < src_.size()) {
      if (brackets.empty() && lex_tag_end(p, block)) return;
      if (size_t n = space_at(p)) {
        p += n;
        continue;
      }
      p = lex_token(p, brackets);
    }
    pos_ = p;  // end of template inside a tag: the parser reports it
  }

  bool lex_tag_end(size_t p, bool block) {
    const std::string_view end = block ? "%}" : "}}";
    char sign = 0;
    if (at(p, end)) {
      sign = 0;
    } else if ((src_[p] == '-' || (block && src_[p] == '+')) && at(p + 1, end)) {
      sign = src_[p];
    } else {
      return false;
    }
    push(block ? TokenType::kBlockEnd : TokenType::kVarEnd, p);
    finish_tag(p + end.size() + (sign ? 1 : 0), sign, block);
    return true;
  }

  size_t lex_token(size_t p, std::vector<char>& brackets) {
    if (size_t end = match_float(p)) return emit_float(p, end);
    if (size_t end = match_integer(p)) return emit_integer(p, end);
    if (is_name_start(src_[p])) {
      size_t end = p;
      while (end < src_.size() && is_name_char(src_[end])) ++end;
      push(TokenType::kName, p, src_.substr(p, end - p));
      return end;
    }
    if (src_[p] == '\'' || src_[p] == '"') {
      if (size_t end = match_string(p)) return emit_string(p, end);
    }
    for (std::string_view op : kOperators) {
      if (at(p, op)) return emit_operator(p, op, brackets);
    }
    if (static_cast<unsigned char>(src_[p]) >= 0x80)
      fail_at(p, "non-ASCII text outside strings is not supported");
    fail_at(p, "syntax error: unexpected char '", src_[p], "'");
  }

  size_t emit_operator(size_t p, std::string_view op, std::vector<char>& brackets) {
    if (op == "(" || op == "[" || op == "{") {
      brackets.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
    } else if (op == ")" || op == "]" || op == "}") {
      if (brackets.empty()) fail_at(p, "syntax error: unexpected '", op, "'");
      if (brackets.back() != op[0])
        fail_at(p, "syntax error: unexpected '", op, "', expected '", brackets.back(), "'");
      brackets.pop_back();
    }
    push(TokenType::kOperator, p, std::string(op));
    return p + op.size();
  }

  // ---- numbers, as jinja2's float_re and integer_re.

  // (\d+_)*\d+ : end of the match at p, or 0.
  size_t match_digits(size_t p) const {
    if (p >= src_.size() || !is_digit(src_[p])) return 0;
    while (p < src_.size() && is_digit(src_[p])) ++p;
    while (p + 1 < src_.size() && src_[p] == '_' && is_digit(src_[p + 1])) {
      p += 1;
      while (p < src_.size() && is_digit(src_[p])) ++p;
    }
    return p;
  }

  size_t match_exponent(size_t p) const {
    if (p >= src_.size() || (src_[p] != 'e' && src_[p] != 'E')) return 0;
    ++p;
    if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
    return match_digits(p);
  }

  size_t match_float(size_t p) const {
    if (p > 0 && src_[p - 1] == '.') return 0;
    const size_t whole = match_digits(p);
    if (!whole) return 0;
    const size_t fraction = whole < src_.size() && src_[whole] == '.' ? match_digits(whole + 1) : 0;
    if (fraction) {
      if (size_t e = match_exponent(fraction)) return e;
    }
    if (size_t e = match_exponent(whole)) return e;
    return fraction;
  }

  size_t match_based(size_t p, char prefix, bool (*digit)(char)) const {
    if (src_[p] != '0' || p + 1 >= src_.size() || (src_[p + 1] | 0x20) != prefix) return 0;
    size_t q = p + 2, end = 0;
    while (true) {
      const size_t d = q < src_.size() && src_[q] == '_' ? q + 1 : q;
      if (d >= src_.size() || !digit(src_[d])) break;
      q = end = d + 1;
    }
    return end;
  }

  size_t match_integer(size_t p) const {
    if (!is_digit(src_[p])) return 0;
    if (size_t end = match_based(p, 'b', [](char c) { return c == '0' || c == '1'; })) return end;
    if (size_t end = match_based(p, 'o', [](char c) { return c >= '0' && c <= '7'; })) return end;
    if (size_t end = match_based(
            p, 'x', [](char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }))
      return end;
    const char zero = src_[p];
    size_t q = p + 1;
    while (q < src_.size()) {  // [1-9](_?\d)* or 0(_?0)*
      const size_t d = src_[q] == '_' ? q + 1 : q;
      if (d >= src_.size() || !is_digit(src_[d]) || (zero == '0' && src_[d] != '0')) break;
      q = d + 1;
    }
    return q;
  }

  size_t emit_float(size_t p, size_t end) {
    std::string text;
    for (size_t i = p; i < end; ++i)
      if (src_[i] != '_') text += src_[i];
    double value = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
    // Python reads a literal beyond the range of doubles as inf, 0.0 or a subnormal, which
    // from_chars refuses; strtod rounds those as Python does.
    if (result.ec == std::errc::result_out_of_range) value = std::strtod(text.c_str(), nullptr);
    push(TokenType::kFloat, p).number = value;
    return end;
  }

  size_t emit_integer(size_t p, size_t end) {
    std::string digits;
    for (size_t i = p; i < end; ++i)
      if (src_[i] != '_') digits += src_[i];
    int base = 10;
    if (digits.size() > 1 && digits[0] == '0' && digits[1] != '0') {
      base = (digits[1] | 0x20) == 'b' ? 2 : (digits[1] | 0x20) == 'o' ? 8 : 16;
      digits = digits.substr(2);
    }
    int64_t value = 0;
    const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (result.ec != std::errc() || result.ptr != digits.data() + digits.size())
      fail_at(p, "integer literal ", src_.substr(p, end - p), " is beyond 64 bits");
    push(TokenType::kInteger, p).integer = value;
    return end;
  }

  // ---- strings: '...' or "..." with backslash escapes, as jinja2's string_re.
  size_t match_string(size_t p) const {
    const char quote = src_[p];
    for (size_t q = p + 1; q < src_.size(); ++q) {
      if (src_[q] == '\\') {
        ++q;
      } else if (src_[q] == quote) {
        return q + 1;
      }
    }
    return 0;
  }

  size_t emit_string(size_t p, size_t end) {
    push(TokenType::kString, p, unescape(p, src_.substr(p + 1, end - p - 2)));
    return end;
  }

  // jinja2 decodes a literal with .encode("ascii", "backslashreplace").decode("unicode-escape"):
  // non-ASCII characters become escapes first, then Python's escapes are decoded.
  std::string unescape(size_t p, const std::string& raw) const {
    std::string ascii;
    for (size_t i = 0; i < raw.size();) {
      const uint32_t c = next_code_point(raw, &i);
      if (c < 0x80) {
        ascii += char(c);
      } else {
        char buf[16];
        const int width = c < 0x100 ? 2 : c < 0x10000 ? 4 : 8;
        std::snprintf(buf, sizeof buf, "\\%c%0*x",
                      width == 2   ? 'x'
                      : width == 4 ? 'u'
                                   : 'U',
                      width, unsigned(c));
        ascii += buf;
      }
    }
    std::string out;
    for (size_t i = 0; i < ascii.size();) {
      if (ascii[i] != '\\') {
        out += ascii[i++];
      } else {
        i = decode_escape(p, ascii, i, out);
      }
    }
    return out;
  }

  // Decodes the escape at text[i] ('\\') into out; returns the index after it.
  size_t decode_escape(size_t p, const std::string& text, size_t i, std::string& out) const {
    if (i + 1 >= text.size()) fail_at(p, "syntax error: \\ at end of string");
    const char c = text[i + 1];
    static const char* const kSimple = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
    for (const char* s = kSimple; *s; s += 2) {
      if (*s == c) {
        out += s[1];
        return i + 2;
      }
    }
    if (c == '\n') return i + 2;  // a backslash before a newline joins the lines
    if (c >= '0' && c <= '7') {
      size_t j = i + 1;
      uint32_t value = 0;
      for (; j < text.size() && j < i + 4 && text[j] >= '0' && text[j] <= '7'; ++j)
        value = value * 8 + uint32_t(text[j] - '0');
      append_utf8(out, value);
      return j;
    }
    const int width = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (width) return decode_hex(p, text, i, width, out);
    if (c == 'N') fail_at(p, "\\N{...} escapes are not supported");
    out += '\\';  // unknown escapes stay as written
    return i + 1;
  }

  size_t decode_hex(size_t p, const std::string& text, size_t i, int width,
                    std::string& out) const {
    uint32_t value = 0;
    for (int k = 0; k < width; ++k) {
      const size_t j = i + 2 + size_t(k);
      const char h = j < text.size() ? char(text[j] | 0x20) : 0;
      const bool ok = is_digit(h) || (h >= 'a' && h <= 'f');
      if (!ok) fail_at(p, "syntax error: truncated \\", text[i + 1], " escape in a string");
      value = value * 16 + uint32_t(is_digit(h) ? h - '0' : h - 'a' + 10);
    }
    if (value > 0x10FFFF) fail_at(p, "syntax error: illegal Unicode character in a string");
    if (value >= 0xD800 && value <= 0xDFFF)
      fail_at(p, "surrogate code points in strings are not supported");
    append_utf8(out, value);
    return i + 2 + size_t(width);
  }

  std::string src_;
  std::string where_;
  std::vector<size_t> line_starts_;
  size_t pos_ = 0;
  bool line_starting_ = true;  // the last match ended a line (or nothing was matched yet)
  mutable SourcePos cursor_;   // pos_of's last answer, and the offset it was for
  mutable size_t cursor_offset_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source, const std::string& where) {
  if (source.size() > kMaxTemplateBytes)
    fail(where, "a template of ", source.size(), " bytes is larger than the ", kMaxTemplateBytes,
         " accepted");
  return Lexer(source, where).run();
}

}  // namespace sculpt::jinja
