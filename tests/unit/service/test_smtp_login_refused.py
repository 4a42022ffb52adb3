"""An SMTP server that refuses our login, on the twins: the mail waits, whole, for the fix.

Before issue #15 a refused login was one more transient failure: every mail "deferred", one
attempt spent each, `status` OK. Now the mail goes back to the queue as it was (no attempt
counted, due at once), the cycle says the login was refused, `status` is critical and the
feedback center gets an alert; once the login works, everything goes out exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twins import MemoryMailbox, RecordingSender, incoming

from daemon.adapters.storage.status_file import PollState
from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.records import PENDING, OutState
from daemon.core.rules import RuleBook
from daemon.service.alerts import due_alerts
from daemon.service.cycle import run_cycle
from daemon.service.health import CRITICAL, assess
from daemon.service.intake import Desk

FB = "feedback@example.test"
NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
REFUSED = (
    "SMTP login as fb refused by smtp.example.com:587 (535 5.7.8 Authentication credentials "
    "invalid): check FEEDBACKD_SMTP_USER and the password"
)
PEOPLE = ("anna@customer.test", "bob@customer.test")


def test_mail_waits_unspent_while_the_login_is_refused_and_goes_out_once_after(
    book: RuleBook, templates: Templates
) -> None:
    mailbox = MemoryMailbox()
    sender = RecordingSender({FB: mailbox})
    store = Store(None)
    desk = Desk(store, book, templates, FB)
    for person in PEOPLE:
        mailbox.deliver(incoming(person, "Жалоба", "Заказ пришёл разбитым, прошу разобраться."))
    sender.login_refusal = REFUSED

    report = run_cycle(desk, mailbox, sender, NOW)
    assert report.login_refused == REFUSED
    assert report.sent == 0
    assert report.summary().endswith("4 waiting: the SMTP server refuses our login")
    waiting = store.outbox(*PENDING)
    assert len(waiting) == 4  # two acknowledgments, two owner notices
    assert all(m.state == OutState.QUEUED and m.attempts == 0 for m in waiting)
    assert all(m.due(NOW) for m in waiting)  # due at once: a run after the fix sends them
    assert len(sender.attempts) == 4  # tried once each in the cycle, not at every pass

    poll = PollState(last_success=NOW.isoformat(), smtp_refused=report.login_refused)
    health = assess(store, poll, NOW)
    assert health.level == CRITICAL
    assert [p for p in health.problems if p.startswith(REFUSED)] == [
        f"{REFUSED}; 4 mails wait in the outbox"
    ]
    alerts = due_alerts(store, poll, book, NOW)
    assert [kind for kind, _ in alerts] == ["smtp-auth"]
    assert REFUSED in alerts[0][1]

    sender.login_refusal = ""  # the admin fixed the password
    later = run_cycle(desk, mailbox, sender, NOW + timedelta(minutes=1))
    assert later.login_refused == ""
    assert store.outbox(*PENDING) == []
    for person in PEOPLE:
        assert len(sender.sent_to(person)) == 1
    poll.smtp_refused = later.login_refused
    assert assess(store, poll, NOW + timedelta(minutes=1)).level != CRITICAL
