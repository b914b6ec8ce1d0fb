// Drafter: cached decoding against recomputation, batching, seeding, stops and streaming.
#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "train/tokenizer_training.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;

// One tokenizer for the suite, trained on a few KB of text in the test set-up.
class DrafterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new sculpt::testing::TempDir("sculpt_drafter");
    std::ofstream text(dir_->file("corpus.txt"));
    for (int i = 0; i < 60; ++i)
      text << "The jury said the election was conducted fairly in county " << i
           << ". Reports of irregularities were heard by the court, and the mayor answered them.\n";
    text.close();
    TokenizerTrainParams p;
    p.input_files = {dir_->file("corpus.txt")};
    p.model_prefix = dir_->file("tok");
    p.vocab_size = 300;
    train_tokenizer(p);
  }
  static void TearDownTestSuite() { delete dir_; }

  // A random causal model over the tokenizer's vocabulary (std 0.1 so distributions are peaked
  // enough for ties to be rare).
  static Drafter make_drafter(int64_t context = 256) {
    Tokenizer tok = Tokenizer::load(dir_->file("tok.model"));
    ModelConfig c;
    c.vocab_size = tok.n_vocab();
    c.hidden_size = 32;
    c.intermediate_size = 64;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.max_position_embeddings = context;
    Transformer model(c);
    at::NoGradGuard no_grad;
    at::manual_seed(11);
    for (auto& p : model->parameters()) p.normal_(0.0, 0.3);
    return Drafter(model, tok);
  }

  static sculpt::testing::TempDir* dir_;
};
sculpt::testing::TempDir* DrafterTest::dir_ = nullptr;

DraftParams greedy(int max_tokens) {
  DraftParams p;
  p.max_tokens = max_tokens;
  p.stop_at_eos = false;
  p.sampler.temperature = 0;
  return p;
}

TEST_F(DrafterTest, CachedDecodingMatchesRecomputationOver64Steps) {
  Drafter drafter = make_drafter();
  DraftParams cached = greedy(64), recomputed = greedy(64);
  recomputed.use_cache = false;
  DraftStats s1, s2;
  auto a = drafter.draft({"The jury said"}, cached, {}, &s1)[0];
  auto b = drafter.draft({"The jury said"}, recomputed, {}, &s2)[0];
  ASSERT_EQ(a.tokens.size(), 64u);
  ASSERT_EQ(b.tokens.size(), 64u);
  double max_diff = 0;
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    EXPECT_EQ(a.tokens[i].id, b.tokens[i].id) << "step " << i;
    max_diff = std::max(max_diff, double(std::abs(a.tokens[i].logprob - b.tokens[i].logprob)));
    max_diff = std::max(max_diff, double(std::abs(a.tokens[i].entropy - b.tokens[i].entropy)));
  }
  std::printf("[ draft ] max |cached - recomputed| of logprob/entropy over 64 steps = %.3g\n", max_diff);
  EXPECT_LE(max_diff, 1e-4);
  EXPECT_EQ(s1.n_forward, 64);
}

TEST_F(DrafterTest, BatchOfDifferentLengthsMatchesEachPromptAlone) {
  Drafter drafter = make_drafter();
  const std::vector<std::string> prompts = {"The jury", "Reports of irregularities were heard by the court", "A"};
  auto batched = drafter.draft(prompts, greedy(20));
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto alone = drafter.draft({prompts[i]}, greedy(20))[0];
    ASSERT_EQ(batched[i].tokens.size(), alone.tokens.size());
    for (size_t t = 0; t < alone.tokens.size(); ++t) {
      EXPECT_EQ(batched[i].tokens[t].id, alone.tokens[t].id) << "prompt " << i << " step " << t;
      EXPECT_NEAR(batched[i].tokens[t].logprob, alone.tokens[t].logprob, 1e-4);
    }
  }
}

TEST_F(DrafterTest, SameSeedSameTextDifferentSeedDiffers) {
  Drafter drafter = make_drafter();
  DraftParams p = greedy(40);
  p.sampler.temperature = 1.0;
  p.sampler.seed = 5;
  auto a = drafter.draft({"The jury"}, p)[0].text;
  auto b = drafter.draft({"The jury"}, p)[0].text;
  EXPECT_EQ(a, b);
  p.sampler.seed = 6;
  EXPECT_NE(drafter.draft({"The jury"}, p)[0].text, a);
}

