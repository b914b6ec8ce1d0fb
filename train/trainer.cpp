// The training loop (next-token or masked-diffusion objective); see trainer.h. A run is built
// in named steps: the data, the model (fresh, adapted, resumed or with adapters to fine-tune),
// the optimizer; then one optimizer step at a time, with validation and checkpoints between.
#include "train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/tokenizer.h"
#include "core/tokenizer_files.h"
#include "train/gradient_reducer.h"
#include "train/lora_adapter.h"
#include "train/masked_diffusion.h"
#include "train/moe_balance.h"
#include "train/token_shards.h"
#include "train/train_checkpoint.h"

namespace sculpt {
namespace {

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
  check_masked_diffusion_model(c, c.mask_token_id, "train.objective");
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


// Where progress lines go: an ostream (rewritten in place on a terminal) or the log sink.
class ProgressLog {
 public:
  ProgressLog(std::ostream* out, bool rewrite, bool talk) : out_(out), rewrite_(rewrite && out), talk_(talk) {}
  bool talks() const { return talk_; }
  bool rewrites() const { return talk_ && rewrite_; }
  void line(const std::string& text) {  // a line that stays (after the progress line, if any)
    if (!talk_) return;
    end();
    if (out_) *out_ << text << std::endl;
    else log_info(text);
  }
  void progress(const std::string& text) {  // a line the next one replaces, on a terminal
    if (!rewrites()) return line(text);
    *out_ << "\r" << text << "\x1b[K" << std::flush;
    pending_ = true;
  }
  void end() {
    if (pending_) *out_ << "\n";
    pending_ = false;
  }

