"""The cycle on a queueing submission server (Postfix, Exchange): its 250 means queued, so our
copies reach the INBOX after the send. The cycle waits for them before it reads again, and the
gap alert leaves out the copies still on their way; a message it cannot take in is still a gap.
The lab's test_flow.py proves the same on Debian's Postfix.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from twins import MemoryMailbox, QueueingSender, incoming

from daemon.adapters.mail.imap import Fetched
from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.rules import RuleBook
from daemon.service import cycle as cycle_module
from daemon.service.cycle import CycleReport, run_cycle
from daemon.service.intake import Desk

FB = "feedback@example.test"
NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)  # a Tuesday morning: no digest due
PEOPLE = ("anna@customer.test", "bob@customer.test", "ivan@customer.test")
COMPLAINT = ("Жалоба", "Заказ пришёл разбитым, прошу разобраться.")


class UnreadableMailbox(MemoryMailbox):
    """A server that lists a message it never returns (a broken index): a real gap."""

    def fetch(self, uids: list[int], max_size: int | None = None) -> list[Fetched]:
        return [f for f in super().fetch(uids, max_size) if b"X-Unreadable" not in f.raw]


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A queue stuck for longer than the cycle waits, without the test waiting COPY_WAIT."""
    monkeypatch.setattr(cycle_module, "COPY_WAIT", 0.2)


def cycle(
    store: Store,
    book: RuleBook,
    templates: Templates,
    mailbox: MemoryMailbox,
    sender: QueueingSender,
    now: datetime = NOW,
) -> CycleReport:
    return run_cycle(Desk(store, book, templates, FB), mailbox, sender, now)


def arrive(mailbox: MemoryMailbox, unreadable: int = 0) -> None:
    for person in PEOPLE:
        mailbox.deliver(incoming(person, *COMPLAINT), NOW)
    for n in range(unreadable):
        mailbox.deliver(
            incoming(f"lost{n}@customer.test", *COMPLAINT, headers={"X-Unreadable": "1"}), NOW
        )


def test_a_cycle_waits_for_the_copies_a_queueing_server_still_holds(
    book: RuleBook, templates: Templates
) -> None:
    mailbox = MemoryMailbox()
    sender = QueueingSender({FB: mailbox}, delay=0.3)
    store = Store(None)
    arrive(mailbox)
    report = cycle(store, book, templates, mailbox, sender)
    sent = len(sender.server.sent)
    assert sent == 6  # three acknowledgments, three owner notices
    assert report.outcomes == {"case": 3, "own": sent}  # the copies taken in by this cycle
    assert (report.remaining, report.gap) == (0, 0)
    assert mailbox.counts() == {"INBOX": 0, "Feedback/Complaints": 3, "Sent": sent}
    sender.drain()


def test_an_unknown_message_is_excused_only_while_copies_are_on_their_way(
    book: RuleBook, templates: Templates, short_wait: None
) -> None:
    mailbox = UnreadableMailbox()
    sender = QueueingSender({FB: mailbox}, delay=None)  # stuck: our copies do not come
    store = Store(None)
    arrive(mailbox, unreadable=1)
    first = cycle(store, book, templates, mailbox, sender)
    # The unknown message could be one of our six copies, come after the last look.
    assert (first.remaining, first.on_their_way, first.gap) == (1, 6, 0)
    later = cycle(store, book, templates, mailbox, sender, NOW + book.policy.resend_grace)
    assert (later.remaining, later.on_their_way, later.gap) == (1, 0, 1)


def test_a_message_that_cannot_be_taken_in_is_a_gap_beside_copies_that_came(
    book: RuleBook, templates: Templates
) -> None:
    mailbox = UnreadableMailbox()
    sender = QueueingSender({FB: mailbox}, delay=0.2)
    store = Store(None)
    arrive(mailbox, unreadable=2)
    report = cycle(store, book, templates, mailbox, sender)
    assert report.outcomes == {"case": 3, "own": 6}
    assert (report.remaining, report.on_their_way, report.gap) == (2, 0, 2)
    sender.drain()
