// `sculpt index build|add`, `sculpt search`, `sculpt eval retrieval`: building and querying
// retrieval indexes, and measuring them (recall@k, MRR, latency percentiles) as JSON.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "core/tokenizer.h"
#include "retrieval/context_injector.h"
#include "core/corpus.h"
#include "hybrid/pipeline_config.h"
#include "retrieval/evaluation.h"
#include "retrieval/retriever_registry.h"

namespace sculpt::cli {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? int64_t(st.st_size) : -1;
}

// The retrieval section of --config/--set, with --model (dense) applied on top.
RetrievalParams retrieval_params(const po::variables_map& vm) {
  RetrievalParams p = read_config<PipelineConfig>(vm).retrieval;
  if (vm.count("model")) p.dense.model = vm["model"].as<std::string>();
  return p;
}

// Adds the corpus to `r`, saves it to `out` and reports what it took.
nlohmann::json add_and_save(Retriever& r, const std::string& corpus, const std::string& out) {
  const std::vector<Document> docs = read_corpus(corpus);  // an empty corpus fails here
  size_t bytes = 0;
  for (const Document& d : docs) bytes += d.text.size();
  const auto t0 = Clock::now();
  r.add(docs);
  const double add_s = seconds_since(t0);
  const auto t1 = Clock::now();
  r.save(out);
  const double save_s = seconds_since(t1);
  return {{"index", out}, {"backend", r.backend()}, {"documents_added", docs.size()},
          {"megabytes_added", double(bytes) / 1e6}, {"documents", r.n_documents()}, {"passages", r.n_passages()},
          {"index_seconds", add_s}, {"save_seconds", save_s},
          {"documents_per_second", add_s > 0 ? double(docs.size()) / add_s : 0.0},
          {"megabytes_per_second", add_s > 0 ? double(bytes) / 1e6 / add_s : 0.0},
          {"index_bytes", file_bytes(out)}};
}

