// Tokenizer: the two formats behind one interface. Each call goes to the loaded model
// (core/spm_tokenizer.h or core/hf_tokenizer.h); what the two do not say alike (the special
// ids a model starts texts with, its mask token) is settled here once, at load. Why
// sentencepiece is reached through a dlmopen()ed shim: core/spm_tokenizer.cpp.
#include "core/tokenizer.h"

#include <filesystem>
#include <optional>
#include <utility>

#include "core/error.h"
#include "core/hf_text.h"
#include "core/hf_tokenizer.h"
#include "core/spm_tokenizer.h"
#include "core/tokenizer_files.h"

namespace sculpt {

const char* tokenizer_format_name(TokenizerFormat format) {
  switch (format) {
    case TokenizerFormat::kSentencePiece: return "sentencepiece";
    case TokenizerFormat::kHuggingFace: return "tokenizer.json";
  }
  return "?";
}

struct Tokenizer::Model {
  std::optional<SpmTokenizer> spm;  // exactly one of the two is set
  std::optional<HfTokenizer> hf;
  TokenId bos_id = -1;
  TokenId bos_for_model = -1;
  TokenId mask_id = -1;
};

namespace {

namespace fs = std::filesystem;

// The mask token of masked-diffusion models, in one place so that a model's own config
// (mask_token_id) can take its place: a sentencepiece model's control piece kMaskPiece (only a
// control piece, since an ordinary "[MASK]" piece could come from user text), or the first of
// kHfMaskPieces a tokenizer.json has. -1 when there is none.
TokenId find_mask_id(const std::optional<SpmTokenizer>& spm, const std::optional<HfTokenizer>& hf) {
  if (spm) {
    const TokenId id = spm->piece_to_id(Tokenizer::kMaskPiece);
    return id >= 0 && spm->is_control(id) ? id : -1;
  }
  for (std::string_view piece : Tokenizer::kHfMaskPieces) {
    const TokenId id = hf->piece_to_id(piece);
    if (id >= 0) return id;
  }
  return -1;
}

// The BOS a tokenizer.json's post-processor puts before every text, or -1; more than one token
// before a text is refused (nothing here could start a context with it).
TokenId hf_bos_for_model(const HfTokenizer& hf) {
  const std::vector<TokenId>& prefix = hf.prefix_ids();
  if (prefix.size() > 1)
    fail(hf.path(), "post_processor: puts ", prefix.size(), " tokens before a text; only one (a BOS) is supported");
  return prefix.empty() ? -1 : prefix[0];
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const Model> model) : model_(std::move(model)) {}

const Tokenizer::Model& Tokenizer::model() const {
  if (model_ == nullptr) fail("Tokenizer", "used after being moved from");
  return *model_;
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return load_dir(path);
  auto m = std::make_shared<Model>();
  if (fs::path(path).extension() == ".json") {
    const fs::path config = fs::path(path).parent_path() / "tokenizer_config.json";
    m->hf = HfTokenizer::load(path, fs::is_regular_file(config, ec) ? config.string() : "");
    m->bos_for_model = hf_bos_for_model(*m->hf);
    m->bos_id = m->hf->bos_id() >= 0 ? m->hf->bos_id() : m->bos_for_model;
  } else {
    m->spm = SpmTokenizer::load(path);
    m->bos_id = m->bos_for_model = m->spm->bos_id();
  }
  m->mask_id = find_mask_id(m->spm, m->hf);
  return Tokenizer(std::move(m));
}

Tokenizer Tokenizer::load_dir(const std::string& model_dir) { return load(model_tokenizer_file(model_dir)); }

std::vector<TokenId> Tokenizer::encode(std::string_view text) const {
  const Model& m = model();
  return m.hf ? m.hf->encode(text) : m.spm->encode(text);
}

std::vector<TokenId> Tokenizer::encode_with_specials(std::string_view text) const {
  const Model& m = model();
  if (m.hf) return m.hf->encode(text, /*add_special_tokens=*/true);
  std::vector<TokenId> ids = m.spm->encode(text);
  if (m.bos_for_model >= 0) ids.insert(ids.begin(), m.bos_for_model);
  return ids;
}

TokenId Tokenizer::bos_for_model() const { return model().bos_for_model; }

std::string Tokenizer::decode(const std::vector<TokenId>& ids) const {
  const Model& m = model();
  return m.hf ? m.hf->decode(ids, /*skip_special_tokens=*/true) : m.spm->decode(ids);
}

std::string Tokenizer::id_to_piece(TokenId id) const {
  const Model& m = model();
  return m.hf ? m.hf->id_to_piece(id) : m.spm->id_to_piece(id);
}

std::string Tokenizer::piece_bytes(TokenId id) const {
  const Model& m = model();
  return m.hf ? m.hf->piece_bytes(id) : m.spm->piece_bytes(id);
}

std::string Tokenizer::piece_text(TokenId id) const {
  const Model& m = model();
  return m.hf ? hf::utf8_lossy(m.hf->piece_bytes(id)) : m.spm->piece_text(id);
}

TokenId Tokenizer::piece_to_id(std::string_view piece) const {
  const Model& m = model();
  return m.hf ? m.hf->piece_to_id(piece) : m.spm->piece_to_id(piece);
}

bool Tokenizer::is_special(TokenId id) const {
  const Model& m = model();
  return m.hf ? m.hf->is_special(id) : m.spm->is_control(id);
}

int64_t Tokenizer::n_vocab() const {
  const Model& m = model();
  return m.hf ? m.hf->n_vocab() : m.spm->n_vocab();
}

TokenId Tokenizer::unk_id() const {
  const Model& m = model();
  return m.hf ? m.hf->unk_id() : m.spm->unk_id();
}

TokenId Tokenizer::bos_id() const { return model().bos_id; }

TokenId Tokenizer::eos_id() const {
  const Model& m = model();
  return m.hf ? m.hf->eos_id() : m.spm->eos_id();
}

TokenId Tokenizer::pad_id() const {
  const Model& m = model();
  return m.hf ? m.hf->pad_id() : m.spm->pad_id();
}

TokenId Tokenizer::mask_id() const { return model().mask_id; }

TokenizerFormat Tokenizer::format() const {
  return model().hf ? TokenizerFormat::kHuggingFace : TokenizerFormat::kSentencePiece;
}

const std::string& Tokenizer::path() const {
  const Model& m = model();
  return m.hf ? m.hf->path() : m.spm->path();
}

bool vocabulary_extends(const Tokenizer& tokenizer, const Tokenizer& base) {
  if (tokenizer.n_vocab() < base.n_vocab()) return false;
  for (TokenId id = 0; id < base.n_vocab(); ++id)
    if (tokenizer.id_to_piece(id) != base.id_to_piece(id)) return false;
  return true;
}

}  // namespace sculpt
