// The BPE model of tokenizer.json (see bpe_model.h).
#include "core/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "core/hf_text.h"

namespace sculpt::hf {
namespace {

// One symbol of a word being merged (models/bpe/word.rs, Symbol): a doubly linked list over a
// vector, where a merged-away symbol keeps its slot with len 0.
struct Symbol {
  TokenId id;
  long prev;
  long next;
  size_t len;  // bytes of the word it covers; 0 once merged into its left neighbour
};

// A candidate merge in the queue (word.rs, Merge): lowest rank first, then leftmost.
struct Candidate {
  uint32_t rank;
  size_t pos;
  uint32_t new_id;
};
struct LaterCandidate {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

void add_symbol(std::vector<Symbol>& symbols, TokenId id, size_t len) {
  const long n = long(symbols.size());
  if (n > 0) symbols.back().next = n;
  symbols.push_back({id, n - 1, -1, len});
}

std::optional<std::string> optional_string(const json& j, const JsonAt& at, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) at[key].fail("expected a string or null, found ", json_kind(*it));
  return it->get<std::string>();
}

}  // namespace

std::unique_ptr<BpeModel> BpeModel::from_json(const json& j, const JsonAt& at) {
  require_object(j, at);
  const auto type = j.find("type");
  if (type != j.end()) {
    if (!type->is_string()) at["type"].fail("expected a string, found ", json_kind(*type));
    if (type->get<std::string>() != "BPE") {
      at["type"].unsupported(type->get<std::string>(),
                             "only BPE models are supported; WordPiece, WordLevel and "
                             "Unigram are not");
    }
  } else if (!j.contains("merges")) {
    at.fail("has no \"type\" and no merges (only BPE models are supported)");
  }
  check_keys(j, at,
             {"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
              "byte_fallback", "ignore_merges", "vocab", "merges"});
  const auto dropout = j.find("dropout");
  if (dropout != j.end() && !dropout->is_null()) {
    if (!dropout->is_number()) at["dropout"].fail("expected a number or null, found ", json_kind(*dropout));
    const double p = dropout->get<double>();
    if (!(p >= 0.0 && p <= 1.0)) at["dropout"].fail(p, " is outside [0, 1]");
    if (p > 0.0) at["dropout"].fail(p, " is not supported (BPE dropout is random; tokenization must be exact)");
  }
  std::unique_ptr<BpeModel> m(new BpeModel());
  m->where_ = at.file;
  m->unk_token_ = optional_string(j, at, "unk_token");
  m->continuing_subword_prefix_ = optional_string(j, at, "continuing_subword_prefix").value_or("");
  m->end_of_word_suffix_ = optional_string(j, at, "end_of_word_suffix").value_or("");
  m->fuse_unk_ = get_bool_or(j, at, "fuse_unk", false);
  m->byte_fallback_ = get_bool_or(j, at, "byte_fallback", false);
  m->ignore_merges_ = get_bool_or(j, at, "ignore_merges", false);
  m->load_vocab(member(j, at, "vocab"), at["vocab"]);
  m->load_merges(member(j, at, "merges"), at["merges"]);
  return m;
}

void BpeModel::load_vocab(const json& j, const JsonAt& at) {
  require_object(j, at);
  TokenId max_id = -1;
  for (auto it = j.begin(); it != j.end(); ++it) {
    max_id = std::max(max_id, TokenId(get_uint(it.value(), at[it.key()], uint64_t(kMaxId))));
  }
  // Ids must be dense enough that the id table is not mostly holes.
  if (max_id >= TokenId(2 * j.size() + 65536)) {
    at.fail("ids are too sparse: the largest is ", max_id, " for ", j.size(), " tokens");
  }
  vocab_r_.resize(size_t(max_id + 1));
  present_.assign(size_t(max_id + 1), false);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto id = size_t(it.value().get<uint64_t>());
    if (present_[id]) at[it.key()].fail("id ", id, " is also given to '", printable(vocab_r_[id]), "'");
    if (utf8_invalid_at(it.key()) != std::string::npos) at.fail("a token is not valid UTF-8");
    vocab_r_[id] = it.key();
    present_[id] = true;
  }
  // vocab_r_ is complete and never resized again: the views below stay valid.
  vocab_.reserve(j.size());
  for (size_t id = 0; id < vocab_r_.size(); ++id) {
    if (present_[id]) vocab_.emplace(vocab_r_[id], TokenId(id));
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_ids_[size_t(b)] = token_to_id(name);
  }
}

void BpeModel::load_merges(const json& j, const JsonAt& at) {
  if (!j.is_array()) at.fail("expected an array, found ", json_kind(j));
  merges_.reserve(j.size());
  // Legacy "a b" strings or [a, b] pairs (tokenizers >= 0.20), never mixed (models/bpe/serialization.rs).
  const bool pairs = !j.empty() && j[0].is_array();
  uint32_t rank = 0;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& m = j[i];
    if (pairs) {
      if (!m.is_array() || m.size() != 2 || !m[0].is_string() || !m[1].is_string()) {
        at[i].fail("expected a pair of strings, like the first merge");
      }
      add_merge(m[0].get<std::string>(), m[1].get<std::string>(), rank++, at[i]);
      continue;
    }
    if (!m.is_string()) at[i].fail("expected a string \"a b\", like the first merge");
    const std::string& line = m.get_ref<const std::string&>();
    if (line.rfind("#version", 0) == 0) continue;  // a merges.txt header, skipped by the library
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
      at[i].fail("'", printable(line), "' is not two tokens separated by one space");
    }
    add_merge(line.substr(0, space), line.substr(space + 1), rank++, at[i]);
  }
}

