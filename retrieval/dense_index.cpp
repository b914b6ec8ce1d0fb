// Exact cosine top-k over Eigen-held passage vectors (see dense_index.h).
#include "retrieval/dense_index.h"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "retrieval/text_analyzer.h"

namespace sculpt {

struct DenseRetriever::Vectors {
  Eigen::MatrixXf m;  // [dim, n_passages]; each column unit length (or zero for an empty text)
};

namespace {

void normalize_columns(Eigen::MatrixXf& m, Eigen::Index from) {
  for (Eigen::Index c = from; c < m.cols(); ++c) {
    const float norm = m.col(c).norm();
    if (norm > 0) m.col(c) /= norm;
  }
}

}  // namespace

DenseRetriever::DenseRetriever(std::shared_ptr<const Embedder> embedder, const ChunkParams& chunk)
    : embedder_(std::move(embedder)), chunk_(chunk), vectors_(std::make_unique<Vectors>()) {
  if (!embedder_) fail("dense retrieval", "no embedder");
  chunk_.validate();
  vectors_->m.resize(embedder_->dim(), 0);
}
DenseRetriever::~DenseRetriever() = default;

void DenseRetriever::add(const std::vector<Document>& docs) {
  PassageStore staged = store_;  // the store changes only once the embeddings succeeded
  const size_t first = staged.add(docs, chunk_);
  std::vector<std::string> texts;
  for (size_t id = first; id < staged.size(); ++id) texts.push_back(staged[id].text);
  const std::vector<std::vector<float>> v = texts.empty() ? std::vector<std::vector<float>>{} : embedder_->embed(texts);
  const Eigen::Index dim = embedder_->dim();
  Eigen::MatrixXf grown(dim, Eigen::Index(staged.size()));
  grown.leftCols(Eigen::Index(first)) = vectors_->m;
  for (size_t i = 0; i < v.size(); ++i) {
    if (Eigen::Index(v[i].size()) != dim) fail("dense retrieval", "the embedder returned ", v[i].size(), " values, not ", dim);
    grown.col(Eigen::Index(first + i)) = Eigen::Map<const Eigen::VectorXf>(v[i].data(), dim);
  }
  normalize_columns(grown, Eigen::Index(first));
  vectors_->m = std::move(grown);
  store_ = std::move(staged);
}

std::vector<Hit> DenseRetriever::search(const std::string& query, size_t k) const {
  if (k == 0 || store_.size() == 0 || split_words(query).empty()) return {};
  std::vector<float> q = embedder_->embed({query}).at(0);
  Eigen::Map<Eigen::VectorXf> qv(q.data(), Eigen::Index(q.size()));
  if (qv.size() != vectors_->m.rows()) fail("dense retrieval", "query vector has ", qv.size(), " values, not ", vectors_->m.rows());
  const float norm = qv.norm();
  if (norm > 0) qv /= norm;
  const Eigen::VectorXf scores = vectors_->m.transpose() * qv;  // [n_passages] cosines
  std::vector<uint32_t> ids(size_t(scores.size()));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = uint32_t(i);
  const size_t top = std::min(k, ids.size());
  std::partial_sort(ids.begin(), ids.begin() + long(top), ids.end(), [&](uint32_t a, uint32_t b) {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
  });
  std::vector<Hit> hits;
  for (size_t i = 0; i < top; ++i) hits.push_back(store_.hit(ids[i], double(scores[ids[i]])));
  return hits;
}

void DenseRetriever::write(ByteWriter& w) const {
  w.str(embedder_->model_id());
  w.u32(uint32_t(chunk_.max_tokens));
  w.u32(uint32_t(chunk_.overlap));
  store_.write(w);
  w.u64(uint64_t(vectors_->m.rows()));
  w.u64(uint64_t(vectors_->m.cols()));
  w.raw(vectors_->m.data(), size_t(vectors_->m.size()) * sizeof(float));
}

std::string DenseRetriever::read_model(ByteReader r) { return r.str(); }

std::unique_ptr<DenseRetriever> DenseRetriever::read(ByteReader& r, std::shared_ptr<const Embedder> embedder) {
  r.str();  // the model folder; the caller chose the embedder from it
  ChunkParams chunk;
  chunk.max_tokens = int(r.u32());
  chunk.overlap = int(r.u32());
  if (chunk.max_tokens < 1 || chunk.overlap < 0 || chunk.overlap >= chunk.max_tokens) r.corrupt("chunking parameters out of range");
  auto index = std::make_unique<DenseRetriever>(std::move(embedder), chunk);
  index->store_ = PassageStore::read(r);
  const uint64_t dim = r.u64();
  const uint64_t n = r.u64();
  if (n != index->store_.size()) r.corrupt(str_cat(n, " vectors for ", index->store_.size(), " passages"));
  if (dim != uint64_t(index->embedder_->dim()))
    fail(r.file(), "index vectors have ", dim, " dimensions but the embedding model gives ", index->embedder_->dim());
  if (dim != 0 && n > r.remaining() / (dim * sizeof(float))) r.corrupt("vectors do not fit in the file");
  index->vectors_->m.resize(Eigen::Index(dim), Eigen::Index(n));
  r.raw(index->vectors_->m.data(), size_t(dim * n) * sizeof(float));
  for (Eigen::Index i = 0; i < index->vectors_->m.size(); ++i)
    if (!std::isfinite(index->vectors_->m.data()[i])) r.corrupt("a vector holds a non-finite value");
  return index;
}

void DenseRetriever::save(const std::string& path) const {
  ByteWriter w;
  write(w);
  write_index_file(path, backend(), w.bytes());
}

std::string DenseRetriever::saved_model(const std::string& path) {
  IndexFile f = read_index_file(path);
  if (f.backend != "dense") fail(path, "is a '", f.backend, "' index, not a dense one");
  return read_model(ByteReader(f.payload, path));
}

std::unique_ptr<DenseRetriever> DenseRetriever::load(const std::string& path, std::shared_ptr<const Embedder> embedder) {
  IndexFile f = read_index_file(path);
  if (f.backend != "dense") fail(path, "is a '", f.backend, "' index, not a dense one");
  ByteReader r(f.payload, path);
  auto index = read(r, std::move(embedder));
  r.expect_end();
  return index;
}

}  // namespace sculpt
