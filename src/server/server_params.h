// What `sculpt serve` is told on its command line (the pipeline comes from its config file):
// where the server listens, how many requests run at once and wait, the limits of one request,
// and who may call it. The defaults below are the options' defaults.
#pragma once

#include <cstdint>
#include <string>

namespace sculpt::server {

struct ServerParams {
  std::string host = "127.0.0.1";  // listen address; loopback by default
  int port = 8080;                 // 0 = any free port (printed when listening)
  int parallel = 1;                // requests generating at once
  int queue = 8;                   // requests waiting for a slot; one more gets 503 + Retry-After
  int max_tokens = 1024;           // the most new tokens one request may ask for
  int64_t max_body_bytes = 1 << 20;  // larger request bodies get 413
  double timeout_s = 300;          // a request still generating after this is stopped (504)
  std::string api_key;             // "" = no key; else every route but /health needs "Bearer <key>"
  std::string cors_origin;         // "" = no CORS headers; else the origin allowed (or "*")
  std::string model_name;          // the name /v1/models lists and requests may give; "" = the config's file stem
};

}  // namespace sculpt::server
