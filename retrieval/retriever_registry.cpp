// The backend registry and the built-in backends' entries (see retriever_registry.h).
#include "retrieval/retriever_registry.h"

#include <map>
#include <mutex>

#include "core/error.h"
#include "retrieval/bm25_index.h"
#include "retrieval/dense_index.h"
#include "retrieval/hybrid_retriever.h"
#include "retrieval/index_file.h"
#include "retrieval/postgres_retriever.h"

namespace sculpt {
namespace {

struct Entry {
  RetrieverCreate create;
  RetrieverLoad load;
};

std::shared_ptr<const Embedder> embedder_for(const RetrievalParams& p, const std::string& saved_model) {
  return load_transformer_embedder(p.dense.model.empty() ? saved_model : p.dense.model, p.dense.max_tokens);
}

std::map<std::string, Entry> builtins() {
  std::map<std::string, Entry> m;
  m["bm25"] = {[](const RetrievalParams& p) { return std::make_unique<Bm25Retriever>(p.bm25, p.chunk); },
               [](const std::string& path, const RetrievalParams&) { return Bm25Retriever::load(path); }};
  m["dense"] = {[](const RetrievalParams& p) {
                  return std::make_unique<DenseRetriever>(embedder_for(p, ""), p.chunk);
                },
                [](const std::string& path, const RetrievalParams& p) {
                  return DenseRetriever::load(path, embedder_for(p, DenseRetriever::saved_model(path)));
                }};
  m["hybrid"] = {[](const RetrievalParams& p) {
                   return std::make_unique<HybridRetriever>(std::make_unique<Bm25Retriever>(p.bm25, p.chunk),
                                                            std::make_unique<DenseRetriever>(embedder_for(p, ""), p.chunk),
                                                            p.hybrid);
                 },
                 [](const std::string& path, const RetrievalParams& p) {
                   return HybridRetriever::load(path, embedder_for(p, HybridRetriever::saved_model(path)), p.hybrid);
                 }};
  m["postgres"] = {[](const RetrievalParams& p) { return std::make_unique<PostgresRetriever>(p.postgres, p.chunk); },
                   [](const std::string& path, const RetrievalParams& p) {
                     return PostgresRetriever::load(path, p.postgres);
                   }};
  return m;
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, Entry> entries = builtins();
};

Registry& registry() {
  static Registry r;
  return r;
}

Entry find(const std::string& name, const std::string& where) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.entries.find(name);
  if (it == r.entries.end()) {
    std::string known;
    for (const auto& [n, e] : r.entries) known += (known.empty() ? "" : ", ") + n;
    fail(where, "unknown retrieval backend '", name, "' (registered: ", known, ")");
  }
  return it->second;
}

}  // namespace

void register_retriever(const std::string& name, RetrieverCreate create, RetrieverLoad load) {
  if (name.empty() || !create || !load) fail("register_retriever", "needs a name, a create and a load function");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.entries[name] = Entry{std::move(create), std::move(load)};
}

std::vector<std::string> registered_retrievers() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [n, e] : r.entries) names.push_back(n);
  return names;
}

std::unique_ptr<Retriever> make_retriever(const RetrievalParams& params) {
  return find(params.backend, "retrieval.backend").create(params);
}

std::unique_ptr<Retriever> load_retriever(const std::string& path, const RetrievalParams& params) {
  const std::string backend = index_file_backend(path);
  return find(backend, path).load(path, params);
}

}  // namespace sculpt
