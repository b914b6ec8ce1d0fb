// Repeated n-grams: brute force over the region, which is one section of a draft (a few hundred
// tokens), so a map would cost more than it saves.
#include "diffusion_refine/ngram_repeats.h"

#include <algorithm>
#include <map>

namespace sculpt {
namespace {

// Whether the n-grams starting at a and at b are equal.
bool same_ngram(const std::vector<int64_t>& t, int64_t a, int64_t b, int n) {
  for (int64_t k = 0; k < n; ++k)
    if (t[size_t(a + k)] != t[size_t(b + k)]) return false;
  return true;
}

}  // namespace

std::vector<uint8_t> repeated_ngram_ends(const std::vector<int64_t>& tokens, int n) {
  std::vector<uint8_t> ends(tokens.size(), 0);
  if (n < 1) return ends;
  std::map<std::vector<int64_t>, bool> seen;
  for (size_t i = size_t(n) - 1; i < tokens.size(); ++i) {
    std::vector<int64_t> gram(tokens.begin() + long(i + 1 - size_t(n)), tokens.begin() + long(i + 1));
    ends[i] = !seen.emplace(std::move(gram), true).second;
  }
  return ends;
}

std::vector<int64_t> NgramRegion::banned_at(int64_t i) const {
  std::vector<int64_t> out;
  if (n < 1) return out;
  auto known_except_i = [&](int64_t start) {
    for (int64_t p = start; p < start + n; ++p)
      if (p != i && !known[size_t(p)]) return false;
    return true;
  };
  // Every window s = [s, s + n) that holds i (at offset k) against every other window o of the
  // region: writing c at i makes them equal only with c = the token at o + k (never i itself,
  // as o != s), and then every other offset must agree too; o may overlap i ("b ? b", n = 2).
  for (int64_t k = 0; k < n; ++k) {
    const int64_t s = i - k;
    if (s < begin || s + n > end || !known_except_i(s)) continue;
    for (int64_t o = begin; o + n <= end; ++o) {
      if (o == s || !known_except_i(o)) continue;
      const int64_t c = tokens[size_t(o + k)];
      auto at = [&](int64_t p) { return p == i ? c : tokens[size_t(p)]; };
      bool equal = true;
      for (int64_t m = 0; m < n && equal; ++m) equal = at(s + m) == at(o + m);
      if (equal) out.push_back(c);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool NgramRegion::repeats_at(int64_t i) const {
  if (n < 1 || !known[size_t(i)]) return false;
  auto known_all = [&](int64_t start) {
    for (int64_t k = 0; k < n; ++k)
      if (!known[size_t(start + k)]) return false;
    return true;
  };
  for (int64_t s = std::max(begin, i - n + 1); s <= i && s + n <= end; ++s) {
    if (!known_all(s)) continue;
    for (int64_t o = begin; o + n <= end; ++o)
      if (o != s && known_all(o) && same_ngram(tokens, o, s, n)) return true;
  }
  return false;
}

}  // namespace sculpt
