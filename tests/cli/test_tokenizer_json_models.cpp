// End to end on published tokenizer.json files (Qwen3's, Llama 3's with the post-processor Meta
// publishes, Llama 2's): tiny random causal models made with `sculpt model init` for each, then
// `sculpt model info`, `tokenizer encode`, `draft`, `score` and `generate --chat` through the
// binary, and Drafter, score_text and chat_prompt through the library. Then a drafter and a
// bidirectional refiner on Qwen3's tokenizer with Dream's mask token added: `refine`, hybrid
// `generate` and `ablate` through the binary, and Pipeline::edit and generate through the
// library. Ids are compared with the JavaScript reference (tests/reference/hf_tokenize.mjs): a
// prompt is drafted from, and a text scored on, exactly the ids the model's own tokenizer gives
// it (BOS first for Llama, none for Qwen), and every text comes back as the reference decodes
// the ids written. Skips, saying why, without data/npm (scripts/npm_packages.sh) or node.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "hybrid/chat_prompt.h"
#include "hybrid/edit_request.h"
#include "hybrid/pipeline.h"
#include "support/hf_reference.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::TempDir;

const std::string kSculpt = std::string(SCULPT_BINARY_DIR) + "/sculpt";
const std::string kPrompt = "The jury said \u65e5\u672c\u8a9e \U0001F680  twice";
const std::string kScored = "Hello world, caf\u00e9 \U0001F600 and   spaces.\nNew line.";

std::string q(const std::string& s) { return "'" + s + "'"; }

struct Family {
  std::string name;  // as testing::write_hf_tokenizer names it
  bool adds_bos;
  bool has_chat_template;
};

const std::vector<Family> kFamilies = {{"qwen3", false, true}, {"llama3-bos", true, true}, {"llama2", true, false}};

// Runs the binary; its stdout parsed as JSON (stderr goes to the failure message).
json run_json(const std::string& args) {
  TempDir out("hf_cli");
  std::string log;
  const int status = testing::run_command(kSculpt + " " + args + " > " + out.file("out.json"), &log);
  if (status != 0) throw std::runtime_error("sculpt " + args + " failed (" + std::to_string(status) + "): " + log);
  return json::parse(testing::read_text_file(out.file("out.json")));
}

