// The tokenizer: a sentencepiece model (Kudo & Richardson 2018, arXiv:1808.06226), loaded
// through a shim kept in its own link-map namespace so that sentencepiece's bundled protobuf
// never meets LibTorch's (see tokenizer.cpp). Training one is train/tokenizer_training.h.
//
//   auto tok = sculpt::Tokenizer::load("tok.model");
//   std::vector<TokenId> ids = tok.encode("Hello, world");   // no BOS/EOS
//   std::string text = tok.decode(ids);                      // == "Hello, world"
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/token_id.h"

namespace sculpt {

// A loaded sentencepiece model. Immutable after load, so copies share one model handle (cheap,
// and safe to use from several threads at once).
class Tokenizer {
 public:
  // The piece mask_id() looks up; tokenizer training reserves it by default.
  static constexpr std::string_view kMaskPiece = "[MASK]";

  // Loads <model_path>. Throws Error naming the path if it is missing or not a valid model, or
  // if the sentencepiece shim cannot be opened.
  static Tokenizer load(const std::string& model_path);

  // UTF-8 text to ids; no BOS/EOS are added.
  std::vector<TokenId> encode(std::string_view text) const;

  // Ids to UTF-8 text; control pieces (BOS, EOS, mask) decode to nothing. An id outside
  // [0, n_vocab()) throws Error.
  std::string decode(const std::vector<TokenId>& ids) const;

  // The vocabulary entry of id (e.g. "▁the", "<0x0A>", "[MASK]"); out of range throws Error.
  std::string id_to_piece(TokenId id) const;

  // The bytes the token adds to decoded text inside a sentence: "▁" is a space, a byte piece
  // ("<0xC3>") is its byte (possibly part of a character), a control piece (BOS, EOS, mask) is
  // nothing. Out of range throws Error.
  std::string piece_bytes(TokenId id) const;

  // piece_bytes as valid UTF-8: a byte piece that is not a whole character reads as U+FFFD
  // (for text shown on its own, e.g. a refinement step's tokens).
  std::string piece_text(TokenId id) const;

  // The id of a vocabulary entry, or -1 if it is not in the vocabulary.
  TokenId piece_to_id(std::string_view piece) const;

  int64_t n_vocab() const;
  TokenId unk_id() const;   // -1 if absent (as all the special ids below)
  TokenId bos_id() const;
  TokenId eos_id() const;
  TokenId pad_id() const;
  TokenId mask_id() const;  // the control piece kMaskPiece

  // The path the model was loaded from.
  const std::string& path() const;

 private:
  struct Model;
  explicit Tokenizer(std::shared_ptr<const Model> model);
  const Model& model() const;

  std::shared_ptr<const Model> model_;
};

}  // namespace sculpt
