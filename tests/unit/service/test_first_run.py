"""A first run on a mailbox with history, on the twins: each `first_run` choice, the import,
the bulk close, and the clock's duties on the days after (no reminder, no escalation, no
digest of a week before the daemon existed)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from twins import MemoryMailbox, RecordingSender, incoming

from daemon.adapters.storage.store import Store
from daemon.core.cases import CLOSED, OPEN, is_history
from daemon.core.mail.compose import Templates
from daemon.core.progress import silent
from daemon.core.rules import FirstRun, RuleBook
from daemon.service.backfill import as_history, import_history
from daemon.service.case_changes import apply_request
from daemon.service.cycle import run_cycle
from daemon.service.intake import Desk

FB = "feedback@example.test"
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # Tuesday 13:00 in Moscow: working time
NEXT_DAY = NOW + timedelta(days=1)
LATER = NOW + timedelta(days=20)  # every old case long past its deadline and escalation
OLD = 30  # old messages in these tests (the lab test takes hundreds)


def rules(book: RuleBook, mode: FirstRun) -> RuleBook:
    return replace(book, policy=replace(book.policy, first_run=mode))


def history_mailbox(n: int = OLD) -> MemoryMailbox:
    """`n` old complaints (received 10..40 days ago by the server's clock) and one new one."""
    mailbox = MemoryMailbox()
    for i in range(n):
        raw = incoming(f"c{i}@customer.test", "Жалоба", "Заказ пришёл разбитым, разберитесь.")
        mailbox.deliver(raw, NOW - timedelta(days=10 + i))
    mailbox.deliver(incoming("new@customer.test", "Жалоба", "Курьер нагрубил."), NOW)
    return mailbox


def run(book: RuleBook, templates: Templates, mode: FirstRun):  # type: ignore[no-untyped-def]
    mailbox = history_mailbox()
    sender = RecordingSender({FB: mailbox})
    desk = Desk(Store(None), rules(book, mode), templates, FB)
    report = run_cycle(desk, mailbox, sender, NOW, progress=silent)
    return desk, mailbox, sender, report


def people_mailed(sender: RecordingSender) -> set[str]:
    return {e.recipients[0] for e in sender.sent}


def test_history_mails_nobody_about_old_mail_and_records_closed_history_cases(
    book: RuleBook, templates: Templates
) -> None:
    desk, mailbox, sender, report = run(book, templates, FirstRun.HISTORY)
    old = [c for c in desk.store.cases() if c.sender != "new@customer.test"]
    assert len(old) == OLD and all(c.status is CLOSED and is_history(c) for c in old)
    assert report.outcomes["history"] == OLD
    # Only the new message is answered: its acknowledgment and its owner's notice.
    assert people_mailed(sender) == {"new@customer.test", "support-lead@example.test"}
    assert len(sender.sent) == 2
    assert mailbox.counts()["INBOX"] == 0  # filed like any other mail
    for later in (NEXT_DAY, LATER):
        before = len(sender.sent)
        run_cycle(desk, mailbox, sender, later, progress=silent)
        mailed = {e.recipients[0] for e in sender.sent[before:]}
        assert mailed <= {"support-lead@example.test", "center@example.test"}
        kinds = {e.what for c in old for e in (desk.store.case(c.id) or c).events}
        assert not kinds & {"reminder_sent", "escalated"}


def test_triage_opens_the_old_mail_as_cases_for_the_center_and_tells_their_owners(
    book: RuleBook, templates: Templates
) -> None:
    desk, _, sender, report = run(book, templates, FirstRun.TRIAGE)
    assert report.outcomes["case"] == OLD + 1
    assert all(c.status is OPEN for c in desk.store.cases())
    notices = sender.sent_to("support-lead@example.test")
    # A notice each, and (overdue at once) a reminder each: what `history` spares the owners.
    assert len(notices) == 2 * OLD + 1 and sender.sent_to("c0@customer.test") == []  # no acks


def test_skip_records_and_files_old_mail_with_no_case(book: RuleBook, templates: Templates) -> None:
    desk, mailbox, sender, report = run(book, templates, FirstRun.SKIP)
    assert report.outcomes["skipped"] == OLD
    assert [c.sender for c in desk.store.cases()] == ["new@customer.test"]
    assert len(desk.store.ledger_entries()) >= OLD + 1 and mailbox.counts()["INBOX"] == 0
    assert len(sender.sent) == 2


def test_the_first_digest_reports_no_week_from_before_the_first_run(
    book: RuleBook, templates: Templates
) -> None:
    monday = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 10:00 in Moscow, after the digest's 08:00
    mailbox, store = history_mailbox(3), Store(None)
    sender = RecordingSender({FB: mailbox})
    desk = Desk(store, book, templates, FB)
    run_cycle(desk, mailbox, sender, monday, progress=silent)
    assert sender.sent_to("center@example.test") == []  # last week: the daemon did not exist
    run_cycle(desk, mailbox, sender, monday + timedelta(days=7), progress=silent)
    [digest] = sender.sent_to("center@example.test")
    assert "2026-03-02 – 2026-03-08" in str(digest["Subject"])


def test_import_takes_mail_before_the_day_as_history_and_leaves_newer_mail(
    book: RuleBook, templates: Templates
) -> None:
    mailbox = history_mailbox(5)
    desk = Desk(Store(None), as_history(rules(book, FirstRun.TRIAGE)), templates, FB)
    cutoff = NOW - timedelta(days=11, hours=12)  # the three oldest are older than this
    report = import_history(desk, mailbox, cutoff, NOW, silent)
    assert report.outcomes == {"history": 3} and report.newer == 3 and report.filed == 3
    assert mailbox.counts()["INBOX"] == 3
    assert all(is_history(c) for c in desk.store.cases())


def case_ids(store: Store, status: str) -> list[str]:
    return sorted(c.id for c in store.cases() if c.status == status)


@pytest.mark.parametrize("category", [None, "complaint"])
def test_bulk_close_closes_what_was_received_before_the_day_one_event_each(
    book: RuleBook, templates: Templates, category: str | None
) -> None:
    desk, _, _, _ = run(book, templates, FirstRun.TRIAGE)
    req = {"action": "close_all", "before": str(date(2026, 2, 25)), "who": "cli:ann"}
    outcome = apply_request(desk.store, book, {**req, "category": category}, NOW)
    assert outcome.ok, outcome.message
    closed = case_ids(desk.store, "closed")
    assert len(closed) == OLD and f"closed {OLD} case(s)" in outcome.message
    assert [c.sender for c in desk.store.cases(OPEN)] == ["new@customer.test"]
    for cid in closed:
        case = desk.store.case(cid)
        assert case is not None and case.events[-1].what == "closed"
        assert case.events[-1].who == "cli:ann"


def test_bulk_close_refuses_an_unknown_category_and_a_bad_day(book: RuleBook) -> None:
    store = Store(None)
    bad = apply_request(store, book, {"action": "close_all", "before": "2026-02-31"}, NOW)
    assert not bad.ok and "is not a day" in bad.message
    req = {"action": "close_all", "before": "2026-02-25", "category": "complain"}
    unknown = apply_request(store, book, req, NOW)
    assert not unknown.ok and "use one of" in unknown.message
