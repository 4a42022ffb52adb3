"""The store's values: what was seen in the mailbox, what mail is owed, and the times they carry.

These are core types because the decisions are made over them (is a mail due? did we already
acknowledge this sender?); the store adapter only persists them. Inside the program every time
is an aware `datetime`, so comparing two of them compares instants: an ISO string compared with
another across UTC offsets orders by its text, and a case due `23:59:59+03:00` would look
unexpired at `22:30Z`. Strings exist only in the documents (`to_doc` / `from_doc`), written
exactly as earlier versions wrote them — `isoformat(timespec="seconds")`, "" for "never" — so a
store written before these types existed loads, and is rewritten byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


def aware(value: object, what: str) -> datetime:
    """A naive time is refused where it enters, rather than when it is first compared with an
    aware one (a TypeError far from its cause) or, as text, silently misordered."""
    if not isinstance(value, datetime):
        raise ValueError(f"{what} must be a datetime, not {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must carry its UTC offset, not the naive {value.isoformat()}")
    return value


def moment(value: object, what: str) -> datetime:
    """An instant as the store keeps it: aware and to the second (the documents always held
    whole seconds, so a record in memory equals the one read back)."""
    return aware(value, what).replace(microsecond=0)


def optional_moment(value: object, what: str) -> datetime | None:
    return None if value is None else moment(value, what)


def stamp(value: datetime | None) -> str:
    """The document form of a time; "" stands for "not yet" (the format's empty value)."""
    return "" if value is None else value.isoformat(timespec="seconds")


def parse_stamp(text: str, what: str) -> datetime:
    """A time from a document; it must name its offset, as every writer has always done."""
    try:
        return moment(datetime.fromisoformat(text), what)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: {text!r} is not an ISO 8601 time with offset ({exc})") from None


def parse_optional_stamp(text: str, what: str) -> datetime | None:
    return parse_stamp(text, what) if text else None


class OutState(StrEnum):
    """Where an owed mail stands; the values are the store's strings."""

    QUEUED = "queued"
    SENDING = "sending"  # durably marked before the SMTP transaction begins
    SENT = "sent"
    FAILED = "failed"  # refused for good (5xx)


#: States of mail still owed: the outbox tries these again.
PENDING = (OutState.QUEUED, OutState.SENDING)


@dataclass(frozen=True)
class LedgerEntry:
    """One message seen in the mailbox, keyed by (UIDVALIDITY, UID); Message-ID is the 2nd key."""

    uidvalidity: int
    uid: int
    message_id: str
    outcome: str  # case | joined | command | duplicate | own | bounce | quarantined | backfill
    folder: str  # where the message is to be filed
    filed: bool  # moved out of INBOX already
    case_id: str | None = None
    reason: str = ""
    at: datetime | None = None  # when it was decided; None only in entries from tests

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", optional_moment(self.at, "ledger entry time"))

    @property
    def key(self) -> str:
        return f"{self.uidvalidity}:{self.uid}"

    def to_doc(self) -> dict[str, Any]:
        # Its fields are plain values: read them directly (asdict deep-copies each one, and
        # this runs three times per message of a backlog).
        doc = {f.name: getattr(self, f.name) for f in _LEDGER_FIELDS}
        doc["at"] = stamp(self.at)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> LedgerEntry:
        return cls(**(doc | {"at": parse_optional_stamp(doc.get("at", ""), "ledger at")}))


_LEDGER_FIELDS = fields(LedgerEntry)

#: OutMail's time fields; None means "not yet" (next_try None: as soon as possible).
_MAIL_TIMES = ("next_try", "created", "sent_at", "attempted_at")


@dataclass(frozen=True)
class OutMail:
    """A mail we owe someone. Recorded (with its Message-ID) before it is sent."""

    id: str  # our Message-ID, with angle brackets
    case_id: str | None
    kind: str  # ack | notice | reminder | escalation | alert ...
    sender: str
    recipients: tuple[str, ...]
    raw: str
    state: OutState = OutState.QUEUED
    attempts: int = 0
    next_try: datetime | None = None
    error: str = ""
    created: datetime | None = None
    sent_at: datetime | None = None
    attempted_at: datetime | None = None  # when the last SMTP attempt began

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", OutState(self.state))
        for name in _MAIL_TIMES:
            object.__setattr__(self, name, optional_moment(getattr(self, name), f"mail {name}"))

    def due(self, now: datetime) -> bool:
        """Is this mail to be tried at `now`? Compared as instants, whatever the offsets."""
        return self.state in PENDING and (
            self.next_try is None or self.next_try <= aware(now, "now")
        )

    def to_doc(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc |= {name: stamp(doc[name]) for name in _MAIL_TIMES}
        return doc | {"recipients": list(self.recipients), "state": self.state.value}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> OutMail:
        times = {n: parse_optional_stamp(doc.get(n, ""), f"mail {n}") for n in _MAIL_TIMES}
        return cls(**(doc | times | {"recipients": tuple(doc["recipients"])}))


def outmail(
    *,
    mail_id: str,
    kind: str,
    sender: str,
    to: Sequence[str],
    raw: str,
    now: datetime,
    case_id: str | None = None,
) -> OutMail:
    """A mail to queue now. The sender (the feedback address) is always a recipient too: the
    copy it receives proves the mail went out, so a crash between the server's 250 and our
    bookkeeping never causes a second send (see service/outbox), and it is filed in Sent."""
    at = moment(now, "now")
    return OutMail(
        id=mail_id,
        case_id=case_id,
        kind=kind,
        sender=sender,
        recipients=(*to, sender),
        raw=raw,
        created=at,
        next_try=at,
    )
