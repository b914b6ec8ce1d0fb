// libFuzzer target: the safetensors header parser and validator (core/safetensors.h) on
// arbitrary bytes. Any input must parse or throw sculpt::Error; every accepted tensor must lie
// inside the data section.
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const sculpt::SafetensorsIndex index = sculpt::parse_safetensors(data, size, "fuzz");
    for (const sculpt::TensorInfo& t : index.tensors)
      if (t.end > index.data_size || t.begin > t.end) std::abort();  // the validator let a bad range through
  } catch (const sculpt::Error&) {
  }
  return 0;
}
