// Budgeted, de-duplicated passage rendering (see context_injector.h).
#include "retrieval/context_injector.h"

#include <set>
#include <tuple>

namespace sculpt {
namespace {

int count_words(std::string_view s) {
  int n = 0;
  bool in_word = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

std::string trimmed(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

}  // namespace

ContextInjector::ContextInjector(const InjectParams& params, std::function<int(std::string_view)> count_tokens)
    : params_(params), count_tokens_(count_tokens ? std::move(count_tokens) : count_words) {}

Injection ContextInjector::render(const std::vector<Hit>& hits) const {
  Injection out;
  std::set<std::tuple<std::string, size_t, size_t>> spans;
  std::set<std::string> texts;
  for (const Hit& h : hits) {
    if (params_.max_passages > 0 && int(out.used.size()) >= params_.max_passages) break;
    const int room = params_.budget_tokens - out.n_tokens;
    if (room <= 0) break;
    const size_t lead = h.text.find_first_not_of(" \t\r\n");
    const std::string body = trimmed(h.text);
    if (body.empty() || spans.count({h.doc_id, h.start, h.end}) || texts.count(body)) continue;
    const std::string prefix = params_.cite_source ? "[" + h.doc_id + "] " : std::string();
    auto block_of = [&](size_t n_bytes) { return prefix + body.substr(0, n_bytes) + params_.separator; };
    size_t kept = body.size();
    int n = count_tokens_(block_of(kept));
    bool truncated = false;
    if (n > room) {
      if (!params_.truncate) continue;
      // Word ends, so a cut never splits a word; the longest prefix that fits, by bisection.
      std::vector<size_t> ends;
      for (size_t i = 1; i < body.size(); ++i)
        if ((body[i] == ' ' || body[i] == '\n' || body[i] == '\t') && body[i - 1] != ' ' && body[i - 1] != '\n' && body[i - 1] != '\t')
          ends.push_back(i);
      size_t lo = 0, hi = ends.size();  // answer: how many leading word ends are usable
      while (lo < hi) {
        const size_t mid = (lo + hi + 1) / 2;
        if (count_tokens_(block_of(ends[mid - 1])) <= room) lo = mid;
        else hi = mid - 1;
      }
      if (lo == 0) continue;
      kept = ends[lo - 1];
      n = count_tokens_(block_of(kept));
      truncated = true;
    }
    spans.insert({h.doc_id, h.start, h.end});
    texts.insert(body);
    out.text += block_of(kept);
    out.n_tokens += n;
    const size_t start = h.start + (lead == std::string::npos ? 0 : lead);
    out.used.push_back(InjectedPassage{h.passage_id, h.doc_id, start, start + kept, h.score, n, truncated, body.substr(0, kept)});
  }
  return out;
}

}  // namespace sculpt
