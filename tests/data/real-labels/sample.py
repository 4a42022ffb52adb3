"""Draw the hand-labelled sample of real tweets, and split the labels into dev and held-out.

Standalone, standard library only, deterministic (fixed seed). The tweet texts stay in the
corpus (read in place from $FEEDBACKD_CORPUS or ../shared/corpus); this script prints them for a
person to read and label, and never prints the upstream sentiment label, so that the reader
judges intent from the text alone.

    python3 sample.py                 # print id<TAB>text for the whole sample, shuffled
    python3 sample.py --ids           # print id<TAB>lang only
    python3 sample.py --split LABELS  # LABELS: id<TAB>label[<TAB>note]; writes dev.tsv, heldout.tsv

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
from pathlib import Path

SEED = 20261202
HERE = Path(__file__).resolve().parent
LABELS = ("complaint", "thanks", "official", "neither")

# stratum name -> (upstream labels in it, how many to draw)
EN_STRATA = {
    "negative": ({"negative"}, 200),
    "positive": ({"positive"}, 120),
    "neutral": ({"neutral"}, 80),
}
RU_STRATA = {
    "-1": ({"-1"}, 200),
    "+1": ({"1"}, 150),
    "0/mixed": ({"0", "mixed"}, 100),
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
    strata: dict[str, tuple[set[str], int]],
    rng: random.Random,
) -> list[tuple[str, str]]:
    """rows: (id, upstream label, text). Dedup first (first id wins), then draw per stratum."""
    seen: set[str] = set()
    unique: list[tuple[str, str, str]] = []
    for rid, up, text in rows:
        key = dedup_key(text)
        if not key or key in seen:
            continue
        seen.add(key)
        unique.append((rid, up, text))
    picked: list[tuple[str, str]] = []
    for _name, (ups, count) in strata.items():
        pool = [(rid, text) for rid, up, text in unique if up in ups]
        picked.extend(rng.sample(pool, count))
    return picked


def sample() -> list[tuple[str, str, str]]:
    """The whole sample as (id, lang, text), in a shuffled order."""
    rng = random.Random(SEED)
    en_rows = [(r["id"], r["sentiment"], r["text"]) for r in read_rows("airline_tweets.csv")]
    ru_rows = [
        (r["id"], r["label"], r["text"])
        for name in ("sentirueval2016_banks.csv", "sentirueval2016_telecom.csv")
        for r in read_rows(name)
    ]
    out = [(rid, "en", t) for rid, t in draw(en_rows, EN_STRATA, rng)]
    out += [(rid, "ru", t) for rid, t in draw(ru_rows, RU_STRATA, rng)]
    rng.shuffle(out)
    return out


def is_dev(rid: str) -> bool:
    """Seeded hash of the id: 60 % dev, 40 % held-out, stable whatever else is in the sample."""
    digest = hashlib.sha256(f"{SEED}:{rid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < 60


def split(labels_path: Path) -> None:
    langs = {rid: lang for rid, lang, _ in sample()}
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
    missing = [rid for rid in langs if rid not in labelled]
    if missing:
        sys.exit(f"{len(missing)} sampled ids have no label, e.g. {missing[:5]}")
    for fname, want_dev in (("dev.tsv", True), ("heldout.tsv", False)):
        rows = sorted((langs[rid], rid) for rid in labelled if is_dev(rid) == want_dev)
        with open(HERE / fname, "w", encoding="utf-8") as fh:
            fh.write("id\tlang\tlabel\tnote\n")
            for lang, rid in rows:
                label, note = labelled[rid]
                fh.write(f"{rid}\t{lang}\t{label}\t{note}\n")
        print(f"{fname}: {len(rows)} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", action="store_true", help="print id<TAB>lang only")
    parser.add_argument("--split", type=Path, metavar="LABELS", help="write dev.tsv, heldout.tsv")
    args = parser.parse_args()
    if args.split:
        split(args.split)
        return
    for rid, lang, text in sample():
        if args.ids:
            print(f"{rid}\t{lang}")
        else:
            print(f"{rid}\t{_SPACE.sub(' ', text).strip()}")


if __name__ == "__main__":
    main()
