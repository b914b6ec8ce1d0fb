// The sentencepiece shim (spm_shim.h), opened once per process with dlmopen() in its own
// link-map namespace; see tokenizer.cpp for why. Internal to Sculpt: the tokenizer and
// tokenizer training (train/tokenizer_training.cpp) call sentencepiece through it.
#pragma once

#include <cstddef>
#include <string>

#include "core/spm_shim/spm_shim.h"

namespace sculpt {

// Room for sentencepiece's messages, which name files and flags but are never long.
inline constexpr size_t kSpmErrorCap = 2048;

// The shim's functions, resolved once per process.
struct SpmShim {
  std::string path;   // the library that was opened
  std::string error;  // non-empty if opening failed; then every use throws it
  decltype(&sculpt_spm_abi_version) abi_version = nullptr;
  decltype(&sculpt_spm_train) train = nullptr;
  decltype(&sculpt_spm_load) load = nullptr;
  decltype(&sculpt_spm_free) free = nullptr;
  decltype(&sculpt_spm_n_vocab) n_vocab = nullptr;
  decltype(&sculpt_spm_special_id) special_id = nullptr;
  decltype(&sculpt_spm_piece_kind) piece_kind = nullptr;
  decltype(&sculpt_spm_piece_to_id) piece_to_id = nullptr;
  decltype(&sculpt_spm_id_to_piece) id_to_piece = nullptr;
  decltype(&sculpt_spm_encode) encode = nullptr;
  decltype(&sculpt_spm_decode) decode = nullptr;
};

// The opened shim; throws Error (naming where it looked, or why opening failed) if it cannot be
// opened. The outcome is cached: the process makes exactly one dlmopen attempt.
const SpmShim& spm_shim();

}  // namespace sculpt
