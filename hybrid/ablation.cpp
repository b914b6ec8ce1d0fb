// The ablation runner: the file, the evaluation set, variants run or reused, the metrics.
#include "hybrid/ablation.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "ar_draft/drafter.h"
#include "ar_draft/scorer.h"
#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/config.h"
#include "core/content_hash.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/trainer.h"
#include "hybrid/ablation_report.h"
#include "hybrid/pipeline.h"
#include "hybrid/prompt_file.h"
#include "hybrid/text_metrics.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kDrafterTrainPrefix = "drafter_train.";
constexpr const char* kRefinerTrainPrefix = "refiner_train.";

// ---------------------------------------------------------------------------------------------
// Reading the ablation file.

class AblationFile {
 public:
  explicit AblationFile(std::string path) : path_(std::move(path)) {}

  std::string at(const YAML::Node& node) const { return str_cat(path_, ":", node.Mark().line + 1); }
  [[noreturn]] void fail_at(const YAML::Node& node, const std::string& key, const std::string& message) const {
    fail(at(node), key, ": ", message);
  }

  // Refuses keys outside `known`, naming them.
  void check_keys(const YAML::Node& map, const std::string& section, const std::set<std::string>& known) const {
    for (const auto& entry : map) {
      const std::string key = entry.first.as<std::string>();
      if (known.count(key)) continue;
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      fail_at(entry.first, section.empty() ? key : section + "." + key, "unknown key (expected one of: " + list + ")");
    }
  }

  std::string string(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail_at(node, key, "expected a string");
    return node.Scalar();
  }
  int integer(const YAML::Node& node, const std::string& key, int lo, int hi) const {
    int v = 0;
    if (!node.IsScalar() || !YAML::convert<int>::decode(node, v)) fail_at(node, key, "expected an integer, got '" + text(node) + "'");
    if (v < lo || v > hi) fail_at(node, key, str_cat(v, " is outside [", lo, ", ", hi, "]"));
    return v;
  }
  double number(const YAML::Node& node, const std::string& key, double lo, double hi) const {
    double v = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, v)) fail_at(node, key, "expected a number, got '" + text(node) + "'");
    if (!(v >= lo && v <= hi)) fail_at(node, key, str_cat(v, " is outside [", lo, ", ", hi, "]"));
    return v;
  }
  bool boolean(const YAML::Node& node, const std::string& key) const {
    const std::string s = node.IsScalar() ? node.Scalar() : "";
    if (s == "true") return true;
    if (s == "false") return false;
    fail_at(node, key, "expected true or false, got '" + text(node) + "'");
  }

  // A YAML value as the right-hand side of a "key=value" override.
  static std::string text(const YAML::Node& node) {
    if (node.IsScalar()) {
      // A quoted scalar ("10") must stay a string when the override is parsed again.
      if (node.Tag() == "!") return json(node.Scalar()).dump();
      return node.Scalar();
    }
    YAML::Emitter out;
    out << YAML::Flow << node;
    return out.c_str();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One override from the file: "key=value", and where it was written.
struct Assignment {
  std::string text;
  std::string where;  // file:line
};

struct ParsedVariant {
  AblationVariant variant;
  std::vector<Assignment> assignments;
  std::string where;
};

// Sorts an override into the pipeline's or a training config's list.
void add_assignment(ParsedVariant& v, const std::string& key, const std::string& value, const std::string& where) {
  v.assignments.push_back({key + "=" + value, where});
  auto strip = [&](const char* prefix) { return key.substr(std::string(prefix).size()) + "=" + value; };
  if (key.rfind(kDrafterTrainPrefix, 0) == 0) v.variant.drafter_train.push_back(strip(kDrafterTrainPrefix));
  else if (key.rfind(kRefinerTrainPrefix, 0) == 0) v.variant.refiner_train.push_back(strip(kRefinerTrainPrefix));
  else v.variant.overrides.push_back(key + "=" + value);
}

CorpusSplit parse_split(const AblationFile& file, const YAML::Node& node) {
  const std::string s = file.string(node, "eval.split");
  if (s == "validation") return CorpusSplit::kValidation;
  if (s == "train") return CorpusSplit::kTrain;
  if (s == "all") return CorpusSplit::kAll;
  file.fail_at(node, "eval.split", "expected validation, train or all, got '" + s + "'");
}

void parse_eval(const AblationFile& file, const YAML::Node& node, EvalSetParams& e) {
  if (!node.IsMap()) file.fail_at(node, "eval", "expected a section (a mapping of keys)");
  file.check_keys(node, "eval", {"corpus", "prompts", "split", "validation_fraction", "n_prompts", "prompt_tokens",
                                 "reference_tokens", "max_tokens", "warmup"});
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>(), path = "eval." + key;
    const YAML::Node& v = entry.second;
    if (key == "corpus") e.corpus = file.string(v, path);
    else if (key == "prompts") e.prompts = file.string(v, path);
    else if (key == "split") e.split = parse_split(file, v);
    else if (key == "validation_fraction") e.validation_fraction = file.number(v, path, 0.0, 1.0);
    else if (key == "n_prompts") e.n_prompts = file.integer(v, path, 1, 1 << 20);
    else if (key == "prompt_tokens") e.prompt_tokens = file.integer(v, path, 1, 1 << 20);
    else if (key == "reference_tokens") e.reference_tokens = file.integer(v, path, 0, 1 << 20);
    else if (key == "max_tokens") e.max_tokens = file.integer(v, path, 1, 1 << 24);
    else if (key == "warmup") e.warmup = file.boolean(v, path);
  }
  if (e.corpus.empty() == e.prompts.empty())
    file.fail_at(node, "eval", "give exactly one of eval.corpus (prompts cut from its documents) and eval.prompts (a JSONL file)");
}

