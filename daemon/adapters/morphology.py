"""The word-form dictionaries behind `lemmas:`: pymorphy3 for Russian, Snowball for English.

Chosen by bench/bench_morphology.py on word forms from real Russian tweets (docs/rules.md,
"lemmas"): pymorphy3 with its Russian dictionary put 32 of 35 words' forms under one key with
no collision, where a Snowball stemmer managed 22 and merged unrelated words ("верно" with
"вернуть"); Russian forms change inside the word (денег / деньги, пришёл / прийти, жду / ждать),
which a suffix stripper cannot undo. pymorphy3 is slower (about 10,000 new words/s) and larger
(16 MB installed, mostly the dictionary), so every word is looked up once and kept: the mail
of a day repeats the same few thousand words. English changes little at the word's end, and
the Snowball English stemmer (pure Python, 2 MB) is the usual choice there.

This is an adapter because MorphAnalyzer reads its dictionary files from disk; the core gets
the finished `Lemmatizer` (daemon.core.rules.morphology) through `build(..., lemmatizer=...)`.
"""

from __future__ import annotations

import logging
from functools import cache, lru_cache
from typing import Any

#: Distinct words kept; past this the least recently used are looked up again.
CACHE_WORDS = 200_000


class Morphology:
    """Cyrillic words to their dictionary form, Latin words to their English stem; cached.

    Words arrive normalised (lower case, `е` for `ё`) and leave so: pymorphy3 writes `ё` in
    some normal forms ("ещё"), folded back here. Digits, mixed scripts and anything else are
    their own key.
    """

    def __init__(self, morph: Any, english: Any, cache_words: int = CACHE_WORDS):
        self._morph = morph
        self._english = english
        self.lemma = lru_cache(maxsize=cache_words)(self._lemma)

    def _lemma(self, word: str) -> str:
        first = word[:1]
        if "а" <= first <= "я" or first == "ё":
            form: str = self._morph.parse(word)[0].normal_form
            return form.replace("ё", "е")
        if "a" <= first <= "z":
            stem: str = self._english.stemWord(word)
            return stem
        return word


@cache
def default_lemmatizer() -> Morphology | None:
    """The shared lemmatizer (its dictionary is read once per process), or None when the
    packages are not installed: rules that use `lemmas:` then fail `check` saying so."""
    try:
        import pymorphy3
        import snowballstemmer
    except ImportError:
        return None
    # pymorphy3 logs two INFO lines per load ("Loading dictionaries from …"): noise on every
    # command's stderr and in the journal, where our own lines should stand alone.
    logging.getLogger("pymorphy3").setLevel(logging.WARNING)
    return Morphology(pymorphy3.MorphAnalyzer(), snowballstemmer.stemmer("english"))
