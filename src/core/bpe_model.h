// The BPE model of tokenizer.json (Sennrich et al. 2016, arXiv:1508.07909), as the tokenizers
// library runs it (models/bpe/model.rs and word.rs): a word starts as one symbol per character
// (or its <0xNN> bytes with byte_fallback, or the unk token), then the adjacent pair with the
// lowest merge rank is merged, leftmost first, until no pair has a merge.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/hf_json.h"
#include "core/token_id.h"

namespace sculpt::hf {

class BpeModel {
 public:
  // Ids are at most this (the library's ids are u32; a denser bound keeps a lying file from
  // driving the id table's allocation).
  static constexpr TokenId kMaxId = (TokenId(1) << 24) - 1;

  // The "model" object of tokenizer.json. Throws Error for another model type (WordPiece,
  // Unigram, WordLevel are not supported), dropout > 0 (random), or a malformed vocabulary or
  // merge list (a merge whose parts or result are not in the vocabulary, as the library refuses).
  static std::unique_ptr<BpeModel> from_json(const json& j, const JsonAt& at);

  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // BPE::tokenize: appends the ids of one pre-tokenized word (nothing for an empty word).
  // Throws Error if the word needs the unk token and it is not in the vocabulary.
  void tokenize(std::string_view word, std::vector<TokenId>& out) const;

  TokenId token_to_id(std::string_view token) const;  // -1 if absent
  const std::string* id_to_token(TokenId id) const;   // null if absent
  size_t n_entries() const { return vocab_.size(); }  // BPE::get_vocab_size
  TokenId max_id() const { return TokenId(vocab_r_.size()) - 1; }
  const std::optional<std::string>& unk_token() const { return unk_token_; }

 private:
  BpeModel() = default;
  void load_vocab(const json& j, const JsonAt& at);
  void load_merges(const json& j, const JsonAt& at);
  void add_merge(const std::string& a, const std::string& b, uint32_t rank, const JsonAt& at);
  std::vector<TokenId> merge_word(std::string_view word) const;

  struct MergeValue {
    uint32_t rank;
    uint32_t new_id;
  };
  static uint64_t pair_key(TokenId a, TokenId b) { return uint64_t(a) << 32 | uint64_t(b); }

  std::vector<std::string> vocab_r_;                     // [max_id + 1] the token of each id
  std::vector<bool> present_;                            // [max_id + 1] whether the id has a token
  std::unordered_map<std::string_view, TokenId> vocab_;  // keys view into vocab_r_
  std::unordered_map<uint64_t, MergeValue> merges_;      // (left id, right id) -> rank, merged id
  std::array<TokenId, 256> byte_ids_{};                  // "<0xNN>" ids for byte_fallback, -1 absent

  std::string where_;  // the file, for errors while encoding
  std::optional<std::string> unk_token_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;

  // Words shorter than 256 bytes, as the library caches them (first 10000 only).
  static constexpr size_t kCacheCapacity = 10000;
  static constexpr size_t kCacheMaxLength = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<TokenId>> cache_;
};

}  // namespace sculpt::hf
