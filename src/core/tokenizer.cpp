// Tokenizer and TokenizerTrainParams: sentencepiece reached through the C shim in
// core/spm_shim, which this file opens with dlmopen() instead of linking it.
//
// Why a separate link-map namespace: Debian's libsentencepiece.so.0 bundles protobuf 3.14 and
// exports its symbols, while LibTorch in the same process needs the system protobuf 3.21; with
// both in one namespace the process crashes at start-up. dlmopen(LM_ID_NEWLM) gives the shim its
// own copies of libstdc++ and protobuf. RTLD_DEEPBIND is not enough (the trainer then crashes
// writing to std::cerr). The price: no memory may cross the namespaces, so the shim's interface
// is C with caller-owned buffers, and the namespace is opened once per process because glibc
// has only about 16 of them.
#include "core/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <utility>

#include "core/error.h"
#include "core/spm_shim/spm_shim.h"

namespace sculpt {
namespace {

constexpr const char* kShimWhere = "sentencepiece shim";

// Room for sentencepiece's messages, which name files and flags but are never long.
constexpr size_t kErrorCap = 2048;

// The shim's functions, resolved once per process.
struct Shim {
  std::string path;   // the library that was opened
  std::string error;  // non-empty if opening failed; then every use throws it
  decltype(&sculpt_spm_abi_version) abi_version = nullptr;
  decltype(&sculpt_spm_train) train = nullptr;
  decltype(&sculpt_spm_load) load = nullptr;
  decltype(&sculpt_spm_free) free = nullptr;
  decltype(&sculpt_spm_n_vocab) n_vocab = nullptr;
  decltype(&sculpt_spm_special_id) special_id = nullptr;
  decltype(&sculpt_spm_piece_kind) piece_kind = nullptr;
  decltype(&sculpt_spm_piece_to_id) piece_to_id = nullptr;
  decltype(&sculpt_spm_id_to_piece) id_to_piece = nullptr;
  decltype(&sculpt_spm_encode) encode = nullptr;
  decltype(&sculpt_spm_decode) decode = nullptr;
};

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The directory holding the running executable, or "" if /proc is unavailable.
std::string executable_dir() {
  std::string buf(PATH_MAX, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size());
  if (n <= 0) return "";
  buf.resize(static_cast<size_t>(n));
  const size_t slash = buf.rfind('/');
  return slash == std::string::npos ? "" : buf.substr(0, slash);
}

}  // namespace
}  // namespace sculpt

// Defined only in programs built against an installed package (SculptConfig.cmake compiles a
// one-line source into them that says where that package keeps the shim); null elsewhere.
extern "C" const char sculpt_installed_spm_shim_path[] __attribute__((weak));

