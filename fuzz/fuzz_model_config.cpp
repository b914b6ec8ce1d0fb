// libFuzzer target: config.json (core/model_config.h) on arbitrary bytes. Any input must give
// a valid ModelConfig or throw sculpt::Error; an accepted one must survive a JSON round trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const sculpt::ModelConfig c = sculpt::parse_model_config(text, "fuzz/config.json");
    const sculpt::ModelConfig again = sculpt::parse_model_config(sculpt::model_config_to_json(c), "round trip");
    if (sculpt::model_config_to_json(again) != sculpt::model_config_to_json(c)) std::abort();
  } catch (const sculpt::Error&) {
  }
  return 0;
}
