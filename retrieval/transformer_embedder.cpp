// Mean-pooled transformer embeddings (see embedder.h). The one LibTorch translation unit of
// retrieval: batches of passages, right-padded, with a key mask so padding is never attended to
// (whatever the model's attention mode) and never averaged in.
#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/tokenizer.h"
#include "core/transformer.h"
#include "retrieval/embedder.h"

namespace sculpt {
namespace {

class TransformerEmbedder : public Embedder {
 public:
  TransformerEmbedder(std::string model_dir, Transformer model, Tokenizer tokenizer, int max_tokens)
      : model_dir_(std::move(model_dir)), model_(std::move(model)), tokenizer_(std::move(tokenizer)),
        max_tokens_(max_tokens) {
    model_->eval();
  }

  int dim() const override { return int(model_->config().hidden_size); }
  std::string model_id() const override { return model_dir_; }

  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) const override {
    std::vector<std::vector<TokenId>> ids(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      const std::vector<TokenId> pieces = tokenizer_.encode(texts[i]);
      if (tokenizer_.bos_for_model() >= 0) ids[i].push_back(tokenizer_.bos_for_model());
      for (TokenId p : pieces) {
        if (int64_t(ids[i].size()) >= max_tokens_) break;
        ids[i].push_back(p);
      }
    }
    // Similar lengths share a batch, so little compute goes to padding.
    std::vector<size_t> order(texts.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() < ids[b].size(); });
    std::vector<std::vector<float>> out(texts.size(), std::vector<float>(size_t(dim()), 0.0f));
    at::NoGradGuard no_grad;
    constexpr size_t kBatch = 16;
    for (size_t s = 0; s < order.size(); s += kBatch) {
      const size_t e = std::min(order.size(), s + kBatch);
      int64_t len = 1;
      for (size_t j = s; j < e; ++j) len = std::max<int64_t>(len, int64_t(ids[order[j]].size()));
      const int64_t batch = int64_t(e - s);
      std::vector<int64_t> flat(size_t(batch * len), 0);
      std::vector<uint8_t> flat_valid(size_t(batch * len), 0);
      for (int64_t r = 0; r < batch; ++r) {
        const std::vector<int64_t>& row = ids[order[s + size_t(r)]];
        std::copy(row.begin(), row.end(), flat.begin() + r * len);
        std::fill(flat_valid.begin() + r * len, flat_valid.begin() + r * len + int64_t(row.size()), 1);
      }
      at::Tensor tokens = at::from_blob(flat.data(), {batch, len}, at::kLong).clone();  // [batch, len]
      at::Tensor valid = at::from_blob(flat_valid.data(), {batch, len}, at::kByte).to(at::kBool);  // [batch, len]
      ForwardArgs args;
      args.key_mask = valid;
      at::Tensor hidden = model_->hidden_states(tokens, args);              // [batch, len, hidden]
      at::Tensor w = valid.to(at::kFloat).unsqueeze(-1);                    // [batch, len, 1]
      at::Tensor mean = (hidden * w).sum(1) / w.sum(1).clamp_min(1.0);      // [batch, hidden]
      mean = mean.contiguous();
      const float* data = mean.data_ptr<float>();
      for (int64_t r = 0; r < batch; ++r)
        std::copy(data + r * dim(), data + (r + 1) * dim(), out[order[s + size_t(r)]].begin());
    }
    return out;
  }

 private:
  std::string model_dir_;
  mutable Transformer model_;  // hidden_states() is not const; inference does not change it
  Tokenizer tokenizer_;
  int64_t max_tokens_;
};

}  // namespace

std::unique_ptr<Embedder> load_transformer_embedder(const std::string& model_dir, int max_tokens) {
  if (model_dir.empty()) fail("dense retrieval", "no embedding model: set retrieval.dense.model or pass --model DIR");
  Transformer model = load_transformer(model_dir);
  Tokenizer tokenizer = Tokenizer::load_dir(model_dir);
  if (tokenizer.n_vocab() > model->config().vocab_size)
    fail(model_dir, "tokenizer has ", tokenizer.n_vocab(), " pieces but the model's vocabulary is ",
         model->config().vocab_size);
  const int64_t context = model->config().max_position_embeddings;
  const int64_t limit = max_tokens > 0 ? std::min<int64_t>(max_tokens, context) : context;
  return std::make_unique<TransformerEmbedder>(model_dir, std::move(model), std::move(tokenizer), int(limit));
}

}  // namespace sculpt
