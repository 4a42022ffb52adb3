"""Intake: one fetched message becomes a ledger entry, and a case with its acknowledgment.

This is the single write path for new mail. It decides (parse, dedupe, classify, policy,
deadline, compose) and records everything in the store's buffer — the ledger entry, the case,
the queued acknowledgment with its Message-ID fixed in advance — so that one `commit()` makes
the whole outcome durable before any mail is sent or moved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import cases as lifecycle
from .compose import Templates, build_mail, new_message_id
from .errors import BadMessage
from .mailbox import Fetched
from .message import Message, parse
from .rules import Decision, RuleBook, classify
from .store import LedgerEntry, OutMail, Store

log = logging.getLogger("feedbackd.intake")

QUARANTINE = "Quarantine"
SENT = "Sent"


@dataclass(frozen=True)
class Intake:
    outcome: str  # case | duplicate | own | quarantined
    case_id: str | None = None
    reason: str = ""


@dataclass
class Desk:
    """What intake needs to decide; built once per cycle (and again after a reload)."""

    store: Store
    book: RuleBook
    templates: Templates
    address: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def intake(desk: Desk, uidvalidity: int, fetched: Fetched, now: datetime) -> Intake:
    store = desk.store
    stamp = now.isoformat(timespec="seconds")

    def ledger(outcome: str, folder: str, case_id: str | None = None, reason: str = "",
               message_id: str = "") -> None:
        store.put_ledger(LedgerEntry(uidvalidity, fetched.uid, message_id, outcome, folder,
                                     False, case_id, reason, stamp))

    try:
        msg = parse(fetched.raw)
    except BadMessage as exc:
        log.warning("uid %s quarantined: %s", fetched.uid, exc)
        ledger("quarantined", QUARANTINE, reason=str(exc))
        return Intake("quarantined", reason=str(exc))

    if msg.message_id and store.outmail(msg.message_id):
        ledger("own", SENT, store.outmail(msg.message_id).case_id,  # type: ignore[union-attr]
               message_id=msg.message_id)
        return Intake("own")
    seen = store.ledger_by_message_id(msg.message_id)
    if seen is not None:
        # Same message under a new UID (UIDVALIDITY change, or copied back): never a 2nd case.
        ledger("duplicate", seen.folder, seen.case_id, f"same Message-ID as {seen.key}",
               msg.message_id)
        return Intake("duplicate", seen.case_id)

    decision = classify(msg, desk.book)
    received = fetched.internaldate or now
    case = open_case(desk, msg, decision, received)
    category = desk.book.categories[decision.category]
    if category.acknowledge and acknowledgeable(msg, desk):
        mail = acknowledgment(desk, msg, case, now)
        store.put_outmail(mail)
        case = lifecycle.apply(case, "ack_sent", now, message_id=mail.id)
    else:
        case = lifecycle.apply(case, "ack_skipped", now, reason="not acknowledged")
    store.put_case(case)
    ledger("case", category.folder, case.id, message_id=msg.message_id)
    log.info("opened: %s by rule %s", case.category, decision.rule,
             extra={"case": case.id})
    return Intake("case", case.id)


def open_case(desk: Desk, msg: Message, decision: Decision, received: datetime
              ) -> lifecycle.Case:
    category = desk.book.categories[decision.category]
    due = received + timedelta(days=category.deadline.amount)
    return lifecycle.open_case(
        desk.store.next_case_id(received.year), category=decision.category,
        owner=decision.owner, received=received, due=due, sender=msg.from_addr,
        sender_name=msg.from_name, subject=msg.subject, message_id=msg.message_id,
        language=msg.language, rule=decision.rule, tags=decision.tags)


def acknowledgeable(msg: Message, desk: Desk) -> bool:
    auto = msg.header("auto-submitted").lower()
    return bool(msg.from_addr) and msg.from_addr != desk.address and auto in ("", "no")


def acknowledgment(desk: Desk, msg: Message, case: lifecycle.Case, now: datetime) -> OutMail:
    category = desk.book.categories[case.category]
    rendered = desk.templates.render(category.template, msg.language,
                                     template_context(desk, case))
    mid = new_message_id(desk.domain)
    center = desk.book.owners[desk.book.center]
    mail = build_mail(sender=desk.address, sender_name=center.name, to=msg.from_addr,
                      rendered=rendered, message_id=mid, now=now, in_reply_to=msg.message_id,
                      references=msg.references)
    # The feedback address is a recipient too: the copy proves the mail went out (a crash
    # between SMTP's 250 and our bookkeeping cannot cause a second send) and is filed in Sent.
    return OutMail(id=mid, case_id=case.id, kind="ack", sender=desk.address,
                   recipients=(msg.from_addr, desk.address), raw=mail.as_string(),
                   created=now.isoformat(timespec="seconds"),
                   next_try=now.isoformat(timespec="seconds"))


def template_context(desk: Desk, case: lifecycle.Case) -> dict[str, Any]:
    owner = desk.book.owners.get(case.owner)
    center = desk.book.owners[desk.book.center]
    return {
        "case_id": case.id,
        "category": case.category,
        "subject": case.subject,
        "customer_name": case.sender_name,
        "customer_email": case.sender,
        "owner_name": owner.name if owner else case.owner,
        "due_date": format_date(case.due, case.language),
        "received_date": format_date(case.received, case.language),
        "center_name": center.name,
        "feedback_address": desk.address,
    }


_MONTHS_EN = ("January February March April May June July August September October "
              "November December").split()


def format_date(iso: str, language: str) -> str:
    d = datetime.fromisoformat(iso)
    if language == "ru":
        return d.strftime("%d.%m.%Y")
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"
