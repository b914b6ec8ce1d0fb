// libFuzzer target: the BM25 index reader (retrieval/bm25_index.h) on arbitrary payload bytes
// (the container's CRC is bypassed, so the payload parser itself is exercised), then a search
// over whatever was accepted.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "retrieval/bm25_index.h"
#include "retrieval/index_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    sculpt::ByteReader reader(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.idx");
    std::unique_ptr<sculpt::Bm25Retriever> index = sculpt::Bm25Retriever::read(reader);
    index->search("the jury said", 3);
    index->search("", 1);
  } catch (const sculpt::Error&) {
  }
  return 0;
}
