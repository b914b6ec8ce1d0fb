// tokenizer.json pre-tokenizers (see hf_pre_tokenizers.h). Each cites the tokenizers source it
// follows.
#include "core/hf_pre_tokenizers.h"

#include "core/byte_level.h"
#include "core/hf_regex.h"

namespace sculpt::hf {
namespace {

// PreTokenizedString::split: every piece that is not an added token is replaced by f(piece),
// empty results dropped.
template <class F>
void split_pieces(std::vector<Piece>& pieces, F&& f) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (Piece& p : pieces) {
    if (p.id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    for (NormalizedText& t : f(p.text)) {
      if (!t.text.empty()) out.push_back({std::move(t), -1});
    }
  }
  pieces = std::move(out);
}

// NormalizedString::prepend: the new characters share the first character's alignment.
void prepend(NormalizedText& t, std::string_view prefix) {
  if (t.text.empty()) return;
  t.text.insert(0, prefix);
  t.origin.insert(t.origin.begin(), prefix.size(), t.origin.front());
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// ByteLevel (pre_tokenizers/byte_level.rs): an optional leading space, GPT-2's regex, then every
// byte as its printable character. trim_offsets only moves offsets, which are not reported.
class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(const json& j, const JsonAt& at) {
    check_keys(j, at, {"type", "add_prefix_space", "trim_offsets", "use_regex"});
    add_prefix_space_ = get_bool(j, at, "add_prefix_space");
    get_bool_or(j, at, "trim_offsets", true);
    if (get_bool_or(j, at, "use_regex", true)) regex_ = std::make_unique<OnigRegex>(kGpt2Pattern, false, at.file);
  }

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](NormalizedText t) {
      if (add_prefix_space_ && !starts_with(t.text, " ")) prepend(t, " ");
      if (!regex_) return std::vector<NormalizedText>{std::move(t)};
      return split_by_matches(t, regex_->find_matches(t.text), SplitBehavior::kIsolated);
    });
    for (Piece& p : pieces) {
      if (p.id < 0) p.text = to_byte_level(p.text);
    }
  }

 private:
  static NormalizedText to_byte_level(const NormalizedText& t) {
    NormalizedText out;
    out.shift = t.shift;
    out.text.reserve(t.text.size() * 2);
    out.origin.reserve(t.text.size() * 2);
    for (size_t i = 0; i < t.text.size();) {
      const size_t at = i;
      utf8_next(t.text, i);
      append(out, byte_level_encode(std::string_view(t.text).substr(at, i - at)), t.origin[at]);
    }
    return out;
  }

  bool add_prefix_space_ = false;
  std::unique_ptr<OnigRegex> regex_;  // null when use_regex is false
};

// Split (pre_tokenizers/split.rs): cut at the pattern's matches (or, inverted, its non-matches).
class Split : public PreTokenizer {
 public:
  Split(const json& j, const JsonAt& at) {
    check_keys(j, at, {"type", "pattern", "behavior", "invert"});
    regex_ = make_pattern(member(j, at, "pattern"), at["pattern"]);
    behavior_ = parse_split_behavior(member(j, at, "behavior"), at["behavior"]);
    invert_ = get_bool(j, at, "invert");
  }

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](const NormalizedText& t) {
      std::vector<Match> matches = regex_->find_matches(t.text);
      if (invert_) {
        for (Match& m : matches) m.is_match = !m.is_match;
      }
      return split_by_matches(t, std::move(matches), behavior_);
    });
  }

 private:
  std::unique_ptr<OnigRegex> regex_;
  SplitBehavior behavior_ = SplitBehavior::kIsolated;
  bool invert_ = false;
};

// Metaspace (pre_tokenizers/metaspace.rs): spaces become the replacement character, which is
// prepended (always; only to the piece that starts the input, for "first"; or never), then
// the text is cut before each replacement character.
class Metaspace : public PreTokenizer {
 public:
  enum class Prepend { kFirst, kNever, kAlways };

  Metaspace(const json& j, const JsonAt& at) {
    check_keys(j, at, {"type", "replacement", "add_prefix_space", "prepend_scheme", "split", "str_rep"});
    replacement_ = get_char(j, at, "replacement");
    utf8_append(replacement_utf8_, replacement_);
    scheme_ = Prepend::kAlways;
    if (j.contains("prepend_scheme")) {
      const std::string s = get_string(j, at, "prepend_scheme");
      if (s == "first") {
        scheme_ = Prepend::kFirst;
      } else if (s == "never") {
        scheme_ = Prepend::kNever;
      } else if (s != "always") {
        at["prepend_scheme"].unsupported(s, "expected first, always or never");
      }
    }
    if (!get_bool_or(j, at, "add_prefix_space", true)) {
      if (scheme_ != Prepend::kNever) at["add_prefix_space"].fail("false does not match prepend_scheme");
    }
    split_ = get_bool_or(j, at, "split", true);
  }

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](const NormalizedText& in) {
      NormalizedText t = replace_spaces(in);
      const bool prepend_here = scheme_ == Prepend::kAlways || (scheme_ == Prepend::kFirst && t.shift == 0);
      if (prepend_here && !starts_with(t.text, replacement_utf8_)) prepend(t, replacement_utf8_);
      if (!split_) return std::vector<NormalizedText>{std::move(t)};
      const char32_t r = replacement_;
      return split_by_matches(t, find_char_matches(t.text, [r](char32_t c) { return c == r; }),
                              SplitBehavior::kMergedWithNext);
    });
  }

 private:
  NormalizedText replace_spaces(const NormalizedText& t) const {
    if (t.text.find(' ') == std::string::npos) return t;
    NormalizedText out;
    out.shift = t.shift;
    for (size_t i = 0; i < t.text.size(); ++i) {
      if (t.text[i] == ' ') {
        append(out, replacement_utf8_, t.origin[i]);
      } else {
        out.text += t.text[i];
        out.origin.push_back(t.origin[i]);
      }
    }
    return out;
  }

  char32_t replacement_ = U'\u2581';
  std::string replacement_utf8_;
  Prepend scheme_ = Prepend::kAlways;
  bool split_ = true;
};

