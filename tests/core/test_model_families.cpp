// The model families beside Llama 2 (Qwen3, Llama 3.x, Dream, LLaDA, SDAR, Fast-dLLM v2) against
// their independent Python references (tests/reference/families_reference.py): each family's
// published config.json keys and tensor names load, its logits match, its drafting (causal
// families, against the key/value cache too) or its first refinement step (diffusion families:
// which position's logits predict which token) match, and what Sculpt saves loads again.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "ar_draft/drafter.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/kv_cache.h"
#include "core/rope.h"
#include "diffusion_refine/refiner.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using sculpt::testing::run_command;
using ::testing::HasSubstr;

struct FamilyCase {
  const char* family;  // families_reference.py --family
  const char* args;    // more arguments for it
  const char* model_type;
  AttentionMode attention;
  LogitsAlignment alignment;
  int64_t block_size;
  int64_t mask_token_id;  // config.json's; -1 = none (the refiner takes the tokenizer's)
  friend void PrintTo(const FamilyCase& c, std::ostream* out) { *out << c.family; }
};

// Diffusion cases mask the canvas with a token other than the tokenizer's [MASK] (3) where
// config.json names one, so the refiner must take config.json's.
const FamilyCase kCausalFamilies[] = {
    {"qwen3", "", "qwen3", AttentionMode::kCausal, LogitsAlignment::kUnshifted, 0, -1},
    {"llama3", "--position-offset 40", "llama", AttentionMode::kCausal, LogitsAlignment::kUnshifted, 0, -1},
};
const FamilyCase kDiffusionFamilies[] = {
    {"dream", "--mask-id 5", "Dream", AttentionMode::kBidirectional, LogitsAlignment::kShifted, 0, 5},
    {"llada", "--mask-id 7", "llada", AttentionMode::kBidirectional, LogitsAlignment::kUnshifted, 0, 7},
    {"sdar", "--mask-id 9", "sdar", AttentionMode::kBlockCausal, LogitsAlignment::kUnshifted, 4, 9},
    {"fast_dllm_v2", "--mask-id 3", "Fast_dLLM_Qwen", AttentionMode::kBlockCausal, LogitsAlignment::kShifted, 4, -1},
};

const char* const kTokenizer = SCULPT_SOURCE_DIR "/models/refiner/tokenizer.model";  // 4096 pieces, [MASK] = 3

at::Tensor expected_tensor(const SafetensorsFile& file, const std::string& name) {
  const TensorInfo& info = file.at(name);
  return at::from_blob(const_cast<uint8_t*>(file.data(info)), info.shape, at::kFloat).clone();
}

std::vector<int64_t> as_ids(const at::Tensor& t) {
  const at::Tensor ids = t.reshape(-1).to(at::kLong).contiguous();
  return std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
}

// A family's reference checkpoint and expected outputs in a fresh folder.
class FamilyTest : public ::testing::TestWithParam<FamilyCase> {
 protected:
  void SetUp() override {
    if (!sculpt::testing::reference_python_available()) GTEST_SKIP() << "Debian python3 with torch/numpy not found";
    std::string output;
    const std::string cmd = std::string(SCULPT_REFERENCE_PYTHON) + " " SCULPT_SOURCE_DIR
                            "/tests/reference/families_reference.py --family " + GetParam().family + " --out " +
                            dir_.path() + " " + GetParam().args;
    ASSERT_EQ(run_command(cmd, &output), 0) << output;
  }
  SafetensorsFile expected() const { return SafetensorsFile::open(dir_.file("expected.safetensors")); }
  // The model's logits for the reference's input_ids at its position_ids, and their max difference.
  double logits_diff(TransformerImpl& model) const {
    const SafetensorsFile e = expected();
    at::NoGradGuard no_grad;
    ForwardArgs args;
    args.positions = expected_tensor(e, "position_ids").to(at::kLong);
    const at::Tensor logits = model.forward(expected_tensor(e, "input_ids").to(at::kLong), args);
    return (logits - expected_tensor(e, "logits")).abs().max().item<double>();
  }

