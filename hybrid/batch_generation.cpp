// Sharded, resumable batch generation; see batch_generation.h.
#include "hybrid/batch_generation.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/config.h"
#include "core/content_hash.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/progress.h"
#include "hybrid/pipeline.h"
#include "hybrid/prompt_file.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// An append-only file of JSON lines, each made durable (fsync) before the next prompt starts.
class Journal {
 public:
  explicit Journal(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(path, "cannot open for appending: ", errno_text(errno));
  }
  ~Journal() { if (fd_ >= 0) ::close(fd_); }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  void append(const std::string& line) {
    const std::string text = line + "\n";
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(path_, "cannot append: ", errno_text(errno));
      done += size_t(n);
    }
    if (::fsync(fd_) != 0) fail(path_, "cannot fsync: ", errno_text(errno));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// A kill while appending can leave a last line without its newline: cut it off, so that the
// next append starts on a line of its own.
void drop_torn_tail(const std::string& path) {
  if (!file_exists(path)) return;
  const std::string text = read_file(path, size_t(1) << 36);
  if (text.empty() || text.back() == '\n') return;
  const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  fs::resize_file(path, keep);
}

struct Finished {
  json record;
  std::string where;  // file:line, for messages
};

// Checks a finished record against the prompt file and the config it must come from.
void check_record(const json& r, const std::string& where, const std::vector<PromptRecord>& prompts,
                  const std::string& config_hash, const std::string& remedy) {
  if (!r.is_object() || !r.contains("index") || !r["index"].is_number_integer() || !r.contains("prompt") ||
      !r.contains("config_hash"))
    fail(where, "is not a batch-generation record; ", remedy);
  const int64_t i = r["index"].get<int64_t>();
  if (i < 0 || i >= int64_t(prompts.size()) || r["prompt"] != prompts[size_t(i)].prompt)
    fail(where, "was generated from a different prompt file (prompt ", i, " differs); ", remedy);
  if (r["config_hash"] != config_hash) fail(where, "was generated with a different config; ", remedy);
}

// Every complete record in the part files, by prompt index.
std::map<int64_t, Finished> read_parts(const std::string& parts_dir, const std::vector<PromptRecord>& prompts,
                                       const std::string& config_hash) {
  std::map<int64_t, Finished> done;
  if (!fs::is_directory(parts_dir)) return done;
  const std::string remedy = str_cat("remove ", parts_dir, " to start over");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(parts_dir))
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const std::string text = read_file(file.string(), size_t(1) << 36);
    size_t begin = 0;
    for (int64_t line_no = 1;; ++line_no) {
      const size_t end = text.find('\n', begin);
      if (end == std::string::npos) break;  // a torn last line (a kill mid-append) is not a record
      const std::string where = str_cat(file.string(), ":", line_no);
      const json r = json::parse(text.substr(begin, end - begin), nullptr, /*allow_exceptions=*/false);
      if (r.is_discarded()) fail(where, "is not JSON; ", remedy);
      check_record(r, where, prompts, config_hash, remedy);
      done[r["index"].get<int64_t>()] = {r, where};
      begin = end + 1;
    }
  }
  return done;
}

// True when `out_path` already holds every prompt's result from this config.
bool output_complete(const std::string& out_path, const std::vector<PromptRecord>& prompts,
                     const std::string& config_hash) {
  if (!file_exists(out_path)) return false;
  const std::string remedy = str_cat("remove it or choose another output file");
  std::ifstream in(out_path);
  std::string line;
  int64_t n = 0;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    const std::string where = str_cat(out_path, ":", line_no);
    const json r = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (r.is_discarded()) fail(where, "is not JSON; ", remedy);
    check_record(r, where, prompts, config_hash, remedy);
    if (r["index"].get<int64_t>() != n) fail(where, "is out of order; ", remedy);
    ++n;
  }
  if (n != int64_t(prompts.size()))
    fail(out_path, "holds ", n, " results but the prompt file has ", prompts.size(), " prompts; ", remedy);
  return true;
}

}  // namespace

