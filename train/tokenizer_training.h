// Training a sentencepiece tokenizer (Kudo & Richardson 2018) for Sculpt's models: `sculpt
// tokenizer train` and the `tokenizer:` section of a training config.
//
//   TokenizerTrainParams params;  params.input_files = {"data/brown.txt"};  params.model_prefix = "build/tok";
//   train_tokenizer(params);   // writes build/tok.model and build/tok.vocab
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace sculpt {

// What train_tokenizer builds. The settings that decide how text is split but are not listed
// here are fixed to the Llama convention, so that other runtimes (llama.cpp, Python
// sentencepiece) tokenize exactly as we do: identity normalisation, spaces kept as they are,
// a dummy "▁" prefix, digits split, whitespace-only pieces allowed, unk=0 bos=1 eos=2, no pad.
struct TokenizerTrainParams {
  enum class ModelType { kBpe, kUnigram };

  std::vector<std::string> input_files;  // plain-text files, one sentence/paragraph per line
  std::string model_prefix;              // writes <prefix>.model and <prefix>.vocab
  int vocab_size = 4096;                 // pieces in the model, special and byte pieces included
  ModelType model_type = ModelType::kBpe;
  bool byte_fallback = true;             // unknown characters become <0xNN> byte pieces
  std::string mask_piece = "[MASK]";     // control symbol for the diffusion refiner ("" = none);
                                         // never produced from text; mask_id() finds only
                                         // this default (Tokenizer::kMaskPiece)
  double character_coverage = 0.9995;    // fraction of characters the model must cover, (0, 1]
  int n_threads = 0;                     // training threads; 0 = hardware concurrency
  int max_sentence_length = 16384;       // bytes; longer lines are skipped
  int64_t input_sentence_size = 0;       // sentences sampled for training; 0 = all
  int64_t seed = 42;                     // seeds the sentence sampling; UINT32_MAX = random

  // Throws Error naming the first bad field and why it is bad.
  void validate_complete() const;

  // YAML fields of a `tokenizer:` section (input_files and model_prefix come from the command line).
  template <class V>
  void visit(V& v) {
    v.field("vocab_size", vocab_size, "pieces in the model, special and byte pieces included", Range{8, 1 << 20});
    v.field("model_type", model_type, "sentencepiece algorithm",
            Choices<ModelType>{{"bpe", ModelType::kBpe}, {"unigram", ModelType::kUnigram}});
    v.field("byte_fallback", byte_fallback, "unknown characters become <0xNN> byte pieces");
    v.field("mask_piece", mask_piece, "control symbol reserved for the refiner; empty = none");
    v.field("character_coverage", character_coverage, "fraction of characters covered", Range{0.98, 1.0});
    v.field("n_threads", n_threads, "training threads; 0 = all cores", Range{0, 128});
    v.field("max_sentence_length", max_sentence_length, "bytes; longer lines are skipped", Range{10, 1 << 30});
    v.field("input_sentence_size", input_sentence_size, "sentences sampled; 0 = all", Range::at_least(0));
    v.field("seed", seed, "sampling seed; 4294967295 = random", Range{0, 4294967295u});
  }

  // The smallest vocab_size validate_complete() accepts: the special, mask and byte pieces plus one.
  int min_vocab_size() const;
};

// Trains and writes <model_prefix>.model/.vocab. Throws Error (with sentencepiece's message
// when training itself fails). Progress logging is limited to warnings, on stderr.
void train_tokenizer(const TokenizerTrainParams& params);

}  // namespace sculpt
