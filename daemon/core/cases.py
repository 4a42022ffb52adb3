"""A case and its lifecycle: the one place that says what may happen to a case, and when.

The lifecycle is a table (state, event) -> new state; an event not in the table raises, so a
closed case cannot silently be "answered" again. Every change is appended as an `Event` — for an
official letter the trail is the evidence of receipt and of the answer date. States and events
are types mypy checks, and times are aware datetimes (see core/records for why). "Overdue" is
defined here once, for `status`, `cases list --overdue` and the period report alike. Pure: no I/O.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, cast, get_args

from daemon.core.records import aware, moment, parse_stamp, stamp
from daemon.errors import FeedbackdError


class CaseStatus(StrEnum):
    """Where a case stands; the values are the store's strings."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN, ANSWERED, CLOSED = CaseStatus.OPEN, CaseStatus.ANSWERED, CaseStatus.CLOSED

#: What can happen to a case: the event names written to its trail.
EventKind = Literal[
    "opened",
    "ack_sent",
    "ack_skipped",
    "owner_notified",
    "reply_joined",
    "answered",
    "closed",
    "reopened",
    "reassigned",
    "note",
    "thanks_forwarded",
    "added_notice",
    "reminder_sent",
    "escalated",
    "bounce",
    "mail_failed",
    "imported",
    "explanation_asked",
    "explanation_sent",
    "explanation_reminded",
    "explanation_given",
    "satisfaction_asked",
    "satisfaction",
    "credited",
    "credit_unclear",
    "thanks_quoted",
    "reclassified",
    "ack_corrected",
]
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))

#: (state, event) -> next state. Events that do not move the state map to the same state.
LIFECYCLE: dict[tuple[CaseStatus, EventKind], CaseStatus] = {
    (OPEN, "ack_sent"): OPEN,
    (OPEN, "ack_skipped"): OPEN,
    (OPEN, "owner_notified"): OPEN,
    (OPEN, "reply_joined"): OPEN,
    (ANSWERED, "reply_joined"): OPEN,  # the customer wrote again: the ball is back with us
    (CLOSED, "reply_joined"): CLOSED,
    (OPEN, "answered"): ANSWERED,
    (OPEN, "closed"): CLOSED,
    (ANSWERED, "closed"): CLOSED,
    (CLOSED, "reopened"): OPEN,
    (ANSWERED, "reopened"): OPEN,
    (OPEN, "reassigned"): OPEN,
    (ANSWERED, "reassigned"): ANSWERED,
    (OPEN, "note"): OPEN,
    (ANSWERED, "note"): ANSWERED,
    (CLOSED, "note"): CLOSED,
    (OPEN, "thanks_forwarded"): OPEN,
    (OPEN, "added_notice"): OPEN,
    (ANSWERED, "added_notice"): ANSWERED,
    (CLOSED, "added_notice"): CLOSED,
    (OPEN, "reminder_sent"): OPEN,
    (OPEN, "escalated"): OPEN,
    (OPEN, "bounce"): OPEN,
    (ANSWERED, "bounce"): ANSWERED,
    (CLOSED, "bounce"): CLOSED,
    (OPEN, "mail_failed"): OPEN,
    (ANSWERED, "mail_failed"): ANSWERED,
    (CLOSED, "mail_failed"): CLOSED,
    # A person moved the case to its right category (daemon.core.reclassify): owner and due
    # follow the new category; allowed after closing too, so the reports count it right.
    (OPEN, "reclassified"): OPEN,
    (ANSWERED, "reclassified"): ANSWERED,
    (CLOSED, "reclassified"): CLOSED,
    (OPEN, "ack_corrected"): OPEN,
    (ANSWERED, "ack_corrected"): ANSWERED,
    # History: mail from before the daemon's first run (or `feedbackd import --before`), never
    # handled by it; closed at once, counted in reports, judged on no deadline (core/report).
    (OPEN, "imported"): CLOSED,
}
#: Events that happen beside the case's state, in any state: the employee's explanation (asked,
#: its request and reminders mailed, given) and the customer's answer to "was it solved?".
#: A "no" is a `satisfaction` event followed by `reopened`. A thank-you's credit to the employee
#: it names (`credited`), or to the team when the name fits several (`credit_unclear`).
BESIDE: tuple[EventKind, ...] = (
    "explanation_asked",
    "explanation_sent",
    "explanation_reminded",
    "explanation_given",
    "satisfaction_asked",
    "satisfaction",
    "credited",
    "credit_unclear",
    "thanks_quoted",
)
LIFECYCLE.update({(state, what): state for state in CaseStatus for what in BESIDE})


class IllegalTransition(FeedbackdError):
    """An event the lifecycle table does not allow in the case's state; nothing was changed."""

    def __init__(self, case_id: str, state: str, event: str):
        self.case_id, self.state, self.event = case_id, state, event
        super().__init__(f"{case_id}: cannot apply '{event}' to a case that is {state}")


