// Tests of the Tokenizer facade (core/tokenizer.h) over both formats: which file of a model
// directory is read and what a bad one says, the mask token, copying tokenizer files, and, on
// the published tokenizer.json files of Qwen3, Llama 3 and Llama 2 against the JavaScript
// reference (tests/reference/hf_tokenize.mjs): ids with and without the model's special tokens,
// BOS where the model's tokenizer puts it, decoding that skips special tokens, piece_bytes
// spelling the decoded text, and chat prompts that give the model BOS once. The sentencepiece
// side is the shipped drafter's tokenizer.model. Reference tests skip, saying why, without
// data/npm (scripts/npm_packages.sh) or node.
#include "core/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/chat_template.h"
#include "core/error.h"
#include "core/hf_text.h"
#include "core/tokenizer_files.h"
#include "support/hf_reference.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using sculpt::testing::error_message;
using sculpt::testing::hard_texts;
using sculpt::testing::hf_fixture;
using sculpt::testing::npm_dir;
using sculpt::testing::reference_missing;
using sculpt::testing::run_reference;
using sculpt::testing::TempDir;
using sculpt::testing::write_file;

const std::string kShippedModel = SCULPT_SOURCE_DIR "/models/drafter/tokenizer.model";

json added_token(const std::string& content, int64_t id, bool special) {
  return {{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},   {"normalized", false}, {"special", special}};
}

// A tokenizer.json of a few tokens: "a", "b", "ab" (one merge) and the added tokens given.
// (A vector, not a json: a one-element {token} would be the token itself under clang.)
json tiny_json(const std::vector<json>& added = {}) {
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", json(added)},
          {"normalizer", nullptr},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}},
            {"merges", {"a b"}}}}};
}

// ---------------------------------------------------------------------------------------------
// Finding and loading

TEST(TokenizerDirTest, TokenizerJsonComesBeforeTokenizerModel) {
  TempDir dir("tok_dir");
  write_file(dir.file("tokenizer.model"), testing::read_text_file(kShippedModel));
  EXPECT_EQ(Tokenizer::load_dir(dir.path()).format(), TokenizerFormat::kSentencePiece);
  EXPECT_EQ(Tokenizer::load_dir(dir.path()).path(), dir.file("tokenizer.model"));
  write_file(dir.file("tokenizer.json"), tiny_json().dump());
  const Tokenizer tok = Tokenizer::load_dir(dir.path());
  EXPECT_EQ(tok.format(), TokenizerFormat::kHuggingFace);
  EXPECT_EQ(tok.path(), dir.file("tokenizer.json"));
  EXPECT_EQ(tok.n_vocab(), 3);
  EXPECT_THAT(tok.encode("abba"), ElementsAre(2, 1, 0));
  // load() takes the directory, either file, and says which format it read.
  EXPECT_EQ(Tokenizer::load(dir.path()).format(), TokenizerFormat::kHuggingFace);
  EXPECT_EQ(Tokenizer::load(dir.file("tokenizer.json")).format(), TokenizerFormat::kHuggingFace);
  EXPECT_EQ(Tokenizer::load(dir.file("tokenizer.model")).format(), TokenizerFormat::kSentencePiece);
  EXPECT_STREQ(tokenizer_format_name(tok.format()), "tokenizer.json");
}

TEST(TokenizerDirTest, ADirectoryWithNeitherFileIsOneErrorNamingBoth) {
  TempDir dir("tok_dir");
  write_file(dir.file("config.json"), "{}");
  EXPECT_EQ(error_message([&] { Tokenizer::load_dir(dir.path()); }),
            dir.path() + ": no tokenizer: a model directory needs tokenizer.json or tokenizer.model");
  EXPECT_EQ(error_message([&] { Tokenizer::load_dir(dir.file("nope")); }),
            dir.file("nope") + ": not a model directory (no such directory)");
}

