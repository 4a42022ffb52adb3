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
   Two reference points on the same subset, for what "good" can mean on these sentences:
   a naive Bayes model learned from the corpus itself (words and word pairs), scored by
   10-fold cross-validation with whole reviews held out — what statistics fitted to this very
   data reach; and VADER 3.3.2 (a published rule-based sentiment analyser whose authors used
   these sentences to validate it), when the `vaderSentiment` package is installed.
2. The labelled e-mails in tests/data/feedback/*.eml (expected category = the file name's
   first part, e.g. complaint__late-courier.eml), parsed with daemon.core.mail.message.parse; and,
   reported apart, tests/data/feedback-heldout/*.eml: e-mails written by someone who had not
   read the rules, kept to measure how the rules generalise (do not tune rules on them).
3. Real tweets labelled by hand for intent (tests/data/real-labels/dev.tsv and heldout.tsv,
   texts from $FEEDBACKD_CORPUS/feedback/real-dev; bench/real_tweets.py), per language and
   part: complaints caught (complaint or official), thanks precision, complaints answered as
   thanks, neither kept out of thanks/complaint. Rules are written against dev only; held-out
   is printed in aggregate and never itemised (`--errors` lists dev misses only).
4. Speed: classify() on ~2 KB messages built from the e-mails, messages per second.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from daemon.adapters.config import load_rulebook  # noqa: E402
from daemon.core.mail.message import make_message, parse  # noqa: E402
from daemon.core.rules import classify  # noqa: E402
from daemon.core.rules.textmatch import normalize, split_words  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from real_tweets import LABELS_DIR, labelled, pct, score, tweet_texts  # noqa: E402

CATS = ("official", "complaint", "thanks", "unclassified")


def corpus_dir() -> Path:
    return Path(os.environ.get("FEEDBACKD_CORPUS") or REPO.parent / "shared" / "corpus")


def amazon_rows(corpus: Path) -> list[tuple[str, str, str]]:
    """(sentence, expected, review id) with expected in thanks | complaint | neither."""
    path = corpus / "feedback" / "amazon_review_snippets.csv"
    rows = []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            score = float(row["mean_sentiment"])
            label = "thanks" if score >= 1.5 else "complaint" if score <= -1.5 else "neither"
            rows.append((row["text"], label, row["review_id"]))
    return rows


def email_rows(folder: str = "feedback") -> list[tuple[str, str, object]]:
    """(file name, expected, Message) for every labelled e-mail in tests/data/<folder>."""
    out = []
    for path in sorted((REPO / "tests" / "data" / folder).glob("*.eml")):
        out.append((path.name, path.name.split("__")[0], parse(path.read_bytes())))
    return out


def _features(text: str) -> set[str]:
    words = split_words(normalize(text))
    return set(words) | {f"{a} {b}" for a, b in pairwise(words)}


def learned_reference(rows: list[tuple[str, str, str]], folds: int = 10) -> tuple[int, int]:
    """Right answers of naive Bayes on thanks vs complaint, each review predicted by a model
    that never saw it (review ids dealt round-robin into `folds`)."""
    subset = [
        (_features(t), label == "thanks", rid) for t, label, rid in rows if label != "neither"
    ]
    reviews = sorted({rid for _, _, rid in subset}, key=lambda r: (len(r), r))
    fold_of = {rid: i % folds for i, rid in enumerate(reviews)}
    right = 0
    for k in range(folds):
        counts: dict[bool, Counter] = {True: Counter(), False: Counter()}
        docs: Counter = Counter()
        for feats, positive, rid in subset:
            if fold_of[rid] != k:
                docs[positive] += 1
                counts[positive].update(feats)
        for feats, positive, rid in subset:
            if fold_of[rid] == k:
                score = {
                    y: math.log(docs[y])
                    + sum(
                        math.log((counts[y][f] + 1) / (docs[y] + 2))
                        for f in feats
                        if f in counts[True] or f in counts[False]
                    )
                    for y in (True, False)
                }
                right += (score[True] > score[False]) == positive
    return right, len(subset)


def vader_reference(rows: list[tuple[str, str, str]]) -> tuple[int, int] | None:
    """VADER's compound score on the same subset (>= 0 thanks), or None when not installed."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyser = SentimentIntensityAnalyzer()
    subset = [(t, label) for t, label, _ in rows if label != "neither"]
    right = sum(
        (analyser.polarity_scores(t)["compound"] >= 0) == (label == "thanks") for t, label in subset
    )
    return right, len(subset)


def matrix(pairs: list[tuple[str, str]], rows: tuple[str, ...]) -> str:
    counts = Counter(pairs)
    lines = ["expected \\ got".ljust(16) + "".join(c[:12].rjust(13) for c in CATS)]
    for exp in rows:
        lines.append(exp.ljust(16) + "".join(str(counts[(exp, got)]).rjust(13) for got in CATS))
    return "\n".join(lines)


def bench_amazon(book: object, corpus: Path, show: int) -> None:
    rows = amazon_rows(corpus)
    pairs, misses = [], []
    for text, label, _ in rows:
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
    silent = sum(got == "unclassified" for _, got, _ in misses)
    print(
        f"  of {len(misses)} misses, {silent} found no opinion at all (unclassified), "
        f"{len(misses) - silent} read the opinion the wrong way"
    )
    ok, n = learned_reference(rows)
    print(
        f"  reference, naive Bayes learned from this corpus (10-fold, reviews held out): "
        f"{ok}/{n} = {ok / n:.1%}"
    )
    vader = vader_reference(rows)
    print(
        "  reference, VADER 3.3.2: "
        + (
            f"{vader[0]}/{vader[1]} = {vader[0] / vader[1]:.1%}"
            if vader
            else "not installed (pip install vaderSentiment==3.3.2 to compare)"
        )
    )
    for exp, got, text in misses[:show]:
        print(f"  MISS {exp} -> {got}: {text[:110]}")


def bench_emails(book: object, show: int, folder: str = "feedback") -> list[object]:
    rows = email_rows(folder)
    if not rows:
        print(f"\nNo e-mails in tests/data/{folder}")
        return []
    pairs = [(exp, classify(msg, book).category) for _, exp, msg in rows]  # type: ignore
    right = sum(e == g for e, g in pairs)
    print(
        f"\nLabelled e-mails (tests/data/{folder}): {right}/{len(rows)} = "
        f"{right / max(len(rows), 1):.1%}"
    )
    print(matrix(pairs, CATS))
    shown = 0
    for (name, exp, msg), (_, got) in zip(rows, pairs, strict=True):
        if exp != got and shown < show:
            d = classify(msg, book)  # type: ignore
            print(f"  MISS {name}: got {got} by {d.rule} {[r.matched for r in d.reasons]}")
            shown += 1
    return [m for _, _, m in rows]


def bench_real(book: object, corpus: Path, show: int, labels: Path = LABELS_DIR) -> None:
    if not (corpus / "feedback" / "real-dev").is_dir():
        print(f"\nReal tweets skipped: {corpus}/feedback/real-dev not found")
        return
    texts = tweet_texts(corpus)
    print(f"\nReal tweets, labelled by hand for intent ({labels})")
    print(
        f"  {'part':8} {'lang':4} {'labels (c/t/o/n)':>18} {'caught':>7} {'thanks prec':>12}"
        f" {'compl→thanks':>13} {'neither out':>12}"
    )
    for part in ("dev", "heldout"):
        tweets = labelled(corpus, part, texts, labels)
        if not tweets:
            print(f"  {part:8} no {labels}/{part}.tsv")
            continue
        for lang in ("en", "ru"):
            f = score(book, tweets, lang)  # type: ignore[arg-type]
            c = f.counts
            mix = f"{c['complaint']}/{c['thanks']}/{c['official']}/{c['neither']}"
            print(
                f"  {part:8} {lang:4} {mix:>18} {pct(f.caught):>7} {pct(f.thanks_precision):>8}"
                f" of {f.thanks_decisions:<3}{pct(f.complaint_to_thanks):>9}"
                f" {pct(f.neither_out):>12}"
            )
    print(
        "  targets: caught >= 85 %, thanks precision >= 90 %, complaint→thanks <= 1 %, "
        "neither out >= 80 %"
    )
    shown = 0
    for t in labelled(corpus, "dev", texts, labels):
        if shown >= show:
            break
        d = classify(make_message(body=t.text), book)  # type: ignore[arg-type]
        wrong = (
            (t.label == "complaint" and d.category not in ("complaint", "official"))
            or (t.label != "thanks" and d.category == "thanks")
            or (t.label == "neither" and d.category == "complaint")
        )
        if wrong:
            shown += 1
            why = "; ".join(r.matched for r in d.reasons)[:60]
            print(
                f"  DEV MISS {t.lang} {t.label} -> {d.category} ({d.rule}: {why}): "
                f"{' '.join(t.text.split())[:140]}"
            )


def bench_speed(book: object, messages: list[object]) -> None:
    samples = []
    for msg in messages:
        body = msg.text  # type: ignore[attr-defined]
        while len(body.encode()) < 2048:
            body += "\n" + msg.text  # type: ignore[attr-defined]
        samples.append(make_message(subject=msg.subject, body=body[: 2048 // 2 * 2]))  # type: ignore
    if not samples:
        samples = [make_message(subject="Вопрос", body="Здравствуйте! " * 150)]
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        for m in samples:
            classify(m, book)  # type: ignore[arg-type]
        n += len(samples)
    elapsed = time.perf_counter() - start
    size = sum(len(m.text.encode()) for m in samples) / len(samples)
    print(
        f"\nSpeed: {n / elapsed:,.0f} messages/s ({n} messages of ~{size:,.0f} bytes "
        f"in {elapsed:.1f} s, one core)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rules", default=str(REPO / "rules.yaml"))
    ap.add_argument("--corpus", type=Path, default=corpus_dir())
    ap.add_argument("--errors", type=int, default=0, help="show this many misclassified texts")
    ap.add_argument(
        "--labels", type=Path, default=LABELS_DIR, help="folder of dev.tsv and heldout.tsv"
    )
    args = ap.parse_args()
    book = load_rulebook(args.rules)
    if (args.corpus / "feedback" / "amazon_review_snippets.csv").exists():
        bench_amazon(book, args.corpus, args.errors)
    else:
        print(
            f"Amazon set skipped: {args.corpus}/feedback/amazon_review_snippets.csv not found "
            f"(set FEEDBACKD_CORPUS to the corpus folder)"
        )
    messages = bench_emails(book, args.errors)
    bench_emails(book, 0, "feedback-heldout")  # held out: figures only, never itemised
    bench_real(book, args.corpus, args.errors, args.labels)
    bench_speed(book, messages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