class TokenizerJsonModelTest : public ::testing::Test {
 protected:
  // One model directory per family, made once: a random 1-layer causal model of width 32 with
  // the family's whole vocabulary.
  static void SetUpTestSuite() {
    if (!testing::reference_missing(testing::hf_fixture("qwen3", "tokenizer.json")).empty()) return;
    dir_ = new TempDir("hf_models");
    testing::write_file(dir_->file("model.yaml"),
                        "model: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2,\n"
                        "        max_position_embeddings: 64}\n");
    for (const Family& f : kFamilies) {
      testing::write_hf_tokenizer(f.name, dir_->file("tok-" + f.name));
      std::string log;
      const int status = testing::run_command(kSculpt + " model init --config " + q(dir_->file("model.yaml")) +
                                                  " --tokenizer " + q(dir_->file("tok-" + f.name + "/tokenizer.json")) +
                                                  " --out " + q(model_dir(f)),
                                              &log);
      if (status != 0) throw std::runtime_error("model init failed: " + log);
    }
    // Dream's tokenizer is Qwen's with <|mask|> added as a special token.
    testing::write_hf_tokenizer("qwen3", dir_->file("tok-mask"));
    json tok = json::parse(testing::read_text_file(dir_->file("tok-mask/tokenizer.json")));
    int64_t n_vocab = 0;
    for (const auto& [piece, id] : tok["model"]["vocab"].items()) n_vocab = std::max<int64_t>(n_vocab, id.get<int64_t>() + 1);
    for (const json& t : tok["added_tokens"]) n_vocab = std::max<int64_t>(n_vocab, t["id"].get<int64_t>() + 1);
    mask_id_ = n_vocab;
    tok["added_tokens"].push_back({{"id", mask_id_}, {"content", "<|mask|>"}, {"single_word", false}, {"lstrip", false},
                                   {"rstrip", false}, {"normalized", false}, {"special", true}});
    testing::write_file(dir_->file("tok-mask/tokenizer.json"), tok.dump());
    for (const auto& [name, attention] : {std::pair{"drafter", "causal"}, std::pair{"refiner", "bidirectional"}}) {
      std::string log;
      const int status = testing::run_command(kSculpt + " model init --config " + q(dir_->file("model.yaml")) +
                                                  " --set model.attention=" + attention + " --tokenizer " +
                                                  q(dir_->file("tok-mask")) + " --out " + q(dir_->file(std::string("mask-") + name)),
                                              &log);
      if (status != 0) throw std::runtime_error("model init failed: " + log);
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    const std::string why = testing::reference_missing(testing::hf_fixture("qwen3", "tokenizer.json"));
    if (!why.empty()) GTEST_SKIP() << why;
  }

  static std::string model_dir(const Family& f) { return dir_->file("model-" + f.name); }

  // The reference's encodings of texts with the family's tokenizer: [{"ids", "ids_special", ...}].
  static json reference(const Family& f, const std::vector<std::string>& texts) {
    return testing::run_reference({{"node_modules", testing::npm_dir()},
                                   {"tokenizer_json", model_dir(f) + "/tokenizer.json"},
                                   {"tokenizer_config", model_dir(f) + "/tokenizer_config.json"},
                                   {"texts", texts}})["encoded"];
  }

  // The reference's decodings of id lists with the masked Qwen3 tokenizer: [{"text", "text_skip"}].
  static json reference_decode(const std::vector<std::vector<TokenId>>& ids) {
    return testing::run_reference({{"node_modules", testing::npm_dir()},
                                   {"tokenizer_json", dir_->file("mask-refiner/tokenizer.json")},
                                   {"tokenizer_config", dir_->file("mask-refiner/tokenizer_config.json")},
                                   {"decode", ids}})["decoded"];
  }
  static json reference_mask(const std::vector<std::string>& texts) {
    return testing::run_reference({{"node_modules", testing::npm_dir()},
                                   {"tokenizer_json", dir_->file("mask-refiner/tokenizer.json")},
                                   {"tokenizer_config", dir_->file("mask-refiner/tokenizer_config.json")},
                                   {"texts", texts}})["encoded"];
  }

  static TempDir* dir_;
  static int64_t mask_id_;
};

TempDir* TokenizerJsonModelTest::dir_ = nullptr;
int64_t TokenizerJsonModelTest::mask_id_ = -1;

TEST_F(TokenizerJsonModelTest, ModelInfoNamesTheTokenizerAndItsVocabulary) {
  for (const Family& f : kFamilies) {
    const json info = run_json("model info " + q(model_dir(f)) + " --json");
    EXPECT_EQ(info["tokenizer"]["format"], "tokenizer.json") << f.name;
    EXPECT_EQ(info["tokenizer"]["path"], model_dir(f) + "/tokenizer.json") << f.name;
    EXPECT_EQ(info["tokenizer"]["pieces"], info["vocab_size"]) << f.name;
    EXPECT_EQ(info["tokenizer"]["adds_bos"], f.adds_bos) << f.name;
    EXPECT_EQ(info["tokenizer"]["mask_id"], -1) << f.name;  // no diffusion mask token in these
  }
}

TEST_F(TokenizerJsonModelTest, TokenizerEncodeGivesTheReferenceIds) {
  for (const Family& f : kFamilies) {
    const json ref = reference(f, {kPrompt})[0];
    // A model directory, or its tokenizer.json.
    for (const std::string& path : {model_dir(f), model_dir(f) + "/tokenizer.json"}) {
      const json plain = run_json("tokenizer encode --model " + q(path) + " --json " + q(kPrompt));
      EXPECT_EQ(plain["format"], "tokenizer.json");
      EXPECT_EQ(plain["ids"], ref["ids"]) << f.name << " " << path;
      EXPECT_EQ(plain["ids"].size(), plain["pieces"].size());
      EXPECT_EQ(run_json("tokenizer encode --model " + q(path) + " --specials --json " + q(kPrompt))["ids"],
                ref["ids_special"])
          << f.name << " " << path;
    }
  }
}

// `sculpt draft` starts from the ids the model's tokenizer gives the prompt, BOS included where
// it adds one; Drafter::draft does the same.
TEST_F(TokenizerJsonModelTest, DraftStartsWhereTheModelsTokenizerDoes) {
  for (const Family& f : kFamilies) {
    const json ref = reference(f, {kPrompt})[0];
    const json out =
        run_json("draft --model " + q(model_dir(f)) + " --prompt " + q(kPrompt) + " --max-tokens 4 --temperature 0 --json");
    EXPECT_EQ(out["prompt_ids"], ref["ids_special"]) << f.name;
    const auto ids = ref["ids"].get<std::vector<TokenId>>();
    EXPECT_EQ(out["prompt_ids"].size(), ids.size() + (f.adds_bos ? 1 : 0)) << f.name;

    Drafter drafter = Drafter::load(model_dir(f));
    DraftParams params;
    params.max_tokens = 4;
    params.sampler.temperature = 0;
    const DraftResult r = drafter.draft({kPrompt}, params)[0];
    EXPECT_EQ(json(r.prompt_ids), ref["ids_special"]) << f.name;
    std::vector<TokenId> drafted;
    for (const DraftToken& t : r.tokens) drafted.push_back(t.id);
    EXPECT_EQ(json(drafted), out["token_ids"]) << f.name;  // greedy: the binary and the library agree
  }
}

// `sculpt score` scores every token after BOS (Llama), or every token after the first (Qwen,
// whose first token has nothing to be predicted from), each given all before it: checked against
// one forward pass over the reference's ids.
TEST_F(TokenizerJsonModelTest, ScoreConditionsOnWhatTheModelsTokenizerAdds) {
  for (const Family& f : kFamilies) {
    const auto ref = reference(f, {kScored})[0]["ids_special"].get<std::vector<TokenId>>();
    TempDir dir("hf_score");
    testing::write_file(dir.file("text.txt"), kScored);
    const json out = run_json("score --model " + q(model_dir(f)) + " --input " + q(dir.file("text.txt")) + " --json");
    ASSERT_EQ(out["token_ids"], json(std::vector<TokenId>(ref.begin() + 1, ref.end()))) << f.name;

    Transformer model = load_transformer(model_dir(f));
    at::NoGradGuard no_grad;
    const at::Tensor logp = at::log_softmax(model->forward(at::tensor(ref, at::kLong).unsqueeze(0)).squeeze(0), /*dim=*/-1);
    const std::vector<float> logprobs = out["logprobs"].get<std::vector<float>>();
    double max_diff = 0;
    for (size_t i = 1; i < ref.size(); ++i)
      max_diff = std::max(max_diff, std::abs(double(logp[int64_t(i) - 1][ref[i]].item<float>()) - logprobs[i - 1]));
    EXPECT_LT(max_diff, 1e-4) << f.name;
    std::printf("[ reference ] %s: %zu tokens scored (BOS %s), max |logprob - reference forward| %.2e\n", f.name.c_str(),
                logprobs.size(), f.adds_bos ? "first" : "absent", max_diff);

    const ScoreResult s = score_text(*Drafter::load(model_dir(f)).model(), Tokenizer::load_dir(model_dir(f)), kScored);
    EXPECT_EQ(json(s.ids), out["token_ids"]) << f.name;
  }
}

// `sculpt generate --chat` writes the conversation through the drafter's chat template, as
// chat_prompt does for the library; a model without a template says so.
TEST_F(TokenizerJsonModelTest, GenerateChatUsesTheDraftersTemplate) {
  TempDir dir("hf_chat");
  testing::write_file(dir.file("chat.json"),
                      R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi \ud83d\ude00"}])");
  const std::vector<ChatMessage> messages =
      parse_chat_messages(testing::read_text_file(dir.file("chat.json")), dir.file("chat.json"));
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].content, "Hi \U0001F600");
  for (const Family& f : kFamilies) {
    const std::string config = dir.file(f.name + ".yaml");
    testing::write_file(config, "pipeline: {mode: ar_only, drafter: " + model_dir(f) + ", max_tokens: 3}\n");
    const std::string command = "generate --config " + q(config) + " --chat " + q(dir.file("chat.json")) + " --json";
    if (!f.has_chat_template) {
      std::string log;
      EXPECT_NE(testing::run_command(kSculpt + " " + command, &log), 0);
      EXPECT_THAT(log, HasSubstr(model_dir(f) + ": the model has no chat template")) << log;
      continue;
    }
    const json out = run_json(command);
    Pipeline pipeline = Pipeline::from_file(config);
    const ChatPrompt chat = chat_prompt(pipeline, messages);
    EXPECT_EQ(out["prompt"], chat.prompt) << f.name;
    EXPECT_THAT(chat.prompt, HasSubstr("Hi \U0001F600")) << f.name;
    EXPECT_FALSE(chat.stop.empty()) << f.name;
    // The template writes BOS for Llama 3; the prompt leaves it to the tokenizer (once).
    EXPECT_EQ(chat.prompt.rfind("<|begin_of_text|>", 0), std::string::npos) << f.name;
  }
}