 private:
  std::ostream* out_;
  bool rewrite_, talk_;
  bool pending_ = false;  // a progress line is on screen, not ended
};

// The model a run trains, and (fine-tuning) the adapters it trains on it.
struct RunModel {
  Transformer model{nullptr};
  LoraAdapter adapter;
};

// Fresh weights from the `model:` section, with the tokenizer's vocabulary and special ids.
Transformer fresh_model(const TrainConfig& cfg, const Tokenizer& tok) {
  ModelConfig mc = cfg.model;
  if (mc.vocab_size == 0) mc.vocab_size = tok.n_vocab();
  mc.bos_token_id = tok.bos_id();
  mc.eos_token_id = tok.eos_id();
  mc.pad_token_id = tok.pad_id();
  mc.mask_token_id = tok.mask_id();
  mc.validate_complete("model");
  Transformer model(mc);
  initialise_weights(*model, cfg.runtime.seed);
  return model;
}

// A drafter's weights under the refiner's attention (DiffuLLaMA, Gong et al. 2025): attention,
// blocks, logit alignment and context from the `model:` section, the mask token from the tokenizer.
Transformer adapted_refiner(const TrainConfig& cfg, const Tokenizer& tok) {
  return load_transformer(cfg.train.init_from, [&](ModelConfig& c) {
    c.attention = cfg.model.attention;
    c.block_size = cfg.model.block_size;
    c.logits_alignment = cfg.model.logits_alignment;
    c.max_position_embeddings = cfg.model.max_position_embeddings;  // rotary positions: no weights to fit
    if (c.mask_token_id < 0) c.mask_token_id = tok.mask_id();
  });
}

// Adapters on the frozen base, fresh or (resuming) from the state; the count goes to the log.
RunModel model_to_finetune(const TrainConfig& cfg, const std::string& state_dir, ProgressLog& log) {
  RunModel run{load_transformer(cfg.train.init_from), {}};
  run.adapter = state_dir.empty() ? LoraAdapter::attach(*run.model, cfg.lora, uint64_t(cfg.runtime.seed))
                                  : LoraAdapter::load(*run.model, state_dir);
  int64_t n_base = 0;
  for (const at::Tensor& t : run.model->parameters()) n_base += t.numel();
  char line[160];
  std::snprintf(line, sizeof line, "[lora] %zu layers, rank %lld: %lld trainable parameters (%.2f%% of %lld, frozen)",
                run.adapter.layer_names().size(), (long long)run.adapter.params().rank,
                (long long)run.adapter.n_parameters(), 100.0 * double(run.adapter.n_parameters()) / double(n_base),
                (long long)n_base);
  log.line(line);
  return run;
}

// The model to train: a frozen base with adapters (fine-tuning), resumed, adapted from
// init_from, loaded from init_from, or fresh; then checked against the tokenizer, the objective
// and the window length.
RunModel build_or_restore_model(const TrainConfig& cfg, bool finetune, const std::string& state_dir,
                                const Tokenizer& tok, ProgressLog& log) {
  const TrainParams& p = cfg.train;
  RunModel run;
  if (finetune) run = model_to_finetune(cfg, state_dir, log);
  else if (!state_dir.empty()) run.model = load_transformer(state_dir);
  else if (!p.init_from.empty() && p.objective == TrainObjective::kMaskedDiffusion) run.model = adapted_refiner(cfg, tok);
  else if (!p.init_from.empty()) run.model = load_transformer(p.init_from);
  else run.model = fresh_model(cfg, tok);
  const ModelConfig& mc = run.model->config();
  if (mc.vocab_size != tok.n_vocab())
    fail(p.tokenizer, "has ", tok.n_vocab(), " pieces but the model's vocab_size is ", mc.vocab_size);
  if (p.objective == TrainObjective::kNextToken && mc.attention != AttentionMode::kCausal)
    fail("train.objective", "next_token needs a causal model, not ", attention_mode_name(mc.attention), " attention");
  if (p.objective == TrainObjective::kMaskedDiffusion) check_masked_diffusion_model(mc, mc.mask_token_id, "train.objective");
  if (mc.max_position_embeddings < cfg.data.seq_len)
    fail("data.seq_len", cfg.data.seq_len, " exceeds the model's context of ", mc.max_position_embeddings, " tokens");
  return run;
}

// The checks a run makes before any data is tokenized.
void check_run(const TrainConfig& cfg, const TrainOptions& options, const DataParallel& dp) {
  const TrainParams& p = cfg.train;
  p.validate_complete();
  cfg.data.validate_complete();
  if (options.finetune && p.init_from.empty())
    fail("train.init_from", "is empty; fine-tuning trains adapters on a base model: name its directory");
  // A fresh or adapted refiner takes its attention from the `model:` section (the full check
  // runs once the model is built).
  if (p.objective == TrainObjective::kMaskedDiffusion && !options.resume && !options.finetune &&
      cfg.model.attention == AttentionMode::kCausal)
    fail("train.objective", "masked diffusion needs bidirectional or block_causal attention (set model.attention), not causal");
  if (p.batch_size % dp.world != 0)
    fail("train.batch_size", p.batch_size, " windows cannot be split evenly over ", dp.world,
         " ranks; make it a multiple of the number of processes");
}

// What one optimizer step measured.
struct StepStats {
  double loss = 0;       // mean training loss over the step's micro-batches (and ranks)
  double aux = 0;        // mixture of experts: mean load-balancing loss
  double grad_norm = 0;  // global gradient norm before clipping
  std::vector<double> expert_load;  // mixture of experts, on logged steps: each expert's share
};

// One training run: its data, model and optimizer, and the steps that advance it.
class TrainingRun {
 public:
  TrainingRun(const TrainConfig& cfg, const TrainOptions& options)
      : cfg_(cfg), p_(cfg.train), options_(options), dp_(data_parallel(options)),
        log_(options.log, options.rewrite_line, dp_.lead()) {}

  TrainResult run() {
    check_run(cfg_, options_, dp_);
    tok_ = std::make_unique<Tokenizer>(Tokenizer::load(p_.tokenizer));
    if (cfg_.runtime.n_threads > 0) at::set_num_threads(cfg_.runtime.n_threads);
    open_data_and_state();
    RunModel built = build_or_restore_model(cfg_, options_.finetune, state_dir_, *tok_, log_);
    model_ = built.model;
    adapter_ = std::move(built.adapter);
    optimizer_ = std::make_unique<torch::optim::AdamW>(make_optimizer(*model_, options_.finetune ? &adapter_ : nullptr, p_));
    if (!state_dir_.empty()) restore_state();
    if (dp_.comm) agree_with_other_ranks();
    train_steps();
    return result_;
  }