// With a reference that continues the prompt, full copy weight quotes it token for token at
// any temperature and records the mixture's log p (0 for a sure copy); weight 0 ignores it.
TEST_F(DrafterTest, CopyQuotesTheReferenceAndWeightZeroIgnoresIt) {
  Drafter drafter = make_drafter();
  const Tokenizer& tok = drafter.tokenizer();
  std::vector<int64_t> prompt{tok.bos_id()}, reference;
  for (TokenId id : tok.encode("The jury said the election")) prompt.push_back(id);
  for (TokenId id : tok.encode("Reports were heard. The jury said the election was conducted fairly in county 7"))
    reference.push_back(id);
  DraftParams p;
  p.max_tokens = 12;
  p.stop_at_eos = false;
  p.sampler.temperature = 1.0;
  p.sampler.seed = 3;
  p.copy.weight = 1.0;
  p.copy.min_match = 3;
  const DraftResult copied = drafter.draft_ids({prompt}, p, {}, nullptr, {reference})[0];
  // Where the reference goes on after the prompt's last three tokens (they occur once in it).
  size_t start = 0;
  for (size_t j = 3; j < reference.size(); ++j)
    if (std::equal(prompt.end() - 3, prompt.end(), reference.begin() + long(j) - 3)) start = j;
  ASSERT_GT(start, 0u);
  const size_t n_quoted = std::min<size_t>(reference.size() - start, copied.tokens.size());
  ASSERT_GT(n_quoted, 3u);
  for (size_t t = 0; t < n_quoted; ++t) {
    EXPECT_EQ(copied.tokens[t].id, reference[start + t]) << "step " << t;
    EXPECT_NEAR(copied.tokens[t].logprob, 0.0f, 1e-5) << "step " << t;
  }
  p.copy.weight = 0;
  const DraftResult ignored = drafter.draft_ids({prompt}, p, {}, nullptr, {reference})[0];
  const DraftResult plain = drafter.draft_ids({prompt}, p)[0];
  ASSERT_EQ(ignored.tokens.size(), plain.tokens.size());
  for (size_t t = 0; t < plain.tokens.size(); ++t) EXPECT_EQ(ignored.tokens[t].id, plain.tokens[t].id);
  EXPECT_NE(plain.text, copied.text);
  try {
    drafter.draft_ids({prompt}, p, {}, nullptr, {reference, reference});
    FAIL() << "two references for one prompt";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("2 references for 1 prompts"));
  }
}

TEST_F(DrafterTest, LogprobsAreNonPositiveAndEntropyBounded) {
  Drafter drafter = make_drafter();
  auto r = drafter.draft({"The"}, greedy(10))[0];
  for (const DraftToken& t : r.tokens) {
    EXPECT_LE(t.logprob, 0.0f);
    EXPECT_GE(t.entropy, 0.0f);
    EXPECT_LE(t.entropy, std::log(float(drafter.tokenizer().n_vocab())) + 1e-4f);
  }
}

TEST_F(DrafterTest, StreamingConcatenatesToTheTextAndStopStringsCut) {
  Drafter drafter = make_drafter();
  DraftParams p = greedy(30);
  std::string streamed;
  auto full = drafter.draft({"The jury"}, p, [&](int64_t, const DraftToken&, const std::string& s) { streamed += s; })[0];
  EXPECT_EQ(streamed, full.text);
  // Prompt + draft reads as one text: the draft keeps the space its first piece starts with.
  std::vector<TokenId> all(full.prompt_ids.begin(), full.prompt_ids.end());
  for (const DraftToken& t : full.tokens) all.push_back(t.id);
  EXPECT_EQ("The jury" + full.text, drafter.tokenizer().decode(all));
  EXPECT_EQ(full.stop_reason, StopReason::kMaxTokens);
  ASSERT_GE(full.text.size(), 6u);
  // Stop at a piece of text the greedy draft is known to produce.
  p.stop = {full.text.substr(full.text.size() / 2, 3)};
  auto cut = drafter.draft({"The jury"}, p)[0];
  EXPECT_EQ(cut.stop_reason, StopReason::kStopString);
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(p.stop[0])));
}

