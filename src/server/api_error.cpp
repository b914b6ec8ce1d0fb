// OpenAI-shaped error bodies; see api_error.h.
#include "server/api_error.h"

namespace sculpt::server {

nlohmann::json error_body(const ApiError& e) {
  using nlohmann::json;
  return {{"error", {{"message", e.message},
                     {"type", e.type},
                     {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                     {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

}  // namespace sculpt::server
