"""Intake: one fetched message becomes a ledger entry, and a case with its acknowledgment.

This is the single write path for new mail. It decides (parse, dedupe, classify, policy,
deadline, compose) and records everything in the store's buffer — the ledger entry, the case,
the queued acknowledgment with its Message-ID fixed in advance — so that one `commit()` makes
the whole outcome durable before any mail is sent or moved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from daemon.adapters.imap import Fetched
from daemon.adapters.store import Store
from daemon.core import cases as lifecycle
from daemon.core.deadlines import due_at
from daemon.core.mail.bounces import detect_bounce
from daemon.core.mail.compose import Templates, build_mail, new_message_id, wire
from daemon.core.mail.message import Message, message_id_of, parse
from daemon.core.mail.notices import NoticeDesk, base_context, bounce_notice
from daemon.core.mail.policy import SenderHistory, Verdict, reply_target, should_acknowledge
from daemon.core.records import LedgerEntry, OutMail, outmail
from daemon.core.rules import Decision, RuleBook, classify
from daemon.core.workdays import WorkCalendar, calendar_for
from daemon.errors import BadMessage, ConfigError
from daemon.service.casework import (
    command_secret,
    on_command,
    on_customer_reply,
    on_open,
    on_staff_answer,
    queue,
    thread_case,
)

log = logging.getLogger("feedbackd.intake")

QUARANTINE = "Quarantine"
SENT = "Sent"
BOUNCES = "Feedback/Bounces"
COMMANDS = "Feedback/Commands"
#: Verdict kinds that mean a machine wrote: never answered, never obeyed, never a "reply".
AUTOMATIC = frozenset({"bounce", "auto_reply", "list", "bulk", "report", "noreply", "no_sender"})


@dataclass(frozen=True)
class Intake:
    outcome: str  # case | joined | command | duplicate | own | bounce | quarantined
    case_id: str | None = None
    reason: str = ""


@dataclass
class Desk:
    """What intake needs to decide; built once per cycle (and again after a reload)."""

    store: Store
    book: RuleBook
    templates: Templates
    address: str
    backfill_before: datetime | None = None  # first run: older mail is recorded, not answered

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @cached_property
    def calendar(self) -> WorkCalendar:
        return calendar_for(self.book)

    @cached_property
    def staff(self) -> frozenset[str]:
        return frozenset(o.email.lower() for o in self.book.owners.values())

    @cached_property
    def own_addresses(self) -> frozenset[str]:
        """Ours and our staff's: never acknowledged (an owner cc'ing us is answering)."""
        return frozenset({self.address, *self.staff, *self.book.policy.own_addresses})

    @cached_property
    def notices(self) -> NoticeDesk:
        return NoticeDesk(self.templates, self.book, self.address, command_secret(self.store))

    def history(self, address: str) -> SenderHistory:
        until = self.store.meta(f"hard_bounce:{address}")
        return SenderHistory(
            acks=tuple(self.store.ack_times(address)),
            hard_bounce_until=datetime.fromisoformat(until) if until else None,
        )


def intake(desk: Desk, uidvalidity: int, fetched: Fetched, now: datetime) -> Intake:
    """Decide one message. A message that trips a bug is quarantined, not allowed to stop the
    mailbox: `feedbackd reprocess` takes it again once the bug is fixed."""
    try:
        result = _intake(desk, uidvalidity, fetched, now)
        if result.outcome != "own":
            desk.store.set_meta("last_mail_at", now.isoformat(timespec="seconds"))
        return result
    except ConfigError:
        raise  # a template or rule problem: the message stays in INBOX until it is fixed
    except Exception as exc:
        log.exception("uid %s quarantined after an internal error", fetched.uid)
        reason = f"internal error: {type(exc).__name__}: {exc}"[:300]
        desk.store.put_ledger(
            LedgerEntry(
                uidvalidity,
                fetched.uid,
                "",
                "quarantined",
                QUARANTINE,
                False,
                None,
                reason,
                now,
            )
        )
        return Intake("quarantined", reason=reason)


def _intake(desk: Desk, uidvalidity: int, fetched: Fetched, now: datetime) -> Intake:
    store = desk.store

    def ledger(
        outcome: str,
        folder: str,
        case_id: str | None = None,
        reason: str = "",
        message_id: str = "",
    ) -> None:
        store.put_ledger(
            LedgerEntry(
                uidvalidity, fetched.uid, message_id, outcome, folder, False, case_id, reason, now
            )
        )

    quick = message_id_of(fetched.raw)
    if quick and (ours := store.outmail(quick)) is not None:
        ledger("own", SENT, ours.case_id, message_id=quick)
        return Intake("own")
    try:
        msg = parse(fetched.raw)
    except BadMessage as exc:
        log.warning("uid %s quarantined: %s", fetched.uid, exc)
        ledger("quarantined", QUARANTINE, reason=str(exc))
        return Intake("quarantined", reason=str(exc))

    if (
        msg.message_id
        and msg.message_id != quick
        and (ours := store.outmail(msg.message_id)) is not None
    ):
        ledger("own", SENT, ours.case_id, message_id=msg.message_id)
        return Intake("own")
    seen = store.ledger_by_message_id(msg.message_id)
    if seen is not None:
        # Same message under a new UID (UIDVALIDITY change, or copied back): never a 2nd case.
        ledger(
            "duplicate", seen.folder, seen.case_id, f"same Message-ID as {seen.key}", msg.message_id
        )
        return Intake("duplicate", seen.case_id)

    target = reply_target(msg, desk.book.policy, desk.own_addresses)
    verdict = should_acknowledge(
        msg,
        desk.history(target) if target else SenderHistory(),
        now,
        desk.book.policy,
        desk.own_addresses,
    )
    automatic = verdict.kind in AUTOMATIC
    command_case, handled = on_command(store, desk.notices, msg, now, automatic)
    if handled:
        ledger("command", COMMANDS, command_case, message_id=msg.message_id)
        return Intake("command", command_case)
    if verdict.kind == "bounce":
        joined = bounce_of_ours(desk, msg, fetched, now)
        if joined is not None:
            ledger("bounce", BOUNCES, joined, message_id=msg.message_id)
            return Intake("bounce", joined)
    existing = thread_case(store, msg)
    if existing is not None:
        folder = desk.book.categories[existing.category].folder
        if msg.from_addr in desk.staff:
            on_staff_answer(store, existing, msg, now)
        elif automatic:  # a robot answering our mail: kept with the case, nobody is told
            store.update_case(
                existing.id,
                lambda case: lifecycle.apply(
                    case,
                    "note",
                    now,
                    who=msg.from_addr,
                    message_id=msg.message_id,
                    text=f"automatic reply ({verdict.kind})",
                ),
            )
        else:
            on_customer_reply(
                store,
                desk.notices,
                existing,
                msg,
                fetched.raw,
                now,
                verdict.reply_to if verdict.acknowledge else None,
            )
        ledger("joined", folder, existing.id, message_id=msg.message_id)
        log.info("joined from %s", msg.from_addr, extra={"case": existing.id})
        return Intake("joined", existing.id)

    decision = classify(msg, desk.book)
    received = fetched.internaldate or now
    case = open_case(desk, msg, decision, received)
    category = desk.book.categories[decision.category]
    backfill = (
        desk.backfill_before is not None
        and received < desk.backfill_before
        and not desk.book.policy.backfill_acknowledge
    )
    if category.acknowledge and verdict.acknowledge and verdict.reply_to and not backfill:
        mail = acknowledgment(desk, msg, case, verdict.reply_to, now)
        store.put_outmail(mail)
        case = lifecycle.apply(case, "ack_sent", now, message_id=mail.id)
    else:
        case = lifecycle.apply(
            case,
            "ack_skipped",
            now,
            reasons=list(skip_reasons(category.acknowledge, verdict, backfill)),
        )
    case = on_open(store, desk.notices, case, msg, fetched.raw, now)
    store.put_case(case)
    ledger(
        "case",
        category.folder,
        case.id,
        message_id=msg.message_id,
        reason="over the size limit: attachments not read" if fetched.truncated else "",
    )
    log.info(
        "opened: %s by rule %s%s",
        case.category,
        decision.rule,
        "" if case.events[-1].what == "ack_sent" else f" (not acknowledged: {verdict.kind})",
        extra={"case": case.id},
    )
    return Intake("case", case.id)


def skip_reasons(category_acks: bool, verdict: Verdict, backfill: bool) -> tuple[str, ...]:
    if backfill:
        return ("older than the first run's backfill horizon",)
    if not category_acks:
        return ("the category is set not to acknowledge",)
    return verdict.reasons or (verdict.kind,)


def bounce_of_ours(desk: Desk, msg: Message, fetched: Fetched, now: datetime) -> str | None:
    """A bounce of a mail we sent joins that mail's case; a hard one quiets the address."""
    bounce = detect_bounce(fetched.raw)
    if bounce is None or not bounce.original_message_id:
        return None
    ours = desk.store.outmail(bounce.original_message_id)
    if ours is None or ours.case_id is None:
        return None
    case = desk.store.case(ours.case_id)
    if case is None:
        return None
    if bounce.hard and bounce.recipient:
        until = now + desk.book.policy.hard_bounce_quiet
        desk.store.set_meta(
            f"hard_bounce:{bounce.recipient.lower()}", until.isoformat(timespec="seconds")
        )
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
    owner = desk.book.owners.get(case.owner)
    if owner is not None:
        mid = new_message_id(desk.domain)
        notice = bounce_notice(
            desk.notices,
            case,
            fetched.raw,
            recipient=bounce.recipient,
            status=bounce.status,
            hard=bounce.hard,
            diagnostic=bounce.diagnostic,
            message_id=mid,
            now=now,
        )
        queue(desk.store, desk.notices, notice, "bounce_notice", case.id, owner.email, now)
    desk.store.put_case(case)
    log.warning(
        "bounce of our %s to %s (%s)",
        ours.kind,
        bounce.recipient,
        bounce.status,
        extra={"case": case.id},
    )
    return case.id


