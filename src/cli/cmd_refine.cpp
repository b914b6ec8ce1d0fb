// `sculpt refine`: edits a text with the pipeline (Pipeline::edit): rewrites the ranges given,
// fills the gap markers in the text, keeps locked ranges, places required phrases, bans
// forbidden ones, continues the text; with none of these it fixes the text by itself. Reads a
// file or standard input (`-`), prints the text (--show-edits: with the changes marked; --json:
// with the edits and the trace) on standard output. --model names a refiner alone; --config a
// pipeline, whose drafter then scores the text for the fix and drafts the continuation.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/event_json.h"
#include "cli/section_printer.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "diffusion_refine/restoration.h"
#include "hybrid/pipeline.h"
#include "hybrid/text_diff.h"

namespace sculpt::cli {
namespace {

constexpr size_t kMaxInputBytes = size_t(64) << 20;

// "120:180" or "120:180,300:320": code point ranges, end exclusive.
std::vector<CharRange> parse_char_ranges(const std::string& option, const std::vector<std::string>& specs) {
  std::vector<CharRange> out;
  for (const std::string& spec : specs)
    for (size_t start = 0; start <= spec.size();) {
      const size_t comma = spec.find(',', start);
      const std::string part = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      const size_t colon = part.find(':');
      size_t used_a = 0, used_b = 0;
      CharRange r;
      try {
        if (colon == std::string::npos) throw std::invalid_argument(part);
        r.begin = std::stoll(part.substr(0, colon), &used_a);
        r.end = std::stoll(part.substr(colon + 1), &used_b);
      } catch (const std::exception&) {
        used_a = std::string::npos;
      }
      if (used_a != colon || used_b != part.size() - colon - 1)
        fail("--" + option + " '" + part + "'", "expected begin:end (character offsets, end exclusive)");
      out.push_back(r);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  return out;
}

// The whole of standard input, or a file.
std::string read_input(const std::string& path) {
  if (path != "-") return read_file(path, kMaxInputBytes);
  std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  if (std::cin.bad()) fail("standard input", "cannot read");
  if (text.size() > kMaxInputBytes) fail("standard input", "is more than ", kMaxInputBytes, " bytes");
  return text;
}

std::vector<std::string> strings(const po::variables_map& vm, const char* key) {
  return vm.count(key) ? vm[key].as<std::vector<std::string>>() : std::vector<std::string>{};
}

EditRequest edit_request(const po::variables_map& vm, std::string text) {
  EditRequest r;
  r.text = std::move(text);
  r.rewrite = parse_char_ranges("rewrite", strings(vm, "rewrite"));
  r.lock = parse_char_ranges("lock", strings(vm, "lock"));
  for (const std::string& phrase : strings(vm, "require")) r.require.push_back({phrase, -1});
  for (const std::string& spec : strings(vm, "require-at")) {  // "POS:PHRASE"
    const size_t colon = spec.find(':');
    size_t used = 0;
    int64_t at = -1;
    try {
      at = std::stoll(spec.substr(0, colon), &used);
    } catch (const std::exception&) {
      used = std::string::npos;
    }
    if (colon == std::string::npos || used != colon)
      fail("--require-at '" + spec + "'", "expected POSITION:PHRASE (a character offset, then the phrase)");
    r.require.push_back({spec.substr(colon + 1), at});
  }
  r.forbid = strings(vm, "forbid");
  r.continue_tokens = vm["continue"].as<int>();
  if (vm.count("context")) r.context = read_file(vm["context"].as<std::string>(), kMaxInputBytes);
  return r;
}

// The refiner alone (--model), or the config's pipeline: the drafter too unless the config
// runs the refiner alone.
Pipeline load_pipeline(const po::variables_map& vm, PipelineConfig cfg) {
  if (vm.count("model")) {
    cfg.pipeline.mode = PipelineMode::kDiffusionOnly;
    cfg.pipeline.refiner = vm["model"].as<std::string>();
    cfg.pipeline.refiner_adapter.clear();
    cfg.pipeline.index.clear();
    return Pipeline(cfg, "");
  }
  if (cfg.pipeline.mode == PipelineMode::kArOnly) cfg.pipeline.mode = PipelineMode::kHybrid;  // editing needs the refiner
  return Pipeline(cfg, vm["config"].as<std::string>());
}

int refine(const std::vector<std::string>& args) {
  const PipelineConfig defaults;
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("model", po::value<std::string>(), "refiner model directory (else the pipeline of --config)")
      ("input", po::value<std::string>()->required(), "text file to edit, or - for standard input; gap markers [___] "
                                                       "or [___:N] in it are filled")
      ("rewrite", po::value<std::vector<std::string>>()->composing(), "character range B:E to rewrite (repeatable; "
                                                                       "B:E,B:E lists too)")
      ("lock", po::value<std::vector<std::string>>()->composing(), "character range B:E never to change (repeatable)")
      ("require", po::value<std::vector<std::string>>()->composing(), "a phrase the result must contain, placed "
                                                                       "where the refiner finds it likeliest (repeatable)")
      ("require-at", po::value<std::vector<std::string>>()->composing(), "POS:PHRASE, a required phrase at a "
                                                                          "character position (repeatable)")
      ("forbid", po::value<std::vector<std::string>>()->composing(), "a phrase never to write (repeatable; "
                                                                      "adds to pipeline.forbid)")
      ("continue", po::value<int>()->default_value(0), "new tokens to write after the text")
      ("context", po::value<std::string>(), "text file of frozen context placed before the input (read, never changed)")
      ("steps", po::value<int>(), ("denoising steps (refine.steps, default " + std::to_string(defaults.refine.steps) + ")").c_str())
      ("tau", po::value<double>(), "commit every position with confidence >= tau (threshold decoding)")
      ("reference", po::value<std::string>(), "a reference text, token-aligned with the input: count fixed and broken tokens")
      ("json", po::bool_switch(), "print the text, the edits and the trace as JSON")
      ("show-edits", po::bool_switch(), "print the text with what changed marked (in colour on a terminal)");
  po::variables_map vm;
  if (!parse_options(args, "sculpt refine (--model DIR | --config FILE) --input FILE|- [--rewrite B:E ...] [--lock B:E ...] "
                           "[--require PHRASE ...] [--forbid PHRASE ...] [--continue N] [--json] [--show-edits]",
                     options, vm))
    return 0;
  PipelineConfig cfg = read_config<PipelineConfig>(vm);
  if (vm.count("steps")) cfg.refine.steps = vm["steps"].as<int>();
  if (vm.count("tau")) {
    cfg.refine.rule = DecodeRule::kThreshold;
    cfg.refine.threshold = vm["tau"].as<double>();
    if (!(cfg.refine.threshold > 0 && cfg.refine.threshold <= 1)) throw UsageError{"--tau must be in (0, 1]"};
  }
  if (cfg.refine.steps < 1) throw UsageError{"--steps must be at least 1"};
  if (!vm.count("model") && vm["config"].as<std::string>().empty())
    throw UsageError{"give --model DIR, or --config FILE whose pipeline.refiner names the refiner"};
  cfg.refine.validate();
  const std::string input = vm["input"].as<std::string>();
  const EditRequest request = edit_request(vm, read_input(input));  // bad input fails before the models load
  if (request.text.find_first_not_of(" \t\r\n") == std::string::npos && request.continue_tokens == 0)
    fail(input == "-" ? "standard input" : input, "is empty: nothing to refine");
  plan_edit(request);
  const std::string reference = vm.count("reference") ? read_file(vm["reference"].as<std::string>(), kMaxInputBytes) : "";

  apply_runtime(cfg.runtime);
  Pipeline pipeline = load_pipeline(vm, cfg);
  const bool json = vm["json"].as<bool>(), show_edits = vm["show-edits"].as<bool>();
  // Printed as the pipeline's events say each part is done (the edited text, then each
  // section of a continuation).
  SectionPrinter printer(show_edits ? SectionPrinter::kEdits : SectionPrinter::kText, ::isatty(STDOUT_FILENO));
  const PipelineResult r = pipeline.edit(request, json ? nullptr : &printer);
  if (!json) {
    if (r.text.empty() || r.text.back() != '\n') std::printf("\n");
    return 0;
  }
  nlohmann::json edits = nlohmann::json::array();
  for (const TextChange& c : word_changes_in_code_points(r.draft_text, r.text))
    edits.push_back({{"old_begin", c.old_begin}, {"old_end", c.old_end}, {"new_begin", c.new_begin},
                     {"new_end", c.new_end}, {"old", c.old_text}, {"new", c.new_text}});
  nlohmann::json out = {{"text", r.text}, {"edits", edits}, {"trace", trace_json(r.trace)}};
  if (!reference.empty()) {
    const Tokenizer& tok = pipeline.tokenizer();
    if (r.ids.size() != r.draft_ids.size())
      fail("--reference", "needs an edit that keeps the token count (no gap, no continuation)");
    const EditAccounting a = account_edits(r.draft_ids, r.ids, tok.encode(reference));
    out["accounting"] = {{"tokens", a.n_tokens}, {"changed", a.n_changed}, {"wrong_before", a.n_wrong_before},
                         {"wrong_after", a.n_wrong_after}, {"fixed", a.n_fixed}, {"broken", a.n_broken}};
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> refine_commands() {
  return {{"refine", "edit a text with the refiner: rewrite, lock, fill gaps, require or forbid phrases, continue, fix",
           refine}};
}

}  // namespace sculpt::cli
