// The training loop (next-token or masked-diffusion objective) and its crash-safe checkpoints; see trainer.h.
#include "core/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/moe.h"
#include "core/core_config.h"
#include "core/distributed.h"
#include "core/lora.h"
#include "core/progress.h"
#include "core/token_shards.h"
#include "core/tokenizer.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail(dir, "cannot open directory to fsync: ", errno_text(errno));
  ::fsync(fd);
  ::close(fd);
}

void rename_or_fail(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) fail(from, "cannot rename to ", to, ": ", errno_text(errno));
}

// A hard link (no copy) when possible, else an atomic copy.
void link_or_copy(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return;
  write_file_atomic(to, read_file(from, size_t(1) << 40));
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Windows [batch, seq_len + 1] -> (inputs [batch, seq_len], targets [batch, seq_len]), int64.
std::pair<at::Tensor, at::Tensor> split_windows(const std::vector<int64_t>& windows, int64_t batch, int64_t seq_len) {
  at::Tensor all = at::from_blob(const_cast<int64_t*>(windows.data()), {batch, seq_len + 1}, at::kLong).clone();
  return {all.narrow(/*dim=*/1, 0, seq_len), all.narrow(/*dim=*/1, 1, seq_len).contiguous()};
}

// Mean next-token cross-entropy of a batch (the causal mask makes position i see tokens <= i).
at::Tensor next_token_loss(TransformerImpl& model, const at::Tensor& inputs, const at::Tensor& targets) {
  at::Tensor logits = model.forward(inputs);  // [batch, seq, vocab]
  const int64_t n_vocab = logits.size(-1);
  return at::cross_entropy_loss(logits.reshape({-1, n_vocab}), targets.reshape({-1}));
}

// The random seed of one micro-batch, a pure function of the run's seed and the position in
// the run, so that a resumed run draws exactly the noise and dropout masks it would have.
uint64_t micro_batch_seed(int64_t seed, int64_t step, int64_t micro) {
  return uint64_t(seed) * 0x9E3779B97F4A7C15ull ^ (uint64_t(step) + 1) * 0xBF58476D1CE4E5B9ull ^
         (uint64_t(micro) + 1) * 0x94D049BB133111EBull;
}

// The generator of the masked-diffusion noise for one micro-batch.
at::Generator noise_generator(int64_t seed, int64_t step, int64_t micro) {
  return at::make_generator<at::CPUGeneratorImpl>(micro_batch_seed(seed, step, micro));
}

// The objective's loss on inputs [batch, seq_len] with next-token targets: the optimised
// scalar, or (for_report) the figure validation reports, which for masked diffusion is the
// bound alone, without the visible-token term.
//
// Only rows [row0, row0 + n_rows) are computed (a data-parallel rank's share), but the noise is
// drawn for the whole batch, so each sequence gets the noise it gets in a single-process run.
at::Tensor objective_loss(TransformerImpl& model, const TrainParams& p, const at::Tensor& inputs,
                          const at::Tensor& targets, at::Generator& gen, int64_t row0, int64_t n_rows,
                          bool for_report = false) {
  const at::Tensor rows = inputs.narrow(0, row0, n_rows);
  if (p.objective == TrainObjective::kNextToken) return next_token_loss(model, rows, targets.narrow(0, row0, n_rows));
  const ModelConfig& c = model.config();
  check_masked_diffusion_model(c, "train.objective");
  const NoisedBatch noised = add_mask_noise(inputs, c.mask_token_id, c.vocab_size, c.logits_alignment, p.diffusion, gen);
  MaskedDiffusionLoss loss = masked_diffusion_loss(model, rows, noised.rows(row0, n_rows), p.diffusion);
  return for_report ? loss.elbo : loss.total;
}

// This process's place in a data-parallel run (rank 0 of 1 without a communicator).
struct DataParallel {
  Communicator* comm = nullptr;
  int rank = 0, world = 1;

  bool lead() const { return rank == 0; }
  void barrier() const { if (comm) comm->barrier(); }
  // Element-wise sum over ranks of a few doubles.
  void sum(std::vector<double>& values) const {
    if (!comm) return;
    std::vector<at::Tensor> t{at::tensor(values, at::kDouble)};
    comm->all_reduce_sum(t);
    for (size_t i = 0; i < values.size(); ++i) values[i] = t[0][int64_t(i)].item<double>();
  }
};

// Mean loss over the validation windows (all, or the first max_batches batches); -1 if none.
// The masked-diffusion noise of batch b is drawn from a fixed seed and b, so evaluations are
// comparable, and batches are dealt round-robin over the ranks of a data-parallel run.
double validation_loss(TransformerImpl& model, const TrainParams& p, const TokenShard& valid, int64_t seq_len,
                       int64_t batch_size, int64_t max_batches, const DataParallel& dp) {
  if (valid.n_tokens() < seq_len + 1) return -1;
  at::NoGradGuard no_grad;
  // Eval mode (no adapter dropout) for the pass; training resumes after.
  struct EvalMode {
    TransformerImpl& m;
    bool was_training;
    ~EvalMode() { m.train(was_training); }
  } eval_mode{model, model.is_training()};
  model.eval();
  SequentialWindows windows(valid, seq_len);
  std::vector<int64_t> buf;
  std::vector<double> sums = {0, 0};  // loss * targets, targets
  for (int64_t b = 0; max_batches == 0 || b < max_batches; ++b) {
    const int64_t n = windows.next(batch_size, &buf);
    if (n == 0) break;
    if (b % dp.world != dp.rank) continue;
    auto [inputs, targets] = split_windows(buf, n, seq_len);
    at::Generator gen = noise_generator(/*seed=*/12345, /*step=*/-1, /*micro=*/b);
    const double loss = objective_loss(model, p, inputs, targets, gen, 0, n, /*for_report=*/true).item<double>();
    sums[0] += loss * double(n * seq_len);
    sums[1] += double(n * seq_len);
  }
  dp.sum(sums);
  return sums[1] > 0 ? sums[0] / sums[1] : -1;
}

// What a checkpoint holds besides the optimizer: a model directory (full training) or a PEFT
// adapter folder (fine-tuning). write() fills a directory and returns the file names it wrote.
struct CheckpointWeights {
  std::function<std::vector<std::string>(const std::string& dir)> write;
};

CheckpointWeights model_weights(TransformerImpl& model, const std::string& tokenizer_path) {
  return {[&model, tokenizer_path](const std::string& dir) {
    save_transformer(model, dir);  // config.json + model.safetensors, each fsynced
    write_file_atomic(dir + "/tokenizer.model", read_file(tokenizer_path));
    return std::vector<std::string>{"tokenizer.model", "model.safetensors", "config.json"};
  }};
}

CheckpointWeights adapter_weights(const LoraAdapter& adapter, const std::string& base_model) {
  return {[&adapter, base_model](const std::string& dir) {
    adapter.save(dir, base_model);
    return std::vector<std::string>{"adapter_model.safetensors", "adapter_config.json"};
  }};
}

// Writes the whole checkpoint into out_dir/checkpoint-tmp, then swaps it in by renames (see trainer.h).
void save_checkpoint(const CheckpointWeights& weights, torch::optim::AdamW& optimizer, const std::string& out_dir,
                     const nlohmann::json& state) {
  const std::string tmp = out_dir + "/checkpoint-tmp";
  fs::remove_all(tmp);
  const std::string tmp_state = tmp + "/trainer_state";
  make_directories(tmp_state);
  const std::vector<std::string> files = weights.write(tmp);
  for (const std::string& name : files)
    if (name != "tokenizer.model") link_or_copy(tmp + "/" + name, tmp_state + "/" + name);
  {
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    write_file_atomic(tmp_state + "/optimizer.pt", bytes.str());
  }
  write_file_atomic(tmp_state + "/state.json", state.dump(2) + "\n");  // last: marks the state complete
  fsync_dir(tmp_state);
  fsync_dir(tmp);

  // trainer_state/ is self-contained, so it is swapped first; then the model files follow.
  const std::string live = out_dir + "/trainer_state", old = out_dir + "/trainer_state.old";
  fs::remove_all(old);
  if (fs::exists(live)) rename_or_fail(live, old);
  rename_or_fail(tmp_state, live);
  fsync_dir(out_dir);
  fs::remove_all(old);
  for (const std::string& name : files) rename_or_fail(tmp + "/" + name, out_dir + "/" + name);
  fsync_dir(out_dir);
  fs::remove_all(tmp);
}

// Where the resumable state is; recovers from a kill between the two renames of a swap.
std::string find_trainer_state(const std::string& out_dir) {
  const std::string live = out_dir + "/trainer_state", old = out_dir + "/trainer_state.old";
  if (!fs::exists(live + "/state.json") && fs::exists(old + "/state.json")) rename_or_fail(old, live);
  return fs::exists(live + "/state.json") ? live : "";
}

// AdamW with weight decay on matrices only: norms and biases (1-d tensors) get none. A LoRA
// fine-tune optimises the adapter's matrices alone.
torch::optim::AdamW make_optimizer(TransformerImpl& model, const LoraAdapter* adapter, const TrainParams& p) {
  std::vector<at::Tensor> decayed, plain;
  if (adapter) decayed = adapter->parameters();
  else for (auto& item : model.named_parameters()) {
    const bool no_decay = item.value().dim() < 2 || item.key().find("norm") != std::string::npos ||
                          ends_with(item.key(), ".bias");
    (no_decay ? plain : decayed).push_back(item.value());
  }
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(p.lr).betas({p.beta1, p.beta2}).weight_decay(wd).eps(1e-8));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, options(p.weight_decay));
  groups.emplace_back(plain, options(0.0));
  return torch::optim::AdamW(std::move(groups), torch::optim::AdamWOptions(p.lr));
}

}  // namespace

