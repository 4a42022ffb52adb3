"""Russian word forms to one key: pymorphy3 lemmas against Snowball stems.

    python bench/bench_morphology.py [--corpus DIR]

Rules say `lemmas: [работать, жалоба]` and must meet every form a customer writes. Three
candidates turn a form into a key: pymorphy3 (with pymorphy3-dicts-ru: a dictionary of forms,
the normal form of the likeliest parse), snowballstemmer (pure Python) and PyStemmer (the same
Snowball algorithm in C). For each:

1. **Accuracy** on the word forms below, all taken from the real Russian tweets in
   $FEEDBACKD_CORPUS/feedback/real-dev (the script says which forms it found there). A lexeme
   is *united* when all its forms get one key; two different lexemes *collide* when some form
   of one gets the same key as some form of the other (the stemmer's "верно" = "вернуть").
2. **Speed**: distinct words per second, uncached (every word of the tweets once), and the
   cost per word through a dict cache on the tweets' running text (what classification pays).
3. **Install size**: the wheels' size and the unpacked size in site-packages (read from the
   installed distributions' RECORD files).

English: the Snowball English stemmer is the usual choice and is measured for speed only.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: lexeme → forms seen in the real-dev Russian tweets (hand-grouped: one dictionary word each).
#: Aspect pairs are separate lexemes (приходить / прийти), as dictionaries have them.
LEXEMES: dict[str, list[str]] = {
    "работать": ["работает", "работать", "работают", "работал", "работала", "работали", "работаю"],
    "работа": ["работы", "работе", "работу", "работа", "работой"],
    "жалоба": ["жалобу", "жалобы", "жалоб", "жалоба", "жалобе"],
    "деньги": ["деньги", "деньгами", "денег", "деньгах"],
    "карта": ["карту", "карты", "карта", "карт", "карте", "картой", "картами"],
    "прийти": ["пришло", "пришли", "пришел", "пришла", "прийти"],
    "приходить": ["приходят", "приходит", "приходить", "приходили"],
    "ждать": ["жду", "ждать", "ждем", "ждет", "ждал", "ждут", "ждите"],
    "звонить": ["звонить", "звонили", "звонил", "звоню", "звонят", "звонит", "звонила"],
    "звонок": ["звонки", "звонков", "звонка", "звонок"],
    "дозвониться": ["дозвониться", "дозвонился", "дозвонится"],
    "ответить": ["ответили", "ответить", "ответил", "ответит", "ответила"],
    "ответ": ["ответ", "ответа", "ответов", "ответу"],
    "перевод": ["перевод", "переводы", "перевода", "переводом", "переводов"],
    "интернет": ["интернет", "интернета", "интернетом", "интернете"],
    "связь": ["связи", "связь", "связью"],
    "вернуть": ["вернуть", "верните", "вернули", "вернут", "вернет", "вернула"],
    "верно": ["верно"],
    "списать": ["списали", "списал", "списано", "списаны", "списана"],
    "список": ["список", "списка", "списке"],
    "платить": ["платить", "платили", "платят", "платил"],
    "платеж": ["платежей", "платеж", "платежи", "платежа"],
    "очередь": ["очереди", "очередь", "очередей"],
    "очередной": ["очередной", "очередная", "очередное", "очередного"],
    "сотрудник": ["сотрудники", "сотрудников", "сотрудник", "сотрудника", "сотрудникам"],
    "помочь": ["помогите", "помогут", "помогли", "помогло"],
    "проблема": ["проблема", "проблемы", "проблем", "проблему", "проблемой"],
    "заблокировать": ["заблокировать", "заблокировали", "заблокировал", "заблокируют"],
    "снимать": ["снимать", "снимал", "снимают", "снимали"],
    "счет": ["счета", "счет", "счетов", "счету"],
    "день": ["день", "дня", "дней", "днем"],
    "ужасный": ["ужасный", "ужасное", "ужасную"],
    "хороший": ["хороший", "хорошая", "хорошо", "лучше"],
    "идти": ["идет", "идут", "идти"],
    "пойти": ["пойти", "пошла", "пошли"],
}


def corpus_dir() -> Path:
    return Path(os.environ.get("FEEDBACKD_CORPUS") or REPO.parent / "shared" / "corpus")


def tweet_words(corpus: Path) -> list[str]:
    words: list[str] = []
    for name in ("sentirueval2016_banks.csv", "sentirueval2016_telecom.csv"):
        path = corpus / "feedback" / "real-dev" / name
        if path.exists():
            with path.open(encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    words += re.findall(r"[а-я]+", row["text"].casefold().replace("ё", "е"))
    return words


def candidates() -> dict[str, object]:
    import pymorphy3
    import snowballstemmer
    import Stemmer

    morph = pymorphy3.MorphAnalyzer()
    snow = snowballstemmer.stemmer("russian")
    pystem = Stemmer.Stemmer("russian")
    return {
        "pymorphy3": lambda w: morph.parse(w)[0].normal_form.replace("ё", "е"),
        "snowballstemmer": snow.stemWord,
        "PyStemmer": pystem.stemWord,
    }


def accuracy(key: object) -> tuple[int, int, list[str]]:
    """(lexemes united, colliding lexeme pairs, examples of both kinds of miss)."""
    keys = {lex: {key(f) for f in forms} for lex, forms in LEXEMES.items()}  # type: ignore
    notes: list[str] = []
    united = 0
    for lex, ks in keys.items():
        if len(ks) == 1:
            united += 1
        else:
            notes.append(f"split {lex}: {sorted(ks)}")
    names = list(keys)
    collide = 0
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = keys[a] & keys[b]
            if shared:
                collide += 1
                notes.append(f"collide {a} / {b}: {sorted(shared)}")
    return united, collide, notes


def speed(key: object, words: list[str]) -> tuple[float, float]:
    distinct = list(dict.fromkeys(words))
    t0 = time.perf_counter()
    for w in distinct:
        key(w)  # type: ignore[operator]
    uncached = len(distinct) / (time.perf_counter() - t0)
    cache: dict[str, str] = {}
    t0 = time.perf_counter()
    for w in words:
        got = cache.get(w)
        if got is None:
            cache[w] = key(w)  # type: ignore[operator]
    cached = len(words) / (time.perf_counter() - t0)
    return uncached, cached


def installed_size(*dists: str) -> int:
    total = 0
    for name in dists:
        dist = metadata.distribution(name)
        for f in dist.files or ():
            p = Path(str(dist.locate_file(f)))
            if p.is_file():
                total += p.stat().st_size
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=corpus_dir())
    args = ap.parse_args()
    words = tweet_words(args.corpus)
    seen = set(words)
    forms = [f for fs in LEXEMES.values() for f in fs]
    print(
        f"{len(LEXEMES)} lexemes, {len(forms)} forms; {sum(f in seen for f in forms)} of them "
        f"occur in the real-dev Russian tweets ({len(words):,} running words, "
        f"{len(seen):,} distinct)"
    )
    absent = [f for f in forms if f not in seen]
    if absent:
        print(f"  not in this corpus copy: {', '.join(absent)}")
    t0 = time.perf_counter()
    keyers = candidates()
    print(f"loading all three: {time.perf_counter() - t0:.2f} s (pymorphy3 reads its dictionary)")
    sizes = {
        "pymorphy3": installed_size("pymorphy3", "pymorphy3-dicts-ru", "dawg2-python"),
        "snowballstemmer": installed_size("snowballstemmer"),
        "PyStemmer": installed_size("PyStemmer"),
    }
    print(
        f"\n{'':16}{'united':>10}{'collisions':>12}{'distinct w/s':>14}"
        f"{'running w/s cached':>20}{'installed':>12}"
    )
    details = {}
    for name, key in keyers.items():
        united, collide, notes = accuracy(key)
        uncached, cached = speed(key, words)
        details[name] = notes
        print(
            f"{name:16}{united:>5}/{len(LEXEMES):<4}{collide:>12}{uncached:>14,.0f}"
            f"{cached:>20,.0f}{sizes[name] / 1e6:>10.1f} MB"
        )
    import snowballstemmer

    english = snowballstemmer.stemmer("english")
    en = ["cancelled", "cancel", "cancellation", "delayed", "delays", "delay", "waiting", "waited"]
    t0 = time.perf_counter()
    for _ in range(2000):
        for w in en:
            english.stemWord(w)
    rate = 2000 * len(en) / (time.perf_counter() - t0)
    print(
        f"\nEnglish Snowball (snowballstemmer): {rate:,.0f} words/s uncached; e.g. "
        + ", ".join(f"{w}→{english.stemWord(w)}" for w in en[:6])
    )
    for name, notes in details.items():
        print(f"\n{name}: {len(notes)} misses")
        for note in notes:
            print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
