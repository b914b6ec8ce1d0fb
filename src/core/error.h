// Sculpt's one error type and the helpers that build its messages.
//
// Policy: library code throws sculpt::Error whose message says where (a file, file:line, a key,
// a tensor name), what went wrong and why; it never calls exit() or abort(). The CLI and the
// public API boundary catch it and turn it into one line on stderr and a non-zero exit code.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace sculpt {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Work stopped because its caller asked it to (a client that went away, a deadline): not a
// failure of the input. Thrown between forward passes, so nothing is left half-written.
class Cancelled : public Error {
 public:
  using Error::Error;
};

// Concatenates anything streamable: str_cat("layer ", i, " has ", n, " heads").
template <class... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

// Throws Error("<where>: <message...>").
template <class... Args>
[[noreturn]] void fail(const std::string& where, Args&&... message) {
  throw Error(str_cat(where, ": ", std::forward<Args>(message)...));
}

// Describes errno for messages: "No such file or directory".
std::string errno_text(int err);

}  // namespace sculpt