def event_kind(name: str) -> EventKind:
    """A lifecycle event named by a string from outside (a command, a request, a document)."""
    if name not in EVENT_KINDS:
        raise ValueError(f"unknown case event {name!r}")
    return cast(EventKind, name)


@dataclass(frozen=True)
class Event:
    at: datetime
    who: str  # "feedbackd", an owner key, or an address
    what: EventKind
    data: dict[str, Any] = field(default_factory=dict)  # JSON values: times in it stay ISO text

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", moment(self.at, f"time of event {self.what!r}"))
        event_kind(self.what)

    def to_doc(self) -> dict[str, Any]:
        """`asdict` with the time as text, written out: asdict walks every value generically."""
        data = deepcopy(self.data)
        return {"at": stamp(self.at), "who": self.who, "what": self.what, "data": data}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Event:
        what = event_kind(str(doc["what"]))
        return cls(**(doc | {"at": parse_stamp(doc["at"], f"time of event {what!r}")}))


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    owner: str
    status: CaseStatus
    received: datetime
    due: datetime
    sender: str
    sender_name: str
    subject: str
    message_id: str
    language: str
    rule: str
    tags: tuple[str, ...] = ()
    thread: tuple[str, ...] = ()  # Message-IDs of every mail in the case, ours and theirs
    events: tuple[Event, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", CaseStatus(self.status))
        object.__setattr__(self, "received", moment(self.received, f"{self.id} received"))
        object.__setattr__(self, "due", moment(self.due, f"{self.id} due"))

    def to_doc(self) -> dict[str, Any]:
        """The store's document: the same keys, order and strings as ever (see core/records)."""
        return {
            "id": self.id,
            "category": self.category,
            "owner": self.owner,
            "status": self.status.value,
            "received": stamp(self.received),
            "due": stamp(self.due),
            "sender": self.sender,
            "sender_name": self.sender_name,
            "subject": self.subject,
            "message_id": self.message_id,
            "language": self.language,
            "rule": self.rule,
            "tags": tuple(self.tags),
            "thread": tuple(self.thread),
            "events": tuple(e.to_doc() for e in self.events),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Case:
        cid = doc.get("id", "?")
        typed = {
            "status": CaseStatus(doc["status"]),
            "received": parse_stamp(doc["received"], f"{cid} received"),
            "due": parse_stamp(doc["due"], f"{cid} due"),
            "tags": tuple(doc.get("tags", ())),
            "thread": tuple(doc.get("thread", ())),
            "events": tuple(Event.from_doc(e) for e in doc.get("events", ())),
        }
        return cls(**(doc | typed))


def overdue(status: CaseStatus, due: datetime, now: datetime) -> bool:
    """The one definition: open, and its due moment is before `now` — instants, not text."""
    return status == OPEN and due < aware(now, "now")


def is_overdue(case: Case, now: datetime) -> bool:
    return overdue(case.status, case.due, now)


def is_history(case: Case) -> bool:
    """Imported history: recorded for the reports, never answered, reminded or escalated."""
    return any(e.what == "imported" for e in case.events)


def case_id(year: int, number: int) -> str:
    return f"FB-{year}-{number:06d}"


def apply(case: Case, what: EventKind, at: datetime, who: str = "feedbackd", **data: Any) -> Case:
    """Return the case after `what` happened; raise IllegalTransition if it may not happen."""
    key = (case.status, what)
    if key not in LIFECYCLE:
        raise IllegalTransition(case.id, case.status, what)
    changes: dict[str, Any] = {"status": LIFECYCLE[key]}
    if what == "reassigned":
        changes["owner"] = data["owner"]
    if what == "reclassified":
        changes |= {"category": data["to"], "owner": data["owner"]}
        changes["due"] = parse_stamp(data["due"], f"{case.id} due")
    mid = data.get("message_id")
    if mid and mid not in case.thread:
        changes["thread"] = (*case.thread, mid)
    event = Event(at, who, what, dict(data))
    return replace(case, events=(*case.events, event), **changes)


def open_case(
    cid: str,
    *,
    category: str,
    owner: str,
    received: datetime,
    due: datetime,
    sender: str,
    sender_name: str,
    subject: str,
    message_id: str,
    language: str,
    rule: str,
    tags: tuple[str, ...] = (),
) -> Case:
    return Case(
        id=cid,
        category=category,
        owner=owner,
        status=OPEN,
        received=received,
        due=due,
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        message_id=message_id,
        language=language,
        rule=rule,
        tags=tags,
        thread=(message_id,) if message_id else (),
        events=(
            Event(
                received,
                "feedbackd",
                "opened",
                {"category": category, "owner": owner, "rule": rule, "due": due.isoformat()},
            ),
        ),
    )
