// tokenizer.json post-processors (tokenizers/src/processors) for a single sequence:
// TemplateProcessing (how Llama 2/3 and Gemma add their BOS), BertProcessing, RobertaProcessing,
// ByteLevel (offsets only: no ids change) and Sequence. They run only when special tokens are
// asked for; without them every post-processor leaves the ids as they are.
#pragma once

#include <memory>
#include <vector>

#include "core/hf_json.h"
#include "core/token_id.h"

namespace sculpt::hf {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens of a single sequence around `ids`.
  virtual void add_special_tokens(std::vector<TokenId>& ids) const = 0;
};

// Builds the post-processor described at `at`. Throws Error naming the unsupported type or
// option, or the malformed field (a template naming a special token it does not define, or
// using $B in the single-sequence template).
std::unique_ptr<PostProcessor> make_post_processor(const json& j, const JsonAt& at);

// The single-sequence template transformers builds from add_bos_token / add_eos_token
// (LlamaTokenizerFast.update_post_processor): [bos] $A [eos]; a negative id is left out.
std::unique_ptr<PostProcessor> make_bos_eos_template(TokenId bos, TokenId eos);

}  // namespace sculpt::hf
