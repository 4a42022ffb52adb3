"""Asking the customer whether it was solved, and reading the answer. Pure.

When a complaint or an official letter is closed, the customer is asked once: "Удалось ли
решить ваш вопрос? Ответьте «да» или «нет»". Once per case whatever happens later (a reopened
and closed again case is not asked twice), never a robot (only a case whose customer was
acknowledged, or held back by the rate limit alone), never after a bounce on the case or during
a hard bounce's quiet period, never an address that said "stop", never a history or bulk close,
never a close from before the feature ran (`since`). The admin switches it off per category
(`ask_solved: false`).

The answer is read from what the customer wrote above the quoted question: yes / no / a score
of 1 to 5 / stop (never ask this address again) / anything else, which is free text for the
owner. A "no" reopens the case to its owner with the customer's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from daemon.core.cases import CLOSED, Case, Event, is_history
from daemon.core.mail.quoting import split
from daemon.core.rules import RuleBook
from daemon.core.rules.textmatch import normalize

YES, NO, SCORE, TEXT, STOP = "yes", "no", "score", "text", "stop"
#: A score this high counts as satisfied, this low tells the owner.
SATISFIED_FROM, UNHAPPY_UP_TO = 4, 2
#: Acknowledgment verdicts that still mean a person: held back by the rate limit only.
PERSON_KINDS = frozenset({"person", "rate_limited"})
#: The meta key of an address that asked not to be asked again.
OPT_OUT = "no_followup:"
MAX_TEXT = 2000

_YES = {"да", "yes", "y", "ага", "конечно", "угу", "yep", "yeah", "решено", "solved", "resolved"}
_NO = {"нет", "no", "n", "nope", "неа"}
#: A yes followed by one of these is a yes with a reservation: free text for the owner to read,
#: not a satisfied customer ("Да, но счёт так и не пересчитали").
_BUT = {
    "но",
    "однако",
    "только",
    "хотя",
    "правда",
    "but",
    "however",
    "except",
    "although",
    "though",
}
_STOP = {"stop", "unsubscribe", "стоп", "отписаться", "отпишите", "отписка"}
_NOT_SOLVED = re.compile(
    r"\b(?:не\s+решен\w*|не\s+решил\w*|not\s+(?:solved|resolved|fixed))\b", re.IGNORECASE
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Answer:
    kind: str  # yes | no | score | text | stop
    text: str = ""
    score: int | None = None

    @property
    def tells_owner(self) -> bool:
        """No, free text and a low score go to the owner; yes, a good score and stop do not."""
        if self.kind == SCORE:
            return self.score is not None and self.score <= UNHAPPY_UP_TO
        return self.kind in (NO, TEXT)


def read_answer(body: str) -> Answer:
    """What the customer answered, from their own words (quoted history and sign-off cut)."""
    said = split(body).said.strip()
    text = said[:MAX_TEXT]
    words = [normalize(w) for w in _WORD.findall(said)]
    if not words:
        return Answer(TEXT, text)
    first = words[0]
    if first in _STOP or (len(words) <= 3 and set(words) & _STOP):
        return Answer(STOP, text)
    if _NOT_SOLVED.search(normalize(said)):
        return Answer(NO, text)
    if first in _NO and len(words) > 1 and words[1].startswith(("проблем", "problem")):
        return Answer(YES, text)  # "нет проблем", "no problem": all is well
    if first in _NO:
        return Answer(NO, text)
    if first in _YES:
        return Answer(TEXT if _BUT & set(words[1:]) else YES, text)
    if first.isdigit() and len(first) == 1 and 1 <= int(first) <= 5 and len(words) <= 4:
        return Answer(SCORE, text, int(first))
    return Answer(TEXT, text)


def asked(case: Case) -> Event | None:
    """The question asked in `case`, if it was."""
    return next((e for e in case.events if e.what == "satisfaction_asked"), None)


def waiting(case: Case) -> bool:
    """The question was asked and not yet answered."""
    question = asked(case)
    if question is None:
        return False
    return not any(e.what == "satisfaction" and e.at >= question.at for e in case.events)


def may_ask(
    case: Case,
    book: RuleBook,
    meta_time: Callable[[str], datetime | None],
    since: datetime,
    now: datetime,
) -> bool:
    """Whether `case`, as it stands at `now`, is to be asked "was it solved?" now."""
    category = book.categories.get(case.category)
    if category is None or not category.ask_solved or case.status is not CLOSED:
        return False
    if asked(case) is not None or is_history(case) or not case.sender:
        return False
    closed = next((e for e in reversed(case.events) if e.what == "closed"), None)
    if closed is None or closed.at < since or str(closed.data.get("reason", "")).startswith("bulk"):
        return False
    if any(e.what == "bounce" for e in case.events):
        return False
    if not _a_person(case):
        return False
    address = case.sender.lower()
    quiet = meta_time(f"hard_bounce:{address}")
    return (quiet is None or quiet <= now) and meta_time(OPT_OUT + address) is None


def _a_person(case: Case) -> bool:
    """The acknowledgment's verdict said a person wrote (or only the rate limit held it)."""
    for event in case.events:
        if event.what == "ack_sent":
            return True
        if event.what == "ack_skipped":
            return str(event.data.get("kind", "")) in PERSON_KINDS
    return False