void TrainParams::validate() const {
  if (min_lr > lr) fail("train.min_lr", min_lr, " is above train.lr ", lr);
}

void TrainParams::validate_complete() const {
  validate();
  if (out_dir.empty()) fail("train.out_dir", "is empty; give the model directory to write");
  if (tokenizer.empty()) fail("train.tokenizer", "is empty; give the path of tokenizer.model");
  if (!file_exists(tokenizer)) fail("train.tokenizer", "no such file: ", tokenizer);
  if (!init_from.empty() && !file_exists(init_from + "/config.json"))
    fail("train.init_from", init_from, " is not a model directory (no config.json)");
  if (max_steps < 1) fail("train.max_steps", max_steps, " must be at least 1");
  if (batch_size < 1 || grad_accum < 1 || log_every < 1)
    fail("train", "batch_size, grad_accum and log_every must be at least 1");
}

double learning_rate(int64_t step, const TrainParams& p) {
  if (step < p.warmup_steps) return p.lr * double(step + 1) / double(p.warmup_steps);
  if (step >= p.max_steps) return p.min_lr;
  const double t = double(step - p.warmup_steps) / double(p.max_steps - p.warmup_steps);
  return p.min_lr + (p.lr - p.min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
}

void initialise_weights(TransformerImpl& model, int64_t seed) {
  at::NoGradGuard no_grad;
  at::manual_seed(uint64_t(seed));
  for (auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    if (name.find("norm") != std::string::npos) p.fill_(1.0);
    else if (ends_with(name, ".bias")) p.zero_();
    else p.normal_(0.0, 0.02);
  }
}

TrainResult train(const CoreConfig& cfg, const TrainOptions& options) {
  const TrainParams& p = cfg.train;
  p.validate_complete();
  cfg.data.validate_complete();
  // A fresh or adapted refiner takes its attention from the `model:` section: check it before
  // any data is tokenized (the full check runs once the model is built).
  const bool finetune = options.finetune;
  if (finetune && p.init_from.empty())
    fail("train.init_from", "is empty; fine-tuning trains adapters on a base model: name its directory");
  if (p.objective == TrainObjective::kMaskedDiffusion && !options.resume && !finetune &&
      cfg.model.attention == AttentionMode::kCausal)
    fail("train.objective", "masked diffusion needs bidirectional or block_causal attention (set model.attention), not causal");
  DataParallel dp;
  if (options.comm) dp = {options.comm, options.comm->rank(), options.comm->world_size()};
  if (p.batch_size % dp.world != 0)
    fail("train.batch_size", p.batch_size, " windows cannot be split evenly over ", dp.world,
         " ranks; make it a multiple of the number of processes");
  const int64_t local_batch = p.batch_size / dp.world, row0 = dp.rank * local_batch;
  std::ostream& log = options.log ? *options.log : std::cerr;
  const bool tty = !options.log && ::isatty(STDERR_FILENO);
  const bool talk = dp.lead();  // only rank 0 logs, writes train_log.jsonl and checkpoints
  if (cfg.runtime.n_threads > 0) at::set_num_threads(cfg.runtime.n_threads);

  const Tokenizer tok = Tokenizer::load(p.tokenizer);
  const int64_t seq_len = cfg.data.seq_len;
  // Rank 0 tokenizes (or finds) the shards and recovers an interrupted checkpoint swap first;
  // the others then find both done rather than racing it.
  if (!dp.lead()) dp.barrier();
  const ShardPaths paths = build_shards(cfg.data, tok, p.tokenizer);
  make_directories(p.out_dir);
  const std::string state_dir = find_trainer_state(p.out_dir);
  if (dp.lead()) dp.barrier();
  const TokenShard train_shard = TokenShard::open(paths.train);
  const TokenShard valid_shard = TokenShard::open(paths.valid);
  WindowSampler sampler(train_shard, seq_len, uint64_t(cfg.runtime.seed));

  if (!state_dir.empty() && !options.resume)
    fail(p.out_dir, "already holds a training checkpoint; pass --resume to continue it or choose another out_dir");
  if (state_dir.empty() && options.resume) fail(p.out_dir, "has no trainer_state/ to resume from");

  // The model: a frozen base with adapters (fine-tuning), resumed, from init_from, or fresh.
  Transformer model = nullptr;
  LoraAdapter adapter;
  if (finetune) {
    model = load_transformer(p.init_from);
    adapter = state_dir.empty() ? LoraAdapter::attach(*model, cfg.lora, uint64_t(cfg.runtime.seed))
                                : LoraAdapter::load(*model, state_dir);
    if (talk) {
      const int64_t n_base = [&] { int64_t n = 0; for (const at::Tensor& t : model->parameters()) n += t.numel(); return n; }();
      char line[160];
      std::snprintf(line, sizeof line, "[lora] %zu layers, rank %lld: %lld trainable parameters (%.2f%% of %lld, frozen)",
                    adapter.layer_names().size(), (long long)adapter.params().rank, (long long)adapter.n_parameters(),
                    100.0 * double(adapter.n_parameters()) / double(n_base), (long long)n_base);
      log << line << std::endl;
    }
  } else if (!state_dir.empty()) {
    model = load_transformer(state_dir);
  } else if (!p.init_from.empty() && p.objective == TrainObjective::kMaskedDiffusion) {
    // Adaptation (DiffuLLaMA, Gong et al. 2025): a drafter's weights under the refiner's attention.
    model = load_transformer(p.init_from, [&](ModelConfig& c) {
      c.attention = cfg.model.attention;
      c.block_size = cfg.model.block_size;
      c.logits_alignment = cfg.model.logits_alignment;
      c.max_position_embeddings = cfg.model.max_position_embeddings;  // rotary positions: no weights to fit
      if (c.mask_token_id < 0) c.mask_token_id = tok.mask_id();
    });
  } else if (!p.init_from.empty()) {
    model = load_transformer(p.init_from);
  } else {
    ModelConfig mc = cfg.model;
    if (mc.vocab_size == 0) mc.vocab_size = tok.n_vocab();
    mc.bos_token_id = tok.bos_id();
    mc.eos_token_id = tok.eos_id();
    mc.pad_token_id = tok.pad_id();
    mc.mask_token_id = tok.mask_id();
    mc.validate_complete("model");
    model = Transformer(mc);
    initialise_weights(*model, cfg.runtime.seed);
  }
  const ModelConfig& mc = model->config();
  if (mc.vocab_size != tok.n_vocab())
    fail(p.tokenizer, "has ", tok.n_vocab(), " pieces but the model's vocab_size is ", mc.vocab_size);
  if (p.objective == TrainObjective::kNextToken && mc.attention != AttentionMode::kCausal)
    fail("train.objective", "next_token needs a causal model, not ", attention_mode_name(mc.attention), " attention");
  if (p.objective == TrainObjective::kMaskedDiffusion) check_masked_diffusion_model(mc, "train.objective");
  if (mc.max_position_embeddings < seq_len)
    fail("data.seq_len", seq_len, " exceeds the model's context of ", mc.max_position_embeddings, " tokens");

  torch::optim::AdamW optimizer = make_optimizer(*model, finetune ? &adapter : nullptr, p);
  TrainResult result;
  if (!state_dir.empty()) {
    const nlohmann::json state = nlohmann::json::parse(read_file(state_dir + "/state.json"));
    result.first_step = state.at("step").get<int64_t>();
    sampler.restore(state.at("sampler").get<std::string>());
    torch::serialize::InputArchive archive;
    std::istringstream bytes(read_file(state_dir + "/optimizer.pt", size_t(1) << 40));
    archive.load_from(bytes);
    optimizer.load(archive);
  }
  if (dp.comm) {
    // Every rank must continue from the same step (a shared out_dir), and starts from rank 0's
    // weights, as DistributedDataParallel does.
    if (dp.comm->all_reduce_min(double(result.first_step)) != double(result.first_step))
      fail(p.out_dir, "rank ", dp.rank, " found a checkpoint at step ", result.first_step,
           " but another rank found an older one; out_dir must be one shared directory");
    std::vector<at::Tensor> weights;
    for (at::Tensor& t : model->parameters()) weights.push_back(t.detach());
    dp.comm->broadcast(weights, /*root=*/0);
  }

  const int64_t end_step =
      options.stop_at_step > 0 ? std::min(options.stop_at_step, p.max_steps) : p.max_steps;
  std::ofstream jsonl;
  // A resumed run appends to the log; a fresh one replaces what a run interrupted before its
  // first checkpoint left there, so the log describes exactly the weights in out_dir.
  if (talk) jsonl.open(p.out_dir + "/train_log.jsonl", result.first_step > 0 ? std::ios::app : std::ios::trunc);
  auto save = [&](int64_t step) {
    if (!talk) return;
    save_checkpoint(finetune ? adapter_weights(adapter, p.init_from) : model_weights(*model, p.tokenizer), optimizer,
                    p.out_dir, {{"step", step}, {"sampler", sampler.state()}, {"seed", cfg.runtime.seed}});
  };
  auto evaluate = [&](int64_t step) {
    const double loss = validation_loss(*model, p, valid_shard, seq_len, p.batch_size, p.eval_batches, dp);
    result.valid_loss = loss;
    if (loss < 0 || !talk) return;
    if (tty) log << "\n";
    char line[128];
    std::snprintf(line, sizeof line, "eval step %lld: loss %.4f ppl %.2f", (long long)step, loss, std::exp(loss));
    log << line << std::endl;
    jsonl << nlohmann::json{{"step", step}, {"eval_loss", loss}, {"eval_ppl", std::exp(loss)}}.dump() << "\n";
    jsonl.flush();
  };

  model->set_dropout(p.dropout);
  model->train();
  const ModelConfig& arch = model->config();
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t tokens_per_step = p.batch_size * p.grad_accum * seq_len;
  std::vector<int64_t> windows;
  std::vector<at::Tensor> params = finetune ? adapter.parameters() : model->parameters();
  std::unique_ptr<GradientReducer> reducer;
  if (dp.comm)
    reducer = std::make_unique<GradientReducer>(*dp.comm, params, int64_t(cfg.distributed.bucket_mb * (1 << 20)));
  for (int64_t step = result.first_step; step < end_step; ++step) {
    const double lr = learning_rate(step, p);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer.zero_grad();
    const int64_t done = step + 1;
    const bool record_step = done % p.log_every == 0 || done == end_step;  // train_log.jsonl
    const bool print_step = talk && (record_step || tty);                  // the progress line
    double loss_sum = 0, aux_sum = 0;
    at::Tensor load;  // mixture of experts, on logged steps: per-expert share of the assignments
    for (int64_t micro = 0; micro < p.grad_accum; ++micro) {
      sampler.next(p.batch_size, &windows);
      auto [inputs, targets] = split_windows(windows, p.batch_size, seq_len);
      at::Generator gen = noise_generator(cfg.runtime.seed, step, micro);
      // Dropout (train.dropout, LoRA's) draws from the default generator: a different stream.
      at::manual_seed(micro_batch_seed(cfg.runtime.seed, step, micro) ^ 0x5851F42D4C957F2Dull);
      at::Tensor loss = objective_loss(*model, p, inputs, targets, gen, row0, local_batch);
      at::Tensor optimised = loss;
      if (arch.num_local_experts > 0) {
        const at::Tensor aux = load_balancing_loss(model->router_logits(), arch.num_experts_per_tok);
        optimised = loss + arch.router_aux_loss_coef * aux;
        aux_sum += aux.item<double>();
        if (print_step || (dp.comm && record_step)) {
          const at::Tensor micro_load = expert_load(model->router_logits(), arch.num_experts_per_tok);
          load = load.defined() ? load + micro_load : micro_load;
        }
      }
      if (reducer) reducer->begin_step(/*sync=*/micro == p.grad_accum - 1);
      (optimised / double(p.grad_accum)).backward();
      if (reducer) reducer->finish_step();  // on the last micro-batch: .grad = mean over ranks
      loss_sum += loss.item<double>();
    }
    if (dp.comm) {  // the figures of the whole global batch
      std::vector<double> sums = {loss_sum, aux_sum};
      dp.sum(sums);
      loss_sum = sums[0] / dp.world;
      aux_sum = sums[1] / dp.world;
      if (record_step && load.defined()) {
        std::vector<at::Tensor> t{load};
        dp.comm->all_reduce_sum(t);
        load = t[0] / double(dp.world);
      }
    }
    // The global gradient norm before clipping, logged: it tells whether clipping shapes the run.
    const double grad_norm = torch::nn::utils::clip_grad_norm_(
        params, p.grad_clip > 0 ? p.grad_clip : std::numeric_limits<double>::infinity());
    optimizer.step();
    const double loss = loss_sum / double(p.grad_accum);
    result.losses.push_back(loss);
    result.last_step = done;

    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double tok_per_s = double(tokens_per_step * (done - result.first_step)) / std::max(elapsed, 1e-9);
    const double eta = elapsed / double(done - result.first_step) * double(end_step - done);
    std::vector<double> loads;
    if (load.defined())
      for (int64_t e = 0; e < load.size(0); ++e) loads.push_back(load[e].item<double>() / double(p.grad_accum));
    if (print_step) {
      char line[192];
      std::snprintf(line, sizeof line, "step %lld/%lld loss %.4f lr %.2e gnorm %.2f %s tok/s ETA %s", (long long)done,
                    (long long)p.max_steps, loss, lr, grad_norm, format_rate(tok_per_s).c_str(),
                    format_duration(eta).c_str());
      std::string text = line;
      if (!loads.empty()) {  // the load-balancing loss and each expert's share of the tokens
        std::snprintf(line, sizeof line, " aux %.3f experts", aux_sum / double(p.grad_accum));
        text += line;
        for (double share : loads) text += " " + std::to_string(int(share * 100 + 0.5)) + "%";
      }
      if (tty) log << "\r" << text << "\x1b[K" << std::flush;
      else log << text << std::endl;
    }
    if (record_step && talk) {
      nlohmann::json record = {{"step", done},           {"loss", loss},           {"lr", lr},
                               {"grad_norm", grad_norm}, {"tok_per_s", tok_per_s}, {"elapsed_s", elapsed}};
      if (!loads.empty()) {
        record["aux_loss"] = aux_sum / double(p.grad_accum);
        record["expert_load"] = loads;
      }
      jsonl << record.dump() << "\n";
      jsonl.flush();
    }
    const bool last = done == end_step;
    if ((p.eval_every > 0 && done % p.eval_every == 0) || last) evaluate(done);
    if ((p.save_every > 0 && done % p.save_every == 0) || last) save(done);
  }
  if (result.first_step >= end_step) result.last_step = result.first_step;
  if (tty && talk) log << "\n";
  return result;
}

}  // namespace sculpt
