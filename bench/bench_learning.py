"""The learned fallback on real customer texts: what 300 of the center's corrections add.

Real tweets (US airlines, Russian banks and telecom) labelled by hand for intent live in
tests/data/real-labels (dev.tsv, heldout.tsv; the texts are read in place from
$FEEDBACKD_CORPUS/feedback/real-dev, see tests/data/real-labels/README.md). This benchmark
plays the feedback center: 300 rows of dev.tsv (chosen by a hash of their id, so the same 300
every run) are "cases the center corrected" — each taught to the model as its hand label
(`neither` as `unclassified`) — and the held-out file is then classified by the rules alone and
by the rules with the learned fallback, with the `learning:` settings of rules.yaml. Nothing
here is tuned on heldout.tsv: it is only read to print these figures.

    .venv/bin/python bench/bench_learning.py [--lessons 300] [--rules rules.yaml]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from daemon.adapters.config import load_rulebook  # noqa: E402
from daemon.core.learning import Example, Model, evaluate, fallback, learn, message_words  # noqa: E402
from daemon.core.mail.message import Message, make_message  # noqa: E402
from daemon.core.rules import UNCLASSIFIED, Decision, RuleBook, classify  # noqa: E402

LABELS = REPO / "tests" / "data" / "real-labels"
FILES = ("airline_tweets.csv", "sentirueval2016_banks.csv", "sentirueval2016_telecom.csv")
#: A hand label as the category the center would have moved the case to.
CATEGORY = {"complaint": "complaint", "thanks": "thanks", "official": "official"}


def corpus_dir() -> Path:
    root = Path(os.environ.get("FEEDBACKD_CORPUS", REPO.parent / "shared" / "corpus"))
    return root / "feedback" / "real-dev"


def texts() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in FILES:
        with open(corpus_dir() / name, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                out[row["id"]] = row["text"]
    return out


def labelled(name: str, text_of: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(id, lang, label, text) of one labels file."""
    with open(LABELS / name, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [(r["id"], r["lang"], r["label"], text_of[r["id"]]) for r in rows]


class Prefix:
    """A crude stand-in for a lemmatizer, to show what word forms cost: the first N letters."""

    def __init__(self, n: int):
        self.n = n

    def lemma(self, word: str) -> str:
        return word[: self.n]


def message(lang: str, text: str) -> Message:
    return make_message(body=text, language=lang)


def split(
    rows: list[tuple[str, str, str, str]], n: int
) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, str, str]]]:
    """The `n` lessons and the rest of dev.tsv (for tuning: never the held-out file)."""
    order = sorted(rows, key=lambda r: hashlib.sha256(f"lesson:{r[0]}".encode()).hexdigest())
    return order[:n], order[n:]


def lessons(chosen: list[tuple[str, str, str, str]], book: RuleBook) -> Model:
    model = Model()
    for rid, lang, label, text in chosen:
        words = message_words(message(lang, text), book)
        model = learn(model, Example(rid, CATEGORY.get(label, UNCLASSIFIED), words, "reclassified"))
    return model


def figures(
    rows: list[tuple[str, str, str, str]],
    decide: Callable[[Message, RuleBook], Decision],
    book: RuleBook,
) -> dict[str, tuple[int, int]]:
    got = [(label, decide(message(lang, text), book)) for _, lang, label, text in rows]
    complaints = [d for label, d in got if label == "complaint"]
    thanks_said = [label for label, d in got if d.category == "thanks"]
    neither = [d for label, d in got if label == "neither"]
    return {
        "complaints caught": (
            sum(d.category in ("complaint", "official") for d in complaints),
            len(complaints),
        ),
        "thanks precision": (sum(label == "thanks" for label in thanks_said), len(thanks_said)),
        "complaint->thanks": (sum(d.category == "thanks" for d in complaints), len(complaints)),
        "neither kept out": (
            sum(d.category not in ("thanks", "complaint", "official") for d in neither),
            len(neither),
        ),
        "decided by the model": (sum(d.rule == "(learned)" for _, d in got), len(got)),
    }


def pct(pair: tuple[int, int]) -> str:
    right, of = pair
    return f"{right:>4}/{of:<4} {right / of:6.1%}" if of else f"{'-':>16}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=300)
    parser.add_argument("--rules", default=str(REPO / "rules.yaml"))
    args = parser.parse_args()
    if not corpus_dir().is_dir():
        print(f"corpus not found at {corpus_dir()} (set FEEDBACKD_CORPUS)")
        return 1
    book = load_rulebook(args.rules)
    if book.learning is None:
        print(f"{args.rules} has no learning: section; the model would never decide")
        return 1
    text_of = texts()
    dev, held = labelled("dev.tsv", text_of), labelled("heldout.tsv", text_of)
    start = time.perf_counter()
    taught, rest = split(dev, args.lessons)
    model = lessons(taught, book)
    took = time.perf_counter() - start
    print(
        f"lessons: {len(model.examples)} of dev.tsv's {len(dev)} rows ({model.categories}); "
        f"learned in {took * 1000:.0f} ms; learning: min_confidence "
        f"{book.learning.min_confidence:g}, min_examples {book.learning.min_examples}"
    )
    cv = evaluate(model, 5)
    print(f"feedbackd learn --evaluate on them: 5-fold accuracy {cv.accuracy:.1%}")
    learned = fallback(model)
    for name, rows, lang in (
        ("dev.tsv, not taught", rest, "en"),
        ("dev.tsv, not taught", rest, "ru"),
        ("heldout.tsv", held, "en"),
        ("heldout.tsv", held, "ru"),
    ):
        part = [r for r in rows if r[1] == lang]
        print(f"\n{name}, {lang}: {len(part)} rows")
        start = time.perf_counter()
        rules_only = figures(part, classify, book)
        t_rules = time.perf_counter() - start
        start = time.perf_counter()
        with_model = figures(part, learned, book)
        t_model = time.perf_counter() - start
        print(f"  {'':24}{'rules alone':>18}   {'rules + learned':>18}")
        for key in rules_only:
            print(f"  {key:24}{pct(rules_only[key]):>18}   {pct(with_model[key]):>18}")
        print(
            f"  speed: {len(part) / t_rules:,.0f} msg/s rules alone, "
            f"{len(part) / t_model:,.0f} msg/s with the model"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
