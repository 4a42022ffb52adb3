"""Accuracy and speed of the default rules.yaml.

    python bench/bench_rules.py [--rules FILE] [--corpus DIR] [--errors N]

1. Amazon review sentences (Hu & Liu 2004, as shipped with vaderSentiment), read from
   $FEEDBACKD_CORPUS/feedback/amazon_review_snippets.csv (default ../shared/corpus). Each
   sentence is wrapped into a message: subject "Отзыв" is NOT used — the subject is empty and
   the sentence is the body, from a customer address, so only the text decides. Labels:
   mean_sentiment >= +1.5 → thanks, <= -1.5 → complaint, the rest → neither.
   Scoring: the headline accuracy is on the thanks + complaint subset (a sentence predicted
   `official` or `unclassified` counts as wrong there). "Neither" sentences have no right
   answer among our categories (a mildly positive or neutral review line is not clearly
   thanks or complaint), so they are shown only in the full confusion matrix.
2. The labelled e-mails in tests/data/feedback/*.eml (expected category = the file name's
   first part, e.g. complaint__late-courier.eml), parsed with daemon.message.parse.
3. Speed: classify() on ~2 KB messages built from the e-mails, messages per second.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from daemon.examples import make_message  # noqa: E402
from daemon.message import parse  # noqa: E402
from daemon.rules import classify, load_rulebook  # noqa: E402

CATS = ("official", "complaint", "thanks", "unclassified")


def corpus_dir() -> Path:
    return Path(os.environ.get("FEEDBACKD_CORPUS") or REPO.parent / "shared" / "corpus")


def amazon_rows(corpus: Path) -> list[tuple[str, str]]:
    """(sentence, expected) with expected in thanks | complaint | neither."""
    path = corpus / "feedback" / "amazon_review_snippets.csv"
    rows = []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            score = float(row["mean_sentiment"])
            label = "thanks" if score >= 1.5 else "complaint" if score <= -1.5 else "neither"
            rows.append((row["text"], label))
    return rows


def email_rows() -> list[tuple[str, str, object]]:
    """(file name, expected, Message) for every labelled e-mail."""
    out = []
    for path in sorted((REPO / "tests" / "data" / "feedback").glob("*.eml")):
        out.append((path.name, path.name.split("__")[0], parse(path.read_bytes())))
    return out


def matrix(pairs: list[tuple[str, str]], rows: tuple[str, ...]) -> str:
    counts = Counter(pairs)
    lines = ["expected \\ got".ljust(16) + "".join(c[:12].rjust(13) for c in CATS)]
    for exp in rows:
        lines.append(exp.ljust(16) + "".join(str(counts[(exp, got)]).rjust(13) for got in CATS))
    return "\n".join(lines)


def bench_amazon(book: object, corpus: Path, show: int) -> None:
    rows = amazon_rows(corpus)
    pairs, misses = [], []
    for text, label in rows:
        got = classify(make_message(body=text, language="en"), book).category  # type: ignore
        pairs.append((label, got))
        if label != "neither" and got != label:
            misses.append((label, got, text))
    subset = [(e, g) for e, g in pairs if e != "neither"]
    right = sum(e == g for e, g in subset)
    print(f"Amazon review sentences: {len(rows)} ({len(subset)} thanks+complaint)")
    print(f"  accuracy on thanks+complaint: {right}/{len(subset)} = {right / len(subset):.1%}")
    for cat in ("thanks", "complaint"):
        n = sum(e == cat for e, _ in subset)
        ok = sum(e == g == cat for e, g in subset)
        print(f"  {cat}: {ok}/{n} = {ok / n:.1%}")
    print(matrix(pairs, ("thanks", "complaint", "neither")))
    for exp, got, text in misses[:show]:
        print(f"  MISS {exp} -> {got}: {text[:110]}")


def bench_emails(book: object, show: int) -> list[object]:
    rows = email_rows()
    pairs = [(exp, classify(msg, book).category) for _, exp, msg in rows]  # type: ignore
    right = sum(e == g for e, g in pairs)
    print(f"\nLabelled e-mails (tests/data/feedback): {right}/{len(rows)} = "
          f"{right / max(len(rows), 1):.1%}")
    print(matrix(pairs, CATS))
    shown = 0
    for (name, exp, msg), (_, got) in zip(rows, pairs):
        if exp != got and shown < show:
            d = classify(msg, book)  # type: ignore
            print(f"  MISS {name}: got {got} by {d.rule} {[r.matched for r in d.reasons]}")
            shown += 1
    return [m for _, _, m in rows]


def bench_speed(book: object, messages: list[object]) -> None:
    samples = []
    for msg in messages:
        body = msg.text  # type: ignore[attr-defined]
        while len(body.encode()) < 2048:
            body += "\n" + msg.text  # type: ignore[attr-defined]
        samples.append(make_message(subject=msg.subject, body=body[:2048 // 2 * 2]))  # type: ignore
    if not samples:
        samples = [make_message(subject="Вопрос", body="Здравствуйте! " * 150)]
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        for m in samples:
            classify(m, book)  # type: ignore[arg-type]
        n += len(samples)
    elapsed = time.perf_counter() - start
    size = sum(len(m.text.encode()) for m in samples) / len(samples)
    print(f"\nSpeed: {n / elapsed:,.0f} messages/s ({n} messages of ~{size:,.0f} bytes "
          f"in {elapsed:.1f} s, one core)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rules", default=str(REPO / "rules.yaml"))
    ap.add_argument("--corpus", type=Path, default=corpus_dir())
    ap.add_argument("--errors", type=int, default=0, help="show this many misclassified texts")
    args = ap.parse_args()
    book = load_rulebook(args.rules)
    if (args.corpus / "feedback" / "amazon_review_snippets.csv").exists():
        bench_amazon(book, args.corpus, args.errors)
    else:
        print(f"Amazon set skipped: {args.corpus}/feedback/amazon_review_snippets.csv not found "
              f"(set FEEDBACKD_CORPUS to the corpus folder)")
    messages = bench_emails(book, args.errors)
    bench_speed(book, messages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
