// The refiner's step schedules and commit rules; see denoise_schedule.h.
#include "diffusion_refine/denoise_schedule.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace sculpt {

std::vector<int64_t> num_transfer_tokens(int64_t n_masked, int64_t n_steps, RemaskSchedule schedule) {
  if (n_masked < 0 || n_steps < 1) fail("num_transfer_tokens", "needs n_masked >= 0 and n_steps >= 1, got ", n_masked, ", ", n_steps);
  const int64_t steps = std::min(n_masked, n_steps);
  std::vector<int64_t> out;
  if (steps == 0) return out;
  if (schedule == RemaskSchedule::kLinear) {
    out.assign(size_t(steps), n_masked / steps);
    for (int64_t i = 0; i < n_masked % steps; ++i) ++out[size_t(i)];
    return out;
  }
  // Cosine: remaining(s) = floor(n cos(pi/2 s/N)), made strictly decreasing so every step commits.
  int64_t remaining = n_masked;
  for (int64_t s = 1; s <= steps; ++s) {
    int64_t next = s == steps ? 0 : int64_t(std::floor(double(n_masked) * std::cos(M_PI / 2 * double(s) / double(steps))));
    next = std::min(next, remaining - 1);
    next = std::max(next, steps - s);  // leave at least one for each step still to come
    out.push_back(remaining - next);
    remaining = next;
  }
  return out;
}

std::vector<int64_t> select_by_confidence(const std::vector<float>& confidence, int64_t k) {
  std::vector<int64_t> order(confidence.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return confidence[size_t(a)] > confidence[size_t(b)]; });
  order.resize(size_t(std::clamp<int64_t>(k, 0, int64_t(order.size()))));
  return order;
}

std::vector<int64_t> select_by_threshold(const std::vector<float>& confidence, double tau) {
  std::vector<int64_t> out;
  // Compared in float, the confidences' own precision: 0.9f reaches a tau of 0.9.
  for (size_t i = 0; i < confidence.size(); ++i)
    if (confidence[i] >= float(tau)) out.push_back(int64_t(i));
  if (out.empty() && !confidence.empty()) out = select_by_confidence(confidence, 1);
  return out;
}

}  // namespace sculpt
