// Retriever backends by name, so a YAML config picks one (`retrieval.backend`) and a C++ user can
// add their own. The built-ins (bm25, dense, hybrid, postgres) are always registered.
//
//   register_retriever("mine", [](const RetrievalParams& p) { return std::make_unique<Mine>(p); },
//                      [](const std::string& path, const RetrievalParams& p) { return Mine::load(path); });
//   auto r = make_retriever(params);                 // params.backend == "mine"
//   auto again = load_retriever("x.idx", params);    // dispatches on the backend in the file
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "retrieval/retrieval_params.h"
#include "retrieval/retriever.h"

namespace sculpt {

using RetrieverCreate = std::function<std::unique_ptr<Retriever>(const RetrievalParams&)>;
using RetrieverLoad = std::function<std::unique_ptr<Retriever>(const std::string& path, const RetrievalParams&)>;

// Adds or replaces a backend. A loader reads files whose header names `name`
// (write them with write_index_file from index_file.h). Thread-safe.
void register_retriever(const std::string& name, RetrieverCreate create, RetrieverLoad load);

// Registered names, sorted.
std::vector<std::string> registered_retrievers();

// An empty retriever of params.backend; throws Error for an unknown name, listing the known ones.
std::unique_ptr<Retriever> make_retriever(const RetrievalParams& params);

// The retriever saved at `path`, by the backend its header names; `params` supply what the file
// does not (the dense model folder if it moved, a PostgreSQL connection string).
std::unique_ptr<Retriever> load_retriever(const std::string& path, const RetrievalParams& params = {});

}  // namespace sculpt