// tokenizer_config.json beside tokenizer.json names BOS/EOS and may make the post-processor
// add BOS (add_bos_token), as transformers does.
TEST(TokenizerDirTest, ReadsTokenizerConfigBesideTheJson) {
  TempDir dir("tok_dir");
  write_file(dir.file("tokenizer.json"), tiny_json({added_token("<s>", 3, true), added_token("</s>", 4, true)}).dump());
  const Tokenizer bare = Tokenizer::load_dir(dir.path());
  EXPECT_EQ(bare.bos_id(), -1);
  EXPECT_EQ(bare.bos_for_model(), -1);
  EXPECT_THAT(bare.encode_with_specials("ab"), ElementsAre(2));
  write_file(dir.file("tokenizer_config.json"), R"({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true})");
  const Tokenizer tok = Tokenizer::load_dir(dir.path());
  EXPECT_EQ(tok.bos_id(), 3);
  EXPECT_EQ(tok.eos_id(), 4);
  EXPECT_EQ(tok.bos_for_model(), 3);
  EXPECT_THAT(tok.encode("ab"), ElementsAre(2));  // encode adds nothing
  EXPECT_THAT(tok.encode_with_specials("ab"), ElementsAre(3, 2));
  EXPECT_TRUE(tok.is_special(3));
  EXPECT_FALSE(tok.is_special(2));
  EXPECT_EQ(tok.decode({3, 2, 4}), "ab");  // special tokens decode to nothing
  EXPECT_EQ(tok.piece_bytes(3), "");
  EXPECT_EQ(tok.id_to_piece(3), "<s>");
}

TEST(TokenizerDirTest, BadTokenizerJsonSaysWhichFileAndWhat) {
  TempDir dir("tok_dir");
  const std::string path = dir.file("tokenizer.json");
  write_file(path, tiny_json().dump().substr(0, 40));
  EXPECT_THAT(error_message([&] { Tokenizer::load_dir(dir.path()); }), ::testing::StartsWith(path + ": not valid JSON"));
  json wordpiece = tiny_json();
  wordpiece["model"]["type"] = "WordPiece";
  write_file(path, wordpiece.dump());
  EXPECT_THAT(error_message([&] { Tokenizer::load(path); }), ::testing::AllOf(HasSubstr(path), HasSubstr("WordPiece")));
  // Two tokens before every text: no single BOS to start contexts with.
  json two = tiny_json({added_token("<s>", 3, true)});
  two["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"SpecialToken": {"id": "<s>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}}],
      "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [3], "tokens": ["<s>"]}}})");
  write_file(path, two.dump());
  EXPECT_EQ(error_message([&] { Tokenizer::load(path); }),
            path + ": post_processor: puts 2 tokens before a text; only one (a BOS) is supported");
}

// The shipped sentencepiece models keep what they always did: BOS starts every text, control
// pieces are the special tokens, [MASK] is the reserved control piece.
TEST(TokenizerSentencePieceTest, KeepsItsSpecialTokens) {
  const Tokenizer tok = Tokenizer::load(kShippedModel);
  EXPECT_EQ(tok.format(), TokenizerFormat::kSentencePiece);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.bos_for_model(), tok.bos_id());
  const std::vector<TokenId> ids = tok.encode("The jury said");
  std::vector<TokenId> with_bos = {tok.bos_id()};
  with_bos.insert(with_bos.end(), ids.begin(), ids.end());
  EXPECT_EQ(tok.encode_with_specials("The jury said"), with_bos);
  for (TokenId id : {tok.bos_id(), tok.eos_id(), tok.mask_id()}) EXPECT_TRUE(tok.is_special(id)) << id;
  for (TokenId id : ids) EXPECT_FALSE(tok.is_special(id)) << id;
  EXPECT_EQ(tok.mask_id(), tok.piece_to_id("[MASK]"));
  EXPECT_GE(tok.mask_id(), 0);
}

// ---------------------------------------------------------------------------------------------
// The mask token

TEST(TokenizerMaskTest, DiffusionMaskTokensInOrder) {
  TempDir dir("tok_mask");
  const auto mask_of = [&](const std::vector<json>& added) {
    write_file(dir.file("tokenizer.json"), tiny_json(added).dump());
    return Tokenizer::load_dir(dir.path()).mask_id();
  };
  EXPECT_EQ(mask_of({}), -1);
  EXPECT_EQ(mask_of({added_token("[MASK]", 3, true)}), 3);
  EXPECT_EQ(mask_of({added_token("[MASK]", 3, true), added_token("<|mdm_mask|>", 4, true)}), 4);  // LLaDA
  EXPECT_EQ(mask_of({added_token("<|mdm_mask|>", 3, true), added_token("<|mask|>", 4, true)}), 4);  // Dream
}

// ---------------------------------------------------------------------------------------------
// Copying a model directory's tokenizer

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

