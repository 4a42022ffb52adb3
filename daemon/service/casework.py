"""Casework: what a message means for a case that exists, and the mail each step owes people.

Intake asks here, in this order, before it would open a new case: is it an owner's command
(sent to the per-case token address)? an owner's answer to the customer (staff sender, in the
case's thread)? the customer writing again (in the thread, or the case id in the subject)?
Each answer is a pure change of the case plus mail queued in the outbox, all in the store's
buffer, so the one commit of the batch makes both durable together.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime
from email.message import EmailMessage

from daemon.adapters.store import Store
from daemon.core import cases as lifecycle
from daemon.core.mail.compose import new_message_id, wire
from daemon.core.mail.message import Message
from daemon.core.mail.notices import (
    NoticeDesk,
    added_to_case_notice,
    command_reply,
    joined_notice_to_owner,
    owner_notice,
    thanks_forward,
    thanks_recipients,
)
from daemon.core.owner_commands import authorize, parse_command
from daemon.core.records import OutMail, outmail
from daemon.core.tokens import parse_command_address, valid_token

log = logging.getLogger("feedbackd.casework")

CASE_ID = re.compile(r"\bFB-\d{4}-\d{6}\b")


def command_secret(store: Store) -> bytes:
    """The key of the per-case tokens: made once, kept in the (0600) store."""
    value = store.meta("command_secret")
    if not value:
        value = secrets.token_hex(32)
        store.set_meta("command_secret", value)
    return bytes.fromhex(value)


def queue(
    store: Store,
    desk: NoticeDesk,
    msg: EmailMessage,
    kind: str,
    case_id: str | None,
    to: str,
    now: datetime,
) -> OutMail:
    """Every mail also goes to the feedback address: the copy proves it went out (see outbox)."""
    mail = outmail(
        mail_id=str(msg["Message-ID"]),
        kind=kind,
        sender=desk.address,
        to=(to,),
        raw=wire(msg),
        now=now,
        case_id=case_id,
    )
    store.put_outmail(mail)
    return mail


def thread_case(store: Store, msg: Message) -> lifecycle.Case | None:
    for mid in (msg.in_reply_to, *reversed(msg.references)):
        if mid and (case := store.case_for_message_id(mid)) is not None:
            return case
    m = CASE_ID.search(msg.subject)
    return store.case(m.group(0)) if m else None


def on_open(
    store: Store, desk: NoticeDesk, case: lifecycle.Case, msg: Message, raw: bytes, now: datetime
) -> lifecycle.Case:
    """A new case: its owner is told (original attached); thanks go to whoever earned them."""
    owner = desk.book.owners.get(case.owner)
    if owner is not None:
        mid = new_message_id(desk.address.rpartition("@")[2])
        notice = owner_notice(desk, case, msg, raw, message_id=mid, now=now)
        queue(store, desk, notice, "notice", case.id, owner.email, now)
        case = lifecycle.apply(case, "owner_notified", now, message_id=mid, to=owner.key)
    if case.category == "thanks":
        for team in thanks_recipients(case, desk.book):
            mid = new_message_id(desk.address.rpartition("@")[2])
            queue(
                store,
                desk,
                thanks_forward(desk, case, msg, team, message_id=mid, now=now),
                "thanks",
                case.id,
                team.email,
                now,
            )
            case = lifecycle.apply(case, "thanks_forwarded", now, message_id=mid, to=team.key)
    return case


def on_command(
    store: Store, desk: NoticeDesk, msg: Message, now: datetime, automatic: bool
) -> tuple[str | None, bool]:
    """(case id, handled). Mail to a token address is a command, never a new case."""
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
        return None, False
    case_id, token = found
    if automatic:  # an auto-reply to a notice: never answered, never obeyed
        return case_id, True
    case = store.case(case_id)
    ok = valid_token(desk.secret, case_id, token)
    command = parse_command(msg.text)
    auth = authorize(command, case, msg.from_addr, ok, desk.book)
    if auth.allowed and case is not None:
        event = lifecycle.event_kind(auth.event)
        store.update_case(
            case_id,
            lambda c: lifecycle.apply(
                c, event, now, who=auth.actor, message_id=msg.message_id, **auth.data
            ),
        )
        log.info("command %s by %s", auth.event, auth.actor, extra={"case": case_id})
    else:
        log.warning(
            "command refused (%s) from %s", auth.code, msg.from_addr, extra={"case": case_id}
        )
    staff = {o.email.lower() for o in desk.book.owners.values()}
    if auth.allowed or msg.from_addr in staff:  # reasons go to staff, not to forgers
        mid = new_message_id(desk.address.rpartition("@")[2])
        reply = command_reply(
            desk, case_id, store.case(case_id), msg, command, auth, message_id=mid, now=now
        )
        queue(store, desk, reply, "command_reply", case_id if case else None, msg.from_addr, now)
    return case_id, True


def on_staff_answer(store: Store, case: lifecycle.Case, msg: Message, now: datetime) -> None:
    """An owner wrote to the customer with the feedback address in Cc/Bcc: answered."""
    at = (msg.date or now).isoformat(timespec="seconds")
    if case.status == lifecycle.OPEN:
        case = lifecycle.apply(
            case, "answered", now, who=msg.from_addr, message_id=msg.message_id, answered_at=at
        )
    else:
        case = lifecycle.apply(
            case,
            "note",
            now,
            who=msg.from_addr,
            message_id=msg.message_id,
            text="a further answer to the customer",
        )
    store.put_case(case)


def on_customer_reply(
    store: Store,
    desk: NoticeDesk,
    case: lifecycle.Case,
    msg: Message,
    raw: bytes,
    now: datetime,
    reply_to: str | None,
) -> None:
    """The customer wrote again: joined to the case, the owner told, and the customer gets a
    short notice — at most once a day per case, and only if the policy allows answering."""
    case = lifecycle.apply(case, "reply_joined", now, who=msg.from_addr, message_id=msg.message_id)
    owner = desk.book.owners.get(case.owner)
    if owner is not None:
        mid = new_message_id(desk.address.rpartition("@")[2])
        notice = joined_notice_to_owner(desk, case, msg, raw, message_id=mid, now=now)
        queue(store, desk, notice, "joined", case.id, owner.email, now)
    day_key = f"added:{case.id}:{now.date().isoformat()}"
    if reply_to and not store.meta(day_key):
        mid = new_message_id(desk.address.rpartition("@")[2])
        notice = added_to_case_notice(desk, case, msg, reply_to, message_id=mid, now=now)
        queue(store, desk, notice, "ack", case.id, reply_to, now)
        store.set_meta(day_key, now.isoformat(timespec="seconds"))
        case = lifecycle.apply(case, "added_notice", now, message_id=mid)
    store.put_case(case)
