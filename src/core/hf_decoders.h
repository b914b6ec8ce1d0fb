// tokenizer.json decoders (tokenizers/src/decoders): ByteLevel, Metaspace, Replace,
// ByteFallback, Fuse, Strip, WordPiece, BPEDecoder and Sequence. CTC is refused at load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/hf_json.h"

namespace sculpt::hf {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decoder::decode_chain: token strings in, token strings out (decode() joins the result).
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

// Builds the decoder described at `at`. Throws Error naming the unsupported type or option, or
// the malformed field.
std::unique_ptr<Decoder> make_decoder(const json& j, const JsonAt& at);

}  // namespace sculpt::hf
