// Planning an edit: gap markers out, positions mapped, every conflict refused; see text_edit.h.
#include "hybrid/edit_request.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace sculpt {
namespace {

// Byte offset of each code point of `text`, then text.size().
std::vector<size_t> code_point_starts(const std::string& text) {
  std::vector<size_t> out;
  for (size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) out.push_back(i);
  out.push_back(text.size());
  return out;
}

struct Marker {
  int64_t begin = 0, end = 0;  // code points of the marker in the text as given
  int n_tokens = 0;
  bool space_before = false;   // the space before it goes with it
};

// "[___]" / "[___:N]" markers, by code point; anything that starts like one but is not is an error.
std::vector<Marker> find_markers(const std::string& text, const std::vector<size_t>& starts) {
  std::vector<Marker> out;
  auto cp_of = [&](size_t byte) { return int64_t(std::lower_bound(starts.begin(), starts.end(), byte) - starts.begin()); };
  for (size_t i = text.find("[___"); i != std::string::npos; i = text.find("[___", i + 1)) {
    size_t j = i + 1;
    while (j < text.size() && text[j] == '_') ++j;
    Marker m;
    m.begin = cp_of(i);
    const std::string where = str_cat("gap marker at ", m.begin);
    int n = EditRequest::kDefaultGapTokens;
    if (j < text.size() && text[j] == ':') {
      size_t k = j + 1;
      while (k < text.size() && std::isdigit(static_cast<unsigned char>(text[k])) && k - j <= 5) ++k;
      if (k == j + 1 || k >= text.size() || text[k] != ']')
        fail(where, "expected [___] or [___:N] with N a number of tokens, got '", text.substr(i, std::min<size_t>(k + 1 - i, 24)), "'");
      n = std::stoi(text.substr(j + 1, k - j - 1));
      j = k;
    } else if (j >= text.size() || text[j] != ']') {
      fail(where, "expected [___] or [___:N] with N a number of tokens, got '", text.substr(i, std::min<size_t>(j + 1 - i, 24)), "'");
    }
    if (n < 1 || n > EditRequest::kMaxGapTokens)
      fail(where, "a gap of ", n, " tokens: the length must be in [1, ", EditRequest::kMaxGapTokens, "]");
    m.end = cp_of(j + 1);
    m.n_tokens = n;
    // The space before a marker followed by a space, punctuation or the end goes with it: the
    // gap's first token brings its own ("The [___] said" -> "The" + gap + " said").
    const bool ends_word = j + 1 >= text.size() || std::isspace(static_cast<unsigned char>(text[j + 1])) ||
                           std::ispunct(static_cast<unsigned char>(text[j + 1]));
    m.space_before = ends_word && i > 0 && text[i - 1] == ' ' &&
                     (out.empty() || out.back().end < m.begin);  // not a space a marker before already took
    out.push_back(m);
  }
  return out;
}

void check_range(const CharRange& r, int64_t n_chars, const std::string& what) {
  if (r.begin < 0 || r.end <= r.begin || r.end > n_chars)
    fail(str_cat(what, " ", r.begin, ":", r.end), "is empty or outside the text's ", n_chars, " characters");
}

bool overlaps(const CharRange& a, int64_t begin, int64_t end) { return a.begin < end && begin < a.end; }

}  // namespace

bool EditPlan::fix() const { return rewrite.empty() && gaps.empty() && require.empty(); }