 private:
  static DataParallel data_parallel(const TrainOptions& options) {
    if (!options.comm) return {};
    return {options.comm, options.comm->rank(), options.comm->world_size()};
  }

  // The shards (rank 0 tokenizes them, or finds them, and recovers an interrupted checkpoint
  // swap first; the other ranks then find both done rather than racing it).
  void open_data_and_state() {
    if (!dp_.lead()) dp_.barrier();
    const ShardPaths paths = build_shards(cfg_.data, *tok_, tok_->path());
    make_directories(p_.out_dir);
    state_dir_ = find_trainer_state(p_.out_dir);
    if (dp_.lead()) dp_.barrier();
    train_shard_ = std::make_unique<TokenShard>(TokenShard::open(paths.train));
    valid_shard_ = std::make_unique<TokenShard>(TokenShard::open(paths.valid));
    sampler_ = std::make_unique<WindowSampler>(*train_shard_, cfg_.data.seq_len, uint64_t(cfg_.runtime.seed));
    if (!state_dir_.empty() && !options_.resume)
      fail(p_.out_dir, "already holds a training checkpoint; pass --resume to continue it or choose another out_dir");
    if (state_dir_.empty() && options_.resume) fail(p_.out_dir, "has no trainer_state/ to resume from");
  }

  void restore_state() {
    const nlohmann::json state = nlohmann::json::parse(read_file(state_dir_ + "/state.json"));
    result_.first_step = state.at("step").get<int64_t>();
    sampler_->restore(state.at("sampler").get<std::string>());
    torch::serialize::InputArchive archive;
    std::istringstream bytes(read_file(state_dir_ + "/optimizer.pt", size_t(1) << 40));
    archive.load_from(bytes);
    optimizer_->load(archive);
  }

  // Every rank continues from the same step (a shared out_dir) and starts from rank 0's
  // weights, as DistributedDataParallel does.
  void agree_with_other_ranks() {
    if (dp_.comm->all_reduce_min(double(result_.first_step)) != double(result_.first_step))
      fail(p_.out_dir, "rank ", dp_.rank, " found a checkpoint at step ", result_.first_step,
           " but another rank found an older one; out_dir must be one shared directory");
    std::vector<at::Tensor> weights;
    for (at::Tensor& t : model_->parameters()) weights.push_back(t.detach());
    dp_.comm->broadcast(weights, /*root=*/0);
  }

  void train_steps() {
    end_step_ = options_.stop_at_step > 0 ? std::min(options_.stop_at_step, p_.max_steps) : p_.max_steps;
    // A resumed run appends to the log; a fresh one replaces what a run interrupted before its
    // first checkpoint left there, so the log describes exactly the weights in out_dir.
    if (log_.talks())
      jsonl_.open(p_.out_dir + "/train_log.jsonl", result_.first_step > 0 ? std::ios::app : std::ios::trunc);
    model_->set_dropout(p_.dropout);
    model_->train();
    params_ = options_.finetune ? adapter_.parameters() : model_->parameters();
    if (dp_.comm)
      reducer_ = std::make_unique<GradientReducer>(*dp_.comm, params_, int64_t(cfg_.distributed.bucket_mb * (1 << 20)));
    start_ = std::chrono::steady_clock::now();
    for (int64_t step = result_.first_step; step < end_step_; ++step) {
      const int64_t done = step + 1;
      const bool record = done % p_.log_every == 0 || done == end_step_;  // train_log.jsonl
      const StepStats stats = train_step(step, record);
      result_.losses.push_back(stats.loss);
      result_.last_step = done;
      report_step(done, learning_rate(step, p_), stats, record);
      if ((p_.eval_every > 0 && done % p_.eval_every == 0) || done == end_step_) evaluate(done);
      if ((p_.save_every > 0 && done % p_.save_every == 0) || done == end_step_) save(done);
    }
    if (result_.first_step >= end_step_) result_.last_step = result_.first_step;
    log_.end();
  }

