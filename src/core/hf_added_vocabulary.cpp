// Added tokens (see hf_added_vocabulary.h).
#include "core/hf_added_vocabulary.h"

#include <algorithm>

#include "core/bpe_model.h"
#include "core/hf_normalizers.h"

namespace sculpt::hf {
namespace {

// The character before text[end] (text valid UTF-8, end > 0).
char32_t char_before(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return utf8_next(text, start);
}

// Where the run of White_Space ending at `end` begins (regex \s*$ on text[..end]).
size_t white_space_run_before(std::string_view text, size_t end) {
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t i = start;
    if (!is_white_space(utf8_next(text, i))) break;
    end = start;
  }
  return end;
}

// Where the run of White_Space starting at `begin` ends (regex ^\s* on text[begin..]).
size_t white_space_run_after(std::string_view text, size_t begin) {
  while (begin < text.size()) {
    size_t i = begin;
    if (!is_white_space(utf8_next(text, i))) break;
    begin = i;
  }
  return begin;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TokenTrie

void TokenTrie::insert(std::string_view s, TokenId id) {
  uint32_t node = 0;
  for (char c : s) {
    const uint64_t key = uint64_t(node) << 8 | static_cast<unsigned char>(c);
    const auto it = children_.find(key);
    if (it != children_.end()) {
      node = it->second;
    } else {
      const auto child = uint32_t(values_.size());
      values_.push_back(-1);
      children_.emplace(key, child);
      node = child;
    }
  }
  values_[node] = id;
}

std::pair<size_t, TokenId> TokenTrie::longest_at(std::string_view text, size_t pos) const {
  std::pair<size_t, TokenId> best{0, -1};
  uint32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto it = children_.find(uint64_t(node) << 8 | static_cast<unsigned char>(text[i]));
    if (it == children_.end()) break;
    node = it->second;
    if (values_[node] >= 0) best = {i + 1 - pos, values_[node]};
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// AddedVocabulary

void AddedVocabulary::load(const json& j, const JsonAt& at, const BpeModel& model, const Normalizer* normalizer) {
  if (!j.is_array()) at.fail("expected an array, found ", json_kind(j));
  // The first free id: the model's vocabulary size (its number of entries, as the library counts).
  TokenId next_id = TokenId(model.n_entries());
  for (size_t i = 0; i < j.size(); ++i) {
    const JsonAt here = at[i];
    const json& t = require_object(j[i], here);
    check_keys(t, here, {"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"});
    AddedToken token;
    token.content = get_string(t, here, "content");
    token.single_word = get_bool(t, here, "single_word");
    token.lstrip = get_bool(t, here, "lstrip");
    token.rstrip = get_bool(t, here, "rstrip");
    token.normalized = get_bool(t, here, "normalized");
    token.special = get_bool(t, here, "special");
    get_uint(member(t, here, "id"), here["id"], uint64_t(BpeModel::kMaxId));  // checked, then ignored
    if (token.content.empty()) continue;                                      // the library ignores empty tokens
    if (utf8_invalid_at(token.content) != std::string::npos) here["content"].fail("is not valid UTF-8");

    // The library gives the token the id its content already has, not the "id" written here
    // (it only warns when they differ).
    TokenId id = token_to_id(token.content);
    if (id < 0) id = model.token_to_id(token.content);
    if (id < 0) id = next_id++;
    if (id > BpeModel::kMaxId) here.fail("too many added tokens");
    if (token.normalized && normalizer != nullptr) {
      NormalizedText n = make_normalized(token.content);
      normalizer->normalize(n);
      if (n.text != token.content) normalized_content_[id] = n.text;
    }
    by_content_[token.content] = id;
    if (token.special) special_.insert(token.content);
    by_id_[id] = token;
    max_id_ = std::max(max_id_, id);
  }
  for (const auto& [id, token] : by_id_) {
    if (!token.normalized) {
      raw_trie_.insert(token.content, id);
    } else {
      const auto n = normalized_content_.find(id);
      normalized_trie_.insert(n != normalized_content_.end() ? n->second : token.content, id);
    }
  }
}

TokenId AddedVocabulary::token_to_id(std::string_view content) const {
  const auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? -1 : it->second;
}

const AddedToken* AddedVocabulary::token(TokenId id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

const std::string* AddedVocabulary::decode_string(TokenId id) const {
  const auto n = normalized_content_.find(id);
  if (n != normalized_content_.end()) return &n->second;
  const AddedToken* t = token(id);
  return t ? &t->content : nullptr;
}

// split_with_indices over find_matches: the pieces of t, the added tokens among them with ids.
std::vector<Piece> AddedVocabulary::split_with_indices(const NormalizedText& t, const TokenTrie& trie) const {
  const std::string& s = t.text;
  std::vector<Piece> out;
  if (trie.empty() || s.empty()) {
    out.push_back({slice(t, 0, s.size()), -1});
    return out;
  }
  size_t start_offset = 0;  // end of the previous split
  for (size_t pos = 0; pos < s.size();) {
    const auto [length, id] = trie.longest_at(s, pos);
    if (length == 0) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t stop = pos + length;
    pos = stop;  // the automaton resumes after the match, whatever happens to it below
    const AddedToken& token = by_id_.at(id);
    if (token.single_word) {
      const bool start_space = start == 0 || !is_word_char(char_before(s, start));
      size_t k = stop;
      const bool stop_space = stop == s.size() || !is_word_char(utf8_next(s, k));
      if (!start_space || !stop_space) continue;
    }
    if (token.lstrip) start = std::max(white_space_run_before(s, start), start_offset);
    if (token.rstrip) stop = white_space_run_after(s, stop);
    if (start_offset < start) out.push_back({slice(t, start_offset, start), -1});
    out.push_back({slice(t, start, stop), id});
    start_offset = stop;
  }
  if (start_offset != s.size()) out.push_back({slice(t, start_offset, s.size()), -1});
  return out;
}

std::vector<Piece> AddedVocabulary::extract_and_normalize(std::string_view text, const Normalizer* normalizer) const {
  // 1. Tokens that are not normalized, in the raw text.
  std::vector<Piece> first;
  for (Piece& p : split_with_indices(make_normalized(text), raw_trie_)) {
    if (!p.text.text.empty()) first.push_back(std::move(p));
  }
  // 2. Each remaining piece normalized, then the normalized tokens in it.
  std::vector<Piece> out;
  out.reserve(first.size());
  for (Piece& p : first) {
    if (p.id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    if (normalizer != nullptr) normalizer->normalize(p.text);
    for (Piece& q : split_with_indices(p.text, normalized_trie_)) {
      if (!q.text.text.empty()) out.push_back(std::move(q));
    }
  }
  return out;
}

}  // namespace sculpt::hf
