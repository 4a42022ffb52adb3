"""A case and its lifecycle: the one place that says what may happen to a case, and when.

The lifecycle is a table (state, event) -> new state; an event not in the table raises, so a
closed case cannot silently be "answered" again. Every change is appended as an `Event` — for an
official letter the trail is the evidence of receipt and of the answer date. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"

#: (state, event) -> next state. Events that do not move the state map to the same state.
LIFECYCLE: dict[tuple[str, str], str] = {
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
}


class IllegalTransition(ValueError):
    def __init__(self, case_id: str, state: str, event: str):
        super().__init__(f"{case_id}: cannot apply '{event}' to a case that is {state}")


@dataclass(frozen=True)
class Event:
    at: str  # ISO 8601 with offset
    who: str  # "feedbackd", an owner key, or an address
    what: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    owner: str
    status: str
    received: str  # ISO 8601
    due: str  # ISO 8601
    sender: str
    sender_name: str
    subject: str
    message_id: str
    language: str
    rule: str
    tags: tuple[str, ...] = ()
    thread: tuple[str, ...] = ()  # Message-IDs of every mail in the case, ours and theirs
    events: tuple[Event, ...] = ()

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Case:
        d = dict(doc)
        d["tags"] = tuple(d.get("tags", ()))
        d["thread"] = tuple(d.get("thread", ()))
        d["events"] = tuple(Event(**e) for e in d.get("events", ()))
        return cls(**d)


def case_id(year: int, number: int) -> str:
    return f"FB-{year}-{number:06d}"


def apply(case: Case, what: str, at: datetime, who: str = "feedbackd", **data: Any) -> Case:
    """Return the case after `what` happened; raise IllegalTransition if it may not happen."""
    key = (case.status, what)
    if key not in LIFECYCLE:
        raise IllegalTransition(case.id, case.status, what)
    changes: dict[str, Any] = {"status": LIFECYCLE[key]}
    if what == "reassigned":
        changes["owner"] = data["owner"]
    mid = data.get("message_id")
    if mid and mid not in case.thread:
        changes["thread"] = case.thread + (mid,)
    event = Event(at.isoformat(timespec="seconds"), who, what, dict(data))
    return replace(case, events=case.events + (event,), **changes)


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
    at = received.isoformat(timespec="seconds")
    return Case(
        id=cid,
        category=category,
        owner=owner,
        status=OPEN,
        received=at,
        due=due.isoformat(timespec="seconds"),
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
                at,
                "feedbackd",
                "opened",
                {"category": category, "owner": owner, "rule": rule, "due": due.isoformat()},
            ),
        ),
    )
