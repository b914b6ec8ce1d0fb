// Unicode word splitting and term normalisation (see text_analyzer.h).
#include "retrieval/text_analyzer.h"

#include <libstemmer.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <cctype>
#include <mutex>
#include <unordered_set>

#include "core/error.h"

namespace sculpt {
namespace {

// A short English list (the classic SMART/Lucene core); enough to keep "the" and "of" from
// dominating posting lists without dropping content words.
const std::unordered_set<std::string>& english_stop_words() {
  static const std::unordered_set<std::string> words = {
      "a",    "an",   "and",  "are",  "as",   "at",    "be",   "but",  "by",   "for",  "if",
      "in",   "into", "is",   "it",   "no",   "not",   "of",   "on",   "or",   "such", "that",
      "the",  "their", "then", "there", "these", "they", "this", "to",  "was",  "will", "with",
      "he",   "she",  "his",  "her",  "had",  "has",   "have", "were", "been", "its",  "from",
      "which", "who", "whom", "we",   "you",  "i",     "me",   "my",   "our",  "so",   "than"};
  return words;
}

bool is_word_char(UChar32 c) {
  return u_isalnum(c) || u_charType(c) == U_NON_SPACING_MARK || u_charType(c) == U_COMBINING_SPACING_MARK;
}

}  // namespace

void AnalyzerParams::validate() const {
  if (!stemming) return;
  sb_stemmer* s = sb_stemmer_new(language.c_str(), "UTF_8");
  if (!s) fail("language", "no Snowball stemmer for '", language, "' (try english, french, german, ...)");
  sb_stemmer_delete(s);
}

std::vector<WordSpan> split_words(std::string_view text) {
  std::vector<WordSpan> words;
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t n = int32_t(text.size());
  int32_t i = 0;
  bool in_word = false;
  size_t start = 0;
  while (i < n) {
    const int32_t at = i;
    UChar32 c;
    if (s[i] < 0x80) {
      c = s[i++];
    } else {
      U8_NEXT(s, i, n, c);  // c < 0 for an ill-formed sequence
    }
    const bool word = c >= 0 && (c < 0x80 ? std::isalnum(int(c)) != 0 : is_word_char(c));
    if (word && !in_word) {
      start = size_t(at);
      in_word = true;
    } else if (!word && in_word) {
      words.push_back({start, size_t(at)});
      in_word = false;
    }
  }
  if (in_word) words.push_back({start, size_t(n)});
  return words;
}

std::string normalize_word(std::string_view word) {
  bool ascii = true;
  for (char ch : word) ascii = ascii && (static_cast<unsigned char>(ch) < 0x80);
  if (ascii) {
    std::string out(word);
    for (char& ch : out) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    return out;
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* fold = icu::Normalizer2::getNFKCCasefoldInstance(status);
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) fail("normalize_word", "ICU normalizers unavailable: ", u_errorName(status));
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(word.data(), int32_t(word.size())));
  icu::UnicodeString folded = nfd->normalize(fold->normalize(u, status), status);
  icu::UnicodeString bare;
  for (int32_t i = 0; i < folded.length();) {
    const UChar32 c = folded.char32At(i);
    if (u_charType(c) != U_NON_SPACING_MARK) bare.append(c);
    i += U16_LENGTH(c);
  }
  icu::UnicodeString composed = nfc->normalize(bare, status);
  if (U_FAILURE(status)) fail("normalize_word", "ICU normalisation failed: ", u_errorName(status));
  std::string out;
  composed.toUTF8String(out);
  return out;
}

// libstemmer's stemmers keep state between calls, so one is shared under a lock.
struct TextAnalyzer::Stemmer {
  std::mutex mutex;
  sb_stemmer* handle = nullptr;
  ~Stemmer() {
    if (handle) sb_stemmer_delete(handle);
  }
};

TextAnalyzer::TextAnalyzer(const AnalyzerParams& params) : params_(params) {
  params_.validate();
  if (params_.stemming) {
    stemmer_ = std::make_unique<Stemmer>();
    stemmer_->handle = sb_stemmer_new(params_.language.c_str(), "UTF_8");
  }
}
TextAnalyzer::~TextAnalyzer() = default;
TextAnalyzer::TextAnalyzer(TextAnalyzer&&) noexcept = default;
TextAnalyzer& TextAnalyzer::operator=(TextAnalyzer&&) noexcept = default;

std::vector<std::string> TextAnalyzer::terms(std::string_view text) const {
  std::vector<std::string> out;
  const auto& stop = english_stop_words();
  std::unique_lock<std::mutex> lock;
  if (stemmer_) lock = std::unique_lock<std::mutex>(stemmer_->mutex);
  for (const WordSpan& w : split_words(text)) {
    std::string term = normalize_word(text.substr(w.start, w.end - w.start));
    if (term.empty() || (params_.stop_words && stop.count(term))) continue;
    if (stemmer_) {
      const sb_symbol* stemmed = sb_stemmer_stem(stemmer_->handle, reinterpret_cast<const sb_symbol*>(term.data()),
                                                 int(term.size()));
      if (stemmed) term.assign(reinterpret_cast<const char*>(stemmed), size_t(sb_stemmer_length(stemmer_->handle)));
    }
    out.push_back(std::move(term));
  }
  return out;
}

}  // namespace sculpt
