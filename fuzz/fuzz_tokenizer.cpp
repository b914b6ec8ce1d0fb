// libFuzzer target: the tokenizer interface (core/tokenizer.h) through the dlmopen'ed
// sentencepiece shim. Arbitrary bytes are encoded with the shipped model and decoded again;
// valid UTF-8 without U+2581 (the word boundary) must come back unchanged (identity
// normalisation, byte fallback), spelled by the pieces' bytes. Then arbitrary ids are decoded. SCULPT_FUZZ_TOKENIZER names the model (default: models/drafter).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/text_check.h"
#include "core/tokenizer.h"

namespace {

const sculpt::Tokenizer& tokenizer() {
  static const sculpt::Tokenizer tok = [] {
    const char* path = std::getenv("SCULPT_FUZZ_TOKENIZER");
    return sculpt::Tokenizer::load(path ? path : SCULPT_SOURCE_DIR "/models/drafter/tokenizer.model");
  }();
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const sculpt::Tokenizer& tok = tokenizer();
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const std::vector<sculpt::TokenId> ids = tok.encode(text);
    for (sculpt::TokenId id : ids)
      if (id < 0 || id >= tok.n_vocab()) std::abort();
    // Valid UTF-8 without NUL must come back unchanged, and be spelled by the pieces' bytes (but
    // for the space the decoder strips from the start). A U+2581 of the text's own is
    // sentencepiece's word boundary and comes back as a space: such texts are left out.
    if (sculpt::not_text_reason(text).empty() && text.find("\u2581") == std::string::npos) {
      const std::string decoded = tok.decode(ids);
      if (decoded != text) std::abort();
      std::string spelled;
      for (sculpt::TokenId id : ids) spelled += tok.piece_bytes(id);
      if (spelled != decoded && spelled != " " + decoded) std::abort();
    }
    std::vector<sculpt::TokenId> arbitrary;
    for (size_t i = 0; i + 1 < size; i += 2) arbitrary.push_back(sculpt::TokenId(data[i]) << 8 | data[i + 1]);
    (void)tok.decode(arbitrary);
  } catch (const sculpt::Error&) {
  }
  return 0;
}