// The text is extended token by token from a window of the last tokens (decode_batch.cpp); it
// must stay the decoding of all of them. At temperature 30 the shipped drafter writes random
// pieces, byte-fallback ones among them (several make one character), for 400 tokens per row.
TEST(ShippedDrafterTest, LongRandomDraftsReadAsTheDecodingOfTheirTokens) {
  Drafter drafter = Drafter::load(SCULPT_SOURCE_DIR "/models/drafter");
  DraftParams p;
  p.max_tokens = 400;
  p.stop_at_eos = false;
  p.sampler.temperature = 30.0;  // near uniform: 256 of the 4,096 pieces are bytes
  p.sampler.seed = 5;
  std::vector<std::string> streamed(2);
  const std::vector<std::string> prompts = {"The jury", "Über"};
  auto out = drafter.draft(prompts, p, [&](int64_t r, const DraftToken&, const std::string& s) { streamed[size_t(r)] += s; });
  int64_t byte_pieces = 0;
  for (size_t r = 0; r < out.size(); ++r) {
    std::vector<TokenId> all(out[r].prompt_ids.begin(), out[r].prompt_ids.end());
    for (const DraftToken& t : out[r].tokens) {
      all.push_back(t.id);
      byte_pieces += drafter.tokenizer().id_to_piece(t.id).rfind("<0x", 0) == 0;
    }
    EXPECT_EQ(prompts[r] + out[r].text, drafter.tokenizer().decode(all)) << "row " << r;
    EXPECT_EQ(streamed[r], out[r].text) << "row " << r;
  }
  EXPECT_GT(byte_pieces, 20);

  // Characters the tokenizer spells in several byte pieces, drafted one piece at a time: copying
  // (weight 1) quotes a reference full of them after the prompt's last tokens.
  const Tokenizer& tok = drafter.tokenizer();
  const std::string quoted = " in Zürich — 東京, Łódź and Ελλάδα — naïve café owners said “yes” to 北京 and Kraków.";
  std::vector<TokenId> prompt = {tok.bos_id()}, reference;
  for (TokenId id : tok.encode("The jury said the election")) prompt.push_back(id);
  for (TokenId id : tok.encode("The jury said the election" + quoted + quoted)) reference.push_back(id);
  p.max_tokens = 120;
  p.copy.weight = 1.0;
  p.copy.min_match = 3;
  const DraftResult copied = drafter.draft_ids({prompt}, p, {}, nullptr, {reference})[0];
  std::vector<TokenId> all = prompt;
  for (const DraftToken& t : copied.tokens) all.push_back(t.id);
  EXPECT_EQ("The jury said the election" + copied.text, tok.decode(all));
  EXPECT_EQ(copied.text.substr(0, quoted.size()), quoted);
}

TEST_F(DrafterTest, PromptLongerThanContextIsAnErrorAndMaxTokensIsClamped) {
  Drafter drafter = make_drafter(/*context=*/32);
  std::string long_prompt;
  for (int i = 0; i < 40; ++i) long_prompt += "the jury ";
  try {
    drafter.draft({long_prompt}, greedy(5));
    FAIL() << "accepted a prompt longer than the context";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("context of 32"));
  }
  auto r = drafter.draft({"The jury"}, greedy(1000))[0];
  EXPECT_EQ(int64_t(r.prompt_ids.size() + r.tokens.size()), 32);
  EXPECT_EQ(r.stop_reason, StopReason::kContext);
}

TEST_F(DrafterTest, VocabularyMismatchNamesBothSizes) {
  Tokenizer tok = Tokenizer::load(dir_->file("tok.model"));
  ModelConfig c;
  c.vocab_size = tok.n_vocab() + 7;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  try {
    Drafter(Transformer(c), tok);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(tok.n_vocab())));
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(tok.n_vocab() + 7)));
  }
}

TEST_F(DrafterTest, DiffusionModelsAreRefusedNamingTheirFamily) {
  Tokenizer tok = Tokenizer::load(dir_->file("tok.model"));
  ModelConfig c;
  c.model_type = "Dream";
  c.attention = AttentionMode::kBidirectional;
  c.vocab_size = tok.n_vocab();
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  EXPECT_THAT([&] { Drafter(Transformer(c), tok); },
              ::testing::ThrowsMessage<Error>(HasSubstr("the drafter needs a causal model, but this Dream model "
                                                        "(model_type 'Dream') has bidirectional attention")));
  c.attention = AttentionMode::kCausal;
  EXPECT_NO_THROW(Drafter(Transformer(c), tok));
}

TEST_F(DrafterTest, ScoreMatchesDirectComputation) {
  Drafter drafter = make_drafter();
  const std::string text = "The jury said the election was fair.";
  ScoreResult s = score_text(*drafter.model(), drafter.tokenizer(), text);
  std::vector<int64_t> seq{drafter.tokenizer().bos_id()};
  seq.insert(seq.end(), s.ids.begin(), s.ids.end());
  at::NoGradGuard no_grad;
  at::Tensor logp = at::log_softmax(drafter.model()->forward(at::tensor(seq, at::kLong).unsqueeze(0)).squeeze(0), -1);
  double nll = 0;
  for (size_t i = 0; i < s.ids.size(); ++i) {
    const float want = logp[int64_t(i)][s.ids[i]].item<float>();
    EXPECT_NEAR(s.logprobs[i], want, 1e-5);
    nll -= want;
  }
  EXPECT_NEAR(s.nll, nll, 1e-3);
  EXPECT_NEAR(s.perplexity, std::exp(nll / double(s.ids.size())), 1e-3 * s.perplexity);
}

