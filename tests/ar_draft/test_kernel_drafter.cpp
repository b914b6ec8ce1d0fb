// The drafter without LibTorch (ar_draft/kernel_drafter.h) against the Drafter (ar_draft/drafter.h)
// on the shipped drafter as stored, in bfloat16 and in int8, greedy and sampled: the same tokens, log-probabilities,
// entropies, text and stop reason, token for token. And what it leaves to the Drafter: requests
// it does not serve, and models it does not compute as the Drafter would (refused, not misread).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "ar_draft/drafter.h"
#include "ar_draft/kernel_drafter.h"
#include "core/checkpoint.h"
#include "core/safetensors.h"
#include "core/tokenizer_files.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

const std::string kDrafter = SCULPT_SOURCE_DIR "/models/drafter";

DraftParams greedy(int max_tokens) {
  DraftParams p;
  p.max_tokens = max_tokens;
  p.sampler.temperature = 0;
  return p;
}

// A seeded sampled draft with every filter on.
DraftParams sampled(int max_tokens, int64_t seed) {
  DraftParams p;
  p.max_tokens = max_tokens;
  p.stop_at_eos = false;
  p.sampler.temperature = 0.9;
  p.sampler.top_k = 200;
  p.sampler.top_p = 0.95;
  p.sampler.min_p = 0.01;
  p.sampler.repetition_penalty = 1.1;
  p.sampler.seed = seed;
  return p;
}

// The Drafter and the KernelDrafter on `model_dir` draft `prompt` alike under `params`; returns
// why the draft stopped.
StopReason expect_same_drafts(const std::string& model_dir, const std::string& prompt, const DraftParams& params) {
  SCOPED_TRACE(model_dir + ": '" + prompt + "'");
  Drafter drafter = Drafter::load(model_dir);
  std::string why_not;
  std::optional<KernelDrafter> kernel = KernelDrafter::open(model_dir, &why_not);
  if (!kernel) ADD_FAILURE() << why_not;
  if (!kernel) return StopReason::kMaxTokens;
  DraftStats want_stats, got_stats;
  std::string want_stream, got_stream;
  const DraftResult want = drafter.draft({prompt}, params, [&](int64_t, const DraftToken&, const std::string& text) {
    want_stream += text;
  }, &want_stats)[0];
  const DraftResult got = kernel->draft(prompt, params, [&](int64_t row, const DraftToken&, const std::string& text) {
    EXPECT_EQ(row, 0);
    got_stream += text;
  }, &got_stats);
  EXPECT_TRUE(want_stats.fast_decoder);
  EXPECT_EQ(got.prompt_ids, want.prompt_ids);
  EXPECT_EQ(got.tokens.size(), want.tokens.size());
  for (size_t i = 0; i < std::min(got.tokens.size(), want.tokens.size()); ++i) {
    EXPECT_EQ(got.tokens[i].id, want.tokens[i].id) << "token " << i;
    EXPECT_EQ(got.tokens[i].logprob, want.tokens[i].logprob) << "token " << i;
    EXPECT_EQ(got.tokens[i].entropy, want.tokens[i].entropy) << "token " << i;
  }
  EXPECT_EQ(got.text, want.text);
  EXPECT_EQ(got_stream, want_stream);
  EXPECT_EQ(stop_reason_name(got.stop_reason), std::string(stop_reason_name(want.stop_reason)));
  EXPECT_EQ(got_stats.n_forward, want_stats.n_forward);
  EXPECT_EQ(got_stats.n_generated, want_stats.n_generated);
  EXPECT_EQ(got_stats.n_prompt_tokens, want_stats.n_prompt_tokens);
  return want.stop_reason;
}

// Each way a draft ends: max_tokens, a stop string (with the repetition penalty on), EOS, and
// max_tokens clamped to the context.
TEST(KernelDrafterTest, DraftsWhatTheDrafterDraftsOnTheShippedModel) {
  DraftParams plain = greedy(96);
  plain.stop_at_eos = false;
  DraftParams stopping = greedy(96);
  stopping.stop = {"."};
  stopping.sampler.repetition_penalty = 1.3;
  EXPECT_EQ(expect_same_drafts(kDrafter, "The jury said that the election", plain), StopReason::kMaxTokens);
  EXPECT_EQ(expect_same_drafts(kDrafter, "It was", stopping), StopReason::kStopString);
  DraftParams penalized = greedy(200);
  penalized.sampler.repetition_penalty = 1.5;  // the shipped drafter's greedy drafts otherwise run on
  EXPECT_EQ(expect_same_drafts(kDrafter, "He said", penalized), StopReason::kEos);
  EXPECT_EQ(expect_same_drafts(kDrafter, "The", greedy(600)), StopReason::kContext);  // the context is 512
}

// Seeded drafts: the defaults of `sculpt draft` (temperature 0.8, no filter) and every filter on,
// at two seeds whose drafts differ.
TEST(KernelDrafterTest, DrawsWhatTheDrafterDrawsWithTheSameSeed) {
  DraftParams defaults;
  defaults.max_tokens = 128;
  defaults.stop_at_eos = false;
  expect_same_drafts(kDrafter, "The jury said that the election", defaults);
  expect_same_drafts(kDrafter, "It was", sampled(128, 1));
  expect_same_drafts(kDrafter, "It was", sampled(128, 2));
  std::optional<KernelDrafter> kernel = KernelDrafter::open(kDrafter);
  ASSERT_TRUE(kernel);
  EXPECT_NE(kernel->draft("It was", sampled(64, 1)).text, kernel->draft("It was", sampled(64, 2)).text);
}