void print_summary(const nlohmann::json& j, bool json) {
  if (json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("%s: %s index, %zu documents, %zu passages (added %zu documents, %.2f MB in %.2f s: %.1f documents/s)\n",
              j["index"].get<std::string>().c_str(), j["backend"].get<std::string>().c_str(),
              j["documents"].get<size_t>(), j["passages"].get<size_t>(), j["documents_added"].get<size_t>(),
              j["megabytes_added"].get<double>(), j["index_seconds"].get<double>(),
              j["documents_per_second"].get<double>());
}

int index_build(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("corpus", po::value<std::string>()->required(), "folder of text files, or a JSONL file of {\"id\", \"text\"}")
      ("out", po::value<std::string>()->required(), "index file to write (atomically)")
      ("backend", po::value<std::string>(), "bm25, dense, hybrid, postgres (default: retrieval.backend, bm25)")
      ("model", po::value<std::string>(), "embedding model directory for dense and hybrid")
      ("json", po::bool_switch(), "print the summary as JSON");
  add_config_options(options);
  po::variables_map vm;
  if (!parse_options(args, "sculpt index build --corpus DIR --out PATH [--backend bm25|dense|hybrid|postgres] [--model DIR]",
                     options, vm))
    return 0;
  RetrievalParams p = retrieval_params(vm);
  if (vm.count("backend")) p.backend = vm["backend"].as<std::string>();
  const std::string corpus = vm["corpus"].as<std::string>();
  read_corpus(corpus);  // bad or empty corpus: fail before a model is loaded or a server reached
  std::unique_ptr<Retriever> r = make_retriever(p);
  print_summary(add_and_save(*r, corpus, vm["out"].as<std::string>()), vm["json"].as<bool>());
  return 0;
}

int index_add(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("index", po::value<std::string>()->required(), "index file to extend (rewritten atomically)")
      ("corpus", po::value<std::string>()->required(), "folder of new text files, or a JSONL file")
      ("model", po::value<std::string>(), "embedding model directory, if not the one saved in the index")
      ("json", po::bool_switch(), "print the summary as JSON");
  add_config_options(options);
  po::variables_map vm;
  if (!parse_options(args, "sculpt index add --index PATH --corpus DIR", options, vm)) return 0;
  const std::string path = vm["index"].as<std::string>();
  const std::string corpus = vm["corpus"].as<std::string>();
  read_corpus(corpus);
  std::unique_ptr<Retriever> r = load_retriever(path, retrieval_params(vm));
  print_summary(add_and_save(*r, corpus, path), vm["json"].as<bool>());
  return 0;
}

int search(const std::vector<std::string>& args) {
  const RetrievalParams defaults;
  po::options_description options("options");
  options.add_options()
      ("index", po::value<std::string>()->required(), "index file")
      ("k", po::value<int>(), ("passages to return (default: retrieval.k, " + std::to_string(defaults.k) + ")").c_str())
      ("model", po::value<std::string>(), "embedding model directory, if not the one saved in the index")
      ("inject", po::bool_switch(), "also render the hits as the refiner's injected context (retrieval.inject)")
      ("tokenizer", po::value<std::string>(), "sentencepiece model that counts --inject's token budget (default: words)")
      ("json", po::bool_switch(), "print JSON")
      ("query", po::value<std::vector<std::string>>()->required(), "query words (positional)");
  add_config_options(options);
  po::positional_options_description positional;
  positional.add("query", -1);
  po::variables_map vm;
  if (!parse_options(args, "sculpt search --index PATH [--k N] [--json] [--inject [--tokenizer PATH]] QUERY", options, vm, &positional))
    return 0;
  RetrievalParams p = retrieval_params(vm);
  if (vm.count("k")) {
    if (vm["k"].as<int>() < 1) throw UsageError{"--k must be at least 1"};
    p.k = vm["k"].as<int>();
  }
  std::string query;
  for (const std::string& w : vm["query"].as<std::vector<std::string>>()) query += (query.empty() ? "" : " ") + w;
  std::unique_ptr<Retriever> r = load_retriever(vm["index"].as<std::string>(), p);
  const auto t0 = Clock::now();
  const std::vector<Hit> hits = r->search(query, size_t(p.k));
  const double ms = seconds_since(t0) * 1e3;
  Injection inj;
  if (vm["inject"].as<bool>()) {
    std::function<int(std::string_view)> count;
    if (vm.count("tokenizer")) {
      Tokenizer tok = Tokenizer::load(vm["tokenizer"].as<std::string>());
      count = [tok](std::string_view text) { return int(tok.encode(text).size()); };
    }
    inj = ContextInjector(p.inject, count).render(hits);
  }
  if (vm["json"].as<bool>()) {
    nlohmann::json out = {{"query", query}, {"backend", r->backend()}, {"search_ms", ms}, {"hits", nlohmann::json::array()}};
    for (size_t i = 0; i < hits.size(); ++i)
      out["hits"].push_back({{"rank", i + 1}, {"passage_id", hits[i].passage_id}, {"doc_id", hits[i].doc_id},
                             {"start", hits[i].start}, {"end", hits[i].end}, {"score", hits[i].score},
                             {"text", hits[i].text}});
    if (vm["inject"].as<bool>()) {
      nlohmann::json used = nlohmann::json::array();
      for (const InjectedPassage& u : inj.used)
        used.push_back({{"passage_id", u.passage_id}, {"doc_id", u.doc_id}, {"start", u.start}, {"end", u.end},
                        {"score", u.score}, {"tokens", u.n_tokens}, {"truncated", u.truncated}});
      out["injection"] = {{"text", inj.text}, {"tokens", inj.n_tokens}, {"used", used}};
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (size_t i = 0; i < hits.size(); ++i) {
    std::string text = hits[i].text.substr(0, 240);
    for (char& c : text) if (c == '\n') c = ' ';
    std::printf("%2zu. %-12s [%zu, %zu)  score %.4f\n    %s%s\n", i + 1, hits[i].doc_id.c_str(), hits[i].start,
                hits[i].end, hits[i].score, text.c_str(), hits[i].text.size() > 240 ? " ..." : "");
  }
  if (hits.empty()) std::printf("no hits\n");
  if (vm["inject"].as<bool>()) std::printf("\n--- injected context (%d tokens) ---\n%s", inj.n_tokens, inj.text.c_str());
  return 0;
}

int eval_retrieval(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("index", po::value<std::string>()->required(), "index file")
      ("queries", po::value<std::string>()->required(), "JSONL of {\"query\": ..., \"relevant\": [doc ids]}")
      ("depth", po::value<int>()->default_value(50), "passages retrieved per query (MRR counts documents within them)")
      ("model", po::value<std::string>(), "embedding model directory, if not the one saved in the index");
  add_config_options(options);
  po::variables_map vm;
  if (!parse_options(args, "sculpt eval retrieval --index PATH --queries FILE [--depth N]", options, vm)) return 0;
  const int depth = vm["depth"].as<int>();
  if (depth < 10) throw UsageError{"--depth must be at least 10 (recall@10 is reported)"};
  const std::vector<EvalQuery> queries = read_eval_queries(vm["queries"].as<std::string>());
  const auto t0 = Clock::now();
  std::unique_ptr<Retriever> r = load_retriever(vm["index"].as<std::string>(), retrieval_params(vm));
  const double load_s = seconds_since(t0);
  r->search(queries.front().query, size_t(depth));  // one untimed warm-up (page cache, lazy init)
  const RetrievalReport rep = evaluate_retriever(*r, queries, {1, 5, 10}, size_t(depth));
  double mean = 0, max = 0;
  for (double ms : rep.latency_ms) {
    mean += ms / double(rep.latency_ms.size());
    max = std::max(max, ms);
  }
  nlohmann::json out = {{"index", vm["index"].as<std::string>()}, {"backend", r->backend()},
                        {"documents", r->n_documents()}, {"passages", r->n_passages()},
                        {"queries", rep.n_queries}, {"depth", depth}, {"load_seconds", load_s},
                        {"mrr", rep.mrr}, {"warmup_queries", 1}};
  for (const auto& [k, recall] : rep.recall) out["recall@" + std::to_string(k)] = recall;
  out["latency_ms"] = {{"p50", percentile(rep.latency_ms, 50)}, {"p99", percentile(rep.latency_ms, 99)},
                       {"mean", mean}, {"max", max}};
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> retrieval_commands() {
  return {{"index build", "chunk a corpus and build a retrieval index (bm25, dense, hybrid, postgres)", index_build},
          {"index add", "add documents to an existing index", index_add},
          {"search", "the passages an index ranks best for a query", search},
          {"eval retrieval", "recall@1/5/10, MRR and query latency of an index on a query set (JSON)", eval_retrieval}};
}

}  // namespace sculpt::cli
