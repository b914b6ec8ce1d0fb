// `sculpt generate`: the hybrid pipeline from one YAML config: retrieve, draft, select spans,
// retrieve again, refine; long outputs section by section, each streamed as it is finished.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "cli/cli_util.h"
#include "cli/edit_view.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/distributed.h"
#include "hybrid/batch_generation.h"
#include "hybrid/pipeline.h"

namespace sculpt::cli {

// The trace as JSON (shared with `sculpt refine --config`).
nlohmann::json pipeline_trace_json(const PipelineTrace& t) {
  nlohmann::json stages = nlohmann::json::array();
  for (const StageTiming& s : t.stages)
    stages.push_back({{"stage", s.name}, {"seconds", s.seconds}, {"forward_passes", s.n_forward}, {"tokens", s.n_tokens}});
  nlohmann::json passages = nlohmann::json::array();
  for (const InjectedPassage& p : t.passages)
    passages.push_back({{"passage_id", p.passage_id}, {"doc_id", p.doc_id}, {"start", p.start}, {"end", p.end},
                        {"score", p.score}, {"tokens", p.n_tokens}, {"truncated", p.truncated}});
  nlohmann::json edits = nlohmann::json::array();
  for (const TextEdit& e : t.edits)
    edits.push_back({{"section", e.section}, {"token", e.token}, {"old", e.old_piece}, {"new", e.new_piece}});
  return {{"seconds", t.seconds}, {"tokens", t.n_generated}, {"tokens_per_second", t.tokens_per_second()},
          {"sections", t.n_sections}, {"stages", stages}, {"passages", passages}, {"edits", edits}};
}

namespace {

int generate(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("prompt", po::value<std::string>(), "prompt text")
      ("prompts", po::value<std::string>(), "batch: a JSONL file of {\"prompt\": ..., \"id\": ...} lines (with --out)")
      ("out", po::value<std::string>(), "batch: JSONL results in input order; resumes a half-done run; sharded over "
                                        "the ranks of `sculpt launch`")
      ("max-tokens", po::value<int>(), "new tokens (pipeline.max_tokens); may exceed the models' contexts")
      ("json", po::bool_switch(), "print the text and the trace (stages, passages, edits) as JSON")
      ("trace", po::value<std::string>(), "also write that JSON to FILE (atomically), whatever is printed")
      ("show-edits", po::bool_switch(), "print what the refiner changed in the draft (in colour on a terminal)")
      ("score", po::bool_switch(), "score the output with pipeline.evaluator: NLL per token given the prompt");
  po::variables_map vm;
  if (!parse_options(args, "sculpt generate --config FILE --prompt TEXT [--max-tokens N] [--set k=v ...] [--json] [--show-edits] [--trace FILE] [--score]\n"
                           "       sculpt generate --config FILE --prompts FILE.jsonl --out FILE.jsonl   (batch; sculpt launch --nproc N -- ... to shard)",
                     options, vm))
    return 0;
  const bool batch = vm.count("prompts") || vm.count("out");
  if (batch && (!vm.count("prompts") || !vm.count("out"))) throw UsageError{"--prompts and --out go together"};
  if (batch && vm.count("prompt")) throw UsageError{"give --prompt (one text) or --prompts (a file), not both"};
  if (batch && (vm["json"].as<bool>() || vm["show-edits"].as<bool>() || vm.count("trace") || vm["score"].as<bool>()))
    throw UsageError{"--json, --show-edits, --trace and --score are for one --prompt; batch results go to --out"};
  if (!batch && !vm.count("prompt")) throw UsageError{"the option '--prompt' is required (or --prompts with --out)"};
  const std::string config_path = vm["config"].as<std::string>();
  if (config_path.empty()) throw UsageError{"--config is required: the pipeline's models come from it"};
  std::vector<std::string> overrides;
  if (vm.count("set")) overrides = vm["set"].as<std::vector<std::string>>();
  if (vm.count("max-tokens")) {
    if (vm["max-tokens"].as<int>() < 1) throw UsageError{"--max-tokens must be at least 1"};
    overrides.push_back("pipeline.max_tokens=" + std::to_string(vm["max-tokens"].as<int>()));
  }
  SculptConfig cfg;
  load_config(config_path, overrides, cfg);
  apply_runtime(cfg.runtime);
  const bool score = vm["score"].as<bool>();
  // The evaluator loads before generating, so a missing one fails before any work.
  std::unique_ptr<Drafter> evaluator;
  if (score) {
    if (cfg.pipeline.evaluator.empty())
      fail(config_path, "--score needs pipeline.evaluator (a causal model directory) in the config");
    evaluator = std::make_unique<Drafter>(Drafter::load(cfg.pipeline.evaluator));
  }
  Pipeline pipeline(cfg, config_path);
  if (batch) {
    const WorldInfo world = world_from_environment();
    std::unique_ptr<Communicator> comm;
    if (world.distributed()) comm = Communicator::connect(world, cfg.distributed);
    BatchGenerationOptions batch_options;
    batch_options.prompts_path = vm["prompts"].as<std::string>();
    batch_options.out_path = vm["out"].as<std::string>();
    batch_options.comm = comm.get();
    batch_options.log = &std::cerr;
    const BatchGenerationSummary s = generate_batch(pipeline, batch_options);
    if (world.rank == 0)
      std::printf("%s: %lld prompts (%lld already done, %lld written by rank 0)\n", batch_options.out_path.c_str(),
                  (long long)s.n_prompts, (long long)s.n_done_before, (long long)s.n_generated);
    return 0;
  }
  const bool json = vm["json"].as<bool>(), show_edits = vm["show-edits"].as<bool>();
  const std::string prompt = vm["prompt"].as<std::string>();
  SectionCallback stream;
  if (!json && !show_edits) {
    std::printf("%s", prompt.c_str());
    std::fflush(stdout);
    stream = [](const SectionOutput& s) {
      std::fwrite(s.text.data(), 1, s.text.size(), stdout);
      std::fflush(stdout);
    };
  }
  const PipelineResult r = pipeline.generate(prompt, stream);
  nlohmann::json out = {{"prompt", prompt}, {"text", r.text}, {"draft", r.draft_text},
                        {"trace", pipeline_trace_json(r.trace)}};
  if (evaluator && !r.text.empty()) {
    const ScoreResult s = score_continuation(*evaluator->model(), evaluator->tokenizer(), prompt, r.text);
    const double nll = s.nll / double(s.ids.size());
    out["evaluator"] = {{"model", cfg.pipeline.evaluator}, {"nll_per_token", nll}, {"tokens", s.ids.size()}};
    // stderr: stdout stays the text alone, as without --score.
    if (!json)
      std::fprintf(stderr, "evaluator %s: NLL %.3f nats/token (perplexity %.1f) over %zu tokens\n",
                   cfg.pipeline.evaluator.c_str(), nll, s.perplexity, s.ids.size());
  }
  if (vm.count("trace")) write_file_atomic(vm["trace"].as<std::string>(), out.dump(2) + "\n");
  if (json) {
    std::cout << out.dump(2) << "\n";
  } else if (show_edits) {
    std::printf("%s", prompt.c_str());
    if (r.draft_ids.size() == r.ids.size())
      std::printf("%s", render_edits(pipeline.tokenizer(), r.draft_ids, r.ids, ::isatty(STDOUT_FILENO)).c_str());
    else
      std::printf("%s", r.text.c_str());  // diffusion only: there is no draft to compare with
    std::printf("\n");
  } else {
    std::printf("\n");
  }
  return 0;
}

}  // namespace

std::vector<Command> generate_commands() {
  return {{"generate", "the hybrid pipeline: retrieve, draft, refine (long documents section by section)", generate}};
}

}  // namespace sculpt::cli