TEST(TokenizerFilesTest, CopiesWhatTheSourceHas) {
  TempDir from("tok_from"), to("tok_to");
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                           "tokenizer.model", "config.json"})
    write_file(from.file(name), name);
  EXPECT_THAT(copy_tokenizer_files(from.path(), to.file("all")),
              ElementsAre("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                          "tokenizer.model"));
  EXPECT_EQ(testing::read_text_file(to.file("all/chat_template.jinja")), "chat_template.jinja");
  // A tokenizer.json brings the files beside it, not the other format.
  fs::rename(from.file("tokenizer.json"), from.file("qwen.json"));
  copy_tokenizer_files(from.file("qwen.json"), to.file("json"));
  EXPECT_THAT(names_in(to.file("json")), UnorderedElementsAre("tokenizer.json", "tokenizer_config.json",
                                                              "special_tokens_map.json", "chat_template.jinja"));
  EXPECT_EQ(testing::read_text_file(to.file("json/tokenizer.json")), "tokenizer.json");
  // A sentencepiece model, whatever its name, becomes tokenizer.model.
  fs::rename(from.file("tokenizer.model"), from.file("tok.model"));
  copy_tokenizer_files(from.file("tok.model"), to.file("spm"));
  EXPECT_THAT(names_in(to.file("spm")), ElementsAre("tokenizer.model"));
  EXPECT_EQ(testing::read_text_file(to.file("spm/tokenizer.model")), "tokenizer.model");
}

// ---------------------------------------------------------------------------------------------
// Published tokenizer.json files against the JavaScript reference

struct Family {
  std::string name;  // as testing::write_hf_tokenizer names it
  bool adds_bos;     // what the model's tokenizer does (the reference checks it too)
  bool drops_leading_space;  // a sentencepiece-style decoder strips the space it prepends
};

const std::vector<Family>& families() {
  static const std::vector<Family> kFamilies = {
      {"qwen3", false, false}, {"llama3", false, false}, {"llama3-bos", true, false}, {"llama2", true, true}};
  return kFamilies;
}

// Texts that must come back unchanged from every family: emoji, CJK, runs of white space.
const std::vector<std::string>& round_trip_texts() {
  static const std::vector<std::string> kTexts = {
      "I love \U0001F355 and \U0001F680!", "\U0001F468\u200D\U0001F469\u200D\U0001F467 family",
      "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3092\u51e6\u7406\u3057\u307e\u3059\u3002",
      "a  b   c    d     e", "  \n\n  indented\n    more\n", "caf\u00e9 \u00fcber \u20ac5"};
  return kTexts;
}

void expect_facade_agrees(const Family& family) {
  TempDir dir("tok_family");
  testing::write_hf_tokenizer(family.name, dir.path());
  const Tokenizer tok = Tokenizer::load_dir(dir.path());
  ASSERT_EQ(tok.format(), TokenizerFormat::kHuggingFace);
  std::vector<std::string> texts = hard_texts();
  texts.insert(texts.end(), round_trip_texts().begin(), round_trip_texts().end());
  const json response = run_reference({{"node_modules", npm_dir()},
                                       {"tokenizer_json", dir.file("tokenizer.json")},
                                       {"tokenizer_config", dir.file("tokenizer_config.json")},
                                       {"texts", texts}});
  // BOS: the reference's ids with special tokens are its ids after one BOS, or the ids alone.
  const json& sample = response["encoded"][texts.size() - round_trip_texts().size()];
  const auto ref_ids = sample["ids"].get<std::vector<TokenId>>();
  const auto ref_special = sample["ids_special"].get<std::vector<TokenId>>();
  ASSERT_EQ(ref_special.size(), ref_ids.size() + (family.adds_bos ? 1 : 0)) << family.name;
  EXPECT_EQ(tok.bos_for_model(), family.adds_bos ? ref_special[0] : -1) << family.name;
  if (family.adds_bos) {
    EXPECT_EQ(tok.bos_for_model(), tok.bos_id()) << family.name;
  }

  size_t mismatches = 0, n_tokens = 0, n_partial = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const json& ref = response["encoded"][i];
    const std::vector<TokenId> ids = tok.encode(texts[i]);
    const std::vector<TokenId> ids_special = tok.encode_with_specials(texts[i]);
    const std::string decoded = ref["decoded_skip"].get<std::string>();
    const bool same = ids == ref["ids"].get<std::vector<TokenId>>() &&
                      ids_special == ref["ids_special"].get<std::vector<TokenId>>() && tok.decode(ids_special) == decoded;
    EXPECT_TRUE(same) << family.name << " text " << i << " '" << texts[i] << "'";
    mismatches += !same;
    n_tokens += ids.size();
    // piece_bytes spells the decoded text (a sentencepiece-style decoder drops its prefix space).
    std::string spelled;
    for (TokenId id : ids_special) spelled += tok.piece_bytes(id);
    EXPECT_TRUE(spelled == decoded || (family.drops_leading_space && spelled == " " + decoded))
        << family.name << " text " << i << ": spelled '" << spelled << "', decoded '" << decoded << "'";
    // piece_text is piece_bytes when that is whole characters, else valid UTF-8 with U+FFFD.
    for (TokenId id : ids) {
      const std::string bytes = tok.piece_bytes(id), text = tok.piece_text(id);
      if (hf::utf8_invalid_at(bytes) == std::string::npos) {
        EXPECT_EQ(text, bytes) << family.name << " id " << id;
      } else {
        ++n_partial;
        EXPECT_EQ(hf::utf8_invalid_at(text), std::string::npos) << family.name << " id " << id;
        EXPECT_THAT(text, HasSubstr("\uFFFD")) << family.name << " id " << id;
      }
    }
  }
  for (const std::string& text : round_trip_texts()) EXPECT_EQ(tok.decode(tok.encode(text)), text) << family.name;
  EXPECT_GT(n_partial, 0u) << family.name << ": no token of the hard texts held part of a character";
  std::printf("[ reference ] %s through Tokenizer: %zu texts, %zu tokens, BOS %s, %zu tokens holding part of a "
              "character, %zu mismatches\n",
              family.name.c_str(), texts.size(), n_tokens, family.adds_bos ? "first" : "absent", n_partial, mismatches);
}

