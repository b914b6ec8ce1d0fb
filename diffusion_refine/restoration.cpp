// Edit accounting and the restoration probe.
#include "diffusion_refine/restoration.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "diffusion_refine/refiner.h"

namespace sculpt {

EditAccounting account_edits(const std::vector<int64_t>& draft, const std::vector<int64_t>& refined,
                             const std::vector<int64_t>& reference) {
  if (draft.size() != refined.size() || draft.size() != reference.size())
    fail("edit accounting", "needs token-aligned texts: draft ", draft.size(), ", refined ", refined.size(),
         ", reference ", reference.size(), " tokens");
  EditAccounting a;
  a.n_tokens = int64_t(draft.size());
  for (size_t i = 0; i < draft.size(); ++i) {
    const bool right_before = draft[i] == reference[i], right_after = refined[i] == reference[i];
    a.n_changed += draft[i] != refined[i];
    a.n_wrong_before += !right_before;
    a.n_wrong_after += !right_after;
    a.n_fixed += !right_before && right_after;
    a.n_broken += right_before && !right_after;
  }
  return a;
}

RestorationResult run_restoration(Refiner& refiner, const std::vector<int64_t>& context,
                                  const std::vector<int64_t>& clean, double fraction, const RefineParams& params,
                                  uint64_t seed) {
  const int64_t n = int64_t(clean.size());
  const int64_t n_corrupt = std::min<int64_t>(n, int64_t(std::llround(fraction * double(n))));
  if (n_corrupt < 1) fail("restoration", "corrupting ", fraction, " of ", n, " tokens corrupts none");
  const int64_t n_vocab = refiner.model()->config().vocab_size, mask = refiner.mask_id();

  std::mt19937_64 rng(seed);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  order.resize(size_t(n_corrupt));
  std::sort(order.begin(), order.end());
  std::vector<int64_t> draft = clean;
  std::uniform_int_distribution<int64_t> token(0, n_vocab - 1);
  for (int64_t i : order) {
    int64_t t;
    do t = token(rng); while (t == clean[size_t(i)] || t == mask);
    draft[size_t(i)] = t;
  }
  Canvas canvas = Canvas::from_parts(context, draft);
  std::vector<Span> spans;
  for (int64_t i : order) spans.push_back({i, i + 1});
  canvas.mark(spans, CanvasRole::kMasked);
  const RefineResult r = refiner.refine(canvas, params);

  RestorationResult out;
  const std::vector<int64_t> refined(r.tokens.begin() + canvas.n_context, r.tokens.end());
  out.n_corrupted = n_corrupt;
  for (int64_t i : order) out.n_restored += refined[size_t(i)] == clean[size_t(i)];
  out.accuracy = double(out.n_restored) / double(n_corrupt);
  out.n_forward = r.trace.n_forward;
  out.tokens_per_forward = double(n_corrupt) / double(std::max<int64_t>(1, r.trace.n_forward));
  out.accounting = account_edits(draft, refined, clean);
  out.seconds = r.trace.seconds;
  return out;
}

}  // namespace sculpt
