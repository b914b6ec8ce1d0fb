// Drafter: loading, and drafting through a DecodeBatch (decode_batch.h).
#include "ar_draft/drafter.h"

#include "ar_draft/decode_batch.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/fast_decoder_weights.h"
#include "core/lora_merge.h"

namespace sculpt {

Drafter::Drafter(Transformer model, Tokenizer tokenizer) : model_(std::move(model)), tokenizer_(std::move(tokenizer)) {
  const ModelConfig& c = model_->config();
  if (c.attention != AttentionMode::kCausal)  // a diffusion model's logits are no next-token distribution
    fail("drafter", "the drafter needs a causal model, but this ", c.family().name, " model (model_type '",
         c.model_type, "') has ", attention_mode_name(c.attention), " attention: use it as the refiner");
  if (model_->config().vocab_size != tokenizer_.n_vocab())
    fail(tokenizer_.path(), "the tokenizer has ", tokenizer_.n_vocab(), " tokens but the model's vocab_size (config.json) is ",
         model_->config().vocab_size);
  model_->eval();
}

Drafter Drafter::load(const std::string& model_dir, const std::string& adapter_dir, WeightsDType dtype,
                      DecodeBackend backend) {
  Transformer model = load_adapted_transformer(model_dir, adapter_dir, kernels_weights_dtype(model_dir, dtype, backend));
  return Drafter(std::move(model), Tokenizer::load_dir(model_dir));
}

std::vector<DraftResult> Drafter::draft(const std::vector<std::string>& prompts, const DraftParams& params,
                                        const TokenCallback& on_token, DraftStats* stats) {
  std::vector<std::vector<TokenId>> prompt_ids;
  for (const std::string& prompt : prompts) {
    std::vector<TokenId> ids;
    if (tokenizer_.bos_for_model() >= 0) ids.push_back(tokenizer_.bos_for_model());  // as the model's tokenizer does
    const std::vector<TokenId> text = tokenizer_.encode(prompt);
    ids.insert(ids.end(), text.begin(), text.end());
    prompt_ids.push_back(std::move(ids));
  }
  return draft_ids(prompt_ids, params, on_token, stats);
}

std::vector<DraftResult> Drafter::draft_ids(const std::vector<std::vector<TokenId>>& prompt_ids,
                                            const DraftParams& params, const TokenCallback& on_token,
                                            DraftStats* stats, const std::vector<std::vector<TokenId>>& references) {
  DecodeBatch batch(*model_, tokenizer_, prompt_ids, params, references, on_token);
  batch.decode_n_tokens();
  if (stats) *stats = batch.stats();
  return batch.take_results();
}

}  // namespace sculpt
