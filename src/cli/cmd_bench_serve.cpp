// `sculpt bench serve`: the server's figures as JSON. For each client count N, a real server
// (src/server/) runs in this process on a loopback port with the config's pipeline and N slots
// (threads split between them, as `sculpt serve --parallel N`), and N clients send streamed
// completions over HTTP, each one after another. Per count: requests/s, generated tokens/s, time to first text (TTFT: the first
// event that puts text on the client's screen) and request latency, p50 and p95.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/cli_util.h"
#include "core/error.h"
#include "hybrid/pipeline.h"
#include "retrieval/evaluation.h"
#include "server/http_server.h"

namespace sculpt::cli {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Openings in the register of the shipped models' corpus; request i uses prompt i mod 8.
const char* const kPrompts[] = {"The jury said", "In the spring of that year", "The committee reported that",
                                "She looked at the letter and", "The new school budget", "After the election, the mayor",
                                "The results of the study show", "He walked down the street"};

struct Sample {
  double ttft = -1;     // seconds to the first text; -1 = none arrived
  double latency = 0;   // seconds to [DONE]
  int64_t tokens = 0;   // completion tokens (the usage chunk)
};

// One streamed completion; throws Error on a failed request or a stream that does not end.
Sample stream_one(httplib::Client& client, const std::string& body) {
  Sample s;
  std::string pending;
  bool done = false;
  const auto start = Clock::now();
  const auto since = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    pending.append(data, n);
    for (size_t end; (end = pending.find("\n\n")) != std::string::npos; pending.erase(0, end + 2)) {
      const std::string event = pending.substr(0, end);
      const size_t at = event.find("data: ");
      if (at == std::string::npos) continue;
      const std::string payload = event.substr(at + 6);
      if (payload == "[DONE]") {
        done = true;
        continue;
      }
      const json j = json::parse(payload);
      if (j.contains("error")) fail("bench serve", "the server answered ", j["error"].dump());
      const bool text = (j.contains("choices") && !j["choices"].empty() && !j["choices"][0].value("text", "").empty()) ||
                        (j.value("object", "") == "sculpt.refine");
      if (text && s.ttft < 0) s.ttft = since();
      if (j.contains("usage") && j["usage"].is_object()) s.tokens = j["usage"].value("completion_tokens", 0);
    }
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  if (!client.send(req, res, error) || res.status != 200)
    fail("bench serve", "a request failed: ", error == httplib::Error::Success ? "HTTP " + std::to_string(res.status)
                                                                                 : httplib::to_string(error));
  if (!done) fail("bench serve", "a stream ended without data: [DONE]");
  s.latency = since();
  return s;
}

json percentiles(const std::vector<double>& x) { return {{"p50", percentile(x, 50)}, {"p95", percentile(x, 95)}}; }

// `n_clients` clients sending `n_requests` requests between them.
json run_clients(int port, int n_clients, int n_requests, int max_tokens, bool revisions) {
  std::vector<Sample> samples(static_cast<size_t>(n_requests));
  std::atomic<int> next{0};
  std::vector<std::string> errors(static_cast<size_t>(n_clients));
  const auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < n_clients; ++c)
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(600, 0);
      try {
        for (int i; (i = next++) < n_requests;) {
          const json body = {{"prompt", kPrompts[i % 8]},
                             {"max_tokens", max_tokens},
                             {"seed", i},
                             {"stream", true},
                             {"stream_options", {{"include_usage", true}}},
                             {"sculpt", {{"stream_revisions", revisions}}}};
          samples[size_t(i)] = stream_one(client, body.dump());
        }
      } catch (const std::exception& e) {
        errors[size_t(c)] = e.what();
        next = n_requests;
      }
    });
  for (std::thread& t : clients) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const std::string& e : errors)
    if (!e.empty()) throw Error(e);
  std::vector<double> ttft, latency;
  int64_t tokens = 0;
  for (const Sample& s : samples) {
    if (s.ttft >= 0) ttft.push_back(s.ttft);
    latency.push_back(s.latency);
    tokens += s.tokens;
  }
  return {{"clients", n_clients},
          {"requests", n_requests},
          {"seconds", seconds},
          {"requests_per_second", double(n_requests) / seconds},
          {"completion_tokens", tokens},
          {"tokens_per_second", double(tokens) / seconds},
          {"ttft_seconds", percentiles(ttft)},
          {"latency_seconds", percentiles(latency)}};
}