namespace sculpt {
namespace {

// Where to look, in order: $SCULPT_SPM_SHIM alone if set (an explicit choice must not silently
// fall back); otherwise the installed package the program was built against, the build tree,
// the lib dir beside a relocated install's bin dir, and the configured install path.
std::vector<std::string> shim_candidates() {
  const char* env = std::getenv("SCULPT_SPM_SHIM");
  if (env != nullptr && *env != '\0') return {env};
  std::vector<std::string> paths;
  if (sculpt_installed_spm_shim_path != nullptr) paths.push_back(sculpt_installed_spm_shim_path);
  paths.push_back(SCULPT_SPM_SHIM_BUILD_PATH);
  const std::string install = SCULPT_SPM_SHIM_INSTALL_PATH;
  const std::string exe_dir = executable_dir();
  if (!exe_dir.empty()) {
    paths.push_back(exe_dir + "/../lib/" + install.substr(install.rfind('/') + 1));
  }
  paths.push_back(install);
  return paths;
}

template <class Fn>
void resolve(void* handle, const char* name, Fn* out, std::string* error) {
  *out = reinterpret_cast<Fn>(::dlsym(handle, name));
  if (*out == nullptr && error->empty()) error->append(str_cat("missing symbol ", name));
}

// Never throws for a missing or broken shim: the outcome, good or bad, is cached so the process
// makes exactly one dlmopen attempt (each attempt may use up a namespace).
Shim open_shim() {
  Shim shim;
  const std::vector<std::string> candidates = shim_candidates();
  for (const std::string& path : candidates) {
    if (file_exists(path)) {
      shim.path = path;
      break;
    }
  }
  if (shim.path.empty()) {
    std::string tried;
    for (const std::string& path : candidates) tried += (tried.empty() ? "" : ", ") + path;
    shim.error = str_cat(kShimWhere, ": cannot find libsculpt_spm_shim.so (tried ", tried,
                         "; set SCULPT_SPM_SHIM to its path)");
    return shim;
  }
  void* handle = ::dlmopen(LM_ID_NEWLM, shim.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    shim.error = str_cat(kShimWhere, ": dlmopen(", shim.path, ") failed: ",
                         why != nullptr ? why : "unknown error");
    return shim;
  }
  // The handle is never closed: models may live until exit, and unloading a namespace whose
  // libstdc++ has started threads is not worth the risk.
  std::string missing;
  resolve(handle, "sculpt_spm_abi_version", &shim.abi_version, &missing);
  resolve(handle, "sculpt_spm_train", &shim.train, &missing);
  resolve(handle, "sculpt_spm_load", &shim.load, &missing);
  resolve(handle, "sculpt_spm_free", &shim.free, &missing);
  resolve(handle, "sculpt_spm_n_vocab", &shim.n_vocab, &missing);
  resolve(handle, "sculpt_spm_special_id", &shim.special_id, &missing);
  resolve(handle, "sculpt_spm_piece_kind", &shim.piece_kind, &missing);
  resolve(handle, "sculpt_spm_piece_to_id", &shim.piece_to_id, &missing);
  resolve(handle, "sculpt_spm_id_to_piece", &shim.id_to_piece, &missing);
  resolve(handle, "sculpt_spm_encode", &shim.encode, &missing);
  resolve(handle, "sculpt_spm_decode", &shim.decode, &missing);
  if (!missing.empty()) {
    shim.error = str_cat(kShimWhere, ": ", shim.path, " is not a sculpt_spm_shim (", missing, ")");
  } else if (shim.abi_version() != SCULPT_SPM_ABI_VERSION) {
    shim.error = str_cat(kShimWhere, ": ", shim.path, " has ABI version ", shim.abi_version(),
                         ", this build needs ", SCULPT_SPM_ABI_VERSION,
                         " (a stale install? set SCULPT_SPM_SHIM)");
  }
  return shim;
}

const Shim& shim() {
  static const Shim opened = open_shim();
  if (!opened.error.empty()) throw Error(opened.error);
  return opened;
}

// Calls a shim function that fills a caller buffer, growing the buffer once if it asks to.
template <class Buffer, class Call>
Buffer fill_buffer(const std::string& where, size_t initial_size, Call&& call) {
  Buffer out(initial_size, typename Buffer::value_type{});
  char error[kErrorCap] = {};
  for (int attempt = 0; attempt < 2; ++attempt) {
    size_t needed = 0;
    const int rc = call(out.data(), out.size(), &needed, error, sizeof error);
    if (rc == SCULPT_SPM_OK) {
      out.resize(needed);
      return out;
    }
    if (rc != SCULPT_SPM_BUFFER_TOO_SMALL) fail(where, error);
    out.resize(needed);
  }
  fail(where, "sentencepiece asked for a bigger buffer twice");
}

// One comma-separated-list element as sentencepiece's StrSplitAsCSV reads it: quoted, with
// inner quotes doubled, so that paths and pieces may contain commas.
std::string csv_quote(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

const char* model_type_name(TokenizerTrainParams::ModelType type) {
  switch (type) {
    case TokenizerTrainParams::ModelType::kBpe: return "bpe";
    case TokenizerTrainParams::ModelType::kUnigram: return "unigram";
  }
  return "bpe";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TokenizerTrainParams

int TokenizerTrainParams::min_vocab_size() const {
  const int n_special = 3;  // unk, bos, eos
  return n_special + (mask_piece.empty() ? 0 : 1) + (byte_fallback ? 256 : 0) + 1;
}

void TokenizerTrainParams::validate_complete() const {
  const std::string where = "TokenizerTrainParams";
  if (input_files.empty()) fail(where, "input_files is empty; give at least one text file");
  for (const std::string& file : input_files) {
    if (file.empty()) fail(where, "input_files holds an empty path");
  }
  if (model_prefix.empty()) fail(where, "model_prefix is empty");
  if (vocab_size < min_vocab_size()) {
    fail(where, "vocab_size ", vocab_size, " is below the minimum ", min_vocab_size(),
         " (3 special pieces", mask_piece.empty() ? "" : " + the mask piece",
         byte_fallback ? " + 256 byte pieces" : "", " + 1)");
  }
  if (model_type != ModelType::kBpe && model_type != ModelType::kUnigram) {
    fail(where, "model_type ", static_cast<int>(model_type), " is not a ModelType");
  }
  if (mask_piece.find_first_of(" \t\r\n") != std::string::npos) {
    fail(where, "mask_piece \"", mask_piece, "\" contains whitespace");
  }
  if (mask_piece == "<unk>" || mask_piece == "<s>" || mask_piece == "</s>") {
    fail(where, "mask_piece \"", mask_piece, "\" is already a special piece");
  }
  // sentencepiece's own limits, checked here so the message names our field.
  if (!(character_coverage >= 0.98 && character_coverage <= 1.0)) {
    fail(where, "character_coverage ", character_coverage, " is outside [0.98, 1]");
  }
  if (n_threads < 0 || n_threads > 128) fail(where, "n_threads ", n_threads, " is outside [0, 128]");
  if (max_sentence_length < 10 || max_sentence_length > (1 << 30)) {
    fail(where, "max_sentence_length ", max_sentence_length, " is outside [10, 2^30] bytes");
  }
  if (input_sentence_size < 0) {
    fail(where, "input_sentence_size ", input_sentence_size, " is negative (0 = all)");
  }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

struct Tokenizer::Model {
  const Shim* shim = nullptr;
  sculpt_spm_model* handle = nullptr;  // owned; freed by the shim that allocated it
  std::string path;
  int32_t n_vocab = 0;
  int32_t unk_id = -1;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t pad_id = -1;
  int32_t mask_id = -1;

  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model() {
    if (handle != nullptr) shim->free(handle);
  }
};

Tokenizer::Tokenizer(std::shared_ptr<const Model> model) : model_(std::move(model)) {}

const Tokenizer::Model& Tokenizer::model() const {
  if (model_ == nullptr) fail("Tokenizer", "used after being moved from");
  return *model_;
}

Tokenizer Tokenizer::load(const std::string& model_path) {
  // Checked here so a missing file gets errno's words rather than sentencepiece's.
  if (!std::ifstream(model_path, std::ios::binary)) {
    fail(model_path, "cannot open tokenizer model: ", errno_text(errno));
  }
  const Shim& api = shim();
  auto model = std::make_shared<Model>();
  model->shim = &api;
  model->path = model_path;
  char error[kErrorCap] = {};
  if (api.load(model_path.c_str(), &model->handle, error, sizeof error) != SCULPT_SPM_OK) {
    fail(model_path, "not a valid sentencepiece model: ", error);
  }
  model->n_vocab = api.n_vocab(model->handle);
  model->unk_id = api.special_id(model->handle, SCULPT_SPM_UNK);
  model->bos_id = api.special_id(model->handle, SCULPT_SPM_BOS);
  model->eos_id = api.special_id(model->handle, SCULPT_SPM_EOS);
  model->pad_id = api.special_id(model->handle, SCULPT_SPM_PAD);
  // Only a control piece counts: an ordinary "[MASK]" piece could be produced from user text.
  const int32_t mask = api.piece_to_id(model->handle, kMaskPiece.data(), kMaskPiece.size());
  if (mask >= 0 && api.piece_kind(model->handle, mask) == SCULPT_SPM_PIECE_CONTROL) {
    model->mask_id = mask;
  }
  return Tokenizer(std::move(model));
}

void Tokenizer::train(const TokenizerTrainParams& params) {
  params.validate_complete();
  for (const std::string& file : params.input_files) {
    if (!std::ifstream(file, std::ios::binary)) {
      fail(file, "cannot read tokenizer training input: ", errno_text(errno));
    }
  }
  std::string inputs;
  for (const std::string& file : params.input_files) {
    inputs += (inputs.empty() ? "" : ",") + csv_quote(file);
  }
  const int n_threads =
      params.n_threads > 0
          ? params.n_threads
          : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 128u));

  const std::vector<std::pair<std::string, std::string>> args = {
      {"input", inputs},
      {"model_prefix", params.model_prefix},
      {"model_type", model_type_name(params.model_type)},
      {"vocab_size", std::to_string(params.vocab_size)},
      {"byte_fallback", params.byte_fallback ? "true" : "false"},
      {"character_coverage", str_cat(params.character_coverage)},
      {"num_threads", std::to_string(n_threads)},
      {"max_sentence_length", std::to_string(params.max_sentence_length)},
      {"input_sentence_size", std::to_string(params.input_sentence_size)},
      {"control_symbols", params.mask_piece.empty() ? "" : csv_quote(params.mask_piece)},
      // The Llama convention (see TokenizerTrainParams): text reaches the model as it was typed.
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      {"add_dummy_prefix", "true"},
      {"split_digits", "true"},
      {"allow_whitespace_only_pieces", "true"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      // INFO logging would print the whole trainer spec and every merge step.
      {"minloglevel", "1"},
  };
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [key, value] : args) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  const Shim& api = shim();
  char error[kErrorCap] = {};
  if (api.train(keys.data(), values.data(), keys.size(), static_cast<uint32_t>(params.seed), error, sizeof error) !=
      SCULPT_SPM_OK) {
    fail(params.model_prefix + ".model", "tokenizer training failed: ", error);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  const Model& m = model();
  // Usually one id per few bytes; byte fallback makes at most one per byte plus the "▁" prefix.
  return fill_buffer<std::vector<int32_t>>(
      m.path, text.size() + 8,
      [&](int32_t* ids, size_t cap, size_t* needed, char* error, size_t error_cap) {
        return m.shim->encode(m.handle, text.data(), text.size(), ids, cap, needed, error,
                              error_cap);
      });
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  const Model& m = model();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= m.n_vocab) {
      fail(m.path, "cannot decode id ", ids[i], " at position ", i, ": outside [0, ", m.n_vocab,
           ")");
    }
  }
  return fill_buffer<std::string>(
      m.path, ids.size() * 8 + 16,
      [&](char* out, size_t cap, size_t* needed, char* error, size_t error_cap) {
        return m.shim->decode(m.handle, ids.data(), ids.size(), out, cap, needed, error,
                              error_cap);
      });
}

std::string Tokenizer::id_to_piece(int32_t id) const {
  const Model& m = model();
  if (id < 0 || id >= m.n_vocab) fail(m.path, "id ", id, " is outside [0, ", m.n_vocab, ")");
  return fill_buffer<std::string>(
      m.path, 32, [&](char* out, size_t cap, size_t* needed, char* error, size_t error_cap) {
        return m.shim->id_to_piece(m.handle, id, out, cap, needed, error, error_cap);
      });
}

int32_t Tokenizer::piece_to_id(std::string_view piece) const {
  const Model& m = model();
  return m.shim->piece_to_id(m.handle, piece.data(), piece.size());
}

int32_t Tokenizer::n_vocab() const { return model().n_vocab; }
int32_t Tokenizer::unk_id() const { return model().unk_id; }
int32_t Tokenizer::bos_id() const { return model().bos_id; }
int32_t Tokenizer::eos_id() const { return model().eos_id; }
int32_t Tokenizer::pad_id() const { return model().pad_id; }
int32_t Tokenizer::mask_id() const { return model().mask_id; }
const std::string& Tokenizer::path() const { return model().path; }

}  // namespace sculpt