// Cuts at each character `pred` accepts, under `behavior` (Digits, WhitespaceSplit,
// CharDelimiterSplit and Punctuation are all this).
template <class Pred>
class CharSplit : public PreTokenizer {
 public:
  CharSplit(Pred pred, SplitBehavior behavior) : pred_(std::move(pred)), behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [&](const NormalizedText& t) {
      return split_by_matches(t, find_char_matches(t.text, pred_), behavior_);
    });
  }

 private:
  Pred pred_;
  SplitBehavior behavior_;
};

template <class Pred>
std::unique_ptr<PreTokenizer> char_split(Pred pred, SplitBehavior behavior) {
  return std::make_unique<CharSplit<Pred>>(std::move(pred), behavior);
}

// Whitespace (pre_tokenizers/whitespace.rs): the matches of \w+|[^\w\s]+ are kept and the rest
// removed, i.e. maximal runs of word characters and of other non-space characters.
class Whitespace : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, [](const NormalizedText& t) {
      std::vector<NormalizedText> out;
      size_t run_begin = 0;
      int run_kind = 0;  // 0 white space (removed), 1 word characters, 2 other characters
      for (size_t i = 0; i < t.text.size();) {
        const size_t at = i;
        const char32_t c = utf8_next(t.text, i);
        const int kind = is_word_char(c) ? 1 : is_white_space(c) ? 0 : 2;
        if (kind == run_kind) continue;
        if (run_kind != 0) out.push_back(slice(t, run_begin, at));
        run_begin = at;
        run_kind = kind;
      }
      if (run_kind != 0) out.push_back(slice(t, run_begin, t.text.size()));
      return out;
    });
  }
};

// Sequence (pre_tokenizers/sequence.rs): each pre-tokenizer in turn.
class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

SplitBehavior parse_split_behavior(const json& j, const JsonAt& at) {
  if (!j.is_string()) at.fail("expected a string, found ", json_kind(j));
  const std::string s = j.get<std::string>();
  if (s == "Removed") return SplitBehavior::kRemoved;
  if (s == "Isolated") return SplitBehavior::kIsolated;
  if (s == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (s == "Contiguous") return SplitBehavior::kContiguous;
  at.unsupported(s, "expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const JsonAt& at) {
  const std::string type = component_type(j, at);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>(j, at);
  if (type == "Split") return std::make_unique<Split>(j, at);
  if (type == "Metaspace") return std::make_unique<Metaspace>(j, at);
  if (type == "Digits") {
    check_keys(j, at, {"type", "individual_digits"});
    const bool individual = get_bool(j, at, "individual_digits");
    return char_split([](char32_t c) { return is_numeric(c); },
                      individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }
  if (type == "Whitespace") {
    check_keys(j, at, {"type"});
    return std::make_unique<Whitespace>();
  }
  if (type == "WhitespaceSplit") {
    check_keys(j, at, {"type"});
    return char_split([](char32_t c) { return is_white_space(c); }, SplitBehavior::kRemoved);
  }
  if (type == "CharDelimiterSplit") {
    check_keys(j, at, {"type", "delimiter"});
    const char32_t delimiter = get_char(j, at, "delimiter");
    return char_split([delimiter](char32_t c) { return c == delimiter; }, SplitBehavior::kRemoved);
  }
  if (type == "Punctuation") {
    check_keys(j, at, {"type", "behavior"});
    const SplitBehavior behavior =
        j.contains("behavior") ? parse_split_behavior(j["behavior"], at["behavior"]) : SplitBehavior::kIsolated;
    return char_split([](char32_t c) { return is_punctuation(c); }, behavior);
  }
  if (type == "Sequence") {
    check_keys(j, at, {"type", "pretokenizers"});
    const json& list = member(j, at, "pretokenizers");
    if (!list.is_array()) at["pretokenizers"].fail("expected an array, found ", json_kind(list));
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list.size(); ++i) parts.push_back(make_pre_tokenizer(list[i], at["pretokenizers"][i]));
    return std::make_unique<Sequence>(std::move(parts));
  }
  at["type"].unsupported(type,
                         "supported pre-tokenizers: ByteLevel, Split, Metaspace, Digits, Whitespace, "
                         "WhitespaceSplit, CharDelimiterSplit, Punctuation, Sequence");
}

}  // namespace sculpt::hf
