// Is this text? The one policy every corpus reader applies (training shards, retrieval
// indexes): a file with a NUL byte or with bytes that are not strict UTF-8 is not a text
// document; readers skip it with a warning naming the file and the offset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sculpt {

// Offset of the first byte that is not strict UTF-8 (overlong forms, surrogates and code points
// above U+10FFFF are refused), or -1 if the whole text is valid.
int64_t first_invalid_utf8(std::string_view s);

// Why `text` is not a text document ("NUL byte at offset 12", "invalid UTF-8 at offset 3"),
// or "" if it is one.
std::string not_text_reason(std::string_view text);

}  // namespace sculpt
