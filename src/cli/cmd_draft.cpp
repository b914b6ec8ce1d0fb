// `sculpt draft`: drafts a continuation with the autoregressive drafter; streams the text, or
// prints it with every token's log-probability and entropy as JSON.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "core/atomic_file.h"
#include "cli/cli_util.h"

namespace sculpt::cli {
namespace {

int draft(const std::vector<std::string>& args) {
  const DraftParams defaults;
  po::options_description options("options");
  options.add_options()
      ("model", po::value<std::string>()->required(), "drafter model directory")
      ("prompt", po::value<std::string>()->required(), "prompt text")
      ("max-tokens", po::value<int>()->default_value(defaults.max_tokens), "new tokens")
      ("temperature", po::value<double>()->default_value(defaults.sampler.temperature), "softmax temperature; 0 = greedy")
      ("top-k", po::value<int>()->default_value(defaults.sampler.top_k), "keep the k most likely tokens; 0 = off")
      ("top-p", po::value<double>()->default_value(defaults.sampler.top_p), "nucleus mass; 1 = off")
      ("min-p", po::value<double>()->default_value(defaults.sampler.min_p), "min-p filter; 0 = off")
      ("repetition-penalty", po::value<double>()->default_value(defaults.sampler.repetition_penalty), "CTRL penalty; 1 = off")
      ("seed", po::value<int64_t>()->default_value(defaults.sampler.seed), "sampling seed")
      ("stop", po::value<std::vector<std::string>>()->composing(), "stop string (repeatable)")
      ("no-cache", po::bool_switch(), "recompute the whole sequence every step (for comparison)")
      ("backend", po::value<std::string>()->default_value("auto"),
       "auto (Sculpt's CPU kernels when the model allows) or libtorch")
      ("json", po::bool_switch(), "print text, token ids, log-probs, entropies and timings as JSON");
  po::variables_map vm;
  if (!parse_options(args, "sculpt draft --model DIR --prompt TEXT [options]", options, vm)) return 0;

  DraftParams params;
  params.max_tokens = vm["max-tokens"].as<int>();
  params.use_cache = !vm["no-cache"].as<bool>();
  params.backend = parse_decode_backend(vm["backend"].as<std::string>());
  params.sampler.temperature = vm["temperature"].as<double>();
  params.sampler.top_k = vm["top-k"].as<int>();
  params.sampler.top_p = vm["top-p"].as<double>();
  params.sampler.min_p = vm["min-p"].as<double>();
  params.sampler.repetition_penalty = vm["repetition-penalty"].as<double>();
  params.sampler.seed = vm["seed"].as<int64_t>();
  if (vm.count("stop")) params.stop = vm["stop"].as<std::vector<std::string>>();
  if (params.max_tokens < 1) throw UsageError{"--max-tokens must be at least 1"};
  params.sampler.validate();
  const bool json = vm["json"].as<bool>();

  Drafter drafter = Drafter::load(vm["model"].as<std::string>(), "", WeightsDType::kAuto, params.backend);
  DraftStats stats;
  TokenCallback stream;
  if (!json) std::printf("%s", vm["prompt"].as<std::string>().c_str());  // the draft continues it
  if (!json) stream = [](int64_t, const DraftToken&, const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  DraftResult r = drafter.draft({vm["prompt"].as<std::string>()}, params, stream, &stats)[0];
  if (!json) {
    std::printf("\n");
    return 0;
  }
  nlohmann::json out;
  out["text"] = r.text;
  out["prompt_ids"] = r.prompt_ids;
  out["stop_reason"] = stop_reason_name(r.stop_reason);
  std::vector<int64_t> ids;
  std::vector<float> logprobs, entropies;
  for (const DraftToken& t : r.tokens) {
    ids.push_back(t.id);
    logprobs.push_back(t.logprob);
    entropies.push_back(t.entropy);
  }
  out["token_ids"] = ids;
  out["logprobs"] = logprobs;
  out["entropies"] = entropies;
  out["timings"] = {{"prefill_seconds", stats.prefill_seconds}, {"decode_seconds", stats.decode_seconds},
                    {"forward_passes", stats.n_forward}, {"prompt_tokens", stats.n_prompt_tokens},
                    {"generated_tokens", stats.n_generated},
                    {"decode_tokens_per_second", stats.decode_seconds > 0 ? (stats.n_generated - 1) / stats.decode_seconds : 0.0},
                    {"kv_cache", params.use_cache},
                    {"backend", stats.fast_decoder ? kernels_backend_name() : std::string("libtorch")}};
  std::cout << out.dump(2) << "\n";
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
