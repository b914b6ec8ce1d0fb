// Test embedders: deterministic vectors without a model, so dense retrieval can be checked
// against brute force and run in the shared backend behaviour tests.
#pragma once

#include <string>
#include <vector>

#include "retrieval/embedder.h"
#include "retrieval/text_analyzer.h"

namespace sculpt::testing {

// Bag of words: each analyzed term adds 1 to bucket FNV-1a(term) % dim. Texts sharing rare
// words get high cosine similarity, as with a real lexical model.
class HashingEmbedder : public Embedder {
 public:
  explicit HashingEmbedder(int dim = 512) : dim_(dim), analyzer_(AnalyzerParams{}) {}
  int dim() const override { return dim_; }
  std::string model_id() const override { return "hashing-" + std::to_string(dim_); }
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) const override {
    std::vector<std::vector<float>> out;
    for (const std::string& t : texts) {
      std::vector<float> v(size_t(dim_), 0.0f);
      for (const std::string& term : analyzer_.terms(t)) {
        uint64_t h = 1469598103934665603ull;
        for (unsigned char c : term) h = (h ^ c) * 1099511628211ull;
        v[h % uint64_t(dim_)] += 1.0f;
      }
      out.push_back(std::move(v));
    }
    return out;
  }

 private:
  int dim_;
  TextAnalyzer analyzer_;
};

}  // namespace sculpt::testing
