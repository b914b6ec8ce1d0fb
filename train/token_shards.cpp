// Corpus -> token shards (build, reuse, document-level split), the memory-mapped shard reader
// and the two window readers. See token_shards.h for the file layout and the contracts.
#include "train/token_shards.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <limits>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "token shards are read in place as little-endian");

namespace sculpt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kMagic[8] = {'S', 'C', 'U', 'L', 'P', 'T', 'T', 'K'};
constexpr int kManifestVersion = 1;  // bump when the manifest or the document framing changes

uint64_t fnv1a64(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

std::string strip_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// One document of the corpus and its side of the split.
struct SplitEntry {
  CorpusEntry entry;
  bool valid = false;
};

struct SplitCorpus {
  std::vector<SplitEntry> docs;
  json files;  // [{path, size, mtime_ns}], or {"train": [...], "validation": [...]} with a validation corpus
};

json files_json(const std::vector<CorpusFile>& files) {
  json out = json::array();
  for (const CorpusFile& f : files) out.push_back({{"path", f.path}, {"size", f.size}, {"mtime_ns", f.mtime_ns}});
  return out;
}

// The training corpus, then the validation corpus when there is one, each document marked
// with its side of the split. The shard folder is not part of a folder corpus it sits in.
SplitCorpus list_split_corpus(const DataParams& params, const std::string& cache_dir) {
  CorpusListing corpus = list_corpus(params.corpus, cache_dir);
  SplitCorpus out;
  for (CorpusEntry& e : corpus.entries) {
    const bool valid = params.validation_corpus.empty() && in_validation_split(e.id, params.validation_fraction);
    out.docs.push_back({std::move(e), valid});
  }
  if (params.validation_corpus.empty()) {
    out.files = files_json(corpus.files);
    return out;
  }
  CorpusListing valid = list_corpus(params.validation_corpus, cache_dir);
  for (CorpusEntry& e : valid.entries) out.docs.push_back({std::move(e), true});
  out.files = {{"train", files_json(corpus.files)}, {"validation", files_json(valid.files)}};
  return out;
}

std::string tokenizer_fingerprint(const std::string& tokenizer_path) {
  const std::string bytes = read_file(tokenizer_path);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(bytes.data(), bytes.size())));
  return hex;
}

// True when manifest.json matches key and both shards open with the sizes it records.
bool shards_are_fresh(const std::string& manifest_path, const json& key, const ShardPaths& paths) {
  std::error_code ec;
  if (!fs::exists(manifest_path, ec)) return false;
  try {
    const json manifest = json::parse(read_file(manifest_path));
    if (manifest.value("key", json()) != key) return false;
    const TokenShard train = TokenShard::open(paths.train);
    const TokenShard valid = TokenShard::open(paths.valid);
    return manifest.at("train").at("n_tokens").get<int64_t>() == train.n_tokens() &&
           manifest.at("train").at("n_docs").get<int64_t>() == train.n_docs() &&
           manifest.at("valid").at("n_tokens").get<int64_t>() == valid.n_tokens() &&
           manifest.at("valid").at("n_docs").get<int64_t>() == valid.n_docs();
  } catch (const std::exception& e) {
    log_info(str_cat("[data] rebuilding shards in ", fs::path(manifest_path).parent_path().string(), ": ", e.what()));
    return false;
  }
}

}  // namespace

void DataParams::validate_complete() const {
  if (corpus.empty()) fail("data.corpus", "is empty; give a folder of documents or a .jsonl file");
  if (!(validation_fraction >= 0.0 && validation_fraction < 1.0)) {
    fail("data.validation_fraction", validation_fraction, " is outside [0, 1)");
  }
  if (seq_len < 1) fail("data.seq_len", seq_len, " must be at least 1");
}

std::string DataParams::resolved_cache_dir() const {
  return cache_dir.empty() ? strip_trailing_slashes(corpus) + ".shards" : cache_dir;
}

// --- TokenShard ---------------------------------------------------------------------------------

