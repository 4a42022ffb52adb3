"""Follow-ups: what a message means for a case that exists, and the mail each step owes people.

Triage asks here before it would open a new case: is it an owner's command (sent to the
per-case token address)? a bounce of a mail we sent for a case? a message in a case's thread
(by In-Reply-To/References, or the case id in the subject) — and then an owner's answer to the
customer, a robot's reply, or the customer writing again? Each answer is a `Followup` value: the
case as it becomes, the mail it owes, the marks it leaves in the store's meta, the lines to log.
Nothing here writes or logs; the service applies the whole plan at once, so a message whose
handling fails half-way leaves no mail owed for it. Fresh Message-IDs come from the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from enum import StrEnum
from typing import Any, Protocol

from daemon.core import cases as lifecycle
from daemon.core.cases import Case
from daemon.core.mail.bounces import detect_bounce
from daemon.core.mail.compose import wire
from daemon.core.mail.message import Message
from daemon.core.mail.notices import (
    NoticeDesk,
    added_to_case_notice,
    bounce_notice,
    command_reply,
    joined_notice_to_owner,
)
from daemon.core.owner_commands import authorize, parse_command
from daemon.core.records import OutMail, outmail, stamp
from daemon.core.rules import RuleBook
from daemon.core.tokens import parse_command_address, valid_token

CASE_ID = re.compile(r"\bFB-\d{4}-\d{6}\b")
#: A fresh Message-ID of ours, angle brackets included (the caller owns the entropy).
NewId = Callable[[], str]
#: The logger of owner commands, as before they were decided here.
_TOPIC = "feedbackd.casework"


class Level(StrEnum):
    INFO = "info"
    WARNING = "warning"


@dataclass(frozen=True)
class LogLine:
    """A line for the daemon's log, decided with the plan and written once it is applied (the
    core does no logging). `topic` is the logger's name, so the journal reads as it always did."""

    level: Level
    text: str
    case_id: str | None = None
    topic: str = "feedbackd.intake"


@dataclass(frozen=True)
class Followup:
    """What a message changes on a case that exists. `case_id` is the case it is filed with;
    `case` the case as it becomes (None: unchanged, or no such case)."""

    case_id: str | None
    case: Case | None = None
    mail: tuple[OutMail, ...] = ()
    meta: Mapping[str, datetime] = field(default_factory=dict)  # times kept under these keys
    log: tuple[LogLine, ...] = ()


class CaseView(Protocol):
    """The store's reads a follow-up needs (the Store satisfies it; tests use a dict)."""

    def case(self, cid: str) -> Case | None: ...

    def case_for_message_id(self, message_id: str) -> Case | None: ...

    def outmail(self, mail_id: str) -> OutMail | None: ...

    def meta(self, key: str) -> Any: ...

    def meta_time(self, key: str) -> datetime | None: ...


def staff(book: RuleBook) -> frozenset[str]:
    """The owners' addresses: their mail in a thread is an answer, not the customer's."""
    return frozenset(o.email.lower() for o in book.owners.values())


def owed(
    desk: NoticeDesk, msg: EmailMessage, kind: str, case_id: str | None, to: str, now: datetime
) -> OutMail:
    """A composed mail as owed; it also goes to the feedback address (the copy proves it went)."""
    return outmail(
        mail_id=str(msg["Message-ID"]),
        kind=kind,
        sender=desk.address,
        to=(to,),
        raw=wire(msg),
        now=now,
        case_id=case_id,
    )


def thread_case(known: CaseView, msg: Message) -> Case | None:
    """The case this message continues: by its thread (theirs or ours), else by the case id."""
    for mid in (msg.in_reply_to, *reversed(msg.references)):
        if mid and (case := known.case_for_message_id(mid)) is not None:
            return case
    m = CASE_ID.search(msg.subject)
    return known.case(m.group(0)) if m else None


def command(
    known: CaseView,
    desk: NoticeDesk,
    msg: Message,
    now: datetime,
    automatic: bool,
    new_id: NewId,
) -> Followup | None:
    """Mail to a token address is a command, never a new case (None: it is not one)."""
    found = parse_command_address(
        (
            *msg.to,
            *msg.cc,
            *msg.headers.get("delivered-to", ()),
            *msg.headers.get("x-original-to", ()),
        ),
        desk.address,
    )
    if found is None:
        return None
    case_id, token = found
    if automatic:  # an auto-reply to a notice: never answered, never obeyed
        return Followup(case_id)
    case = known.case(case_id)
    parsed = parse_command(msg.text)
    auth = authorize(
        parsed, case, msg.from_addr, valid_token(desk.secret, case_id, token), desk.book
    )
    changed = None
    if auth.allowed and case is not None:
        event = lifecycle.event_kind(auth.event)
        changed = lifecycle.apply(
            case, event, now, who=auth.actor, message_id=msg.message_id, **auth.data
        )
        line = LogLine(Level.INFO, f"command {auth.event} by {auth.actor}", case_id, _TOPIC)
    else:
        said = f"command refused ({auth.code}) from {msg.from_addr}"
        line = LogLine(Level.WARNING, said, case_id, _TOPIC)
    mail: tuple[OutMail, ...] = ()
    if auth.allowed or msg.from_addr in staff(desk.book):  # reasons go to staff, not to forgers
        now_case = changed if changed is not None else case
        mid = new_id()
        reply = command_reply(desk, case_id, now_case, msg, parsed, auth, message_id=mid, now=now)
        to_case = case_id if case else None
        mail = (owed(desk, reply, "command_reply", to_case, msg.from_addr, now),)
    return Followup(case_id, changed, mail, log=(line,))