TEST_F(TokenizerJsonModelTest, ModelInfoFindsTheDiffusionMaskToken) {
  const json info = run_json("model info " + q(dir_->file("mask-refiner")) + " --json");
  EXPECT_EQ(info["attention"], "bidirectional");
  EXPECT_EQ(info["tokenizer"]["mask_id"], mask_id_);
  EXPECT_EQ(info["tokenizer"]["adds_bos"], false);
}

// `sculpt refine` and Pipeline::edit read the text as the reference tokenizes it, rewrite only
// the tokens of the range, and give back the text the reference decodes from the ids written.
TEST_F(TokenizerJsonModelTest, RefineRewritesTheTokensOfARange) {
  TempDir dir("hf_refine");
  testing::write_file(dir.file("in.txt"), kPrompt);
  testing::write_file(dir.file("refine.yaml"), "pipeline: {mode: diffusion_only, refiner: " +
                                                   dir_->file("mask-refiner") + "}\nrefine: {steps: 2}\n");
  Pipeline pipeline = Pipeline::from_file(dir.file("refine.yaml"));
  const PipelineResult r = pipeline.edit(EditRequest{kPrompt, {{4, 8}}});  // "jury"
  const json ref = reference_mask({kPrompt})[0];
  EXPECT_EQ(json(r.draft_ids), ref["ids"]);  // no BOS for Qwen: the text's own ids
  ASSERT_EQ(r.ids.size(), r.draft_ids.size());
  std::vector<size_t> changed;
  for (size_t i = 0; i < r.ids.size(); ++i)
    if (r.ids[i] != r.draft_ids[i]) changed.push_back(i);
  EXPECT_THAT(changed, ::testing::ElementsAre(1));  // " jury" is one token; the random refiner rewrites it
  EXPECT_NE(r.ids[1], mask_id_);
  EXPECT_EQ(r.text, reference_decode({r.ids})[0]["text_skip"]);
  const std::string after = kPrompt.substr(8);  // " said ..." after "The jury", kept byte for byte
  EXPECT_EQ(r.text.rfind("The", 0), 0u) << r.text;
  EXPECT_TRUE(r.text.size() > after.size() && r.text.compare(r.text.size() - after.size(), after.size(), after) == 0)
      << r.text;

  const json out = run_json("refine --model " + q(dir_->file("mask-refiner")) + " --input " + q(dir.file("in.txt")) +
                            " --rewrite 4:8 --steps 2 --json");
  EXPECT_EQ(out["text"], r.text);
}

