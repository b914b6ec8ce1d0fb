// `sculpt bench fix`: what the fix (Pipeline::edit with nothing asked) restores and what it
// damages, as JSON. Held-out documents (the first --words words of each) get a share of their
// words replaced, deleted or doubled by an inserted word; each span strategy then fixes them
// with the same budget (the weakest --budget share of tokens re-masked, thresholds out of the
// way), and the fixed texts are scored word by word against the originals.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/cli_util.h"
#include "core/atomic_file.h"
#include "core/corpus.h"
#include "core/error.h"
#include "hybrid/pipeline.h"
#include "hybrid/word_corruption.h"

namespace sculpt::cli {
namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// The first n words of a text, with the whitespace between them.
std::string first_words(const std::string& text, int64_t n) {
  size_t i = 0;
  for (int64_t w = 0; w < n && i < text.size(); ++w) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  }
  return text.substr(0, i);
}

nlohmann::json score_json(const FixScore& s, double seconds) {
  const double corrupted = double(std::max<int64_t>(1, s.n_corrupted));
  const double clean = double(std::max<int64_t>(1, s.n_words - s.n_corrupted));
  return {{"restored", double(s.n_restored) / corrupted},
          {"damaged", double(s.n_damaged) / clean},
          {"restored_words", s.n_restored},
          {"damaged_words", s.n_damaged},
          {"spurious_words_before", s.n_spurious_before},
          {"spurious_words_after", s.n_spurious_after},
          {"seconds", seconds}};
}

int bench_fix(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("docs", po::value<std::string>()->default_value("data/brown/validation"), "folder of held-out text documents")
      ("n-docs", po::value<int>()->default_value(12), "documents used")
      ("words", po::value<int>()->default_value(200), "words taken from the start of each document")
      ("share", po::value<double>()->default_value(0.15), "share of words corrupted")
      ("budgets", po::value<std::string>()->default_value("0.1,0.2"), "shares of tokens re-masked, comma-separated")
      ("strategies", po::value<std::string>()->default_value("refiner_confidence,logprob,combined"),
       "span strategies compared, comma-separated")
      ("seed", po::value<int>()->default_value(1), "corruption seed");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench fix --config FILE [--docs DIR] [--n-docs N] [--words N] [--share S] "
                           "[--budgets B,...] [--strategies S,...]", options, vm))
    return 0;
  if (vm["config"].as<std::string>().empty()) throw UsageError{"--config is required: a pipeline with a drafter and a refiner"};
  const double share = vm["share"].as<double>();
  if (!(share > 0 && share < 1)) throw UsageError{"--share must be in (0, 1)"};
  std::vector<double> budgets;
  for (const std::string& b : split_list(vm["budgets"].as<std::string>())) {
    budgets.push_back(std::atof(b.c_str()));
    if (!(budgets.back() > 0 && budgets.back() <= 1)) throw UsageError{"--budgets must be shares in (0, 1], got '" + b + "'"};
  }
  PipelineConfig cfg = read_config<PipelineConfig>(vm);
  std::vector<SpanStrategy> strategies;
  for (const std::string& name : split_list(vm["strategies"].as<std::string>())) {
    SpanParams probe;
    load_config_string("fix_strategy: " + name, "--strategies", probe);  // the names the config takes
    strategies.push_back(probe.fix_strategy);
  }
  apply_runtime(cfg.runtime);
  cfg.pipeline.mode = PipelineMode::kHybrid;  // the drafter scores, the refiner fixes
  cfg.pipeline.retrieve_for_refine = false;   // the fix alone, not what passages bring
  Pipeline pipeline(cfg, vm["config"].as<std::string>());

  // Held-out documents, and the words they use (the replacements come from the same texts).
  const std::vector<Document> docs = read_corpus(vm["docs"].as<std::string>());
  std::vector<std::string> originals, vocabulary;
  std::set<std::string> seen;
  for (const Document& d : docs) {
    if (int(originals.size()) >= vm["n-docs"].as<int>()) break;
    originals.push_back(first_words(d.text, vm["words"].as<int>()));
    for (const std::string& w : split_words(originals.back()))
      if (seen.insert(w).second) vocabulary.push_back(w);
  }
  if (originals.empty()) fail(vm["docs"].as<std::string>(), "holds no documents");
  std::vector<Corruption> corrupted;
  FixScore untouched;
  for (size_t i = 0; i < originals.size(); ++i) {
    corrupted.push_back(corrupt_words(originals[i], share, vocabulary, uint64_t(vm["seed"].as<int>()) * 1000 + i));
    untouched += score_fix(originals[i], corrupted.back().text, corrupted.back().text);
  }

  auto run = [&](const PipelineConfig& s, const std::string& label) {
    FixScore total;
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < originals.size(); ++i)
      total += score_fix(originals[i], corrupted[i].text, pipeline.edit(EditRequest{corrupted[i].text}, s).text);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "bench fix: %s: restored %lld of %lld, damaged %lld\n", label.c_str(), (long long)total.n_restored,
                 (long long)total.n_corrupted, (long long)total.n_damaged);
    return score_json(total, seconds);
  };
  nlohmann::json results = nlohmann::json::array();
  // The fix as the config sets it up.
  nlohmann::json configured = run(cfg, "as configured");
  configured["strategy"] = "as configured";
  results.push_back(configured);
  for (double budget : budgets)
    for (SpanStrategy strategy : strategies)
      for (bool verify : {false, true}) {
        PipelineConfig s = cfg;
        s.spans.fix_strategy = strategy;
        s.spans.max_fraction = budget;  // the budget decides, not the thresholds
        s.spans.logprob_threshold = 0.0;
        s.spans.confidence_threshold = 1.0;
        s.spans.combined_threshold = 0.0;
        s.spans.repeat_ngram = 0;
        s.spans.verify = verify;
        nlohmann::json row = run(s, str_cat(span_strategy_name(strategy), " at ", budget, verify ? ", verified" : ""));
        row["strategy"] = span_strategy_name(strategy);
        row["budget"] = budget;
        row["verify"] = verify;
        results.push_back(row);
      }
  const nlohmann::json out = {{"bench", "fix"},
                              {"config", vm["config"].as<std::string>()},
                              {"documents", originals.size()},
                              {"words", untouched.n_words},
                              {"corrupted_share", share},
                              {"corrupted_words", untouched.n_corrupted},
                              {"inserted_words", untouched.n_spurious_before},
                              {"dilate", cfg.spans.dilate},
                              {"refine_steps", cfg.refine.steps},
                              {"results", results}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace

std::vector<Command> bench_fix_commands() {
  return {{"bench fix", "the fix's figures as JSON: corrupted words restored and clean words damaged, per span strategy",
           bench_fix}};
}

}  // namespace sculpt::cli
