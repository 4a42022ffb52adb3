"""Text as the matchers see it: normalised once per message, tokenised into clauses.

Customers write "Претензия", "ПРЕТЕНЗИЮ", "претензиЮ", "Отчёт" and "Отчет", full-width digits
and curly apostrophes. Matching must not care, so every field is reduced once — NFKC,
case-folded, ё → е, ’ → ' — and split into words. Rules are normalised the same way when the
file loads, so a rule and a message always meet in the same alphabet. Word forms are handled
by prefixes (`претензи*` matches претензия, претензию, претензией) or by lemmas (`LemmaText`:
the same words replaced by their dictionary forms, see daemon.core.rules.morphology).

Every cost here is linear in the text, because the text is a stranger's: a run of letters longer
than `MAX_WORD` is not a word (no rule can name it), a `Text` keeps at most `MAX_CHARS`, and a
prefix lookup slices each distinct word once per prefix length the rules use — never every
prefix of every word, which a 200,000-letter "word" turned into 20 GB. A phrase's first word
is found by one scan of the words per distinct first word the rules ask for (`Text.starts`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, compress
from operator import itemgetter, not_

#: Longest word the matchers see; a longer run of letters (base64, a hostile blob) is skipped.
MAX_WORD = 64
#: Most characters of one field's text the matchers see: the body budget plus a subject.
MAX_CHARS = 210_000

#: Characters replaced after case-folding (U+0301: a stress mark inside a word). Applied with
#: `str.replace`, one C scan per pair: `str.translate` looks every character of a Cyrillic text
#: up in a dict and measured ten times slower. Each is one character and no replacement is
#: another's key, so the order does not matter.
_APOSTROPHES = (
    ("\u2019", "'"),
    ("\u02bc", "'"),
    ("\u2018", "'"),
    ("`", "'"),
    ("ё", "е"),
    ("\u0301", ""),
)
#: "'", "-" and "_" inside a word keep it whole: "don't", "e-mail", "love_dragons". A run that
#: follows "@" (a handle such as "@love_dragons", the domain after an address's "@") is matched
#: with its "@" and then dropped: a name is no word of opinion ("love", "best", "united").
_WORD = re.compile(r"@?[^\W_]+(?:['\-_][^\W_]+)*")
#: Characters that end a clause: negation never reaches across them. No word contains one,
#: so the words this finds (group 1) are exactly those of `_WORD`.
_WORD_OR_END = re.compile(r"(@?[^\W_]+(?:['\-_][^\W_]+)*)|[.!?;:,()\n\u2014\u2013]|\s-\s")


@dataclass(frozen=True)
class Negation:
    """Cue words that turn a match around: "no complaints", "претензий нет".

    A word or phrase match is *negated* when a `before` cue stands at most `window` words before
    it, or an `after` cue at most `window` words after it, in the same clause (clauses end at
    . ! ? ; : , and line breaks).
    """

    before: frozenset[str] = frozenset()
    after: frozenset[str] = frozenset()
    window: int = 3


def normalize(text: str) -> str:
    """NFKC, case-fold, ё → е, apostrophes unified. Same function for rules and messages."""
    text = unicodedata.normalize("NFKC", text).casefold()
    for old, new in _APOSTROPHES:
        if old in text:
            text = text.replace(old, new)
    return text


def split_words(text: str) -> list[str]:
    """Words of an already normalised text ("don't" and "e-mail" stay one word)."""
    return [w for w in _WORD.findall(text) if w[0] != "@"]


def stem_groups(prefixes: Iterable[str]) -> tuple[tuple[int, frozenset[str]], ...]:
    """Prefixes grouped by length, as `Text.stem_hits` takes them (built once, at load)."""
    by_length: dict[int, set[str]] = {}
    for prefix in prefixes:
        by_length.setdefault(len(prefix), set()).add(prefix)
    return tuple((n, frozenset(group)) for n, group in sorted(by_length.items()))


class Text:
    """One field of one message, normalised and tokenised lazily, each step at most once."""

    __slots__ = ("__dict__", "_starts", "_stems", "raw")

    def __init__(self, raw: str):
        self.raw = raw[:MAX_CHARS]
        self._stems: dict[int, frozenset[str]] = {}
        self._starts: dict[tuple[str, bool], list[int]] = {}

    @cached_property
    def norm(self) -> str:
        return normalize(self.raw)

    @cached_property
    def _tokens(self) -> tuple[list[str], bool]:
        """The words and clause ends ("") of the text in order, from one regex pass that serves
        `words` and `clauses` both; and whether every word found is kept (no handle, none over
        `MAX_WORD`: almost every letter), which lets both be built in C, without a loop."""
        norm = self.norm
        tokens: list[str] = _WORD_OR_END.findall(norm)
        return tokens, "@" not in norm and max(map(len, tokens), default=0) <= MAX_WORD

    @cached_property
    def words(self) -> list[str]:
        tokens, plain = self._tokens
        if plain:
            return list(filter(None, tokens))
        return [w for w in tokens if w and len(w) <= MAX_WORD and w[0] != "@"]

    @cached_property
    def clauses(self) -> list[int]:
        """Clause number of each word: the count of clause ends before it."""
        tokens, plain = self._tokens
        if plain:
            return list(compress(accumulate(map(not_, tokens), initial=0), tokens))
        out: list[int] = []
        clause = 0
        for word in tokens:
            if word:
                if len(word) <= MAX_WORD and word[0] != "@":  # the same words as `words`
                    out.append(clause)
            else:
                clause += 1
        return out

    @cached_property
    def word_set(self) -> frozenset[str]:
        return frozenset(self.words)

    def stems(self, length: int) -> frozenset[str]:
        """The first `length` letters (2+) of every distinct word that long: `прет*` is one
        lookup in `stems(4)`. Built once per length a rule asks for, one slice per word."""
        got = self._stems.get(length)
        if got is None:
            # A shorter word is kept whole: never equal to a `length`-letter prefix, so it
            # changes no answer, and slicing in `map` saves the per-word filter.
            words = self.word_set if length >= 2 else ()
            got = self._stems[length] = frozenset(map(itemgetter(slice(length)), words))
        return got

    def has_stem(self, prefix: str) -> bool:
        """Does some word start with `prefix` (2+ letters)?"""
        return prefix in self.stems(len(prefix))

    def stem_hits(self, groups: tuple[tuple[int, frozenset[str]], ...]) -> set[str]:
        """The prefixes of `stem_groups(...)` that start some word."""
        return {p for length, group in groups for p in group & self.stems(length)}

    def any_stem(self, groups: tuple[tuple[int, frozenset[str]], ...]) -> bool:
        for length, group in groups:  # noqa: SIM110 (hot path, see `negated`)
            if not group.isdisjoint(self.stems(length)):
                return True
        return False

    def starts(self, word: str, prefix: bool) -> list[int]:
        """Indices of words equal to `word` (or starting with it, for a prefix), ascending.

        Found by scanning the words for the one asked (`list.index`, in C) and kept: a message
        meets a few dozen phrase starts, where indexing every word of it cost more than all
        the scans together."""
        key = (word, prefix)
        got = self._starts.get(key)
        if got is None:
            words = self.words
            if prefix:
                got = [i for i, w in enumerate(words) if w.startswith(word)]
            else:
                got = []
                if word in self.word_set:
                    i = words.index(word)
                    try:
                        while True:
                            got.append(i)
                            i = words.index(word, i + 1)
                    except ValueError:
                        pass
            self._starts[key] = got
        return got

    def span(self, start: int, end: int) -> str:
        """The words[start:end] as the reasons of a decision show them."""
        return " ".join(self.words[start:end])

    def negated(self, start: int, end: int, negation: Negation) -> bool:
        """Is the match words[start:end] negated by a cue in the same clause?"""
        words, clauses = self.words, self.clauses
        clause = clauses[start]
        lo = max(0, start - negation.window)
        for i in range(lo, start):
            if clauses[i] == clause and words[i] in negation.before:
                return True
        hi = min(len(words), end + negation.window)
        # Plain loops here and in `could_match`: the matchers' hot path, where any()/all() over
        # a generator measured twice as slow.
        for i in range(end, hi):  # noqa: SIM110
            if clauses[i] == clause and words[i] in negation.after:
                return True
        return False


class LemmaText(Text):
    """A `Text` whose words are the lemmas of another's, one for one (same indices, clauses).

    Negation cues are looked up among the words as written ("не", "doesn't"), and reasons show
    them as written too, so only the matching itself sees the lemmas.
    """

    def __init__(self, source: Text, lemma: Callable[[str], str]):
        super().__init__(source.raw)
        self.source = source
        self.__dict__["norm"] = source.norm
        self.__dict__["words"] = [lemma(w) for w in source.words]

    @cached_property
    def clauses(self) -> list[int]:
        return self.source.clauses

    def span(self, start: int, end: int) -> str:
        return self.source.span(start, end)

    def negated(self, start: int, end: int, negation: Negation) -> bool:
        return self.source.negated(start, end, negation)


class Pattern:
    """A word or phrase from a rule: a sequence of exact words or prefixes (`претензи*`)."""

    __slots__ = ("parts", "source")

    def __init__(self, source: str):
        self.source = source
        self.parts: tuple[tuple[str, bool], ...] = tuple(
            (w.rstrip("*"), w.endswith("*")) for w in normalize(source).split()
        )

    def could_match(self, text: Text) -> bool:
        """Cheap necessary condition: every part occurs somewhere in the text."""
        for word, prefix in self.parts:  # a plain loop: the hot path, see `Text.negated`
            if not (text.has_stem(word) if prefix else word in text.word_set):
                return False
        return True

    def find(self, text: Text) -> list[tuple[int, int]]:
        """All (start, end) word spans where the pattern occurs."""
        if not self.parts or not self.could_match(text):
            return []
        words, k = text.words, len(self.parts)
        first, first_prefix = self.parts[0]
        spans = []
        for i in text.starts(first, first_prefix):
            if i + k > len(words):
                break
            for j in range(1, k):
                word, prefix = self.parts[j]
                if not (words[i + j].startswith(word) if prefix else words[i + j] == word):
                    break
            else:
                spans.append((i, i + k))
        return spans


class PhraseIndex:
    """Patterns by their first word, so that a text is tried only against the few whose first
    word it holds (plus those that start with a prefix): a lexicon or an `except:` list has
    dozens to hundreds of entries, a message meets a handful."""

    __slots__ = ("_by_first", "_firsts", "_prefixed")

    def __init__(self, patterns: Iterable[Pattern]):
        self._by_first: dict[str, list[int]] = {}
        self._prefixed: list[int] = []
        for i, pattern in enumerate(patterns):
            if not pattern.parts:
                continue  # matches nothing (`find` returns no span)
            first, prefix = pattern.parts[0]
            if prefix:
                self._prefixed.append(i)
            else:
                self._by_first.setdefault(first, []).append(i)
        self._firsts = frozenset(self._by_first)

    def candidates(self, text: Text) -> list[int]:
        """Indices (ascending, i.e. in the given order) of the patterns that may occur."""
        found = list(self._prefixed)
        for first in self._firsts & text.word_set:
            found.extend(self._by_first[first])
        found.sort()
        return found
