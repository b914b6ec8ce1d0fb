// Forbidden phrases enforced token by token; see phrase_ban.h.
#include "core/phrase_ban.h"

#include <algorithm>

#include "core/error.h"

namespace sculpt {
namespace {

std::string fold(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// Whether a token's bytes can be part of an occurrence of `phrase`: the token holds the phrase,
// sits inside it, or overlaps its start or its end.
bool can_touch(const std::string& piece, const std::string& phrase) {
  if (piece.empty()) return false;
  if (piece.find(phrase) != std::string::npos || phrase.find(piece) != std::string::npos) return true;
  const size_t n = std::min(piece.size(), phrase.size());
  for (size_t k = 1; k < n; ++k) {
    if (piece.compare(piece.size() - k, k, phrase, 0, k) == 0) return true;  // piece's end starts the phrase
    if (piece.compare(0, k, phrase, phrase.size() - k, k) == 0) return true;  // piece's start ends the phrase
  }
  return false;
}

}  // namespace

PhraseBan::PhraseBan(const Tokenizer& tokenizer, const std::vector<std::string>& phrases) : tokenizer_(tokenizer) {
  for (size_t i = 0; i < phrases.size(); ++i) {
    if (phrases[i].empty()) fail(str_cat("forbid[", i, "]"), "is empty: a forbidden phrase needs at least one character");
    if (std::find(phrases_.begin(), phrases_.end(), phrases[i]) != phrases_.end()) continue;
    phrases_.push_back(phrases[i]);
    folded_.push_back(fold(phrases[i]));
    longest_ = std::max(longest_, phrases[i].size());
  }
  if (phrases_.empty()) return;
  for (TokenId id = 0; id < tokenizer.n_vocab(); ++id) {
    std::string piece = fold(tokenizer.piece_bytes(id));
    if (std::any_of(folded_.begin(), folded_.end(), [&](const std::string& p) { return can_touch(piece, p); }))
      candidates_.emplace_back(id, std::move(piece));
  }
}

bool PhraseBan::completes(const std::string& left, const std::string& piece, const std::string& right) const {
  const std::string joined = left + piece + right;
  // An occurrence counts if it overlaps the token's bytes [left.size(), left.size() + piece.size()).
  for (const std::string& p : folded_) {
    const size_t first = left.size() + 1 > p.size() ? left.size() + 1 - p.size() : 0;
    const size_t at = joined.find(p, first);
    if (at != std::string::npos && at < left.size() + piece.size()) return true;
  }
  return false;
}

std::vector<TokenId> PhraseBan::banned_between(std::string_view left, std::string_view right) const {
  std::vector<TokenId> out;
  if (phrases_.empty()) return out;
  const std::string l = fold(left.substr(left.size() - std::min(left.size(), context_bytes())));
  const std::string r = fold(right.substr(0, std::min(right.size(), context_bytes())));
  for (const auto& [id, piece] : candidates_)
    if (completes(l, piece, r)) out.push_back(id);
  return out;
}

bool PhraseBan::bans(TokenId id, std::string_view left, std::string_view right) const {
  const auto it = std::lower_bound(candidates_.begin(), candidates_.end(), id,
                                   [](const auto& c, TokenId x) { return c.first < x; });
  if (it == candidates_.end() || it->first != id) return false;
  return completes(fold(left.substr(left.size() - std::min(left.size(), context_bytes()))), it->second,
                   fold(right.substr(0, std::min(right.size(), context_bytes()))));
}

std::pair<std::string, std::string> PhraseBan::sides(const std::vector<TokenId>& x, const std::vector<uint8_t>& written,
                                                    int64_t i) const {
  const size_t keep = context_bytes();
  const int64_t n = int64_t(x.size());
  std::string left, right;
  for (int64_t j = i - 1; j >= 0 && left.size() < keep && (j >= int64_t(written.size()) || written[size_t(j)]); --j)
    left.insert(0, tokenizer_.piece_bytes(x[size_t(j)]));
  for (int64_t j = i + 1; j < n && right.size() < keep && (j >= int64_t(written.size()) || written[size_t(j)]); ++j)
    right += tokenizer_.piece_bytes(x[size_t(j)]);
  return {std::move(left), std::move(right)};
}

std::vector<TokenId> PhraseBan::banned_at(const std::vector<TokenId>& x, const std::vector<uint8_t>& written,
                                          int64_t i) const {
  if (phrases_.empty()) return {};
  const auto [left, right] = sides(x, written, i);
  return banned_between(left, right);
}

bool PhraseBan::bans_at(const std::vector<TokenId>& x, const std::vector<uint8_t>& written, int64_t i, TokenId id) const {
  if (phrases_.empty()) return false;
  const auto [left, right] = sides(x, written, i);
  return bans(id, left, right);
}

std::optional<PhraseBan::Match> PhraseBan::find_in(std::string_view text) const {
  const std::string t = fold(text);
  std::optional<Match> best;
  for (size_t i = 0; i < folded_.size(); ++i) {
    const size_t at = t.find(folded_[i]);
    if (at != std::string::npos && (!best || at < best->at)) best = Match{phrases_[i], at};
  }
  return best;
}

}  // namespace sculpt
