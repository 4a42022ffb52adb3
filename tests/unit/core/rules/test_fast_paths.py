"""The classifier's fast paths give the answers of the plain way they replace.

Each shortcut of the hot path (issue 19: >= 2,000 messages/s on 2 KB mail) is checked here
against the obvious computation it stands for, on texts that reach both its branches.
"""

import re

from daemon.core.rules.conditions import Opinions, literal_first
from daemon.core.rules.textmatch import (
    _WORD,
    _WORD_OR_END,
    MAX_WORD,
    Negation,
    Pattern,
    PhraseIndex,
    Text,
    normalize,
)

NEG = Negation(frozenset({"не", "no", "not"}), frozenset({"нет"}), 3)

TEXTS = [
    "Спасибо, всё пришло! Но курьер опоздал - на час; претензий нет.",
    "Thanks: the e-mail came (finally). Not good, not bad — don't ask.",
    "Write to @love_dragons or me@example.com, please. No problems.",
    "a" * (MAX_WORD + 1) + " слово, ещё слово.\nНовая строка " + "b" * 70,
    "",
    "...!!!",
    "одно",
]


def _plain_words(raw: str) -> list[str]:
    return [w for w in _WORD.findall(normalize(raw)) if len(w) <= MAX_WORD and w[0] != "@"]


def _plain_clauses(raw: str) -> list[int]:
    out, clause = [], 0
    for token in _WORD_OR_END.findall(normalize(raw)):
        if not token:
            clause += 1
        elif len(token) <= MAX_WORD and token[0] != "@":
            out.append(clause)
    return out


def test_words_and_clauses_from_one_pass_match_the_plain_loops():
    for raw in TEXTS:
        text = Text(raw)
        assert text.words == _plain_words(raw), raw
        assert text.clauses == _plain_clauses(raw), raw
        assert len(text.clauses) == len(text.words)
        assert all(type(c) is int for c in text.clauses)


def test_normalize_replaces_apostrophes_yo_and_stress_marks():
    written = "Don\u2019t \u02bcx\u2018 `y` ЁЖИК приве\u0301т"
    assert normalize(written) == "don't 'x' 'y' ежик привет"


def test_starts_and_stems_match_a_scan():
    text = Text("нет связи, связь есть, связи нет; связист пришел")
    words = text.words
    for word in ("связи", "нет", "связь", "нигде"):
        assert text.starts(word, False) == [i for i, w in enumerate(words) if w == word]
    assert text.starts("связ", True) == [i for i, w in enumerate(words) if w.startswith("связ")]
    assert text.stems(5) >= {"связи", "связь", "прише"}
    assert text.has_stem("связи") and text.has_stem("свя")
    # a word shorter than the prefix (kept whole in `stems`) is no prefix's hit
    assert not text.has_stem("нетто") and not text.has_stem("нет*x")


def test_phrase_index_returns_candidates_in_the_given_order():
    patterns = [Pattern(p) for p in ("b c", "a b", "x* y", "b d", "q r")]
    index = PhraseIndex(patterns)
    assert index.candidates(Text("b a x")) == [0, 1, 2, 3]
    assert index.candidates(Text("nothing here")) == [2]


def test_opinion_hits_keep_phrase_then_text_order_and_negation():
    opinions = Opinions(["good", "great*", "well done"], ["bad", "not at all"], ["good day"])
    text = Text("Bad, bad service. Well done though, good; not good. Greatest! Good day.")
    assert opinions.hits(text, NEG) == [
        ("well done", 1),
        ("bad", -1),
        ("bad", -1),
        ("good", 1),
        ("good", -1),
        ("greatest", 1),
    ]


def test_literal_first_regex_finds_the_same_matches():
    texts = [normalize(t) for t in TEXTS] + ["ст. 18 зозпп, статья 4; пост 5", "thanks but no"]
    for source in (
        r"\bст(?:\.|атья|атьи)\s*\d+",
        r"\bthanks?\b",
        r"\bthank(?:s| you)\b[^.!?]{0,40}?\b(?:but|но)\b",
        r"\bab|слово",
        r"\b\d+",
    ):
        plain = re.compile(source, re.IGNORECASE)
        fast = literal_first(plain)
        for text in texts:
            got, want = fast.search(text), plain.search(text)
            assert (got and got.span()) == (want and want.span()), (source, text)
    assert literal_first(re.compile(r"\bст\.")).pattern.startswith("ст(?<=")
    assert literal_first(re.compile(r"\bthanks?")).pattern.startswith("thank(?<=")
    assert literal_first(re.compile(r"\b\d+")).pattern == r"\b\d+"
