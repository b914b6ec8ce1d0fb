// Helpers shared by the test suite: temporary folders and the Python reference interpreter.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>
#include <stdexcept>
#include <string>

#include "core/error.h"

namespace sculpt::testing {

// The message of the sculpt::Error that f() throws, or "" if it throws none.
template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const sculpt::Error& e) {
    return e.what();
  }
  return "";
}

// A fresh folder from mkdtemp, removed with everything in it when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "sculpt") {
    std::string pattern = "/tmp/" + tag + "_XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  size_t n_entries() const {
    return size_t(std::distance(std::filesystem::directory_iterator(path_), std::filesystem::directory_iterator()));
  }

 private:
  std::string path_;
};

// Writes bytes to path, creating its parent folders; throws if it cannot.
inline void write_file(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write test file " + path);
}

// A whole file as a string ("" if it cannot be read).
inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A few templated English sentences, different for each seed: a small corpus with a strongly
// predictable word order, for tests that train tokenizers and models.
inline std::string make_document(uint32_t seed, int n_sentences = 4) {
  static const std::vector<std::string> subjects = {"The sailor", "A student", "My neighbour", "The committee",
                                                    "Every engineer", "The librarian", "A small robot"};
  static const std::vector<std::string> verbs = {"reads", "writes about", "forgets", "repairs", "describes",
                                                 "sells", "paints"};
  static const std::vector<std::string> objects = {"the harbour", "a puzzle", "the museum", "olive oil",
                                                   "the weather", "the rules", "a recipe", "the schedule"};
  std::mt19937 rng(seed);
  std::string text;
  for (int i = 0; i < n_sentences; ++i) {
    if (i) text += (i % 2) ? " " : "\n";
    // Drawn in a fixed order (object, verb, subject): operands of + are unsequenced, and gcc and
    // clang would otherwise make different documents from one seed.
    const size_t object = rng() % objects.size(), verb = rng() % verbs.size(), subject = rng() % subjects.size();
    text += subjects[subject] + " " + verbs[verb] + " " + objects[object] + ".";
  }
  return text;
}

// Runs a shell command, returns its exit status and captures stdout+stderr into *output.
inline int run_command(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
  const int status = ::pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// True when Debian's python3 with torch and numpy is available for reference tests.
inline bool reference_python_available() {
  static const bool ok = run_command(std::string(SCULPT_REFERENCE_PYTHON) + " -c 'import torch, numpy'") == 0;
  return ok;
}

}  // namespace sculpt::testing
