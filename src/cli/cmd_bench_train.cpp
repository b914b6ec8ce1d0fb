// `sculpt bench train`: data-parallel training throughput. Trains the same config with 1, 2, ...
// processes (sculpt launch, one thread each unless told otherwise), reads each run's
// train_log.jsonl and reports training tokens/s and the scaling efficiency as JSON.
// `sculpt bench finetune`: LoRA fine-tuning against full fine-tuning of the same base model on the
// same data: trainable parameters, optimizer state and step time, as JSON.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli/cli_util.h"
#include "cli/launcher.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "train/lora_adapter.h"
#include "train/trainer.h"

namespace sculpt::cli {
namespace {

namespace fs = std::filesystem;

// Tokens/s between the end of step `warmup` and the last logged step (start-up, the first
// steps and the final checkpoint are outside the window).
double measured_tokens_per_second(const std::string& log_path, int64_t tokens_per_step, int64_t warmup) {
  std::ifstream in(log_path);
  if (!in) fail(log_path, "missing: the training run wrote no log");
  double t_warm = -1, t_last = -1;
  int64_t s_warm = -1, s_last = -1;
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json r = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!r.is_object() || !r.contains("elapsed_s")) continue;
    const int64_t step = r["step"].get<int64_t>();
    if (step == warmup) { s_warm = step; t_warm = r["elapsed_s"].get<double>(); }
    if (step > s_last) { s_last = step; t_last = r["elapsed_s"].get<double>(); }
  }
  if (s_warm < 0 || s_last <= s_warm) fail(log_path, "has no steps after warm-up step ", warmup);
  return double(tokens_per_step * (s_last - s_warm)) / (t_last - t_warm);
}

// --work-dir, or a fresh temporary directory sculpt-<bench>-XXXXXX (*own = true: the caller
// removes it); bench is "bench train", say.
std::string work_directory(const std::string& given, const std::string& bench, bool* own) {
  *own = given.empty();
  if (!*own) return given;
  std::string name = "sculpt-" + bench + "-XXXXXX";
  std::replace(name.begin(), name.end(), ' ', '-');
  std::string tmpl = (fs::temp_directory_path() / name).string();
  if (!::mkdtemp(tmpl.data())) fail("sculpt " + bench, "cannot make a temporary directory");
  return tmpl;
}

int bench_train(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("nproc", po::value<std::vector<int>>()->multitoken()->default_value({1, 2}, "1 2"), "process counts to measure")
      ("steps", po::value<int64_t>()->default_value(40), "optimizer steps per run")
      ("warmup", po::value<int64_t>()->default_value(5), "steps left out of the timing")
      ("threads", po::value<int>()->default_value(1), "threads per process")
      ("work-dir", po::value<std::string>()->default_value(""), "where the runs write (default: a temporary directory)");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench train --config configs/bench/train_scaling.yaml [--nproc 1 2] [--steps N]",
                     options, vm))
    return 0;
  if (vm["config"].as<std::string>().empty()) throw UsageError{"--config is required (the model and data to train)"};
  const TrainConfig cfg = read_config<TrainConfig>(vm);
  const int64_t steps = vm["steps"].as<int64_t>(), warmup = vm["warmup"].as<int64_t>();
  const int threads = vm["threads"].as<int>();
  if (steps < 2 || warmup < 1 || warmup >= steps) throw UsageError{"need --steps >= 2 and 1 <= --warmup < --steps"};
  if (threads < 1) throw UsageError{"--threads must be at least 1"};
  bool own_work = false;
  const std::string work = work_directory(vm["work-dir"].as<std::string>(), "bench train", &own_work);
  const int64_t tokens_per_step = cfg.train.batch_size * cfg.train.grad_accum * cfg.data.seq_len;

  nlohmann::json rows = nlohmann::json::array();
  double single = 0;
  for (int n : vm["nproc"].as<std::vector<int>>()) {
    if (n < 1) throw UsageError{"--nproc values must be at least 1"};
    const std::string out = work + "/nproc-" + std::to_string(n);
    fs::remove_all(out);
    std::vector<std::string> command = {"sculpt", "train", "--config", vm["config"].as<std::string>()};
    if (vm.count("set"))
      for (const std::string& s : vm["set"].as<std::vector<std::string>>()) command.insert(command.end(), {"--set", s});
    for (const std::string& s : std::vector<std::string>{"train.out_dir=" + out, "train.max_steps=" + std::to_string(steps), "train.log_every=1",
                                 "train.eval_every=0", "train.eval_batches=1", "train.save_every=0",
                                 "train.warmup_steps=" + std::to_string(std::min<int64_t>(cfg.train.warmup_steps, steps)),
                                 "runtime.n_threads=" + std::to_string(threads)})
      command.insert(command.end(), {"--set", s});
    LaunchParams launch;
    launch.nproc = n;
    launch.threads = threads;
    launch.stdout_to_stderr = true;  // stdout is this benchmark's JSON
    std::cerr << "bench train: " << n << " process" << (n == 1 ? "" : "es") << ", " << steps << " steps\n";
    const int status = launch_processes(launch, command, std::cerr);
    if (status != 0) fail("sculpt bench train", "the run with ", n, " processes failed (status ", status, ")");
    const double tps = measured_tokens_per_second(out + "/train_log.jsonl", tokens_per_step, warmup);
    if (n == 1) single = tps;
    nlohmann::json row = {{"nproc", n}, {"threads_per_process", threads}, {"tokens_per_second", tps}};
    if (single > 0) row["scaling_efficiency"] = tps / (single * n);
    rows.push_back(row);
  }
  if (own_work) fs::remove_all(work);
  const nlohmann::json result = {
      {"config", vm["config"].as<std::string>()},
      {"global_batch_tokens", tokens_per_step},
      {"steps", steps},
      {"timed_steps", steps - warmup},
      {"method", "sculpt launch --nproc N -- sculpt train with the same global batch; tokens/s between the end of "
                 "the warm-up step and the last step, from rank 0's train_log.jsonl; scaling efficiency = "
                 "tokens/s(N) / (N * tokens/s(1))"},
      {"results", rows}};
  std::cout << result.dump(2) << "\n";
  return 0;
}

