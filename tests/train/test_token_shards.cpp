// Tests of the training-data pipeline (train/token_shards.h): building and reusing shards from
// folder and JSONL corpora, the document-level split, the shard reader's checks and the window
// readers. One small sentencepiece model (vocab 300) is trained for the whole suite.
#include "train/token_shards.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/tokenizer_training.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using sculpt::testing::TempDir;

using sculpt::testing::write_file;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

using sculpt::testing::make_document;

// Splits a shard into documents at the BOS/EOS framing and decodes each one.
std::vector<std::string> decode_documents(const TokenShard& shard, const Tokenizer& tok) {
  std::vector<int64_t> all(size_t(shard.n_tokens()));
  shard.copy(0, shard.n_tokens(), all.data());
  std::vector<std::string> docs;
  std::vector<TokenId> ids;
  bool inside = false;
  for (const int64_t t : all) {
    if (t == tok.bos_id()) {
      EXPECT_FALSE(inside) << "BOS inside a document";
      inside = true;
      ids.clear();
    } else if (t == tok.eos_id()) {
      EXPECT_TRUE(inside) << "EOS outside a document";
      inside = false;
      docs.push_back(tok.decode(ids));
    } else {
      EXPECT_TRUE(inside) << "token outside BOS/EOS framing";
      ids.push_back(TokenId(t));
    }
  }
  EXPECT_FALSE(inside) << "shard ends inside a document";
  return docs;
}

class TokenShardsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tok_dir_ = new TempDir("sculpt_shards_tok");
    std::string text;
    for (uint32_t i = 0; i < 60; ++i) text += make_document(1000 + i) + "\n";
    write_file(tok_dir_->file("train.txt"), text);
    TokenizerTrainParams params;
    params.input_files = {tok_dir_->file("train.txt")};
    params.model_prefix = tok_dir_->file("tok");
    params.vocab_size = 300;
    params.n_threads = 2;
    train_tokenizer(params);
    tok_ = new Tokenizer(Tokenizer::load(tok_path()));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete tok_dir_;
  }
  static std::string tok_path() { return tok_dir_->file("tok.model"); }
  static const Tokenizer& tok() { return *tok_; }

  // Writes n documents doc_<i>.txt under <dir>/corpus and returns their texts by relative path.
  std::map<std::string, std::string> write_corpus(int n, uint32_t seed = 0) {
    std::map<std::string, std::string> docs;
    for (int i = 0; i < n; ++i) {
      const std::string rel = (i % 3 == 2 ? "sub/doc_" : "doc_") + std::to_string(100 + i) + ".txt";
      docs[rel] = make_document(seed + uint32_t(i));
      write_file(corpus() + "/" + rel, docs[rel]);
    }
    return docs;
  }
  std::string corpus() const { return dir_.file("corpus"); }
  DataParams params(double fraction = 0.0, int64_t seq_len = 8) const {
    DataParams p;
    p.corpus = corpus();
    p.validation_fraction = fraction;
    p.seq_len = seq_len;
    return p;
  }

  TempDir dir_{"sculpt_shards"};
  static TempDir* tok_dir_;
  static Tokenizer* tok_;
};
TempDir* TokenShardsTest::tok_dir_ = nullptr;
Tokenizer* TokenShardsTest::tok_ = nullptr;

// Expects build_shards to throw an Error whose message contains `part`.
void expect_build_error(const DataParams& p, const Tokenizer& tok, const std::string& tok_path,
                        const std::string& part) {
  try {
    build_shards(p, tok, tok_path);
    ADD_FAILURE() << "expected an Error containing: " << part;
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(part));
  }
}

// --- Building -------------------------------------------------------------------------------------

TEST_F(TokenShardsTest, ShardDecodesBackToDocumentsInPathOrder) {
  const auto docs = write_corpus(5);
  const ShardPaths paths = build_shards(params(), tok(), tok_path());
  EXPECT_EQ(paths.train, corpus() + ".shards/train.tokens");  // the default cache_dir
  EXPECT_FALSE(paths.reused);
  const TokenShard train = TokenShard::open(paths.train);
  EXPECT_EQ(train.n_docs(), 5);
  EXPECT_EQ(train.dtype(), TokenDtype::kUint16);
  std::vector<std::string> expected;
  for (const auto& [rel, text] : docs) expected.push_back(text);  // std::map: sorted by path
  EXPECT_EQ(decode_documents(train, tok()), expected);
  EXPECT_EQ(TokenShard::open(paths.valid).n_tokens(), 0);
}

