// The CLI's readable view of what the refiner changed: the output text with each changed token
// shown as its old and new form, in colour on a terminal ([-old-]{+new+} otherwise, as wdiff).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tokenizer.h"

namespace sculpt::cli {

// draft and refined are token-aligned (same length); colour = ANSI escapes.
std::string render_edits(const Tokenizer& tok, const std::vector<int64_t>& draft, const std::vector<int64_t>& refined,
                         bool colour);

}  // namespace sculpt::cli
