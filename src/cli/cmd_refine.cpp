// `sculpt refine`: refines a text file with the masked-diffusion refiner: re-masks its weakest
// spans (or the character ranges given) and denoises them over the whole text; prints the text,
// the edits (--show-edits), or the text and the trace (--json). With --config instead of
// --model it runs the pipeline's editing mode: the same, with the pipeline's retrieval.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/event_json.h"
#include "cli/section_printer.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "diffusion_refine/refiner.h"
#include "diffusion_refine/restoration.h"
#include "diffusion_refine/span_selectors.h"
#include "hybrid/pipeline.h"
#include "hybrid/text_diff.h"
#include "hybrid/text_spans.h"

namespace sculpt::cli {
namespace {

// "120:180,300:320" as code point ranges (checked against the text by token_spans_of).
std::vector<std::pair<int64_t, int64_t>> parse_char_ranges(const std::string& spec) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (size_t start = 0; start <= spec.size();) {
    const size_t comma = spec.find(',', start);
    const std::string part = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t colon = part.find(':');
    size_t used_a = 0, used_b = 0;
    int64_t b = 0, e = 0;
    try {
      if (colon == std::string::npos) throw std::invalid_argument(part);
      b = std::stoll(part.substr(0, colon), &used_a);
      e = std::stoll(part.substr(colon + 1), &used_b);
    } catch (const std::exception&) {
      fail("span '" + part + "'", "expected begin:end (character offsets, end exclusive)");
    }
    if (used_a != colon || used_b != part.size() - colon - 1)
      fail("span '" + part + "'", "expected begin:end (character offsets, end exclusive)");
    out.emplace_back(b, e);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Editing mode: the pipeline's retrieval and refiner on a user's text (`sculpt refine --config`).
int refine_with_pipeline(const po::variables_map& vm, PipelineConfig cfg, const std::string& text) {
  cfg.pipeline.mode = PipelineMode::kDiffusionOnly;  // the user's text is the draft: the drafter is not loaded
  Pipeline pipeline(cfg, vm["config"].as<std::string>());
  const Tokenizer& tok = pipeline.tokenizer();
  const std::vector<TokenId> ids = tok.encode(text);
  if (ids.empty()) fail(vm["input"].as<std::string>(), "is empty: nothing to refine");
  std::vector<Span> spans;
  if (vm.count("spans"))
    spans = token_spans_of(tok, ids, text, parse_char_ranges(vm["spans"].as<std::string>()));
  const bool json = vm["json"].as<bool>(), show_edits = vm["show-edits"].as<bool>();
  // Printed window by window as the pipeline's events say each is done.
  SectionPrinter printer(show_edits ? SectionPrinter::kEdits : SectionPrinter::kText, ::isatty(STDOUT_FILENO));
  const PipelineResult r = pipeline.refine_text(text, spans, json ? nullptr : &printer);
  if (json) std::cout << nlohmann::json{{"text", r.text}, {"trace", trace_json(r.trace)}}.dump(2) << "\n";
  else if (r.text.empty() || r.text.back() != '\n') std::printf("\n");
  return 0;
}

int refine(const std::vector<std::string>& args) {
  const PipelineConfig defaults;
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("model", po::value<std::string>(), "refiner model directory (else the refiner and retrieval of --config's pipeline)")
      ("input", po::value<std::string>()->required(), "text file to refine")
      ("context", po::value<std::string>(), "text file of frozen context placed before the input (never changed)")
      ("spans", po::value<std::string>(), "character (code point) ranges of the input to rewrite, e.g. 120:180,300:320 "
                                          "(default: the refiner's lowest-confidence tokens)")
      ("steps", po::value<int>(), ("denoising steps (refine.steps, default " + std::to_string(defaults.refine.steps) + ")").c_str())
      ("tau", po::value<double>(), "commit every position with confidence >= tau (threshold decoding)")
      ("reference", po::value<std::string>(), "a reference text, token-aligned with the input: count fixed and broken tokens")
      ("json", po::bool_switch(), "print the text and the trace as JSON")
      ("show-edits", po::bool_switch(), "print the text with what the refiner changed (in colour on a terminal)");
  po::variables_map vm;
  if (!parse_options(args, "sculpt refine (--model DIR | --config FILE) --input FILE [--spans B:E,...] [--steps N] [--tau T] "
                           "[--json] [--show-edits]", options, vm))
    return 0;
  PipelineConfig cfg = read_config<PipelineConfig>(vm);
  if (vm.count("steps")) cfg.refine.steps = vm["steps"].as<int>();
  if (vm.count("tau")) {
    cfg.refine.rule = DecodeRule::kThreshold;
    cfg.refine.threshold = vm["tau"].as<double>();
    if (!(cfg.refine.threshold > 0 && cfg.refine.threshold <= 1)) throw UsageError{"--tau must be in (0, 1]"};
  }
  if (cfg.refine.steps < 1) throw UsageError{"--steps must be at least 1"};
  cfg.refine.validate();
  const std::string input_path = vm["input"].as<std::string>();
  const std::string text = read_file(input_path);  // a bad path fails before the model loads
  const std::string context_text = vm.count("context") ? read_file(vm["context"].as<std::string>()) : "";
  const std::string reference_text = vm.count("reference") ? read_file(vm["reference"].as<std::string>()) : "";

  if (!vm.count("model")) {
    if (vm["config"].as<std::string>().empty())
      throw UsageError{"give --model DIR, or --config FILE whose pipeline.refiner names the refiner"};
    return refine_with_pipeline(vm, cfg, text);
  }
  Refiner refiner = Refiner::load(vm["model"].as<std::string>());
  const Tokenizer& tok = refiner.tokenizer();
  DraftView draft;
  if (tok.bos_id() >= 0) draft.context.push_back(tok.bos_id());
  for (TokenId id : tok.encode(context_text)) draft.context.push_back(id);
  draft.tokens = tok.encode(text);
  if (draft.tokens.empty()) fail(input_path, "is empty: nothing to refine");

  std::vector<Span> spans;
  if (vm.count("spans")) {
    spans = token_spans_of(tok, draft.tokens, text, parse_char_ranges(vm["spans"].as<std::string>()));
  } else {
    SpanParams sp = cfg.spans;
    // Drafter log-probs and entropies do not exist for a user's file: use the refiner's confidence.
    if (sp.strategy == SpanStrategy::kLogprob || sp.strategy == SpanStrategy::kEntropy)
      sp.strategy = SpanStrategy::kRefinerConfidence;
    spans = make_span_selector(sp, &refiner)->select(draft);
  }
  Canvas canvas = Canvas::from_parts(draft.context, draft.tokens);
  canvas.mark(spans, CanvasRole::kMasked);
  if (canvas.count(CanvasRole::kMasked) == 0 &&
      !(cfg.refine.edit_threshold > 0 && cfg.refine.edit_scope == EditScope::kDraft)) {
    if (!vm["json"].as<bool>()) std::printf("%s", text.c_str());
    else std::cout << nlohmann::json{{"text", text}, {"spans", nlohmann::json::array()}, {"changes", nlohmann::json::array()}}.dump(2) << "\n";
    std::fprintf(stderr, "sculpt refine: no token fell below the span threshold; the text is unchanged\n");
    return 0;
  }
  const RefineResult r = refiner.refine(canvas, cfg.refine);
  const std::vector<TokenId> refined(r.tokens.begin() + canvas.n_context, r.tokens.end());
  const std::string out_text = tok.decode(refined);
  if (vm["show-edits"].as<bool>()) {
    std::printf("%s\n", render_word_diff(tok.decode(draft.tokens), out_text, ::isatty(STDOUT_FILENO)).c_str());
    return 0;
  }
  if (!vm["json"].as<bool>()) {
    std::printf("%s", out_text.c_str());
    if (out_text.empty() || out_text.back() != '\n') std::printf("\n");
    return 0;
  }
  nlohmann::json out;
  out["text"] = out_text;
  nlohmann::json js = nlohmann::json::array();
  for (const Span& s : spans) js.push_back({s.begin, s.end});
  out["spans"] = js;  // draft token ranges [begin, end)
  nlohmann::json changes = nlohmann::json::array();
  for (const TokenChange& c : r.trace.changes)
    changes.push_back({{"token", c.position - canvas.n_context},
                       {"old", tok.id_to_piece(c.old_token)},
                       {"new", tok.id_to_piece(c.new_token)}});
  out["changes"] = changes;
  out["trace"] = {{"forward_passes", r.trace.n_forward},
                  {"committed_per_step", r.trace.committed_per_step},
                  {"remasked_per_step", r.trace.remasked_per_step},
                  {"masked_tokens", canvas.count(CanvasRole::kMasked)},
                  {"prefix_cached_tokens", r.trace.n_prefix_cached},
                  {"recomputed_tokens", r.trace.n_recomputed},
                  {"seconds", r.trace.seconds}};
  if (vm.count("reference")) {
    const EditAccounting a = account_edits(draft.tokens, refined, tok.encode(reference_text));
    out["accounting"] = {{"tokens", a.n_tokens}, {"changed", a.n_changed}, {"wrong_before", a.n_wrong_before},
                         {"wrong_after", a.n_wrong_after}, {"fixed", a.n_fixed}, {"broken", a.n_broken}};
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> refine_commands() {
  return {{"refine", "refine a text file with the masked-diffusion refiner", refine}};
}

}  // namespace sculpt::cli
