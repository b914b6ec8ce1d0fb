// Tests of Tokenizer and TokenizerTrainParams: every test trains or loads a real sentencepiece
// model (a few hundred pieces trained on a generated corpus, well under a second).
#include "core/tokenizer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "train/tokenizer_training.h"
#include "support/test_util.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;

using sculpt::testing::TempDir;

using sculpt::testing::write_file;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ~20 KB of varied English with some accented words, no CJK or emoji (those must fall back to
// bytes). mt19937's raw output is the same everywhere, so the corpus is too.
std::string make_corpus() {
  const std::vector<std::string> subjects = {
      "The old sailor", "A curious student", "My neighbour", "The committee", "Every engineer",
      "Our café owner", "The naïve tourist", "A chef from Zürich", "The jalapeño farmer",
      "Her résumé",     "The city council",  "A small robot",     "The librarian"};
  const std::vector<std::string> verbs = {
      "reads",   "writes about", "forgets",  "remembers", "discovers", "explains",
      "repairs", "photographs",  "measures", "describes", "sells",     "paints"};
  const std::vector<std::string> objects = {
      "the history of the harbour",  "a strange mathematical puzzle",
      "the façade of the museum",    "twelve bottles of olive oil",
      "the weather in São Paulo",    "an Ångström-scale measurement",
      "the rules of the game",       "a crème brûlée recipe",
      "the train schedule for 2024", "three hundred and one pages",
      "the noisy coöperative",       "a piñata shaped like a star"};
  const std::vector<std::string> endings = {
      ".", " before breakfast.", " every Thursday.", ", as usual.", " without asking anyone!",
      " in 1987.", "; nobody knows why.", " with great care.", "?", " at 6:45 in the morning."};
  std::mt19937 rng(1234);
  auto pick = [&rng](const std::vector<std::string>& words) {
    return words[rng() % words.size()];
  };
  std::string corpus;
  for (int line = 0; line < 300; ++line) {
    const int n_sentences = 1 + static_cast<int>(rng() % 3);
    for (int s = 0; s < n_sentences; ++s) {
      corpus += (s > 0 ? " " : "") + pick(subjects) + " " + pick(verbs) + " " + pick(objects) +
                pick(endings);
    }
    corpus += "\n";
  }
  return corpus;
}

bool is_byte_piece(const std::string& piece) {
  return piece.size() == 6 && piece.rfind("<0x", 0) == 0 && piece.back() == '>';
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a shell command, returning its stdout and exit status.
std::pair<std::string, int> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) fail(command, "popen: ", errno_text(errno));
  std::string output;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = ::pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// The number of distinct times a library is mapped into this process (one per namespace).
int count_mappings(const std::string& library_name) {
  std::ifstream maps("/proc/self/maps");
  int count = 0;
  for (std::string line; std::getline(maps, line);) {
    std::istringstream fields(line);
    std::string range, perms, offset, device, inode, path;
    fields >> range >> perms >> offset >> device >> inode >> path;
    if (offset == "00000000" && fs::path(path).filename().string().rfind(library_name, 0) == 0) {
      ++count;
    }
  }
  return count;
}

const std::vector<std::string>& sample_texts() {
  static const std::vector<std::string> texts = {
      "The quick brown fox jumps over the lazy dog. 12345 + 678 = 13023!",
      "café naïve Zürich",
      "日本語のテキスト",
      "🙂🚀",
      "  leading, double  spaces\nnew line\n\n\ttab and trailing  ",
      "[MASK] is just text here",
      "",
  };
  return texts;
}

// One tokenizer trained for the whole suite.
class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    write_file(dir_->file("corpus.txt"), make_corpus());
    TokenizerTrainParams params;
    params.input_files = {dir_->file("corpus.txt")};
    params.model_prefix = dir_->file("tok");
    params.vocab_size = kVocabSize;
    params.n_threads = 2;
    train_tokenizer(params);
    tok_ = Tokenizer::load(dir_->file("tok.model"));
  }
  static void TearDownTestSuite() {
    tok_.reset();
    dir_.reset();
  }

  static void expect_round_trip(const std::string& text) {
    const std::vector<TokenId> ids = tok_->encode(text);
    EXPECT_EQ(tok_->decode(ids), text);
  }

  static constexpr int kVocabSize = 400;
  static std::unique_ptr<TempDir> dir_;
  static std::optional<Tokenizer> tok_;
};

std::unique_ptr<TempDir> TokenizerTest::dir_;
std::optional<Tokenizer> TokenizerTest::tok_;

