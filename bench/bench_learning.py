"""The learned fallback on real customer texts: what 300 of the center's corrections add.

Real tweets (US airlines, Russian banks and telecom) labelled by hand for intent live in
tests/data/real-labels (dev.tsv, heldout.tsv; the texts are read in place from
$FEEDBACKD_CORPUS/feedback/real-dev, see tests/data/real-labels/README.md). This benchmark
plays the feedback center: rows of dev.tsv it meets in a fixed order (a hash of their id, the
same every run: the center corrects what arrives, Russian and English mixed as they come) are
"cases the center corrected", each taught to the model as its hand label (`neither` as
`unclassified`); then letters the lessons never included are classified by the rules alone and
by the rules with the learned fallback, with the `learning:` settings of rules.yaml:

- dev.tsv in k folds (the figure to tune `learning:` and the model on): each fold classified by
  a model taught 300 lessons from the other folds;
- with `--heldout`, heldout.tsv classified by a model taught the first 300 rows of all dev.tsv.
  It is only read to print these figures, never to tune anything.

    .venv/bin/python bench/bench_learning.py [--lessons 300 | --lessons-per-lang 150] [--folds 5]
                                            [--heldout] [--rules rules.yaml]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from daemon.adapters.config import load_rulebook  # noqa: E402
from daemon.core.learning import (  # noqa: E402
    Example,
    Model,
    evaluate,
    fallback,
    fold_of,
    learn,
    message_words,
)
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


Row = tuple[str, str, str, str]
Counts = dict[str, tuple[int, int]]


def arrival(rows: list[Row]) -> list[Row]:
    """The order the center meets the rows in: a hash of their id, the same every run."""
    return sorted(rows, key=lambda r: hashlib.sha256(f"lesson:{r[0]}".encode()).hexdigest())


def chosen(rows: list[Row], n: int, per_lang: int | None) -> list[Row]:
    """The lessons: the first `n` rows as they arrive, or the first `per_lang` of each
    language (the center then corrects as many Russian letters as English ones)."""
    order = arrival(rows)
    if per_lang is None:
        return order[:n]
    return [r for lang in ("en", "ru") for r in [r for r in order if r[1] == lang][:per_lang]]


def lessons(taught: list[Row], book: RuleBook) -> Model:
    model = Model()
    for rid, lang, label, text in taught:
        words = message_words(message(lang, text), book)
        model = learn(model, Example(rid, CATEGORY.get(label, UNCLASSIFIED), words, "reclassified"))
    model.predict(())  # trained here, not inside the first timed classification
    return model


def figures(
    rows: list[Row], decide: Callable[[Message, RuleBook], Decision], book: RuleBook
) -> Counts:
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


def added(a: Counts, b: Counts) -> Counts:
    return {k: (a.get(k, (0, 0))[0] + v[0], a.get(k, (0, 0))[1] + v[1]) for k, v in b.items()}


def pct(pair: tuple[int, int]) -> str:
    right, of = pair
    return f"{right:>4}/{of:<4} {right / of:6.1%}" if of else f"{'-':>16}"


def table(title: str, rules_only: Counts, with_model: Counts) -> None:
    print(f"\n{title}")
    print(f"  {'':24}{'rules alone':>18}   {'rules + learned':>18}")
    for key in rules_only:
        print(f"  {key:24}{pct(rules_only[key]):>18}   {pct(with_model[key]):>18}")


def cross_validated(dev: list[Row], book: RuleBook, args: argparse.Namespace) -> None:
    """dev.tsv in `folds` folds (a hash of the id): for each, the lessons come from the other
    folds as they arrive and the fold is classified; the counts add up over the folds. This is
    the figure to tune on: every dev row is classified once, by a model that never saw it."""
    alone: dict[str, Counts] = {"en": {}, "ru": {}}
    learned: dict[str, Counts] = {"en": {}, "ru": {}}
    for fold in range(args.folds):
        tested = [r for r in dev if fold_of(r[0], args.folds) == fold]
        rest = [r for r in dev if fold_of(r[0], args.folds) != fold]
        decide = fallback(lessons(chosen(rest, args.lessons, args.lessons_per_lang), book))
        for lang in alone:
            part = [r for r in tested if r[1] == lang]
            alone[lang] = added(alone[lang], figures(part, classify, book))
            learned[lang] = added(learned[lang], figures(part, decide, book))
    for lang in alone:
        rows = sum(1 for r in dev if r[1] == lang)
        table(f"dev.tsv, {args.folds}-fold, {lang}: {rows} rows", alone[lang], learned[lang])


def speed(model: Model, book: RuleBook, n: int = 1000) -> None:
    """Messages per second on bench_classify.py's ~2 KB mail (RU/EN thanks, complaints, claims,
    questions), rules alone and with the model asked wherever the rules leave one unclassified;
    CPU time of this process, so that other work on the machine does not count."""
    from common import make_samples

    from daemon.core.mail.message import parse

    letters = [parse(s.raw) for s in make_samples(n, "learning")]
    learned = fallback(model)
    for name, decide in (("rules alone", classify), ("rules + learned", learned)):
        for letter in letters[:100]:  # warm: the word-form cache fills once per process
            decide(letter, book)
        start = time.process_time()
        asked = sum(decide(letter, book).category == UNCLASSIFIED for letter in letters)
        took = time.process_time() - start
        print(
            f"  {name}: {len(letters) / took:,.0f} msg/s on {len(letters)} letters of ~2 KB "
            f"({asked} left unclassified)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=300, help="lessons in all (default 300)")
    parser.add_argument(
        "--lessons-per-lang", type=int, help="instead: this many lessons of each language"
    )
    parser.add_argument("--folds", type=int, default=5, help="folds of dev.tsv (default 5)")
    parser.add_argument(
        "--heldout", action="store_true", help="also report heldout.tsv (never tune on it)"
    )
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
    dev = labelled("dev.tsv", text_of)
    start = time.perf_counter()
    model = lessons(chosen(dev, args.lessons, args.lessons_per_lang), book)
    took = time.perf_counter() - start
    langs = dict(
        sorted(Counter(r[1] for r in chosen(dev, args.lessons, args.lessons_per_lang)).items())
    )
    print(
        f"lessons: {len(model.examples)} of dev.tsv's {len(dev)} rows ({model.categories}, "
        f"{langs}); learned in {took * 1000:.0f} ms; learning: min_confidence "
        f"{book.learning.min_confidence:g}, min_examples {book.learning.min_examples}"
    )
    cv = evaluate(model, 5)
    print(f"feedbackd learn --evaluate on them: 5-fold accuracy {cv.accuracy:.1%}")
    speed(model, book)
    cross_validated(dev, book, args)
    if args.heldout:
        held = labelled("heldout.tsv", text_of)
        learned = fallback(model)
        for lang in ("en", "ru"):
            part = [r for r in held if r[1] == lang]
            title = f"heldout.tsv, {lang}: {len(part)} rows (lessons: the model above)"
            table(title, figures(part, classify, book), figures(part, learned, book))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
