"""Draw the hand-labelled sample of real tweets, and split the labels into dev and held-out.

Standalone, standard library only, deterministic (fixed seed). The tweet texts stay in the
corpus (read in place from $FEEDBACKD_CORPUS or ../shared/corpus); this script prints them for a
person to read and label, and never prints the upstream sentiment label, so that the reader
judges intent from the text alone.

    python3 sample.py                   # print id<TAB>text for draw 1, shuffled
    python3 sample.py --draw 2          # the same for draw 2 (none of draw 1's ids or texts)
    python3 sample.py --ids             # print id<TAB>lang only
    python3 sample.py --split LABELS    # draw 1's labels (id<TAB>label[<TAB>note]): rewrites
                                        # dev.tsv and heldout.tsv from them
    python3 sample.py --add LABELS      # draw 2's labels: adds them to dev.tsv and heldout.tsv,
                                        # leaving the rows already there as they are

The upstream label is used only to stratify (to get enough of each kind), never to label.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import re
import sys
from collections.abc import Collection
from pathlib import Path
from typing import NamedTuple

SEED = 20261202  # draw 1, and the dev/held-out split of every draw
HERE = Path(__file__).resolve().parent
LABELS = ("complaint", "thanks", "official", "neither")

Strata = dict[str, tuple[set[str], int]]


class Draw(NamedTuple):
    seed: int
    en: Strata  # stratum name -> (upstream labels in it, how many to draw)
    ru: Strata


DRAWS = {
    1: Draw(
        20261202,
        en={
            "negative": ({"negative"}, 200),
            "positive": ({"positive"}, 120),
            "neutral": ({"neutral"}, 80),
        },
        ru={
            "-1": ({"-1"}, 200),
            "+1": ({"1"}, 150),
            "0/mixed": ({"0", "mixed"}, 100),
        },
    ),
    2: Draw(
        20261203,
        en={
            "negative": ({"negative"}, 160),
            "positive": ({"positive"}, 120),
            "neutral": ({"neutral"}, 60),
        },
        ru={
            "-1": ({"-1"}, 180),
            "+1": ({"1"}, 220),
            "0/mixed": ({"0", "mixed"}, 60),
        },
    ),
}

_RT = re.compile(r"^\s*(rt\s+@?[\w.]+:?\s*)+", re.IGNORECASE)
_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


def corpus_dir() -> Path:
    """Where the real-dev tweets live: the corpus is read in place, never copied here."""
    root = os.environ.get("FEEDBACKD_CORPUS")
    base = Path(root) if root else HERE.parents[3] / "shared" / "corpus"
    if not base.is_dir():
        base = Path("/work/shared/corpus")
    return base / "feedback" / "real-dev"


def dedup_key(text: str) -> str:
    """Same key for exact duplicates and for retweets of the same text (RT prefix, URLs, case)."""
    text = _RT.sub("", text)
    text = _URL.sub("", text)
    return _SPACE.sub(" ", text).strip().lower()


def read_rows(name: str) -> list[dict[str, str]]:
    with open(corpus_dir() / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def draw(
    rows: list[tuple[str, str, str]],
    strata: Strata,
    rng: random.Random,
    taken: Collection[str] = (),
) -> list[tuple[str, str]]:
    """rows: (id, upstream label, text). Dedup first (first id wins), then draw per stratum.

    taken: ids of earlier draws; they and every text that dedupes to one of them are left out.
    """
    seen: set[str] = {dedup_key(text) for rid, _up, text in rows if rid in taken}
    unique: list[tuple[str, str, str]] = []
    for rid, up, text in rows:
        key = dedup_key(text)
        if not key or key in seen or rid in taken:
            continue
        seen.add(key)
        unique.append((rid, up, text))
    picked: list[tuple[str, str]] = []
    for _name, (ups, count) in strata.items():
        pool = [(rid, text) for rid, up, text in unique if up in ups]
        picked.extend(rng.sample(pool, count))
    return picked


def sample(number: int = 1) -> list[tuple[str, str, str]]:
    """Draw `number` as (id, lang, text), in a shuffled order.

    Each draw leaves out the ids of the draws before it (rebuilt from their seeds, so draw 1 is
    the same whatever comes after it) and every text that dedupes to one of them.
    """
    taken = {rid for earlier in range(1, number) for rid, _lang, _text in sample(earlier)}
    spec = DRAWS[number]
    rng = random.Random(spec.seed)
    en_rows = [(r["id"], r["sentiment"], r["text"]) for r in read_rows("airline_tweets.csv")]
    ru_rows = [
        (r["id"], r["label"], r["text"])
        for name in ("sentirueval2016_banks.csv", "sentirueval2016_telecom.csv")
        for r in read_rows(name)
    ]
    out = [(rid, "en", t) for rid, t in draw(en_rows, spec.en, rng, taken)]
    out += [(rid, "ru", t) for rid, t in draw(ru_rows, spec.ru, rng, taken)]
    rng.shuffle(out)
    return out


def is_dev(rid: str) -> bool:
    """Seeded hash of the id: 60 % dev, 40 % held-out, stable whatever else is in the sample."""
    digest = hashlib.sha256(f"{SEED}:{rid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < 60


def read_labels(labels_path: Path, langs: dict[str, str]) -> dict[str, tuple[str, str]]:
    """id -> (label, note) from a list of id<TAB>label[<TAB>note]; every id must be in langs."""
    labelled: dict[str, tuple[str, str]] = {}
    with open(labels_path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            rid, label = parts[0].strip(), parts[1].strip()
            note = parts[2].strip() if len(parts) > 2 else ""
            if label not in LABELS:
                sys.exit(f"{labels_path}:{lineno}: unknown label {label!r}; use one of {LABELS}")
            if rid not in langs:
                sys.exit(f"{labels_path}:{lineno}: id {rid} is not in the sample")
            labelled[rid] = (label, note)
    return labelled


def write(rows: dict[str, tuple[str, str, str]]) -> None:
    """rows: id -> (lang, label, note); each goes to dev.tsv or heldout.tsv by is_dev."""
    for fname, want_dev in (("dev.tsv", True), ("heldout.tsv", False)):
        keys = sorted((rows[rid][0], rid) for rid in rows if is_dev(rid) == want_dev)
        with open(HERE / fname, "w", encoding="utf-8") as fh:
            fh.write("id\tlang\tlabel\tnote\n")
            for lang, rid in keys:
                _lang, label, note = rows[rid]
                fh.write(f"{rid}\t{lang}\t{label}\t{note}\n")
        print(f"{fname}: {len(keys)} rows")


def split(labels_path: Path) -> None:
    """Rebuild dev.tsv and heldout.tsv from the labels of draw 1, all of which must be given."""
    langs = {rid: lang for rid, lang, _ in sample(1)}
    labelled = read_labels(labels_path, langs)
    missing = [rid for rid in langs if rid not in labelled]
    if missing:
        sys.exit(f"{len(missing)} sampled ids have no label, e.g. {missing[:5]}")
    write({rid: (langs[rid], label, note) for rid, (label, note) in labelled.items()})


def read_split() -> dict[str, tuple[str, str, str]]:
    """The rows already in dev.tsv and heldout.tsv: id -> (lang, label, note)."""
    rows: dict[str, tuple[str, str, str]] = {}
    for fname in ("dev.tsv", "heldout.tsv"):
        with open(HERE / fname, encoding="utf-8") as fh:
            for line in list(fh)[1:]:
                rid, lang, label, note = line.rstrip("\n").split("\t")
                rows[rid] = (lang, label, note)
    return rows


def add(labels_path: Path, number: int) -> None:
    """Add labels of draw `number` (some or all of it) to the files, keeping the rows there."""
    langs = {rid: lang for rid, lang, _ in sample(number)}
    labelled = read_labels(labels_path, langs)
    rows = read_split()
    clash = [rid for rid in labelled if rid in rows]
    if clash:
        sys.exit(f"{len(clash)} ids are already in the files, e.g. {clash[:5]}")
    rows.update({rid: (langs[rid], label, note) for rid, (label, note) in labelled.items()})
    missing = len(langs) - len(labelled)
    if missing:
        print(f"draw {number}: {missing} of {len(langs)} sampled ids have no label yet")
    write(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", action="store_true", help="print id<TAB>lang only")
    parser.add_argument("--draw", type=int, choices=sorted(DRAWS), default=1, help="which draw")
    parser.add_argument("--split", type=Path, metavar="LABELS", help="rebuild files from draw 1")
    parser.add_argument("--add", type=Path, metavar="LABELS", help="add a draw's labels to files")
    args = parser.parse_args()
    if args.split:
        split(args.split)
        return
    if args.add:
        add(args.add, args.draw)
        return
    for rid, lang, text in sample(args.draw):
        if args.ids:
            print(f"{rid}\t{lang}")
        else:
            print(f"{rid}\t{_SPACE.sub(' ', text).strip()}")


if __name__ == "__main__":
    main()
