"""Matchers and the all / any / not combinators: compiled once, asked per message.

Every condition answers two questions: `test(ctx)` — does it hold? (fast, called for every
rule until one decides) and `explain(ctx)` — on what text? (called only for the rule that
decided, so explanations cost nothing on the hot path). The message is reached only through
`Context`, which normalises each field once however many rules read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from daemon.core.mail.message import Message
from daemon.core.mail.quoting import Letter, split
from daemon.core.rules.morphology import Lemmatizer, lemma_pattern
from daemon.core.rules.textmatch import (
    LemmaText,
    Negation,
    Pattern,
    PhraseIndex,
    Text,
    normalize,
    stem_groups,
)

#: Most characters of a body field (body, said, closing, quoted) the conditions read.
BODY_BUDGET = 200_000
#: Most characters of one header value (Subject, a name, `header:<Name>`) the conditions read,
#: and most values of one header: a 1 MB Subject is read as its first 4,000 characters.
HEADER_BUDGET = 4_000
HEADER_VALUES = 100


@dataclass(frozen=True)
class Reason:
    """Why a rule matched: which field, which matcher, what text."""

    field: str
    matcher: str
    matched: str


#: Fields a condition may read with `in:`; plus `header:<Name>` for any header. `text`, the
#: default, is the subject and what the sender wrote now (`said`), without the quoted history
#: and the sign-off (daemon.letter).
FIELDS: dict[str, Callable[[Context], tuple[str, ...]]] = {
    "text": lambda c: (c.subject, c.letter.said),
    "subject": lambda c: (c.subject,),
    "body": lambda c: (c.body,),
    "said": lambda c: (c.letter.said,),
    "closing": lambda c: (c.letter.closing,),
    "quoted": lambda c: (c.letter.quoted,),
    "from": lambda c: (c.message.from_addr[:HEADER_BUDGET],),
    "from_name": lambda c: (c.message.from_name[:HEADER_BUDGET],),
    "sender_domain": lambda c: (c.message.sender_domain,),
    "to": lambda c: c.message.to,
    "cc": lambda c: c.message.cc,
    "recipients": lambda c: c.message.to + c.message.cc,
    "attachment_names": lambda c: tuple(a.filename for a in c.message.attachments),
    "attachment_types": lambda c: tuple(a.content_type for a in c.message.attachments),
    "language": lambda c: (c.message.language,),
}


class Context:
    """One message as the conditions see it; each field is read and normalised at most once,
    within its budget (`BODY_BUDGET`, `HEADER_BUDGET`), so no field costs more than a letter."""

    def __init__(self, message: Message, negation: Negation):
        self.message: Message = message
        self.negation: Negation = negation
        self._values: dict[str, tuple[str, ...]] = {}
        self._texts: dict[str, Text] = {}
        self._lemma_texts: dict[tuple[int, str], LemmaText] = {}
        #: Results a condition computes once per message (e.g. a sentiment score asked by the
        #: complaint rule and again by the thanks rule), keyed by (id(condition), what).
        self.memo: dict[tuple[int, str], object] = {}

    @cached_property
    def subject(self) -> str:
        return self.message.subject[:HEADER_BUDGET]

    @cached_property
    def body(self) -> str:
        return self.message.text[:BODY_BUDGET]

    @cached_property
    def letter(self) -> Letter:
        return split(self.body)

    def header(self, name: str) -> tuple[str, ...]:
        values = self.message.headers.get(name.lower(), ())[:HEADER_VALUES]
        return tuple(v[:HEADER_BUDGET] for v in values)

    def values(self, field: str) -> tuple[str, ...]:
        """Normalised, non-empty values of a field."""
        got = self._values.get(field)
        if got is None:
            raw = self.header(field[7:]) if field.startswith("header:") else FIELDS[field](self)
            got = self._values[field] = tuple(normalize(v) for v in raw if v)
        return got

    def text(self, field: str) -> Text:
        got = self._texts.get(field)
        if got is None:
            if field.startswith("header:"):
                raw = "\n".join(self.header(field[7:]))
            else:
                raw = "\n".join(FIELDS[field](self))
            got = self._texts[field] = Text(raw)
        return got

    def lemma_text(self, field: str, lemmatizer: Lemmatizer) -> LemmaText:
        """The field's words as lemmas: built once per message, however many rules ask."""
        key = (id(lemmatizer), field)
        got = self._lemma_texts.get(key)
        if got is None:
            got = self._lemma_texts[key] = LemmaText(self.text(field), lemmatizer.lemma)
        return got


class Condition:
    kind = "condition"
    field = "-"

    def test(self, ctx: Context) -> bool:
        raise NotImplementedError

    def explain(self, ctx: Context) -> list[Reason]:
        """Reasons of a condition that holds (call only after `test` returned True)."""
        raise NotImplementedError


