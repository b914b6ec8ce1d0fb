// Training data shared by the drafter and the refiner: a text corpus tokenized once into two
// memory-mapped token shards (train/valid, split per document by a hash of its id), then read
// as seeded random windows for training and as sequential windows for evaluation.
//
//   sculpt::ShardPaths paths = sculpt::build_shards(params, tok, "tok.model");  // reused if fresh
//   sculpt::TokenShard train = sculpt::TokenShard::open(paths.train);
//   sculpt::WindowSampler sampler(train, params.seq_len, /*seed=*/1234);
//   std::vector<int64_t> batch;  sampler.next(/*batch=*/8, &batch);     // [8, seq_len + 1]
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/corpus.h"
#include "core/tokenizer.h"
#include "train/data_params.h"

namespace sculpt {

// On-disk shard layout (little-endian), version kShardVersion:
//   bytes  0..7   magic "SCULPTTK"
//          8..11  version      u32
//         12..15  dtype        u32  (TokenDtype)
//         16..23  n_tokens     u64
//         24..31  n_docs       u64
//         32..39  checksum     u64  FNV-1a 64 of bytes 0..31
//         40..    tokens       n_tokens x (u16 | u32); each document is BOS tokens... EOS
enum class TokenDtype : uint32_t { kUint16 = 1, kUint32 = 2 };
inline constexpr uint32_t kShardVersion = 1;
inline constexpr int64_t kShardHeaderBytes = 40;

// A read-only, memory-mapped token shard. Move-only; the mapping lives as long as the object.
class TokenShard {
 public:
  // Maps path and checks magic, version, dtype, checksum and that the file size matches
  // n_tokens exactly. Throws Error naming the file otherwise.
  static TokenShard open(const std::string& path);

  TokenShard(TokenShard&& other) noexcept;
  TokenShard& operator=(TokenShard&& other) noexcept;
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;
  ~TokenShard();

  int64_t n_tokens() const { return n_tokens_; }
  int64_t n_docs() const { return n_docs_; }
  TokenDtype dtype() const { return dtype_; }
  const std::string& path() const { return path_; }

  // Token i; throws Error if i is outside [0, n_tokens()).
  int64_t token(int64_t i) const;
  // Copies tokens [begin, begin + n) to out; throws Error if the range is outside the shard.
  void copy(int64_t begin, int64_t n, int64_t* out) const;

 private:
  TokenShard() = default;
  void release();

  std::string path_;
  void* map_ = nullptr;     // the whole file
  size_t map_bytes_ = 0;
  const void* tokens_ = nullptr;  // map_ + kShardHeaderBytes
  TokenDtype dtype_ = TokenDtype::kUint16;
  int64_t n_tokens_ = 0;
  int64_t n_docs_ = 0;
};

// Writes a shard atomically (temp file + rename). Ids must fit dtype. Used by build_shards;
// public so tests and tools can make shards directly.
void write_token_shard(const std::string& path, const std::vector<uint32_t>& tokens, int64_t n_docs,
                       TokenDtype dtype);

struct ShardPaths {
  std::string train;      // <cache_dir>/train.tokens
  std::string valid;      // <cache_dir>/valid.tokens (may hold no tokens for tiny corpora)
  bool reused = false;    // true when up-to-date shards were found and nothing was rebuilt
  int64_t n_skipped = 0;  // documents skipped as binary (not UTF-8 text) or empty
};

// Called after each document is tokenized.
using ProgressFn = std::function<void(int64_t n_done, int64_t n_total)>;

// Builds train.tokens and valid.tokens under params.resolved_cache_dir(), or reuses them when
// manifest.json says they were built by this format version from the same tokenizer file
// (content hash), the same split (fraction or validation corpus) and the same corpus files
// (paths, sizes, mtimes).
// Each document becomes BOS + encode(text) + EOS; documents are concatenated in corpus order.
// Logs progress (documents done / total) and skipped files on stderr. Throws Error for a
// missing or empty corpus, a malformed JSONL line (file:line), or a training shard shorter
// than one window (seq_len + 1 tokens). The tokens are held in memory while a shard is built.
ShardPaths build_shards(const DataParams& params, const Tokenizer& tokenizer,
                        const std::string& tokenizer_path, ProgressFn progress = {});

// The documents build_shards puts on one side of the split (same ids, same skipping of binary
// and blank documents), in corpus order: evaluation sets held out from exactly what a model
// trained on `params` never saw. Throws Error as build_shards does for a missing corpus.
std::vector<Document> read_split(const DataParams& params, CorpusSplit split);

// Seeded random training windows: each window is seq_len + 1 consecutive tokens starting at a
// uniform random offset in [0, n_tokens - seq_len - 1]; inputs are window[0, seq_len) and
// next-token targets window[1, seq_len]. The stream depends only on the seed (std::mt19937_64,
// offsets drawn by rejection so no library distribution is involved), and state()/restore()
// let a resumed run continue it exactly. The shard must outlive the sampler.
class WindowSampler {
 public:
  // Throws Error if the shard holds fewer than seq_len + 1 tokens.
  WindowSampler(const TokenShard& shard, int64_t seq_len, uint64_t seed);

  // Fills *out with batch windows, row-major [batch, seq_len + 1]; *offsets (optional) gets
  // each window's start in the shard.
  void next(int64_t batch, std::vector<int64_t>* out, std::vector<int64_t>* offsets = nullptr);

  int64_t n_windows_drawn() const { return n_windows_drawn_; }
  int64_t seq_len() const { return seq_len_; }

  // The whole sampler state as one line of text (seq_len, shard size, windows drawn, RNG).
  std::string state() const;
  // Continues from a state() string. Throws Error if it is malformed or was taken with another
  // seq_len or shard size (the stream would not be the same one).
  void restore(const std::string& state);

 private:
  const TokenShard* shard_;
  int64_t seq_len_;
  int64_t n_windows_drawn_ = 0;
  std::mt19937_64 rng_;
};

// Sequential evaluation windows: window k starts at k * seq_len and holds seq_len + 1 tokens,
// so the targets of successive windows tile the shard once (tokens 1 .. n_windows * seq_len);
// a tail shorter than seq_len tokens is not covered. The shard must outlive the iterator.
class SequentialWindows {
 public:
  SequentialWindows(const TokenShard& shard, int64_t seq_len);

  int64_t n_windows() const { return n_windows_; }
  // Fills *out with up to max_batch next windows, [n, seq_len + 1]; returns n (0 at the end).
  int64_t next(int64_t max_batch, std::vector<int64_t>* out);
  void reset() { next_window_ = 0; }

 private:
  const TokenShard* shard_;
  int64_t seq_len_;
  int64_t n_windows_;
  int64_t next_window_ = 0;
};

}  // namespace sculpt
