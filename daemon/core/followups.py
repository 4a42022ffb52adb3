"""Follow-ups: what a message means for a case that exists, and the mail each step owes people.

Triage asks here before it would open a new case: is it an owner's command (sent to the
per-case token address)? a bounce of a mail we sent for a case? a message in a case's thread
(by In-Reply-To/References, or the case id in the subject) — and then an owner's answer to the
customer, a robot's reply, or the customer writing again? Each answer is a `Followup` value: the
case as it becomes, the mail it owes, the marks it leaves in the store's meta, the lines to log.
Nothing here writes or logs; the service applies the whole plan at once, so a message whose
handling fails half-way leaves no mail owed for it. Fresh Message-IDs come from the caller.

Case ids are sequential and printed in every acknowledgment, and a From is whatever the sender
wrote, so neither proves anything. A message joins a case only from a party to it (the
customer, or someone who joined before) or as a reply to mail we sent in that case; anything
else naming the case opens its own (`Thread.claimed` links the two for the owner). A staff
answer counts only with the case's answer address (`tokens.answer_address`) among its
recipients; without it, it is a note and the real owner is told. A command acts once: the same
command, From and Date for a case again (a replay under a new Message-ID) is refused. What the
owners are mailed about goes through `throttle`, so no source mails anyone hundreds of times.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

from daemon.core import cases as lifecycle
from daemon.core.cases import Case
from daemon.core.explanations import explanation_due
from daemon.core.mail.bounces import detect_bounce
from daemon.core.mail.message import Message
from daemon.core.mail.notices import (
    added_to_case_notice,
    bounce_notice,
    command_reply,
    joined_notice_to_owner,
    unproven_answer_notice,
)
from daemon.core.mail.outgoing import owed
from daemon.core.mail.staff import NoticeDesk
from daemon.core.owner_commands import Authorization, Command, authorize, parse_command
from daemon.core.reclassify import first_ack_id, reclassify
from daemon.core.records import OutMail, stamp
from daemon.core.rules import Owner, RuleBook
from daemon.core.threads import CaseView, parties, staff
from daemon.core.throttle import REFUSALS, SummaryLine, tell
from daemon.core.tokens import parse_command_address, proven_answer, valid_token
from daemon.core.workdays import calendar_for

#: A fresh Message-ID of ours, angle brackets included (the caller owns the entropy).
NewId = Callable[[], str]
#: The logger of owner commands, as before they were decided here.
_TOPIC = "feedbackd.casework"
#: What a plan may keep in the store's meta: counters, times (kept as times), documents.
MetaValue = int | datetime | Mapping[str, Any]


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
    meta: Mapping[str, MetaValue] = field(default_factory=dict)  # times kept as times
    log: tuple[LogLine, ...] = ()


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
    once = command_key(case_id, msg, parsed)
    auth = authorize(
        parsed,
        case,
        msg.from_addr,
        valid_token(desk.secret, case_id, token),
        desk.book,
        replayed=known.meta_time(once) is not None,
    )
    changed = None
    meta: dict[str, MetaValue] = {}
    corrections: tuple[OutMail, ...] = ()
    if auth.allowed and case is not None and auth.event == "reclassified":
        changed, corrections = _reclassified(known, desk, case, auth, now, new_id)
        meta[once] = now
        said = f"command reclassified by {auth.actor}: {case.category} -> {changed.category}"
        line = LogLine(Level.INFO, said, case_id, _TOPIC)
    elif auth.allowed and case is not None:
        event = lifecycle.event_kind(auth.event)
        data = dict(auth.data)
        if event == "explanation_asked":
            data["due"] = explanation_due(desk.book, calendar_for(desk.book), now).isoformat()
        changed = lifecycle.apply(
            case, event, now, who=auth.actor, message_id=msg.message_id, **data
        )
        meta[once] = now
        line = LogLine(Level.INFO, f"command {auth.event} by {auth.actor}", case_id, _TOPIC)
    else:
        said = f"command refused ({auth.code}) from {msg.from_addr}"
        line = LogLine(Level.WARNING, said, case_id, _TOPIC)
    mail: tuple[OutMail, ...] = ()
    sender = msg.from_addr.lower()
    to_case = case_id if case else None
    now_case = changed if changed is not None else case

    def reply(mid: str) -> EmailMessage:
        return command_reply(desk, case_id, now_case, msg, parsed, auth, message_id=mid, now=now)

    if auth.allowed:
        answer = owed(desk, reply(new_id()), "command_reply", to_case, msg.from_addr, now)
        mail = (answer, *corrections)
    elif (me := _owner_by_address(desk.book, sender)) is not None:
        # Reasons go to staff, not to forgers; a forger borrowing an owner's From makes the
        # owner's refusals few: the first ones at once, the rest in the hourly summary.
        held = SummaryLine(now, "refusal", case_id, REFUSALS, parsed.line if parsed else "")
        told = tell(known, desk, me, held, reply, kind="command_reply", now=now, new_id=new_id)
        mail, meta = (
            (replace(told.mail, case_id=to_case) if told.message_id else told.mail,),
            {
                **meta,
                **told.meta,
            },
        )
    return Followup(case_id, changed, mail, meta, log=(line,))


def _reclassified(
    known: CaseView, desk: NoticeDesk, case: Case, auth: Authorization, now: datetime, new_id: NewId
) -> tuple[Case, tuple[OutMail, ...]]:
    """`category …` by mail: the same move as `feedbackd cases reclassify` (core/reclassify)."""
    first = first_ack_id(case)
    done = reclassify(
        case,
        auth.data["category"],
        desk,
        calendar_for(desk.book),
        now,
        who=auth.actor,
        new_id=new_id(),
        first_ack=known.outmail(first) if first else None,
        quiet_until=known.meta_time(f"hard_bounce:{case.sender.lower()}"),
    )
    return (done.case or case), done.mail


def command_key(case_id: str, msg: Message, parsed: Command | None) -> str:
    """What makes a command the same command again: case, From, command and Date. A replay
    under a new Message-ID has all four; an owner closing again later has another Date."""
    what = parsed.kind + "\n" + parsed.argument if parsed else ""
    text = "\n".join((case_id, msg.from_addr.lower(), what, stamp(msg.date)))
    return f"command:{case_id}:{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def _owner_by_address(book: RuleBook, address: str) -> Owner | None:
    return next((o for o in book.owners.values() if o.email.lower() == address), None)


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
        joined = staff_answer(known, desk, case, msg, now, new_id)
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


def staff_answer(
    known: CaseView, desk: NoticeDesk, case: Case, msg: Message, now: datetime, new_id: NewId
) -> Followup:
    """An owner wrote to the customer with the case's answer address in Cc: answered. Without
    it the From proves nothing: a note, and the case's real owner is told it did not count."""
    recipients = (
        *msg.to,
        *msg.cc,
        *msg.headers.get("delivered-to", ()),
        *msg.headers.get("x-original-to", ()),
    )
    if not proven_answer(recipients, desk.address, desk.secret, case.id):
        return unproven_answer(known, desk, case, msg, now, new_id)
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


