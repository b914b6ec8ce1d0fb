// HfTokenizer: loading tokenizer.json into its parts and running them in the tokenizers
// library's order (tokenizer/mod.rs, encode_single_sequence and decode): added tokens and
// normalization, pre-tokenization, the BPE model, then the post-processor; for decoding, ids to
// token strings (skipping special ones if asked) and the decoder chain.
#include "core/hf_tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "core/bpe_model.h"
#include "core/error.h"
#include "core/hf_added_vocabulary.h"
#include "core/hf_decoders.h"
#include "core/hf_json.h"
#include "core/hf_normalizers.h"
#include "core/hf_post_processors.h"
#include "core/hf_pre_tokenizers.h"

namespace sculpt {

using hf::json;
using hf::JsonAt;

struct HfTokenizer::Impl {
  std::string path;
  std::unique_ptr<hf::Normalizer> normalizer;       // null: none
  std::unique_ptr<hf::PreTokenizer> pre_tokenizer;  // null: the whole piece is one word
  std::unique_ptr<hf::BpeModel> model;
  hf::AddedVocabulary added;
  std::unique_ptr<hf::PostProcessor> post_processor;  // null: adds nothing
  std::unique_ptr<hf::Decoder> decoder;               // null: tokens joined by spaces
  int64_t n_vocab = 0;
  TokenId bos_id = -1;
  TokenId eos_id = -1;
  TokenId pad_id = -1;
  TokenId unk_id = -1;
  std::vector<TokenId> prefix_ids;  // what the post-processor puts before a text
  // piece_bytes runs the decoder on {lead, token, lead}: lead alone decodes to lead_bytes, and
  // {lead, lead} to lead_bytes + tail_bytes, so what lies between is the token's share.
  std::string lead_bytes, tail_bytes;

  // The parts of tokenizer.json, in the order the library builds them (added tokens need the
  // model and the normalizer).
  void load_components(const json& doc, const JsonAt& at);
  // bos/eos/pad/unk names and add_bos_token/add_eos_token from tokenizer_config.json.
  void apply_config(const json& doc, const json& config, const JsonAt& at);
  TokenId piece_to_id(std::string_view piece) const {
    const TokenId id = added.token_to_id(piece);
    return id >= 0 ? id : model->token_to_id(piece);
  }
  // The string decoding hands the decoder for the id at `position` of a decoded list (npos:
  // a lone id); throws Error for an id outside the vocabulary.
  const std::string& token_string(TokenId id, size_t position) const;
  // The decoder chain over token strings, joined.
  std::string decode_strings(std::vector<std::string> tokens, hf::DecodeBytes bytes) const;
  // prefix_ids, lead_bytes and tail_bytes, once the parts are loaded.
  void derive_layout();
};

namespace {

// Components nest (Sequence in Sequence); deeper than this is refused rather than recursed into.
constexpr int kMaxNesting = 32;

// The largest text encode() takes (the pipeline keeps 32-bit offsets).
constexpr size_t kMaxTextBytes = (size_t(1) << 31) - 1;

std::string read_bounded(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: ", errno_text(errno));
  std::string bytes;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    bytes.append(buf, size_t(in.gcount()));
    if (int64_t(bytes.size()) > HfTokenizer::kMaxFileBytes) {
      fail(path, "larger than ", HfTokenizer::kMaxFileBytes >> 20, " MiB, the limit for a tokenizer file");
    }
  }
  if (in.bad()) fail(path, "read error: ", errno_text(errno));
  return bytes;
}

json parse_json(std::string_view text, const std::string& name) {
  if (int64_t(text.size()) > HfTokenizer::kMaxFileBytes) {
    fail(name, "larger than ", HfTokenizer::kMaxFileBytes >> 20, " MiB, the limit for a tokenizer file");
  }
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    fail(name, "not valid JSON: ", e.what());
  }
}

void check_nesting(const json& j, const JsonAt& at, int depth = 0) {
  if (depth > kMaxNesting) at.fail("nested more than ", kMaxNesting, " levels deep");
  if (j.is_object() || j.is_array()) {
    for (const json& v : j) check_nesting(v, at, depth + 1);
  }
}

// A component that may be null: builds it with `make`, or returns null.
template <class T, class Make>
std::unique_ptr<T> optional_component(const json& doc, const JsonAt& at, const char* key, Make make) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return nullptr;
  check_nesting(*it, at[key]);
  return make(*it, at[key]);
}

// A special token named in tokenizer_config.json: a string, null, or an AddedToken object.
std::optional<std::string> config_token(const json& config, const JsonAt& at, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  at[key].fail("expected a token string, an AddedToken object or null, found ", hf::json_kind(*it));
}

}  // namespace

HfTokenizer::HfTokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

const HfTokenizer::Impl& HfTokenizer::impl() const {
  if (impl_ == nullptr) fail("HfTokenizer", "used after being moved from");
  return *impl_;
}

