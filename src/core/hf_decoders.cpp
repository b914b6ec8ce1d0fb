// tokenizer.json decoders (see hf_decoders.h). Each cites the tokenizers source it follows;
// where the library would panic (Strip or BPEDecoder on degenerate input) these return what
// the bounds allow instead.
#include "core/hf_decoders.h"

#include <cctype>

#include "core/byte_level.h"
#include "core/hf_regex.h"
#include "core/hf_text.h"

namespace sculpt::hf {
namespace {

// ByteLevel (pre_tokenizers/byte_level.rs, Decoder): all tokens' bytes, then lossy UTF-8.
class ByteLevel : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes mode) const override {
    std::string bytes;
    for (const std::string& t : tokens) bytes += byte_level_token_bytes(t);
    return {mode == DecodeBytes::kRaw ? bytes : utf8_lossy(bytes)};
  }
};

// Metaspace (pre_tokenizers/metaspace.rs, Decoder): the replacement character becomes a space,
// except in the first token, where it is dropped unless prepend_scheme is "never".
class Metaspace : public Decoder {
 public:
  Metaspace(char32_t replacement, bool drop_first) : replacement_(replacement), drop_first_(drop_first) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (size_t k = 0; k < t.size();) {
        const size_t at = k;
        if (utf8_next(t, k) != replacement_) {
          out.append(t, at, k - at);
        } else if (i != 0 || !drop_first_) {
          out += ' ';
        }
      }
      tokens[i] = std::move(out);
    }
    return tokens;
  }

 private:
  char32_t replacement_;
  bool drop_first_;
};

// Replace (normalizers/replace.rs, Decoder): each match in each token becomes `content`.
class Replace : public Decoder {
 public:
  Replace(std::unique_ptr<OnigRegex> regex, std::string content)
      : regex_(std::move(regex)), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes) const override {
    for (std::string& t : tokens) {
      std::string out;
      for (const Match& m : regex_->find_matches(t)) {
        if (m.is_match) {
          out += content_;
        } else {
          out.append(t, m.begin, m.end - m.begin);
        }
      }
      t = std::move(out);
    }
    return tokens;
  }

 private:
  std::unique_ptr<OnigRegex> regex_;
  std::string content_;
};

// The byte of a "<0xNN>" token, as u8::from_str_radix(&token[3..5], 16) reads it (which also
// takes "+N"); -1 for any other token.
int byte_token_value(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  const auto hex = [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c))
               ? (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10))
               : -1;
  };
  if (t[3] == '+') return hex(t[4]);
  const int hi = hex(t[3]);
  const int lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// ByteFallback (decoders/byte_fallback.rs): runs of <0xNN> tokens become their text, or one
// U+FFFD per byte if the run is not valid UTF-8 (their bytes as they are with DecodeBytes::kRaw).
class ByteFallback : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes mode) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t n_bytes = 0;
    const auto flush = [&] {
      if (n_bytes == 0) return;
      if (mode == DecodeBytes::kRaw || utf8_invalid_at(bytes) == std::string::npos) {
        out.push_back(bytes);
      } else {
        for (size_t i = 0; i < n_bytes; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      bytes.clear();
      n_bytes = 0;
    };
    for (std::string& t : tokens) {
      const int b = byte_token_value(t);
      if (b >= 0) {
        bytes += char(b);
        ++n_bytes;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }
};

// Fuse (decoders/fuse.rs): all tokens as one.
class Fuse : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    return {all};
  }
};

// Strip (decoders/strip.rs): up to `start` leading and `stop` trailing `content` characters
// removed from each token.
class Strip : public Decoder {
 public:
  Strip(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes) const override {
    for (std::string& t : tokens) {
      std::vector<size_t> starts;  // byte offset of each character
      for (size_t k = 0; k < t.size();) {
        starts.push_back(k);
        utf8_next(t, k);
      }
      const auto char_at = [&](size_t i) {
        size_t k = starts[i];
        return utf8_next(t, k);
      };
      size_t start_cut = 0;
      for (size_t i = 0; i < std::min(start_, starts.size()) && char_at(i) == content_; ++i) start_cut = i + 1;
      size_t stop_cut = starts.size();
      for (size_t i = 0; i < std::min(stop_, starts.size()) && char_at(starts.size() - i - 1) == content_; ++i) {
        stop_cut = starts.size() - i - 1;
      }
      if (stop_cut <= start_cut) {
        t.clear();
        continue;
      }
      const size_t begin = start_cut < starts.size() ? starts[start_cut] : t.size();
      const size_t end = stop_cut < starts.size() ? starts[stop_cut] : t.size();
      t = t.substr(begin, end - begin);
    }
    return tokens;
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

// WordPiece (decoders/wordpiece.rs): "##" continuations glued on, other tokens after a space,
// and optionally the English clean-up of spaces before punctuation and contractions.
class WordPiece : public Decoder {
 public:
  WordPiece(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) t = t.compare(0, prefix_.size(), prefix_) == 0 ? t.substr(prefix_.size()) : " " + t;
      if (cleanup_) {
        for (const auto& [from, to] : kCleanup) replace_all(t, from, to);
      }
    }
    return tokens;
  }