TokenShard TokenShard::open(const std::string& path) {
  TokenShard shard;
  shard.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open token shard: ", errno_text(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, "cannot stat: ", errno_text(err));
  }
  const auto file_bytes = static_cast<uint64_t>(st.st_size);
  if (file_bytes < uint64_t(kShardHeaderBytes)) {
    ::close(fd);
    fail(path, "not a token shard: ", file_bytes, " bytes is shorter than the ", kShardHeaderBytes, "-byte header");
  }
  void* map = ::mmap(nullptr, file_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);
  if (map == MAP_FAILED) fail(path, "cannot mmap: ", errno_text(map_err));
  shard.map_ = map;
  shard.map_bytes_ = file_bytes;  // from here on the destructor unmaps

  const auto* bytes = static_cast<const unsigned char*>(map);
  uint32_t version, dtype;
  uint64_t n_tokens, n_docs, checksum;
  std::memcpy(&version, bytes + 8, 4);
  std::memcpy(&dtype, bytes + 12, 4);
  std::memcpy(&n_tokens, bytes + 16, 8);
  std::memcpy(&n_docs, bytes + 24, 8);
  std::memcpy(&checksum, bytes + 32, 8);
  if (std::memcmp(bytes, kMagic, 8) != 0) fail(path, "not a token shard (bad magic; expected SCULPTTK)");
  if (version != kShardVersion) {
    fail(path, "token shard format version ", version, " is not the supported version ", kShardVersion,
         "; delete the shard folder to rebuild it");
  }
  if (checksum != fnv1a64(bytes, 32)) fail(path, "token shard header checksum mismatch (corrupt header)");
  uint64_t width;
  if (dtype == uint32_t(TokenDtype::kUint16)) {
    width = 2;
  } else if (dtype == uint32_t(TokenDtype::kUint32)) {
    width = 4;
  } else {
    fail(path, "unknown token dtype ", dtype);
  }
  const uint64_t payload = file_bytes - uint64_t(kShardHeaderBytes);
  if (n_tokens > payload / width || n_tokens * width != payload) {
    fail(path, "token shard size mismatch: header says ", n_tokens, " tokens (", n_tokens * width,
         " bytes) but the file holds ", payload, " bytes after the header (truncated or corrupt)");
  }
  if (n_docs > n_tokens) fail(path, "token shard header says ", n_docs, " documents but only ", n_tokens, " tokens");
  shard.dtype_ = TokenDtype(dtype);
  shard.n_tokens_ = int64_t(n_tokens);
  shard.n_docs_ = int64_t(n_docs);
  shard.tokens_ = bytes + kShardHeaderBytes;
  return shard;
}

TokenShard::TokenShard(TokenShard&& other) noexcept { *this = std::move(other); }

TokenShard& TokenShard::operator=(TokenShard&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
    tokens_ = std::exchange(other.tokens_, nullptr);
    dtype_ = other.dtype_;
    n_tokens_ = std::exchange(other.n_tokens_, 0);
    n_docs_ = std::exchange(other.n_docs_, 0);
  }
  return *this;
}

TokenShard::~TokenShard() { release(); }

void TokenShard::release() {
  if (map_) ::munmap(map_, map_bytes_);
  map_ = nullptr;
  tokens_ = nullptr;
}

int64_t TokenShard::token(int64_t i) const {
  if (i < 0 || i >= n_tokens_) fail(path_, "token index ", i, " is outside [0, ", n_tokens_, ")");
  return dtype_ == TokenDtype::kUint16 ? int64_t(static_cast<const uint16_t*>(tokens_)[i])
                                       : int64_t(static_cast<const uint32_t*>(tokens_)[i]);
}

void TokenShard::copy(int64_t begin, int64_t n, int64_t* out) const {
  if (begin < 0 || n < 0 || begin > n_tokens_ || n > n_tokens_ - begin) {
    fail(path_, "token range [", begin, ", ", begin, " + ", n, ") is outside [0, ", n_tokens_, ")");
  }
  if (dtype_ == TokenDtype::kUint16) {
    const auto* src = static_cast<const uint16_t*>(tokens_) + begin;
    std::copy(src, src + n, out);
  } else {
    const auto* src = static_cast<const uint32_t*>(tokens_) + begin;
    std::copy(src, src + n, out);
  }
}

void write_token_shard(const std::string& path, const std::vector<uint32_t>& tokens, int64_t n_docs,
                       TokenDtype dtype) {
  unsigned char header[kShardHeaderBytes];
  const uint32_t version = kShardVersion, dtype_code = uint32_t(dtype);
  const uint64_t n_tokens = tokens.size(), docs = uint64_t(n_docs);
  std::memcpy(header, kMagic, 8);
  std::memcpy(header + 8, &version, 4);
  std::memcpy(header + 12, &dtype_code, 4);
  std::memcpy(header + 16, &n_tokens, 8);
  std::memcpy(header + 24, &docs, 8);
  const uint64_t checksum = fnv1a64(header, 32);
  std::memcpy(header + 32, &checksum, 8);

  AtomicFile out(path);
  out.write(header, sizeof header);
  if (dtype == TokenDtype::kUint32) {
    out.write(tokens.data(), tokens.size() * sizeof(uint32_t));
  } else {
    std::vector<uint16_t> chunk;
    constexpr size_t kChunk = size_t(1) << 20;
    for (size_t begin = 0; begin < tokens.size(); begin += kChunk) {
      const size_t end = std::min(tokens.size(), begin + kChunk);
      chunk.resize(end - begin);
      for (size_t i = begin; i < end; ++i) {
        if (tokens[i] > 0xFFFF) fail(path, "token id ", tokens[i], " does not fit a uint16 shard");
        chunk[i - begin] = uint16_t(tokens[i]);
      }
      out.write(chunk.data(), chunk.size() * sizeof(uint16_t));
    }
  }
  out.commit();
}