TEST_F(TokenizerTest, HasTheRequestedVocabularySize) {
  EXPECT_EQ(tok_->n_vocab(), kVocabSize);
  EXPECT_EQ(tok_->path(), dir_->file("tok.model"));
}

TEST_F(TokenizerTest, RoundTripsAscii) {
  const std::string text = "The quick brown fox jumps over the lazy dog. 12345 + 678 = 13023!";
  const std::vector<TokenId> ids = tok_->encode(text);
  EXPECT_LT(ids.size(), text.size());  // merges learned from the corpus do shorten text
  EXPECT_EQ(tok_->decode(ids), text);
}

TEST_F(TokenizerTest, RoundTripsAccents) { expect_round_trip("café naïve Zürich"); }

TEST_F(TokenizerTest, RoundTripsCjk) { expect_round_trip("日本語のテキスト"); }

TEST_F(TokenizerTest, RoundTripsEmoji) { expect_round_trip("🙂🚀"); }

TEST_F(TokenizerTest, KeepsLeadingRepeatedSpacesAndNewlines) {
  expect_round_trip("  leading, double  spaces\nnew line\n\n\ttab and trailing  ");
  expect_round_trip(" one leading space");
  expect_round_trip("\n");
}

TEST_F(TokenizerTest, EncodesEmptyTextToNoIds) {
  EXPECT_TRUE(tok_->encode("").empty());
  EXPECT_EQ(tok_->decode({}), "");
}

TEST_F(TokenizerTest, AddsNoBosOrEos) {
  const std::vector<TokenId> ids = tok_->encode("hello");
  ASSERT_FALSE(ids.empty());
  EXPECT_NE(ids.front(), tok_->bos_id());
  EXPECT_NE(ids.back(), tok_->eos_id());
}

TEST_F(TokenizerTest, FallsBackToBytesForUnseenCharacters) {
  const std::vector<TokenId> ids = tok_->encode("🚀");  // U+1F680 = F0 9F 9A 80
  std::vector<std::string> bytes;
  for (TokenId id : ids) {
    EXPECT_NE(id, tok_->unk_id());
    const std::string piece = tok_->id_to_piece(id);
    if (is_byte_piece(piece)) bytes.push_back(piece);
  }
  EXPECT_EQ(bytes, (std::vector<std::string>{"<0xF0>", "<0x9F>", "<0x9A>", "<0x80>"}));
  EXPECT_EQ(tok_->decode(ids), "🚀");
}

// piece_bytes spells the decoded text (but for the first piece's dummy-prefix space), byte
// pieces included; piece_text is always valid UTF-8.
TEST_F(TokenizerTest, PieceBytesSpellTheDecodedText) {
  for (const std::string text : {"plain words here", " one leading space", "café 🚀 “quoted”", "\n\ttab"}) {
    const std::vector<TokenId> ids = tok_->encode(text);
    std::string spelled;
    for (TokenId id : ids) spelled += tok_->piece_bytes(id);
    EXPECT_TRUE(spelled == text || spelled == " " + text) << "[" << spelled << "] for [" << text << "]";
  }
  const TokenId byte = tok_->piece_to_id("<0xF0>");
  ASSERT_GE(byte, 0);
  EXPECT_EQ(tok_->piece_bytes(byte), "\xF0");
  EXPECT_EQ(tok_->piece_text(byte), "\xEF\xBF\xBD");  // U+FFFD
  EXPECT_EQ(tok_->piece_bytes(tok_->eos_id()), "");
}

TEST_F(TokenizerTest, SplitsDigits) {
  for (TokenId id : tok_->encode("2024 and 1987")) {
    const std::string piece = tok_->id_to_piece(id);
    int n_digits = 0;
    for (char c : piece) n_digits += (c >= '0' && c <= '9') ? 1 : 0;
    EXPECT_LE(n_digits, 1) << "piece \"" << piece << "\" holds several digits";
  }
}

TEST_F(TokenizerTest, HasLlamaSpecialIds) {
  EXPECT_EQ(tok_->unk_id(), 0);
  EXPECT_EQ(tok_->bos_id(), 1);
  EXPECT_EQ(tok_->eos_id(), 2);
  EXPECT_EQ(tok_->pad_id(), -1);
  EXPECT_EQ(tok_->id_to_piece(0), "<unk>");
  EXPECT_EQ(tok_->id_to_piece(1), "<s>");
  EXPECT_EQ(tok_->id_to_piece(2), "</s>");
}

