// Word corruption and its scoring; see word_corruption.h.
#include "hybrid/word_corruption.h"

#include <algorithm>
#include <cctype>
#include <random>

#include "core/error.h"

namespace sculpt {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Which indices of `a` the longest common subsequence of a and b matches (ties: the standard
// back-trace preferring to skip in b).
std::vector<uint8_t> matched(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::vector<uint8_t> out(n, 0);
  for (size_t i = 0, j = 0; i < n && j < m;) {
    if (a[i] == b[j]) out[i++] = 1, ++j;
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) ++i;
    else ++j;
  }
  return out;
}

}  // namespace

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && is_space(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

Corruption corrupt_words(const std::string& text, double share, const std::vector<std::string>& vocabulary,
                         uint64_t seed) {
  if (vocabulary.empty()) fail("corrupt_words", "the vocabulary of replacement words is empty");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::uniform_int_distribution<size_t> pick(0, vocabulary.size() - 1);
  Corruption c;
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    const size_t word_end = i;
    while (i < text.size() && is_space(text[i])) ++i;
    const std::string word = text.substr(start, word_end - start), gap = text.substr(word_end, i - word_end);
    if (word.empty() || u(rng) >= share) {
      c.text += word + gap;
      continue;
    }
    const double kind = u(rng);
    if (kind < 1.0 / 3) {
      c.text += vocabulary[pick(rng)] + gap;
      ++c.n_replaced;
    } else if (kind < 2.0 / 3) {  // the word and the space after it go; the space before stays
      ++c.n_deleted;
    } else {
      c.text += vocabulary[pick(rng)] + " " + word + gap;
      ++c.n_inserted;
    }
  }
  return c;
}

FixScore& FixScore::operator+=(const FixScore& o) {
  n_words += o.n_words;
  n_corrupted += o.n_corrupted;
  n_restored += o.n_restored;
  n_damaged += o.n_damaged;
  n_spurious_before += o.n_spurious_before;
  n_spurious_after += o.n_spurious_after;
  return *this;
}

FixScore score_fix(const std::string& original, const std::string& corrupted, const std::string& fixed) {
  const std::vector<std::string> o = split_words(original), c = split_words(corrupted), f = split_words(fixed);
  const std::vector<uint8_t> in_corrupted = matched(o, c), in_fixed = matched(o, f);
  FixScore s;
  s.n_words = int64_t(o.size());
  int64_t kept_c = 0, kept_f = 0;
  for (size_t i = 0; i < o.size(); ++i) {
    kept_c += in_corrupted[i];
    kept_f += in_fixed[i];
    if (!in_corrupted[i]) {
      ++s.n_corrupted;
      s.n_restored += in_fixed[i];
    } else if (!in_fixed[i]) {
      ++s.n_damaged;
    }
  }
  s.n_spurious_before = int64_t(c.size()) - kept_c;
  s.n_spurious_after = int64_t(f.size()) - kept_f;
  return s;
}

}  // namespace sculpt
