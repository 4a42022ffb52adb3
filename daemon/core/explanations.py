"""The employee's written explanation: asked, mailed, reminded, given. Pure.

The method asks the employee whose actions caused a complaint for a written explanation. The
owner asks (`explain ADDRESS` by mail, `feedbackd cases explain ID --employee ADDRESS`); that
is an `explanation_asked` event with the employee and the due moment (`explanations.due` of
rules.yaml, in working days of the case's calendar). The clock's duties then mail the request
(`explanation_sent`, key `request`) and the rungs of `explanations.reminders`
(`explanation_reminded`, keys as in daemon.core.reminders), each once. The employee's reply
to the request's own address (daemon.core.tokens.explanation_address: a token bound to the
case and the employee, and the employee's From) is `explanation_given`, with the text.

Asking the same employee again once they have answered opens a new ask; while one is
outstanding a second is refused. Every figure (asked, given, overdue) is counted from these
events, in daemon.core.report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from daemon.core.cases import Case
from daemon.core.deadlines import due_at
from daemon.core.records import parse_stamp
from daemon.core.reminders import CaseClock, plan_reminders
from daemon.core.rules import Category, RuleBook
from daemon.core.workdays import WorkCalendar

REQUEST = "request"


@dataclass(frozen=True)
class Ask:
    """One employee's explanation of one case: when asked, by when, and what happened since."""

    employee: str
    asked_at: datetime
    due: datetime
    asked_by: str = ""
    given_at: datetime | None = None
    sent: frozenset[str] = frozenset()  # keys of the mails sent for it: request, before:1wd …
    request_id: str = ""  # Message-ID of the request mail, once sent

    def overdue(self, now: datetime) -> bool:
        return self.given_at is None and self.due < now


@dataclass(frozen=True)
class Mail:
    """A mail the clock owes the employee for an ask: the request or a reminder rung."""

    ask: Ask
    key: str
    kind: str  # request | remind | due | overdue
    note: str = ""


def explanation_due(book: RuleBook, cal: WorkCalendar, asked_at: datetime) -> datetime:
    """When an explanation asked at `asked_at` is due (rules.yaml `explanations.due`)."""
    return due_at(asked_at, book.explanations.due, cal).at


def asks(case: Case) -> list[Ask]:
    """Every ask of `case`, oldest first, with what happened to it."""
    out: list[Ask] = []
    for event in case.events:
        employee = str(event.data.get("employee", "")).lower()
        if event.what == "explanation_asked" and employee:
            due = parse_stamp(str(event.data.get("due", "")), f"{case.id} explanation due")
            out.append(Ask(employee, event.at, due, event.who))
            continue
        index = next((i for i in range(len(out) - 1, -1, -1) if out[i].employee == employee), None)
        if index is None:
            continue
        ask = out[index]
        if event.what == "explanation_given" and ask.given_at is None:
            out[index] = replace(ask, given_at=event.at)
        elif event.what in ("explanation_sent", "explanation_reminded"):
            key = str(event.data.get("key", REQUEST))
            mid = str(event.data.get("message_id", "")) if key == REQUEST else ask.request_id
            out[index] = replace(ask, sent=ask.sent | {key}, request_id=mid or ask.request_id)
    return out


def outstanding(case: Case) -> list[Ask]:
    """The asks of `case` not yet answered."""
    return [a for a in asks(case) if a.given_at is None]


def due_mail(case: Case, book: RuleBook, cal: WorkCalendar, now: datetime) -> list[Mail]:
    """The mails owed to employees of `case` at `now`: a request not yet sent goes at once;
    the reminder rungs follow the reminder rules (working hours only, latest of a group)."""
    out: list[Mail] = []
    ladder = Category(
        name="explanation",
        owner="",
        deadline=book.explanations.due,
        template="",
        folder="",
        reminders=book.explanations.reminders,
    )
    for ask in outstanding(case):
        if REQUEST not in ask.sent:
            out.append(Mail(ask, REQUEST, REQUEST))
            continue
        clock = CaseClock(ask.asked_at, ask.due, ask.employee)
        for rung in plan_reminders(clock, ladder, book, ask.sent, now, cal):
            if rung.kind != "escalate":
                out.append(Mail(ask, rung.key, rung.kind, rung.note))
    return out
