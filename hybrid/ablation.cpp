// The ablation runner: the file, the evaluation set, variants run or reused, the metrics.
#include "hybrid/ablation.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/content_hash.h"
#include "core/error.h"
#include "core/progress.h"
#include "hybrid/ablation_report.h"
#include "hybrid/pipeline.h"
#include "hybrid/text_metrics.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kDrafterTrainPrefix = "drafter_train.";
constexpr const char* kRefinerTrainPrefix = "refiner_train.";

// ---------------------------------------------------------------------------------------------
// The ablation file, read by the typed config loader.

std::string must_exist(const std::string& path) { return file_exists(path) ? "" : "'" + path + "' not found"; }

std::string must_be_model_dir(const std::string& dir) {
  return file_exists(dir + "/config.json") ? "" : "'" + dir + "' is not a model directory (no config.json)";
}

struct TrainConfigFiles {
  std::string drafter;  // training config of variants that retrain the drafter (drafter_train.*)
  std::string refiner;  // ... the refiner (refiner_train.*)

  template <class V>
  void visit(V& v) {
    v.field("drafter", drafter, "training config for variants with drafter_train.* keys", must_exist);
    v.field("refiner", refiner, "training config for variants with refiner_train.* keys", must_exist);
  }
};

struct NamedVariant {
  std::string name;
  std::vector<ConfigOverride> set;  // keys of the base config, or drafter_train.* / refiner_train.*

  template <class V>
  void visit(V& v) {
    v.field("name", name, "the variant's name: its row in the report and its folder");
    v.field("set", set, "overrides on the base config (drafter_train.* / refiner_train.*: on a training config)");
  }
  void validate() const {
    if (name.empty()) fail("name", "missing: every variant needs a name");
  }
};

struct AblationFile {
  std::string base;       // base pipeline config
  std::string out_dir;    // "" = build/ablations/<name>
  std::string evaluator;  // "" = the base config's pipeline.evaluator
  TrainConfigFiles train;
  EvalSetParams eval;
  std::vector<ConfigOverrideChoices> grid;
  std::vector<NamedVariant> variants;

  template <class V>
  void visit(V& v) {
    v.field("base", base, "the base pipeline config", must_exist);
    v.field("out_dir", out_dir, "where results go; empty = build/ablations/<file stem>");
    v.field("evaluator", evaluator, "causal model that scores every output; empty = the base's pipeline.evaluator",
            must_be_model_dir);
    v.section("train", train, "training configs for variants that retrain a model");
    v.section("eval", eval, "the evaluation set");
    v.field("grid", grid, "every combination of these values, on top of the base");
    v.section_list("variants", variants, "named variants");
  }
};

// ---------------------------------------------------------------------------------------------
// Variants.

// A variant and where each of its overrides was written.
struct ParsedVariant {
  AblationVariant variant;
  std::vector<ConfigOverride> assignments;
  std::string where;
};

// Sorts an override into the pipeline's or a training config's list.
void add_assignment(ParsedVariant& v, const ConfigOverride& o) {
  v.assignments.push_back(o);
  auto strip = [&](const char* prefix) { return o.key.substr(std::string(prefix).size()) + "=" + o.value; };
  if (o.key.rfind(kDrafterTrainPrefix, 0) == 0) v.variant.drafter_train.push_back(strip(kDrafterTrainPrefix));
  else if (o.key.rfind(kRefinerTrainPrefix, 0) == 0) v.variant.refiner_train.push_back(strip(kRefinerTrainPrefix));
  else v.variant.overrides.push_back(o.key + "=" + o.value);
}

// The three baselines, named for what they run.
std::vector<ParsedVariant> baselines(const std::string& path) {
  std::vector<ParsedVariant> out(3);
  out[0].variant = {"ar_only", {}, {}, {}, true};
  out[1].variant = {"diffusion_only", {}, {}, {}, true};
  out[2].variant = {"hybrid", {}, {}, {}, true};
  add_assignment(out[0], {"pipeline.mode", "ar_only", path});
  add_assignment(out[1], {"pipeline.mode", "diffusion_only", path});
  for (ParsedVariant& p : out) p.where = path;
  return out;
}

