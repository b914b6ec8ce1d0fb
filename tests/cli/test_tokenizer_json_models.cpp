// End to end on published tokenizer.json files (Qwen3's, Llama 3's with the post-processor Meta
// publishes, Llama 2's): tiny random causal models made with `sculpt model init` for each, then
// `sculpt model info`, `tokenizer encode`, `draft`, `score` and `generate --chat` through the
// binary, and Drafter, score_text and chat_prompt through the library. Ids are compared with the
// JavaScript reference (tests/reference/hf_tokenize.mjs): a prompt is drafted from, and a text
// scored on, exactly the ids the model's own tokenizer gives it (BOS first for Llama, none for
// Qwen). Skips, saying why, without data/npm (scripts/npm_packages.sh) or node.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "hybrid/chat_prompt.h"
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

  static TempDir* dir_;
};

TempDir* TokenizerJsonModelTest::dir_ = nullptr;

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

}  // namespace
}  // namespace sculpt
