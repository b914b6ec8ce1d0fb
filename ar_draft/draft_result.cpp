// Names of the draft's stop reasons; see draft_result.h.
#include "ar_draft/draft_result.h"

namespace sculpt {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kMaxTokens: return "max_tokens";
    case StopReason::kEos: return "eos";
    case StopReason::kStopString: return "stop_string";
    case StopReason::kContext: return "context";
  }
  return "?";
}

}  // namespace sculpt
