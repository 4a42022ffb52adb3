"""A folder the server will not create: the mail stays in INBOX, one alert, the cycle goes on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from twins import MemoryMailbox, RecordingSender, incoming

from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.rules import RuleBook
from daemon.service.cycle import run_cycle
from daemon.service.intake import Desk

FB = "feedback@example.test"
CENTER_ALERT = "feedbackd alert: folder"
NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)  # a Tuesday morning: no digest due


def test_a_refused_folder_leaves_its_mail_in_inbox_and_alerts_once(
    book: RuleBook, templates: Templates, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox = MemoryMailbox()
    sender = RecordingSender({FB: mailbox})
    store = Store(None)
    desk = Desk(store, book, templates, FB)
    mailbox.refuse_folder("Feedback/Complaints", "Character not allowed in mailbox name: '/'")
    mailbox.deliver(incoming("anna@customer.test", "Жалоба", "Заказ пришёл разбитым."), NOW)
    thanks = "Спасибо огромное, всё пришло вовремя, благодарю за отличный сервис!"
    mailbox.deliver(incoming("bob@customer.test", "Спасибо", thanks), NOW)

    with caplog.at_level(logging.ERROR, "feedbackd.cycle"):
        report = run_cycle(desk, mailbox, sender, NOW)

    counts = mailbox.counts()
    assert "Feedback/Complaints" not in counts
    assert counts["INBOX"] == 1  # the complaint stays where it is
    assert counts["Feedback/Thanks"] == 1  # the other folders are filed all the same
    assert len(sender.sent_to("anna@customer.test")) == 1  # the case is open and acknowledged
    told = [r.getMessage() for r in caplog.records if "Feedback/Complaints" in r.getMessage()]
    assert len(told) == 1, told
    assert "Character not allowed" in told[0] and "rules.yaml" in told[0]
    assert "1 messages stay in INBOX" in told[0]
    alerts = [m for m in sender.sent if CENTER_ALERT.encode() in m.raw]
    assert len(alerts) == 1
    assert report.remaining == 0

    # Later cycles try again, quietly; once the folder can be made, the mail is filed.
    run_cycle(desk, mailbox, sender, NOW + timedelta(minutes=1))
    assert len([m for m in sender.sent if CENTER_ALERT.encode() in m.raw]) == 1
    mailbox.refused.clear()
    later = run_cycle(desk, mailbox, sender, NOW + timedelta(minutes=2))
    assert later.filed == 1
    assert mailbox.counts()["INBOX"] == 0
    assert mailbox.counts()["Feedback/Complaints"] == 1
    assert len(sender.sent_to("anna@customer.test")) == 1
