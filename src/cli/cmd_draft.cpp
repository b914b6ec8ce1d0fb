// `sculpt draft`: drafts a continuation with the autoregressive drafter; streams the text, or
// prints it with every token's log-probability and entropy as JSON. A greedy draft the kernels
// compute is served before LibTorch loads, by cli/draft_main.cpp; this is every other one.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "core/atomic_file.h"
#include "cli/cli_util.h"
#include "cli/draft_command.h"

namespace sculpt::cli {
namespace {

int draft(const std::vector<std::string>& args) {
  po::options_description options = draft_options();
  po::variables_map vm;
  if (!parse_options(args, kDraftUsage, options, vm)) return 0;
  const DraftParams params = draft_params(vm);
  Drafter drafter = Drafter::load(vm["model"].as<std::string>(), "", WeightsDType::kAuto, params.backend);
  const DraftPrinter printer(vm["prompt"].as<std::string>(), vm["json"].as<bool>());
  DraftStats stats;
  const DraftResult r = drafter.draft({vm["prompt"].as<std::string>()}, params, printer.on_token(), &stats)[0];
  printer.finish(r, stats, params);
  return 0;
}

int score(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()
      ("model", po::value<std::string>()->required(), "causal model directory")
      ("input", po::value<std::string>()->required(), "text file to score")
      ("json", po::bool_switch(), "print JSON");
  po::variables_map vm;
  if (!parse_options(args, "sculpt score --model DIR --input FILE [--json]", options, vm)) return 0;
  const std::string path = vm["input"].as<std::string>();
  const std::string text = read_file(path);  // a bad input path fails before the model loads
  Drafter scorer = Drafter::load(vm["model"].as<std::string>());
  ScoreResult s = score_text(*scorer.model(), scorer.tokenizer(), text);
  if (vm["json"].as<bool>()) {
    nlohmann::json out;
    out["input"] = path;
    out["token_ids"] = s.ids;
    out["logprobs"] = s.logprobs;
    out["n_tokens"] = s.ids.size();
    out["nll"] = s.nll;
    out["nll_per_token"] = s.nll / double(s.ids.size());
    out["perplexity"] = s.perplexity;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (size_t i = 0; i < s.ids.size(); ++i)
    std::printf("%6lld  %-16s %9.4f\n", (long long)s.ids[i], scorer.tokenizer().id_to_piece(s.ids[i]).c_str(),
                s.logprobs[i]);
  std::printf("tokens %zu  nll %.4f  nll/token %.4f  perplexity %.3f\n", s.ids.size(), s.nll,
              s.nll / double(s.ids.size()), s.perplexity);
  return 0;
}

}  // namespace

std::vector<Command> draft_commands() {
  return {{"draft", "draft a continuation with the autoregressive drafter", draft},
          {"score", "per-token log-probabilities, NLL and perplexity of a text", score}};
}

}  // namespace sculpt::cli