// Hybrid `sculpt generate`: the drafter and the refiner share the tokenizer.json; the draft and
// the refined text are the reference's decodings of the ids written.
TEST_F(TokenizerJsonModelTest, GenerateDraftsAndRefinesThroughTheTokenizerJson) {
  TempDir dir("hf_generate");
  testing::write_file(dir.file("hybrid.yaml"),
                      "runtime: {seed: 1}\npipeline: {drafter: " + dir_->file("mask-drafter") + ", refiner: " +
                          dir_->file("mask-refiner") + ", max_tokens: 8}\n"
                          "draft: {stop_at_eos: false, sampler: {temperature: 1.0, seed: 3}}\n"
                          "spans: {strategy: random, random_fraction: 0.5, max_fraction: 0.5}\nrefine: {steps: 2}\n");
  Pipeline pipeline = Pipeline::from_file(dir.file("hybrid.yaml"));
  const PipelineResult r = pipeline.generate(kPrompt);
  ASSERT_EQ(r.ids.size(), 8u);
  ASSERT_EQ(r.draft_ids.size(), 8u);
  EXPECT_NE(r.ids, r.draft_ids);  // the refiner rewrote some of the draft
  const json dec = reference_decode({r.draft_ids, r.ids});
  EXPECT_EQ(r.draft_text, dec[0]["text_skip"]);
  EXPECT_EQ(r.text, dec[1]["text_skip"]);
  const json out = run_json("generate --config " + q(dir.file("hybrid.yaml")) + " --prompt " + q(kPrompt) + " --json");
  EXPECT_EQ(out["draft"], r.draft_text);
  EXPECT_EQ(out["text"], r.text);
}

