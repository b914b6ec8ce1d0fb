// Carrying a draft's scores across tokenizations by byte offsets; see token_alignment.h.
#include "hybrid/token_alignment.h"

#include <algorithm>

#include "core/error.h"
#include "hybrid/text_spans.h"

namespace sculpt {
namespace {

// [begin, end) of each token, a token without bytes taking the range of the next one that has
// some (the token that completes its character); trailing empty tokens keep their empty range.
std::vector<std::pair<size_t, size_t>> ranges_of(const std::vector<size_t>& ends) {
  std::vector<std::pair<size_t, size_t>> out(ends.size());
  for (size_t i = 0; i < ends.size(); ++i) out[i] = {i == 0 ? 0 : ends[i - 1], ends[i]};
  for (size_t i = ends.size(); i-- > 1;)
    if (out[i - 1].first == out[i - 1].second) out[i - 1] = {out[i - 1].first, out[i].second};
  return out;
}

}  // namespace

std::vector<size_t> token_ends(const std::string& text, int64_t n, const std::function<std::string(int64_t)>& spell) {
  std::vector<size_t> ends;
  size_t last = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::string s = spell(i);
    const size_t common = size_t(std::mismatch(text.begin(), text.begin() + long(std::min(text.size(), s.size())),
                                               s.begin()).first - text.begin());
    last = std::max(last, common);
    ends.push_back(last);
  }
  if (!ends.empty()) ends.back() = text.size();
  return ends;
}

std::vector<size_t> token_ends(const std::string& text, const Tokenizer& tokenizer, const std::vector<TokenId>& ids,
                               const std::function<std::string(int64_t)>& spell) {
  const std::string spelled = spelling_of(tokenizer, ids);
  const size_t skip = spelled.size() == text.size() + 1 && spelled.compare(0, 1, " ") == 0 ? 1 : 0;
  if (spelled.compare(skip, std::string::npos, text) != 0) return token_ends(text, int64_t(ids.size()), spell);
  std::vector<size_t> ends;
  size_t at = 0;
  for (TokenId id : ids) {
    at += tokenizer.piece_bytes(id).size();
    ends.push_back(char_floor(text, at > skip ? at - skip : 0));
  }
  if (!ends.empty()) ends.back() = text.size();
  return ends;
}

std::vector<std::string> token_texts(const std::string& text, const std::vector<size_t>& ends) {
  std::vector<std::string> out;
  size_t begin = 0;
  for (size_t e : ends) {
    e = std::clamp(e, begin, text.size());
    out.push_back(text.substr(begin, e - begin));
    begin = e;
  }
  return out;
}

CarriedScores carry_scores(const std::vector<size_t>& from, const std::vector<float>& logprobs,
                           const std::vector<float>& entropies, const std::vector<size_t>& to) {
  if (logprobs.size() != from.size() || entropies.size() != from.size())
    fail("carry_scores", from.size(), " drafter tokens but ", logprobs.size(), " log-probabilities and ",
         entropies.size(), " entropies");
  const auto f = ranges_of(from), t = ranges_of(to);
  CarriedScores out;
  out.logprobs.assign(to.size(), 0.0f);
  out.entropies.assign(to.size(), 0.0f);
  // Both lists are ordered by position: walk them together, each refiner token meeting the
  // drafter tokens that reach into it.
  size_t first = 0;  // the first drafter token that ends after the current refiner token begins
  for (size_t j = 0; j < t.size(); ++j) {
    const auto [b, e] = t[j];
    if (e <= b) continue;
    while (first < f.size() && f[first].second <= b) ++first;
    for (size_t i = first; i < f.size() && f[i].first < e; ++i) {
      if (f[i].second <= f[i].first || f[i].second <= b) continue;
      out.logprobs[j] = std::min(out.logprobs[j], logprobs[i]);
      out.entropies[j] = std::max(out.entropies[j], entropies[i]);
    }
  }
  return out;
}

}  // namespace sculpt