  // One optimizer step: grad_accum micro-batches (each rank its rows of each), gradients
  // averaged over ranks, clipped, applied.
  // record: a logged step, on which every rank measures the experts' load (rank 0 also does on a
  // terminal's every step, for its progress line).
  StepStats train_step(int64_t step, bool record) {
    const bool measure_experts = record || log_.rewrites();
    const double lr = learning_rate(step, p_);
    for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer_->zero_grad();
    const int64_t local_batch = p_.batch_size / dp_.world, row0 = dp_.rank * local_batch;
    const ModelConfig& arch = model_->config();
    StepStats stats;
    at::Tensor load;  // mixture of experts: per-expert share of the assignments
    for (int64_t micro = 0; micro < p_.grad_accum; ++micro) {
      sampler_->next(p_.batch_size, &windows_);
      auto [inputs, targets] = split_windows(windows_, p_.batch_size, cfg_.data.seq_len);
      at::Generator gen = noise_generator(cfg_.runtime.seed, step, micro);
      // Dropout (train.dropout, LoRA's) draws from the default generator: a different stream.
      at::manual_seed(micro_batch_seed(cfg_.runtime.seed, step, micro) ^ 0x5851F42D4C957F2Dull);
      at::Tensor loss = objective_loss(*model_, p_, inputs, targets, gen, row0, local_batch);
      at::Tensor optimised = loss;
      if (arch.num_local_experts > 0) {
        const at::Tensor aux = load_balancing_loss(model_->router_logits(), arch.num_experts_per_tok);
        optimised = loss + arch.router_aux_loss_coef * aux;
        stats.aux += aux.item<double>();
        if (measure_experts) {
          const at::Tensor micro_load = expert_load(model_->router_logits(), arch.num_experts_per_tok);
          load = load.defined() ? load + micro_load : micro_load;
        }
      }
      if (reducer_) reducer_->begin_step(/*sync=*/micro == p_.grad_accum - 1);
      (optimised / double(p_.grad_accum)).backward();
      if (reducer_) reducer_->finish_step();  // on the last micro-batch: .grad = mean over ranks
      stats.loss += loss.item<double>();
    }
    average_over_ranks(stats, record ? &load : nullptr);
    // The global gradient norm before clipping, logged: it tells whether clipping shapes the run.
    stats.grad_norm = torch::nn::utils::clip_grad_norm_(
        params_, p_.grad_clip > 0 ? p_.grad_clip : std::numeric_limits<double>::infinity());
    optimizer_->step();
    stats.loss /= double(p_.grad_accum);
    stats.aux /= double(p_.grad_accum);
    if (load.defined())
      for (int64_t e = 0; e < load.size(0); ++e) stats.expert_load.push_back(load[e].item<double>() / double(p_.grad_accum));
    return stats;
  }

  // The figures of the whole global batch, every rank's share summed (load: only where every
  // rank measured it).
  void average_over_ranks(StepStats& stats, at::Tensor* load) const {
    if (!dp_.comm) return;
    std::vector<double> sums = {stats.loss, stats.aux};
    dp_.sum(sums);
    stats.loss = sums[0] / dp_.world;
    stats.aux = sums[1] / dp_.world;
    if (load && load->defined()) {
      std::vector<at::Tensor> t{*load};
      dp_.comm->all_reduce_sum(t);
      *load = t[0] / double(dp_.world);
    }
  }

