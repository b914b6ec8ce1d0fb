// Passage storage shared by the file-backed indexes (see passage_store.h).
#include "retrieval/passage_store.h"

#include "core/error.h"

namespace sculpt {

size_t PassageStore::add(const std::vector<Document>& docs, const ChunkParams& chunk) {
  std::unordered_set<std::string> seen;
  for (const Document& d : docs) {
    if (d.id.empty()) fail("add documents", "a document has an empty id");
    if (doc_ids_.count(d.id)) fail("add documents", "document '", d.id, "' is already in the index");
    if (!seen.insert(d.id).second) fail("add documents", "document '", d.id, "' appears twice");
  }
  const size_t first = passages_.size();
  for (const Document& d : docs) {
    for (Passage& p : chunk_document(d, chunk)) passages_.push_back(std::move(p));
    doc_ids_.insert(d.id);
    doc_order_.push_back(d.id);
  }
  return first;
}

Hit PassageStore::hit(size_t id, double score) const {
  const Passage& p = passages_[id];
  return Hit{uint64_t(id), p.doc_id, p.start, p.end, p.text, score};
}

void PassageStore::write(ByteWriter& w) const {
  w.u64(doc_order_.size());
  for (const std::string& id : doc_order_) w.str(id);
  w.u64(passages_.size());
  for (const Passage& p : passages_) {
    w.str(p.doc_id);
    w.u64(p.start);
    w.u64(p.end);
    w.str(p.text);
  }
}

PassageStore PassageStore::read(ByteReader& r) {
  PassageStore s;
  const uint64_t n_docs = r.count(8, "document");
  for (uint64_t i = 0; i < n_docs; ++i) {
    std::string id = r.str();
    if (id.empty() || !s.doc_ids_.insert(id).second) r.corrupt(str_cat("document id '", id, "' is empty or repeated"));
    s.doc_order_.push_back(std::move(id));
  }
  // Each passage takes at least two lengths and two offsets (32 bytes).
  const uint64_t n = r.count(32, "passage");
  s.passages_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Passage p;
    p.doc_id = r.str();
    p.start = r.u64();
    p.end = r.u64();
    p.text = r.str();
    if (p.end < p.start || p.end - p.start != p.text.size())
      r.corrupt(str_cat("passage ", i, " has offsets [", p.start, ", ", p.end, ") for ", p.text.size(), " bytes"));
    if (!s.doc_ids_.count(p.doc_id)) r.corrupt(str_cat("passage ", i, " belongs to unknown document '", p.doc_id, "'"));
    s.passages_.push_back(std::move(p));
  }
  return s;
}

}  // namespace sculpt
