// Ablations: one base pipeline config, a grid or list of overrides, one evaluation set; every
// variant generates for every prompt and is scored the same way. The three baselines are
// always there: AR only (the draft, refinement off), diffusion only (the refiner writes from
// an all-mask canvas) and hybrid (the base itself).
//
//   # configs/ablations/NAME.yaml; paths are relative to the working directory, as elsewhere
//   base: configs/pipeline/brown.yaml
//   out_dir: build/ablations/NAME
//   evaluator: models/evaluator        # causal model that scores every output; default: the
//                                      # base config's pipeline.evaluator
//   train:                             # only for variants that retrain a model
//     refiner: configs/train/default_refiner.yaml
//   eval:
//     corpus: data/brown/validation    # prompts from documents of this corpus ...
//     prompts: ""                      # ... or a JSONL file of {"prompt", "reference"?, "id"?}
//     split: all                       # validation | train | all (of the corpus's own split
//     validation_fraction: 0.05        #   by this fraction, as the models were trained)
//     n_prompts: 16
//     prompt_tokens: 64
//     reference_tokens: 0              # tokens after each prompt kept as its reference (token F1)
//     max_tokens: 128                  # new tokens per prompt
//   grid:                              # every combination, on top of the base
//     spans.logprob_threshold: [-3.0, -5.0]
//     refine.steps: [8, 16]
//   variants:                          # and named variants
//     - name: threshold_0.9
//       set: {refine.rule: threshold, refine.threshold: 0.9}
//     - name: short_refiner_training   # keys under refiner_train. / drafter_train. override the
//       set: {refiner_train.train.max_steps: 200}   # train config: the variant trains first
//
// Each finished variant leaves <out_dir>/variants/<name>/result.json (written atomically, with
// a hash of everything that determines it); a rerun keeps the variants whose hash still
// matches and runs only the rest, so an interrupted ablation loses at most the variant it was
// running. After every variant, results.csv, results.md (with plot.svg) and report.html are
// rewritten.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/corpus.h"
#include "core/model_trainer.h"
#include "core/tokenizer.h"
#include "hybrid/prompt_file.h"

namespace sculpt {

// Where the prompts come from and how long the outputs are (the ablation file's `eval:`).
struct EvalSetParams {
  std::string corpus;                           // prompts cut from this corpus's documents, or
  std::string prompts;                          // a JSONL file of {"prompt", "reference"?, "id"?}
  CorpusSplit split = CorpusSplit::kValidation;  // which documents of the corpus
  double validation_fraction = 0.05;            // must be the one the models were trained with
  int n_prompts = 16;                           // at most; fewer when the corpus runs out
  int prompt_tokens = 64;                       // prompt length, in the base drafter's tokens
  int reference_tokens = 0;                     // reference continuation kept after each prompt
  int max_tokens = 128;                         // new tokens per prompt (pipeline.max_tokens)
  bool warmup = true;                           // one untimed generation before timing a variant