TEST_F(TokenizerTest, ReservesTheMaskPiece) {
  const TokenId mask = tok_->mask_id();
  ASSERT_GE(mask, 0);
  ASSERT_LT(mask, tok_->n_vocab());
  EXPECT_NE(mask, tok_->unk_id());
  EXPECT_NE(mask, tok_->bos_id());
  EXPECT_NE(mask, tok_->eos_id());
  EXPECT_EQ(tok_->id_to_piece(mask), "[MASK]");
  EXPECT_EQ(tok_->piece_to_id("[MASK]"), mask);
  EXPECT_EQ(tok_->decode({mask}), "");  // a control piece has no text
}

TEST_F(TokenizerTest, NeverProducesTheMaskFromText) {
  const std::string text = "[MASK] is just text here [MASK]";
  const std::vector<TokenId> ids = tok_->encode(text);
  for (TokenId id : ids) EXPECT_NE(id, tok_->mask_id());
  EXPECT_EQ(tok_->decode(ids), text);
}

TEST_F(TokenizerTest, PieceToIdIsMinusOneForUnknownPieces) {
  EXPECT_EQ(tok_->piece_to_id("<unk>"), 0);
  EXPECT_EQ(tok_->piece_to_id("</s>"), 2);
  EXPECT_EQ(tok_->piece_to_id("definitely-not-a-piece"), -1);
  EXPECT_EQ(tok_->piece_to_id(""), -1);
  for (int32_t id = 0; id < tok_->n_vocab(); ++id) {
    ASSERT_EQ(tok_->piece_to_id(tok_->id_to_piece(id)), id);
  }
}

TEST_F(TokenizerTest, DecodeRejectsOutOfRangeIds) {
  EXPECT_THROW(tok_->decode({5, kVocabSize}), Error);
  EXPECT_THROW(tok_->decode({-1}), Error);
  try {
    tok_->decode({5, 1000000});
    FAIL() << "decode accepted id 1000000";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1000000"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("position 1"), std::string::npos) << e.what();
  }
}

TEST_F(TokenizerTest, IdToPieceRejectsOutOfRangeIds) {
  EXPECT_THROW(tok_->id_to_piece(-1), Error);
  EXPECT_THROW(tok_->id_to_piece(kVocabSize), Error);
}

TEST_F(TokenizerTest, CopiesShareOneModelAndMovesLeaveAnErrorNotACrash) {
  Tokenizer copy = *tok_;
  EXPECT_EQ(copy.encode("the harbour"), tok_->encode("the harbour"));
  Tokenizer moved = std::move(copy);
  EXPECT_EQ(moved.n_vocab(), kVocabSize);
  EXPECT_THROW(copy.n_vocab(), Error);  // NOLINT(bugprone-use-after-move): that is the point
}

