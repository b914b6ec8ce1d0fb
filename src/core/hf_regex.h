// The regular expressions of tokenizer.json (Split and Replace patterns), run by ICU the way the
// tokenizers library runs them with Oniguruma (utils/onig.rs: onig::Regex::new, the Oniguruma
// syntax, UTF-8). ICU's engine has the constructs published patterns use (\p{L}, \p{N},
// possessive quantifiers, lookahead); where the two dialects read the same text differently the
// pattern is translated, and what cannot be translated faithfully is refused at load:
//   \s, \S       Oniguruma: White_Space (incl. U+000B, U+0085); ICU: [\t\n\f\r\p{Z}]
//   \h, \H, \v   Oniguruma: hex digit, its complement, U+000B; ICU: horizontal/vertical space
//   X{n,m}+      Oniguruma: (?:X{n,m})+ (no possessive intervals); ICU: possessive
//   X{n}?        Oniguruma: (?:X{n})? (fixed intervals are greedy only); ICU: lazy
//   {,n}         Oniguruma: {0,n}
//   (?m)         Oniguruma (Ruby options): dot matches newline, i.e. ICU's (?s)
//   ^ $ .        line-based, with only \n ending a line: ICU's MULTILINE and UNIX_LINES
//   refused      \b \B (ICU ignores marks), \G \K \R \X \N \O \y \Y \g \k \Q, backreferences
//                and octal escapes, (?~ (?( (?' callouts, \p{Punct|Graph|Print}, POSIX
//                brackets, set difference "--" and a ']' first in a class.
#pragma once

#include <unicode/uversion.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/hf_json.h"
#include "core/hf_text.h"

U_NAMESPACE_BEGIN
class RegexPattern;
U_NAMESPACE_END

namespace sculpt::hf {

// An Oniguruma pattern rewritten for ICU (see above). Throws Error at `where` for constructs
// it cannot translate faithfully.
std::string onig_to_icu(std::string_view pattern, const std::string& where);

class OnigRegex {
 public:
  // A "Regex" pattern (literal == false) or a "String" pattern matched literally. Throws Error
  // at `where` if the pattern is refused or does not compile.
  OnigRegex(std::string_view pattern, bool literal, const std::string& where);
  ~OnigRegex();
  OnigRegex(const OnigRegex&) = delete;
  OnigRegex& operator=(const OnigRegex&) = delete;

  // Pattern::find_matches for SysRegex: the text cut into matched and unmatched parts, the
  // matches found as onig's find_iter finds them (leftmost-first from the end of the previous
  // match; an empty match right at the end of the previous one is skipped by one character).
  // Throws Error if matching exceeds ICU's work limit (a pathological pattern).
  std::vector<Match> find_matches(std::string_view text) const;

  const std::string& where() const { return where_; }

 private:
  std::unique_ptr<icu::RegexPattern> pattern_;
  std::string where_;
};

// The {"String": "..."} or {"Regex": "..."} pattern of Split and Replace (tokenizers'
// SplitPattern / ReplacePattern) at `at`.
std::unique_ptr<OnigRegex> make_pattern(const json& j, const JsonAt& at);

}  // namespace sculpt::hf
