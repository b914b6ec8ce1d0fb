// The built-in span selectors, one per spans.strategy: drafter log-probability, drafter
// entropy, the refiner's own confidence (one forward pass), random (ablations), given ranges.
//
//   std::unique_ptr<SpanSelector> selector = make_span_selector(params, &refiner);
//   std::vector<Span> spans = selector->select(draft);
#pragma once

#include <memory>

#include "diffusion_refine/span_selector.h"

namespace sculpt {

class Refiner;

// The selector for params.strategy; kRefinerConfidence needs `refiner` (else Error).
std::unique_ptr<SpanSelector> make_span_selector(const SpanParams& params, Refiner* refiner = nullptr);

}  // namespace sculpt
