// GET / and the editor's files: the live editor (web/), served from the binary. The page is
// static and holds no data, so it needs no key; the API calls it makes do.
#include "server/routes.h"
#include "server/web_assets.h"

namespace sculpt::server {
namespace {

const char* content_type(std::string_view path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

void add_web_routes(httplib::Server& server) {
  for (const WebAsset& asset : web_assets()) {
    auto serve = [asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(asset.bytes.data(), asset.bytes.size(), content_type(asset.path));
      res.set_header("Cache-Control", "no-cache");  // a new binary's page, not a stale one
      res.set_header("X-Content-Type-Options", "nosniff");
    };
    server.Get(std::string(asset.path), serve);
    if (asset.path == "/index.html") server.Get("/", serve);
  }
}

bool is_web_path(const std::string& path) {
  if (path == "/") return true;
  for (const WebAsset& asset : web_assets())
    if (asset.path == path) return true;
  return false;
}

}  // namespace sculpt::server