def unproven_answer(
    known: CaseView, desk: NoticeDesk, case: Case, msg: Message, now: datetime, new_id: NewId
) -> Followup:
    """A staff From without the answer address: kept as a note, never as the answer."""
    text = "not counted as the answer: it did not come to the case's answer address"
    changed = lifecycle.apply(
        case, "note", now, who=msg.from_addr, message_id=msg.message_id, text=text, unproven=True
    )
    owner = desk.book.owners.get(case.owner) or desk.book.owners.get(desk.book.center)
    said = LogLine(Level.WARNING, f"unproven answer from {msg.from_addr}: a note", case.id)
    if owner is None:
        return Followup(case.id, changed, log=(said,))

    def notice(mid: str) -> EmailMessage:
        return unproven_answer_notice(desk, changed, msg, message_id=mid, now=now)

    line = SummaryLine(now, "unproven", case.id, msg.from_addr, msg.subject)
    told = tell(known, desk, owner, line, notice, kind="unproven", now=now, new_id=new_id)
    return Followup(case.id, changed, (told.mail,), told.meta, (said,))


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
    on_it = parties(case)  # before this message: only they may hear the case named
    case = lifecycle.apply(case, "reply_joined", now, who=msg.from_addr, message_id=msg.message_id)
    mail = []
    meta: dict[str, MetaValue] = {}
    owner = desk.book.owners.get(case.owner)
    if owner is not None:
        joined = case

        def notice(mid: str) -> EmailMessage:
            return joined_notice_to_owner(desk, joined, msg, raw, message_id=mid, now=now)

        line = SummaryLine(now, "joined", case.id, msg.from_addr, msg.subject)
        told = tell(known, desk, owner, line, notice, kind="joined", now=now, new_id=new_id)
        mail.append(told.mail)
        meta.update(told.meta)
    day_key = f"added:{case.id}:{now.date().isoformat()}"
    if reply_to and reply_to.lower() in on_it and known.meta_time(day_key) is None:
        mid = new_id()
        added = added_to_case_notice(desk, case, msg, reply_to, message_id=mid, now=now)
        mail.append(owed(desk, added, "ack", case.id, reply_to, now))
        meta[day_key] = now
        case = lifecycle.apply(case, "added_notice", now, message_id=mid)
    return Followup(case.id, case, tuple(mail), meta)