BatchGenerationSummary generate_batch(Pipeline& pipeline, const BatchGenerationOptions& o) {
  if (o.prompts_path.empty()) fail("batch generation", "no prompt file given");
  if (o.out_path.empty()) fail("batch generation", "no output file given");
  const int rank = o.comm ? o.comm->rank() : 0, world = o.comm ? o.comm->world_size() : 1;
  auto barrier = [&] { if (o.comm) o.comm->barrier(); };
  auto any_rank = [&](bool value) {  // true if it is true on some rank
    return o.comm ? o.comm->all_reduce_min(value ? 0.0 : 1.0) == 0.0 : value;
  };
  const std::vector<PromptRecord> prompts = read_prompt_file(o.prompts_path);
  const std::string config_hash = fnv1a_hex(dump_config(pipeline.config()));
  const std::string parts_dir = o.out_path + ".parts";
  BatchGenerationSummary summary;
  summary.n_prompts = int64_t(prompts.size());

  // Rank 0 looks at what exists first; then everyone reads the same parts before anyone
  // appends, so all ranks deal the remaining prompts alike.
  if (rank == 0) {
    if (!fs::exists(parts_dir) && output_complete(o.out_path, prompts, config_hash)) {
      summary.n_done_before = summary.n_prompts;
      summary.complete = true;
    } else {
      make_directories(parts_dir);
    }
  }
  if (any_rank(summary.complete)) {  // rank 0's verdict, everywhere
    summary.n_done_before = summary.n_prompts;
    summary.complete = true;
    return summary;
  }
  const std::string my_part = str_cat(parts_dir, "/rank-", rank, ".jsonl");
  drop_torn_tail(my_part);
  barrier();
  std::map<int64_t, Finished> done = read_parts(parts_dir, prompts, config_hash);
  barrier();
  summary.n_done_before = int64_t(done.size());

  std::vector<int64_t> mine;
  int64_t k = 0;
  for (int64_t i = 0; i < summary.n_prompts; ++i)
    if (!done.count(i) && k++ % world == rank) mine.push_back(i);
  if (o.log && rank == 0)
    *o.log << "generate: " << summary.n_prompts << " prompts, " << summary.n_done_before << " already done, "
           << (summary.n_prompts - summary.n_done_before) << " to write on " << world << " rank"
           << (world == 1 ? "" : "s") << std::endl;

  Journal journal(my_part);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i : mine) {
    const PromptRecord& p = prompts[size_t(i)];
    const auto start = std::chrono::steady_clock::now();
    PipelineResult r;
    try {
      r = pipeline.generate(p.prompt);
    } catch (const Error& e) {
      fail(str_cat(o.prompts_path, ": prompt ", i, " (id ", p.id, ")"), e.what());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    journal.append(json{{"index", i}, {"id", p.id}, {"prompt", p.prompt}, {"text", r.text}, {"draft", r.draft_text},
                        {"tokens", r.trace.n_generated}, {"seconds", seconds}, {"config_hash", config_hash}}
                       .dump());
    ++summary.n_generated;
    if (o.log && rank == 0) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double rate = double(summary.n_generated) / std::max(elapsed, 1e-9);
      *o.log << "generate: rank 0 " << summary.n_generated << "/" << mine.size() << " prompts, "
             << format_rate(rate) << " prompts/s, ETA "
             << format_duration(double(mine.size() - size_t(summary.n_generated)) / std::max(rate, 1e-9)) << std::endl;
    }
  }
  // Everyone is done: rank 0 assembles the output in input order.
  barrier();
  if (rank == 0) {
    done = read_parts(parts_dir, prompts, config_hash);
    if (int64_t(done.size()) == summary.n_prompts) {
      std::string text;
      for (auto& [i, f] : done) text += f.record.dump() + "\n";
      write_file_atomic(o.out_path, text);
      fs::remove_all(parts_dir);
      summary.complete = true;
    }
  }
  summary.complete = any_rank(summary.complete);
  return summary;
}

}  // namespace sculpt
