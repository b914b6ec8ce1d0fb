#!/usr/bin/env python3
"""scripts/brown_text.py: each detokenisation rule on a hand-written Brown fragment, paragraphs and
headlines, and the genre-stratified split (sizes, determinism, every genre in every split, the private
genre in none)."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import brown_text  # noqa: E402


def para(tagged):
    return brown_text.detokenize([brown_text.strip_tag(t) for t in tagged.split()])


class Detokenize(unittest.TestCase):
    def test_punctuation_attaches_to_the_word_before(self):
        self.assertEqual(para("The/at jury/nn ,/, which/wdt had/hvd charge/nn ;/. said/vbd so/rb ./."),
                         "The jury, which had charge; said so.")

    def test_double_quotes_enclose_and_take_the_final_punctuation(self):
        self.assertEqual(para("laws/nns ``/`` are/ber outmoded/jj ''/'' ./."), 'laws "are outmoded."')
        self.assertEqual(para("``/`` Gawdamighty/uh ''/'' !/. !/. One/pn screeched/vbd ./."),
                         '"Gawdamighty!" One screeched.')
        self.assertEqual(para("``/`` Only/rb a/at few/ap ''/'' ,/, the/at jury/nn said/vbd"),
                         '"Only a few," the jury said')

    def test_brackets_single_quotes_dashes_and_repeats(self):
        self.assertEqual(para("a/at (/( b/nn )/) c/nn"), "a (b) c")
        self.assertEqual(para("more/ap '/' pro/jj '/' than/in '/' con/jj '/'"), "more 'pro' than 'con'")
        self.assertEqual(para("its/pp$ tone/nn --/-- repetitive/jj"), "its tone -- repetitive")
        self.assertEqual(para("Ivan/np Allen/np Jr./np ./."), "Ivan Allen Jr.")
        self.assertEqual(para("June/np ;/. ;/. or/cc"), "June; or")
        self.assertEqual(para("let/vb **zg be/be"), "let be")

    def test_paragraphs_and_headlines(self):
        text = ("\n\n\tThe/at jury/nn said/vbd ./.\nIt/pps urged/vbd ./.\n\n\n\n"
                "Merger/nn-hl proposed/vbn-hl \nHowever/wrb ,/, it/pps said/vbd ./.\n\n\n\tEnd/nn ./.\n")
        self.assertEqual(brown_text.paragraphs(text),
                         ["The jury said. It urged.", "Merger proposed", "However, it said.", "End."])


class Split(unittest.TestCase):
    def test_stratified_deterministic_and_about_90_5_5(self):
        genres = {f"c{g}{i:02d}": g for g in "abc" for i in range(1, 41)}
        genres.update({f"cx{i:02d}": "small" for i in range(1, 7)})
        split = brown_text.assign_splits(genres)
        self.assertEqual(split, brown_text.assign_splits(dict(reversed(list(genres.items())))))
        for g in ["a", "b", "c", "small"]:
            names = [n for n in genres if genres[n] == g]
            held = [split[n] for n in names]
            self.assertGreaterEqual(held.count("validation"), 1, g)
            self.assertGreaterEqual(held.count("test"), 1, g)
        for g in "abc":
            held = [split[n] for n in genres if genres[n] == g]
            self.assertEqual((held.count("train"), held.count("validation"), held.count("test")), (36, 2, 2))

    def test_the_private_genre_is_in_no_default_split(self):
        genres = {f"ca{i:02d}": "news" for i in range(1, 21)}
        genres.update({f"ch{i:02d}": brown_text.PRIVATE_GENRE for i in range(1, 31)})
        split = brown_text.assign_splits(genres)
        private = [split[n] for n in sorted(genres) if genres[n] == brown_text.PRIVATE_GENRE]
        self.assertEqual((private.count("private/train"), private.count("private/test")), (24, 6))
        self.assertEqual(private[4], "private/test")
        self.assertTrue(all(split[n] in ("train", "validation", "test") for n in genres if genres[n] == "news"))


class Main(unittest.TestCase):
    def test_writes_one_text_file_per_document_and_the_split_table_outside_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            src, out, tsv = os.path.join(tmp, "package"), os.path.join(tmp, "brown"), os.path.join(tmp, "s.tsv")
            jsonl = os.path.join(tmp, "evaluator.jsonl")
            os.makedirs(src)
            names = [f"ca{i:02d}" for i in range(1, 5)] + [f"ch{i:02d}" for i in range(1, 6)]
            genres = {n: "news" if n < "ch" else brown_text.PRIVATE_GENRE for n in names}
            with open(os.path.join(src, "cats.txt"), "w") as f:
                f.writelines(f"{n} {genres[n]}\n" for n in names)
            for n in names:
                with open(os.path.join(src, n), "w") as f:
                    f.write(f"\n\n\tThe/at {n}/np story/nn ./.\n\n\n\tEnd/nn ./.\n")
            brown_text.main(["brown_text.py", src, out, tsv, jsonl])
            split = brown_text.assign_splits(genres)
            for n in names:
                with open(os.path.join(out, split[n], n + ".txt")) as f:
                    self.assertEqual(f.read(), f"The {n} story.\n\nEnd.\n")
            self.assertEqual(sorted(os.listdir(out)), ["private", "test", "train", "validation"])
            self.assertEqual(sorted(os.listdir(os.path.join(out, "private"))), ["test", "train"])
            with open(tsv) as f:
                rows = [line.rstrip("\n").split("\t") for line in f]
            self.assertEqual(rows[0], ["file", "genre", "split", "paragraphs", "words"])
            self.assertEqual(rows[1:], [[n, genres[n], split[n], "2", "4"] for n in names])
            # The evaluator's corpus: every train and private/train document, nothing held out.
            with open(jsonl) as f:
                docs = [json.loads(line) for line in f]
            wanted = [n for n in names if split[n] in ("train", "private/train")]
            self.assertEqual([d["id"] for d in docs], [f"{split[n]}/{n}" for n in wanted])
            self.assertEqual([d["text"] for d in docs], [f"The {n} story.\n\nEnd.\n" for n in wanted])
            self.assertTrue(any(split[n] == "private/train" for n in wanted))

    def test_refuses_a_corpus_without_the_private_genre(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, "package"))
            with open(os.path.join(tmp, "package", "cats.txt"), "w") as f:
                f.write("ca01 news\n")
            with self.assertRaises(SystemExit) as e:
                brown_text.main(["brown_text.py", os.path.join(tmp, "package"), os.path.join(tmp, "o"),
                                 os.path.join(tmp, "s.tsv"), os.path.join(tmp, "e.jsonl")])
            self.assertIn("no document of genre government", str(e.exception.code))

    def test_refuses_a_folder_that_is_not_the_package(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(SystemExit) as e:
                brown_text.main(["brown_text.py", tmp, os.path.join(tmp, "o"), os.path.join(tmp, "s.tsv"),
                                 os.path.join(tmp, "e.jsonl")])
            self.assertIn("cats.txt is missing", str(e.exception.code))


if __name__ == "__main__":
    unittest.main()
