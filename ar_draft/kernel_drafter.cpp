// Drafting on the CPU kernels without LibTorch; see kernel_drafter.h.
#include "ar_draft/kernel_drafter.h"

#include <chrono>
#include <utility>
#include <vector>

#include "ar_draft/draft_text.h"
#include "core/error.h"
#include "core/log.h"
#include "core/sampler.h"
#include "kernels/fast_decoder.h"

namespace sculpt {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool refuse(std::string* why_not, const std::string& why) {
  if (why_not) *why_not = why;
  return false;
}

}  // namespace

bool KernelDrafter::serves(const DraftParams& p, std::string* why_not) {
  if (!p.use_cache) return refuse(why_not, "decoding without the cache is LibTorch's");
  if (p.backend != DecodeBackend::kAuto) return refuse(why_not, "the libtorch backend was asked for");
  if (p.copy.weight > 0) return refuse(why_not, "copying from passages");
  if (p.ban) return refuse(why_not, "banned phrases");
  return true;
}

KernelDrafter::KernelDrafter(ModelConfig config, std::shared_ptr<const SafetensorsFile> file, FastDecoderModel model,
                             Tokenizer tokenizer)
    : config_(std::move(config)), file_(std::move(file)), model_(std::move(model)), tokenizer_(std::move(tokenizer)) {}

std::optional<KernelDrafter> KernelDrafter::open(const std::string& model_dir, std::string* why_not) {
  try {
    ModelConfig config = load_model_config(model_dir + "/config.json");
    if (config.attention != AttentionMode::kCausal) return refuse(why_not, "the model is not causal"), std::nullopt;
    // Before the weights are read: a model left to the main program is read there, once.
    if (!fast_decoder_computes(config, why_not)) return std::nullopt;
    // Read, not mapped: the decoder computes from these bytes in place (SafetensorsFile::Residency).
    auto file = std::make_shared<const SafetensorsFile>(
        SafetensorsFile::open(model_dir + "/model.safetensors", SafetensorsFile::Residency::kLoaded));
    StoredTensors tensors;
    for (const TensorInfo& t : file->tensors()) tensors[t.name] = {t.dtype, t.shape, file->data(t)};
    std::optional<FastDecoderModel> model = fast_decoder_layout(config, std::move(tensors), why_not);
    if (!model) return std::nullopt;
    // The Drafter's loader refuses int8 tensors without the config's quantization_config, and
    // the reverse; it reports them.
    if ((model->weights.matrix_type == WeightType::kInt8) != (config.int8_group_size > 0))
      return refuse(why_not, "int8 weights and config.json's quantization_config disagree"), std::nullopt;
    Tokenizer tokenizer = Tokenizer::load_dir(model_dir);
    if (tokenizer.n_vocab() != config.vocab_size)
      return refuse(why_not, "the tokenizer's vocabulary and the model's differ"), std::nullopt;
    return KernelDrafter(std::move(config), std::move(file), std::move(*model), std::move(tokenizer));
  } catch (const Error& e) {
    refuse(why_not, e.what());
    return std::nullopt;
  }
}

DraftResult KernelDrafter::draft(const std::string& prompt, const DraftParams& params, const TokenCallback& on_token,
                                 DraftStats* stats) {
  std::string why_not;
  if (!serves(params, &why_not)) fail("draft", "the kernel drafter does not serve this request: ", why_not);
  TokenSampler sampler(params.sampler);
  DraftResult out;
  std::vector<TokenId>& ids = out.prompt_ids;
  if (tokenizer_.bos_for_model() >= 0) ids.push_back(tokenizer_.bos_for_model());  // as the model's tokenizer does
  const std::vector<TokenId> text_ids = tokenizer_.encode(prompt);
  ids.insert(ids.end(), text_ids.begin(), text_ids.end());
  const int64_t n_prompt = int64_t(ids.size()), context = config_.max_position_embeddings;
  if (n_prompt == 0) fail("prompt 0", "has no tokens (not even BOS): nothing to continue");
  if (n_prompt >= context)
    fail("prompt 0", n_prompt, " tokens do not fit the model's context of ", context,
         " (leave room for at least one new token)");
  int64_t max_tokens = params.max_tokens;
  if (n_prompt + max_tokens > context) {
    log_warning(str_cat("max_tokens ", max_tokens, " clamped to ", context - n_prompt, " to fit the context of ",
                        context, " tokens"));
    max_tokens = context - n_prompt;
  }

  DraftStats st;
  st.fast_decoder = true;
  st.n_prompt_tokens = n_prompt;
  const auto prefill_start = Clock::now();
  FastDecoder decoder(model_.shape, model_.weights, /*batch=*/1, /*capacity=*/n_prompt + max_tokens);
  std::vector<int64_t> positions(static_cast<size_t>(n_prompt));
  for (int64_t i = 0; i < n_prompt; ++i) positions[size_t(i)] = i;
  std::vector<float> logits(static_cast<size_t>(config_.vocab_size));
  decoder.forward(ids.data(), positions.data(), n_prompt, nullptr, logits.data());
  st.n_forward = 1;
  st.prefill_seconds = seconds_since(prefill_start);

  const auto decode_start = Clock::now();
  DraftText text(tokenizer_, out.prompt_ids);
  std::vector<TokenId> row = ids;  // the prompt, then every drawn token: the penalty's context
  for (int64_t step = 0;; ++step) {
    const SampledToken t = sampler.sample(logits.data(), config_.vocab_size, row);
    row.push_back(t.id);
    if (params.stop_at_eos && t.id == tokenizer_.eos_id()) {
      out.stop_reason = StopReason::kEos;
      break;
    }
    const DraftToken token{t.id, t.logprob, t.entropy};
    out.tokens.push_back(token);
    ++st.n_generated;
    const std::string added = text.extend(row, params.stop);
    out.text = text.text();
    if (text.stopped()) out.stop_reason = StopReason::kStopString;
    if (on_token) on_token(0, token, added);
    if (text.stopped()) break;
    if (step + 1 == max_tokens) {
      out.stop_reason = max_tokens < params.max_tokens ? StopReason::kContext : StopReason::kMaxTokens;
      break;
    }
    const int64_t position = n_prompt + step;
    decoder.forward(&t.id, &position, 1, nullptr, logits.data());
    ++st.n_forward;
  }
  st.decode_seconds = seconds_since(decode_start);
  if (stats) *stats = st;
  return out;
}

}  // namespace sculpt
