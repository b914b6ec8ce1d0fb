// SpmTokenizer: sentencepiece reached through the C shim in core/spm_shim, which
// core/spm_shim/spm_shim_loader.cpp opens with dlmopen() instead of linking it.
//
// Why a separate link-map namespace: Debian's libsentencepiece.so.0 bundles protobuf 3.14 and
// exports its symbols, while LibTorch in the same process needs the system protobuf 3.21; with
// both in one namespace the process crashes at start-up. dlmopen(LM_ID_NEWLM) gives the shim its
// own copies of libstdc++ and protobuf. RTLD_DEEPBIND is not enough (the trainer then crashes
// writing to std::cerr). The price: no memory may cross the namespaces, so the shim's interface
// is C with caller-owned buffers, and the namespace is opened once per process because glibc
// has only about 16 of them.
#include "core/spm_tokenizer.h"

#include <cctype>
#include <cerrno>
#include <fstream>
#include <utility>

#include "core/error.h"
#include "core/spm_shim/spm_shim_loader.h"

namespace sculpt {
namespace {

// Calls a shim function that fills a caller buffer, growing the buffer once if it asks to.
template <class Buffer, class Call>
Buffer fill_buffer(const std::string& where, size_t initial_size, Call&& call) {
  Buffer out(initial_size, typename Buffer::value_type{});
  char error[kSpmErrorCap] = {};
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

bool is_byte_piece(const std::string& piece) {
  return piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>';
}

}  // namespace

struct SpmTokenizer::Model {
  const SpmShim* shim = nullptr;
  sculpt_spm_model* handle = nullptr;  // owned; freed by the shim that allocated it
  std::string path;
  int64_t n_vocab = 0;
  TokenId unk_id = -1;
  TokenId bos_id = -1;
  TokenId eos_id = -1;
  TokenId pad_id = -1;

  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model() {
    if (handle != nullptr) shim->free(handle);
  }
};

SpmTokenizer::SpmTokenizer(std::shared_ptr<const Model> model) : model_(std::move(model)) {}

const SpmTokenizer::Model& SpmTokenizer::model() const {
  if (model_ == nullptr) fail("Tokenizer", "used after being moved from");
  return *model_;
}

SpmTokenizer SpmTokenizer::load(const std::string& model_path) {
  // Checked here so a missing file gets errno's words rather than sentencepiece's.
  if (!std::ifstream(model_path, std::ios::binary)) {
    fail(model_path, "cannot open tokenizer model: ", errno_text(errno));
  }
  const SpmShim& api = spm_shim();
  auto model = std::make_shared<Model>();
  model->shim = &api;
  model->path = model_path;
  char error[kSpmErrorCap] = {};
  if (api.load(model_path.c_str(), &model->handle, error, sizeof error) != SCULPT_SPM_OK) {
    fail(model_path, "not a valid sentencepiece model: ", error);
  }
  model->n_vocab = api.n_vocab(model->handle);
  model->unk_id = api.special_id(model->handle, SCULPT_SPM_UNK);
  model->bos_id = api.special_id(model->handle, SCULPT_SPM_BOS);
  model->eos_id = api.special_id(model->handle, SCULPT_SPM_EOS);
  model->pad_id = api.special_id(model->handle, SCULPT_SPM_PAD);
  return SpmTokenizer(std::move(model));
}

std::vector<TokenId> SpmTokenizer::encode(std::string_view text) const {
  const Model& m = model();
  // Usually one id per few bytes; byte fallback makes at most one per byte plus the "▁" prefix.
  const std::vector<int32_t> ids = fill_buffer<std::vector<int32_t>>(
      m.path, text.size() + 8,
      [&](int32_t* ids, size_t cap, size_t* needed, char* error, size_t error_cap) {
        return m.shim->encode(m.handle, text.data(), text.size(), ids, cap, needed, error,
                              error_cap);
      });
  return std::vector<TokenId>(ids.begin(), ids.end());  // the shim's C interface is 32-bit
}

std::string SpmTokenizer::decode(const std::vector<TokenId>& ids) const {
  const Model& m = model();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= m.n_vocab) {
      fail(m.path, "cannot decode id ", ids[i], " at position ", i, ": outside [0, ", m.n_vocab,
           ")");
    }
  }
  const std::vector<int32_t> narrow(ids.begin(), ids.end());  // in range: checked above
  return fill_buffer<std::string>(
      m.path, ids.size() * 8 + 16,
      [&](char* out, size_t cap, size_t* needed, char* error, size_t error_cap) {
        return m.shim->decode(m.handle, narrow.data(), narrow.size(), out, cap, needed, error,
                              error_cap);
      });
}

std::string SpmTokenizer::id_to_piece(TokenId id) const {
  const Model& m = model();
  if (id < 0 || id >= m.n_vocab) fail(m.path, "id ", id, " is outside [0, ", m.n_vocab, ")");
  return fill_buffer<std::string>(
      m.path, 32, [&](char* out, size_t cap, size_t* needed, char* error, size_t error_cap) {
        return m.shim->id_to_piece(m.handle, int32_t(id), out, cap, needed, error, error_cap);
      });
}

std::string SpmTokenizer::piece_bytes(TokenId id) const {
  const std::string piece = id_to_piece(id);
  if (is_byte_piece(piece) && std::isxdigit(uint8_t(piece[3])) && std::isxdigit(uint8_t(piece[4])))
    return std::string(1, char(std::stoi(piece.substr(3, 2), nullptr, 16)));
  if (is_control(id)) return "";
  const std::string space = "\xe2\x96\x81";  // U+2581, sentencepiece's word boundary
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, space.size(), space) == 0) {
      out += ' ';
      i += space.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

std::string SpmTokenizer::piece_text(TokenId id) const {
  if (is_byte_piece(id_to_piece(id))) return decode({id});  // the decoder's own U+FFFD rule
  return piece_bytes(id);
}

TokenId SpmTokenizer::piece_to_id(std::string_view piece) const {
  const Model& m = model();
  return m.shim->piece_to_id(m.handle, piece.data(), piece.size());
}

bool SpmTokenizer::is_control(TokenId id) const {
  const Model& m = model();
  return id >= 0 && id < m.n_vocab && m.shim->piece_kind(m.handle, int32_t(id)) == SCULPT_SPM_PIECE_CONTROL;
}

int64_t SpmTokenizer::n_vocab() const { return model().n_vocab; }
TokenId SpmTokenizer::unk_id() const { return model().unk_id; }
TokenId SpmTokenizer::bos_id() const { return model().bos_id; }
TokenId SpmTokenizer::eos_id() const { return model().eos_id; }
TokenId SpmTokenizer::pad_id() const { return model().pad_id; }
const std::string& SpmTokenizer::path() const { return model().path; }

}  // namespace sculpt