def open_case(desk: Desk, msg: Message, decision: Decision, received: datetime) -> lifecycle.Case:
    category = desk.book.categories[decision.category]
    due = due_at(received, category.deadline, desk.calendar).at
    return lifecycle.open_case(
        desk.store.next_case_id(received.year),
        category=decision.category,
        owner=decision.owner,
        received=received,
        due=due,
        sender=msg.from_addr,
        sender_name=msg.from_name,
        subject=msg.subject,
        message_id=msg.message_id,
        language=msg.language,
        rule=decision.rule,
        tags=decision.tags,
    )


def acknowledgment(
    desk: Desk, msg: Message, case: lifecycle.Case, to: str, now: datetime
) -> OutMail:
    category = desk.book.categories[case.category]
    rendered = desk.templates.render(
        category.template, msg.language, base_context(desk.notices, case, case.language)
    )
    mid = new_message_id(desk.domain)
    center = desk.book.owners[desk.book.center]
    mail = build_mail(
        sender=desk.address,
        sender_name=center.name,
        to=to,
        rendered=rendered,
        message_id=mid,
        now=now,
        in_reply_to=msg.message_id,
        references=msg.references,
    )
    return outmail(
        mail_id=mid,
        kind="ack",
        sender=desk.address,
        to=(to,),
        raw=wire(mail),
        now=now,
        case_id=case.id,
    )
