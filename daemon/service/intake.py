"""Intake: one fetched message becomes a ledger entry, and a case with its acknowledgment.

The deciding is daemon.core.triage's: it returns a `Plan`. This module applies it, and `apply`
is the one write path for new mail: the ledger entry, the cases, the queued mail (each with its
Message-ID fixed in advance) and the meta go into the store's buffer together, and only then is
anything logged. The commit stays the cycle's, once per batch, so the whole outcome is durable
before any mail is sent or moved. A message whose triage raises is quarantined with a plan of its
own (nothing else decided for it is written); a ConfigError is raised and writes nothing, so the
message waits in INBOX until the rules or templates are fixed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from daemon.adapters.imap import Fetched
from daemon.adapters.store import Store
from daemon.core.followups import Level
from daemon.core.mail.compose import Templates, new_message_id
from daemon.core.mail.notices import NoticeDesk
from daemon.core.rules import RuleBook, classify
from daemon.core.triage import QUARANTINE, Arrival, Frame, Plan, quarantined, triage
from daemon.core.workdays import WorkCalendar, calendar_for
from daemon.errors import ConfigError
from daemon.service.casework import command_secret

__all__ = ["QUARANTINE", "Desk", "Intake", "apply", "intake"]

log = logging.getLogger("feedbackd.intake")
_LEVELS = {Level.INFO: logging.INFO, Level.WARNING: logging.WARNING}

#: What `intake` returns: the plan it applied (outcome, case_id, reason, and the rest).
Intake = Plan


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
    def notices(self) -> NoticeDesk:
        return NoticeDesk(self.templates, self.book, self.address, command_secret(self.store))

    def new_message_id(self) -> str:
        return new_message_id(self.domain)

    def frame(self) -> Frame:
        """Triage's arguments as they stand now (the cycle sets the backfill horizon)."""
        return Frame(
            self.notices, self.calendar, self.new_message_id, self.backfill_before, classify
        )


def intake(desk: Desk, uidvalidity: int, fetched: Fetched, now: datetime) -> Plan:
    """Decide one message, then record the decision. A message that trips a bug is quarantined,
    not allowed to stop the mailbox: `feedbackd reprocess` takes it again once the bug is fixed."""
    arrival = Arrival(
        uidvalidity, fetched.uid, fetched.raw, fetched.internaldate, fetched.truncated
    )
    try:
        plan = triage(arrival, desk.frame(), desk.store, now)
    except ConfigError:
        raise  # a template or rule problem: the message stays in INBOX until it is fixed
    except Exception as exc:
        log.exception("uid %s quarantined after an internal error", fetched.uid)
        plan = quarantined(arrival, f"internal error: {type(exc).__name__}: {exc}"[:300], now)
    apply(desk.store, plan)
    return plan


def apply(store: Store, plan: Plan) -> None:
    """The one write path of intake: the whole plan into the store's buffer, then its log."""
    store.put_ledger(plan.ledger)
    for case in plan.cases:
        store.put_case(case)
    for mail in plan.mail:
        store.put_outmail(mail)
    for key, value in plan.meta.items():
        if isinstance(value, datetime):
            store.set_meta_time(key, value)
        else:
            store.set_meta(key, value)
    for line in plan.log:
        extra = {"case": line.case_id} if line.case_id else None
        logging.getLogger(line.topic).log(_LEVELS[line.level], "%s", line.text, extra=extra)
