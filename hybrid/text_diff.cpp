// Word-level diff of two texts (Myers' shortest edit script over word units); see text_diff.h.
#include "hybrid/text_diff.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "hybrid/text_spans.h"

namespace sculpt {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Byte offsets where each unit starts, then the text's length: a unit is a maximal run of
// whitespace or of anything else.
std::vector<size_t> unit_bounds(const std::string& text) {
  std::vector<size_t> bounds{0};
  for (size_t i = 1; i < text.size(); ++i)
    if (is_space(text[i]) != is_space(text[i - 1])) bounds.push_back(i);
  if (!text.empty()) bounds.push_back(text.size());
  return bounds;
}

struct Units {
  const std::string& text;
  std::vector<size_t> bounds;
  size_t size() const { return bounds.empty() ? 0 : bounds.size() - 1; }
  std::string_view at(size_t i) const { return std::string_view(text).substr(bounds[i], bounds[i + 1] - bounds[i]); }
};

// For each unit of a and of b: whether it is kept (part of a longest common subsequence found
// by Myers' greedy forward search). trace[d] keeps the furthest x of diagonals k in [-d-1, d+1]
// before step d (at index k + d + 1), O(D^2) in all, for the backtrack.
void mark_kept(const Units& a, const Units& b, std::vector<char>& kept_a, std::vector<char>& kept_b) {
  const int64_t n = int64_t(a.size()), m = int64_t(b.size()), max = n + m, offset = max + 1;
  kept_a.assign(size_t(n), 0);
  kept_b.assign(size_t(m), 0);
  std::vector<int64_t> v(size_t(2 * max + 3), 0);  // furthest x on diagonal k, at index offset + k
  std::vector<std::vector<int64_t>> trace;
  auto furthest = [&](const std::vector<int64_t>& vd, int64_t d, int64_t k) { return vd[size_t(k + d + 1)]; };
  auto goes_down = [](int64_t d, int64_t k, int64_t left, int64_t right) { return k == -d || (k != d && left < right); };
  bool done = false;
  for (int64_t d = 0; d <= max && !done; ++d) {
    trace.emplace_back(v.begin() + (offset - d - 1), v.begin() + (offset + d + 2));
    for (int64_t k = -d; k <= d && !done; k += 2) {
      const int64_t left = v[size_t(offset + k - 1)], right = v[size_t(offset + k + 1)];
      int64_t x = goes_down(d, k, left, right) ? right : left + 1;
      int64_t y = x - k;
      while (x < n && y < m && a.at(size_t(x)) == b.at(size_t(y))) ++x, ++y;
      v[size_t(offset + k)] = x;
      done = x >= n && y >= m;
    }
  }
  // Backtrack from (n, m): the snake (diagonal run) that ends each step marks kept units.
  int64_t x = n, y = m;
  for (int64_t d = int64_t(trace.size()) - 1; d >= 0; --d) {
    const std::vector<int64_t>& vd = trace[size_t(d)];
    const int64_t k = x - y;
    int64_t snake_x = 0, prev_x = 0, prev_y = 0;  // d = 0: one snake from (0, 0)
    if (d > 0) {
      const bool down = goes_down(d, k, furthest(vd, d, k - 1), furthest(vd, d, k + 1));
      const int64_t prev_k = down ? k + 1 : k - 1;
      prev_x = furthest(vd, d, prev_k);
      prev_y = prev_x - prev_k;
      snake_x = down ? prev_x : prev_x + 1;
    }
    for (; x > snake_x; --x, --y) kept_a[size_t(x - 1)] = kept_b[size_t(y - 1)] = 1;
    x = prev_x;
    y = prev_y;
  }
}

}  // namespace

std::vector<TextChange> word_changes(const std::string& before, const std::string& after) {
  const Units a{before, unit_bounds(before)}, b{after, unit_bounds(after)};
  std::vector<char> kept_a, kept_b;
  mark_kept(a, b, kept_a, kept_b);
  std::vector<TextChange> out;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && kept_a[i] && kept_b[j]) {
      ++i, ++j;
      continue;
    }
    TextChange c;
    c.old_begin = i < a.size() ? a.bounds[i] : before.size();
    c.new_begin = j < b.size() ? b.bounds[j] : after.size();
    while (i < a.size() && !kept_a[i]) ++i;
    while (j < b.size() && !kept_b[j]) ++j;
    c.old_end = i < a.size() ? a.bounds[i] : before.size();
    c.new_end = j < b.size() ? b.bounds[j] : after.size();
    c.old_text = before.substr(c.old_begin, c.old_end - c.old_begin);
    c.new_text = after.substr(c.new_begin, c.new_end - c.new_begin);
    out.push_back(std::move(c));
  }
  return out;
}

std::string render_word_diff(const std::string& before, const std::string& after, bool colour) {
  std::string out;
  size_t at = 0;  // in `after`
  for (const TextChange& c : word_changes(before, after)) {
    out += after.substr(at, c.new_begin - at);
    if (colour) {
      if (!c.old_text.empty()) out += "\x1b[9;31m" + c.old_text + "\x1b[0m";
      if (!c.new_text.empty()) out += "\x1b[1;32m" + c.new_text + "\x1b[0m";
    } else {
      if (!c.old_text.empty()) out += "[-" + c.old_text + "-]";
      if (!c.new_text.empty()) out += "{+" + c.new_text + "+}";
    }
    at = c.new_end;
  }
  return out + after.substr(at);
}

std::vector<TextChange> word_changes_in_code_points(const std::string& before, const std::string& after) {
  std::vector<TextChange> out = word_changes(before, after);
  for (TextChange& c : out) {
    c.old_begin = size_t(code_point_offset(before, c.old_begin));
    c.old_end = size_t(code_point_offset(before, c.old_end));
    c.new_begin = size_t(code_point_offset(after, c.new_begin));
    c.new_end = size_t(code_point_offset(after, c.new_end));
  }
  return out;
}

}  // namespace sculpt
