// Oniguruma patterns run by ICU (see hf_regex.h for the dialect differences handled).
#include "core/hf_regex.h"

#include <unicode/regex.h>
#include <unicode/utext.h>

#include <cctype>
#include <cstdio>
#include <optional>

#include "core/error.h"
#include "core/hf_json.h"

namespace sculpt::hf {
namespace {

constexpr size_t kNone = std::string::npos;

// ICU's work limit for one search (RegexMatcher::setTimeLimit, in its engine-step units, each
// roughly a millisecond): far above what the published patterns need on megabytes of text, low
// enough that a pathological pattern ends with an error instead of hanging.
constexpr int32_t kMatchTimeLimit = 20000;

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// Walks one Oniguruma pattern and writes its ICU equivalent.
class Translator {
 public:
  Translator(std::string_view pattern, const std::string& where) : p_(pattern), where_(where) {}

  std::string run() {
    while (i_ < p_.size()) step();
    return out_;
  }

 private:
  [[noreturn]] void refuse(const std::string& why) const {
    fail(where_, "regex '", printable(p_), "': ", why, " (at byte ", i_, ") is not supported");
  }

  char peek(size_t k = 0) const { return i_ + k < p_.size() ? p_[i_ + k] : '\0'; }

  // Copies one whole UTF-8 character.
  void copy_char() {
    const size_t n = std::min(utf8_length(static_cast<unsigned char>(p_[i_])), p_.size() - i_);
    out_.append(p_.substr(i_, n));
    i_ += n;
  }

  void step() {
    const char c = p_[i_];
    switch (c) {
      case '\\':
        atom_ = out_.size();
        escape(/*in_class=*/false);
        return;
      case '[':
        atom_ = out_.size();
        char_class();
        return;
      case '(':
        group_open();
        return;
      case ')':
        atom_ = groups_.empty() ? kNone : groups_.back();
        if (!groups_.empty()) groups_.pop_back();
        out_ += ')';
        ++i_;
        return;
      case '{':
        interval();
        return;
      case '*':
      case '+':
      case '?':
        out_ += c;  // the quantified expression stays the atom (a later interval wraps it)
        ++i_;
        return;
      case '|':
      case '^':
      case '$':
        atom_ = kNone;
        out_ += c;
        ++i_;
        return;
      default:
        atom_ = out_.size();
        copy_char();
        return;
    }
  }

  // An escape after '\\', outside or inside a character class.
  void escape(bool in_class) {
    ++i_;  // the backslash
    if (i_ >= p_.size()) refuse("a trailing backslash");
    const char e = p_[i_];
    const auto set = [&](const char* outside, const char* inside) {
      out_ += in_class ? inside : outside;
      ++i_;
    };
    switch (e) {
      case 's':
        return set("\\p{White_Space}", "\\p{White_Space}");
      case 'S':
        return set("\\P{White_Space}", "\\P{White_Space}");
      case 'h':
        return set("[0-9A-Fa-f]", "0-9A-Fa-f");
      case 'v':
        return set("\\x{0B}", "\\x{0B}");
      case 'H':
        if (in_class) refuse("\\H inside a character class");
        return set("[^0-9A-Fa-f]", "");
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 'n':
      case 't':
      case 'r':
      case 'f':
      case 'e':
      case 'a':
        out_ += '\\';
        out_ += e;
        ++i_;
        return;
      case 'A':
      case 'z':
      case 'Z':
        if (in_class) refuse(std::string("\\") + e + " inside a character class");
        out_ += '\\';
        out_ += e;
        ++i_;
        return;
      case 'p':
      case 'P':
        return property(e == 'P');
      case 'x':
        return hex_escape();
      case 'u':
        return unicode_escape();
      default:
        break;
    }
    if (std::isalnum(static_cast<unsigned char>(e))) refuse(std::string("the escape \\") + e);
    // An escaped punctuation or other character: a literal, written so ICU reads it as one.
    size_t k = i_;
    const char32_t ch = utf8_next(p_, k);
    i_ = k;
    if (ch < 0x80) {
      out_ += '\\';
      out_ += char(ch);
    } else {
      out_ += "\\x{" + hex(ch) + "}";
    }
  }

  static std::string hex(char32_t c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%X", unsigned(c));
    return buf;
  }