// The weights as stored in bfloat16 and in int8, read as stored by both.
TEST(KernelDrafterTest, DraftsWhatTheDrafterDraftsInBfloat16AndInt8) {
  sculpt::testing::TempDir temp("sculpt_kernel_drafter");
  Transformer model = load_transformer(kDrafter, {}, WeightsDType::kF32);
  DraftParams stopping = greedy(96);
  stopping.stop = {"."};
  stopping.sampler.repetition_penalty = 1.3;
  for (const DType dtype : {DType::kBF16, DType::kI8}) {
    const std::string dir = temp.file(dtype_name(dtype));
    save_transformer(*model, dir, dtype);
    copy_tokenizer_files(kDrafter, dir);
    expect_same_drafts(dir, "The jury said that the election", greedy(96));
    expect_same_drafts(dir, "It was", stopping);
    expect_same_drafts(dir, "It was", sampled(64, 3));
  }
}

TEST(KernelDrafterTest, ServesOnlyCachedRequestsOnTheKernels) {
  std::string why;
  EXPECT_TRUE(KernelDrafter::serves(greedy(8), &why));
  EXPECT_TRUE(KernelDrafter::serves(sampled(8, 0), &why));
  DraftParams uncached = greedy(8);
  uncached.use_cache = false;
  EXPECT_FALSE(KernelDrafter::serves(uncached, &why));
  EXPECT_NE(why.find("cache"), std::string::npos) << why;
  DraftParams torch = greedy(8);
  torch.backend = DecodeBackend::kLibTorch;
  EXPECT_FALSE(KernelDrafter::serves(torch));
  DraftParams copying = greedy(8);
  copying.copy.weight = 0.5;
  EXPECT_FALSE(KernelDrafter::serves(copying));
  std::optional<KernelDrafter> kernel = KernelDrafter::open(kDrafter);
  ASSERT_TRUE(kernel);
  EXPECT_THROW(kernel->draft("The", uncached), Error);
}

// A copy of the shipped drafter whose tensors `edit` changes.
std::string edited_drafter(const sculpt::testing::TempDir& temp, const std::string& name,
                           const std::function<void(std::vector<TensorView>&)>& edit) {
  const std::string dir = temp.file(name);
  make_directories(dir);
  copy_tokenizer_files(kDrafter, dir);
  sculpt::testing::write_file(dir + "/config.json", sculpt::testing::read_text_file(kDrafter + "/config.json"));
  const SafetensorsFile file = SafetensorsFile::open(kDrafter + "/model.safetensors");
  std::vector<TensorView> views;
  for (const TensorInfo& t : file.tensors()) views.push_back({t.name, t.dtype, t.shape, file.data(t)});
  edit(views);
  write_safetensors(dir + "/model.safetensors", views);
  return dir;
}

TEST(KernelDrafterTest, LeavesToTheDrafterWhatItDoesNotComputeAsTheDrafterWould) {
  sculpt::testing::TempDir temp("sculpt_kernel_drafter_refusals");
  auto refused = [](const std::string& dir, const std::string& why_wanted) {
    std::string why;
    EXPECT_FALSE(KernelDrafter::open(dir, &why)) << dir;
    EXPECT_NE(why.find(why_wanted), std::string::npos) << dir << ": " << why;
  };
  refused(SCULPT_SOURCE_DIR "/models/refiner", "not causal");
  refused(temp.file("missing"), "config.json");
  std::vector<float> extra(4, 1.f);
  refused(edited_drafter(temp, "extra", [&](std::vector<TensorView>& v) {
            v.push_back({"model.extra.weight", DType::kF32, {4}, extra.data()});
          }), "model.extra.weight");
  refused(edited_drafter(temp, "no_norm", [](std::vector<TensorView>& v) {
            v.erase(std::find_if(v.begin(), v.end(), [](const TensorView& t) { return t.name == "model.norm.weight"; }));
          }), "model.norm.weight");
  refused(edited_drafter(temp, "reshaped", [](std::vector<TensorView>& v) {
            for (TensorView& t : v)
              if (t.name == "model.layers.0.mlp.up_proj.weight") std::swap(t.shape[0], t.shape[1]);
          }), "model.layers.0.mlp.up_proj.weight has shape [256, 704]");
  // The Drafter reports each of these itself, or computes it with LibTorch.
  EXPECT_THROW(Drafter::load(temp.file("no_norm")), Error);
}

TEST(KernelDrafterTest, APromptThatFillsTheContextIsTheDraftersError) {
  std::string prompt;
  for (int i = 0; i < 600; ++i) prompt += "the ";
  Drafter drafter = Drafter::load(kDrafter);
  std::optional<KernelDrafter> kernel = KernelDrafter::open(kDrafter);
  ASSERT_TRUE(kernel);
  const std::string want = sculpt::testing::error_message([&] { drafter.draft({prompt}, greedy(8)); });
  EXPECT_NE(want.find("do not fit the model's context of 512"), std::string::npos) << want;
  EXPECT_EQ(sculpt::testing::error_message([&] { kernel->draft(prompt, greedy(8)); }), want);
}

}  // namespace
}  // namespace sculpt
