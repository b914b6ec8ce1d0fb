// The added tokens of tokenizer.json (tokenizers/src/tokenizer/added_vocabulary.rs): special and
// other tokens recognised in the text before the model sees it, and never split. Tokens with
// "normalized": false are found in the raw text first; the rest of the text is then normalized
// piece by piece and the "normalized": true tokens are found in that. Matching is
// leftmost-longest; single_word, lstrip and rstrip apply as in AddedVocabulary::find_matches.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/hf_json.h"
#include "core/hf_text.h"
#include "core/token_id.h"

namespace sculpt::hf {

class BpeModel;
class Normalizer;

struct AddedToken {
  std::string content;
  bool single_word = false;  // only where no word character touches it on either side
  bool lstrip = false;       // swallows the white space before it
  bool rstrip = false;       // swallows the white space after it
  bool normalized = true;    // matched in the normalized text (else in the raw text)
  bool special = false;      // skipped by decode(skip_special_tokens)
};

// Leftmost-longest matching over a set of strings (daachorse's MatchKind::LeftmostLongest).
class TokenTrie {
 public:
  void insert(std::string_view s, TokenId id);
  bool empty() const { return values_.size() <= 1; }
  // The longest string starting at text[pos], as (length, id); length 0 if none.
  std::pair<size_t, TokenId> longest_at(std::string_view text, size_t pos) const;

 private:
  std::unordered_map<uint64_t, uint32_t> children_;  // (node << 8 | byte) -> child node
  std::vector<TokenId> values_{-1};                  // [node] the id ending there, -1 none
};

class AddedVocabulary {
 public:
  // Reads the "added_tokens" array and gives each token its id as AddedVocabulary::add_tokens
  // does: the id its content already has (added or model vocabulary), else the next free one.
  void load(const json& j, const JsonAt& at, const BpeModel& model, const Normalizer* normalizer);

  // AddedVocabulary::extract_and_normalize: the text cut into added tokens (id >= 0) and
  // normalized pieces still to be pre-tokenized. Empty pieces are dropped.
  std::vector<Piece> extract_and_normalize(std::string_view text, const Normalizer* normalizer) const;

  TokenId token_to_id(std::string_view content) const;  // -1 if not an added token
  const AddedToken* token(TokenId id) const;            // null if not an added token
  // The string decode() gives the decoder: the normalized content for normalized tokens.
  const std::string* decode_string(TokenId id) const;
  bool is_special_content(std::string_view s) const { return special_.count(std::string(s)) > 0; }
  TokenId max_id() const { return max_id_; }

 private:
  std::vector<Piece> split_with_indices(const NormalizedText& t, const TokenTrie& trie) const;

  std::unordered_map<std::string, TokenId> by_content_;
  std::unordered_map<TokenId, AddedToken> by_id_;
  std::unordered_map<TokenId, std::string> normalized_content_;  // only where it differs
  std::unordered_set<std::string> special_;
  TokenTrie raw_trie_;         // "normalized": false tokens
  TokenTrie normalized_trie_;  // "normalized": true tokens, by normalized content
  TokenId max_id_ = -1;
};

}  // namespace sculpt::hf
