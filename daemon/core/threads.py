"""Which case a message continues, and who may continue it. Pure.

Case ids are sequential and printed in every acknowledgment, and a From is whatever the sender
wrote, so neither alone lets a message into a case: anyone could otherwise join another
customer's case by putting its id in the subject, and be sent the "added to your case" note
with that customer's name. A reply to mail we sent in a case joins it (only who received our
mail can quote its Message-ID); a message that names a case any other way — the thread of the
customer's own mail, the case's answer address, `[FB-…]` in the subject — joins it only from
one of the case's parties (its customer, or someone who joined before) or our staff. Anything
else opens a case of its own, and `Thread.claimed` lets the owner see the two together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from daemon.core.cases import Case
from daemon.core.mail.message import Message
from daemon.core.records import OutMail
from daemon.core.rules import RuleBook
from daemon.core.tokens import answer_case

CASE_ID = re.compile(r"\bFB-\d{4}-\d{6}\b")
#: Events whose `message_id` is a mail we sent in the case (a reply to it may join the case).
OURS: frozenset[str] = frozenset(
    {
        "ack_sent",
        "owner_notified",
        "added_notice",
        "reminder_sent",
        "escalated",
        "satisfaction_asked",
        "explanation_sent",
        "explanation_reminded",
    }
)


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


@dataclass(frozen=True)
class Thread:
    """The case a message continues (`case`), or the case it names but may not join
    (`claimed`: it came from an outsider; it opens a case of its own, linked to this one)."""

    case: Case | None = None
    claimed: Case | None = None


def thread_case(known: CaseView, book: RuleBook, address: str, msg: Message) -> Case | None:
    """The case this message may join (see `thread_of`)."""
    return thread_of(known, book, address, msg).case


def thread_of(known: CaseView, book: RuleBook, address: str, msg: Message) -> Thread:
    """The case this message continues: a reply to mail we sent in a case joins it; a message
    that names a case otherwise — its thread, the case's answer address (`address`: the feedback
    address), the case id in its subject — joins it only from its parties or our staff."""
    named: Case | None = None
    for mid in (msg.in_reply_to, *reversed(msg.references)):
        if mid and (case := known.case_for_message_id(mid)) is not None:
            if ours(known, case, mid):
                return Thread(case)
            named = named or case
    recipients = (*msg.to, *msg.cc, *msg.headers.get("delivered-to", ()))
    if named is None and (cid := answer_case(recipients, address)):
        named = known.case(cid)
    if named is None and (m := CASE_ID.search(msg.subject)):
        named = known.case(m.group(0))
    if named is None:
        return Thread()
    sender = msg.from_addr.lower()
    if sender in parties(named) or sender in staff(book):
        return Thread(named)
    return Thread(claimed=named)


def ours(known: CaseView, case: Case, mid: str) -> bool:
    """Whether `mid` is a mail we sent in `case` (the outbox, or the case's own events)."""
    mail = known.outmail(mid)
    if mail is not None and mail.case_id == case.id:
        return True
    return any(e.what in OURS and e.data.get("message_id") == mid for e in case.events)


def parties(case: Case) -> frozenset[str]:
    """The addresses on a case: its customer and whoever joined it since."""
    joined = (e.who for e in case.events if e.what == "reply_joined")
    return frozenset(a.lower() for a in (case.sender, *joined) if a)