// A drafter whose vocabulary the refiner's extends with its mask token (Qwen2.5 drafting for
// Dream): the draft's ids go to the refiner as they are, no re-reading.
TEST_F(TokenizerJsonModelTest, ARefinerThatAddsAMaskTokenTakesTheDraftsIds) {
  const Family qwen3 = kFamilies[0];
  const Tokenizer drafter = Tokenizer::load_dir(model_dir(qwen3)), refiner = Tokenizer::load_dir(dir_->file("mask-refiner"));
  ASSERT_LT(drafter.n_vocab(), refiner.n_vocab());
  EXPECT_TRUE(vocabulary_extends(refiner, drafter));
  EXPECT_FALSE(vocabulary_extends(drafter, refiner));
  TempDir dir("hf_extends");
  testing::write_file(dir.file("hybrid.yaml"),
                      "runtime: {seed: 1}\npipeline: {drafter: " + model_dir(qwen3) + ", refiner: " +
                          dir_->file("mask-refiner") + ", max_tokens: 8}\n"
                          "draft: {stop_at_eos: false, sampler: {temperature: 1.0, seed: 3}}\n"
                          "spans: {strategy: random, random_fraction: 0.5, max_fraction: 0.5}\nrefine: {steps: 2}\n");
  struct Spans : PipelineObserver {
    std::vector<SpansEvent> events;
    std::vector<TokenId> drafted;
    void on_spans(const SpansEvent& e) override { events.push_back(e); }
    void on_draft_token(const DraftTokenEvent& e) override { drafted.push_back(e.id); }
  } seen;
  const PipelineResult r = Pipeline::from_file(dir.file("hybrid.yaml")).generate(kPrompt, &seen);
  ASSERT_EQ(seen.events.size(), 1u);
  EXPECT_TRUE(seen.events[0].token_texts.empty());
  EXPECT_EQ(r.draft_ids, seen.drafted);
}

