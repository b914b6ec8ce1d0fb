// `sculpt draft`'s options and output; see draft_command.h.
#include "cli/draft_command.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

namespace sculpt::cli {

po::options_description draft_options() {
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
      ("ignore-eos", po::bool_switch(), "draft on past the end-of-sequence token (max-tokens exactly)")
      ("no-cache", po::bool_switch(), "recompute the whole sequence every step (for comparison)")
      ("backend", po::value<std::string>()->default_value("auto"),
       "auto (Sculpt's CPU kernels when the model allows) or libtorch")
      ("json", po::bool_switch(), "print text, token ids, log-probs, entropies and timings as JSON");
  return options;
}

DraftParams draft_params(const po::variables_map& vm) {
  DraftParams params;
  params.max_tokens = vm["max-tokens"].as<int>();
  params.use_cache = !vm["no-cache"].as<bool>();
  params.stop_at_eos = !vm["ignore-eos"].as<bool>();
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
  return params;
}

DraftPrinter::DraftPrinter(const std::string& prompt, bool json) : json_(json) {
  if (!json_) std::printf("%s", prompt.c_str());  // the draft continues it
}

TokenCallback DraftPrinter::on_token() const {
  if (json_) return {};
  return [](int64_t, const DraftToken&, const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
}

void DraftPrinter::finish(const DraftResult& r, const DraftStats& stats, const DraftParams& params) const {
  if (!json_) {
    std::printf("\n");
    return;
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
}

}  // namespace sculpt::cli