HfTokenizer HfTokenizer::load(const std::string& tokenizer_json_path, const std::string& tokenizer_config_path) {
  const std::string text = read_bounded(tokenizer_json_path);
  const std::string config = tokenizer_config_path.empty() ? std::string() : read_bounded(tokenizer_config_path);
  if (!tokenizer_config_path.empty() && config.empty()) fail(tokenizer_config_path, "is empty (expected JSON)");
  return build(text, config, tokenizer_json_path, tokenizer_config_path);
}

HfTokenizer HfTokenizer::from_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                                   const std::string& name) {
  return build(tokenizer_json, tokenizer_config_json, name, "tokenizer_config.json");
}

HfTokenizer HfTokenizer::build(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                               const std::string& name, const std::string& config_name) {
  auto impl = std::make_shared<Impl>();
  impl->path = name;
  const json doc = parse_json(tokenizer_json, name);
  impl->load_components(doc, JsonAt{name, ""});
  if (!tokenizer_config_json.empty()) {
    impl->apply_config(doc, parse_json(tokenizer_config_json, config_name), JsonAt{config_name, ""});
  }
  impl->derive_layout();
  return HfTokenizer(std::move(impl));
}

void HfTokenizer::Impl::load_components(const json& doc, const JsonAt& at) {
  hf::require_object(doc, at);
  if (doc.contains("version") && !(doc["version"].is_string() && doc["version"] == "1.0")) {
    at["version"].fail("unknown tokenizer.json version (expected \"1.0\")");
  }
  for (const char* unsupported : {"truncation", "padding"}) {
    if (doc.contains(unsupported) && !doc[unsupported].is_null()) at[unsupported].unsupported("set", "only null");
  }
  normalizer = optional_component<hf::Normalizer>(doc, at, "normalizer", hf::make_normalizer);
  pre_tokenizer = optional_component<hf::PreTokenizer>(doc, at, "pre_tokenizer", hf::make_pre_tokenizer);
  model = hf::BpeModel::from_json(hf::member(doc, at, "model"), at["model"]);
  if (doc.contains("added_tokens")) added.load(doc["added_tokens"], at["added_tokens"], *model, normalizer.get());
  post_processor = optional_component<hf::PostProcessor>(doc, at, "post_processor", hf::make_post_processor);
  decoder = optional_component<hf::Decoder>(doc, at, "decoder", hf::make_decoder);
  n_vocab = std::max(model->max_id(), added.max_id()) + 1;
  if (model->unk_token()) unk_id = piece_to_id(*model->unk_token());
}

void HfTokenizer::Impl::apply_config(const json& doc, const json& config, const JsonAt& at) {
  hf::require_object(config, at);
  const auto resolve = [&](const char* key, TokenId fallback) {
    if (!config.contains(key)) return fallback;
    const std::optional<std::string> token = config_token(config, at, key);
    if (!token) return TokenId(-1);
    const TokenId id = piece_to_id(*token);
    if (id < 0) at[key].fail("'", hf::printable(*token), "' is not in the vocabulary of ", path);
    return id;
  };
  bos_id = resolve("bos_token", -1);
  eos_id = resolve("eos_token", -1);
  pad_id = resolve("pad_token", -1);
  unk_id = resolve("unk_token", unk_id);

  // transformers rebuilds a template (or missing) post-processor from the two flags; a
  // ByteLevel, Bert or Roberta one stays (LlamaTokenizerFast.update_post_processor).
  const bool has_add_bos = config.contains("add_bos_token") && !config["add_bos_token"].is_null();
  const bool has_add_eos = config.contains("add_eos_token") && !config["add_eos_token"].is_null();
  const auto pp = doc.find("post_processor");
  const bool replaceable =
      pp == doc.end() || pp->is_null() ||
      (pp->contains("type") && ((*pp)["type"] == "TemplateProcessing" || (*pp)["type"] == "Sequence"));
  if (!(has_add_bos || has_add_eos) || !replaceable) return;
  // A flag the config leaves out keeps what the file's template does on that side.
  std::vector<TokenId> probe;
  if (post_processor) post_processor->add_special_tokens(probe);
  const bool add_bos =
      has_add_bos ? hf::get_bool(config, at, "add_bos_token") : !probe.empty() && probe.front() == bos_id;
  const bool add_eos =
      has_add_eos ? hf::get_bool(config, at, "add_eos_token") : !probe.empty() && probe.back() == eos_id;
  if (add_bos && bos_id < 0) at["add_bos_token"].fail("is true but bos_token is not set");
  if (add_eos && eos_id < 0) at["add_eos_token"].fail("is true but eos_token is not set");
  post_processor = hf::make_bos_eos_template(add_bos ? bos_id : -1, add_eos ? eos_id : -1);
}

// The sentinel token piece_bytes puts on either side of a token: an ASCII letter, which every
// decoder passes through as itself.
constexpr const char* kLeadToken = "x";