TEST_F(TokenShardsTest, SplitIsDocumentLevelDeterministicAndStable) {
  auto docs = write_corpus(40);
  DataParams p = params(0.3);
  p.cache_dir = dir_.file("cache_a");
  const ShardPaths a = build_shards(p, tok(), tok_path());
  std::multiset<std::string> seen;
  std::set<std::string> expected_valid;
  for (const auto& [rel, text] : docs) {
    if (in_validation_split(rel, 0.3)) expected_valid.insert(text);
  }
  const auto train_docs = decode_documents(TokenShard::open(a.train), tok());
  const auto valid_docs = decode_documents(TokenShard::open(a.valid), tok());
  ASSERT_GT(valid_docs.size(), 0u);
  ASSERT_GT(train_docs.size(), 0u);
  EXPECT_EQ(std::set<std::string>(valid_docs.begin(), valid_docs.end()), expected_valid);
  seen.insert(train_docs.begin(), train_docs.end());
  seen.insert(valid_docs.begin(), valid_docs.end());
  std::multiset<std::string> all;
  for (const auto& [rel, text] : docs) all.insert(text);
  EXPECT_EQ(seen, all);  // every document exactly once, in one split only

  // Another build of the same corpus is byte-identical.
  p.cache_dir = dir_.file("cache_b");
  const ShardPaths b = build_shards(p, tok(), tok_path());
  EXPECT_EQ(slurp(a.train), slurp(b.train));
  EXPECT_EQ(slurp(a.valid), slurp(b.valid));

  // Adding documents does not move old ones across the split.
  for (int i = 0; i < 10; ++i) write_file(corpus() + "/new_" + std::to_string(i) + ".txt", make_document(500 + i));
  const ShardPaths c = build_shards(p, tok(), tok_path());
  EXPECT_FALSE(c.reused);
  const auto valid_after = decode_documents(TokenShard::open(c.valid), tok());
  const std::set<std::string> valid_after_set(valid_after.begin(), valid_after.end());
  for (const std::string& text : expected_valid) EXPECT_EQ(valid_after_set.count(text), 1u) << text;
}

TEST_F(TokenShardsTest, AValidationCorpusIsTheValidationSplit) {
  const auto train = write_corpus(6);
  const std::string a = make_document(900), b = make_document(901);
  const std::string valid_jsonl = dir_.file("valid.jsonl");  // a folder and a .jsonl mix
  write_file(valid_jsonl, nlohmann::json({{"text", a}, {"id", "va"}}).dump() + "\n" +
                              nlohmann::json({{"text", b}}).dump() + "\n");
  DataParams p = params(0.5);  // the fraction is not used when a validation corpus is given
  p.validation_corpus = valid_jsonl;
  p.cache_dir = dir_.file("cache");
  const ShardPaths paths = build_shards(p, tok(), tok_path());
  std::vector<std::string> expected_train;
  for (const auto& [rel, text] : train) expected_train.push_back(text);  // all of them, path order
  EXPECT_EQ(decode_documents(TokenShard::open(paths.train), tok()), expected_train);
  EXPECT_EQ(decode_documents(TokenShard::open(paths.valid), tok()), (std::vector<std::string>{a, b}));

  // read_split sees the same sides, ids as each corpus names them.
  const auto held_out = read_split(p, CorpusSplit::kValidation);
  ASSERT_EQ(held_out.size(), 2u);
  EXPECT_EQ(held_out[0].id, "va");
  EXPECT_EQ(held_out[1].text, b);
  EXPECT_EQ(read_split(p, CorpusSplit::kTrain).size(), train.size());
  EXPECT_EQ(read_split(p, CorpusSplit::kAll).size(), train.size() + 2);

  // Reused while nothing changes; a changed validation document rebuilds.
  EXPECT_TRUE(build_shards(p, tok(), tok_path()).reused);
  write_file(valid_jsonl, nlohmann::json({{"text", a}}).dump() + "\n");
  const ShardPaths changed = build_shards(p, tok(), tok_path());
  EXPECT_FALSE(changed.reused);
  EXPECT_EQ(decode_documents(TokenShard::open(changed.valid), tok()), (std::vector<std::string>{a}));

  p.validation_corpus = dir_.file("missing");
  expect_build_error(p, tok(), tok_path(), "corpus not found");
}

