// tokenizer.json normalizers (see hf_normalizers.h). Each cites the tokenizers source it follows.
#include "core/hf_normalizers.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <vector>

#include "core/byte_level.h"
#include "core/hf_regex.h"

namespace sculpt::hf {
namespace {

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string to_utf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

// NFC, NFD, NFKC, NFKD (normalizers/unicode.rs). The text is normalized one normalization
// segment at a time (segments never interact); every byte a segment becomes takes the origin of
// the segment's first character, as the alignments of a recomposed or decomposed character do.
class UnicodeNormalizer : public Normalizer {
 public:
  enum Form { kNFC, kNFD, kNFKC, kNFKD };
  explicit UnicodeNormalizer(Form form, const JsonAt& at) {
    UErrorCode status = U_ZERO_ERROR;
    switch (form) {
      case kNFC:
        n_ = icu::Normalizer2::getNFCInstance(status);
        break;
      case kNFD:
        n_ = icu::Normalizer2::getNFDInstance(status);
        break;
      case kNFKC:
        n_ = icu::Normalizer2::getNFKCInstance(status);
        break;
      case kNFKD:
        n_ = icu::Normalizer2::getNFKDInstance(status);
        break;
    }
    if (U_FAILURE(status)) at.fail("ICU normalizer unavailable: ", u_errorName(status));
  }

  void normalize(NormalizedText& t) const override {
    if (is_ascii(t.text)) return;  // ASCII is unchanged by all four forms
    UErrorCode status = U_ZERO_ERROR;
    const icu::UnicodeString whole =
        icu::UnicodeString::fromUTF8(icu::StringPiece(t.text.data(), int32_t(t.text.size())));
    const int32_t normalized_units = n_->spanQuickCheckYes(whole, status);
    if (U_FAILURE(status)) fail("normalizer", "ICU quick check failed: ", u_errorName(status));
    if (normalized_units == whole.length()) return;
    const size_t keep = utf8_offset_of(t.text, normalized_units);  // a boundary by contract

    NormalizedText out;
    out.shift = t.shift;
    out.text.reserve(t.text.size() + 16);
    out.text.assign(t.text, 0, keep);
    out.origin.assign(t.origin.begin(), t.origin.begin() + long(keep));
    size_t begin = keep;
    for (size_t i = keep; i < t.text.size();) {
      size_t next = i;
      const char32_t c = utf8_next(t.text, next);
      if (i > begin && n_->hasBoundaryBefore(UChar32(c))) {
        append_segment(t, begin, i, out);
        begin = i;
      }
      i = next;
    }
    append_segment(t, begin, t.text.size(), out);
    t = std::move(out);
  }

 private:
  // The byte offset of UTF-16 unit `units` in the UTF-8 text s.
  static size_t utf8_offset_of(std::string_view s, int32_t units) {
    size_t i = 0;
    for (int32_t u = 0; u < units && i < s.size();) u += utf8_next(s, i) >= 0x10000 ? 2 : 1;
    return i;
  }

  void append_segment(const NormalizedText& t, size_t begin, size_t end, NormalizedText& out) const {
    if (begin == end) return;
    UErrorCode status = U_ZERO_ERROR;
    const icu::UnicodeString segment =
        icu::UnicodeString::fromUTF8(icu::StringPiece(t.text.data() + begin, int32_t(end - begin)));
    const std::string normalized = to_utf8(n_->normalize(segment, status));
    if (U_FAILURE(status)) fail("normalizer", "ICU normalization failed: ", u_errorName(status));
    append(out, normalized, t.origin[begin]);
  }

  const icu::Normalizer2* n_ = nullptr;
};

// Lowercase (normalizers/utils.rs): char::to_lowercase on each character, the full mapping
// without context (so 'Σ' is always 'σ', and 'İ' becomes "i̇").
class Lowercase : public Normalizer {
 public:
  void normalize(NormalizedText& t) const override {
    NormalizedText out;
    out.shift = t.shift;
    out.text.reserve(t.text.size());
    out.origin.reserve(t.text.size());
    std::string buf;
    for (size_t i = 0; i < t.text.size();) {
      const size_t at = i;
      const char32_t c = utf8_next(t.text, i);
      buf.clear();
      if (c == 0x130) {
        buf = "i\xCC\x87";  // the one unconditional multi-character lowercase mapping
      } else {
        utf8_append(buf, char32_t(u_tolower(UChar32(c))));
      }
      append(out, buf, t.origin[at]);
    }
    t = std::move(out);
  }
};

// Replace (normalizers/replace.rs, NormalizedString::replace): every match of the pattern
// becomes `content`; the new characters take the alignment of the last byte they replace.
class Replace : public Normalizer {
 public:
  Replace(const json& j, const JsonAt& at) {
    check_keys(j, at, {"type", "pattern", "content"});
    regex_ = make_pattern(member(j, at, "pattern"), at["pattern"]);
    content_ = get_string(j, at, "content");
  }

  void normalize(NormalizedText& t) const override {
    const std::vector<Match> matches = regex_->find_matches(t.text);
    NormalizedText out;
    out.shift = t.shift;
    out.text.reserve(t.text.size());
    for (const Match& m : matches) {
      if (!m.is_match) {
        out.text.append(t.text, m.begin, m.end - m.begin);
        out.origin.insert(out.origin.end(), t.origin.begin() + long(m.begin), t.origin.begin() + long(m.end));
      } else {
        append(out, content_, m.end == 0 ? t.shift : t.origin[m.end - 1]);
      }
    }
    t = std::move(out);
  }