// grid: {key: [v1, v2], key2: [...]} -> every combination, the first key varying slowest.
std::vector<ParsedVariant> parse_grid(const AblationFile& file, const YAML::Node& grid) {
  if (!grid.IsMap()) file.fail_at(grid, "grid", "expected a mapping of keys to lists of values");
  std::vector<ParsedVariant> out(1);
  for (const auto& entry : grid) {
    const std::string key = entry.first.as<std::string>();
    std::vector<YAML::Node> values;
    if (entry.second.IsSequence()) {
      for (const YAML::Node& v : entry.second) values.push_back(v);
    } else {
      values.push_back(entry.second);
    }
    if (values.empty()) file.fail_at(entry.second, "grid." + key, "expected at least one value");
    std::vector<ParsedVariant> next;
    for (const ParsedVariant& partial : out) {
      for (const YAML::Node& v : values) {
        ParsedVariant p = partial;
        const std::string value = AblationFile::text(v);
        p.variant.name += (p.variant.name.empty() ? "" : ",") + key + "=" + value;
        add_assignment(p, key, value, file.at(entry.first));
        p.where = file.at(grid);
        next.push_back(std::move(p));
      }
    }
    out = std::move(next);
  }
  if (out.size() == 1 && out[0].variant.name.empty()) out.clear();
  return out;
}

