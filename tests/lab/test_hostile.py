"""Issue #5: refused mail, bounces of our mail, huge messages, a new UIDVALIDITY."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from support import REPO, Desk

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.imap import Fetched
from daemon.adapters.store import Store
from daemon.service.intake import Desk as IntakeDesk
from daemon.service.intake import intake


def private_center(desk: Desk) -> dict[str, str]:
    domain = f"staff{desk.customer_n}.test"
    desk.rules.write_text(desk.rules.read_text().replace("@example.test", f"@{domain}"))
    return {k: f"{k}@{domain}" for k in ("center", "support-lead", "legal", "team")}


def cases(desk: Desk) -> list[dict]:
    out = desk.feedbackd("cases", "list", "--format", "json")
    return [json.loads(x) for x in out.stdout.splitlines()]


def test_refused_for_good_marks_failed_and_tells_the_center(desk: Desk) -> None:
    staff = private_center(desk)
    customer = desk.customer("gone")
    desk.send(customer, "Жалоба", "Курьер не приехал, прошу разобраться.")
    desk.lab._smtp.handler.reject[customer] = "550 5.1.1 no such user"  # type: ignore[union-attr]
    try:
        assert desk.feedbackd("once").returncode == 0
        again = desk.feedbackd("once")
    finally:
        desk.lab._smtp.handler.reject.clear()  # type: ignore[union-attr]
    assert again.returncode == 0 and "0 sent" in again.stdout  # a 5xx is not retried
    assert desk.messages(customer) == []
    alerts = [m for m in desk.messages(staff["center"]) if m.subject == "feedbackd alert: failed"]
    assert len(alerts) == 1 and customer in alerts[0].text
    status = json.loads(desk.feedbackd("status", "--format", "json").stdout)
    assert status["outbox_failed"] == 1 and status["state"] == "warning"


def test_bounce_of_our_ack_joins_the_case_tells_the_owner_and_quiets_the_address(
    desk: Desk,
) -> None:
    staff = private_center(desk)
    customer = desk.customer("bouncy")
    desk.send(customer, "Жалоба", "Курьер нагрубил, прошу разобраться.")
    assert desk.feedbackd("once").returncode == 0
    [ack] = desk.messages(customer)
    ack_id = ack.headers["message-id"][0]
    dsn = (
        f"From: MAILER-DAEMON@mx.customer.test\r\nTo: {desk.address}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.test\r\n\r\n"
        f"Final-Recipient: rfc822; {customer}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {ack_id}\r\nTo: {customer}\r\nSubject: ack\r\n\r\n--B--\r\n"
    ).encode()
    with desk.lab.mailbox(desk.address) as mb:
        mb.append(dsn, "INBOX")
    assert desk.feedbackd("once").returncode == 0
    [case] = cases(desk)
    shown = json.loads(desk.feedbackd("cases", "show", case["id"], "--format", "json").stdout)
    bounce = [e for e in shown["events"] if e["what"] == "bounce"]
    assert bounce and bounce[0]["data"]["recipient"] == customer and bounce[0]["data"]["hard"]
    assert any(
        "bounced" in m.subject or "не доставлено" in m.subject
        for m in desk.messages(staff["support-lead"])
    )
    assert desk.folders()["Feedback/Bounces"] == 1
    # A hard-bounced address is not written to again: a new complaint gets no acknowledgment.
    desk.send(customer, "Ещё жалоба", "Снова курьер опоздал.")
    assert desk.feedbackd("once").returncode == 0
    assert len(desk.messages(customer)) == 1


def test_huge_message_is_handled_without_its_attachment(desk: Desk) -> None:
    desk.rules.write_text(
        desk.rules.read_text().replace("max_message_size: 25MB", "max_message_size: 64KB")
    )
    customer = desk.customer("huge")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = customer, desk.address, "Претензия с фото"
    msg.set_content("Прошу вернуть деньги за разбитый телевизор. Фото во вложении.")
    msg.add_attachment(
        b"\x89PNG" + bytes(3_000_000), maintype="image", subtype="png", filename="photo.png"
    )
    with desk.lab.mailbox(desk.address) as mb:
        mb.append(msg.as_bytes(), "INBOX")
    run = desk.feedbackd("once")
    assert run.returncode == 0, run.stderr
    [case] = cases(desk)
    assert case["sender"] == customer
    assert len(desk.messages(customer)) == 1
    store = Store(desk.db)
    [entry] = [e for e in store.ledger_entries() if e.outcome == "case"]
    assert "size limit" in entry.reason


def test_new_uidvalidity_resynchronises_by_message_id_without_duplicates(tmp_path: Path) -> None:
    book = load_rulebook(REPO / "rules.yaml")
    desk = IntakeDesk(
        Store(None), book, load_templates(REPO / "templates"), "feedback@example.test"
    )
    raw = (
        b"From: anna@customer.test\r\nTo: feedback@example.test\r\nSubject: Thanks\r\n"
        b"Message-ID: <same@customer.test>\r\n\r\nThank you, great service!\r\n"
    )
    now = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    first = intake(desk, 111, Fetched(5, raw, len(raw), now), now)
    mails = len(desk.store.outbox())
    again = intake(desk, 222, Fetched(1, raw, len(raw), now), now)  # the server renumbered
    assert first.outcome == "case" and again.outcome == "duplicate"
    assert again.case_id == first.case_id
    assert len(desk.store.cases()) == 1 and len(desk.store.outbox()) == mails
    assert desk.store.ledger(222, 1).folder == desk.store.ledger(111, 5).folder
