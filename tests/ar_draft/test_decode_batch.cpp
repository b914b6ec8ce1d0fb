// The steps of a decode batch (ar_draft/decode_batch.h), each on its own: prefill of
// left-padded prompts against each prompt run alone, decode_one_token's stops (EOS, a stop
// string, max_tokens), and forward_next through the cache against recomputation.
#include "ar_draft/decode_batch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <limits>

#include "core/transformer.h"
#include "support/tiny_models.h"

namespace sculpt {
namespace {

class DecodeBatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new sculpt::testing::TempDir("sculpt_decode_batch");
    sculpt::testing::make_template_corpus(*dir_, 30);
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    tok_ = std::make_unique<Tokenizer>(Tokenizer::load(dir_->file("tok.model")));
    model_ = Transformer(sculpt::testing::small_model_config(tok_->n_vocab()));
    sculpt::testing::randomise_weights(*model_, /*seed=*/5);
    model_->eval();
  }

  std::vector<TokenId> prompt(const std::string& text) const {
    std::vector<TokenId> ids{tok_->bos_id()};
    for (TokenId id : tok_->encode(text)) ids.push_back(id);
    return ids;
  }

  // Logits [1, vocab] that make `id` the argmax by far.
  at::Tensor forcing(TokenId id) const {
    at::Tensor logits = at::zeros({1, tok_->n_vocab()});
    logits[0][id] = 100.0f;
    return logits;
  }

  static DraftParams greedy(int max_tokens) {
    DraftParams p;
    p.max_tokens = max_tokens;
    p.sampler.temperature = 0;
    return p;
  }

  static sculpt::testing::TempDir* dir_;
  std::unique_ptr<Tokenizer> tok_;
  Transformer model_{nullptr};
};
sculpt::testing::TempDir* DecodeBatchTest::dir_ = nullptr;

TEST_F(DecodeBatchTest, PrefillOfLeftPaddedPromptsMatchesEachPromptAlone) {
  const std::vector<std::vector<TokenId>> prompts = {prompt("The farmer"), prompt("The sailor reads a long letter")};
  ASSERT_NE(prompts[0].size(), prompts[1].size());
  const DraftParams params = greedy(4);
  at::NoGradGuard no_grad;
  DecodeBatch batch(*model_, *tok_, prompts, params);
  const at::Tensor padded = batch.prefill();  // [2, vocab]
  double max_diff = 0;
  for (size_t r = 0; r < prompts.size(); ++r) {
    DecodeBatch alone(*model_, *tok_, {prompts[r]}, params);
    max_diff = std::max(max_diff, (padded[int64_t(r)] - alone.prefill()[0]).abs().max().item<double>());
  }
  std::printf("prefill, padded batch vs each prompt alone: max |diff| %.3g\n", max_diff);
  EXPECT_LT(max_diff, 1e-4);
}

TEST_F(DecodeBatchTest, DecodeOneTokenStopsARowAtEosAndKeepsTheOthers) {
  DecodeBatch batch(*model_, *tok_, {prompt("The farmer"), prompt("The sailor")}, greedy(8));
  at::NoGradGuard no_grad;
  batch.prefill();
  const TokenId word = tok_->encode(" farmer").back();
  at::Tensor logits = at::cat({forcing(tok_->eos_id()), forcing(word)}, /*dim=*/0);
  EXPECT_TRUE(batch.decode_one_token(logits));  // row 1 goes on
  const std::vector<DraftResult> out = batch.take_results();
  EXPECT_EQ(out[0].stop_reason, StopReason::kEos);
  EXPECT_TRUE(out[0].tokens.empty());  // EOS is not part of the draft
  ASSERT_EQ(out[1].tokens.size(), 1u);
  EXPECT_EQ(out[1].tokens[0].id, word);
}

TEST_F(DecodeBatchTest, DecodeOneTokenCutsTheTextAtAStopStringAndStreamsWhatItAdded) {
  DraftParams params = greedy(8);
  params.stop = {" the"};
  std::string streamed;
  DecodeBatch batch(*model_, *tok_, {prompt("The farmer")}, params, {},
                    [&](int64_t, const DraftToken&, const std::string& text) { streamed += text; });
  at::NoGradGuard no_grad;
  batch.prefill();
  const std::vector<TokenId> words = tok_->encode("reads the sailor");
  bool going = true;
  for (TokenId id : words) going = going && batch.decode_one_token(forcing(id));
  EXPECT_FALSE(going);  // the stop string ended the only row
  const std::vector<DraftResult> out = batch.take_results();
  EXPECT_EQ(out[0].stop_reason, StopReason::kStopString);
  EXPECT_EQ(out[0].text, " reads");
  EXPECT_EQ(streamed, out[0].text);  // the token that completed " the" added nothing
}

TEST_F(DecodeBatchTest, ForwardNextThroughTheCacheMatchesRecomputation) {
  DraftParams cached = greedy(12), recomputed = greedy(12);
  recomputed.use_cache = false;
  const std::vector<std::vector<TokenId>> prompts = {prompt("The farmer"), prompt("A sailor reads the map")};
  at::NoGradGuard no_grad;
  DecodeBatch a(*model_, *tok_, prompts, cached), b(*model_, *tok_, prompts, recomputed);
  at::Tensor la = a.prefill(), lb = b.prefill();
  double max_diff = 0;
  for (int step = 0; step < 12; ++step) {
    max_diff = std::max(max_diff, (la - lb).abs().max().item<double>());
    ASSERT_TRUE(a.decode_one_token(la));
    ASSERT_TRUE(b.decode_one_token(lb));
    if (step + 1 == 12) break;
    la = a.forward_next();
    lb = b.forward_next();
  }
  std::printf("forward_next, KV cache vs recomputation over 12 steps: max |diff| %.3g\n", max_diff);
  EXPECT_LT(max_diff, 1e-4);
  EXPECT_EQ(a.stats().n_forward, 12);
}

TEST_F(DecodeBatchTest, MaxTokensIsClampedToTheContextAndNamedAsTheStop) {
  DecodeBatch batch(*model_, *tok_, {prompt("The farmer")}, greedy(1000));
  EXPECT_EQ(batch.max_tokens(), 64 - int64_t(prompt("The farmer").size()));
  batch.decode_n_tokens();
  const std::vector<DraftResult> out = batch.take_results();
  if (out[0].stop_reason != StopReason::kEos) {
    EXPECT_EQ(out[0].stop_reason, StopReason::kContext);
    EXPECT_EQ(int64_t(out[0].tokens.size()), batch.max_tokens());
  }
}

}  // namespace
}  // namespace sculpt