TEST_F(DrafterTest, ScoreSlidesPastTheContextScoringEveryTokenOnce) {
  Drafter drafter = make_drafter(/*context=*/16);
  std::string text;
  for (int i = 0; i < 8; ++i) text += "The jury said the election was fair. ";
  ScoreResult s = score_text(*drafter.model(), drafter.tokenizer(), text);
  ASSERT_GT(s.ids.size(), 40u);
  ASSERT_EQ(s.logprobs.size(), s.ids.size());
  // The first window is an ordinary forward pass of BOS + the first 15 tokens.
  std::vector<int64_t> head{drafter.tokenizer().bos_id()};
  head.insert(head.end(), s.ids.begin(), s.ids.begin() + 15);
  at::NoGradGuard no_grad;
  at::Tensor logp = at::log_softmax(drafter.model()->forward(at::tensor(head, at::kLong).unsqueeze(0)).squeeze(0), -1);
  for (int64_t i = 0; i < 15; ++i) EXPECT_NEAR(s.logprobs[size_t(i)], logp[i][s.ids[size_t(i)]].item<float>(), 1e-5);
  for (float lp : s.logprobs) {
    EXPECT_LT(lp, 0.0f);
    EXPECT_TRUE(std::isfinite(lp));
  }
  EXPECT_THROW(score_text(*drafter.model(), drafter.tokenizer(), ""), Error);
}

TEST_F(DrafterTest, ScoreContinuationIsConditionedOnItsContext) {
  Drafter drafter = make_drafter();
  const Tokenizer& tok = drafter.tokenizer();
  const std::string context = "The jury said", continuation = " the election was fair.";
  const ScoreResult s = score_continuation(*drafter.model(), tok, context, continuation);
  std::vector<int64_t> seq{tok.bos_id()};
  for (TokenId id : tok.encode(context)) seq.push_back(id);
  const size_t first = seq.size();
  for (TokenId id : tok.encode(continuation)) seq.push_back(id);
  ASSERT_EQ(s.ids, std::vector<int64_t>(seq.begin() + int64_t(first), seq.end()));
  at::NoGradGuard no_grad;
  at::Tensor logp = at::log_softmax(drafter.model()->forward(at::tensor(seq, at::kLong).unsqueeze(0)).squeeze(0), -1);
  double nll = 0;
  for (size_t i = 0; i < s.ids.size(); ++i) {
    const float want = logp[int64_t(first + i - 1)][s.ids[i]].item<float>();
    EXPECT_NEAR(s.logprobs[i], want, 1e-5);
    nll -= want;
  }
  EXPECT_NEAR(s.nll, nll, 1e-3);
  EXPECT_THROW(score_continuation(*drafter.model(), tok, context, ""), Error);
}

TEST_F(DrafterTest, ScoreContinuationAfterALongContextSeesTheLastWindow) {
  Drafter drafter = make_drafter(/*context=*/16);
  const Tokenizer& tok = drafter.tokenizer();
  std::string context;
  for (int i = 0; i < 4; ++i) context += "The jury said the election was fair. ";
  const std::string continuation = " The";
  const ScoreResult s = score_continuation(*drafter.model(), tok, context, continuation);
  std::vector<int64_t> seq{tok.bos_id()};
  for (TokenId id : tok.encode(context)) seq.push_back(id);
  const int64_t first = int64_t(seq.size());
  for (TokenId id : tok.encode(continuation)) seq.push_back(id);
  ASSERT_GT(first, 16);
  ASSERT_LE(int64_t(seq.size()) - first, 8);
  // A continuation that leaves half a window (8 tokens) of context is predicted by one window
  // of 16 tokens ending at its last token.
  const std::vector<int64_t> window(seq.end() - 16, seq.end());
  at::NoGradGuard no_grad;
  at::Tensor logp = at::log_softmax(drafter.model()->forward(at::tensor(window, at::kLong).unsqueeze(0)).squeeze(0), -1);
  const int64_t offset = int64_t(seq.size()) - 16;
  for (size_t i = 0; i < s.ids.size(); ++i)
    EXPECT_NEAR(s.logprobs[i], logp[first + int64_t(i) - 1 - offset][s.ids[i]].item<float>(), 1e-5) << i;
}

}  // namespace
}  // namespace sculpt
