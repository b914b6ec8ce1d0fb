// Corpora on disk, read one way by everything that reads them (training shards, retrieval
// indexes, evaluation prompts): a folder of UTF-8 text documents, or a .jsonl file with one
// {"text": "...", "id": optional string or integer} object per line.
//
//   std::vector<Document> docs = sculpt::read_corpus("data/brown/train");  // ids "ca01.txt", ...
//   bool held_out = sculpt::in_validation_split(docs[0].id, /*fraction=*/0.05);
//
// Ids. A folder document's id is its path relative to the folder, extension kept, with '/'
// separators ("sub/ca01.txt"): unique, and stable when other documents come and go, which the
// validation split needs (it hashes the id). A .jsonl document's id is its "id" field, else
// "line:<n>". Files and folders whose names start with '.' are not documents (".complete"
// markers, editor files, a ".git" folder); neither is a folder named as `exclude_dir`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sculpt {

// A document: a unique id and its UTF-8 text.
struct Document {
  std::string id;
  std::string text;
};

// One document of a listing, not read yet when it lives in a file of its own.
struct CorpusEntry {
  std::string id;
  std::string file;   // folder corpora: the file to read; "" for .jsonl
  std::string text;   // .jsonl corpora: the text, already parsed
  std::string where;  // for messages: the file, or "<corpus>:<line>"
};

// A file the corpus is made of, for freshness checks of what was built from it.
struct CorpusFile {
  std::string path;  // relative to a folder corpus; the file name of a .jsonl corpus
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

struct CorpusListing {
  std::vector<CorpusEntry> entries;  // in corpus order: sorted by id (folders), line order (.jsonl)
  std::vector<CorpusFile> files;
};

// Lists a corpus without reading a folder's files. Throws Error naming the path when it does
// not exist or is neither a folder nor a .jsonl file, and "<file>:<line>" for a malformed line.
// An empty folder gives an empty listing.
CorpusListing list_corpus(const std::string& path, const std::string& exclude_dir = "");

// The entry's text, or nothing when it is not a document: not UTF-8 text (core/text_check.h;
// a warning names the file and why) or blank.
std::optional<std::string> read_document(const CorpusEntry& entry);

// Every document of the corpus, in corpus order. Throws Error as list_corpus, and for a corpus
// with no document ("empty corpus").
std::vector<Document> read_corpus(const std::string& path);

// True when the document with this id belongs to the validation split: a 64-bit hash of the id
// (FNV-1a, then the splitmix64 finaliser) mapped to [0, 1) falls below fraction.
bool in_validation_split(std::string_view doc_id, double fraction);

// Which side of a corpus split by in_validation_split.
enum class CorpusSplit { kTrain, kValidation, kAll };

// The documents of one side of the split, in corpus order (none is an empty result, not an
// error: the caller knows what it needed).
std::vector<Document> read_corpus_split(const std::string& path, double validation_fraction, CorpusSplit split);

}  // namespace sculpt
