"""A first run on a mailbox that already holds a history of old mail, on Dovecot and SMTP.

Hundreds of old messages are APPENDed to INBOX with an INTERNALDATE weeks ago (the server's
"received" time, which is what the daemon reads), then `feedbackd once` runs as an admin would
run it first. With the shipped `first_run: history`: every one becomes a closed history case,
nothing is sent to anyone (no acknowledgment, no owner notice: nothing in Sent, nothing in any
owner's or customer's mailbox), and the next working day's `once --now` sends no reminder and
no escalation either. FEEDBACKD_HISTORY_N sets how many (2,000 by default, as the issue measured).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage

from support import Desk

from daemon.adapters.config import load_rulebook
from daemon.adapters.storage.store import Store
from daemon.core.cases import CLOSED, is_history
from daemon.core.workdays import calendar_for

N = int(os.environ.get("FEEDBACKD_HISTORY_N", "2000"))
OWNERS = ("center", "support-lead", "legal", "team")
SUBJECTS = ("Жалоба на курьера", "Спасибо за помощь", "Вопрос по заказу", "Претензия")


def old_mail(desk: Desk, n: int) -> list[bytes]:
    out = []
    for i in range(n):
        msg = EmailMessage()
        msg["From"] = desk.customer(f"old{i % 40}-")
        msg["To"] = desk.address
        msg["Subject"] = SUBJECTS[i % len(SUBJECTS)]
        msg["Message-ID"] = f"<old-{i}.{desk.customer_n}@customer.test>"
        msg.set_content("Заказ пришёл разбитым, прошу разобраться." if i % 2 else "Спасибо!")
        out.append(msg.as_bytes())
    return out


def owner_mail_counts(desk: Desk) -> dict[str, int]:
    return {o: len(desk.messages(f"{o}@example.test")) for o in OWNERS}


def test_a_first_run_on_a_history_mailbox_mails_nobody_and_the_next_day_neither(
    desk: Desk,
) -> None:
    now = datetime.now(UTC)
    with desk.lab.mailbox(desk.address) as mb:
        for i, raw in enumerate(old_mail(desk, N)):
            mb.append(raw, "INBOX", dt=now - timedelta(days=30 + i % 200))
    before = owner_mail_counts(desk)

    preview = desk.feedbackd("once", "--dry-run", timeout=300)
    assert preview.returncode == 0, preview.stderr
    assert f"{N} history" in preview.stdout and "would send" not in preview.stdout

    first = desk.feedbackd("once", timeout=600)
    assert first.returncode == 0, first.stderr
    assert f"{N} history" in first.stdout, first.stdout
    assert "messages taken in" in first.stderr  # progress, as log lines (no terminal here)

    store = Store(desk.db)
    cases = store.cases()
    assert len(cases) == N and all(c.status is CLOSED and is_history(c) for c in cases)
    assert store.outbox() == []  # nothing owed to anyone
    folders = desk.folders()
    assert folders.get("Sent", 0) == 0 and folders["INBOX"] == 0
    assert desk.messages(desk.customer("old0-")) == []

    book = load_rulebook(desk.rules)
    cal = calendar_for(book)
    day = cal.add_working_days(now.astimezone(cal.zone).date(), 1)
    next_day = datetime.combine(day, time(10, 0)).isoformat()
    later = desk.feedbackd("once", "--now", next_day, timeout=300)
    assert later.returncode == 0, later.stderr
    assert desk.folders().get("Sent", 0) == 0, later.stdout
    assert owner_mail_counts(desk) == before  # no notice, reminder or escalation to anyone


def test_import_before_a_day_takes_older_mail_as_history_and_leaves_the_rest(
    desk: Desk,
) -> None:
    now = datetime.now(UTC)
    with desk.lab.mailbox(desk.address) as mb:
        for i, raw in enumerate(old_mail(desk, 6)):
            mb.append(raw, "INBOX", dt=now - timedelta(days=100 if i < 4 else 1))
    day = (now - timedelta(days=50)).date().isoformat()
    done = desk.feedbackd("import", "--before", day, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "6 message(s) not seen before: 4 history; 2 newer left in INBOX" in done.stdout
    assert "messages imported: 6 of 6 done" in done.stderr  # the end line, no terminal here
    assert desk.folders()["INBOX"] == 2 and desk.folders().get("Sent", 0) == 0
    cases = Store(desk.db).cases()
    assert len(cases) == 4 and all(is_history(c) for c in cases)