  template <class V>
  void visit(V& v) {
    v.field("corpus", corpus, "prompts cut from the documents of this corpus (folder or .jsonl)");
    v.field("prompts", prompts, "or a JSONL file of {\"prompt\", \"reference\"?, \"id\"?} lines");
    v.field("split", split, "which documents of the corpus",
            Choices<CorpusSplit>{{"validation", CorpusSplit::kValidation}, {"train", CorpusSplit::kTrain},
                                 {"all", CorpusSplit::kAll}});
    v.field("validation_fraction", validation_fraction, "the corpus's validation share, as the models were trained",
            Range{0.0, 1.0});
    v.field("n_prompts", n_prompts, "prompts at most", Range{1, 1 << 20});
    v.field("prompt_tokens", prompt_tokens, "prompt length in the base drafter's tokens", Range{1, 1 << 20});
    v.field("reference_tokens", reference_tokens, "reference continuation kept after each prompt (token F1)",
            Range{0, 1 << 20});
    v.field("max_tokens", max_tokens, "new tokens per prompt", Range{1, 1 << 24});
    v.field("warmup", warmup, "one untimed generation before timing each variant");
  }
  void validate() const;  // exactly one of corpus and prompts
};

// One prompt of the evaluation set; id "ca01@0" (document @ token offset) or the JSONL id / line.
using EvalPrompt = PromptRecord;

// A point of the ablation: overrides on the base config.
struct AblationVariant {
  std::string name;                        // unique; also its folder under <out_dir>/variants
  std::vector<std::string> overrides;      // "key=value" on the base pipeline config
  std::vector<std::string> drafter_train;  // "key=value" on train.drafter's config: trains a drafter
  std::vector<std::string> refiner_train;  // "key=value" on train.refiner's config: trains a refiner
  bool baseline = false;                   // ar_only, diffusion_only, hybrid
};

struct AblationSpec {
  std::string path;                  // the ablation file (for messages)
  std::string name;                  // its stem: the report's title
  std::string base;                  // base pipeline config
  std::string out_dir;
  std::string evaluator;             // causal model directory that scores the outputs
  std::string drafter_train_config;  // train.drafter
  std::string refiner_train_config;  // train.refiner
  EvalSetParams eval;
  std::vector<AblationVariant> variants;  // the three baselines first, then grid, then list
};

// Reads and checks an ablation file: every override is applied to the base config (and every
// training override, through `trainer`, to its training config) here, so a typo fails before
// any work, naming the file, the line and the key. A variant that retrains a model needs a
// trainer (programs that link training pass one, train/config_trainer.h). Throws Error.
AblationSpec load_ablation(const std::string& path, const ModelTrainer* trainer = nullptr);

// The evaluation set. From a corpus: the documents of eval.split in corpus order, cut into
// windows of prompt_tokens + reference_tokens tokens taken round-robin (every document's first
// window, then every second window, ...), so few prompts still span the corpus's genres.
// Throws Error for a missing or unreadable source, or one that yields no prompt.
std::vector<EvalPrompt> make_eval_set(const EvalSetParams& params, const Tokenizer& tokenizer);

// What a variant measured over the evaluation set.
struct VariantMetrics {
  int64_t n_prompts = 0;
  int64_t n_tokens = 0;          // new tokens generated, all prompts
  double seconds = 0;            // generation wall time, all prompts (models loaded, warm)
  double tokens_per_second = 0;
  double nll_per_token = 0;      // evaluator NLL of the outputs given their prompts, nats/token
  double nll_stderr = 0;         // standard error of the per-prompt mean NLL
  double repeated_4gram = 0;     // mean rep-4 of the outputs (text_metrics.h)
  double distinct_2 = 0;         // mean distinct-2
  double token_f1 = -1;          // mean token F1 against the references; -1 = no references
  int64_t forward_passes = 0;    // all stages' model passes, all prompts
  int64_t edits = 0;             // tokens the refiner changed in the drafts
  double train_seconds = 0;      // training this variant's own models (0 when none)
};

struct VariantResult {
  AblationVariant variant;
  VariantMetrics metrics;
  std::string dir;      // <out_dir>/variants/<folder>
  bool reused = false;  // kept from an earlier run (its hash matched)
};

struct AblationOptions {
  std::ostream* log = nullptr;  // progress lines; nullptr = std::cerr
  bool rewrite_line = false;    // log is a terminal: the progress line is rewritten in place
  bool rerun = false;           // run every variant even when a matching result exists
  ModelTrainer* trainer = nullptr;  // trains the variants that retrain a model (else they are an Error)
  // Called after each variant (run or reused), after the reports were rewritten.
  std::function<void(const VariantResult&)> on_variant_done;
};

struct AblationResult {
  std::vector<VariantResult> variants;  // in spec order
  std::string csv_path, markdown_path, html_path;
  std::string plot_path;  // plot.svg, which results.md shows
};

// Runs (or reuses) every variant and writes the reports. Throws Error from the variant that
// failed; the variants finished before it keep their results.
AblationResult run_ablation(const AblationSpec& spec, const AblationOptions& options = {});

}  // namespace sculpt
