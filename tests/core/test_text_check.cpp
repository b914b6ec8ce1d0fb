// core/text_check: strict UTF-8 (RFC 3629) and the text-or-binary test every corpus reader uses.
#include "core/text_check.h"

#include <gtest/gtest.h>

#include <string>

namespace sculpt {
namespace {

TEST(TextCheck, AcceptsValidUtf8OfEveryLength) {
  EXPECT_EQ(first_invalid_utf8(""), -1);
  EXPECT_EQ(first_invalid_utf8("plain ASCII"), -1);
  EXPECT_EQ(first_invalid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), -1);  // é € 😀
  EXPECT_EQ(first_invalid_utf8("\xf4\x8f\xbf\xbf"), -1);                          // U+10FFFF, the last
  EXPECT_EQ(not_text_reason("a line\nand another\n"), "");
}

TEST(TextCheck, RefusesWhatRfc3629Refuses) {
  EXPECT_EQ(first_invalid_utf8("caf\xe9!"), 3);               // Latin-1 é
  EXPECT_EQ(first_invalid_utf8("ab\xc0\x80"), 2);             // overlong NUL
  EXPECT_EQ(first_invalid_utf8("\xe0\x80\xaf"), 0);           // overlong '/'
  EXPECT_EQ(first_invalid_utf8("x\xed\xa0\x80"), 1);          // a UTF-16 surrogate
  EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0);       // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("ok\xe2\x82"), 2);             // truncated at the end
  EXPECT_EQ(first_invalid_utf8("\x80"), 0);                   // a lone continuation byte
  EXPECT_EQ(first_invalid_utf8("\xff\xfe"), 0);
}

TEST(TextCheck, SaysWhyATextIsNotOne) {
  EXPECT_EQ(not_text_reason(std::string("ab\0cd", 5)), "NUL byte at offset 2");
  EXPECT_EQ(not_text_reason("abc\xff"), "invalid UTF-8 at offset 3");
}

}  // namespace
}  // namespace sculpt