std::vector<int> parse_counts(const std::string& text) {
  std::vector<int> counts;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || n < 1 || n > 64)
      throw UsageError{"--clients must be comma-separated counts in [1, 64], got '" + item + "'"};
    counts.push_back(n);
  }
  if (counts.empty()) throw UsageError{"--clients needs at least one count"};
  return counts;
}

int bench_serve(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_config_options(options);
  options.add_options()
      ("clients", po::value<std::string>()->default_value("1,2"), "client counts, comma-separated (each gets as many slots)")
      ("requests", po::value<int>()->default_value(16), "requests per client count")
      ("max-tokens", po::value<int>()->default_value(64), "new tokens per request")
      ("revisions", po::bool_switch(), "stream the draft at once and its revisions (sculpt.stream_revisions)");
  po::variables_map vm;
  if (!parse_options(args, "sculpt bench serve --config FILE [--clients 1,2,4] [--requests N] [--max-tokens N] "
                           "[--revisions] [--set k=v ...]", options, vm))
    return 0;
  const std::string config_path = vm["config"].as<std::string>();
  if (config_path.empty()) throw UsageError{"--config is required: the pipeline to serve comes from it"};
  const std::vector<int> counts = parse_counts(vm["clients"].as<std::string>());
  const int n_requests = vm["requests"].as<int>(), max_tokens = vm["max-tokens"].as<int>();
  if (n_requests < 1) throw UsageError{"--requests must be at least 1"};
  if (max_tokens < 1) throw UsageError{"--max-tokens must be at least 1"};
  const bool revisions = vm["revisions"].as<bool>();
  const PipelineConfig cfg = read_config<PipelineConfig>(vm);
  apply_runtime(cfg.runtime);

  json results = json::array();
  for (int n : counts) {
    // A server with n slots, the threads split between them as `sculpt serve --parallel n` does.
    apply_runtime(cfg.runtime, n);
    server::ServerParams params;
    params.port = 0;
    params.parallel = n;
    params.queue = n;
    params.max_tokens = max_tokens;
    params.timeout_s = 3600;
    server::HttpServer server(params, "bench");
    const int port = server.bind();
    server.set_pipeline(std::make_unique<Pipeline>(cfg, config_path));
    std::thread serving([&] { server.run(); });
    try {
      run_clients(port, n, n, max_tokens, revisions);  // warm-up: each slot's first-touch allocations
      std::fprintf(stderr, "bench serve: %d client%s, %d requests\n", n, n == 1 ? "" : "s", n_requests);
      results.push_back(run_clients(port, n, n_requests, max_tokens, revisions));
    } catch (...) {
      server.stop();
      serving.join();
      throw;
    }
    server.stop();
    serving.join();
  }
  const json out = {{"bench", "serve"},
                    {"config", config_path},
                    {"mode", pipeline_mode_name(cfg.pipeline.mode)},
                    {"stream_revisions", revisions},
                    {"max_tokens", max_tokens},
                    {"threads", cfg.runtime.n_threads > 0 ? cfg.runtime.n_threads : int(std::thread::hardware_concurrency())},
                    {"transport", "HTTP/1.1 over loopback, Server-Sent Events"},
                    {"results", results}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace

std::vector<Command> bench_serve_commands() {
  return {{"bench serve", "server figures as JSON: requests/s, time to first text, p50/p95 latency for 1..N clients",
           bench_serve}};
}

}  // namespace sculpt::cli
