"""The hand-labelled real tweets: read, classified and scored the way the targets are stated.

The labels (tests/data/real-labels/dev.tsv and heldout.tsv: id, lang, label, note) were given
by a reader who never saw the rules, for intent: complaint, thanks, official or neither. The
tweet texts stay in the corpus ($FEEDBACKD_CORPUS/feedback/real-dev) and are looked up by id.
`dev` is what rules may be written against; `heldout` is only ever scored, in aggregate.

Used by bench/bench_rules.py (prints) and tests/corpus/test_real_tweets.py (holds the floor).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from daemon.core.mail.message import make_message
from daemon.core.rules import RuleBook, classify

LABELS_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "real-labels"
SOURCES = ("airline_tweets.csv", "sentirueval2016_banks.csv", "sentirueval2016_telecom.csv")


@dataclass(frozen=True)
class Tweet:
    id: str
    lang: str
    label: str  # complaint | thanks | official | neither
    text: str


def tweet_texts(corpus: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in SOURCES:
        path = corpus / "feedback" / "real-dev" / name
        with path.open(encoding="utf-8", newline="") as f:
            out.update((row["id"], row["text"]) for row in csv.DictReader(f))
    return out


def labelled(
    corpus: Path, part: str, texts: dict[str, str] | None = None, labels: Path = LABELS_DIR
) -> list[Tweet]:
    """The tweets of `part` (dev | heldout) with their hand labels; [] when the file is absent."""
    path = labels / f"{part}.tsv"
    if not path.exists():
        return []
    texts = texts if texts is not None else tweet_texts(corpus)
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out.append(Tweet(row["id"], row["lang"], row["label"], texts[row["id"]]))
    return out


@dataclass(frozen=True)
class Figures:
    """The four target figures for one language (None where the denominator is 0)."""

    lang: str
    counts: Counter[str]  # label -> how many
    caught: float | None  # complaints decided complaint or official
    thanks_precision: float | None  # of all thanks decisions, really thanks
    complaint_to_thanks: float | None  # complaints decided thanks
    neither_out: float | None  # neither kept out of thanks and complaint
    thanks_decisions: int
    pairs: Counter[tuple[str, str]]  # (label, decided) -> how many


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def score(book: RuleBook, tweets: list[Tweet], lang: str) -> Figures:
    pairs: Counter[tuple[str, str]] = Counter()
    for t in tweets:
        if t.lang == lang:
            pairs[(t.label, classify(make_message(body=t.text), book).category)] += 1
    counts: Counter[str] = Counter()
    for (label, _), n in pairs.items():
        counts[label] += n

    def n(label: str | None, got: tuple[str, ...]) -> int:
        return sum(k for (lb, g), k in pairs.items() if (label is None or lb == label) and g in got)

    thanks_decisions = n(None, ("thanks",))
    return Figures(
        lang,
        counts,
        _rate(n("complaint", ("complaint", "official")), counts["complaint"]),
        _rate(n("thanks", ("thanks",)), thanks_decisions),
        _rate(n("complaint", ("thanks",)), counts["complaint"]),
        _rate(counts["neither"] - n("neither", ("thanks", "complaint")), counts["neither"]),
        thanks_decisions,
        pairs,
    )


def pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.1%}"