TEST_F(TokenizerTest, EncodesFromSeveralThreadsAtOnce) {
  const std::string text = "The librarian repairs the façade of the museum before breakfast.";
  const std::vector<TokenId> expected = tok_->encode(text);
  std::vector<int> n_good(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::vector<TokenId> ids = tok_->encode(text);
        n_good[t] += (ids == expected && tok_->decode(ids) == text) ? 1 : 0;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(n_good, std::vector<int>(4, 200));
}

TEST_F(TokenizerTest, LoadingTwiceReusesOneNamespace) {
  Tokenizer again = Tokenizer::load(dir_->file("tok.model"));
  EXPECT_EQ(again.encode("café"), tok_->encode("café"));
  // Each namespace maps its own copy; this process links none, so exactly one means one
  // namespace, shared by every load and by training.
  EXPECT_EQ(count_mappings("libsculpt_spm_shim"), 1);
  EXPECT_EQ(count_mappings("libsentencepiece.so"), 1);
  EXPECT_EQ(count_mappings("libsentencepiece_train.so"), 1);
}

TEST_F(TokenizerTest, StandardLibraryStillWorksAfterLoading) {
  std::ostringstream out;
  out << tok_->n_vocab() << " pieces";
  EXPECT_EQ(out.str(), "400 pieces");
  std::map<std::string, std::vector<TokenId>> by_text;
  for (const std::string& text : sample_texts()) by_text[text] = tok_->encode(text);
  EXPECT_EQ(by_text.size(), sample_texts().size());
  EXPECT_THROW(throw std::runtime_error("still unwinds"), std::runtime_error);
  int from_thread = 0;
  std::thread([&] { from_thread = 7; }).join();
  EXPECT_EQ(from_thread, 7);
}

TEST_F(TokenizerTest, MatchesPythonSentencepiece) {
  const std::string python = SCULPT_REFERENCE_PYTHON;
  if (python.empty() || ::access(python.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "no reference python (SCULPT_REFERENCE_PYTHON=\"" << python << "\")";
  }
  // The texts go through a NUL-separated file so no quoting can alter them.
  std::string joined;
  for (size_t i = 0; i < sample_texts().size(); ++i) {
    joined += (i > 0 ? std::string(1, '\0') : std::string()) + sample_texts()[i];
  }
  write_file(dir_->file("texts.bin"), joined);
  write_file(dir_->file("reference.py"),
             "import sys\n"
             "try:\n"
             "    import sentencepiece\n"
             "except ImportError:\n"
             "    print('NO_SENTENCEPIECE')\n"
             "    sys.exit(0)\n"
             "sp = sentencepiece.SentencePieceProcessor(model_file=sys.argv[1])\n"
             "for text in open(sys.argv[2], 'rb').read().split(b'\\0'):\n"
             "    print(' '.join(str(i) for i in sp.encode(text.decode('utf-8'))))\n");
  const auto [output, status] =
      run(shell_quote(python) + " " + shell_quote(dir_->file("reference.py")) + " " +
          shell_quote(dir_->file("tok.model")) + " " + shell_quote(dir_->file("texts.bin")));
  if (output.rfind("NO_SENTENCEPIECE", 0) == 0) {
    GTEST_SKIP() << python << " has no sentencepiece module (apt install python3-sentencepiece)";
  }
  ASSERT_EQ(status, 0) << output;
  std::istringstream lines(output);
  for (const std::string& text : sample_texts()) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << "python printed too few lines:\n" << output;
    std::vector<TokenId> reference;
    std::istringstream ids(line);
    for (int32_t id = 0; ids >> id;) reference.push_back(id);
    EXPECT_EQ(tok_->encode(text), reference) << "text: \"" << text << "\"";
  }
}

TEST(TokenizerLoadTest, MissingFileNamesThePath) {
  TempDir dir;
  const std::string path = dir.file("no-such.model");
  try {
    Tokenizer::load(path);
    FAIL() << "loaded a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(TokenizerLoadTest, GarbageFileIsAnErrorNotACrash) {
  TempDir dir;
  std::mt19937 rng(99);
  for (size_t size : {0, 1, 7, 100, 4096, 65536}) {
    const std::string path = dir.file("garbage_" + std::to_string(size) + ".model");
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    write_file(path, bytes);
    try {
      Tokenizer::load(path);
      ADD_FAILURE() << "loaded " << size << " random bytes";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TokenizerTrainParams params_for(const TempDir& dir) {
  TokenizerTrainParams params;
  params.input_files = {dir.file("corpus.txt")};
  params.model_prefix = dir.file("tok");
  params.vocab_size = 400;
  params.n_threads = 2;
  return params;
}

TEST(TokenizerTrainTest, ValidateAcceptsDefaultsWithInputAndPrefix) {
  TokenizerTrainParams params;
  params.input_files = {"corpus.txt"};
  params.model_prefix = "tok";
  EXPECT_NO_THROW(params.validate_complete());
}

TEST(TokenizerTrainTest, ValidateRejectsTooSmallVocab) {
  TokenizerTrainParams params;
  params.input_files = {"corpus.txt"};
  params.model_prefix = "tok";
  EXPECT_EQ(params.min_vocab_size(), 261);  // unk, bos, eos + mask + 256 bytes + 1
  params.vocab_size = 260;
  EXPECT_THROW(params.validate_complete(), Error);
  params.vocab_size = 261;
  EXPECT_NO_THROW(params.validate_complete());
  params.byte_fallback = false;
  params.mask_piece = "";
  EXPECT_EQ(params.min_vocab_size(), 4);
  params.vocab_size = 3;
  EXPECT_THROW(params.validate_complete(), Error);
}

TEST(TokenizerTrainTest, ValidateRejectsEmptyInput) {
  TokenizerTrainParams params;
  params.model_prefix = "tok";
  EXPECT_THROW(params.validate_complete(), Error);
  params.input_files = {""};
  EXPECT_THROW(params.validate_complete(), Error);
}

TEST(TokenizerTrainTest, ValidateRejectsOutOfRangeValues) {
  TokenizerTrainParams good;
  good.input_files = {"corpus.txt"};
  good.model_prefix = "tok";
  auto rejects = [&](auto change) {
    TokenizerTrainParams params = good;
    change(params);
    EXPECT_THROW(params.validate_complete(), Error);
  };
  rejects([](TokenizerTrainParams& p) { p.model_prefix = ""; });
  rejects([](TokenizerTrainParams& p) { p.character_coverage = 0.5; });
  rejects([](TokenizerTrainParams& p) { p.character_coverage = 1.5; });
  rejects([](TokenizerTrainParams& p) { p.n_threads = -1; });
  rejects([](TokenizerTrainParams& p) { p.max_sentence_length = 0; });
  rejects([](TokenizerTrainParams& p) { p.input_sentence_size = -5; });
  rejects([](TokenizerTrainParams& p) { p.mask_piece = "<s>"; });
  rejects([](TokenizerTrainParams& p) { p.mask_piece = "[MA SK]"; });
}

TEST(TokenizerTrainTest, MissingInputFileNamesThePath) {
  TempDir dir;
  TokenizerTrainParams params = params_for(dir);  // corpus.txt never written
  try {
    train_tokenizer(params);
    FAIL() << "trained from a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("corpus.txt")), std::string::npos) << e.what();
  }
}

TEST(TokenizerTrainTest, ReportsSentencepieceErrors) {
  TempDir dir;
  write_file(dir.file("corpus.txt"), make_corpus());
  TokenizerTrainParams params = params_for(dir);
  params.vocab_size = 100000;  // far more than the corpus can fill
  try {
    train_tokenizer(params);
    FAIL() << "trained an impossible vocabulary";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Vocabulary size too high"), std::string::npos)
        << e.what();
  }
}

TEST(TokenizerTrainTest, SameParamsGiveIdenticalModels) {
  TempDir dir;
  write_file(dir.file("corpus.txt"), make_corpus());
  const TokenizerTrainParams params = params_for(dir);
  // The same prefix both times: the model file records its trainer flags, prefix included.
  train_tokenizer(params);
  const std::string first = read_file(dir.file("tok.model"));
  ASSERT_FALSE(first.empty());
  fs::remove(dir.file("tok.model"));
  train_tokenizer(params);
  EXPECT_TRUE(first == read_file(dir.file("tok.model")));
}

TEST(TokenizerTrainTest, TrainsUnigramWithoutMaskFromPathsWithCommasAndSpaces) {
  TempDir dir;
  const std::string corpus = make_corpus();
  const size_t half = corpus.find('\n', corpus.size() / 2) + 1;
  const std::vector<std::string> inputs = {dir.file("part one, \"quoted\".txt"),
                                           dir.file("part two.txt")};
  write_file(inputs[0], corpus.substr(0, half));
  write_file(inputs[1], corpus.substr(half));
  TokenizerTrainParams params = params_for(dir);
  params.input_files = inputs;
  params.model_prefix = dir.file("uni gram, model");
  params.model_type = TokenizerTrainParams::ModelType::kUnigram;
  params.mask_piece = "";
  params.vocab_size = 350;
  train_tokenizer(params);
  const Tokenizer tok = Tokenizer::load(dir.file("uni gram, model.model"));
  EXPECT_EQ(tok.n_vocab(), 350);
  EXPECT_EQ(tok.mask_id(), -1);
  EXPECT_EQ(tok.piece_to_id("[MASK]"), -1);
  for (const std::string& text : sample_texts()) EXPECT_EQ(tok.decode(tok.encode(text)), text);
}

// Runs in a child process with SCULPT_SPM_SHIM pointing nowhere: the shim is opened once per
// process, so this process (which may already have opened it) cannot test the failure itself.
TEST(TokenizerShimTest, MissingShimIsAClearError) {
  const char* env = std::getenv("SCULPT_SPM_SHIM");
  const std::string missing_marker = "sculpt-no-such-shim.so";
  if (env != nullptr && std::string(env).find(missing_marker) != std::string::npos) {
    const std::string any_existing_file = "/proc/self/exe";
    for (int attempt = 0; attempt < 2; ++attempt) {  // the failure is cached, not retried
      try {
        Tokenizer::load(any_existing_file);
        FAIL() << "loaded a tokenizer without a shim";
      } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(env), std::string::npos) << what;
        EXPECT_NE(what.find("SCULPT_SPM_SHIM"), std::string::npos) << what;
      }
    }
    return;
  }
  TempDir dir;
  const auto [output, status] =
      run("SCULPT_SPM_SHIM=" + shell_quote(dir.file(missing_marker)) + " /proc/" +
          std::to_string(::getpid()) + "/exe --gtest_filter=TokenizerShimTest.* 2>&1");
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("[  PASSED  ] 1 test"), std::string::npos) << output;
}

}  // namespace
}  // namespace sculpt
