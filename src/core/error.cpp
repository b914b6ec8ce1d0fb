// Message helpers for sculpt::Error.
#include "core/error.h"

#include <cstring>

namespace sculpt {

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace sculpt