  sculpt::testing::TempDir dir_{"sculpt_family"};
};

TEST_P(FamilyTest, ConfigJsonMeansWhatTheFamilyPublishes) {
  const ModelConfig c = load_model_config(dir_.file("config.json"));
  EXPECT_EQ(c.model_type, GetParam().model_type);
  EXPECT_EQ(c.attention, GetParam().attention);
  if (c.attention != AttentionMode::kCausal) {
    EXPECT_EQ(c.logits_alignment, GetParam().alignment);
  }
  EXPECT_EQ(c.block_size, GetParam().block_size);
  EXPECT_EQ(c.mask_token_id, GetParam().mask_token_id);
  EXPECT_EQ(c.vocab_size, 4096);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.n_kv_heads(), 2);
}

TEST_P(FamilyTest, LogitsMatchReferenceWithin1e4) {
  Transformer model = load_transformer(dir_.path());
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  EXPECT_EQ(n, model->config().n_params());
  const double diff = logits_diff(*model);
  std::printf("[ parity ] %s: max |logit diff| = %.3g\n", GetParam().family, diff);
  EXPECT_LE(diff, 1e-4);
}

TEST_P(FamilyTest, SavesUnderTheFamilysNamesAndLoadsBack) {
  Transformer model = load_transformer(dir_.path());
  sculpt::testing::TempDir copy("sculpt_family_copy");
  save_transformer(*model, copy.path());
  auto names = [](const std::string& path) {
    std::set<std::string> out;
    const SafetensorsFile file = SafetensorsFile::open(path);
    for (const TensorInfo& t : file.tensors()) out.insert(t.name);
    return out;
  };
  EXPECT_EQ(names(copy.file("model.safetensors")), names(dir_.file("model.safetensors")));
  Transformer again = load_transformer(copy.path());
  EXPECT_EQ(again->config().model_type, GetParam().model_type);
  EXPECT_LE(logits_diff(*again), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Causal, FamilyTest, ::testing::ValuesIn(kCausalFamilies),
                         [](const auto& info) { return std::string(info.param.family); });
INSTANTIATE_TEST_SUITE_P(Diffusion, FamilyTest, ::testing::ValuesIn(kDiffusionFamilies),
                         [](const auto& info) { return std::string(info.param.family); });

class CausalFamilyTest : public FamilyTest {};

TEST_P(CausalFamilyTest, CachedDecodingMatchesRecomputation) {
  Transformer model = load_transformer(dir_.path());
  const ModelConfig& c = model->config();
  at::NoGradGuard no_grad;
  const at::Tensor seq = expected_tensor(expected(), "input_ids").to(at::kLong);  // [2, 11]
  const int64_t n = seq.size(1), n_prompt = 4;
  const at::Tensor full = model->forward(seq);
  KvCache cache(c.num_hidden_layers, /*batch=*/2, c.n_kv_heads(), /*max_len=*/n, c.n_head_dim());
  ForwardArgs args;
  args.cache = &cache;
  double diff = (model->forward(seq.narrow(1, 0, n_prompt), args) - full.narrow(1, 0, n_prompt)).abs().max().item<double>();
  for (int64_t t = n_prompt; t < n; ++t)
    diff = std::max(diff, (model->forward(seq.narrow(1, t, 1), args) - full.narrow(1, t, 1)).abs().max().item<double>());
  std::printf("[ cache ] %s: max |cached - recomputed| = %.3g\n", GetParam().family, diff);
  EXPECT_LE(diff, 1e-4);
}

TEST_P(CausalFamilyTest, GreedyDraftMatchesReference) {
  const SafetensorsFile e = expected();
  Drafter drafter(load_transformer(dir_.path()), Tokenizer::load(kTokenizer));
  DraftParams p;
  p.sampler.temperature = 0;
  p.stop_at_eos = false;
  const std::vector<int64_t> want = as_ids(expected_tensor(e, "greedy_ids"));
  p.max_tokens = int(want.size());
  const std::vector<DraftResult> out = drafter.draft_ids({as_ids(expected_tensor(e, "prompt_ids"))}, p);
  ASSERT_EQ(out.size(), 1u);
  std::vector<int64_t> got;
  for (const DraftToken& t : out[0].tokens) got.push_back(t.id);
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(Reference, CausalFamilyTest, ::testing::ValuesIn(kCausalFamilies),
                         [](const auto& info) { return std::string(info.param.family); });

TEST(Llama3RopeTest, ScalingChangesTheLogitsTheReferenceExpects) {
  // Without rope_scaling the same weights miss the reference by far more than the tolerance, so
  // the parity above checks Llama 3's frequencies, not only RoPE's.
  if (!sculpt::testing::reference_python_available()) GTEST_SKIP() << "Debian python3 with torch/numpy not found";
  sculpt::testing::TempDir dir("sculpt_llama3");
  std::string output;
  ASSERT_EQ(run_command(std::string(SCULPT_REFERENCE_PYTHON) + " " SCULPT_SOURCE_DIR
                        "/tests/reference/families_reference.py --family llama3 --position-offset 40 --out " + dir.path(),
                        &output), 0) << output;
  Transformer plain = load_transformer(dir.path(), [](ModelConfig& c) { c.rope_scaling = RopeScaling{}; });
  const SafetensorsFile e = SafetensorsFile::open(dir.file("expected.safetensors"));
  at::NoGradGuard no_grad;
  ForwardArgs args;
  args.positions = expected_tensor(e, "position_ids").to(at::kLong);
  const double diff = (plain->forward(expected_tensor(e, "input_ids").to(at::kLong), args) -
                       expected_tensor(e, "logits")).abs().max().item<double>();
  EXPECT_GT(diff, 1e-2);
}

class DiffusionFamilyTest : public FamilyTest {};

TEST_P(DiffusionFamilyTest, FirstRefineStepMatchesReference) {
  // The canvas: frozen tokens (5, or 4 for the BlockEdge cases), then masked ones up to 11.
  // Bidirectional families refine it as one block, 2 positions per step over 3 steps;
  // block-causal ones (blocks of 4) write [4, 8) then [8, 11), 2 steps each, committing 2 of the
  // first block's masked positions first. With 4 frozen tokens a shifted family predicts the
  // first masked token from the previous block's last position.
  const SafetensorsFile e = expected();
  Refiner refiner(load_transformer(dir_.path()), Tokenizer::load(kTokenizer));
  const int64_t mask = GetParam().mask_token_id >= 0 ? GetParam().mask_token_id : 3;
  EXPECT_EQ(refiner.mask_id(), mask);
  const std::vector<int64_t> ids = as_ids(expected_tensor(e, "canvas_ids"));
  const int64_t n_context = std::find(ids.begin(), ids.end(), mask) - ids.begin();
  ASSERT_LT(n_context, int64_t(ids.size()));
  Canvas canvas = Canvas::from_parts({ids.begin(), ids.begin() + n_context}, {ids.begin() + n_context, ids.end()});
  canvas.mark({{0, canvas.n_draft()}}, CanvasRole::kMasked);
  RefineParams p;
  p.steps = GetParam().attention == AttentionMode::kBlockCausal ? 4 : 3;
  RefineStep first;
  const RefineResult r = refiner.refine(canvas, p, [&](const RefineStep& s) {
    if (s.step == 0) first = s;
  });
  EXPECT_EQ(r.trace.commit_step.size(), ids.size());
  // Sculpt's CPU kernels computed the passes wherever they can (all but block-causal attention).
  EXPECT_EQ(r.trace.on_kernels, GetParam().attention != AttentionMode::kBlockCausal);

  const std::vector<int64_t> want_positions = as_ids(expected_tensor(e, "step_positions"));
  const std::vector<int64_t> want_tokens = as_ids(expected_tensor(e, "step_tokens"));
  const at::Tensor want_confidence = expected_tensor(e, "step_confidence");
  std::map<int64_t, std::pair<int64_t, float>> want, got;  // position -> (token, confidence)
  for (size_t j = 0; j < want_positions.size(); ++j)
    want[want_positions[j]] = {want_tokens[j], want_confidence[int64_t(j)].item<float>()};
  for (size_t j = 0; j < first.committed.size(); ++j) got[first.committed[j]] = {first.tokens[j], first.confidence[j]};
  ASSERT_EQ(got.size(), want.size());
  double diff = 0;
  for (const auto& [position, prediction] : want) {
    ASSERT_TRUE(got.count(position)) << "the reference commits position " << position << " first";
    EXPECT_EQ(got[position].first, prediction.first) << "position " << position;
    diff = std::max(diff, double(std::abs(got[position].second - prediction.second)));
  }
  std::printf("[ refine ] %s: first step commits the reference's %zu positions; max |confidence diff| = %.3g\n",
              GetParam().family, want.size(), diff);
  EXPECT_LE(diff, 1e-6);  // probabilities near 1 / 4096 on random weights: an absolute 1e-4 would hide a lot
}

INSTANTIATE_TEST_SUITE_P(Reference, DiffusionFamilyTest, ::testing::ValuesIn(kDiffusionFamilies),
                         [](const auto& info) { return std::string(info.param.family); });

// The block-causal families with the first masked token starting a block (Fast-dLLM v2's seed
// makes that token, predicted at the previous block's last position, one of the first two committed).
const FamilyCase kBlockEdgeFamilies[] = {
    {"sdar", "--mask-id 9 --prompt-len 4", "sdar", AttentionMode::kBlockCausal, LogitsAlignment::kUnshifted, 4, 9},
    {"fast_dllm_v2", "--mask-id 3 --prompt-len 4 --seed 2", "Fast_dLLM_Qwen", AttentionMode::kBlockCausal,
     LogitsAlignment::kShifted, 4, -1},
};
INSTANTIATE_TEST_SUITE_P(BlockEdge, DiffusionFamilyTest, ::testing::ValuesIn(kBlockEdgeFamilies),
                         [](const auto& info) { return std::string(info.param.family); });

// A tensor of the family's names missing, or of the wrong shape: named as the checkpoint names it.
TEST(ModelFamilyErrorsTest, NamesCheckpointTensorsAndShapes) {
  if (!sculpt::testing::reference_python_available()) GTEST_SKIP() << "Debian python3 with torch/numpy not found";
  sculpt::testing::TempDir dir("sculpt_llada");
  std::string output;
  ASSERT_EQ(run_command(std::string(SCULPT_REFERENCE_PYTHON) + " " SCULPT_SOURCE_DIR
                        "/tests/reference/families_reference.py --family llada --out " + dir.path(), &output), 0)
      << output;
  const std::string message = sculpt::testing::error_message(
      [&] { load_transformer(dir.path(), [](ModelConfig& c) { c.num_hidden_layers = 3; }); });
  EXPECT_THAT(message, HasSubstr("missing tensor 'model.transformer.blocks.2.q_proj.weight' with shape [64, 64]"));
  EXPECT_THAT(sculpt::testing::error_message([&] { load_transformer(dir.path(), [](ModelConfig& c) { c.intermediate_size = 96; }); }),
              HasSubstr("tensor 'model.transformer.blocks.0.ff_out.weight' has shape [64, 160], the config needs [64, 96]"));
  EXPECT_THAT(sculpt::testing::error_message([&] { load_transformer(dir.path(), [](ModelConfig& c) { c.num_hidden_layers = 1; }); }),
              HasSubstr("unexpected tensor 'model.transformer.blocks.1."));
}

}  // namespace
}  // namespace sculpt
