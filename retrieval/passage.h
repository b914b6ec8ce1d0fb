// The records retrieval passes around: a source document, a passage cut from it, and a ranked
// hit. Offsets are byte offsets into the document's UTF-8 text, so
// `doc.text.substr(p.start, p.end - p.start) == p.text` always holds.
//
//   Document doc{"ca01", "The jury said ..."};
//   std::vector<Hit> hits = retriever->search("jury election", /*k=*/5);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sculpt {

// A document to index: a unique id (a file stem, a URL, a primary key) and its UTF-8 text.
struct Document {
  std::string id;
  std::string text;
};

// A contiguous span of a document, the unit that is indexed and returned.
struct Passage {
  std::string doc_id;
  size_t start = 0;  // byte offset of the first byte in the document's text
  size_t end = 0;    // byte offset one past the last byte
  std::string text;  // the document's bytes [start, end)
};

// One search result. Hits come best first; `score` is backend-specific (BM25 sum, cosine,
// fused reciprocal rank, ts_rank_cd) and only comparable within one result list.
struct Hit {
  uint64_t passage_id = 0;  // stable within one index: the order passages were added in
  std::string doc_id;
  size_t start = 0;  // as in Passage
  size_t end = 0;
  std::string text;
  double score = 0;
};

}  // namespace sculpt
