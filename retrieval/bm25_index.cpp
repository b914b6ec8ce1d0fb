// BM25 indexing, scoring and persistence (see bm25_index.h).
#include "retrieval/bm25_index.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/error.h"

namespace sculpt {

namespace {
// Best first; ties by passage id so results are deterministic.
bool better(const std::pair<double, uint32_t>& a, const std::pair<double, uint32_t>& b) {
  return a.first != b.first ? a.first > b.first : a.second < b.second;
}
}  // namespace

Bm25Retriever::Bm25Retriever(const Bm25Params& params, const ChunkParams& chunk)
    : params_(params), chunk_(chunk), analyzer_(params.analyzer) {
  chunk_.validate();
}

void Bm25Retriever::add(const std::vector<Document>& docs) {
  const size_t first = store_.add(docs, chunk_);
  if (store_.size() > UINT32_MAX) fail("bm25 index", "more than 2^32 passages");
  index_passages(first);
}

void Bm25Retriever::index_passages(size_t first) {
  std::unordered_map<std::string, uint32_t> tf;
  for (size_t id = first; id < store_.size(); ++id) {
    tf.clear();
    const std::vector<std::string> terms = analyzer_.terms(store_[id].text);
    for (const std::string& t : terms) ++tf[t];
    // Sorted so that the postings (and the saved file) do not depend on hash order.
    std::vector<std::pair<std::string, uint32_t>> sorted(tf.begin(), tf.end());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [term, count] : sorted) {
      auto [it, inserted] = term_ids_.emplace(term, uint32_t(postings_.size()));
      if (inserted) postings_.emplace_back();
      postings_[it->second].push_back(Posting{uint32_t(id), count});
    }
    lengths_.push_back(uint32_t(terms.size()));
    total_length_ += terms.size();
  }
}

std::vector<Hit> Bm25Retriever::search(const std::string& query, size_t k) const {
  const size_t n = store_.size();
  if (k == 0 || n == 0) return {};
  std::vector<std::string> terms = analyzer_.terms(query);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  const double avgdl = double(total_length_) / double(n);
  const double k1 = params_.k1, b = params_.b;
  std::vector<double> scores(n, 0.0);
  std::vector<uint32_t> touched;
  for (const std::string& t : terms) {
    auto it = term_ids_.find(t);
    if (it == term_ids_.end()) continue;
    const std::vector<Posting>& plist = postings_[it->second];
    const double df = double(plist.size());
    const double idf = std::log(1.0 + (double(n) - df + 0.5) / (df + 0.5));
    for (const Posting& p : plist) {
      const double tf = p.tf;
      const double norm = avgdl > 0 ? k1 * (1.0 - b + b * lengths_[p.passage] / avgdl) : k1;
      if (scores[p.passage] == 0.0) touched.push_back(p.passage);
      scores[p.passage] += idf * tf * (k1 + 1.0) / (tf + norm);
    }
  }
  std::vector<std::pair<double, uint32_t>> ranked;
  ranked.reserve(touched.size());
  for (uint32_t id : touched)
    if (scores[id] > 0) ranked.emplace_back(scores[id], id);
  const size_t top = std::min(k, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + long(top), ranked.end(), better);
  std::vector<Hit> hits;
  for (size_t i = 0; i < top; ++i) hits.push_back(store_.hit(ranked[i].second, ranked[i].first));
  return hits;
}

void Bm25Retriever::write(ByteWriter& w) const {
  w.f64(params_.k1);
  w.f64(params_.b);
  w.u8(params_.analyzer.stop_words);
  w.u8(params_.analyzer.stemming);
  w.str(params_.analyzer.language);
  w.u32(uint32_t(chunk_.max_tokens));
  w.u32(uint32_t(chunk_.overlap));
  store_.write(w);
  for (uint32_t len : lengths_) w.u32(len);
  // Terms in id order, so that reading them back gives the same ids.
  std::vector<const std::string*> terms(postings_.size());
  for (const auto& [term, id] : term_ids_) terms[id] = &term;
  w.u64(terms.size());
  for (size_t id = 0; id < terms.size(); ++id) {
    w.str(*terms[id]);
    w.u64(postings_[id].size());
    for (const Posting& p : postings_[id]) {
      w.u32(p.passage);
      w.u32(p.tf);
    }
  }
}

std::unique_ptr<Bm25Retriever> Bm25Retriever::read(ByteReader& r) {
  Bm25Params params;
  params.k1 = r.f64();
  params.b = r.f64();
  params.analyzer.stop_words = r.u8() != 0;
  params.analyzer.stemming = r.u8() != 0;
  params.analyzer.language = r.str();
  ChunkParams chunk;
  chunk.max_tokens = int(r.u32());
  chunk.overlap = int(r.u32());
  if (!(params.k1 >= 0 && params.k1 <= 100) || !(params.b >= 0 && params.b <= 1) || chunk.max_tokens < 1 ||
      chunk.overlap < 0 || chunk.overlap >= chunk.max_tokens)
    r.corrupt("BM25 or chunking parameters out of range");
  std::unique_ptr<Bm25Retriever> index;
  try {
    index = std::make_unique<Bm25Retriever>(params, chunk);
  } catch (const Error& e) {
    r.corrupt(e.what());
  }
  index->store_ = PassageStore::read(r);
  const size_t n = index->store_.size();
  if (n > r.remaining() / 4) r.corrupt("passage lengths do not fit");
  index->lengths_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    index->lengths_[i] = r.u32();
    index->total_length_ += index->lengths_[i];
  }
  std::vector<uint64_t> counted(n, 0);
  const uint64_t n_terms = r.count(16, "term");
  index->postings_.resize(n_terms);
  for (uint64_t id = 0; id < n_terms; ++id) {
    std::string term = r.str();
    if (!index->term_ids_.emplace(term, uint32_t(id)).second) r.corrupt(str_cat("term '", term, "' repeats"));
    const uint64_t n_postings = r.count(8, "posting");
    std::vector<Posting>& plist = index->postings_[id];
    plist.resize(n_postings);
    for (uint64_t i = 0; i < n_postings; ++i) {
      plist[i].passage = r.u32();
      plist[i].tf = r.u32();
      if (plist[i].passage >= n || plist[i].tf == 0 || (i > 0 && plist[i].passage <= plist[i - 1].passage))
        r.corrupt(str_cat("bad posting ", i, " of term '", term, "'"));
      counted[plist[i].passage] += plist[i].tf;
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (counted[i] != index->lengths_[i]) r.corrupt(str_cat("passage ", i, " length disagrees with its postings"));
  r.expect_end();
  return index;
}

void Bm25Retriever::save(const std::string& path) const {
  ByteWriter w;
  write(w);
  write_index_file(path, backend(), w.bytes());
}

std::unique_ptr<Bm25Retriever> Bm25Retriever::load(const std::string& path) {
  IndexFile f = read_index_file(path);
  if (f.backend != "bm25") fail(path, "is a '", f.backend, "' index, not a bm25 one");
  ByteReader r(f.payload, path);
  return read(r);
}

}  // namespace sculpt