// Fixing a text (Pipeline::edit with nothing asked): the drafter's scores of the text choose
// (spans.fix_strategy combined, the default) and check the rewrites; without BOS the text's
// first token has no score, and both read every other token's where it is. With every token
// below the threshold, half the text is rewritten, part of the emoji's two tokens included.
TEST_F(TokenizerJsonModelTest, FixScoresTheTextWithoutBos) {
  TempDir dir("hf_fix");
  testing::write_file(dir.file("hybrid.yaml"),
                      "runtime: {seed: 1}\npipeline: {drafter: " + dir_->file("mask-drafter") + ", refiner: " +
                          dir_->file("mask-refiner") + "}\n"
                          "spans: {logprob_threshold: 0, max_fraction: 0.5, verify: true}\nrefine: {steps: 2}\n");
  const json ref_ids = reference_mask({kPrompt})[0]["ids"];
  for (const std::string strategy : {"combined", "logprob"}) {
    Pipeline pipeline = Pipeline::from_file(dir.file("hybrid.yaml"), {"spans.fix_strategy=" + strategy});
    const PipelineResult r = pipeline.edit(EditRequest{kPrompt});
    EXPECT_EQ(json(r.draft_ids), ref_ids) << strategy;
    ASSERT_EQ(r.ids.size(), r.draft_ids.size()) << strategy;
    EXPECT_EQ(r.text, reference_decode({r.ids})[0]["text_skip"]) << strategy;
    const auto stage = [&](const char* name) {
      const auto it = std::find_if(r.trace.stages.begin(), r.trace.stages.end(),
                                   [&](const StageTiming& s) { return s.name == name; });
      return it == r.trace.stages.end() ? int64_t(-1) : it->n_forward;
    };
    EXPECT_EQ(stage("select_spans"), 1) << strategy;  // the drafter scored the text
    EXPECT_EQ(stage("verify"), 2) << strategy;        // the text and the rewritten text, each scored once
    std::printf("[ reference ] fix (%s): %s\n", strategy.c_str(), r.text.c_str());
  }
}

// `sculpt ablate` cuts its prompts from the corpus with the model's tokenizer.json, runs the
// baselines, and scores with an evaluator on it.
TEST_F(TokenizerJsonModelTest, AblateRunsOnTokenizerJsonModels) {
  TempDir dir("hf_ablate");
  const std::string document = "The committee's report said \"don't panic\" \u2014 caf\u00e9, \u65e5\u672c, \U0001F600. " +
                               std::string("It met twice in 2024 and  once more.\n");
  testing::write_file(dir.file("corpus/doc.txt"), document);
  testing::write_file(dir.file("pipeline.yaml"),
                      "runtime: {seed: 1}\npipeline: {drafter: " + dir_->file("mask-drafter") + ", refiner: " +
                          dir_->file("mask-refiner") + "}\nrefine: {steps: 2}\n");
  testing::write_file(dir.file("ablation.yaml"),
                      "base: " + dir.file("pipeline.yaml") + "\nout_dir: " + dir.file("out") + "\nevaluator: " +
                          dir_->file("mask-drafter") + "\neval:\n  corpus: " + dir.file("corpus") +
                          "\n  split: all\n  n_prompts: 2\n  prompt_tokens: 6\n  reference_tokens: 4\n  max_tokens: 4\n"
                          "  warmup: false\nvariants:\n  - {name: tau, set: {refine.rule: threshold}}\n");
  std::string log;
  ASSERT_EQ(testing::run_command(kSculpt + " ablate " + q(dir.file("ablation.yaml")) + " > " + q(dir.file("log.txt")), &log), 0) << log;
  const auto ids = reference_mask({document})[0]["ids"].get<std::vector<TokenId>>();
  ASSERT_GE(ids.size(), 20u);
  const json first_prompt = reference_decode({std::vector<TokenId>(ids.begin(), ids.begin() + 6)})[0]["text"];
  for (const char* variant : {"ar_only", "diffusion_only", "hybrid", "tau"}) {
    const std::string outputs = testing::read_text_file(dir.file(std::string("out/variants/") + variant + "/outputs.jsonl"));
    std::istringstream lines(outputs);
    std::string line;
    int n = 0, n_first = 0;
    while (std::getline(lines, line)) {
      const json o = json::parse(line);
      // The first window is the document's first six tokens as the reference spells them.
      if (o["id"] == "doc.txt@0") {
        EXPECT_EQ(o["prompt"], first_prompt) << variant;
        ++n_first;
      }
      EXPECT_FALSE(o["text"].get<std::string>().empty()) << variant;
      ++n;
    }
    EXPECT_EQ(n, 2) << variant;
    EXPECT_EQ(n_first, 1) << variant;
  }
}

}  // namespace
}  // namespace sculpt