def bounce_of_ours(
    known: CaseView, desk: NoticeDesk, msg: Message, raw: bytes, now: datetime, new_id: NewId
) -> Followup | None:
    """A bounce of a mail we sent joins that mail's case; a hard one quiets the address.
    None: not a bounce of ours (it is then taken like any other message)."""
    bounce = detect_bounce(raw)
    if bounce is None or not bounce.original_message_id:
        return None
    ours = known.outmail(bounce.original_message_id)
    if ours is None or ours.case_id is None:
        return None
    case = known.case(ours.case_id)
    if case is None:
        return None
    meta = {}
    if bounce.hard and bounce.recipient:
        until = now + desk.book.policy.hard_bounce_quiet
        meta[f"hard_bounce:{bounce.recipient.lower()}"] = until
    case = lifecycle.apply(
        case,
        "bounce",
        now,
        message_id=msg.message_id,
        recipient=bounce.recipient,
        hard=bounce.hard,
        status=bounce.status,
        diagnostic=bounce.diagnostic[:300],
    )
    mail: tuple[OutMail, ...] = ()
    owner = desk.book.owners.get(case.owner)
    if owner is not None:
        notice = bounce_notice(
            desk,
            case,
            raw,
            recipient=bounce.recipient,
            status=bounce.status,
            hard=bounce.hard,
            diagnostic=bounce.diagnostic,
            message_id=new_id(),
            now=now,
        )
        mail = (owed(desk, notice, "bounce_notice", case.id, owner.email, now),)
    said = f"bounce of our {ours.kind} to {bounce.recipient} ({bounce.status})"
    return Followup(case.id, case, mail, meta, (LogLine(Level.WARNING, said, case.id),))


def in_thread(
    known: CaseView,
    desk: NoticeDesk,
    case: Case,
    msg: Message,
    raw: bytes,
    now: datetime,
    *,
    automatic: str,
    reply_to: str | None,
    new_id: NewId,
) -> Followup:
    """A message in a case's thread: an owner answering, a robot (`automatic` names its kind,
    "" for a person), or the customer writing again (`reply_to`: whom we may tell so)."""
    if msg.from_addr in staff(desk.book):
        joined = staff_answer(case, msg, now)
    elif automatic:  # a robot answering our mail: kept with the case, nobody is told
        note = f"automatic reply ({automatic})"
        joined = Followup(
            case.id,
            lifecycle.apply(
                case, "note", now, who=msg.from_addr, message_id=msg.message_id, text=note
            ),
        )
    else:
        joined = customer_reply(known, desk, case, msg, raw, now, reply_to, new_id)
    line = LogLine(Level.INFO, f"joined from {msg.from_addr}", case.id)
    return Followup(joined.case_id, joined.case, joined.mail, joined.meta, (*joined.log, line))


def quiet_join(case: Case, msg: Message, now: datetime) -> Followup:
    """Old mail in a recorded case's thread (a history import): kept with the case, so the
    thread stays whole, and nobody is told: the case was never the daemon's to handle."""
    what: lifecycle.EventKind = "note" if case.status is lifecycle.ANSWERED else "reply_joined"
    joined = lifecycle.apply(
        case, what, now, who=msg.from_addr, message_id=msg.message_id, history=True
    )
    return Followup(case.id, joined)


def staff_answer(case: Case, msg: Message, now: datetime) -> Followup:
    """An owner wrote to the customer with the feedback address in Cc/Bcc: answered."""
    if case.status == lifecycle.OPEN:
        at = stamp(msg.date or now)
        changed = lifecycle.apply(
            case, "answered", now, who=msg.from_addr, message_id=msg.message_id, answered_at=at
        )
    else:
        changed = lifecycle.apply(
            case,
            "note",
            now,
            who=msg.from_addr,
            message_id=msg.message_id,
            text="a further answer to the customer",
        )
    return Followup(case.id, changed)


def customer_reply(
    known: CaseView,
    desk: NoticeDesk,
    case: Case,
    msg: Message,
    raw: bytes,
    now: datetime,
    reply_to: str | None,
    new_id: NewId,
) -> Followup:
    """The customer wrote again: joined to the case, the owner told, and the customer gets a
    short notice — at most once a day per case, and only if the policy allows answering."""
    case = lifecycle.apply(case, "reply_joined", now, who=msg.from_addr, message_id=msg.message_id)
    mail = []
    owner = desk.book.owners.get(case.owner)
    if owner is not None:
        notice = joined_notice_to_owner(desk, case, msg, raw, message_id=new_id(), now=now)
        mail.append(owed(desk, notice, "joined", case.id, owner.email, now))
    day_key = f"added:{case.id}:{now.date().isoformat()}"
    meta = {}
    if reply_to and known.meta_time(day_key) is None:
        mid = new_id()
        notice = added_to_case_notice(desk, case, msg, reply_to, message_id=mid, now=now)
        mail.append(owed(desk, notice, "ack", case.id, reply_to, now))
        meta[day_key] = now
        case = lifecycle.apply(case, "added_notice", now, message_id=mid)
    return Followup(case.id, case, tuple(mail), meta)