TEST_F(TokenShardsTest, SecondBuildReusesShardsAndAChangedDocumentRebuilds) {
  write_corpus(6);
  const ShardPaths first = build_shards(params(), tok(), tok_path());
  const auto mtime = fs::last_write_time(first.train);
  const ShardPaths second = build_shards(params(), tok(), tok_path());
  EXPECT_TRUE(second.reused);
  EXPECT_EQ(fs::last_write_time(second.train), mtime);

  write_file(corpus() + "/doc_100.txt", "A completely different document about the harbour.");
  const ShardPaths third = build_shards(params(), tok(), tok_path());
  EXPECT_FALSE(third.reused);
  EXPECT_EQ(decode_documents(TokenShard::open(third.train), tok()).front(),
            "A completely different document about the harbour.");

  // A changed split fraction is a different build too.
  EXPECT_FALSE(build_shards(params(0.5), tok(), tok_path()).reused);
  EXPECT_TRUE(build_shards(params(0.5), tok(), tok_path()).reused);
}

TEST_F(TokenShardsTest, ReadsJsonlWithAndWithoutIds) {
  const std::string path = dir_.file("docs.jsonl");
  const std::string a = make_document(1), b = make_document(2), c = make_document(3);
  write_file(path, nlohmann::json({{"text", a}, {"id", "alpha"}}).dump() + "\n\n" +
                       nlohmann::json({{"text", b}}).dump() + "\n" +
                       nlohmann::json({{"text", c}, {"id", 7}}).dump() + "\n");
  DataParams p = params();
  p.corpus = path;
  int64_t last_done = 0, last_total = 0;
  const ShardPaths paths = build_shards(p, tok(), tok_path(), [&](int64_t done, int64_t total) {
    last_done = done;
    last_total = total;
  });
  EXPECT_EQ(paths.train, path + ".shards/train.tokens");
  EXPECT_EQ(last_done, 3);
  EXPECT_EQ(last_total, 3);
  EXPECT_EQ(decode_documents(TokenShard::open(paths.train), tok()), (std::vector<std::string>{a, b, c}));
  EXPECT_TRUE(build_shards(p, tok(), tok_path()).reused);
}

// --- Bad input ------------------------------------------------------------------------------------

TEST_F(TokenShardsTest, RefusesMissingAndEmptyCorpora) {
  expect_build_error(params(), tok(), tok_path(), "corpus not found");
  fs::create_directories(corpus());
  expect_build_error(params(), tok(), tok_path(), corpus() + ": corpus has no documents");
  write_file(corpus() + "/empty.txt", "");
  write_file(corpus() + "/blank.txt", " \n\n");
  expect_build_error(params(), tok(), tok_path(), corpus() + ": corpus has no text documents");
}

TEST_F(TokenShardsTest, SkipsBinaryFilesWithAWarning) {
  const auto docs = write_corpus(3);
  write_file(corpus() + "/image.bin", std::string("\x89PNG\0\0\x01", 7));
  write_file(corpus() + "/latin1.txt", "caf\xe9 au lait");
  ::testing::internal::CaptureStderr();
  const ShardPaths paths = build_shards(params(), tok(), tok_path());
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("skipping " + corpus() + "/image.bin: not UTF-8 text (NUL byte"));
  EXPECT_THAT(log, HasSubstr("skipping " + corpus() + "/latin1.txt: not UTF-8 text (invalid UTF-8 at offset 3)"));
  EXPECT_EQ(paths.n_skipped, 2);
  EXPECT_EQ(TokenShard::open(paths.train).n_docs(), 3);
}