// grid: {key: [v1, v2], key2: [...]} -> every combination, the first key varying slowest.
std::vector<ParsedVariant> expand_grid(const std::vector<ConfigOverrideChoices>& grid) {
  if (grid.empty()) return {};
  std::vector<ParsedVariant> out(1);
  out[0].where = grid.front().where;
  for (const ConfigOverrideChoices& key : grid) {
    std::vector<ParsedVariant> next;
    for (const ParsedVariant& partial : out) {
      for (const std::string& value : key.values) {
        ParsedVariant p = partial;
        p.variant.name += (p.variant.name.empty() ? "" : ",") + key.key + "=" + value;
        add_assignment(p, {key.key, value, key.where});
        next.push_back(std::move(p));
      }
    }
    out = std::move(next);
  }
  return out;
}

std::vector<ParsedVariant> named_variants(const std::vector<NamedVariant>& variants, const std::string& path) {
  std::vector<ParsedVariant> out;
  for (size_t i = 0; i < variants.size(); ++i) {
    ParsedVariant p;
    p.variant.name = variants[i].name;
    p.where = str_cat(path, ": variants[", i, "]");
    for (const ConfigOverride& o : variants[i].set) add_assignment(p, o);
    out.push_back(std::move(p));
  }
  return out;
}

// Loads a pipeline config with a variant's overrides (what run and check both need).
PipelineConfig variant_config(const AblationSpec& spec, const AblationVariant& v) {
  std::vector<std::string> overrides = v.overrides;
  overrides.push_back("pipeline.max_tokens=" + std::to_string(spec.eval.max_tokens));
  PipelineConfig cfg;
  load_config(spec.base, overrides, cfg);
  return cfg;
}

// The training config a variant retrains with (its overrides on train.drafter / train.refiner).
const std::string& train_config_of(const AblationSpec& spec, bool drafter, const std::string& key) {
  const std::string& config = drafter ? spec.drafter_train_config : spec.refiner_train_config;
  if (config.empty())
    fail(key, "this variant retrains the ", drafter ? "drafter" : "refiner", " but the file names no train.",
         drafter ? "drafter" : "refiner", " config");
  return config;
}

