// The `data:` section of a training config: the corpus, where its token shards go, the
// validation split and the window length (train/token_shards.h reads it).
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"

namespace sculpt {

// Where the corpus is, where its shards go and how training windows are cut.
struct DataParams {
  // A folder of plain-text documents or a .jsonl file of {"text": ..., "id"?: ...} lines, read
  // as core/corpus.h reads every corpus.
  std::string corpus;
  // Where train.tokens, valid.tokens and manifest.json go; "" = "<corpus>.shards" beside the
  // corpus (data/wiki -> data/wiki.shards, data/wiki.jsonl -> data/wiki.jsonl.shards).
  std::string cache_dir;
  // Fraction of documents held out for validation, in [0, 1). Chosen per document by a hash of
  // its id (in_validation_split, core/corpus.h), so the split is deterministic and a document
  // keeps its side when others are added or removed.
  double validation_fraction = 0.05;
  // A second corpus (folder or .jsonl) that is the validation split: when set, every document
  // of `corpus` trains, every document of this one validates, and validation_fraction is not
  // used. For corpora that come with their own split (data/brown/{train,validation}).
  std::string validation_corpus;
  int64_t seq_len = 256;  // tokens per training window (each window holds seq_len + 1 tokens)

  template <class V>
  void visit(V& v) {
    v.field("corpus", corpus, "folder of text documents or a .jsonl file with {\"text\": ...} lines");
    v.field("cache_dir", cache_dir, "where the token shards go; empty = <corpus>.shards");
    v.field("validation_fraction", validation_fraction, "fraction of documents held out", Range{0.0, 1.0});
    v.field("validation_corpus", validation_corpus,
            "validation documents (folder or .jsonl); empty = hold out validation_fraction of corpus");
    v.field("seq_len", seq_len, "tokens per training window", Range{1, int64_t(1) << 30});
  }

  // Throws Error naming the first bad field (empty corpus, fraction outside [0, 1), seq_len < 1).
  // Not validate(): a config's data section may omit the corpus when its command does not train.
  void validate_complete() const;

  // cache_dir, or its default when empty.
  std::string resolved_cache_dir() const;
};

}  // namespace sculpt