TEST(TokenizerReferenceTest, PublishedTokenizersThroughTheFacade) {
  const std::string why = reference_missing(hf_fixture("qwen3", "tokenizer.json"));
  if (!why.empty()) GTEST_SKIP() << why;
  for (const Family& family : families()) expect_facade_agrees(family);
}

// A chat prompt gives the model the ids transformers' apply_chat_template(tokenize=True) gives:
// the rendered text encoded without special tokens, so a template that writes BOS (Llama 3)
// has it once, and one that does not (Qwen3) has none.
TEST(TokenizerReferenceTest, ChatPromptsHaveBosOnce) {
  const std::string why = reference_missing(hf_fixture("qwen3", "tokenizer.json"));
  if (!why.empty()) GTEST_SKIP() << why;
  const std::vector<ChatMessage> messages = {{"system", "Be brief."}, {"user", "Hello \U0001F600, how are you?"}};
  for (const std::string family : {"qwen3", "llama3-bos"}) {
    TempDir dir("tok_chat");
    testing::write_hf_tokenizer(family, dir.path());
    const Tokenizer tok = Tokenizer::load_dir(dir.path());
    const std::optional<ChatFormat> format = load_chat_format(dir.path());
    ASSERT_TRUE(format.has_value()) << family;
    const std::string rendered = format->render(messages);
    const json response = run_reference({{"node_modules", npm_dir()},
                                         {"tokenizer_json", dir.file("tokenizer.json")},
                                         {"tokenizer_config", dir.file("tokenizer_config.json")},
                                         {"texts", {rendered}}});
    std::vector<TokenId> ours;
    if (tok.bos_for_model() >= 0) ours.push_back(tok.bos_for_model());  // as the drafter starts a prompt
    for (TokenId id : tok.encode(format->prompt(messages, tok))) ours.push_back(id);
    EXPECT_EQ(ours, response["encoded"][0]["ids"].get<std::vector<TokenId>>()) << family;
    if (family == "qwen3") {
      EXPECT_EQ(tok.bos_for_model(), -1);
    } else {
      ASSERT_GE(tok.bos_for_model(), 0);
      EXPECT_EQ(ours.front(), tok.bos_for_model());
      EXPECT_EQ(std::count(ours.begin(), ours.end(), tok.bos_for_model()), 1);
    }
  }
}

}  // namespace
}  // namespace sculpt
