// libFuzzer target: Hugging Face tokenizer.json (core/hf_tokenizer.h).
//  (a) The input as a tokenizer.json: it loads or throws sculpt::Error (nothing else escapes);
//      whatever loads encodes and decodes a sample text.
//  (b) The input as text, through two small real-shaped tokenizers built here: a byte-level BPE
//      (Llama 3's regex, added tokens with lstrip/rstrip/single_word, a BOS template) and a
//      sentencepiece-style BPE (Replace + Prepend, byte_fallback, Metaspace-style decoding).
//      Valid UTF-8 must encode, and decode back unchanged (byte-level: always; the other: when
//      the text holds no U+2581 and no added-token string); invalid UTF-8 must throw Error.
//      The tokens' piece_bytes must spell the decoded text (but for the space a
//      sentencepiece-style decoder strips from its start). Then the input's bytes as ids are
//      decoded and spelled (out-of-range ids throw Error).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/hf_tokenizer.h"

namespace {

// Every byte-level character as a token (ids 0..255, in byte order), a few merges, and added
// tokens from 256.
std::string byte_level_json() {
  std::string vocab;
  const auto add = [&](const std::string& token, int id) {
    vocab += (vocab.empty() ? "" : ",") + ("\"" + token + "\": " + std::to_string(id));
  };
  // The GPT-2 table: printable bytes map to themselves, the rest to U+0100.. in order.
  int shifted = 0x100;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const int c = printable ? b : shifted++;
    char buf[16];
    if (c == '"' || c == '\\') {
      std::snprintf(buf, sizeof buf, "\\%c", c);
    } else if (c < 0x80) {
      std::snprintf(buf, sizeof buf, "%c", c);
    } else {
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
    }
    add(buf, b);
  }
  add("\\u0120t", 256);
  add("he", 257);
  add("\\u0120the", 258);
  add("in", 259);
  add("ing", 260);
  return R"({"version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [
      {"id": 261, "content": "<|begin_of_text|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 262, "content": "<m>", "single_word": false, "lstrip": true, "rstrip": true, "normalized": false, "special": false},
      {"id": 263, "content": "word", "single_word": true, "lstrip": false, "rstrip": false, "normalized": false, "special": false}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
      "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [261], "tokens": ["<|begin_of_text|>"]}}},
    "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
      "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
      "vocab": {)" +
         vocab + R"(},
      "merges": [["\u0120", "t"], ["h", "e"], ["\u0120t", "he"], ["i", "n"], ["in", "g"]]}})";
}

// Llama 2's shape: "▁" prepended and for spaces, <0xNN> for every byte, unk, a few merges.
std::string sentencepiece_json() {
  std::string vocab = R"("<unk>": 0, "<s>": 1, "</s>": 2)";
  for (int b = 0; b < 256; ++b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ", \"<0x%02X>\": %d", b, 3 + b);
    vocab += buf;
  }
  vocab += R"(, "\u2581": 259, "a": 260, "b": 261, "\u2581a": 262, "ab": 263, "\u2581ab": 264)";
  return R"({"version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [
      {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "pre_tokenizer": null,
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
    "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
      "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true,
      "vocab": {)" +
         vocab + R"(},
      "merges": ["\u2581 a", "a b", "\u2581a b"]}})";
}

const sculpt::HfTokenizer& byte_level() {
  static const sculpt::HfTokenizer tok = sculpt::HfTokenizer::from_json(byte_level_json(), "", "fuzz-byte-level");
  return tok;
}

const sculpt::HfTokenizer& sentencepiece() {
  static const sculpt::HfTokenizer tok = sculpt::HfTokenizer::from_json(sentencepiece_json(), "", "fuzz-spm");
  return tok;
}

bool valid_utf8(const std::string& s) {
  try {
    byte_level().encode(s);
    return true;
  } catch (const sculpt::Error&) {
    return false;
  }
}

// (b): the text through one tokenizer; `round_trips` says whether decode must give it back.
void check_text(const sculpt::HfTokenizer& tok, const std::string& text, bool valid, bool round_trips) {
  try {
    const std::vector<sculpt::TokenId> ids = tok.encode(text, /*add_special_tokens=*/true);
    if (!valid) std::abort();  // invalid UTF-8 must be refused
    for (sculpt::TokenId id : ids) {
      if (id < 0 || id >= tok.n_vocab()) std::abort();
    }
    const std::string decoded = tok.decode(ids, /*skip_special_tokens=*/true);
    if (round_trips && decoded != text) std::abort();
    (void)tok.decode(ids);
    std::string spelled;
    for (sculpt::TokenId id : ids) spelled += tok.piece_bytes(id);
    if (spelled != decoded && spelled != " " + decoded) std::abort();
  } catch (const sculpt::Error&) {
    if (valid) std::abort();  // valid UTF-8 must encode
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;  // bounded work per input
  const std::string input(reinterpret_cast<const char*>(data), size);

  // (a) tokenizer.json.
  try {
    const sculpt::HfTokenizer tok = sculpt::HfTokenizer::from_json(input);
    const std::vector<sculpt::TokenId> ids = tok.encode("Hello, world! <s> caf\u00e9 12345 \U0001F600\n", true);
    (void)tok.decode(ids);
    (void)tok.decode(ids, /*skip_special_tokens=*/true);
    for (sculpt::TokenId id : ids) (void)tok.piece_bytes(id);
  } catch (const sculpt::Error&) {
  }

  // (b) text.
  const bool valid = valid_utf8(input);
  const bool has_added = input.find("<|begin_of_text|>") != std::string::npos ||
                         input.find("<m>") != std::string::npos || input.find("word") != std::string::npos;
  check_text(byte_level(), input, valid, valid && !has_added);
  const bool spm_round_trips = valid && input.find("\u2581") == std::string::npos &&
                               input.find("<s>") == std::string::npos && input.find("</s>") == std::string::npos &&
                               input.find("<unk>") == std::string::npos;
  check_text(sentencepiece(), input, valid, spm_round_trips);

  // Arbitrary ids.
  for (const sculpt::HfTokenizer* tok : {&byte_level(), &sentencepiece()}) {
    std::vector<sculpt::TokenId> ids;
    for (size_t i = 0; i + 1 < size && ids.size() < 64; i += 2)
      ids.push_back(sculpt::TokenId(data[i]) << 8 | data[i + 1]);
    try {
      (void)tok->decode(ids);
      (void)tok->decode(ids, /*skip_special_tokens=*/true);
      for (sculpt::TokenId id : ids) (void)tok->piece_bytes(id);
    } catch (const sculpt::Error&) {
    }
  }
  return 0;
}