  void property(bool negated) {
    ++i_;  // p or P
    if (peek() != '{') refuse("a \\p without braces");
    const size_t close = p_.find('}', i_);
    if (close == std::string_view::npos) refuse("an unterminated \\p{");
    std::string name(p_.substr(i_ + 1, close - i_ - 1));
    if (!name.empty() && name[0] == '^') {
      negated = !negated;
      name.erase(0, 1);
    }
    std::string lower;
    for (char ch : name) {
      if (ch != '_' && ch != ' ' && ch != '-') lower += char(std::tolower(static_cast<unsigned char>(ch)));
    }
    // POSIX-style names whose sets differ between Oniguruma and ICU.
    for (const char* differs : {"punct", "graph", "print", "word", "alnum", "blank", "space", "cntrl", "xdigit"}) {
      if (lower == differs) refuse("\\p{" + name + "}");
    }
    for (char ch : name) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != ' ' && ch != '-' && ch != '=') {
        refuse("the property name '" + printable(name) + "'");
      }
    }
    out_ += negated ? "\\P{" : "\\p{";
    out_ += name;
    out_ += '}';
    i_ = close + 1;
  }

  void hex_escape() {
    ++i_;  // x
    std::string digits;
    if (peek() == '{') {
      const size_t close = p_.find('}', i_);
      if (close == std::string_view::npos) refuse("an unterminated \\x{");
      digits = std::string(p_.substr(i_ + 1, close - i_ - 1));
      i_ = close + 1;
    } else {
      while (digits.size() < 2 && is_hex(peek())) digits += p_[i_++];
    }
    if (digits.empty() || digits.size() > 8) refuse("a malformed \\x escape");
    for (char d : digits) {
      if (!is_hex(d)) refuse("a malformed \\x escape");
    }
    out_ += "\\x{" + digits + "}";
  }

  void unicode_escape() {
    ++i_;  // u
    std::string digits;
    while (digits.size() < 4 && is_hex(peek())) digits += p_[i_++];
    if (digits.size() != 4) refuse("a malformed \\u escape");
    out_ += "\\x{" + digits + "}";
  }

  void char_class() {
    out_ += '[';
    ++i_;
    int depth = 1;
    const auto open_set = [&] {
      if (peek() == '^') {
        out_ += '^';
        ++i_;
      }
      if (peek() == ']') refuse("a ']' first in a character class");
    };
    open_set();
    while (depth > 0) {
      if (i_ >= p_.size()) refuse("an unterminated character class");
      const char c = p_[i_];
      if (c == '\\') {
        escape(/*in_class=*/true);
      } else if (c == '[') {
        if (peek(1) == ':') refuse("a POSIX bracket expression");
        ++depth;
        out_ += '[';
        ++i_;
        open_set();
      } else if (c == ']') {
        --depth;
        out_ += ']';
        ++i_;
      } else if (c == '-' && peek(1) == '-') {
        refuse("'--' in a character class");
      } else {
        copy_char();
      }
    }
  }

  void group_open() {
    groups_.push_back(out_.size());
    atom_ = kNone;
    ++i_;  // (
    if (peek() != '?') {
      out_ += '(';
      return;
    }
    const char k = peek(1);
    if (k == ':' || k == '=' || k == '!' || k == '>') {
      out_ += "(?";
      out_ += k;
      i_ += 2;
      return;
    }
    if (k == '<') {
      const char k2 = peek(2);
      if (k2 == '=' || k2 == '!' || std::isalpha(static_cast<unsigned char>(k2))) {
        out_ += "(?<";
        i_ += 2;
        return;
      }
      refuse("the group '(?<" + std::string(1, k2) + "'");
    }
    if (k == '#') {  // a comment, copied to its end
      const size_t close = p_.find(')', i_);
      if (close == std::string_view::npos) refuse("an unterminated comment");
      groups_.pop_back();
      i_ = close + 1;
      return;
    }
    // Options: Ruby's i, m (dot matches newline) and x; m is ICU's s.
    out_ += "(?";
    i_ += 1;
    while (i_ < p_.size() && p_[i_] != ':' && p_[i_] != ')') {
      const char f = p_[i_];
      if (f == 'i' || f == 'x' || f == '-') {
        out_ += f;
      } else if (f == 'm') {
        out_ += 's';
      } else {
        refuse(std::string("the group option '") + f + "'");
      }
      ++i_;
    }
    if (i_ >= p_.size()) refuse("an unterminated group");
    if (p_[i_] == ')') {  // (?i) applies to the rest of the enclosing group: not a group itself
      groups_.pop_back();
      out_ += ')';
      ++i_;
      return;
    }
    out_ += ':';
    ++i_;
  }