int64_t count_parameters(const std::string& safetensors_path) {
  const SafetensorsFile file = SafetensorsFile::open(safetensors_path);
  int64_t n = 0;
  for (const TensorInfo& info : file.tensors()) n += info.numel();
  return n;
}

int bench_finetune(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("steps", po::value<int64_t>()->default_value(12), "optimizer steps per run")
      ("warmup", po::value<int64_t>()->default_value(2), "steps left out of the timing")
      ("work-dir", po::value<std::string>()->default_value(""), "where the runs write (default: a temporary directory)");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench finetune --config configs/finetune/NAME.yaml [--steps N]", options, vm)) return 0;
  if (vm["config"].as<std::string>().empty()) throw UsageError{"--config is required (a sculpt finetune config)"};
  TrainConfig cfg = read_config<TrainConfig>(vm);
  const int64_t steps = vm["steps"].as<int64_t>(), warmup = vm["warmup"].as<int64_t>();
  if (steps < 2 || warmup < 1 || warmup >= steps) throw UsageError{"need --steps >= 2 and 1 <= --warmup < --steps"};
  if (cfg.train.init_from.empty()) fail(vm["config"].as<std::string>(), "train.init_from: is empty; name the base model");
  bool own_work = false;
  const std::string work = work_directory(vm["work-dir"].as<std::string>(), "bench finetune", &own_work);
  // Full fine-tuning continues the base as it is: its attention and context, not the `model:`
  // section's defaults.
  const ModelConfig base = load_model_config(cfg.train.init_from + "/config.json");
  cfg.model.attention = base.attention;
  cfg.model.block_size = base.block_size;
  cfg.model.logits_alignment = base.logits_alignment;
  cfg.model.max_position_embeddings = base.max_position_embeddings;
  cfg.train.max_steps = steps;
  cfg.train.warmup_steps = std::min(cfg.train.warmup_steps, steps);
  cfg.train.log_every = 1;
  cfg.train.eval_every = 0;
  cfg.train.eval_batches = 1;
  cfg.train.save_every = 0;  // one checkpoint, at the end: its optimizer.pt is the state's size
  const int64_t tokens_per_step = cfg.train.batch_size * cfg.train.grad_accum * cfg.data.seq_len;

  nlohmann::json rows = nlohmann::json::object();
  for (const bool lora : {false, true}) {
    const std::string name = lora ? "lora" : "full";
    TrainConfig run = cfg;
    run.train.out_dir = work + "/" + name;
    fs::remove_all(run.train.out_dir);
    TrainOptions o;
    o.finetune = lora;
    o.log = &std::cerr;
    std::cerr << "bench finetune: " << name << ", " << steps << " steps\n";
    train(run, o);
    const int64_t trainable = count_parameters(run.train.out_dir + (lora ? "/adapter_model.safetensors" : "/model.safetensors"));
    const double tps = measured_tokens_per_second(run.train.out_dir + "/train_log.jsonl", tokens_per_step, warmup);
    rows[name] = {{"trainable_parameters", trainable},
                  {"optimizer_state_bytes", int64_t(fs::file_size(run.train.out_dir + "/trainer_state/optimizer.pt"))},
                  {"gradient_bytes", trainable * int64_t(sizeof(float))},
                  {"tokens_per_second", tps},
                  {"seconds_per_step", double(tokens_per_step) / tps}};
  }
  if (own_work) fs::remove_all(work);
  const nlohmann::json& full = rows["full"];
  const nlohmann::json& lora = rows["lora"];
  const nlohmann::json result = {
      {"config", vm["config"].as<std::string>()},
      {"base_model", cfg.train.init_from},
      {"objective", cfg.train.objective == TrainObjective::kNextToken ? "next_token" : "masked_diffusion"},
      {"lora_config", {{"rank", cfg.lora.rank}, {"alpha", cfg.lora.alpha}, {"target_modules", cfg.lora.target_modules}}},
      {"tokens_per_step", tokens_per_step},
      {"steps", steps},
      {"timed_steps", steps - warmup},
      {"method", "sculpt train (init_from the base, every weight trained) and sculpt finetune (LoRA adapters, base "
                 "frozen) on the same data and batch, one after the other in this process; optimizer state = the size "
                 "of each run's serialised AdamW state (trainer_state/optimizer.pt); tokens/s between the end of the "
                 "warm-up step and the last step"},
      {"full", full},
      {"lora", lora},
      {"ratios", {{"trainable_parameters", lora["trainable_parameters"].get<double>() / full["trainable_parameters"].get<double>()},
                  {"optimizer_state", lora["optimizer_state_bytes"].get<double>() / full["optimizer_state_bytes"].get<double>()},
                  {"step_time", lora["seconds_per_step"].get<double>() / full["seconds_per_step"].get<double>()}}}};
  std::cout << result.dump(2) << "\n";
  return 0;
}

}  // namespace

std::vector<Command> bench_train_commands() {
  return {{"bench train", "data-parallel training throughput for 1, 2, ... processes and the scaling efficiency", bench_train},
          {"bench finetune", "LoRA against full fine-tuning: trainable parameters, optimizer state, step time", bench_finetune}};
}

}  // namespace sculpt::cli
