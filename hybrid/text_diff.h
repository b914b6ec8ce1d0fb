// What changed between two versions of a text, word by word: the refiner edits sub-word tokens,
// but a reader compares words. Texts are cut into units (runs of letters, digits and other
// non-space bytes, and runs of whitespace, each a unit), and the shortest edit script between
// the unit sequences is found with Myers' O((N+M)D) algorithm (Myers 1986, "An O(ND) Difference
// Algorithm and Its Variations"); neighbouring changed units form one change.
//
//   std::vector<TextChange> c = word_changes("the expensive car", "the fast car");
//   // c[0]: old [4, 13) "expensive", new [4, 8) "fast"
//   render_word_diff("the expensive car", "the fast car", /*colour=*/false);  // "the [-expensive-]{+fast+} car"
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace sculpt {

// One change: old_text [old_begin, old_end) became new_text [new_begin, new_end) (byte offsets);
// one side may be empty (an insertion or a deletion).
struct TextChange {
  size_t old_begin = 0, old_end = 0;
  size_t new_begin = 0, new_end = 0;
  std::string old_text, new_text;
};

// The changes that turn `before` into `after`, ascending, none touching another. Identical
// texts give none. Pure.
std::vector<TextChange> word_changes(const std::string& before, const std::string& after);

// The same with the offsets in code points (the unit a browser and Python count).
std::vector<TextChange> word_changes_in_code_points(const std::string& before, const std::string& after);

// `after` with each change shown in place: "[-old-]{+new+}" (as wdiff), or with colour as ANSI
// escapes (old struck through in red, new in bold green).
std::string render_word_diff(const std::string& before, const std::string& after, bool colour);

}  // namespace sculpt