// Checks every override of a parsed variant against the config it targets, one at a time, so
// the error names the line that is wrong; then all together (one may need another).
void check_variant(const AblationSpec& spec, const ParsedVariant& p, const ModelTrainer* trainer) {
  for (const ConfigOverride& a : p.assignments) {
    try {
      const bool drafter = a.key.rfind(kDrafterTrainPrefix, 0) == 0, refiner = a.key.rfind(kRefinerTrainPrefix, 0) == 0;
      if (drafter || refiner) {
        const std::string& config = train_config_of(spec, drafter, a.key);
        if (!trainer) fail(a.key, "this variant retrains a model, but this program cannot train (run it with `sculpt ablate`)");
        trainer->resolve(config, {a.key.substr(std::string(drafter ? kDrafterTrainPrefix : kRefinerTrainPrefix).size()) + "=" + a.value});
      } else {
        PipelineConfig cfg;
        load_config(spec.base, {a.key + "=" + a.value}, cfg);
      }
    } catch (const Error& e) {
      fail(a.where, "variant '", p.variant.name, "': ", e.what());
    }
  }
  try {
    variant_config(spec, p.variant);
    if (!p.variant.drafter_train.empty()) trainer->resolve(spec.drafter_train_config, p.variant.drafter_train);
    if (!p.variant.refiner_train.empty()) trainer->resolve(spec.refiner_train_config, p.variant.refiner_train);
  } catch (const Error& e) {
    fail(p.where, "variant '", p.variant.name, "': ", e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// Running.

// A variant's folder name: its name with anything but [A-Za-z0-9._=+-] replaced, made unique.
std::vector<std::string> folder_names(const std::vector<AblationVariant>& variants) {
  std::vector<std::string> out;
  std::set<std::string> used;
  for (const AblationVariant& v : variants) {
    std::string name;
    for (char c : v.name.substr(0, 120))
      name += (std::isalnum(static_cast<unsigned char>(c)) || std::string("._=+-").find(c) != std::string::npos) ? c : '_';
    if (name.empty() || name[0] == '.') name = "_" + name;
    std::string unique = name;
    for (int i = 2; used.count(unique); ++i) unique = name + "_" + std::to_string(i);
    used.insert(unique);
    out.push_back(unique);
  }
  return out;
}

json metrics_json(const VariantMetrics& m) {
  return {{"prompts", m.n_prompts}, {"tokens", m.n_tokens}, {"seconds", m.seconds},
          {"tokens_per_second", m.tokens_per_second}, {"nll_per_token", m.nll_per_token},
          {"nll_stderr", m.nll_stderr}, {"repeated_4gram", m.repeated_4gram}, {"distinct_2", m.distinct_2},
          {"token_f1", m.token_f1}, {"forward_passes", m.forward_passes}, {"edits", m.edits},
          {"train_seconds", m.train_seconds}};
}

VariantMetrics metrics_from_json(const json& j) {
  VariantMetrics m;
  m.n_prompts = j.at("prompts").get<int64_t>();
  m.n_tokens = j.at("tokens").get<int64_t>();
  m.seconds = j.at("seconds").get<double>();
  m.tokens_per_second = j.at("tokens_per_second").get<double>();
  m.nll_per_token = j.at("nll_per_token").get<double>();
  m.nll_stderr = j.at("nll_stderr").get<double>();
  m.repeated_4gram = j.at("repeated_4gram").get<double>();
  m.distinct_2 = j.at("distinct_2").get<double>();
  m.token_f1 = j.at("token_f1").get<double>();
  m.forward_passes = j.at("forward_passes").get<int64_t>();
  m.edits = j.at("edits").get<int64_t>();
  m.train_seconds = j.at("train_seconds").get<double>();
  return m;
}

// The result kept from an earlier run when its hash matches; false if absent, stale or unreadable.
bool read_kept_result(const std::string& path, const std::string& hash, VariantMetrics& out) {
  if (!file_exists(path)) return false;
  try {
    const json j = json::parse(read_file(path));
    if (j.at("hash").get<std::string>() != hash) return false;
    out = metrics_from_json(j.at("metrics"));
    return true;
  } catch (const std::exception&) {
    return false;  // a file from another version or damaged: run the variant again
  }
}

std::string eval_set_jsonl(const std::vector<EvalPrompt>& prompts) {
  std::string out;
  for (const EvalPrompt& p : prompts) {
    json j = {{"id", p.id}, {"prompt", p.prompt}};
    if (!p.reference.empty()) j["reference"] = p.reference;
    out += j.dump() + "\n";
  }
  return out;
}

// Progress: one line per prompt, rewritten in place on a terminal.
class ProgressLine {
 public:
  ProgressLine(std::ostream& out, bool rewrite) : out_(out), rewrite_(rewrite) {}
  void update(const std::string& line) {
    if (rewrite_) out_ << "\r" << line << "\x1b[K" << std::flush;
    else out_ << line << std::endl;
  }
  void finish(const std::string& line) {
    if (rewrite_) out_ << "\r" << line << "\x1b[K" << std::endl;
    else out_ << line << std::endl;
  }

 private:
  std::ostream& out_;
  bool rewrite_;
};

// Everything that determines a variant's result: its config, the prompts, the evaluator and
// the models it trains. A kept result whose hash matches is reused.
std::string variant_identity(const AblationSpec& spec, const PipelineConfig& cfg, const AblationVariant& v,
                             const std::string& eval_text, const ModelTrainer* trainer) {
  std::string identity = dump_config(cfg) + "\n--eval--\n" + eval_text + "\n--evaluator--\n" + spec.evaluator +
                         (spec.eval.warmup ? "\nwarmup" : "");
  if (!v.drafter_train.empty()) identity += "\n--drafter--\n" + trainer->resolve(spec.drafter_train_config, v.drafter_train);
  if (!v.refiner_train.empty()) identity += "\n--refiner--\n" + trainer->resolve(spec.refiner_train_config, v.refiner_train);
  return fnv1a_hex(identity);
}

// A folder left by another configuration of this name is cleared; one left half-done by this
// configuration keeps its training state, so training resumes.
void prepare_variant_dir(const VariantResult& vr, const std::string& hash) {
  const std::string variant_file = vr.dir + "/variant.json";
  if (file_exists(variant_file)) {
    std::string old_hash;
    try {
      old_hash = json::parse(read_file(variant_file)).value("hash", "");
    } catch (const std::exception&) {
    }
    if (old_hash != hash) fs::remove_all(vr.dir);
  }
  make_directories(vr.dir);
  const AblationVariant& v = vr.variant;
  write_file_atomic(variant_file, json{{"name", v.name}, {"hash", hash}, {"overrides", v.overrides},
                                       {"drafter_train", v.drafter_train}, {"refiner_train", v.refiner_train}}.dump(2) + "\n");
}

// Generates every prompt's output with the variant's pipeline (after one untimed warm-up).
std::vector<PipelineResult> generate_outputs(const PipelineConfig& cfg, const AblationSpec& spec,
                                             const std::vector<EvalPrompt>& prompts, const std::string& tag,
                                             ProgressLine& progress) {
  Pipeline pipeline(cfg, spec.base);
  if (spec.eval.warmup) pipeline.generate(prompts[0].prompt);
  std::vector<PipelineResult> outputs;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < prompts.size(); ++i) {
    outputs.push_back(pipeline.generate(prompts[i].prompt));
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = double(i + 1) / elapsed;
    progress.update(str_cat(tag, ": prompt ", i + 1, "/", prompts.size(), ", ", format_rate(rate * spec.eval.max_tokens),
                            " tok/s, ETA ", format_duration(double(prompts.size() - i - 1) / rate)));
  }
  progress.finish(str_cat(tag, ": generated ", prompts.size(), " outputs"));
  return outputs;
}

// Time, tokens, passes and edits summed over the outputs; the outputs saved as JSONL.
void count_outputs(const std::vector<EvalPrompt>& prompts, const std::vector<PipelineResult>& outputs,
                   const std::string& path, VariantMetrics& m) {
  std::string jsonl;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const PipelineResult& r = outputs[i];
    m.seconds += r.trace.seconds;
    m.n_tokens += r.trace.n_generated;
    for (const StageTiming& s : r.trace.stages) m.forward_passes += s.n_forward;
    m.edits += int64_t(r.trace.edits.size());
    jsonl += json{{"id", prompts[i].id}, {"prompt", prompts[i].prompt}, {"text", r.text}, {"draft", r.draft_text},
                  {"seconds", r.trace.seconds}, {"tokens", r.trace.n_generated}}.dump() + "\n";
  }
  m.n_prompts = int64_t(prompts.size());
  m.tokens_per_second = m.seconds > 0 ? double(m.n_tokens) / m.seconds : 0.0;
  write_file_atomic(path, jsonl);
}

// The evaluator's NLL of each output given its prompt (mean and standard error over prompts),
// and the text metrics: rep-4, distinct-2, token F1 against the references.
void score_outputs(Drafter& evaluator, const std::vector<EvalPrompt>& prompts,
                   const std::vector<PipelineResult>& outputs, VariantMetrics& m) {
  double nll_sum = 0, f1_sum = 0;
  int64_t nll_tokens = 0, n_references = 0;
  std::vector<double> per_prompt_nll;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::string& text = outputs[i].text;
    const std::vector<std::string> words = text_words(text);
    m.repeated_4gram += repeated_ngram_rate(words, 4) / double(prompts.size());
    m.distinct_2 += distinct_ngrams(words, 2) / double(prompts.size());
    if (!prompts[i].reference.empty()) {
      f1_sum += token_f1(words, text_words(prompts[i].reference));
      ++n_references;
    }
    if (text.empty()) continue;  // stopped at once (EOS): nothing to score
    const ScoreResult s = score_continuation(*evaluator.model(), evaluator.tokenizer(), prompts[i].prompt, text);
    nll_sum += s.nll;
    nll_tokens += int64_t(s.ids.size());
    per_prompt_nll.push_back(s.nll / double(s.ids.size()));
  }
  m.nll_per_token = nll_tokens > 0 ? nll_sum / double(nll_tokens) : 0.0;
  if (per_prompt_nll.size() > 1) {
    double mean = 0, var = 0;
    for (double x : per_prompt_nll) mean += x / double(per_prompt_nll.size());
    for (double x : per_prompt_nll) var += (x - mean) * (x - mean) / double(per_prompt_nll.size() - 1);
    m.nll_stderr = std::sqrt(var / double(per_prompt_nll.size()));
  }
  m.token_f1 = n_references > 0 ? f1_sum / double(n_references) : -1.0;
}