  // {n}, {n,}, {n,m} or {,m} at i_; anything else is a literal '{' in Oniguruma.
  void interval() {
    size_t k = i_ + 1;
    std::string lo, hi;
    bool comma = false;
    while (k < p_.size() && std::isdigit(static_cast<unsigned char>(p_[k]))) lo += p_[k++];
    if (k < p_.size() && p_[k] == ',') {
      comma = true;
      ++k;
      while (k < p_.size() && std::isdigit(static_cast<unsigned char>(p_[k]))) hi += p_[k++];
    }
    const bool valid = k < p_.size() && p_[k] == '}' && (!lo.empty() || !hi.empty());
    if (valid && (lo.size() > 5 || hi.size() > 5)) refuse("a repeat count above 99999");
    if (!valid) {
      atom_ = out_.size();
      out_ += "\\{";
      ++i_;
      return;
    }
    if (atom_ == kNone) refuse("an interval with nothing to repeat");
    const std::string quantifier = "{" + (lo.empty() ? std::string("0") : lo) + (comma ? "," + hi : "") + "}";
    const bool fixed = !comma;
    i_ = k + 1;
    const char next = peek();
    if (next == '+' || (next == '?' && fixed)) {
      // Oniguruma repeats the repetition instead of making it possessive (or lazy).
      out_.insert(atom_, "(?:");
      out_ += quantifier + ")" + next;
      ++i_;
      return;
    }
    out_ += quantifier;
  }

  std::string_view p_;
  const std::string& where_;
  size_t i_ = 0;
  std::string out_;
  size_t atom_ = kNone;         // where the last repeatable expression starts in out_
  std::vector<size_t> groups_;  // where each open group starts in out_
};

struct UTextCloser {
  void operator()(UText* t) const { utext_close(t); }
};

}  // namespace

std::string onig_to_icu(std::string_view pattern, const std::string& where) {
  if (utf8_invalid_at(pattern) != std::string_view::npos) fail(where, "regex is not valid UTF-8");
  return Translator(pattern, where).run();
}

OnigRegex::OnigRegex(std::string_view pattern, bool literal, const std::string& where) : where_(where) {
  if (utf8_invalid_at(pattern) != std::string_view::npos) fail(where, "pattern is not valid UTF-8");
  const std::string icu_pattern = literal ? std::string(pattern) : onig_to_icu(pattern, where);
  UParseError parse_error{};
  UErrorCode status = U_ZERO_ERROR;
  const uint32_t flags = literal ? UREGEX_LITERAL : (UREGEX_MULTILINE | UREGEX_UNIX_LINES);
  pattern_.reset(icu::RegexPattern::compile(
      icu::UnicodeString::fromUTF8(icu::StringPiece(icu_pattern.data(), int32_t(icu_pattern.size()))), flags,
      parse_error, status));
  if (U_FAILURE(status) || pattern_ == nullptr) {
    fail(where, "regex '", printable(pattern), "' does not compile: ", u_errorName(status), " (ICU pattern '",
         printable(icu_pattern), "', offset ", parse_error.offset, ")");
  }
}

OnigRegex::~OnigRegex() = default;

std::unique_ptr<OnigRegex> make_pattern(const json& j, const JsonAt& at) {
  require_object(j, at);
  if (j.size() != 1 || (!j.contains("String") && !j.contains("Regex"))) {
    at.fail("expected {\"String\": ...} or {\"Regex\": ...}");
  }
  const bool literal = j.contains("String");
  return std::make_unique<OnigRegex>(get_string(j, at, literal ? "String" : "Regex"), literal,
                                     at.file + ": " + at.path);
}

std::vector<Match> OnigRegex::find_matches(std::string_view text) const {
  if (text.empty()) return {{0, 0, false}};
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<UText, UTextCloser> input(utext_openUTF8(nullptr, text.data(), int64_t(text.size()), &status));
  std::unique_ptr<icu::RegexMatcher> matcher(pattern_->matcher(status));
  if (U_FAILURE(status)) fail(where_, "cannot create a regex matcher: ", u_errorName(status));
  matcher->reset(input.get());
  matcher->setTimeLimit(kMatchTimeLimit, status);

  std::vector<Match> out;
  size_t prev = 0;  // end of the last reported part
  size_t last_end = 0;
  std::optional<size_t> last_match_end;
  while (last_end <= text.size()) {
    const bool found = matcher->find(int64_t(last_end), status);
    if (U_FAILURE(status)) fail(where_, "regex matching failed: ", u_errorName(status));
    if (!found) break;
    const auto s = size_t(matcher->start64(status));
    const auto e = size_t(matcher->end64(status));
    if (s == e && last_match_end == e) {
      last_end += last_end < text.size() ? utf8_length(static_cast<unsigned char>(text[last_end])) : 1;
      continue;
    }
    last_end = e;
    last_match_end = e;
    if (prev != s) out.push_back({prev, s, false});
    out.push_back({s, e, true});
    prev = e;
  }
  if (prev != text.size()) out.push_back({prev, text.size(), false});
  return out;
}

}  // namespace sculpt::hf