 private:
  std::unique_ptr<OnigRegex> regex_;
  std::string content_;
};

// Prepend (normalizers/prepend.rs): the text gains a prefix unless it is empty.
class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(NormalizedText& t) const override {
    if (t.text.empty()) return;
    t.text.insert(0, prefix_);
    t.origin.insert(t.origin.begin(), prefix_.size(), t.origin.front());
  }

 private:
  std::string prefix_;
};

// Strip (normalizers/strip.rs, NormalizedString::lrstrip): leading and/or trailing White_Space.
class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormalizedText& t) const override {
    size_t begin = 0;
    size_t end = t.text.size();
    if (left_) {
      while (begin < end) {
        size_t next = begin;
        if (!is_white_space(utf8_next(t.text, next))) break;
        begin = next;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(t.text[start]) & 0xC0) == 0x80) --start;
        size_t next = start;
        if (!is_white_space(utf8_next(t.text, next))) break;
        end = start;
      }
    }
    if (begin == 0 && end == t.text.size()) return;
    t.text = t.text.substr(begin, end - begin);
    t.origin = std::vector<uint32_t>(t.origin.begin() + long(begin), t.origin.begin() + long(end));
  }

 private:
  bool left_, right_;
};

// Keeps the characters `keep` accepts, each mapped through `map` (NormalizedString::filter/map).
template <class Keep, class Map>
void filter_map(NormalizedText& t, Keep&& keep, Map&& map) {
  NormalizedText out;
  out.shift = t.shift;
  std::string buf;
  for (size_t i = 0; i < t.text.size();) {
    const size_t at = i;
    const char32_t c = utf8_next(t.text, i);
    if (!keep(c)) continue;
    buf.clear();
    utf8_append(buf, map(c));
    append(out, buf, t.origin[at]);
  }
  t = std::move(out);
}

// StripAccents (normalizers/strip.rs): drops combining marks (general category M).
class StripAccents : public Normalizer {
 public:
  void normalize(NormalizedText& t) const override {
    filter_map(
        t, [](char32_t c) { return (U_GET_GC_MASK(UChar32(c)) & U_GC_M_MASK) == 0; }, [](char32_t c) { return c; });
  }
};

// Nmt (normalizers/unicode.rs, do_nmt): drops control characters, turns other spaces into ' '.
class Nmt : public Normalizer {
 public:
  void normalize(NormalizedText& t) const override {
    filter_map(
        t,
        [](char32_t c) {
          return !((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F ||
                   c == 0x9F);
        },
        [](char32_t c) -> char32_t {
          const bool space = c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x1680 ||
                             (c >= 0x200B && c <= 0x200F) || c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF ||
                             c == 0xFFFD;
          return space ? U' ' : c;
        });
  }
};

// ByteLevel as a normalizer (normalizers/byte_level.rs): each byte becomes its GPT-2 character.
class ByteLevelNormalizer : public Normalizer {
 public:
  void normalize(NormalizedText& t) const override {
    NormalizedText out;
    out.shift = t.shift;
    for (size_t i = 0; i < t.text.size();) {
      const size_t at = i;
      utf8_next(t.text, i);
      append(out, byte_level_encode(std::string_view(t.text).substr(at, i - at)), t.origin[at]);
    }
    t = std::move(out);
  }
};

// Sequence (normalizers/utils.rs): each normalizer in turn.
class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(NormalizedText& t) const override {
    for (const auto& p : parts_) p->normalize(t);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const json& j, const JsonAt& at) {
  const std::string type = component_type(j, at);
  const auto no_options = [&] { check_keys(j, at, {"type"}); };
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    no_options();
    const auto form = type == "NFC"    ? UnicodeNormalizer::kNFC
                      : type == "NFD"  ? UnicodeNormalizer::kNFD
                      : type == "NFKC" ? UnicodeNormalizer::kNFKC
                                       : UnicodeNormalizer::kNFKD;
    return std::make_unique<UnicodeNormalizer>(form, at);
  }
  if (type == "Lowercase") return no_options(), std::make_unique<Lowercase>();
  if (type == "StripAccents") return no_options(), std::make_unique<StripAccents>();
  if (type == "Nmt") return no_options(), std::make_unique<Nmt>();
  if (type == "ByteLevel") return no_options(), std::make_unique<ByteLevelNormalizer>();
  if (type == "Replace") return std::make_unique<Replace>(j, at);
  if (type == "Prepend") {
    check_keys(j, at, {"type", "prepend"});
    return std::make_unique<Prepend>(get_string(j, at, "prepend"));
  }
  if (type == "Strip") {
    check_keys(j, at, {"type", "strip_left", "strip_right"});
    return std::make_unique<Strip>(get_bool(j, at, "strip_left"), get_bool(j, at, "strip_right"));
  }
  if (type == "Sequence") {
    check_keys(j, at, {"type", "normalizers"});
    const json& list = member(j, at, "normalizers");
    if (!list.is_array()) at["normalizers"].fail("expected an array, found ", json_kind(list));
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list.size(); ++i) parts.push_back(make_normalizer(list[i], at["normalizers"][i]));
    return std::make_unique<Sequence>(std::move(parts));
  }
  at["type"].unsupported(type,
                         "supported normalizers: NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip, "
                         "StripAccents, Nmt, ByteLevel, Sequence");
}

}  // namespace sculpt::hf
