// Recall, MRR and latency of a retriever (see evaluation.h).
#include "retrieval/evaluation.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>
#include <unordered_set>

#include "core/atomic_file.h"
#include "core/error.h"

namespace sculpt {

std::vector<EvalQuery> read_eval_queries(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<EvalQuery> out;
  std::string line;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const char* want = "expected {\"query\": \"...\", \"relevant\": [\"doc id\", ...]}";
    if (!j.is_object() || !j.contains("query") || !j["query"].is_string() || !j.contains("relevant") ||
        !j["relevant"].is_array() || j["relevant"].empty())
      fail(str_cat(path, ":", line_no), want);
    EvalQuery q;
    q.query = j["query"].get<std::string>();
    for (const auto& id : j["relevant"]) {
      if (!id.is_string()) fail(str_cat(path, ":", line_no), want);
      q.relevant.push_back(id.get<std::string>());
    }
    out.push_back(std::move(q));
  }
  if (out.empty()) fail(path, "no queries");
  return out;
}

std::vector<std::string> ranked_documents(const std::vector<Hit>& hits) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const Hit& h : hits)
    if (seen.insert(h.doc_id).second) out.push_back(h.doc_id);
  return out;
}

double recall_at(const std::vector<std::string>& ranked, const std::vector<std::string>& relevant, size_t k) {
  if (relevant.empty()) return 0;
  const std::unordered_set<std::string> want(relevant.begin(), relevant.end());
  size_t found = 0;
  for (size_t i = 0; i < std::min(k, ranked.size()); ++i) found += want.count(ranked[i]);
  return double(found) / double(want.size());
}

double reciprocal_rank(const std::vector<std::string>& ranked, const std::vector<std::string>& relevant) {
  const std::unordered_set<std::string> want(relevant.begin(), relevant.end());
  for (size_t i = 0; i < ranked.size(); ++i)
    if (want.count(ranked[i])) return 1.0 / double(i + 1);
  return 0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * double(values.size()));  // nearest-rank, 1-based
  const size_t i = size_t(std::clamp(rank, 1.0, double(values.size()))) - 1;
  return values[i];
}

RetrievalReport evaluate_retriever(const Retriever& retriever, const std::vector<EvalQuery>& queries,
                                   const std::vector<size_t>& ks, size_t depth) {
  RetrievalReport rep;
  rep.n_queries = queries.size();
  std::vector<double> recall_sum(ks.size(), 0.0);
  double rr_sum = 0;
  for (const EvalQuery& q : queries) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<Hit> hits = retriever.search(q.query, depth);
    const auto t1 = std::chrono::steady_clock::now();
    rep.latency_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    const std::vector<std::string> ranked = ranked_documents(hits);
    for (size_t i = 0; i < ks.size(); ++i) recall_sum[i] += recall_at(ranked, q.relevant, ks[i]);
    rr_sum += reciprocal_rank(ranked, q.relevant);
  }
  const double n = double(std::max<size_t>(1, queries.size()));
  for (size_t i = 0; i < ks.size(); ++i) rep.recall.emplace_back(ks[i], recall_sum[i] / n);
  rep.mrr = rr_sum / n;
  return rep;
}

}  // namespace sculpt
