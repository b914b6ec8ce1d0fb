// A Hugging Face tokenizer.json (the tokenizers library's format, as published on the hub with
// GPT-2, Llama 2/3, Mistral, Qwen2/2.5/3, Gemma and SmolLM), run exactly as the library runs it:
//
//   auto tok = sculpt::HfTokenizer::load("tokenizer.json", "tokenizer_config.json");
//   std::vector<TokenId> ids = tok.encode("Hello, world", /*add_special_tokens=*/true);
//   std::string text = tok.decode(ids, /*skip_special_tokens=*/true);  // "Hello, world"
//
// Supported: BPE models (byte-level, or sentencepiece-style with byte_fallback / unk / fuse_unk,
// ignore_merges, both merge formats); normalizers NFC, NFD, NFKC, NFKD, Lowercase, Replace,
// Prepend, Strip, StripAccents, Nmt, ByteLevel, Sequence; pre-tokenizers ByteLevel, Split,
// Metaspace, Digits, Whitespace, WhitespaceSplit, CharDelimiterSplit, Punctuation, Sequence;
// added tokens with all their flags; post-processors TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel, Sequence; decoders ByteLevel, Metaspace, Replace, ByteFallback,
// Fuse, Strip, WordPiece, BPEDecoder, Sequence. Anything else (WordPiece/Unigram/WordLevel
// models, BPE dropout, BertNormalizer, Precompiled, BertPreTokenizer, UnicodeScripts, CTC,
// truncation, padding, an unknown option or a regex construct ICU would read differently from
// Oniguruma) is refused at load with one line naming the file and the feature.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/token_id.h"

namespace sculpt {

// A loaded tokenizer.json. Immutable after load (a word cache aside, which is locked), so copies
// share one model and may be used from several threads at once.
class HfTokenizer {
 public:
  // The largest tokenizer.json / tokenizer_config.json read (Gemma 3's is 33 MB).
  static constexpr int64_t kMaxFileBytes = int64_t(512) << 20;

  // Loads tokenizer.json (and, when tokenizer_config_path is not empty, reads bos_token /
  // eos_token / pad_token / unk_token names and add_bos_token / add_eos_token from
  // tokenizer_config.json). Throws Error naming the file and the unsupported feature or the
  // malformed part.
  //
  // add_bos_token / add_eos_token, when the config sets either, replace a TemplateProcessing
  // (or Sequence, or absent) post-processor by "[bos] $A [eos]" as transformers'
  // LlamaTokenizerFast.update_post_processor does; a ByteLevel-only post-processor is kept.
  static HfTokenizer load(const std::string& tokenizer_json_path, const std::string& tokenizer_config_path = "");

  // The same from JSON text in memory; `name` stands for the file in error messages.
  static HfTokenizer from_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json = {},
                               const std::string& name = "tokenizer.json");

  // Text to ids; with add_special_tokens the post-processor's template applies (BOS/EOS as the
  // model adds them). Throws Error if the text is not valid UTF-8.
  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens = false) const;

  // Ids to text through the decoder; skip_special_tokens drops special added tokens. An id
  // outside the vocabulary throws Error.
  std::string decode(const std::vector<TokenId>& ids, bool skip_special_tokens = false) const;

  // The bytes id adds to decode(ids, /*skip_special_tokens=*/true) where it stands between
  // other tokens: the decoder chain run on it keeping a part of a character as its bytes (a
  // byte-level token through GPT-2's byte table, "\u2581" as a space, "<0xNN>" as its byte); ""
  // for a special token. An id outside the vocabulary throws Error.
  std::string piece_bytes(TokenId id) const;

  // The ids the post-processor puts before a text's (Llama's BOS; none for Qwen): what
  // encode(text, true) starts with.
  const std::vector<TokenId>& prefix_ids() const;

  std::string id_to_piece(TokenId id) const;          // the vocabulary entry; throws if none
  TokenId piece_to_id(std::string_view piece) const;  // -1 if absent
  int64_t n_vocab() const;                            // largest id + 1, added tokens included
  TokenId bos_id() const;                             // -1 if absent (as the three below)
  TokenId eos_id() const;
  TokenId pad_id() const;
  TokenId unk_id() const;
  bool is_special(TokenId id) const;  // a special added token
  const std::string& path() const;

 private:
  struct Impl;
  static HfTokenizer build(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                           const std::string& name, const std::string& config_name);
  explicit HfTokenizer(std::shared_ptr<const Impl> impl);
  const Impl& impl() const;

  std::shared_ptr<const Impl> impl_;
};

}  // namespace sculpt