class Words(Condition):
    """Whole words or phrases (`претензи*` = any word starting so), optionally negation-aware.

    negation: ignore — any occurrence counts; skip — negated ones ("no complaints") do not
    count; only — only negated ones count ("not happy"). `at_least` distinct patterns must hit.
    `except_` phrases hide the words inside them ("thanks in advance" is not thanks).
    """

    def __init__(
        self,
        kind: str,
        patterns: list[str],
        field: str,
        negation: str,
        at_least: int,
        except_: list[str] | None = None,
    ):
        self.kind, self.field, self.negation, self.at_least = kind, field, negation, at_least
        self.patterns = [Pattern(p) for p in patterns]
        self.except_ = [Pattern(p) for p in except_ or ()]
        self.except_index = PhraseIndex(self.except_)
        single = [p for p in self.patterns if len(p.parts) == 1]
        self.exact = frozenset(p.parts[0][0] for p in single if not p.parts[0][1])
        self.prefixes = frozenset(p.parts[0][0] for p in single if p.parts[0][1])
        self.prefix_groups = stem_groups(self.prefixes)
        self.multi = [p for p in self.patterns if len(p.parts) > 1]
        # Phrases indexed by their first word, so a message is checked only against the phrases
        # whose first word it holds (hundreds of phrases, a few candidates each message).
        self.multi_index = PhraseIndex(self.multi)
        self.single = {p.parts[0]: p for p in single}
        self.order = {id(p): i for i, p in enumerate(self.patterns)}
        self.fast = negation == "ignore" and at_least == 1 and not self.except_

    def _text(self, ctx: Context) -> Text:
        """The text the patterns are matched against (`Lemmas`: its lemmas)."""
        return ctx.text(self.field)

    def test(self, ctx: Context) -> bool:
        text = self._text(ctx)
        if self.fast:
            if not self.exact.isdisjoint(text.word_set):
                return True
            if self.prefixes and text.any_stem(self.prefix_groups):
                return True
            return any(p.find(text) for p in self._phrases(text))
        return len(self._hits(ctx, text, limit=self.at_least)) >= self.at_least

    def _phrases(self, text: Text) -> list[Pattern]:
        """The phrases that may occur: first word present (or prefix-first), all parts there."""
        multi = self.multi
        return [multi[k] for k in self.multi_index.candidates(text) if multi[k].could_match(text)]

    def _hits(self, ctx: Context, text: Text, limit: int = 0) -> list[str]:
        hits: list[str] = []
        hidden: list[tuple[int, int]] | None = None  # found once, and only if something matched
        for pattern in self._candidates(text):
            for start, end in pattern.find(text):
                if hidden is None:
                    # `except:` phrases are read as written, also by `lemmas:` (same indices)
                    plain = ctx.text(self.field)
                    excepts = self.except_
                    hidden = [
                        span
                        for k in self.except_index.candidates(plain)
                        for span in excepts[k].find(plain)
                    ]
                if any(s <= start and end <= e for s, e in hidden):
                    continue
                if self.negation != "ignore":
                    neg = text.negated(start, end, ctx.negation)
                    if neg != (self.negation == "only"):
                        continue
                hits.append(text.span(start, end))
                break
            if limit and len(hits) >= limit:
                break
        return hits

    def _candidates(self, text: Text) -> list[Pattern]:
        """Patterns that may occur, found by set intersection, in rule order."""
        found = {self.single[(w, False)] for w in self.exact & text.word_set}
        if self.prefixes:
            found.update(self.single[(w, True)] for w in text.stem_hits(self.prefix_groups))
        found.update(self._phrases(text))
        # sorted by position in the rule: a few candidates, where a scan meets every pattern
        return sorted(found, key=lambda p: self.order[id(p)])

    def explain(self, ctx: Context) -> list[Reason]:
        kind = self.kind if self.negation == "ignore" else f"{self.kind} ({self.negation} negated)"
        return [Reason(self.field, kind, ", ".join(self._hits(ctx, self._text(ctx))))]


class Lemmas(Words):
    """Words or phrases by dictionary form: `lemmas: [работать]` meets работает, работали,
    работать; `cancel` meets cancelled, cancels. Entries and message go through the same
    `Lemmatizer` (handed in when the rules are built); negation, `at_least` and `except` work
    as for `words`, with negation cues and `except` phrases read as written."""

    def __init__(
        self,
        patterns: list[str],
        field: str,
        negation: str,
        at_least: int,
        except_: list[str] | None,
        lemmatizer: Lemmatizer,
    ):
        self.lemmatizer = lemmatizer
        keyed = [lemma_pattern(p, lemmatizer) for p in patterns]
        super().__init__("lemmas", keyed, field, negation, at_least, except_)

    def _text(self, ctx: Context) -> Text:
        return ctx.lemma_text(self.field, self.lemmatizer)


