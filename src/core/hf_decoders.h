// tokenizer.json decoders (tokenizers/src/decoders): ByteLevel, Metaspace, Replace,
// ByteFallback, Fuse, Strip, WordPiece, BPEDecoder and Sequence. CTC is refused at load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/hf_json.h"

namespace sculpt::hf {

// What the decoders that make bytes (ByteLevel, ByteFallback) do with bytes that are not valid
// UTF-8: what the library does (U+FFFD), or keep them (to spell one token's bytes, which may be
// part of a character).
enum class DecodeBytes { kLossy, kRaw };

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decoder::decode_chain: token strings in, token strings out (decode() joins the result).
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes bytes) const = 0;
};

// Builds the decoder described at `at`. Throws Error naming the unsupported type or option, or
// the malformed field.
std::unique_ptr<Decoder> make_decoder(const json& j, const JsonAt& at);

}  // namespace sculpt::hf
