// The live editor's files (web/), built into the binary by cmake/embed_files.cmake.
//
//   for (const WebAsset& a : web_assets()) std::cout << a.path << " " << a.bytes.size() << "\n";
#pragma once

#include <string_view>
#include <vector>

namespace sculpt::server {

struct WebAsset {
  std::string_view path;   // "/index.html", "/editor.js", ...
  std::string_view bytes;
};

const std::vector<WebAsset>& web_assets();

}  // namespace sculpt::server