// --- build_shards -------------------------------------------------------------------------------

std::vector<Document> read_split(const DataParams& params, CorpusSplit split) {
  if (params.corpus.empty()) fail("data.corpus", "no corpus given");
  SplitCorpus corpus = list_split_corpus(params, params.resolved_cache_dir());
  std::vector<Document> out;
  for (SplitEntry& doc : corpus.docs) {
    if ((split == CorpusSplit::kTrain && doc.valid) || (split == CorpusSplit::kValidation && !doc.valid)) continue;
    if (std::optional<std::string> text = read_document(doc.entry)) out.push_back({std::move(doc.entry.id), std::move(*text)});
  }
  return out;
}

ShardPaths build_shards(const DataParams& params, const Tokenizer& tokenizer, const std::string& tokenizer_path,
                        ProgressFn progress) {
  params.validate_complete();
  const std::string cache_dir = params.resolved_cache_dir();
  ShardPaths paths;
  paths.train = cache_dir + "/train.tokens";
  paths.valid = cache_dir + "/valid.tokens";
  const std::string manifest_path = cache_dir + "/manifest.json";
  const int32_t bos = tokenizer.bos_id(), eos = tokenizer.eos_id();
  if (bos < 0 || eos < 0) fail(tokenizer_path, "the tokenizer has no BOS or EOS piece; documents need both");

  SplitCorpus corpus = list_split_corpus(params, cache_dir);
  if (corpus.docs.empty()) fail(params.corpus, "corpus has no documents");

  const json key = {{"format_version", kManifestVersion},
                    {"shard_version", kShardVersion},
                    {"tokenizer_hash", tokenizer_fingerprint(tokenizer_path)},
                    {"n_vocab", tokenizer.n_vocab()},
                    {"bos_id", bos},
                    {"eos_id", eos},
                    {"validation_fraction", params.validation_corpus.empty() ? params.validation_fraction : 0.0},
                    {"corpus_files", corpus.files}};

  auto check_long_enough = [&](int64_t n_train_tokens) {
    if (n_train_tokens < params.seq_len + 1) {
      fail(params.corpus, "corpus too short: the training split has ", n_train_tokens,
           " tokens, fewer than one window of seq_len + 1 = ", params.seq_len + 1);
    }
  };

  if (shards_are_fresh(manifest_path, key, paths)) {
    const json manifest = json::parse(read_file(manifest_path));
    paths.reused = true;
    paths.n_skipped = manifest.value("n_skipped", int64_t(0));
    check_long_enough(manifest.at("train").at("n_tokens").get<int64_t>());
    return paths;
  }

  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) fail(cache_dir, "cannot create the shard folder: ", ec.message());

  std::vector<uint32_t> train_tokens, valid_tokens;
  int64_t n_train_docs = 0, n_valid_docs = 0;
  const int64_t n_total = int64_t(corpus.docs.size());
  const int64_t log_every = std::max<int64_t>(1, n_total / 10);
  log_info(str_cat("[data] tokenizing ", n_total, " documents from ", params.corpus, " into ", cache_dir));
  for (int64_t i = 0; i < n_total; ++i) {
    const SplitEntry& doc = corpus.docs[size_t(i)];
    if (const std::optional<std::string> text = read_document(doc.entry)) {
      std::vector<uint32_t>& out = doc.valid ? valid_tokens : train_tokens;
      (doc.valid ? n_valid_docs : n_train_docs) += 1;
      out.push_back(uint32_t(bos));
      for (const TokenId id : tokenizer.encode(*text)) out.push_back(uint32_t(id));
      out.push_back(uint32_t(eos));
    } else {
      ++paths.n_skipped;  // not text (read_document warned) or blank
    }
    if (progress) progress(i + 1, n_total);
    if ((i + 1) % log_every == 0 || i + 1 == n_total) log_info(str_cat("[data] ", i + 1, "/", n_total, " documents"));
  }
  if (n_train_docs + n_valid_docs == 0) {
    fail(params.corpus, "corpus has no text documents (all ", n_total, " are empty or binary)");
  }
  check_long_enough(int64_t(train_tokens.size()));
  if (n_valid_docs == 0 && !params.validation_corpus.empty()) {
    log_warning(str_cat("[data] ", params.validation_corpus, " holds no text document"));
  } else if (n_valid_docs == 0 && params.validation_fraction > 0) {
    log_warning(str_cat("[data] no document of ", params.corpus, " fell in the validation split"));
  }

  const TokenDtype dtype = tokenizer.n_vocab() <= 65536 ? TokenDtype::kUint16 : TokenDtype::kUint32;
  // The manifest goes last: a crash before it leaves shards that the next run rebuilds.
  std::filesystem::remove(manifest_path, ec);
  write_token_shard(paths.train, train_tokens, n_train_docs, dtype);
  write_token_shard(paths.valid, valid_tokens, n_valid_docs, dtype);
  const json manifest = {{"key", key},
                         {"n_skipped", paths.n_skipped},
                         {"train", {{"n_tokens", train_tokens.size()}, {"n_docs", n_train_docs}}},
                         {"valid", {{"n_tokens", valid_tokens.size()}, {"n_docs", n_valid_docs}}}};
  write_file_atomic(manifest_path, manifest.dump(2) + "\n");
  log_info(str_cat("[data] train: ", n_train_docs, " documents, ", train_tokens.size(), " tokens; valid: ",
                   n_valid_docs, " documents, ", valid_tokens.size(), " tokens"));
  return paths;
}

