// Strict UTF-8 validation and the text-or-binary test; see text_check.h.
#include "core/text_check.h"

#include "core/error.h"

namespace sculpt {

int64_t first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return int64_t(i);
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return int64_t(i);
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return int64_t(i);
    }
    i += len;
  }
  return -1;
}

std::string not_text_reason(std::string_view text) {
  const size_t nul = text.find('\0');
  if (nul != std::string_view::npos) return str_cat("NUL byte at offset ", nul);
  const int64_t bad = first_invalid_utf8(text);
  if (bad >= 0) return str_cat("invalid UTF-8 at offset ", bad);
  return "";
}

}  // namespace sculpt