TEST_F(TokenShardsTest, MalformedJsonlLineNamesFileAndLine) {
  const std::string path = dir_.file("bad.jsonl");
  write_file(path, "{\"text\": \"fine\"}\n{\"text\": \"oops\"\n");
  DataParams p = params();
  p.corpus = path;
  expect_build_error(p, tok(), tok_path(), path + ":2: malformed JSON");
  write_file(path, "{\"text\": \"fine\"}\n[1, 2]\n");
  expect_build_error(p, tok(), tok_path(), path + ":2: expected an object");
  write_file(path, "{\"body\": \"no text\"}\n");
  expect_build_error(p, tok(), tok_path(), path + ":1: missing string field \"text\"");
}

TEST_F(TokenShardsTest, RefusesACorpusShorterThanOneWindow) {
  write_file(corpus() + "/tiny.txt", "The sailor reads.");
  expect_build_error(params(0.0, 4096), tok(), tok_path(), "corpus too short");
}

TEST_F(TokenShardsTest, RefusesTruncatedAndForeignShards) {
  const std::string path = dir_.file("x.tokens");
  write_token_shard(path, {1, 5, 6, 2}, 1, TokenDtype::kUint16);
  EXPECT_EQ(TokenShard::open(path).n_tokens(), 4);
  std::string bytes = slurp(path);

  write_file(path, bytes.substr(0, bytes.size() - 1));
  try {
    TokenShard::open(path);
    ADD_FAILURE() << "truncated shard accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path + ": token shard size mismatch"));
  }
  write_file(path, bytes.substr(0, 10));
  EXPECT_THROW(TokenShard::open(path), Error);

  std::string foreign = bytes;
  foreign[0] = 'X';
  write_file(path, foreign);
  try {
    TokenShard::open(path);
    ADD_FAILURE() << "bad magic accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path + ": not a token shard (bad magic"));
  }

  std::string future = bytes;
  future[8] = 9;  // version 9
  write_file(path, future);
  try {
    TokenShard::open(path);
    ADD_FAILURE() << "unknown version accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("format version 9"));
  }

  std::string lying = bytes;
  lying[16] = 3;  // n_tokens edited without fixing the checksum
  write_file(path, lying);
  EXPECT_THROW(TokenShard::open(path), Error);
}

TEST_F(TokenShardsTest, ShardReaderIsMoveOnlyAndBoundsChecked) {
  const std::string path = dir_.file("x.tokens");
  write_token_shard(path, {1, 70000, 2}, 1, TokenDtype::kUint32);
  TokenShard a = TokenShard::open(path);
  TokenShard b = std::move(a);
  EXPECT_EQ(b.token(1), 70000);
  EXPECT_THROW(b.token(3), Error);
  int64_t out[3];
  EXPECT_THROW(b.copy(2, 2, out), Error);
  EXPECT_THROW(write_token_shard(path, {70000}, 1, TokenDtype::kUint16), Error);
}

// --- Windows --------------------------------------------------------------------------------------

class WindowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<uint32_t> tokens(1000);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = uint32_t((i * 7919) % 1000);
    write_token_shard(dir_.file("w.tokens"), tokens, 1, TokenDtype::kUint16);
    shard_ = std::make_unique<TokenShard>(TokenShard::open(dir_.file("w.tokens")));
  }
  TempDir dir_{"sculpt_windows"};
  std::unique_ptr<TokenShard> shard_;
};

TEST_F(WindowsTest, SameSeedSameWindowsAndOtherSeedOthers) {
  WindowSampler a(*shard_, 16, 42), b(*shard_, 16, 42), c(*shard_, 16, 43);
  std::vector<int64_t> wa, wb, wc;
  a.next(4, &wa);
  b.next(4, &wb);
  c.next(4, &wc);
  EXPECT_EQ(wa.size(), 4u * 17);
  EXPECT_EQ(wa, wb);
  EXPECT_NE(wa, wc);
}

