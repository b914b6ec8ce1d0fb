// tokenizer.json normalizers (tokenizers/src/normalizers): NFC, NFD, NFKC, NFKD, Lowercase,
// Replace, Prepend, Strip, StripAccents, Nmt, ByteLevel and Sequence. BertNormalizer and
// Precompiled are refused at load.
#pragma once

#include <memory>

#include "core/hf_json.h"
#include "core/hf_text.h"

namespace sculpt::hf {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites t in place, keeping each byte's origin as NormalizedString's alignments would.
  virtual void normalize(NormalizedText& t) const = 0;
};

// Builds the normalizer described at `at` (never null: a JSON null is handled by the caller).
// Throws Error naming the unsupported type or option, or the malformed field.
std::unique_ptr<Normalizer> make_normalizer(const json& j, const JsonAt& at);

}  // namespace sculpt::hf
