// UTF-8 helpers, NormalizedText and split_by_matches (see hf_text.h).
#include "core/hf_text.h"

#include <unicode/uchar.h>

#include <algorithm>

namespace sculpt::hf {

// ---------------------------------------------------------------------------------------------
// UTF-8

namespace {

// For a lead byte: how many continuation bytes follow, and the allowed range of the first one
// (Unicode Table 3-7, well-formed UTF-8 byte sequences). n == -1 for a byte that cannot lead.
struct LeadInfo {
  int n;
  unsigned char lo, hi;
};

LeadInfo lead_info(unsigned char b) {
  if (b < 0x80) return {0, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return {2, 0x80, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};
  return {-1, 0, 0};
}

// The length of the well-formed sequence at s[i], or -(length of its maximal subpart) if it is
// ill-formed (at least 1, so that a decoder always advances).
long sequence_at(std::string_view s, size_t i) {
  const LeadInfo info = lead_info(static_cast<unsigned char>(s[i]));
  if (info.n < 0) return -1;
  for (int k = 1; k <= info.n; ++k) {
    if (i + k >= s.size()) return -k;
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char lo = k == 1 ? info.lo : 0x80;
    const unsigned char hi = k == 1 ? info.hi : 0xBF;
    if (b < lo || b > hi) return -k;
  }
  return info.n + 1;
}

}  // namespace

size_t utf8_invalid_at(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const long n = sequence_at(s, i);
    if (n < 0) return i;
    i += size_t(n);
  }
  return std::string_view::npos;
}

size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  return 1;
}

char32_t utf8_next(std::string_view s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const size_t n = std::min(utf8_length(b), s.size() - i);
  char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return c;
}

void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {
      out += bytes[i++];
      continue;
    }
    const long n = sequence_at(bytes, i);
    if (n > 0) {
      out.append(bytes.substr(i, size_t(n)));
      i += size_t(n);
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for the maximal subpart
      i += size_t(-n);
    }
  }
  return out;
}

bool is_white_space(char32_t c) { return u_hasBinaryProperty(UChar32(c), UCHAR_WHITE_SPACE); }

bool is_numeric(char32_t c) {
  const int8_t t = u_charType(UChar32(c));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

bool is_word_char(char32_t c) {
  const auto u = UChar32(c);
  const uint32_t mask = U_GET_GC_MASK(u);
  return u_hasBinaryProperty(u, UCHAR_ALPHABETIC) || (mask & U_GC_M_MASK) != 0 ||
         (mask & (U_GC_ND_MASK | U_GC_PC_MASK)) != 0 || u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL);
}

bool is_punctuation(char32_t c) {
  if (c < 0x80)
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
  return (U_GET_GC_MASK(UChar32(c)) & U_GC_P_MASK) != 0;
}

// ---------------------------------------------------------------------------------------------
// NormalizedText

NormalizedText make_normalized(std::string_view input) {
  NormalizedText t;
  t.text.assign(input);
  t.origin.resize(input.size());
  for (size_t i = 0; i < input.size();) {
    const size_t start = i;
    const size_t n = std::min(utf8_length(static_cast<unsigned char>(input[i])), input.size() - i);
    for (size_t k = 0; k < n; ++k) t.origin[i + k] = uint32_t(start);
    i += n;
  }
  return t;
}

NormalizedText slice(const NormalizedText& t, size_t begin, size_t end) {
  NormalizedText out;
  out.text = t.text.substr(begin, end - begin);
  out.origin.assign(t.origin.begin() + long(begin), t.origin.begin() + long(end));
  // An empty slice is dropped by every caller; its shift only has to be defined.
  out.shift = begin < t.origin.size() ? t.origin[begin] : t.shift;
  return out;
}

void append(NormalizedText& t, std::string_view bytes, uint32_t origin) {
  t.text.append(bytes);
  t.origin.insert(t.origin.end(), bytes.size(), origin);
}

std::vector<NormalizedText> split_by_matches(const NormalizedText& t, std::vector<Match> matches,
                                             SplitBehavior behavior) {
  // (range, remove) pairs, folded exactly as NormalizedString::split does.
  struct Part {
    size_t begin, end;
    bool remove;
  };
  std::vector<Part> parts;
  parts.reserve(matches.size());
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Match& m : matches) parts.push_back({m.begin, m.end, false});
      break;
    case SplitBehavior::kRemoved:
      for (const Match& m : matches) parts.push_back({m.begin, m.end, m.is_match});
      break;
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Match& m : matches) {
        if (m.is_match == previous_match && !parts.empty()) {
          parts.back().end = m.end;
        } else {
          parts.push_back({m.begin, m.end, false});
        }
        previous_match = m.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Match& m : matches) {
        if (m.is_match && !previous_match && !parts.empty()) {
          parts.back().end = m.end;
        } else {
          parts.push_back({m.begin, m.end, false});
        }
        previous_match = m.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;  // the part to the right, walking backwards
      for (auto m = matches.rbegin(); m != matches.rend(); ++m) {
        if (m->is_match && !previous_match && !parts.empty()) {
          parts.back().begin = m->begin;
        } else {
          parts.push_back({m->begin, m->end, false});
        }
        previous_match = m->is_match;
      }
      std::reverse(parts.begin(), parts.end());
      break;
    }
  }
  std::vector<NormalizedText> out;
  out.reserve(parts.size());
  for (const Part& p : parts) {
    if (!p.remove) out.push_back(slice(t, p.begin, p.end));
  }
  return out;
}

}  // namespace sculpt::hf
