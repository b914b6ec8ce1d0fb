// The tokenizer of a model, in either format a model directory may hold it: a Hugging Face
// tokenizer.json (byte-level BPE as GPT-2, Llama 3 and Qwen use; sentencepiece-style BPE as
// Llama 2 and Mistral use; core/hf_tokenizer.h) or a sentencepiece tokenizer.model (Kudo &
// Richardson 2018, arXiv:1808.06226; core/spm_tokenizer.h), behind one interface.
//
//   auto tok = sculpt::Tokenizer::load_dir("models/drafter");  // tokenizer.json, else tokenizer.model
//   std::vector<TokenId> ids = tok.encode("Hello, world");     // no BOS/EOS
//   std::string text = tok.decode(ids);                        // == "Hello, world"
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/token_id.h"

namespace sculpt {

enum class TokenizerFormat { kSentencePiece, kHuggingFace };
const char* tokenizer_format_name(TokenizerFormat format);  // "sentencepiece", "tokenizer.json"

// A loaded tokenizer. Immutable after load, so copies share one model (cheap, and safe to use
// from several threads at once).
class Tokenizer {
 public:
  // The mask token of masked-diffusion models (mask_id()): in a sentencepiece model, the control
  // piece kMaskPiece, which tokenizer training reserves by default; in a tokenizer.json, the
  // first of kHfMaskPieces in its vocabulary (Dream's, LLaDA's, BERT's).
  static constexpr std::string_view kMaskPiece = "[MASK]";
  static constexpr std::array<std::string_view, 3> kHfMaskPieces = {"<|mask|>", "<|mdm_mask|>", "[MASK]"};

  // Loads the tokenizer at `path`: a model directory (as load_dir does), a tokenizer.json (a
  // file whose name ends in .json; with the tokenizer_config.json beside it, if there is one),
  // or else a sentencepiece model. Throws Error naming the file and what is wrong with it (for a
  // tokenizer.json, the feature it uses that is not supported).
  static Tokenizer load(const std::string& path);

  // A model directory's tokenizer: <dir>/tokenizer.json (with <dir>/tokenizer_config.json when
  // present) if there is one, else <dir>/tokenizer.model. A directory with neither is an Error
  // naming it and both files.
  static Tokenizer load_dir(const std::string& model_dir);

  // UTF-8 text to ids; no special tokens are added. A tokenizer.json throws Error for text that
  // is not valid UTF-8.
  std::vector<TokenId> encode(std::string_view text) const;

  // The ids the model's own tokenizer gives a text, with the special tokens it adds: what a
  // tokenizer.json's post-processor adds (BOS for Llama 2 and 3, nothing for Qwen), BOS first
  // for a sentencepiece model (as Llama does).
  std::vector<TokenId> encode_with_specials(std::string_view text) const;

  // The id the model's own tokenizer starts every text with, or -1 if it starts texts with none:
  // BOS for Llama 2 and 3 and for sentencepiece models with a BOS piece, -1 for Qwen. Scoring,
  // drafting and the pipeline start their contexts with it.
  TokenId bos_for_model() const;

  // Ids to UTF-8 text; special tokens (BOS, EOS, mask: is_special) decode to nothing. An id
  // outside [0, n_vocab()) throws Error.
  std::string decode(const std::vector<TokenId>& ids) const;

  // The vocabulary entry of id ("▁the", "<0x0A>" in sentencepiece; "Ġthe" in byte-level BPE);
  // out of range throws Error.
  std::string id_to_piece(TokenId id) const;

  // The bytes the token adds to decoded text inside a sentence: "▁" is a space, a byte piece
  // ("<0xC3>") is its byte, a byte-level token is the bytes GPT-2's table maps its characters to
  // (possibly part of a character), a special token is nothing. Concatenated over a text's ids
  // they spell decode(ids), but for the space a sentencepiece-style decoder drops from the
  // start. Out of range throws Error.
  std::string piece_bytes(TokenId id) const;

  // piece_bytes as valid UTF-8: bytes that are not a whole character read as U+FFFD (for text
  // shown on its own, e.g. a refinement step's tokens).
  std::string piece_text(TokenId id) const;

  // The id of a vocabulary entry, or -1 if it is not in the vocabulary.
  TokenId piece_to_id(std::string_view piece) const;

  // A special token: a sentencepiece control piece, or a tokenizer.json added token marked
  // special. decode() leaves them out.
  bool is_special(TokenId id) const;

  int64_t n_vocab() const;  // tokenizer.json: the largest id + 1, added tokens included
  TokenId unk_id() const;   // -1 if absent (as all the special ids below)
  TokenId bos_id() const;   // tokenizer.json: as tokenizer_config.json names it, else bos_for_model()
  TokenId eos_id() const;
  TokenId pad_id() const;
  TokenId mask_id() const;  // see kMaskPiece

  TokenizerFormat format() const;
  // The file the tokenizer was loaded from (tokenizer.model or tokenizer.json).
  const std::string& path() const;

 private:
  struct Model;
  explicit Tokenizer(std::shared_ptr<const Model> model);
  const Model& model() const;

  std::shared_ptr<const Model> model_;
};

// Whether `tokenizer` reads the ids of `base` as `base` does: every id of base is the same piece
// in tokenizer, which may add tokens of its own after them (as Dream adds its mask token to
// Qwen2.5's vocabulary). Then a draft's ids can go to a refiner as they are.
bool vocabulary_extends(const Tokenizer& tokenizer, const Tokenizer& base);

}  // namespace sculpt
