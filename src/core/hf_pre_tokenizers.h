// tokenizer.json pre-tokenizers (tokenizers/src/pre_tokenizers): ByteLevel, Split, Metaspace,
// Digits, Whitespace, WhitespaceSplit, CharDelimiterSplit, Punctuation and Sequence.
// BertPreTokenizer, UnicodeScripts and FixedLength are refused at load.
#pragma once

#include <memory>
#include <vector>

#include "core/hf_json.h"
#include "core/hf_text.h"

namespace sculpt::hf {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits (and may rewrite) every piece that is not an added token, dropping empty pieces, as
  // PreTokenizedString::split does.
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

// Builds the pre-tokenizer described at `at`. Throws Error naming the unsupported type or
// option, or the malformed field.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const JsonAt& at);

// SplitDelimiterBehavior from its JSON name ("Isolated", ...).
SplitBehavior parse_split_behavior(const json& j, const JsonAt& at);

// GPT-2's pre-tokenization regex (pre_tokenizers/byte_level.rs), which ByteLevel applies when
// use_regex is true.
inline constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace sculpt::hf
