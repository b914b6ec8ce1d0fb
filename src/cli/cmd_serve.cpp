// `sculpt serve`: the pipeline of a config behind an OpenAI-compatible HTTP server
// (src/server/): loads the pipeline once, listens on loopback by default, logs one line per
// request, and on SIGINT/SIGTERM stops running requests and exits 0.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <thread>

#include "cli/cli_util.h"
#include "core/atomic_file.h"
#include "core/chat_template.h"
#include "core/error.h"
#include "core/log.h"
#include "hybrid/chat_prompt.h"
#include "hybrid/pipeline.h"
#include "server/http_server.h"

namespace sculpt::cli {
namespace {

server::ServerParams server_params(const po::variables_map& vm) {
  server::ServerParams p;
  p.host = vm["host"].as<std::string>();
  p.port = vm["port"].as<int>();
  p.parallel = vm["parallel"].as<int>();
  p.queue = vm["queue"].as<int>();
  p.max_tokens = vm["max-tokens"].as<int>();
  p.max_body_bytes = vm["max-body-bytes"].as<int64_t>();
  p.timeout_s = vm["timeout"].as<double>();
  p.cors_origin = vm["cors-origin"].as<std::string>();
  p.model_name = vm["model-name"].as<std::string>();
  if (p.port < 0 || p.port > 65535) throw UsageError{"--port must be in [0, 65535]"};
  if (p.parallel < 1 || p.parallel > 256) throw UsageError{"--parallel must be in [1, 256]"};
  if (p.queue < 0 || p.queue > 4096) throw UsageError{"--queue must be in [0, 4096]"};
  if (p.max_tokens < 1) throw UsageError{"--max-tokens must be at least 1"};
  if (p.max_body_bytes < 1024) throw UsageError{"--max-body-bytes must be at least 1024"};
  if (!(p.timeout_s > 0)) throw UsageError{"--timeout must be positive"};
  if (vm.count("api-key") && vm.count("api-key-file")) throw UsageError{"give --api-key or --api-key-file, not both"};
  if (vm.count("api-key")) p.api_key = vm["api-key"].as<std::string>();
  if (vm.count("api-key-file")) {
    p.api_key = read_file(vm["api-key-file"].as<std::string>(), 4096);
    while (!p.api_key.empty() && (p.api_key.back() == '\n' || p.api_key.back() == '\r')) p.api_key.pop_back();
    if (p.api_key.empty()) fail(vm["api-key-file"].as<std::string>(), "is empty: no API key in it");
  }
  return p;
}

// SIGINT and SIGTERM reach whichever thread the kernel picks (OpenBLAS starts its threads when
// it is loaded, before any mask could be set), so a handler only writes the signal's number to
// a pipe; a thread reading it stops the server, never from inside a signal handler.
int stop_pipe[2] = {-1, -1};

void on_stop_signal(int signal) {
  const unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] const ssize_t n = ::write(stop_pipe[1], &byte, 1);
}

void install_stop_handlers() {
  if (::pipe(stop_pipe) != 0) fail("sculpt serve", "cannot create the signal pipe: ", errno_text(errno));
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

int serve(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  const server::ServerParams defaults;
  options.add_options()
      ("host", po::value<std::string>()->default_value(defaults.host), "listen address (127.0.0.1: this machine only)")
      ("port", po::value<int>()->default_value(defaults.port), "listen port; 0 = any free port")
      ("parallel", po::value<int>()->default_value(defaults.parallel), "requests generating at once")
      ("queue", po::value<int>()->default_value(defaults.queue), "requests waiting for a slot; beyond them 503")
      ("max-tokens", po::value<int>()->default_value(defaults.max_tokens), "the most new tokens a request may ask for")
      ("max-body-bytes", po::value<int64_t>()->default_value(defaults.max_body_bytes), "larger request bodies get 413")
      ("timeout", po::value<double>()->default_value(defaults.timeout_s), "seconds a request may generate before it is stopped (504)")
      ("api-key", po::value<std::string>(), "require Authorization: Bearer KEY on every route but /health")
      ("api-key-file", po::value<std::string>(), "the same, the key read from a file (kept out of the process list)")
      ("cors-origin", po::value<std::string>()->default_value(""), "send CORS headers allowing this origin (or *)")
      ("model-name", po::value<std::string>()->default_value(""), "the model name of the API (default: the config file's stem)");
  po::variables_map vm;
  if (!parse_options(args, "sculpt serve --config FILE [--host 127.0.0.1] [--port 8080] [--parallel N] "
                           "[--api-key KEY | --api-key-file F] [--set k=v ...]", options, vm))
    return 0;
  const std::string config_path = vm["config"].as<std::string>();
  if (config_path.empty()) throw UsageError{"--config is required: the pipeline to serve comes from it"};
  server::ServerParams params = server_params(vm);
  const PipelineConfig cfg = read_config<PipelineConfig>(vm);  // bad configs fail before listening
  apply_runtime(cfg.runtime, params.parallel);  // the threads are shared between the slots
  const std::string model_name =
      params.model_name.empty() ? std::filesystem::path(config_path).stem().string() : params.model_name;
  if (params.api_key.empty() && params.host != "127.0.0.1" && params.host != "localhost" && params.host != "::1")
    log_warning("sculpt serve: listening on " + params.host + " without an API key: anyone who can reach it can use it "
                "(give --api-key-file)");

  server::HttpServer server(params, model_name);
  // Chat completions render messages with the template of the model that writes first.
  if (std::optional<ChatFormat> chat = load_chat_format(chat_model_dir(cfg.pipeline))) server.set_chat_format(std::move(*chat));
  install_stop_handlers();
  const int port = server.bind();
  std::fprintf(stderr, "sculpt serve: listening on http://%s:%d (model %s); loading %s\n", params.host.c_str(), port,
               model_name.c_str(), config_path.c_str());
  std::thread stopper([&server] {
    unsigned char signal = 0;
    if (::read(stop_pipe[0], &signal, 1) != 1 || signal == 0) return;  // 0: written by main to end this thread
    log_info(std::string("sculpt serve: ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ": stopping");
    server.stop();
  });
  std::exception_ptr load_error;  // a pipeline that cannot load ends the server with its error
  std::thread loader([&] {
    try {
      server.set_pipeline(std::make_unique<Pipeline>(cfg, config_path));
      log_info("sculpt serve: ready");
    } catch (...) {
      load_error = std::current_exception();
      server.stop();
    }
  });
  server.run();
  loader.join();
  const unsigned char end = 0;
  [[maybe_unused]] const ssize_t n = ::write(stop_pipe[1], &end, 1);  // a stopper still reading leaves
  stopper.join();
  if (load_error) std::rethrow_exception(load_error);
  return 0;
}

}  // namespace

std::vector<Command> serve_commands() {
  return {{"serve", "an OpenAI-compatible HTTP server over a pipeline config (completions, chat, refine, metrics)", serve}};
}

}  // namespace sculpt::cli
