#!/usr/bin/env python3
"""Makes the Brown retrieval query set: for each document of data/brown/train, one of its
sentences (8 to 40 words, chosen with a fixed seed) is the query and the document is the only
relevant answer. Writes JSONL lines {"query": ..., "relevant": [doc id]} for `sculpt eval retrieval`.

usage: make_brown_queries.py [BROWN_TEXT_DIR] [OUT_JSONL] [--seed N]
"""
import argparse
import json
import pathlib
import random
import re


def sentences(text):
    for paragraph in text.splitlines():
        # Brown is tokenised: sentence ends are " . ", " ? ", " ! " (possibly before closing quotes).
        for s in re.split(r"(?<=[.?!])\s+(?=[A-Z`'\"(])", paragraph.strip()):
            n = len(s.split())
            if 8 <= n <= 40:
                yield s


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default=str(root / "data/brown/train"))
    ap.add_argument("out", nargs="?", default=str(root / "data/brown-queries.jsonl"))
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    files = sorted(pathlib.Path(args.corpus).glob("*.txt"))
    if not files:
        raise SystemExit(f"make_brown_queries: no .txt files in {args.corpus}; run scripts/prepare_brown.sh")
    n = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for f in files:
            candidates = list(sentences(f.read_text(encoding="utf-8")))
            if not candidates:
                continue
            out.write(json.dumps({"query": rng.choice(candidates), "relevant": [f.stem]}) + "\n")
            n += 1
    print(f"make_brown_queries: {n} queries in {args.out}")


if __name__ == "__main__":
    main()