TEST_F(WindowsTest, WindowsAreContiguousSlicesSoTargetsAreInputsShiftedByOne) {
  WindowSampler sampler(*shard_, 16, 7);
  std::vector<int64_t> windows, offsets;
  for (int step = 0; step < 50; ++step) {
    sampler.next(3, &windows, &offsets);
    for (int b = 0; b < 3; ++b) {
      ASSERT_GE(offsets[b], 0);
      ASSERT_LE(offsets[b], shard_->n_tokens() - 17);
      for (int t = 0; t < 17; ++t) {
        // input t is shard[offset + t]; target t (= window[t + 1]) is shard[offset + t + 1].
        ASSERT_EQ(windows[size_t(b * 17 + t)], shard_->token(offsets[b] + t));
      }
    }
  }
  EXPECT_EQ(sampler.n_windows_drawn(), 150);
}

TEST_F(WindowsTest, ResumeFromSavedStateContinuesTheSameStream) {
  WindowSampler original(*shard_, 16, 99);
  std::vector<int64_t> w;
  original.next(5, &w);
  const std::string saved = original.state();
  std::vector<int64_t> expected1, expected2;
  original.next(5, &expected1);
  original.next(2, &expected2);

  WindowSampler resumed(*shard_, 16, /*seed=*/0);
  resumed.restore(saved);
  EXPECT_EQ(resumed.n_windows_drawn(), 5);
  std::vector<int64_t> got1, got2;
  resumed.next(5, &got1);
  resumed.next(2, &got2);
  EXPECT_EQ(got1, expected1);
  EXPECT_EQ(got2, expected2);

  WindowSampler other_len(*shard_, 8, 0);
  EXPECT_THROW(other_len.restore(saved), Error);
  EXPECT_THROW(resumed.restore("garbage"), Error);
}

TEST_F(WindowsTest, SamplerRefusesAShardShorterThanOneWindow) {
  EXPECT_THROW(WindowSampler(*shard_, 1000, 1), Error);
  EXPECT_NO_THROW(WindowSampler(*shard_, 999, 1));
}

TEST_F(WindowsTest, SequentialWindowsTileTheShardOnce) {
  SequentialWindows windows(*shard_, 64);
  EXPECT_EQ(windows.n_windows(), (1000 - 1) / 64);
  std::vector<int64_t> batch;
  int64_t next_target = 1, total = 0;
  while (const int64_t n = windows.next(4, &batch)) {
    ASSERT_EQ(batch.size(), size_t(n * 65));
    for (int64_t b = 0; b < n; ++b) {
      EXPECT_EQ(batch[size_t(b * 65)], shard_->token(next_target - 1));  // first input
      for (int64_t t = 1; t <= 64; ++t) EXPECT_EQ(batch[size_t(b * 65 + t)], shard_->token(next_target++));
    }
    total += n;
  }
  EXPECT_EQ(total, windows.n_windows());
  EXPECT_GT(next_target, 1000 - 64);  // the uncovered tail is shorter than one window
  windows.reset();
  EXPECT_EQ(windows.next(100, &batch), windows.n_windows());
}

// --- Params ---------------------------------------------------------------------------------------

struct FieldNames {
  std::vector<std::string> names;
  template <class T, class... Rest>
  void field(const char* name, T&, const char*, Rest&&...) {
    names.push_back(name);
  }
};

TEST(DataParamsTest, DeclaresItsYamlFieldsAndValidates) {
  DataParams p;
  FieldNames names;
  p.visit(names);
  EXPECT_EQ(names.names, (std::vector<std::string>{"corpus", "cache_dir", "validation_fraction", "validation_corpus", "seq_len"}));
  EXPECT_THROW(p.validate_complete(), Error);  // no corpus
  p.corpus = "data/wiki/";
  EXPECT_NO_THROW(p.validate_complete());
  EXPECT_EQ(p.resolved_cache_dir(), "data/wiki.shards");
  p.validation_fraction = 1.0;
  EXPECT_THROW(p.validate_complete(), Error);
  p.validation_fraction = 0.1;
  p.seq_len = 0;
  EXPECT_THROW(p.validate_complete(), Error);
}

}  // namespace
}  // namespace sculpt
