// Corpus listing and reading; see corpus.h.
#include "core/corpus.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text_check.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
}

int64_t mtime_ns(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail(path.string(), "cannot stat: ", errno_text(errno));
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

uint64_t splitmix64_finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

CorpusListing list_folder(const std::string& corpus_path, const std::string& exclude_dir) {
  std::error_code ec;
  const fs::path root(corpus_path);
  const fs::path excluded = exclude_dir.empty() ? fs::path() : fs::weakly_canonical(exclude_dir, ec);
  std::vector<std::pair<std::string, fs::path>> found;  // (relative path, path)
  fs::recursive_directory_iterator it(root, ec), end;    // folder symlinks are not followed
  if (ec) fail(corpus_path, "cannot list the corpus folder: ", ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) fail(corpus_path, "cannot list the corpus folder: ", ec.message());
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (it->is_directory()) {
      std::error_code ignored;
      if (name.empty() || name[0] == '.' || (!excluded.empty() && fs::weakly_canonical(path, ignored) == excluded))
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || name.empty() || name[0] == '.') continue;
    found.emplace_back(path.lexically_relative(root).generic_string(), path);
  }
  std::sort(found.begin(), found.end());
  CorpusListing listing;
  for (auto& [rel, path] : found) {
    const auto size = fs::file_size(path, ec);
    if (ec) fail(path.string(), "cannot stat: ", ec.message());
    listing.files.push_back({rel, int64_t(size), mtime_ns(path)});
    listing.entries.push_back({rel, path.string(), "", path.string()});
  }
  return listing;
}

CorpusListing list_jsonl(const std::string& corpus_path) {
  CorpusListing listing;
  listing.files.push_back({fs::path(corpus_path).filename().string(), int64_t(fs::file_size(corpus_path)),
                           mtime_ns(corpus_path)});
  std::ifstream in(corpus_path, std::ios::binary);
  if (!in) fail(corpus_path, "cannot open: ", errno_text(errno));
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    const std::string where = str_cat(corpus_path, ":", line_no);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) continue;
    const json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) fail(where, "malformed JSON: expected an object {\"text\": \"...\", \"id\": ...}");
    if (!record.is_object()) fail(where, "expected an object with a \"text\" field");
    const auto text = record.find("text");
    if (text == record.end() || !text->is_string()) fail(where, "missing string field \"text\"");
    std::string id = str_cat("line:", line_no);
    if (const auto id_it = record.find("id"); id_it != record.end()) {
      if (id_it->is_string()) id = id_it->get<std::string>();
      else if (id_it->is_number_integer()) id = id_it->dump();
      else fail(where, "\"id\" must be a string or an integer");
    }
    listing.entries.push_back({std::move(id), "", text->get<std::string>(), where});
  }
  if (in.bad()) fail(corpus_path, "read error");
  return listing;
}

}  // namespace

CorpusListing list_corpus(const std::string& path, const std::string& exclude_dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) fail(path, "corpus not found: the path does not exist");
  if (fs::is_directory(status)) return list_folder(path, exclude_dir);
  if (!fs::is_regular_file(status) || fs::path(path).extension() != ".jsonl")
    fail(path, "expected a folder of text documents or a .jsonl file");
  return list_jsonl(path);
}

std::optional<std::string> read_document(const CorpusEntry& entry) {
  std::string text = entry.file.empty() ? entry.text : read_file(entry.file);
  if (const std::string why = not_text_reason(text); !why.empty()) {
    log_warning(str_cat("skipping ", entry.where, ": not UTF-8 text (", why, ")"));
    return std::nullopt;
  }
  if (is_blank(text)) return std::nullopt;
  return text;
}

std::vector<Document> read_corpus(const std::string& path) {
  std::vector<Document> docs;
  for (const CorpusEntry& entry : list_corpus(path).entries)
    if (std::optional<std::string> text = read_document(entry)) docs.push_back({entry.id, std::move(*text)});
  if (docs.empty()) fail(path, "empty corpus: no document with any text (files that are not UTF-8 text are skipped)");
  return docs;
}

bool in_validation_split(std::string_view doc_id, double fraction) {
  const uint64_t h = splitmix64_finalize(fnv1a64(doc_id));
  const double u = double(h >> 11) * 0x1.0p-53;  // uniform in [0, 1)
  return u < fraction;
}

std::vector<Document> read_corpus_split(const std::string& path, double validation_fraction, CorpusSplit split) {
  std::vector<Document> out;
  for (const CorpusEntry& entry : list_corpus(path).entries) {
    const bool valid = in_validation_split(entry.id, validation_fraction);
    if ((split == CorpusSplit::kTrain && valid) || (split == CorpusSplit::kValidation && !valid)) continue;
    if (std::optional<std::string> text = read_document(entry)) out.push_back({entry.id, std::move(*text)});
  }
  return out;
}

}  // namespace sculpt
