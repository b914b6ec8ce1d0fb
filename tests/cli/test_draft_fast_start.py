#!/usr/bin/env python3
"""`sculpt draft` through the launcher, which runs sculpt-draft (src/cli/draft_main.cpp): a draft,
greedy or sampled with a seed, is served without LibTorch and prints exactly what the
command-line program prints for the same request (JSON and streamed text); every other request
is handed to that program, which serves or reports it. Usage: test_draft_fast_start.py SCULPT_LAUNCHER SOURCE_DIR"""
import json
import os
import subprocess
import sys

launcher, source = sys.argv[1], sys.argv[2]
full = os.path.join(os.path.dirname(launcher), "libexec", "sculpt", "sculpt")
drafter = os.path.join(source, "models", "drafter")
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL", what)


def loaded_libraries(argv):
    """The shared libraries the dynamic linker loads while argv runs (LD_DEBUG=files), exec()s included."""
    r = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, LD_DEBUG="files"))
    return r.returncode, {line.split("file=")[1].split()[0] for line in r.stderr.splitlines() if "file=" in line}


def comparable(doc):
    """A --json document without its timings, which differ between runs."""
    doc = json.loads(doc)
    doc["timings"] = {k: v for k, v in doc["timings"].items() if not k.endswith("seconds") and "per_second" not in k}
    return doc


cases = [
    ["--prompt", "The jury said that the election", "--temperature", "0", "--max-tokens", "96"],
    ["--prompt", "It was", "--temperature", "0", "--repetition-penalty", "1.3", "--stop", "."],
    ["--prompt", "Mr. Hawksley said", "--temperature", "0", "--max-tokens", "600"],  # clamped to the context
    ["--prompt", "The jury said", "--seed", "5", "--max-tokens", "48"],  # sampled, at the default temperature
    ["--prompt", "He said", "--temperature", "0.7", "--top-p", "0.95", "--top-k", "50", "--min-p", "0.02",
     "--repetition-penalty", "1.2", "--seed", "9", "--max-tokens", "300", "--ignore-eos"],
    ["--prompt", "The jury said", "--temperature", "0", "--backend", "libtorch", "--max-tokens", "24"],
]
for case in cases:
    argv = ["draft", "--model", drafter] + case
    want = subprocess.run([full] + argv + ["--json"], capture_output=True, text=True)
    got = subprocess.run([launcher] + argv + ["--json"], capture_output=True, text=True)
    check(want.returncode == 0 and got.returncode == 0, f"{case}: exit {want.returncode} / {got.returncode}: {got.stderr}")
    if want.returncode == 0 and got.returncode == 0:
        check(comparable(got.stdout) == comparable(want.stdout), f"{case}: the JSON differs")
        check(got.stderr == want.stderr, f"{case}: stderr differs: {got.stderr!r} vs {want.stderr!r}")
    if "libtorch" not in case:  # served without LibTorch: the streamed text too
        want = subprocess.run([full] + argv, capture_output=True, text=True)
        got = subprocess.run([launcher] + argv, capture_output=True, text=True)
        check(got.returncode == 0 and got.stdout == want.stdout, f"{case}: the streamed text differs")

# Greedy and sampled drafts are served without loading LibTorch; --backend libtorch loads it (the control).
draft = ["draft", "--model", drafter, "--prompt", "The jury said", "--max-tokens", "32"]
for sampler in (["--temperature", "0"], ["--temperature", "0.8", "--top-p", "0.9"]):
    status, libraries = loaded_libraries([launcher] + draft + sampler)
    check(status == 0 and libraries and not any("torch" in lib for lib in libraries),
          f"a draft with {sampler} loaded LibTorch: " + " ".join(sorted(libraries)))
status, libraries = loaded_libraries([launcher] + draft + ["--backend", "libtorch"])
check(status == 0 and any("libtorch" in lib for lib in libraries), "--backend libtorch did not load LibTorch")

# What the command-line program reports, it still reports: one line, a non-zero exit.
for argv, want in [(["draft", "--model", "/nonexistent", "--prompt", "x", "--temperature", "0"], "does not exist"),
                   (["draft", "--prompt", "x"], "--model"),
                   (["draft", "--model", drafter, "--prompt", "x", "--max-tokens", "0"], "--max-tokens"),
                   (["draft", "--model", drafter, "--prompt", "x", "--top-p", "2", "--temperature", "0"], "top_p")]:
    r = subprocess.run([launcher] + argv, capture_output=True, text=True)
    check(r.returncode in (1, 2) and r.stderr.count("\n") == 1 and want in r.stderr, f"{argv}: {r.returncode} {r.stderr!r}")
r = subprocess.run([launcher, "draft", "--help"], capture_output=True, text=True)
check(r.returncode == 0 and "--temperature" in r.stdout, "sculpt draft --help")

print(f"{len(cases)} drafts compared; {len(failures)} failures")
sys.exit(1 if failures else 0)