// What one run of the ablation shares: the spec, the prompts, the evaluator, where to log.
struct AblationRun {
  const AblationSpec& spec;
  const AblationOptions& options;
  std::ostream& log;
  std::vector<EvalPrompt> prompts;
  std::string eval_text;
  std::unique_ptr<Drafter> evaluator;  // loaded when the first variant needs scoring
};

// Trains the variant's own models (if any), generates, scores, and writes result.json.
void run_variant(AblationRun& run, VariantResult& vr, PipelineConfig cfg, const std::string& hash, const std::string& tag) {
  const AblationSpec& spec = run.spec;
  const AblationVariant& variant = vr.variant;
  prepare_variant_dir(vr, hash);
  VariantMetrics& m = vr.metrics;
  if (!variant.drafter_train.empty()) {
    m.train_seconds += run.options.trainer->train(spec.drafter_train_config, variant.drafter_train, vr.dir + "/drafter", run.log);
    cfg.pipeline.drafter = vr.dir + "/drafter";
  }
  if (!variant.refiner_train.empty()) {
    m.train_seconds += run.options.trainer->train(spec.refiner_train_config, variant.refiner_train, vr.dir + "/refiner", run.log);
    cfg.pipeline.refiner = vr.dir + "/refiner";
  }
  ProgressLine progress(run.log, run.options.rewrite_line);
  const std::vector<PipelineResult> outputs = generate_outputs(cfg, spec, run.prompts, tag, progress);
  count_outputs(run.prompts, outputs, vr.dir + "/outputs.jsonl", m);
  if (!run.evaluator) run.evaluator = std::make_unique<Drafter>(Drafter::load(spec.evaluator));
  score_outputs(*run.evaluator, run.prompts, outputs, m);
  write_file_atomic(vr.dir + "/result.json", json{{"name", variant.name}, {"hash", hash}, {"metrics", metrics_json(m)}}.dump(2) + "\n");
  run.log << tag << ": NLL/token " << m.nll_per_token << ", rep-4 " << m.repeated_4gram << ", "
          << format_rate(m.tokens_per_second) << " tok/s\n";
}

