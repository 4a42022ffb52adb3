"""The outbox's order and pace on the twins: acknowledgments first, FEEDBACKD_SMTP_RATE kept,
a throttle paused on (never a failure, never an attempt), the day's count across a restart,
and a notice refused for size sent again without the attachment."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

from twins import RecordingSender, incoming

from daemon.adapters.mail.imap import Fetched
from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.records import LedgerEntry, OutState
from daemon.core.rules import RuleBook
from daemon.core.sendrate import Rate
from daemon.service.intake import Desk, intake
from daemon.service.outbox import deliver, next_due
from daemon.service.pacing import Pacer

NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
ADDRESS = "feedback@example.test"


def complaints(store: Store, book: RuleBook, templates: Templates, n: int) -> None:
    """`n` customers complain at once: an acknowledgment and an owner notice each."""
    desk = Desk(store, book, templates, ADDRESS)
    for uid in range(1, n + 1):
        raw = incoming(f"c{uid}@customer.test", "Жалоба", "Курьер нагрубил, прошу разобраться.")
        intake(desk, 1, Fetched(uid, raw, len(raw), NOW), NOW)
    store.commit()


def kinds(sender: RecordingSender, store: Store) -> list[str]:
    by_id = {m.id: m.kind for m in store.outbox()}
    out = []
    for env in sender.sent:
        mid = str(email.message_from_bytes(env.raw)["Message-ID"])
        out.append(by_id[mid])
    return out


def test_a_burst_sends_every_acknowledgment_before_any_staff_mail(
    book: RuleBook, templates: Templates
) -> None:
    store, sender = Store(None), RecordingSender()
    complaints(store, book, templates, 10)
    deliver(store, None, sender, NOW, book.policy)
    sent = kinds(sender, store)
    assert sent.count("ack") == 10 and "notice" in sent
    assert sent[:10] == ["ack"] * 10


def test_a_throttle_pauses_without_failing_or_counting_an_attempt(
    book: RuleBook, templates: Templates
) -> None:
    store, sender = Store(None), RecordingSender()
    complaints(store, book, templates, 6)
    sender.take_at_most = 4
    pacer = Pacer()
    d = deliver(store, None, sender, NOW, book.policy, pacer)
    assert (d.sent, d.failed) == (4, 0)
    assert kinds(sender, store) == ["ack"] * 4
    waiting = store.outbox(OutState.QUEUED)
    assert waiting and all(m.attempts == 0 for m in waiting)  # a throttle is not an attempt
    resume = next_due(store)
    assert resume is not None and resume > NOW
    # Nothing goes before the pause is over, even if the server would take it.
    sender.take_at_most = None
    assert deliver(store, None, sender, NOW + timedelta(seconds=1), book.policy, pacer).sent == 0
    deliver(store, None, sender, resume, book.policy, pacer)
    assert store.outbox(OutState.QUEUED, OutState.SENDING, OutState.FAILED) == []
    sent = kinds(sender, store)
    assert sent[:6] == ["ack"] * 6
    ids = [str(email.message_from_bytes(e.raw)["Message-ID"]) for e in sender.sent]
    assert len(ids) == len(set(ids))  # nothing was taken twice


def test_the_rate_holds_mail_until_the_window_opens(book: RuleBook, templates: Templates) -> None:
    store, sender = Store(None), RecordingSender()
    complaints(store, book, templates, 3)
    pacer = Pacer((Rate(4, timedelta(minutes=1)),), clock=lambda: NOW)
    deliver(store, None, sender, NOW, book.policy, pacer)
    assert kinds(sender, store) == ["ack", "ack"]  # 2 recipients each: ours is counted
    assert next_due(store) == NOW + timedelta(minutes=1)
    later = NOW + timedelta(minutes=1)
    pacer.clock = lambda: later
    deliver(store, None, sender, later, book.policy, pacer)
    assert kinds(sender, store) == ["ack", "ack", "ack", "notice"]


def test_the_days_count_survives_a_restart(book: RuleBook, templates: Templates) -> None:
    store, sender = Store(None), RecordingSender()
    day = (Rate(6, timedelta(days=1)),)
    complaints(store, book, templates, 2)
    deliver(store, None, sender, NOW, book.policy, Pacer(day, clock=lambda: NOW))
    assert len(sender.sent) == 3
    # A new process: the windows come from what the outbox records say was sent.
    later = NOW + timedelta(hours=5)
    restarted = Pacer.from_store(store, day, clock=lambda: later)
    complaints_later = RecordingSender()
    deliver(store, None, complaints_later, later, book.policy, restarted)
    assert complaints_later.sent == []
    assert next_due(store) == NOW + timedelta(days=1)


def test_a_notice_refused_for_size_goes_again_without_the_attachment(
    book: RuleBook, templates: Templates
) -> None:
    store, sender = Store(None), RecordingSender()
    complaints(store, book, templates, 1)
    [ack] = [m for m in store.outbox() if m.kind == "ack"]
    [big] = [m for m in store.outbox() if m.kind == "notice"]
    sender.max_size = len(big.raw.encode()) - 1  # the notice with the original attached is over
    assert len(ack.raw.encode()) <= sender.max_size
    store.put_ledger(
        LedgerEntry(1, 1, "<x@customer.test>", "case", "Feedback/Complaints", True, ack.case_id)
    )
    d = deliver(store, None, sender, NOW, book.policy)
    assert d.failed == 0
    deliver(store, None, sender, NOW, book.policy)
    [notice] = [m for m in store.outbox() if m.kind == "notice"]
    assert notice.state == OutState.SENT
    [got] = sender.sent_to(notice.recipients[0])
    assert isinstance(got, email.message.EmailMessage)
    assert not list(got.iter_attachments())
    text = got.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert f"case {ack.case_id}" in body and "Feedback/Complaints" in body


def test_an_acknowledgment_refused_for_size_fails_as_before(
    book: RuleBook, templates: Templates
) -> None:
    store, sender = Store(None), RecordingSender()
    complaints(store, book, templates, 1)
    sender.max_size = 10
    deliver(store, None, sender, NOW, book.policy)
    [ack] = [m for m in store.outbox() if m.kind == "ack"]
    assert ack.state == OutState.FAILED
