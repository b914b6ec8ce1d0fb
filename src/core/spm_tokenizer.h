// A sentencepiece model (Kudo & Richardson 2018, arXiv:1808.06226), reached through the C shim
// in core/spm_shim, which lives in its own link-map namespace (see spm_tokenizer.cpp). Internal:
// programs use core/tokenizer.h, which reads this format and tokenizer.json alike.
//
//   SpmTokenizer tok = SpmTokenizer::load("models/drafter/tokenizer.model");
//   std::vector<TokenId> ids = tok.encode("Hello, world");   // no BOS/EOS
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/token_id.h"

namespace sculpt {

// A loaded model. Immutable after load, so copies share one model handle (cheap, and safe to
// use from several threads at once).
class SpmTokenizer {
 public:
  // Throws Error naming the path if it is missing or not a valid model, or if the shim cannot
  // be opened.
  static SpmTokenizer load(const std::string& model_path);

  std::vector<TokenId> encode(std::string_view text) const;  // no BOS/EOS
  // Control pieces (BOS, EOS, mask) decode to nothing; an id outside [0, n_vocab()) throws.
  std::string decode(const std::vector<TokenId>& ids) const;
  std::string id_to_piece(TokenId id) const;  // "▁the", "<0x0A>"; out of range throws
  // "▁" as a space, a byte piece as its byte, a control piece as nothing.
  std::string piece_bytes(TokenId id) const;
  // piece_bytes as valid UTF-8: a byte piece that is not a whole character reads as U+FFFD.
  std::string piece_text(TokenId id) const;
  TokenId piece_to_id(std::string_view piece) const;  // -1 if absent
  bool is_control(TokenId id) const;                  // BOS, EOS, a reserved [MASK]; false out of range

  int64_t n_vocab() const;
  TokenId unk_id() const;  // -1 if absent (as the three below)
  TokenId bos_id() const;
  TokenId eos_id() const;
  TokenId pad_id() const;
  const std::string& path() const;

 private:
  struct Model;
  explicit SpmTokenizer(std::shared_ptr<const Model> model);
  const Model& model() const;

  std::shared_ptr<const Model> model_;
};

}  // namespace sculpt
