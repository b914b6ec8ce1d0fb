// SectionPrinter: sections to stdout as they finish; see section_printer.h.
#include "cli/section_printer.h"

#include <cstdio>

#include "hybrid/text_diff.h"

namespace sculpt::cli {

void SectionPrinter::on_section(const SectionEvent& e) {
  // Diffusion only has no draft to compare with: its text is printed as it is.
  const std::string out =
      mode_ == kEdits && !e.draft_text.empty() ? render_word_diff(e.draft_text, e.text, colour_) : e.text;
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace sculpt::cli
