"""What triage decides with: the message as the mailbox handed it over, the store's few reads,
and the frame that is the same for every message of a cycle (templates, rules, calendar, fresh
Message-IDs, the first run's horizon). Kept apart from `triage` so the deciding reads on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Protocol

from daemon.core.followups import NewId
from daemon.core.mail.message import Message
from daemon.core.mail.staff import NoticeDesk
from daemon.core.records import LedgerEntry
from daemon.core.rules import Decision, FirstRun, RuleBook, classify
from daemon.core.threads import CaseView, staff
from daemon.core.workdays import WorkCalendar


@dataclass(frozen=True)
class Arrival:
    """One message as the mailbox handed it over: its bytes and the facts that came with them."""

    uidvalidity: int
    uid: int
    raw: bytes
    internaldate: datetime | None = None  # when the server received it; None: not reported
    truncated: bool = False  # over the size limit: its header and the start of its body only


class Known(CaseView, Protocol):
    """What triage reads of the store: our mail, the ledger by Message-ID, cases, rate limits."""

    def ledger_by_message_id(self, message_id: str) -> LedgerEntry | None: ...

    def ack_times(self, recipient: str) -> Sequence[datetime]: ...


#: The rule engine's entry point; a parameter so a caller may put another classifier in front.
Classifier = Callable[[Message, RuleBook], Decision]


@dataclass(frozen=True)
class Frame:
    """What triage decides with, the same for every message of a cycle."""

    notices: NoticeDesk  # the templates, the rules, our address and the command secret
    calendar: WorkCalendar
    new_id: NewId
    backfill_before: datetime | None = None  # first run: older mail is recorded, not answered
    classify: Classifier = classify

    @property
    def book(self) -> RuleBook:
        return self.notices.book

    def is_history(self, arrival: Arrival, now: datetime) -> bool:
        """Old mail of a first run (or an import) that nobody is to hear about: `first_run`
        history or skip, and received before the horizon (`triage` answers it as new mail)."""
        received = arrival.internaldate or now
        return (
            self.backfill_before is not None
            and received < self.backfill_before
            and self.book.policy.first_run is not FirstRun.TRIAGE
        )

    @cached_property
    def own_addresses(self) -> frozenset[str]:
        """Ours and our staff's: never acknowledged (an owner cc'ing us is answering)."""
        book = self.notices.book
        return frozenset({self.notices.address, *staff(book), *book.policy.own_addresses})
