"""Who a thank-you names: the employees it credits, or the team when the name is unclear.

The method passes thanks on to the people who earned them and counts them for bonuses, so a
letter saying «спасибо Ольге из отдела доставки» must reach Ольга and count for her. The
directory (rules.yaml `employees:`) gives each person the forms customers write; the letter's
words and the forms meet as word-form keys from the book's lemmatizer (daemon.core.rules.
morphology), so "Ольге", "Ольгу", "Ольгой" all meet the form "Ольга".

A key that belongs to several people ("Ольга" with two Olgas in the directory) names none of
them: a guess would send one Olga's thanks to the other and count it for her. It is settled
only when another key in the same letter names one of them alone ("Ольге Петровой"); else the
thanks counts for the team of those people when they share one, and for the case's usual
recipients otherwise. Pure: text and book in, `Credit` out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from daemon.core.rules import RuleBook
from daemon.core.rules.model import Employee
from daemon.core.rules.textmatch import normalize, split_words

#: Words of a letter looked at; a thank-you names its people early, and a bomb stays cheap.
MAX_WORDS = 2000
#: Characters of a thank-you kept for the digest to quote: a sentence or two, not the letter.
QUOTE_CHARS = 240


@dataclass(frozen=True)
class Unclear:
    """A name in the letter that fits several employees: nobody is credited by it."""

    word: str  # the key as found, e.g. "ольга"
    candidates: tuple[str, ...]  # their addresses
    team: str  # their common team, "" when they are in different teams


@dataclass(frozen=True)
class Credit:
    employees: tuple[Employee, ...] = ()  # named unmistakably, in directory order
    unclear: tuple[Unclear, ...] = ()

    @property
    def teams(self) -> tuple[str, ...]:
        """The teams an unclear name credits (owner keys), once each."""
        return tuple(dict.fromkeys(u.team for u in self.unclear if u.team))


def _found(words: list[str], key: tuple[str, ...]) -> bool:
    n = len(key)
    return any(tuple(words[i : i + n]) == key for i in range(len(words) - n + 1))


def credit(text: str, book: RuleBook) -> Credit:
    """The employees `text` (the customer's own words) names, and the names left unclear."""
    if not book.employees or not text:
        return Credit()
    raw = split_words(normalize(text[: MAX_WORDS * 20]))[:MAX_WORDS]
    lem = book.lemmatizer
    words = [lem.lemma(w) for w in raw] if lem else raw
    present = set(words)
    owners: dict[tuple[str, ...], list[Employee]] = defaultdict(list)
    for person in book.employees.values():
        for key in person.keys:
            if person not in owners[key]:
                owners[key].append(person)
    hits = [k for k in owners if k[0] in present and _found(words, k)]
    named = {p.address for k in hits if len(owners[k]) == 1 for p in owners[k]}
    unclear = []
    for key in hits:
        people = owners[key]
        if len(people) < 2 or any(p.address in named for p in people):
            continue
        teams = {p.team for p in people}
        team = teams.pop() if len(teams) == 1 else ""
        unclear.append(Unclear(" ".join(key), tuple(p.address for p in people), team))
    return Credit(tuple(p for p in book.employees.values() if p.address in named), tuple(unclear))


def thanked_addresses(person: Employee, book: RuleBook) -> tuple[str, ...]:
    """The employee and their manager (an owner's or another employee's address), once each."""
    out = [person.address]
    if person.manager:
        if person.manager in book.owners:
            out.append(book.owners[person.manager].email)
        elif person.manager.lower() in book.employees:
            out.append(person.manager.lower())
    return tuple(dict.fromkeys(a.lower() for a in out))


def own_words(text: str) -> str:
    """The start of what the customer wrote, for the digest: quoted lines (`>`) and a
    signature (`-- `) left out, spaces collapsed, cut at a word near QUOTE_CHARS."""
    kept = []
    for line in text.splitlines():
        if line.rstrip() == "--":
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    words = " ".join(" ".join(kept).split())
    if len(words) <= QUOTE_CHARS:
        return words
    return words[:QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
