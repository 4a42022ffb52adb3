"""One case as a report sees it at `now`: its state, owner and first answer replayed from its
events, and what the method recorded on it (verdict, "was it solved?", explanations).

Replaying up to `now` is what makes a report "as of last Monday" say what it said then; the
figures (daemon.core.report.figures) only count these lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from daemon.core.cases import CLOSED, LIFECYCLE, OPEN, Case, CaseStatus, Event
from daemon.core.explanations import asks


@dataclass(frozen=True)
class CaseLine:
    """One case as a list shows it: its state and owner as of `now`."""

    id: str
    category: str
    owner: str
    status: CaseStatus
    received: datetime
    due: datetime
    answered: datetime | None
    closed: datetime | None
    on_time: bool | None  # None: no answer yet, or history (never judged)
    rule: str
    subject: str
    history: bool = False  # imported history: counted, never judged on its deadline
    verdict: str = ""  # justified | unjustified | "" (no close with a verdict by `now`)
    cause: str = ""
    remedy: str = ""
    solved: str = ""  # "" not asked | asked | yes | no | score | text | stop
    score: int | None = None
    explanations: tuple[ExplanationLine, ...] = ()
    credited: tuple[str, ...] = ()  # employees a thank-you named (`credited` events)
    credit_teams: tuple[str, ...] = ()  # their teams, and those of names several share
    employees: tuple[str, ...] = ()  # the employees its last close with a verdict named
    sender: str = ""
    quote: str = ""  # the customer's first words, for a thank-you quoted in the digest


@dataclass(frozen=True)
class ExplanationLine:
    """One employee's explanation of one case, as of `now`."""

    case_id: str
    employee: str
    asked: datetime
    due: datetime
    given: datetime | None
    overdue: bool


def parse_time(text: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 from an event's data, in the admin's zone; a time without offset is taken there."""
    dt = datetime.fromisoformat(text)
    return dt.astimezone(zone) if dt.tzinfo else dt.replace(tzinfo=zone)


def _event_time(event: Event, zone: ZoneInfo) -> datetime:
    """When the answer went out: an "answered" event may carry `data["answered_at"]` (or
    `data["at"]`) — the Date of the owner's reply, when the daemon noticed it later than it was
    sent. Any other event happened at its `at`."""
    if event.what == "answered":
        for key in ("answered_at", "at"):
            when = event.data.get(key)
            if isinstance(when, str) and when:
                return parse_time(when, zone)
    return event.at.astimezone(zone)


def case_line(case: Case, now: datetime, zone: ZoneInfo) -> CaseLine:
    """Replay the case's events up to `now`: status, owner, first answer, last close."""
    status, owner = OPEN, case.owner
    first_answer = first_close = last_close = None
    if any(e.what == "reassigned" for e in case.events):  # replay owners from the first one
        opened = next((e.data.get("owner") for e in case.events if e.what == "opened"), None)
        owner = opened if isinstance(opened, str) and opened else owner
    for event in case.events:
        if event.at > now:
            continue
        status = LIFECYCLE.get((status, event.what), status)
        when = _event_time(event, zone)
        if event.what == "reassigned" and event.data.get("owner"):
            owner = str(event.data["owner"])
        elif event.what == "answered" and first_answer is None:
            first_answer = when
        elif event.what == "closed":
            first_close = first_close or when
            last_close = when
    answered = first_answer or first_close
    due = case.due.astimezone(zone)
    extra = _method(case, now, zone)
    imported = next((e for e in case.events if e.what == "imported"), None)
    if imported is not None:  # history: the daemon never had it, so nothing to judge
        closed = imported.at.astimezone(zone) if status == CLOSED else None
        return CaseLine(
            case.id,
            case.category,
            owner,
            status,
            case.received.astimezone(zone),
            due,
            None,
            closed,
            None,
            case.rule,
            case.subject,
            history=True,
            **extra,
        )
    return CaseLine(
        id=case.id,
        category=case.category,
        owner=owner,
        status=status,
        received=case.received.astimezone(zone),
        due=due,
        answered=answered,
        closed=last_close if status == CLOSED else None,
        on_time=None if answered is None else answered <= due,
        rule=case.rule,
        subject=case.subject,
        **extra,
    )


def _method(case: Case, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """What the method recorded on the case by `now`: the last verdict, the answer to "was it
    solved?", the explanations (daemon.core.explanations, daemon.core.satisfaction)."""
    seen = [e for e in case.events if e.at <= now]
    closes = [e for e in seen if e.what == "closed" and e.data.get("verdict")]
    verdict = closes[-1] if closes else None
    solved, score = "", None
    if any(e.what == "satisfaction_asked" for e in seen):
        answer = next((e for e in reversed(seen) if e.what == "satisfaction"), None)
        solved = str(answer.data.get("answer", "")) if answer else "asked"
        score = answer.data.get("score") if answer else None
    credits = [e for e in seen if e.what == "credited" and e.data.get("employee")]
    teams = [
        str(e.data.get("team") or "") for e in seen if e.what in ("credited", "credit_unclear")
    ]
    named = verdict.data.get("employees") if verdict else None
    lines = tuple(
        ExplanationLine(
            case.id,
            ask.employee,
            ask.asked_at.astimezone(zone),
            ask.due.astimezone(zone),
            ask.given_at.astimezone(zone) if ask.given_at and ask.given_at <= now else None,
            (ask.given_at is None or ask.given_at > now) and ask.due < now,
        )
        for ask in asks(case)
        if ask.asked_at <= now
    )
    return {
        "verdict": str(verdict.data["verdict"]) if verdict else "",
        "cause": str(verdict.data.get("cause", "")) if verdict else "",
        "remedy": str(verdict.data.get("remedy", "")) if verdict else "",
        "solved": solved,
        "score": score if isinstance(score, int) else None,
        "explanations": lines,
        "credited": tuple(dict.fromkeys(str(e.data["employee"]).lower() for e in credits)),
        "credit_teams": tuple(dict.fromkeys(t for t in teams if t)),
        "employees": tuple(
            dict.fromkeys(str(a).lower() for a in named if a) if isinstance(named, list) else ()
        ),
        "sender": case.sender,
        "quote": next(
            (str(e.data.get("text", "")) for e in reversed(seen) if e.what == "thanks_quoted"), ""
        ),
    }