// --- Window readers -----------------------------------------------------------------------------

WindowSampler::WindowSampler(const TokenShard& shard, int64_t seq_len, uint64_t seed)
    : shard_(&shard), seq_len_(seq_len), rng_(seed) {
  if (seq_len < 1) fail("WindowSampler", "seq_len ", seq_len, " must be at least 1");
  if (shard.n_tokens() < seq_len + 1) {
    fail(shard.path(), "shard has ", shard.n_tokens(), " tokens, fewer than one window of seq_len + 1 = ",
         seq_len + 1);
  }
}

void WindowSampler::next(int64_t batch, std::vector<int64_t>* out, std::vector<int64_t>* offsets) {
  if (batch < 0) fail("WindowSampler::next", "batch ", batch, " is negative");
  const int64_t width = seq_len_ + 1;
  // Uniform in [0, range) by rejection: the engine's raw output is specified by the standard,
  // std::uniform_int_distribution is not, so this keeps the stream identical across libraries.
  const uint64_t range = uint64_t(shard_->n_tokens() - width) + 1;
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  out->resize(size_t(batch * width));
  if (offsets) offsets->resize(size_t(batch));
  for (int64_t b = 0; b < batch; ++b) {
    uint64_t r;
    do {
      r = rng_();
    } while (r >= limit);
    const int64_t start = int64_t(r % range);
    shard_->copy(start, width, out->data() + b * width);
    if (offsets) (*offsets)[size_t(b)] = start;
  }
  n_windows_drawn_ += batch;
}

std::string WindowSampler::state() const {
  std::ostringstream s;
  s << "sculpt-window-sampler-v1 " << seq_len_ << " " << shard_->n_tokens() << " " << n_windows_drawn_ << " " << rng_;
  return s.str();
}

void WindowSampler::restore(const std::string& state) {
  std::istringstream s(state);
  std::string tag;
  int64_t seq_len = 0, n_tokens = 0, n_drawn = 0;
  std::mt19937_64 rng;
  s >> tag >> seq_len >> n_tokens >> n_drawn >> rng;
  if (!s || tag != "sculpt-window-sampler-v1") fail("WindowSampler::restore", "malformed sampler state");
  if (seq_len != seq_len_ || n_tokens != shard_->n_tokens()) {
    fail("WindowSampler::restore", "state was taken with seq_len ", seq_len, " on a shard of ", n_tokens,
         " tokens, not seq_len ", seq_len_, " on ", shard_->n_tokens(), " tokens (", shard_->path(), ")");
  }
  rng_ = rng;
  n_windows_drawn_ = n_drawn;
}

SequentialWindows::SequentialWindows(const TokenShard& shard, int64_t seq_len)
    : shard_(&shard), seq_len_(seq_len), n_windows_(0) {
  if (seq_len < 1) fail("SequentialWindows", "seq_len ", seq_len, " must be at least 1");
  n_windows_ = shard.n_tokens() > 0 ? (shard.n_tokens() - 1) / seq_len : 0;
}

int64_t SequentialWindows::next(int64_t max_batch, std::vector<int64_t>* out) {
  const int64_t n = std::max<int64_t>(0, std::min(max_batch, n_windows_ - next_window_));
  const int64_t width = seq_len_ + 1;
  out->resize(size_t(n * width));
  for (int64_t b = 0; b < n; ++b) shard_->copy((next_window_ + b) * seq_len_, width, out->data() + b * width);
  next_window_ += n;
  return n;
}

}  // namespace sculpt