  // The progress line (every step on a terminal, else every log_every) and train_log.jsonl.
  void report_step(int64_t done, double lr, const StepStats& stats, bool record) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double tokens = double(p_.batch_size * p_.grad_accum * cfg_.data.seq_len * (done - result_.first_step));
    const double tok_per_s = tokens / std::max(elapsed, 1e-9);
    const double eta = elapsed / double(done - result_.first_step) * double(end_step_ - done);
    if (record || log_.rewrites()) {
      char line[192];
      std::snprintf(line, sizeof line, "step %lld/%lld loss %.4f lr %.2e gnorm %.2f %s tok/s ETA %s", (long long)done,
                    (long long)p_.max_steps, stats.loss, lr, stats.grad_norm, format_rate(tok_per_s).c_str(),
                    format_duration(eta).c_str());
      std::string text = line;
      if (!stats.expert_load.empty()) {  // the load-balancing loss and each expert's share of the tokens
        std::snprintf(line, sizeof line, " aux %.3f experts", stats.aux);
        text += line;
        for (double share : stats.expert_load) text += " " + std::to_string(int(share * 100 + 0.5)) + "%";
      }
      log_.progress(text);
    }
    if (!record || !log_.talks()) return;
    nlohmann::json entry = {{"step", done},           {"loss", stats.loss},     {"lr", lr},
                            {"grad_norm", stats.grad_norm}, {"tok_per_s", tok_per_s}, {"elapsed_s", elapsed}};
    if (!stats.expert_load.empty()) {
      entry["aux_loss"] = stats.aux;
      entry["expert_load"] = stats.expert_load;
    }
    jsonl_ << entry.dump() << "\n";
    jsonl_.flush();
  }

  void evaluate(int64_t step) {
    const double loss = validation_loss(*model_, p_, *valid_shard_, cfg_.data.seq_len, p_.batch_size, p_.eval_batches, dp_);
    result_.valid_loss = loss;
    if (loss < 0 || !log_.talks()) return;
    char line[128];
    std::snprintf(line, sizeof line, "eval step %lld: loss %.4f ppl %.2f", (long long)step, loss, std::exp(loss));
    log_.line(line);
    jsonl_ << nlohmann::json{{"step", step}, {"eval_loss", loss}, {"eval_ppl", std::exp(loss)}}.dump() << "\n";
    jsonl_.flush();
  }

  // Rank 0 writes the checkpoint: the model directory (or adapter folder), optimizer, state.
  void save(int64_t step) {
    if (!log_.talks()) return;
    torch::serialize::OutputArchive archive;
    optimizer_->save(archive);
    std::ostringstream optimizer_bytes;
    archive.save_to(optimizer_bytes);
    const nlohmann::json state = {{"step", step}, {"sampler", sampler_->state()}, {"seed", cfg_.runtime.seed}};
    write_training_checkpoint(p_.out_dir, weights_writer(), optimizer_bytes.str(), state.dump(2) + "\n");
  }

  // A model directory (full training) or a PEFT adapter folder (fine-tuning).
  WeightsWriter weights_writer() {
    if (options_.finetune)
      return [this](const std::string& dir) {
        adapter_.save(dir, p_.init_from);
        return std::vector<std::string>{"adapter_model.safetensors", "adapter_config.json"};
      };
    return [this](const std::string& dir) {
      save_transformer(*model_, dir);  // config.json + model.safetensors, each fsynced
      std::vector<std::string> files = copy_tokenizer_files(p_.tokenizer, dir);
      files.insert(files.end(), {"model.safetensors", "config.json"});
      return files;
    };
  }

  const TrainConfig& cfg_;
  const TrainParams& p_;
  const TrainOptions& options_;
  DataParallel dp_;
  ProgressLog log_;
  std::unique_ptr<Tokenizer> tok_;
  std::string state_dir_;
  std::unique_ptr<TokenShard> train_shard_, valid_shard_;
  std::unique_ptr<WindowSampler> sampler_;
  Transformer model_{nullptr};
  LoraAdapter adapter_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<GradientReducer> reducer_;
  std::vector<at::Tensor> params_;
  std::vector<int64_t> windows_;
  std::ofstream jsonl_;
  std::chrono::steady_clock::time_point start_;
  int64_t end_step_ = 0;
  TrainResult result_;
};

}  // namespace

void TrainParams::validate() const {
  if (min_lr > lr) fail("train.min_lr", min_lr, " is above train.lr ", lr);
}

void TrainParams::validate_complete() const {
  validate();
  if (out_dir.empty()) fail("train.out_dir", "is empty; give the model directory to write");
  if (tokenizer.empty())
    fail("train.tokenizer", "is empty; give its tokenizer (a tokenizer.model, a tokenizer.json or a model directory)");
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


TrainResult train(const TrainConfig& cfg, const TrainOptions& options) { return TrainingRun(cfg, options).run(); }

}  // namespace sculpt
