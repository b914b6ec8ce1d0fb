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

#include "core/config.h"
#include "retrieval/passage.h"

namespace sculpt {

struct InjectParams {
  int budget_tokens = 256;         // tokens the whole rendered block may take (separators included)
  int max_passages = 4;            // passages at most; 0 = as many as fit
  std::string separator = "\n\n";  // between passages, and after the last one
  bool cite_source = true;         // prefix each passage with "[doc_id] "
  bool truncate = true;            // cut a passage that does not fit to the words that do

  template <class V>
  void visit(V& v) {
    v.field("budget_tokens", budget_tokens, "tokens the injected passages may take, separators included", Range{0, 1 << 24});
    v.field("max_passages", max_passages, "passages injected at most; 0 = as many as fit", Range{0, 1 << 20});
    v.field("separator", separator, "text between passages and after the last one");
    v.field("cite_source", cite_source, "prefix each passage with [doc_id]");
    v.field("truncate", truncate, "cut a passage that does not fit the budget to the words that do");
  }
};

// A passage that went into the context.
struct InjectedPassage {
  uint64_t passage_id = 0;
  std::string doc_id;
  size_t start = 0, end = 0;  // the span injected (whitespace trimmed; shorter when truncated)
  double score = 0;
  int n_tokens = 0;  // of its rendered block, separator included
  bool truncated = false;
};

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
