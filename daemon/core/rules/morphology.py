"""Word forms to one key, so that a rule names a word once and meets every form of it.

Customers write "не работает", "не работали", "работать не хочет"; "cancelled", "cancels",
"cancellation". A rule saying `lemmas: [работать, cancel]` compares keys, not letters: each word
of the message and of the rule goes through the same `Lemmatizer`, which turns a Russian form
into its dictionary form (работает → работать, денег → деньга) and an English word into its
Snowball stem (cancelled → cancel).

The core only defines what a lemmatizer is and how a text is cut into lemmas: the dictionaries
behind it are files, read by daemon.adapters.morphology and handed in when the rules are built.
Any code that needs lemmas of a text (the rules, a learned model) calls `lemmas_of` with the
same lemmatizer, so all of them see the same keys.
"""

from __future__ import annotations

from typing import Protocol

from daemon.core.rules.textmatch import MAX_WORD, normalize, split_words


class Lemmatizer(Protocol):
    """One word (already normalised: lower case, `е` for `ё`) to its key.

    Implementations must be deterministic (the same word, the same key, in every process) and
    cheap on repeated words: classification calls `lemma` for every word of every message.
    """

    def lemma(self, word: str) -> str: ...


def lemmas_of(text: str, lemmatizer: Lemmatizer) -> list[str]:
    """The lemmas of a raw text's words, in order (normalised and split as the rules do; a run
    of letters longer than `MAX_WORD` is no word here either)."""
    return [lemmatizer.lemma(w) for w in split_words(normalize(text)) if len(w) <= MAX_WORD]


def lemma_pattern(entry: str, lemmatizer: Lemmatizer) -> str:
    """A `lemmas:` entry with each word replaced by its lemma ("не приходит" → "не приходить")."""
    return " ".join(lemmatizer.lemma(w) for w in normalize(entry).split())