void BpeModel::add_merge(const std::string& a, const std::string& b, uint32_t rank, const JsonAt& at) {
  const TokenId a_id = token_to_id(a);
  const TokenId b_id = token_to_id(b);
  if (a_id < 0) at.fail("'", printable(a), "' is not in the vocabulary");
  if (b_id < 0) at.fail("'", printable(b), "' is not in the vocabulary");
  const std::string& prefix = continuing_subword_prefix_;
  if (b.size() < prefix.size()) at.fail("'", printable(b), "' is shorter than the continuing_subword_prefix");
  const std::string merged = a + b.substr(prefix.size());
  const TokenId new_id = token_to_id(merged);
  if (new_id < 0) at.fail("the merge result '", printable(merged), "' is not in the vocabulary");
  merges_[pair_key(a_id, b_id)] = {rank, uint32_t(new_id)};  // a repeated pair keeps its last rank
}

TokenId BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BpeModel::id_to_token(TokenId id) const {
  if (id < 0 || id >= TokenId(vocab_r_.size()) || !present_[size_t(id)]) return nullptr;
  return &vocab_r_[size_t(id)];
}

void BpeModel::tokenize(std::string_view word, std::vector<TokenId>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const TokenId id = token_to_id(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = word.size() < kCacheMaxLength;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cache_.find(std::string(word));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<TokenId> ids = merge_word(word);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::move(ids));
  }
}

std::vector<TokenId> BpeModel::merge_word(std::string_view w) const {
  // Initial symbols (model.rs, merge_word).
  std::vector<Symbol> symbols;
  symbols.reserve(w.size());
  // A pending unk symbol: its id and the bytes it covers (fused while fuse_unk holds).
  TokenId unk = -1;
  size_t unk_len = 0;
  const auto flush_unk = [&] {
    if (unk >= 0) add_symbol(symbols, unk, unk_len);
    unk = -1;
  };
  std::string s;
  for (size_t i = 0; i < w.size();) {
    const size_t begin = i;
    utf8_next(w, i);
    const size_t byte_len = i - begin;
    s.assign(begin > 0 ? continuing_subword_prefix_ : std::string());
    s.append(w.substr(begin, byte_len));
    if (i == w.size()) s += end_of_word_suffix_;
    const TokenId id = token_to_id(s);
    if (id >= 0) {
      flush_unk();
      add_symbol(symbols, id, byte_len);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char b : s) all = all && byte_ids_[static_cast<unsigned char>(b)] >= 0;
      if (all) {  // (a pending unk stays pending, as in the library)
        for (char b : s) add_symbol(symbols, byte_ids_[static_cast<unsigned char>(b)], 1);
        continue;
      }
    }
    if (!unk_token_) continue;  // no unk token: the character is dropped
    if (unk >= 0 && fuse_unk_) {
      unk_len += byte_len;
      continue;
    }
    flush_unk();
    unk = token_to_id(*unk_token_);
    if (unk < 0) fail(where_, "model.unk_token '", printable(*unk_token_), "' is not in the vocabulary");
    unk_len = byte_len;
  }
  flush_unk();

  // Merges (word.rs, merge_all without dropout).
  std::priority_queue<Candidate, std::vector<Candidate>, LaterCandidate> queue;
  const auto candidate = [&](TokenId left, TokenId right, size_t pos) {
    const auto it = merges_.find(pair_key(left, right));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.new_id});
  };
  for (size_t k = 0; k + 1 < symbols.size(); ++k) candidate(symbols[k].id, symbols[k + 1].id, k);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& cur = symbols[top.pos];
    if (cur.len == 0 || cur.next == -1) continue;
    const auto next_pos = size_t(cur.next);
    const Symbol right = symbols[next_pos];
    const auto it = merges_.find(pair_key(cur.id, right.id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;  // an expired entry
    cur.id = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    symbols[next_pos].len = 0;
    if (right.next > -1 && size_t(right.next) < symbols.size()) symbols[size_t(right.next)].prev = long(top.pos);
    if (cur.prev >= 0) candidate(symbols[size_t(cur.prev)].id, cur.id, size_t(cur.prev));
    if (cur.next >= 0 && size_t(cur.next) < symbols.size()) candidate(cur.id, symbols[size_t(cur.next)].id, top.pos);
  }
  std::vector<TokenId> ids;
  ids.reserve(symbols.size());
  for (const Symbol& sym : symbols) {
    if (sym.len != 0) ids.push_back(sym.id);
  }
  return ids;
}

}  // namespace sculpt::hf