#: A pattern that opens with `\b` and a run of letters (`\bст(?:атья|...)`), the letters
#: not the object of a quantifier after them.
_BOUNDARY_WORD = re.compile(r"\\b([^\W\d_]{2,})(?![?*+{])")


def literal_first(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The same pattern, written to start with its letters when it opens with `\b` + letters.

    `\bword…` and `word(?<=\bword)…` match the same text at the same places: the lookbehind
    checks the boundary before the letters just read. But a pattern that starts with a letter
    lets the regex engine skip ahead to the places where that letter (or the whole word)
    stands, where one that starts with `\b` is tried at every position of the text: 20-40
    times faster on a 2 KB letter. Any other pattern is returned as it is.
    """
    found = _BOUNDARY_WORD.match(pattern.pattern)
    if not found:
        return pattern
    word = found.group(1)
    return re.compile(f"{word}(?<=\\b{word}){pattern.pattern[found.end() :]}", pattern.flags)


class Regex(Condition):
    kind = "regex"

    def __init__(self, pattern: re.Pattern[str], field: str):
        self.pattern, self.field = pattern, field
        self._search = literal_first(pattern).search

    def test(self, ctx: Context) -> bool:
        return self._search(ctx.text(self.field).norm) is not None

    def explain(self, ctx: Context) -> list[Reason]:
        found = self._search(ctx.text(self.field).norm)
        return [Reason(self.field, "regex", found.group(0) if found else "")]


class Equals(Condition):
    kind = "equals"

    def __init__(self, values: list[str], field: str):
        self.values, self.field = frozenset(normalize(v) for v in values), field

    def _hit(self, ctx: Context) -> str | None:
        return next((v for v in ctx.values(self.field) if v in self.values), None)

    def test(self, ctx: Context) -> bool:
        return self._hit(ctx) is not None

    def explain(self, ctx: Context) -> list[Reason]:
        return [Reason(self.field, "equals", self._hit(ctx) or "")]


class Domains(Condition):
    """An address or domain in the field is one of the domains or a subdomain of one."""

    kind = "domains"

    def __init__(self, domains: list[str], field: str):
        self.domains = tuple(normalize(d).strip().lstrip("@").rstrip(".") for d in domains)
        self.field = field

    def _hit(self, ctx: Context) -> str | None:
        for value in ctx.values(self.field):
            host = value.rpartition("@")[2]
            for d in self.domains:
                if host == d or host.endswith("." + d):
                    return value
        return None

    def test(self, ctx: Context) -> bool:
        return self._hit(ctx) is not None

    def explain(self, ctx: Context) -> list[Reason]:
        return [Reason(self.field, "domains", self._hit(ctx) or "")]


class Exists(Condition):
    kind = "exists"

    def __init__(self, field: str):
        self.field = field

    def test(self, ctx: Context) -> bool:
        return any(v.strip() for v in ctx.values(self.field))

    def explain(self, ctx: Context) -> list[Reason]:
        return [Reason(self.field, "exists", ctx.values(self.field)[0][:80])]


class All(Condition):
    kind = "all"

    def __init__(self, children: list[Condition]):
        self.children = children

    def test(self, ctx: Context) -> bool:
        for child in self.children:  # noqa: SIM110 (all() over a generator: a frame per child)
            if not child.test(ctx):
                return False
        return True

    def explain(self, ctx: Context) -> list[Reason]:
        return [r for c in self.children for r in c.explain(ctx)]


class Any(Condition):
    kind = "any"

    def __init__(self, children: list[Condition]):
        self.children = children

    def test(self, ctx: Context) -> bool:
        for child in self.children:  # noqa: SIM110 (a plain loop, as in `All.test`)
            if child.test(ctx):
                return True
        return False

    def explain(self, ctx: Context) -> list[Reason]:
        hit = next(c for c in self.children if c.test(ctx))
        return hit.explain(ctx)


class Not(Condition):
    kind = "not"

    def __init__(self, child: Condition):
        self.child = child
        self.field = child.field

    def test(self, ctx: Context) -> bool:
        return not self.child.test(ctx)

    def explain(self, ctx: Context) -> list[Reason]:
        return [Reason(self.child.field, f"not {self.child.kind}", "")]


class Shared(Condition):
    """A condition named with a YAML anchor (&name) and reused through aliases (*name): asked
    once per message, however many rules reuse it."""

    def __init__(self, child: Condition):
        self.child = child
        self.kind, self.field = child.kind, child.field

    def test(self, ctx: Context) -> bool:
        key = (id(self), "test")
        got = ctx.memo.get(key)
        if got is None:
            got = ctx.memo[key] = self.child.test(ctx)
        return bool(got)

    def explain(self, ctx: Context) -> list[Reason]:
        return self.child.explain(ctx)


class Opinions:
    """A compiled positive/negative lexicon: word → +1 / −1, shared by every rule that uses it.

    Entries are words, `word*` prefixes or phrases. A word that fits several entries takes the
    exact word first, then the longest prefix. Each word's polarity is looked up once and kept.
    `neutral` entries score 0 and hide their words from the other lists ("best regards",
    "хорошего дня" are formulas, not opinions).
    """

    _CACHE_LIMIT = 50_000

    def __init__(
        self, positive: list[str], negative: list[str], neutral: list[str] | tuple[str, ...] = ()
    ):
        self.exact: dict[str, int] = {}
        self.prefixes: dict[str, int] = {}
        self.phrases: list[tuple[Pattern, int]] = []
        for entries, polarity in ((positive, 1), (negative, -1), (neutral, 0)):
            for entry in entries:
                pattern = Pattern(entry)
                if len(pattern.parts) > 1:
                    self.phrases.append((pattern, polarity))
                elif pattern.parts:
                    word, prefix = pattern.parts[0]
                    (self.prefixes if prefix else self.exact)[word] = polarity
        self._phrase_index = PhraseIndex(p for p, _ in self.phrases)  # tried in lexicon order
        self.min_prefix = min((len(p) for p in self.prefixes), default=1)
        self.max_prefix = max((len(p) for p in self.prefixes), default=0)
        self._polarity: dict[str, int] = {}

    def polarity(self, word: str) -> int:
        got = self._polarity.get(word)
        if got is None:
            got = self.exact.get(word)
            if got is None:
                got = 0
                for k in range(min(len(word), self.max_prefix), self.min_prefix - 1, -1):
                    if word[:k] in self.prefixes:
                        got = self.prefixes[word[:k]]
                        break
            if len(self._polarity) >= self._CACHE_LIMIT:
                self._polarity.clear()
            self._polarity[word] = got
        return got

    def hits(self, text: Text, negation: Negation) -> list[tuple[str, int]]:
        """(matched text, +1 | −1) for every opinion word or phrase; negated ones turn around.

        A word inside a matched phrase is not counted again on its own.
        """
        words = text.words
        out: list[tuple[str, int]] = []
        covered: set[int] = set()
        phrases = self.phrases
        for k in self._phrase_index.candidates(text):
            pattern, polarity = phrases[k]
            if pattern.could_match(text):
                for start, end in pattern.find(text):
                    covered.update(range(start, end))
                    if polarity:
                        sign = -polarity if text.negated(start, end, negation) else polarity
                        out.append((" ".join(words[start:end]), sign))
        # Each distinct word is looked up once, and only the opinion words' places visited
        # (`Text.starts`), in text order: most words of a letter carry no opinion.
        polarity_of = self.polarity
        places = [
            (i, word, polarity)
            for word in text.word_set
            if (polarity := polarity_of(word))
            for i in text.starts(word, False)
        ]
        places.sort()
        for i, word, polarity in places:
            if i not in covered:
                sign = -polarity if text.negated(i, i + 1, negation) else polarity
                out.append((word, sign))
        return out


class Sentiment(Condition):
    """Opinion words counted against each other: holds when the `lean` side wins by `margin`.

    Every occurrence of a positive entry scores +1 and of a negative entry −1; a negated one
    scores the other way ("not good" −1, "no problems" +1, "не плохо" +1).
    """

    kind = "sentiment"

    def __init__(self, opinions: Opinions, lean: str, margin: int, field: str):
        self.opinions, self.lean, self.margin, self.field = opinions, lean, margin, field
        self.sign = 1 if lean == "positive" else -1

    def hits(self, ctx: Context) -> list[tuple[str, int]]:
        key = (id(self.opinions), self.field)  # rules sharing a lexicon score a message once
        got = ctx.memo.get(key)
        if got is None:
            got = ctx.memo[key] = self.opinions.hits(ctx.text(self.field), ctx.negation)
        return got  # type: ignore[return-value]

    def score(self, ctx: Context) -> int:
        return sum(sign for _, sign in self.hits(ctx))

    def test(self, ctx: Context) -> bool:
        return self.sign * self.score(ctx) >= self.margin

    def explain(self, ctx: Context) -> list[Reason]:
        shown = ", ".join(f"{'+' if s > 0 else '-'}{w}" for w, s in self.hits(ctx))
        return [Reason(self.field, f"sentiment ({self.lean} {self.score(ctx):+d})", shown)]