EditPlan plan_edit(const EditRequest& r) {
  const std::vector<size_t> starts = code_point_starts(r.text);
  const int64_t n_chars = int64_t(starts.size()) - 1;
  const std::vector<Marker> markers = find_markers(r.text, starts);
  if (r.continue_tokens < 0 || r.continue_tokens > (1 << 20))
    fail("continue", r.continue_tokens, " tokens: must be in [0, ", 1 << 20, "]");

  // Code points taken out (each marker, and the space before it when it goes with it), and the
  // text that remains.
  std::vector<int64_t> removed;
  EditPlan plan;
  int64_t from = 0;
  for (const Marker& m : markers) {
    const int64_t cut = m.space_before ? m.begin - 1 : m.begin;
    plan.text += r.text.substr(starts[size_t(from)], starts[size_t(cut)] - starts[size_t(from)]);
    for (int64_t c = cut; c < m.end; ++c) removed.push_back(c);
    from = m.end;
  }
  plan.text += r.text.substr(starts[size_t(from)]);
  auto map = [&](int64_t p) { return p - int64_t(std::lower_bound(removed.begin(), removed.end(), p) - removed.begin()); };
  for (const Marker& m : markers) plan.gaps.push_back({map(m.begin), m.n_tokens});

  auto checked = [&](const std::vector<CharRange>& ranges, const char* kind) {
    std::vector<CharRange> out;
    for (size_t i = 0; i < ranges.size(); ++i) {
      const CharRange& g = ranges[i];
      const std::string what = str_cat(kind, "[", i, "]");
      check_range(g, n_chars, what);
      for (const Marker& m : markers) {
        if ((g.begin > m.begin && g.begin < m.end) || (g.end > m.begin && g.end < m.end))
          fail(str_cat(what, " ", g.begin, ":", g.end), "cuts the gap marker at ", m.begin, "-", m.end);
      }
      out.push_back({map(g.begin), map(g.end)});
    }
    return out;
  };
  plan.rewrite = checked(r.rewrite, "rewrite");
  plan.lock = checked(r.lock, "lock");
  for (size_t i = 0; i < r.lock.size(); ++i) {
    const CharRange& l = r.lock[i];
    for (const Marker& m : markers)
      if (overlaps(l, m.begin, m.end))
        fail(str_cat("lock[", i, "] ", l.begin, ":", l.end), "holds the gap marker at ", m.begin, ": a gap cannot be locked");
    for (size_t j = 0; j < r.rewrite.size(); ++j)
      if (overlaps(l, r.rewrite[j].begin, r.rewrite[j].end))
        fail(str_cat("lock[", i, "] ", l.begin, ":", l.end), "overlaps rewrite[", j, "] ", r.rewrite[j].begin, ":",
             r.rewrite[j].end, ": text cannot be both kept and rewritten");
  }

  const bool has_room = !plan.rewrite.empty() || !plan.gaps.empty() || r.continue_tokens > 0;
  for (size_t i = 0; i < r.require.size(); ++i) {
    const RequiredPhrase& q = r.require[i];
    const std::string what = str_cat("require[", i, "]");
    if (q.text.find_first_not_of(" \t\n") == std::string::npos) fail(what, "is empty: a required phrase needs text");
    if (!has_room) fail(what, "'", q.text, "' needs room: give a rewrite range, a gap or text to continue");
    RequiredPhrase placed = q;
    if (q.at != -1) {
      if (q.at < 0 || q.at > n_chars) fail(what, "position ", q.at, " is outside the text's ", n_chars, " characters");
      placed.at = map(q.at);
      const bool in_rewrite = std::any_of(plan.rewrite.begin(), plan.rewrite.end(), [&](const CharRange& g) {
        return placed.at >= g.begin && placed.at < g.end;
      });
      const bool at_gap = std::any_of(markers.begin(), markers.end(), [&](const Marker& m) {
        return q.at >= m.begin && q.at < m.end;
      });
      const bool at_end = r.continue_tokens > 0 && q.at == n_chars;
      if (!in_rewrite && !at_gap && !at_end)
        fail(what, "position ", q.at, " is not inside a rewrite range or a gap marker (nor the end, when continuing)");
      if (at_gap) placed.at = plan.gaps[size_t(std::find_if(markers.begin(), markers.end(), [&](const Marker& m) {
                                                 return q.at >= m.begin && q.at < m.end;
                                               }) - markers.begin())].at;
    }
    plan.require.push_back(placed);
  }
  return plan;
}

}  // namespace sculpt
