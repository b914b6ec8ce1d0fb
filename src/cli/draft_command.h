// `sculpt draft`'s options, params and output, shared by the command-line program (cli/cmd_draft.cpp)
// and the LibTorch-free program that serves greedy drafts (cli/draft_main.cpp), so that both
// read the same options and print the same text and JSON.
#pragma once

#include <string>

#include "ar_draft/draft_params.h"
#include "ar_draft/draft_result.h"
#include "cli/cli_util.h"

namespace sculpt::cli {

inline constexpr const char* kDraftUsage = "sculpt draft --model DIR --prompt TEXT [options]";

// The options of `sculpt draft` (--help added by parse_options).
po::options_description draft_options();

// The DraftParams of parsed options; UsageError for --max-tokens < 1, Error for sampler values
// out of range.
DraftParams draft_params(const po::variables_map& vm);

// Without --json the prompt is printed, then each token's text as it is drafted (on_token), then
// a newline (finish); with --json nothing streams and finish prints the JSON document.
class DraftPrinter {
 public:
  DraftPrinter(const std::string& prompt, bool json);
  TokenCallback on_token() const;
  void finish(const DraftResult& result, const DraftStats& stats, const DraftParams& params) const;

 private:
  bool json_;
};

}  // namespace sculpt::cli