void write_reports(const std::string& name, const AblationResult& result) {
  write_file_atomic(result.csv_path, ablation_csv(result.variants));
  write_file_atomic(result.plot_path, ablation_svg(result.variants));
  write_file_atomic(result.markdown_path, ablation_markdown(name, result.variants, "plot.svg"));
  write_file_atomic(result.html_path, ablation_html(name, result.variants));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void EvalSetParams::validate() const {
  if (corpus.empty() == prompts.empty())
    fail("eval", "give exactly one of eval.corpus (prompts cut from its documents) and eval.prompts (a JSONL file)");
}

AblationSpec load_ablation(const std::string& path, const ModelTrainer* trainer) {
  AblationFile file;
  load_config_file(path, file);
  AblationSpec spec;
  spec.path = path;
  spec.name = fs::path(path).stem().string();
  if (file.base.empty()) fail(path, "base: missing (an ablation needs base and eval)");
  spec.base = file.base;
  spec.out_dir = file.out_dir.empty() ? "build/ablations/" + spec.name : file.out_dir;
  spec.evaluator = file.evaluator;
  if (spec.evaluator.empty()) {  // the base config's pipeline.evaluator
    PipelineConfig base;
    load_config(spec.base, {}, base);
    spec.evaluator = base.pipeline.evaluator;
    if (spec.evaluator.empty()) fail(path, "evaluator: missing, and the base config ", spec.base, " names no pipeline.evaluator");
    if (const std::string why = must_be_model_dir(spec.evaluator); !why.empty())
      fail(spec.base, "pipeline.evaluator: ", why, " (scripts/train_defaults.sh evaluator builds models/evaluator)");
  }
  spec.drafter_train_config = file.train.drafter;
  spec.refiner_train_config = file.train.refiner;
  spec.eval = file.eval;

  std::vector<ParsedVariant> parsed = baselines(path);
  for (ParsedVariant& p : expand_grid(file.grid)) parsed.push_back(std::move(p));
  for (ParsedVariant& p : named_variants(file.variants, path)) parsed.push_back(std::move(p));
  std::map<std::string, std::string> seen;  // name -> where
  for (const ParsedVariant& p : parsed) {
    if (auto [it, inserted] = seen.emplace(p.variant.name, p.where); !inserted)
      fail(p.where, "variant '", p.variant.name, "' is defined twice (also at ", it->second, ")");
    check_variant(spec, p, trainer);
    spec.variants.push_back(p.variant);
  }
  return spec;
}

std::vector<EvalPrompt> make_eval_set(const EvalSetParams& params, const Tokenizer& tokenizer) {
  std::vector<EvalPrompt> out;
  if (!params.prompts.empty()) return read_prompt_file(params.prompts, params.n_prompts);
  const std::vector<Document> docs = read_corpus_split(params.corpus, params.validation_fraction, params.split);
  const int64_t window = int64_t(params.prompt_tokens) + params.reference_tokens;
  std::vector<std::vector<TokenId>> ids;
  for (const Document& d : docs) ids.push_back(tokenizer.encode(d.text));
  for (int64_t round = 0; int64_t(out.size()) < params.n_prompts; ++round) {
    bool any = false;
    for (size_t d = 0; d < docs.size() && int64_t(out.size()) < params.n_prompts; ++d) {
      const int64_t begin = round * window;
      if (begin + window > int64_t(ids[d].size())) continue;
      any = true;
      auto at = ids[d].begin() + begin;
      EvalPrompt p;
      p.id = str_cat(docs[d].id, "@", begin);
      p.prompt = tokenizer.decode(std::vector<TokenId>(at, at + params.prompt_tokens));
      p.reference = tokenizer.decode(std::vector<TokenId>(at + params.prompt_tokens, at + window));
      out.push_back(std::move(p));
    }
    if (!any) break;
  }
  if (out.empty())
    fail(params.corpus, "no document of the ", params.split == CorpusSplit::kValidation ? "validation" : "chosen",
         " split has ", window, " tokens for one prompt (", docs.size(), " documents)");
  return out;
}

AblationResult run_ablation(const AblationSpec& spec, const AblationOptions& options) {
  AblationRun run{spec, options, options.log ? *options.log : std::cerr, {}, {}, nullptr};
  for (const AblationVariant& v : spec.variants)
    if ((!v.drafter_train.empty() || !v.refiner_train.empty()) && !options.trainer)
      fail(spec.path, "variant '", v.name, "' retrains a model, but this program cannot train (run it with `sculpt ablate`)");
  make_directories(spec.out_dir + "/variants");
  // The prompts are cut in the base pipeline's tokens (every variant sees the same text).
  const PipelineConfig base = variant_config(spec, spec.variants.at(2));
  const std::string tokenizer_dir = base.pipeline.drafter.empty() ? base.pipeline.refiner : base.pipeline.drafter;
  run.prompts = make_eval_set(spec.eval, Tokenizer::load_dir(tokenizer_dir));
  run.eval_text = eval_set_jsonl(run.prompts);
  write_file_atomic(spec.out_dir + "/eval_set.jsonl", run.eval_text);
  run.log << "[ablate] " << spec.name << ": " << spec.variants.size() << " variants x " << run.prompts.size()
          << " prompts, " << spec.eval.max_tokens << " new tokens each -> " << spec.out_dir << "\n";

  AblationResult result;
  result.csv_path = spec.out_dir + "/results.csv";
  result.markdown_path = spec.out_dir + "/results.md";
  result.html_path = spec.out_dir + "/report.html";
  result.plot_path = spec.out_dir + "/plot.svg";
  const std::vector<std::string> folders = folder_names(spec.variants);
  for (size_t vi = 0; vi < spec.variants.size(); ++vi) {
    VariantResult vr;
    vr.variant = spec.variants[vi];
    vr.dir = spec.out_dir + "/variants/" + folders[vi];
    const std::string tag = str_cat("[ablate] ", vi + 1, "/", spec.variants.size(), " ", vr.variant.name);
    const PipelineConfig cfg = variant_config(spec, vr.variant);
    const std::string hash = variant_identity(spec, cfg, vr.variant, run.eval_text, options.trainer);
    if (!options.rerun && read_kept_result(vr.dir + "/result.json", hash, vr.metrics)) {
      vr.reused = true;
      run.log << tag << ": kept from an earlier run (" << vr.dir << "/result.json)\n";
    } else {
      run_variant(run, vr, cfg, hash, tag);
    }
    result.variants.push_back(vr);
    write_reports(spec.name, result);
    if (options.on_variant_done) options.on_variant_done(vr);
  }
  return result;
}

}  // namespace sculpt
