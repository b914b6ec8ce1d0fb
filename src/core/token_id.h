// The one type of a token id across Sculpt's API: the tokenizer's output, the drafter's and the
// refiner's tokens, canvases and results. 64-bit because that is LibTorch's index type, so ids
// reach the model without a conversion.
#pragma once

#include <cstdint>

namespace sculpt {

using TokenId = std::int64_t;

}  // namespace sculpt
