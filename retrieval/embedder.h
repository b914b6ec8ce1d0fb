// Text into vectors for dense retrieval. The interface is torch-free so a dense index can be
// tested with a fake embedder; TransformerEmbedder (transformer_embedder.cpp) is the real one:
// the mean of a checkpoint's final hidden states over the passage's tokens.
//
//   std::unique_ptr<Embedder> e = load_transformer_embedder("models/drafter", 256);
//   std::vector<std::vector<float>> v = e->embed({"a passage", "another"});  // [2][dim]
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sculpt {

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual int dim() const = 0;
  // One vector of dim() floats per text (not necessarily unit length). Thread-safe.
  virtual std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) const = 0;
  // What produced the vectors (a model directory); saved with the index, used to reload.
  virtual std::string model_id() const = 0;
};

// Loads <model_dir>/config.json, model.safetensors and its tokenizer (tokenizer.json or
// tokenizer.model). Texts are cut to `max_tokens` tokens (BOS included where the model's
// tokenizer adds one; 0 = the model's context); the embedding is the mean of the
// final hidden states (after the last norm) over those tokens. Throws Error naming the folder.
std::unique_ptr<Embedder> load_transformer_embedder(const std::string& model_dir, int max_tokens);

}  // namespace sculpt
