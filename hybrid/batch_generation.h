// Batch generation: every prompt of a JSONL prompt file (hybrid/prompt_file.h) through the
// pipeline, with the results in input order in a JSONL output file; sharded over the ranks of
// a multi-process run (core/distributed.h) and resumable after a crash or a kill.
//
//   BatchGenerationOptions o;  o.prompts_path = "prompts.jsonl";  o.out_path = "out.jsonl";
//   BatchGenerationSummary s = generate_batch(pipeline, o);
//
// While it runs, each rank appends the prompts it finishes to <out>.parts/rank-R.jsonl, one
// fsynced line per prompt; a run that is stopped keeps them. A new run over the same prompts
// and config reads every part file, skips the prompts done and deals the rest round-robin over
// its ranks (any number of them). When none is left, rank 0 writes <out> atomically, in input
// order, and removes <out>.parts. Each output line:
//   {"index": i, "id": ..., "prompt": ..., "text": ..., "draft": ..., "tokens": n,
//    "seconds": s, "config_hash": ...}
// Generation is deterministic per prompt (the samplers are seeded per call), so the texts do
// not depend on how the prompts were sharded.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace sculpt {

class Communicator;
class Pipeline;

struct BatchGenerationOptions {
  std::string prompts_path;       // JSONL prompt file
  std::string out_path;           // JSONL output; <out_path>.parts/ while unfinished
  Communicator* comm = nullptr;   // nullptr = this process alone
  std::ostream* log = nullptr;    // progress lines (rank 0); nullptr = none
};

struct BatchGenerationSummary {
  int64_t n_prompts = 0;     // in the prompt file
  int64_t n_done_before = 0; // finished by earlier runs
  int64_t n_generated = 0;   // by this rank in this run
  bool complete = false;     // <out_path> is written
};

// Throws Error naming the file (and line) for a bad prompt file, for part or output files made
// from other prompts or another config (remove them to start over), and for a prompt the
// pipeline rejects (what was finished is kept for the next run).
BatchGenerationSummary generate_batch(Pipeline& pipeline, const BatchGenerationOptions& options);

}  // namespace sculpt
