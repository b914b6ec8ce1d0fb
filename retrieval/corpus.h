// Corpora on disk into Documents: a folder of UTF-8 text files (every regular file, recursively,
// sorted by path; the id is the path relative to the folder without its extension), or a JSONL
// file of {"id": ..., "text": ...} lines.
//
//   std::vector<Document> docs = read_corpus("data/brown/train");   // ids "ca01", "ca02", ...
#pragma once

#include <string>
#include <vector>

#include "retrieval/passage.h"

namespace sculpt {

// Files that are not UTF-8 text (core/text_check.h) are skipped with a warning on stderr.
// Throws Error naming the path if it is missing, unreadable, malformed, or holds no document
// with any text (an empty corpus).
std::vector<Document> read_corpus(const std::string& path);

}  // namespace sculpt
