// Helpers shared by the CLI's subcommands: option parsing with --help, --config/--set handling.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "ar_draft/draft_params.h"
#include "cli/command.h"
#include "core/config.h"
#include "core/error.h"
#include "core/runtime_params.h"
#include "core/safetensors.h"
#include "kernels/cpu_features.h"

namespace sculpt::cli {

namespace po = boost::program_options;

// Parses args against `options` (+ positional); prints help and returns false on --help.
inline bool parse_options(const std::vector<std::string>& args, const char* usage,
                          po::options_description& options, po::variables_map& vm,
                          const po::positional_options_description* positional = nullptr) {
  options.add_options()("help,h", "show this help");
  auto parser = po::command_line_parser(args).options(options);
  if (positional) parser.positional(*positional);
  po::store(parser.run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: " << usage << "\n\n" << options << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

// A --dtype value: float32, float16, bfloat16 (or f32, f16, bf16).
inline DType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "f32") return DType::kF32;
  if (name == "float16" || name == "f16") return DType::kF16;
  if (name == "bfloat16" || name == "bf16") return DType::kBF16;
  throw UsageError{"--dtype must be float32, float16 or bfloat16, got '" + name + "'"};
}

// A --backend value: auto or libtorch (DraftParams::backend).
inline DecodeBackend parse_decode_backend(const std::string& name) {
  if (name == "auto") return DecodeBackend::kAuto;
  if (name == "libtorch") return DecodeBackend::kLibTorch;
  throw UsageError{"--backend must be auto or libtorch, got '" + name + "'"};
}

// How --json output names the CPU kernels' backend: "kernels (avx512)".
inline std::string kernels_backend_name() { return str_cat("kernels (", cpu_level_name(cpu_level()), ")"); }

// Adds --config FILE and --set KEY=VALUE (repeatable).
inline void add_config_options(po::options_description& options) {
  options.add_options()
      ("config", po::value<std::string>()->default_value(""), "YAML config file (see `sculpt config keys`)")
      ("set", po::value<std::vector<std::string>>()->composing(), "override a config field: section.key=value (repeatable)");
}

// Sets LibTorch's thread count from runtime.n_threads (0 = every logical core), split between
// `concurrent` computations running at once (a server's slots; OpenBLAS's pool is split too).
// Threads started afterwards take the new count.
void apply_runtime(const RuntimeParams& runtime, int concurrent = 1);

// The process's resident memory now (VmRSS) and at its peak (VmHWM), in bytes; -1 if /proc does
// not say.
int64_t resident_bytes();
int64_t peak_rss_bytes();

// The --set assignments given (none when the option is absent).
inline std::vector<std::string> set_overrides(const po::variables_map& vm) {
  return vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
}

// The effective config of a command: defaults, then --config, then --set; its runtime section
// is applied. Config is PipelineConfig (hybrid/pipeline_config.h) or TrainConfig
// (train/train_config.h), whichever kind of file the command reads.
template <class Config>
Config read_config(const po::variables_map& vm) {
  Config cfg;
  load_config(vm["config"].as<std::string>(), set_overrides(vm), cfg);
  apply_runtime(cfg.runtime);
  return cfg;
}

}  // namespace sculpt::cli
