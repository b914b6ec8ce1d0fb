// GPT-2's byte-to-unicode table (see byte_level.h).
#include "core/byte_level.h"

#include "core/hf_text.h"

namespace sculpt::hf {
namespace {

constexpr char32_t kFirstShifted = 0x100;  // where the 68 non-printable bytes go
constexpr char32_t kTableEnd = kFirstShifted + 68;

bool printable(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

struct Tables {
  std::array<char32_t, 256> to_unicode{};
  std::array<int16_t, kTableEnd> to_byte{};
  std::array<std::string, 256> utf8;  // to_unicode as UTF-8, for encoding
};

const Tables& tables() {
  static const Tables t = [] {
    Tables t;
    t.to_byte.fill(-1);
    char32_t next = kFirstShifted;
    for (int b = 0; b < 256; ++b) {
      t.to_unicode[size_t(b)] = printable(b) ? char32_t(b) : next++;
      t.to_byte[t.to_unicode[size_t(b)]] = int16_t(b);
      utf8_append(t.utf8[size_t(b)], t.to_unicode[size_t(b)]);
    }
    return t;
  }();
  return t;
}

}  // namespace

const std::array<char32_t, 256>& byte_to_unicode() { return tables().to_unicode; }

int unicode_to_byte(char32_t c) { return c < kTableEnd ? tables().to_byte[c] : -1; }

std::string byte_level_encode(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) out += t.utf8[static_cast<unsigned char>(b)];
  return out;
}

std::string byte_level_token_bytes(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    const int b = unicode_to_byte(utf8_next(token, i));
    if (b < 0) return std::string(token);  // not a byte-level token: its text as it is
    out += char(b);
  }
  return out;
}

}  // namespace sculpt::hf
