// GPT-2's byte-to-unicode table (openai/gpt-2 encoder.py, bytes_to_unicode; tokenizers'
// pre_tokenizers/byte_level.rs, bytes_char): every byte gets a printable character, so
// byte-level BPE vocabularies are strings. The 188 printable bytes ('!'..'~', '¡'..'¬',
// '®'..'ÿ') map to themselves; the other 68 to U+0100.. in byte order (space -> 'Ġ' U+0120).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sculpt::hf {

// The character standing for each byte.
const std::array<char32_t, 256>& byte_to_unicode();

// The byte a character stands for, or -1 if it is not one of the 256.
int unicode_to_byte(char32_t c);

// Each byte of `bytes` as its UTF-8 encoded character ("Hi you" -> "HiĠyou").
std::string byte_level_encode(std::string_view bytes);

// ByteLevel's decoder for one token: the bytes its characters stand for; a token holding any
// other character (an added token such as "<|im_start|>\n") is kept as its own UTF-8 bytes.
std::string byte_level_token_bytes(std::string_view token);

}  // namespace sculpt::hf
