// Logit filters: repetition penalty, temperature, top-k, top-p, min-p; see logit_filters.h.
#include "core/logit_filters.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "core/error.h"

namespace sculpt {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kTopPTolerance = 1e-6;  // see apply_top_p in the header

double max_of(const std::vector<double>& row) { return *std::max_element(row.begin(), row.end()); }

// The order the filters rank tokens in: by value, descending, ties by id (lower first).
struct RanksBefore {
  const std::vector<double>& value;
  bool operator()(int64_t x, int64_t y) const {
    return value[size_t(x)] > value[size_t(y)] || (value[size_t(x)] == value[size_t(y)] && x < y);
  }
};

}  // namespace

void check_logit_row(const char* where, const std::vector<double>& row) {
  if (row.empty()) fail(where, "logits have an empty vocabulary");
  for (double x : row) {
    if (std::isnan(x)) fail(where, "logits contain NaN");
    if (x == std::numeric_limits<double>::infinity()) fail(where, "logits contain +inf");
  }
}

void apply_repetition_penalty(std::vector<double>& row, const std::vector<TokenId>& context, double penalty) {
  const char* where = "apply_repetition_penalty";
  check_logit_row(where, row);
  if (!(penalty > 0 && std::isfinite(penalty))) fail(where, "penalty must be finite and > 0, got ", penalty);
  const int64_t n_vocab = int64_t(row.size());
  std::unordered_set<TokenId> seen;  // each context id once
  for (TokenId id : context) {
    if (id < 0 || id >= n_vocab) fail(where, "context token id ", id, " is outside [0, ", n_vocab, ")");
    if (!seen.insert(id).second) continue;
    double& x = row[size_t(id)];
    x = x > 0 ? x / penalty : x * penalty;
  }
}

void apply_temperature(std::vector<double>& row, double temperature) {
  const char* where = "apply_temperature";
  check_logit_row(where, row);
  if (!(temperature > 0 && std::isfinite(temperature)))
    fail(where, "temperature must be finite and > 0, got ", temperature);
  for (double& x : row) x /= temperature;
}

void apply_top_k(std::vector<double>& row, int64_t k) {
  const char* where = "apply_top_k";
  check_logit_row(where, row);
  if (k < 0) fail(where, "k must be >= 0, got ", k);
  const int64_t n_vocab = int64_t(row.size());
  if (k == 0 || k >= n_vocab) return;
  std::vector<int64_t> order(static_cast<size_t>(n_vocab));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::nth_element(order.begin(), order.begin() + k, order.end(), RanksBefore{row});  // order[k..] are dropped
  for (auto it = order.begin() + k; it != order.end(); ++it) row[size_t(*it)] = kNegInf;
}

void apply_top_p(std::vector<double>& row, double top_p) {
  const char* where = "apply_top_p";
  check_logit_row(where, row);
  if (!(top_p > 0 && top_p <= 1)) fail(where, "top_p must be in (0, 1], got ", top_p);
  if (top_p >= 1) return;
  std::vector<double> p = row;
  softmax_in_place(p);
  const int64_t n_vocab = int64_t(row.size());
  // Token i of the order (probability descending, ties by id) is kept iff i = 0 or the mass of
  // the i tokens before it is below `reach`: the kept tokens are the first n_kept, n_kept the
  // least i >= 1 whose prefix mass reaches it (or all of them). The search halves [lo, hi), the
  // ranks n_kept may lie in, with nth_element, then sorts the last few dozen: linear time, where
  // a flat distribution keeps most of a 32,000-token vocabulary and sorting that would cost more
  // than the forward pass.
  const double reach = top_p - kTopPTolerance;
  std::vector<int64_t> order(static_cast<size_t>(n_vocab));
  std::iota(order.begin(), order.end(), int64_t(0));
  const RanksBefore first{p};
  auto at = [&order](int64_t rank) { return order.begin() + rank; };
  int64_t lo = 0, hi = n_vocab;  // order[0, lo) are the lo most likely tokens, of mass `before`
  double before = 0;
  while (hi - lo > 64) {
    const int64_t mid = lo + (hi - lo) / 2;
    std::nth_element(at(lo), at(mid), at(hi), first);
    double mass = before;
    for (int64_t i = lo; i < mid; ++i) mass += p[size_t(order[size_t(i)])];
    if (mass >= reach) {
      hi = mid;  // the first mid tokens reach it: n_kept <= mid
    } else {
      lo = mid, before = mass;
    }
  }
  std::sort(at(lo), at(hi), first);
  int64_t n_kept = hi;
  for (int64_t i = lo; i < hi; before += p[size_t(order[size_t(i)])], ++i)
    if (i > 0 && before >= reach) {
      n_kept = i;
      break;
    }
  for (int64_t i = n_kept; i < n_vocab; ++i) row[size_t(order[size_t(i)])] = kNegInf;
}

void apply_min_p(std::vector<double>& row, double min_p) {
  const char* where = "apply_min_p";
  check_logit_row(where, row);
  if (!(min_p >= 0 && min_p <= 1)) fail(where, "min_p must be in [0, 1], got ", min_p);
  if (min_p == 0) return;
  const double max = max_of(row);
  for (double& x : row)
    if (!(std::exp(x - max) >= min_p)) x = kNegInf;  // p / p_max >= min_p
}

void softmax_in_place(std::vector<double>& row) {
  const double max = max_of(row);
  if (!std::isfinite(max)) fail("softmax", "the row has no finite maximum");
  double sum = 0;
  for (double& x : row) sum += (x = std::exp(x - max));
  for (double& x : row) x /= sum;
}

}  // namespace sculpt