 private:
  static constexpr std::pair<std::string_view, std::string_view> kCleanup[] = {
      {" .", "."},   {" ?", "?"},           {" !", "!"},   {" ,", ","},     {" ' ", "'"},   {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  std::string prefix_;
  bool cleanup_;
};

// BPEDecoder (decoders/bpe.rs): the end-of-word suffix becomes a space (nothing in the last token).
class BpeSuffix : public Decoder {
 public:
  explicit BpeSuffix(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes) const override {
    for (size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
    return tokens;
  }

 private:
  std::string suffix_;
};

class Sequence : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens, DecodeBytes mode) const override {
    for (const auto& p : parts_) tokens = p->decode_chain(std::move(tokens), mode);
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

size_t get_count(const json& j, const JsonAt& at, const char* key) {
  return size_t(get_uint(member(j, at, key), at[key], 1u << 20));
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& j, const JsonAt& at) {
  const std::string type = component_type(j, at);
  if (type == "ByteLevel") {
    check_keys(j, at, {"type", "add_prefix_space", "trim_offsets", "use_regex"});
    return std::make_unique<ByteLevel>();
  }
  if (type == "Metaspace") {
    check_keys(j, at, {"type", "replacement", "add_prefix_space", "prepend_scheme", "split", "str_rep"});
    const char32_t replacement = get_char(j, at, "replacement");
    std::string scheme = j.contains("prepend_scheme") ? get_string(j, at, "prepend_scheme") : "always";
    if (scheme != "first" && scheme != "always" && scheme != "never") {
      at["prepend_scheme"].unsupported(scheme, "expected first, always or never");
    }
    if (!get_bool_or(j, at, "add_prefix_space", true)) {
      if (scheme != "never") at["add_prefix_space"].fail("false does not match prepend_scheme");
    }
    get_bool_or(j, at, "split", true);
    return std::make_unique<Metaspace>(replacement, /*drop_first=*/scheme != "never");
  }
  if (type == "Replace") {
    check_keys(j, at, {"type", "pattern", "content"});
    return std::make_unique<Replace>(make_pattern(member(j, at, "pattern"), at["pattern"]),
                                     get_string(j, at, "content"));
  }
  if (type == "ByteFallback") {
    check_keys(j, at, {"type"});
    return std::make_unique<ByteFallback>();
  }
  if (type == "Fuse") {
    check_keys(j, at, {"type"});
    return std::make_unique<Fuse>();
  }
  if (type == "Strip") {
    check_keys(j, at, {"type", "content", "start", "stop"});
    return std::make_unique<Strip>(get_char(j, at, "content"), get_count(j, at, "start"), get_count(j, at, "stop"));
  }
  if (type == "WordPiece") {
    check_keys(j, at, {"type", "prefix", "cleanup"});
    return std::make_unique<WordPiece>(get_string(j, at, "prefix"), get_bool(j, at, "cleanup"));
  }
  if (type == "BPEDecoder") {
    check_keys(j, at, {"type", "suffix"});
    return std::make_unique<BpeSuffix>(get_string(j, at, "suffix"));
  }
  if (type == "Sequence") {
    check_keys(j, at, {"type", "decoders"});
    const json& list = member(j, at, "decoders");
    if (!list.is_array()) at["decoders"].fail("expected an array, found ", json_kind(list));
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t i = 0; i < list.size(); ++i) parts.push_back(make_decoder(list[i], at["decoders"][i]));
    return std::make_unique<Sequence>(std::move(parts));
  }
  at["type"].unsupported(type,
                         "supported decoders: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, WordPiece, "
                         "BPEDecoder, Sequence");
}

}  // namespace sculpt::hf
