// Dense retrieval: cosine top-k against brute force, persistence, and the transformer embedder
// against the mean of hidden states computed directly.
#include "retrieval/dense_index.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/error.h"
#include "core/transformer.h"
#include "train/tokenizer_training.h"
#include "core/tokenizer.h"
#include "retrieval/text_analyzer.h"
#include "retrieval/fake_embedder.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

using ::testing::HasSubstr;
using sculpt::testing::TempDir;

// Pseudo-random vectors, reproducible from the text (so queries are embedded like passages).
class RandomEmbedder : public Embedder {
 public:
  int dim() const override { return 8; }
  std::string model_id() const override { return "random-8"; }
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) const override {
    std::vector<std::vector<float>> out;
    for (const std::string& t : texts) {
      std::seed_seq seq(t.begin(), t.end());
      std::mt19937 rng(seq);
      std::normal_distribution<float> normal;
      std::vector<float> v(8);
      for (float& x : v) x = normal(rng);
      out.push_back(v);
    }
    return out;
  }
};

std::vector<Document> corpus(int n) {
  std::vector<Document> docs;
  for (int i = 0; i < n; ++i) docs.push_back({"doc" + std::to_string(i), sculpt::testing::make_document(uint32_t(i), 6)});
  return docs;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

TEST(DenseIndexTest, TopKIsTheBruteForceCosineRanking) {
  auto embedder = std::make_shared<RandomEmbedder>();
  ChunkParams chunk;
  chunk.max_tokens = 9;
  chunk.overlap = 2;
  DenseRetriever index(embedder, chunk);
  const std::vector<Document> docs = corpus(25);
  index.add(docs);
  ASSERT_GT(index.n_passages(), 50u);
  for (const char* q : {"harbour", "a student repairs the museum", "x y z"}) {
    const std::vector<float> qv = embedder->embed({q})[0];
    std::vector<std::pair<double, size_t>> brute;
    for (size_t i = 0; i < index.n_passages(); ++i)
      brute.emplace_back(cosine(embedder->embed({index.passages()[i].text})[0], qv), i);
    std::sort(brute.begin(), brute.end(), [](auto& a, auto& b) { return a.first > b.first; });
    const std::vector<Hit> hits = index.search(q, 10);
    ASSERT_EQ(hits.size(), 10u);
    for (size_t r = 0; r < hits.size(); ++r) {
      EXPECT_EQ(hits[r].passage_id, brute[r].second) << q << " rank " << r;
      EXPECT_NEAR(hits[r].score, brute[r].first, 1e-5);
    }
  }
}

TEST(DenseIndexTest, SaveLoadKeepsVectorsAndRefusesAnotherDimension) {
  TempDir dir;
  auto embedder = std::make_shared<sculpt::testing::HashingEmbedder>(64);
  DenseRetriever index(embedder, ChunkParams{});
  index.add(corpus(10));
  index.save(dir.file("d.idx"));
  EXPECT_EQ(DenseRetriever::saved_model(dir.file("d.idx")), "hashing-64");
  auto loaded = DenseRetriever::load(dir.file("d.idx"), embedder);
  const auto a = index.search("sailor harbour", 5), b = loaded->search("sailor harbour", 5);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].passage_id, b[i].passage_id);
    EXPECT_EQ(a[i].score, b[i].score);
  }
  try {
    DenseRetriever::load(dir.file("d.idx"), std::make_shared<sculpt::testing::HashingEmbedder>(32));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("64 dimensions but the embedding model gives 32"));
  }
  const std::string bytes = read_file(dir.file("d.idx"));
  for (size_t n = 0; n < bytes.size(); n += 97) {
    sculpt::testing::write_file(dir.file("cut.idx"), bytes.substr(0, n));
    EXPECT_THROW(DenseRetriever::load(dir.file("cut.idx"), embedder), Error) << n;
  }
}

TEST(DenseIndexTest, IncrementalAddEqualsBuildingAtOnce) {
  auto embedder = std::make_shared<sculpt::testing::HashingEmbedder>(64);
  const std::vector<Document> docs = corpus(12);
  DenseRetriever once(embedder, ChunkParams{}), steps(embedder, ChunkParams{});
  once.add(docs);
  steps.add({docs.begin(), docs.begin() + 5});
  steps.add({docs.begin() + 5, docs.end()});
  const auto a = once.search("the committee sells olive oil", 8), b = steps.search("the committee sells olive oil", 8);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].passage_id, b[i].passage_id);
    EXPECT_EQ(a[i].score, b[i].score);
  }
}

// The transformer embedder is the mean of the final hidden states over the passage's tokens.
TEST(DenseIndexTest, TransformerEmbeddingIsTheMeanOfFinalHiddenStates) {
  TempDir dir("sculpt_embed");
  {
    std::ofstream text(dir.file("corpus.txt"));
    for (int i = 0; i < 40; ++i) text << sculpt::testing::make_document(uint32_t(i), 6) << "\n";
  }
  TokenizerTrainParams tp;
  tp.input_files = {dir.file("corpus.txt")};
  tp.model_prefix = dir.file("model/tokenizer");
  tp.vocab_size = 300;
  make_directories(dir.file("model"));
  train_tokenizer(tp);
  Tokenizer tok = Tokenizer::load(dir.file("model/tokenizer.model"));
  ModelConfig c;
  c.vocab_size = tok.n_vocab();
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 128;
  Transformer model(c);
  save_transformer(*model, dir.file("model"));

  std::unique_ptr<Embedder> e = load_transformer_embedder(dir.file("model"), 0);
  ASSERT_EQ(e->dim(), 32);
  // Different lengths share a padded batch; each must equal its own unpadded computation.
  const std::vector<std::string> texts = {"The sailor reads the harbour.", "A robot", "Every engineer paints a recipe slowly."};
  const auto got = e->embed(texts);
  at::NoGradGuard no_grad;
  model->eval();
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int64_t> ids = {tok.bos_id()};
    for (int32_t p : tok.encode(texts[i])) ids.push_back(p);
    at::Tensor tokens = at::tensor(ids, at::kLong).unsqueeze(0);
    at::Tensor want = model->hidden_states(tokens).mean(1)[0];  // [hidden]
    double max_diff = 0;
    for (int j = 0; j < 32; ++j) max_diff = std::max(max_diff, std::abs(double(want[j].item<float>()) - got[i][size_t(j)]));
    EXPECT_LT(max_diff, 1e-5) << "text " << i;
  }
  EXPECT_THROW(load_transformer_embedder(dir.file("nope"), 0), Error);
}

}  // namespace
}  // namespace sculpt
