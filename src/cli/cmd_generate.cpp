// `sculpt generate`: the hybrid pipeline from one YAML config: retrieve, draft, select spans,
// retrieve again, refine; long outputs section by section, each streamed as it is finished.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "cli/cli_util.h"
#include "cli/event_json.h"
#include "cli/section_printer.h"
#include "core/atomic_file.h"
#include "core/distributed.h"
#include "core/error.h"
#include "hybrid/batch_generation.h"
#include "hybrid/chat_prompt.h"
#include "hybrid/pipeline.h"

namespace sculpt::cli {

namespace {

int generate(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("prompt", po::value<std::string>(), "prompt text")
      ("chat", po::value<std::string>(), "a conversation instead of a prompt: a JSON file of [{\"role\": ..., \"content\": ...}] "
                                         "messages, written through the model's chat template")
      ("prompts", po::value<std::string>(), "batch: a JSONL file of {\"prompt\": ..., \"id\": ...} lines (with --out)")
      ("out", po::value<std::string>(), "batch: JSONL results in input order; resumes a half-done run; sharded over "
                                        "the ranks of `sculpt launch`")
      ("max-tokens", po::value<int>(), "new tokens (pipeline.max_tokens); may exceed the models' contexts")
      ("json", po::bool_switch(), "print the text and the trace (stages, passages, edits) as JSON")
      ("trace", po::value<std::string>(), "also write that JSON, with every event of the run, to FILE (atomically)")
      ("show-edits", po::bool_switch(), "print the words the refiner changed in the draft (in colour on a terminal)")
      ("score", po::bool_switch(), "score the output with pipeline.evaluator: NLL per token given the prompt");
  po::variables_map vm;
  if (!parse_options(args, "sculpt generate --config FILE (--prompt TEXT | --chat FILE.json) [--max-tokens N] [--set k=v ...] [--json] [--show-edits] [--trace FILE] [--score]\n"
                           "       sculpt generate --config FILE --prompts FILE.jsonl --out FILE.jsonl   (batch; sculpt launch --nproc N -- ... to shard)",
                     options, vm))
    return 0;
  const bool batch = vm.count("prompts") || vm.count("out");
  if (batch && (!vm.count("prompts") || !vm.count("out"))) throw UsageError{"--prompts and --out go together"};
  if (batch && vm.count("prompt")) throw UsageError{"give --prompt (one text) or --prompts (a file), not both"};
  if (batch && vm.count("chat")) throw UsageError{"give --chat (one conversation) or --prompts (a file), not both"};
  if (vm.count("prompt") && vm.count("chat")) throw UsageError{"give --prompt or --chat, not both"};
  if (batch && (vm["json"].as<bool>() || vm["show-edits"].as<bool>() || vm.count("trace") || vm["score"].as<bool>()))
    throw UsageError{"--json, --show-edits, --trace and --score are for one --prompt; batch results go to --out"};
  if (!batch && !vm.count("prompt") && !vm.count("chat"))
    throw UsageError{"the option '--prompt' is required (or --chat, or --prompts with --out)"};
  // A bad conversation file fails before the models load.
  std::vector<ChatMessage> messages;
  if (vm.count("chat")) messages = parse_chat_messages(read_file(vm["chat"].as<std::string>()), vm["chat"].as<std::string>());
  const std::string config_path = vm["config"].as<std::string>();
  if (config_path.empty()) throw UsageError{"--config is required: the pipeline's models come from it"};
  std::vector<std::string> overrides;
  if (vm.count("set")) overrides = vm["set"].as<std::vector<std::string>>();
  if (vm.count("max-tokens")) {
    if (vm["max-tokens"].as<int>() < 1) throw UsageError{"--max-tokens must be at least 1"};
    overrides.push_back("pipeline.max_tokens=" + std::to_string(vm["max-tokens"].as<int>()));
  }
  PipelineConfig cfg;
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
  PipelineConfig settings = pipeline.config();
  std::string prompt;
  if (vm.count("chat")) {
    const ChatPrompt chat = chat_prompt(pipeline, messages);
    prompt = chat.prompt;
    if (!chat.stop.empty()) settings.draft.stop.push_back(chat.stop);
  } else {
    prompt = vm["prompt"].as<std::string>();
  }
  // What is printed and recorded while the pipeline runs comes from its events: each section as
  // it is finished (with --show-edits, the words the refiner changed), and the event log.
  SectionPrinter printer(show_edits ? SectionPrinter::kEdits : SectionPrinter::kText, ::isatty(STDOUT_FILENO));
  EventLog event_log;
  ObserverList observers;
  if (!json) observers.add(&printer);
  if (vm.count("trace")) observers.add(&event_log);
  if (!json && messages.empty()) {  // the text continues the prompt (a chat's answer stands alone)
    std::printf("%s", prompt.c_str());
    std::fflush(stdout);
  }
  const PipelineResult r = pipeline.generate(prompt, settings, &observers);
  nlohmann::json out = {{"prompt", prompt}, {"text", r.text}, {"draft", r.draft_text}, {"trace", trace_json(r.trace)}};
  if (evaluator && !r.text.empty()) {
    const ScoreResult s = score_continuation(*evaluator->model(), evaluator->tokenizer(), prompt, r.text);
    const double nll = s.nll / double(s.ids.size());
    out["evaluator"] = {{"model", cfg.pipeline.evaluator}, {"nll_per_token", nll}, {"tokens", s.ids.size()}};
    // stderr: stdout stays the text alone, as without --score.
    if (!json)
      std::fprintf(stderr, "evaluator %s: NLL %.3f nats/token (perplexity %.1f) over %zu tokens\n",
                   cfg.pipeline.evaluator.c_str(), nll, s.perplexity, s.ids.size());
  }
  if (vm.count("trace")) {
    nlohmann::json with_events = out;
    with_events["events"] = event_log.events();
    write_file_atomic(vm["trace"].as<std::string>(), with_events.dump(2) + "\n");
  }
  if (json) std::cout << out.dump(2) << "\n";
  else std::printf("\n");
  return 0;
}

}  // namespace

std::vector<Command> generate_commands() {
  return {{"generate", "the hybrid pipeline: retrieve, draft, refine (long documents section by section)", generate}};
}

}  // namespace sculpt::cli
