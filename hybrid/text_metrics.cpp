#include "hybrid/text_metrics.h"

#include <cstdint>
#include <set>
#include <unordered_map>

namespace sculpt {
namespace {

bool is_word_byte(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }

// The n-grams of words, joined by a space (no word contains one).
std::vector<std::string> ngrams(const std::vector<std::string>& words, int n) {
  std::vector<std::string> out;
  if (n < 1 || words.size() < size_t(n)) return out;
  for (size_t i = 0; i + size_t(n) <= words.size(); ++i) {
    std::string g = words[i];
    for (size_t j = 1; j < size_t(n); ++j) g += ' ' + words[i + j];
    out.push_back(std::move(g));
  }
  return out;
}

double distinct_share(const std::vector<std::string>& grams) {
  if (grams.empty()) return 0.0;
  return double(std::set<std::string>(grams.begin(), grams.end()).size()) / double(grams.size());
}

}  // namespace

std::vector<std::string> text_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (is_word_byte(c)) {
      word += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : ch;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

double repeated_ngram_rate(const std::vector<std::string>& words, int n) {
  const std::vector<std::string> grams = ngrams(words, n);
  return grams.empty() ? 0.0 : 1.0 - distinct_share(grams);
}

double distinct_ngrams(const std::vector<std::string>& words, int n) { return distinct_share(ngrams(words, n)); }

double token_f1(const std::vector<std::string>& candidate, const std::vector<std::string>& reference) {
  if (candidate.empty() || reference.empty()) return 0.0;
  std::unordered_map<std::string, int> left;
  for (const std::string& w : reference) ++left[w];
  int64_t common = 0;
  for (const std::string& w : candidate) {
    auto it = left.find(w);
    if (it != left.end() && it->second > 0) {
      --it->second;
      ++common;
    }
  }
  if (common == 0) return 0.0;
  const double precision = double(common) / double(candidate.size());
  const double recall = double(common) / double(reference.size());
  return 2 * precision * recall / (precision + recall);
}

}  // namespace sculpt
