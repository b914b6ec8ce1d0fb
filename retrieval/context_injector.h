// Retrieved passages into the refiner's frozen context: the best hits, in rank order, rendered
// as "[doc_id] text" blocks joined by a separator, under a token budget, each passage at most
// once, with a record of what went in (for the pipeline's trace).
//
//   ContextInjector injector(InjectParams{}, [&](std::string_view s) { return int(tok.encode(s).size()); });
//   Injection inj = injector.render(retriever->search(prompt, 8));
//   std::string frozen = inj.text + prompt;   // inj.used lists passage ids and scores
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "retrieval/retrieval_params.h"
#include "retrieval/passage.h"

namespace sculpt {

struct Injection {
  std::string text;                    // the block to put before the prompt ("" if nothing fits)
  std::vector<InjectedPassage> used;   // in the order they appear
  int n_tokens = 0;                    // sum of used[i].n_tokens, <= budget_tokens
};

class ContextInjector {
 public:
  // count_tokens measures text in the refiner's tokens; empty = whitespace-separated words.
  explicit ContextInjector(const InjectParams& params, std::function<int(std::string_view)> count_tokens = {});

  // Walks `hits` in order; skips a passage already used (same span, or the same text). A block
  // that would overflow the budget is cut to the longest whole-word prefix that fits when
  // `truncate` is on, else skipped (a later, shorter one may still fit).
  Injection render(const std::vector<Hit>& hits) const;

 private:
  InjectParams params_;
  std::function<int(std::string_view)> count_tokens_;
};

}  // namespace sculpt
