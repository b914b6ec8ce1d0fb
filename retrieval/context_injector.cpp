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
    const std::string body = trimmed(h.text);
    if (body.empty() || spans.count({h.doc_id, h.start, h.end}) || texts.count(body)) continue;
    const std::string block = (params_.cite_source ? "[" + h.doc_id + "] " : std::string()) + body + params_.separator;
    const int n = count_tokens_(block);
    if (out.n_tokens + n > params_.budget_tokens) continue;
    spans.insert({h.doc_id, h.start, h.end});
    texts.insert(body);
    out.text += block;
    out.n_tokens += n;
    out.used.push_back(InjectedPassage{h.passage_id, h.doc_id, h.start, h.end, h.score, n});
  }
  return out;
}

}  // namespace sculpt