void HfTokenizer::Impl::derive_layout() {
  // A probe id in place of the text shows where the post-processor puts its tokens.
  constexpr TokenId kProbe = -2;
  std::vector<TokenId> probe{kProbe};
  if (post_processor) post_processor->add_special_tokens(probe);
  prefix_ids.assign(probe.begin(), std::find(probe.begin(), probe.end(), kProbe));
  lead_bytes = decode_strings({kLeadToken}, hf::DecodeBytes::kRaw);
  const std::string both = decode_strings({kLeadToken, kLeadToken}, hf::DecodeBytes::kRaw);
  if (both.compare(0, lead_bytes.size(), lead_bytes) != 0) {
    fail(path, "the decoder does not decode tokens one after another (cannot spell single tokens)");
  }
  tail_bytes = both.substr(lead_bytes.size());
}

const std::string& HfTokenizer::Impl::token_string(TokenId id, size_t position) const {
  const std::string at = position == std::string::npos ? "" : str_cat(" at position ", position);
  if (id < 0 || id >= n_vocab) fail(path, "cannot decode id ", id, at, ": outside [0, ", n_vocab, ")");
  const std::string* token = added.decode_string(id);
  if (token == nullptr) token = model->id_to_token(id);
  if (token == nullptr) fail(path, "cannot decode id ", id, at, ": no token has this id");
  return *token;
}

std::string HfTokenizer::Impl::decode_strings(std::vector<std::string> tokens, hf::DecodeBytes bytes) const {
  std::string out;
  if (!decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const std::string& t : decoder->decode_chain(std::move(tokens), bytes)) out += t;
  return out;
}

std::vector<TokenId> HfTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const Impl& m = impl();
  if (text.size() > kMaxTextBytes) fail(m.path, "cannot encode ", text.size(), " bytes: the limit is 2 GiB");
  const size_t bad = hf::utf8_invalid_at(text);
  if (bad != std::string_view::npos) fail(m.path, "cannot encode: the text is not valid UTF-8 at byte ", bad);

  std::vector<hf::Piece> pieces = m.added.extract_and_normalize(text, m.normalizer.get());
  if (m.pre_tokenizer) m.pre_tokenizer->pre_tokenize(pieces);
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  for (const hf::Piece& p : pieces) {
    if (p.id >= 0) {
      ids.push_back(p.id);
    } else {
      m.model->tokenize(p.text.text, ids);
    }
  }
  if (add_special_tokens && m.post_processor) m.post_processor->add_special_tokens(ids);
  return ids;
}

std::string HfTokenizer::decode(const std::vector<TokenId>& ids, bool skip_special_tokens) const {
  const Impl& m = impl();
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string& token = m.token_string(ids[i], i);
    if (skip_special_tokens && m.added.is_special_content(token)) continue;
    tokens.push_back(token);
  }
  return m.decode_strings(std::move(tokens), hf::DecodeBytes::kLossy);
}

std::string HfTokenizer::piece_bytes(TokenId id) const {
  const Impl& m = impl();
  const std::string& token = m.token_string(id, std::string::npos);
  if (m.added.is_special_content(token)) return "";
  const std::string all = m.decode_strings({kLeadToken, token, kLeadToken}, hf::DecodeBytes::kRaw);
  const size_t lead = m.lead_bytes.size(), tail = m.tail_bytes.size();
  if (all.size() < lead + tail || all.compare(0, lead, m.lead_bytes) != 0 ||
      all.compare(all.size() - tail, tail, m.tail_bytes) != 0) {
    fail(m.path, "cannot spell token ", id, " on its own: the decoder joins it with its neighbours");
  }
  return all.substr(lead, all.size() - lead - tail);
}

const std::vector<TokenId>& HfTokenizer::prefix_ids() const { return impl().prefix_ids; }

std::string HfTokenizer::id_to_piece(TokenId id) const {
  const Impl& m = impl();
  if (const hf::AddedToken* t = m.added.token(id)) return t->content;
  if (const std::string* t = m.model->id_to_token(id)) return *t;
  fail(m.path, "id ", id, " has no token (the vocabulary is [0, ", m.n_vocab, "))");
}

TokenId HfTokenizer::piece_to_id(std::string_view piece) const { return impl().piece_to_id(piece); }

int64_t HfTokenizer::n_vocab() const { return impl().n_vocab; }
TokenId HfTokenizer::bos_id() const { return impl().bos_id; }
TokenId HfTokenizer::eos_id() const { return impl().eos_id; }
TokenId HfTokenizer::pad_id() const { return impl().pad_id; }
TokenId HfTokenizer::unk_id() const { return impl().unk_id; }

bool HfTokenizer::is_special(TokenId id) const {
  const hf::AddedToken* t = impl().added.token(id);
  return t != nullptr && t->special;
}

const std::string& HfTokenizer::path() const { return impl().path; }

}  // namespace sculpt