std::vector<ParsedVariant> parse_variants(const AblationFile& file, const YAML::Node& list) {
  if (!list.IsSequence()) file.fail_at(list, "variants", "expected a list of {name, set}");
  std::vector<ParsedVariant> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string key = str_cat("variants[", i, "]");
    if (!item.IsMap()) file.fail_at(item, key, "expected {name: ..., set: {key: value, ...}}");
    file.check_keys(item, key, {"name", "set"});
    if (!item["name"]) file.fail_at(item, key + ".name", "missing: every variant needs a name");
    ParsedVariant p;
    p.variant.name = file.string(item["name"], key + ".name");
    if (p.variant.name.empty()) file.fail_at(item["name"], key + ".name", "must not be empty");
    p.where = file.at(item);
    if (const YAML::Node set = item["set"]) {
      if (!set.IsMap()) file.fail_at(set, key + ".set", "expected a mapping of keys to values");
      for (const auto& entry : set)
        add_assignment(p, entry.first.as<std::string>(), AblationFile::text(entry.second), file.at(entry.first));
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Loads a pipeline config with a variant's overrides (what run and check both need).
SculptConfig variant_config(const AblationSpec& spec, const AblationVariant& v) {
  std::vector<std::string> overrides = v.overrides;
  overrides.push_back("pipeline.max_tokens=" + std::to_string(spec.eval.max_tokens));
  SculptConfig cfg;
  load_config(spec.base, overrides, cfg);
  return cfg;
}

SculptConfig train_config(const std::string& path, const std::vector<std::string>& overrides) {
  SculptConfig cfg;
  load_config(path, overrides, cfg);
  return cfg;
}

// Checks every override of a parsed variant against the config it targets, one at a time, so
// the error names the line that is wrong.
void check_variant(const AblationSpec& spec, const ParsedVariant& p) {
  for (const Assignment& a : p.assignments) {
    const std::string key = a.text.substr(0, a.text.find('='));
    try {
      if (key.rfind(kDrafterTrainPrefix, 0) == 0 || key.rfind(kRefinerTrainPrefix, 0) == 0) {
        const bool drafter = key.rfind(kDrafterTrainPrefix, 0) == 0;
        const std::string& config = drafter ? spec.drafter_train_config : spec.refiner_train_config;
        if (config.empty())
          fail(key, "this variant retrains the ", drafter ? "drafter" : "refiner", " but the file names no train.",
               drafter ? "drafter" : "refiner", " config");
        SculptConfig cfg;
        load_config(config, {a.text.substr(std::string(drafter ? kDrafterTrainPrefix : kRefinerTrainPrefix).size())}, cfg);
      } else {
        SculptConfig cfg;
        load_config(spec.base, {a.text}, cfg);
      }
    } catch (const Error& e) {
      fail(a.where, "variant '", p.variant.name, "': ", e.what());
    }
  }
  try {  // and all together (one may need another)
    variant_config(spec, p.variant);
    if (!p.variant.drafter_train.empty()) train_config(spec.drafter_train_config, p.variant.drafter_train);
    if (!p.variant.refiner_train.empty()) train_config(spec.refiner_train_config, p.variant.refiner_train);
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
  ProgressLine(std::ostream& out, bool tty) : out_(out), tty_(tty) {}
  void update(const std::string& line) {
    if (tty_) out_ << "\r" << line << "\x1b[K" << std::flush;
    else out_ << line << std::endl;
  }
  void finish(const std::string& line) {
    if (tty_) out_ << "\r" << line << "\x1b[K" << std::endl;
    else out_ << line << std::endl;
  }

 private:
  std::ostream& out_;
  bool tty_;
};

// Trains one of a variant's own models into `model_dir` (resuming a half-done run of the same
// config), unless a finished one is already there. Returns the seconds spent training.
double train_variant_model(const std::string& config_path, const std::vector<std::string>& overrides,
                           const std::string& model_dir, std::ostream& log) {
  SculptConfig cfg = train_config(config_path, overrides);
  cfg.train.out_dir = model_dir;
  const std::string done_marker = model_dir + ".trained";
  const std::string hash = fnv1a_hex(dump_config(cfg));
  if (file_exists(done_marker) && read_file(done_marker) == hash) return 0.0;
  const auto start = std::chrono::steady_clock::now();
  TrainOptions options;
  options.resume = file_exists(model_dir + "/trainer_state") || file_exists(model_dir + "/trainer_state.old");
  options.log = &log;
  log << "[ablate] training " << model_dir << " (" << config_path << (options.resume ? ", resuming" : "") << ")\n";
  train(cfg, options);
  write_file_atomic(done_marker, hash);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

AblationSpec load_ablation(const std::string& path) {
  const AblationFile file(path);
  YAML::Node root;
  try {
    root = YAML::Load(read_file(path, size_t(1) << 24));
  } catch (const YAML::Exception& e) {
    fail(e.mark.is_null() ? path : str_cat(path, ":", e.mark.line + 1), "invalid YAML: ", e.msg);
  }
  if (!root.IsMap()) fail(path, "expected a mapping with base, eval and grid or variants (and evaluator)");
  file.check_keys(root, "", {"base", "out_dir", "evaluator", "train", "eval", "grid", "variants"});

  AblationSpec spec;
  spec.path = path;
  spec.name = fs::path(path).stem().string();
  for (const char* key : {"base", "eval"})
    if (!root[key]) fail(path, key, ": missing (an ablation needs base and eval)");
  spec.base = file.string(root["base"], "base");
  if (!file_exists(spec.base)) file.fail_at(root["base"], "base", "'" + spec.base + "' not found");
  if (root["evaluator"]) {
    spec.evaluator = file.string(root["evaluator"], "evaluator");
  } else {  // the base config's pipeline.evaluator
    SculptConfig base;
    load_config(spec.base, {}, base);
    spec.evaluator = base.pipeline.evaluator;
    if (spec.evaluator.empty())
      fail(path, "evaluator: missing, and the base config ", spec.base, " names no pipeline.evaluator");
  }
  spec.out_dir = root["out_dir"] ? file.string(root["out_dir"], "out_dir") : "build/ablations/" + spec.name;
  if (const YAML::Node train = root["train"]) {
    if (!train.IsMap()) file.fail_at(train, "train", "expected {drafter: CONFIG, refiner: CONFIG}");
    file.check_keys(train, "train", {"drafter", "refiner"});
    if (train["drafter"]) spec.drafter_train_config = file.string(train["drafter"], "train.drafter");
    if (train["refiner"]) spec.refiner_train_config = file.string(train["refiner"], "train.refiner");
  }
  parse_eval(file, root["eval"], spec.eval);

  // The models it names must load, before any variant is looked at.
  if (!file_exists(spec.evaluator + "/config.json")) {
    const std::string why = "'" + spec.evaluator + "' is not a model directory (no config.json)";
    if (root["evaluator"]) file.fail_at(root["evaluator"], "evaluator", why);
    fail(spec.base, "pipeline.evaluator: ", why, " (scripts/train_defaults.sh evaluator builds models/evaluator)");
  }
  for (const std::string* config : {&spec.drafter_train_config, &spec.refiner_train_config})
    if (!config->empty() && !file_exists(*config))
      file.fail_at(root["train"], "train", "'" + *config + "' not found");

  std::vector<ParsedVariant> parsed(3);
  parsed[0].variant = {"ar_only", {"refine.enabled=false"}, {}, {}, true};
  parsed[1].variant = {"diffusion_only", {"draft.enabled=false"}, {}, {}, true};
  parsed[2].variant = {"hybrid", {}, {}, {}, true};
  for (ParsedVariant& p : parsed) {
    p.where = path;
    for (const std::string& o : p.variant.overrides) p.assignments.push_back({o, path});
  }
  if (const YAML::Node grid = root["grid"])
    for (ParsedVariant& p : parse_grid(file, grid)) parsed.push_back(std::move(p));
  if (const YAML::Node variants = root["variants"])
    for (ParsedVariant& p : parse_variants(file, variants)) parsed.push_back(std::move(p));

  std::map<std::string, std::string> seen;  // name -> where
  for (const ParsedVariant& p : parsed) {
    if (auto [it, inserted] = seen.emplace(p.variant.name, p.where); !inserted)
      fail(p.where, "variant '", p.variant.name, "' is defined twice (also at ", it->second, ")");
    check_variant(spec, p);
    spec.variants.push_back(p.variant);
  }
  return spec;
}

std::vector<EvalPrompt> make_eval_set(const EvalSetParams& params, const Tokenizer& tokenizer) {
  std::vector<EvalPrompt> out;
  if (!params.prompts.empty()) return read_prompt_file(params.prompts, params.n_prompts);

  DataParams data;
  data.corpus = params.corpus;
  data.validation_fraction = params.validation_fraction;
  const std::vector<SplitDocument> docs = read_split(data, params.split);
  const int64_t window = int64_t(params.prompt_tokens) + params.reference_tokens;
  std::vector<std::vector<int32_t>> ids;
  for (const SplitDocument& d : docs) ids.push_back(tokenizer.encode(d.text));
  for (int64_t round = 0; int64_t(out.size()) < params.n_prompts; ++round) {
    bool any = false;
    for (size_t d = 0; d < docs.size() && int64_t(out.size()) < params.n_prompts; ++d) {
      const int64_t begin = round * window;
      if (begin + window > int64_t(ids[d].size())) continue;
      any = true;
      auto at = ids[d].begin() + begin;
      EvalPrompt p;
      p.id = str_cat(docs[d].id, "@", begin);
      p.prompt = tokenizer.decode(std::vector<int32_t>(at, at + params.prompt_tokens));
      p.reference = tokenizer.decode(std::vector<int32_t>(at + params.prompt_tokens, at + window));
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
  std::ostream& log = options.log ? *options.log : std::cerr;
  const bool tty = !options.log && ::isatty(STDERR_FILENO);
  make_directories(spec.out_dir + "/variants");

  // The prompts are cut in the base pipeline's tokens (every variant sees the same text).
  const SculptConfig base = variant_config(spec, spec.variants.at(2));
  const std::string tokenizer_dir = base.pipeline.drafter.empty() ? base.pipeline.refiner : base.pipeline.drafter;
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_dir + "/tokenizer.model");
  const std::vector<EvalPrompt> prompts = make_eval_set(spec.eval, tokenizer);
  const std::string eval_text = eval_set_jsonl(prompts);
  write_file_atomic(spec.out_dir + "/eval_set.jsonl", eval_text);
  log << "[ablate] " << spec.name << ": " << spec.variants.size() << " variants x " << prompts.size()
      << " prompts, " << spec.eval.max_tokens << " new tokens each -> " << spec.out_dir << "\n";

  std::unique_ptr<Drafter> evaluator;  // loaded when the first variant needs scoring
  AblationResult result;
  result.csv_path = spec.out_dir + "/results.csv";
  result.markdown_path = spec.out_dir + "/results.md";
  result.html_path = spec.out_dir + "/report.html";
  result.plot_path = spec.out_dir + "/plot.svg";
  const std::vector<std::string> folders = folder_names(spec.variants);

  for (size_t vi = 0; vi < spec.variants.size(); ++vi) {
    const AblationVariant& variant = spec.variants[vi];
    VariantResult vr;
    vr.variant = variant;
    vr.dir = spec.out_dir + "/variants/" + folders[vi];
    const std::string tag = str_cat("[ablate] ", vi + 1, "/", spec.variants.size(), " ", variant.name);

    SculptConfig cfg = variant_config(spec, variant);
    std::string identity = dump_config(cfg) + "\n--eval--\n" + eval_text + "\n--evaluator--\n" + spec.evaluator +
                           (spec.eval.warmup ? "\nwarmup" : "");
    if (!variant.drafter_train.empty()) identity += "\n--drafter--\n" + dump_config(train_config(spec.drafter_train_config, variant.drafter_train));
    if (!variant.refiner_train.empty()) identity += "\n--refiner--\n" + dump_config(train_config(spec.refiner_train_config, variant.refiner_train));
    const std::string hash = fnv1a_hex(identity);
    const std::string result_path = vr.dir + "/result.json";

    if (!options.rerun && read_kept_result(result_path, hash, vr.metrics)) {
      vr.reused = true;
      log << tag << ": kept from an earlier run (" << result_path << ")\n";
    } else {
      // A folder left by another configuration of this name is cleared; one left half-done by
      // this configuration keeps its training state, so training resumes.
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
      write_file_atomic(variant_file, json{{"name", variant.name}, {"hash", hash}, {"overrides", variant.overrides},
                                           {"drafter_train", variant.drafter_train},
                                           {"refiner_train", variant.refiner_train}}.dump(2) + "\n");
      VariantMetrics& m = vr.metrics;
      if (!variant.drafter_train.empty()) {
        m.train_seconds += train_variant_model(spec.drafter_train_config, variant.drafter_train, vr.dir + "/drafter", log);
        cfg.pipeline.drafter = vr.dir + "/drafter";
      }
      if (!variant.refiner_train.empty()) {
        m.train_seconds += train_variant_model(spec.refiner_train_config, variant.refiner_train, vr.dir + "/refiner", log);
        cfg.pipeline.refiner = vr.dir + "/refiner";
      }

      // Generate.
      std::vector<PipelineResult> outputs;
      {
        Pipeline pipeline(cfg, spec.base);
        if (spec.eval.warmup) pipeline.generate(prompts[0].prompt);
        ProgressLine progress(log, tty);
        const auto start = std::chrono::steady_clock::now();
        for (size_t i = 0; i < prompts.size(); ++i) {
          outputs.push_back(pipeline.generate(prompts[i].prompt));
          const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          const double rate = double(i + 1) / elapsed;
          progress.update(str_cat(tag, ": prompt ", i + 1, "/", prompts.size(), ", ", format_rate(rate * spec.eval.max_tokens),
                                  " tok/s, ETA ", format_duration(double(prompts.size() - i - 1) / rate)));
        }
        progress.finish(str_cat(tag, ": generated ", prompts.size(), " outputs"));
      }
      std::string outputs_jsonl;
      for (size_t i = 0; i < prompts.size(); ++i) {
        const PipelineResult& r = outputs[i];
        m.seconds += r.trace.seconds;
        m.n_tokens += r.trace.n_generated;
        for (const StageTiming& s : r.trace.stages) m.forward_passes += s.n_forward;
        m.edits += int64_t(r.trace.edits.size());
        outputs_jsonl += json{{"id", prompts[i].id}, {"prompt", prompts[i].prompt}, {"text", r.text},
                              {"draft", r.draft_text}, {"seconds", r.trace.seconds}, {"tokens", r.trace.n_generated}}
                             .dump() + "\n";
      }
      write_file_atomic(vr.dir + "/outputs.jsonl", outputs_jsonl);

      // Score.
      if (!evaluator) evaluator = std::make_unique<Drafter>(Drafter::load(spec.evaluator));
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
        const ScoreResult s = score_continuation(*evaluator->model(), evaluator->tokenizer(), prompts[i].prompt, text);
        nll_sum += s.nll;
        nll_tokens += int64_t(s.ids.size());
        per_prompt_nll.push_back(s.nll / double(s.ids.size()));
      }
      m.n_prompts = int64_t(prompts.size());
      m.tokens_per_second = m.seconds > 0 ? double(m.n_tokens) / m.seconds : 0.0;
      m.nll_per_token = nll_tokens > 0 ? nll_sum / double(nll_tokens) : 0.0;
      if (per_prompt_nll.size() > 1) {
        double mean = 0, var = 0;
        for (double x : per_prompt_nll) mean += x / double(per_prompt_nll.size());
        for (double x : per_prompt_nll) var += (x - mean) * (x - mean) / double(per_prompt_nll.size() - 1);
        m.nll_stderr = std::sqrt(var / double(per_prompt_nll.size()));
      }
      m.token_f1 = n_references > 0 ? f1_sum / double(n_references) : -1.0;
      write_file_atomic(result_path, json{{"name", variant.name}, {"hash", hash}, {"metrics", metrics_json(m)}}.dump(2) + "\n");
      log << tag << ": NLL/token " << m.nll_per_token << ", rep-4 " << m.repeated_4gram << ", "
          << format_rate(m.tokens_per_second) << " tok/s\n";
    }
    result.variants.push_back(vr);
    write_file_atomic(result.csv_path, ablation_csv(result.variants));
    write_file_atomic(result.plot_path, ablation_svg(result.variants));
    write_file_atomic(result.markdown_path, ablation_markdown(spec.name, result.variants, "plot.svg"));
    write_file_atomic(result.html_path, ablation_html(spec.name, result.variants));
    if (options.on_variant_done) options.on_variant_done(vr);
  }
  return result;
}

}  // namespace sculpt
