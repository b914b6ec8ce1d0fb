// `sculpt serve`'s HTTP server: cpp-httplib, as llama-server uses, with the routes of routes.h,
// one log line per request, an API key, CORS when configured, and OpenAI-shaped errors for
// unknown routes (404), wrong methods (405) and oversized bodies (413).
//
//   HttpServer server(params);
//   int port = server.bind();                     // listening; /health says 503 "loading"
//   server.set_pipeline(std::move(pipeline));     // /health says 200 "ok"
//   server.run();                                 // until stop() (a signal)
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "hybrid/pipeline.h"
#include "server/server_context.h"

namespace httplib {
class Server;
}

namespace sculpt::server {

class HttpServer {
 public:
  HttpServer(const ServerParams& params, const std::string& model_name);
  ~HttpServer();

  // Binds params.host:params.port (0 = any free port) and returns the port. Throws Error naming
  // the address when it cannot.
  int bind();
  // The pipeline every request uses; until it is set, generation routes and /health say 503.
  void set_pipeline(std::unique_ptr<Pipeline> pipeline);
  // Messages to a prompt through the model's chat template (chat completions need one). Before
  // run().
  void set_chat_format(ChatFormat chat);
  // Serves until stop(); returns after the last running request has finished or been cancelled.
  void run();
  // Safe from another thread: running requests stop (503, or the stream ends), waiting ones are
  // turned away, and run() returns.
  void stop();

 private:
  void install_hooks();
  void install_method_guards();

  ServerContext ctx_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> finished_{false};  // run() has returned
};

}  // namespace sculpt::server
