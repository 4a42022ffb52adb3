"""Issue #5: refused mail, bounces of our mail, huge messages, a new UIDVALIDITY; issue #14:
forged answers, outsiders naming a case, replayed and forged commands, a flood.

The commands run in this process (`Desk.cli`): these tests are about what the commands and
cycles do, not about the process.
"""

from __future__ import annotations

import email.utils
import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote

from support import REPO, Desk

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.mail.imap import Fetched
from daemon.adapters.storage.store import Store
from daemon.service.intake import Desk as IntakeDesk
from daemon.service.intake import intake


def private_center(desk: Desk) -> dict[str, str]:
    domain = f"staff{desk.customer_n}.test"
    desk.rules.write_text(desk.rules.read_text().replace("@example.test", f"@{domain}"))
    return {k: f"{k}@{domain}" for k in ("center", "support-lead", "legal", "team")}


def cases(desk: Desk) -> list[dict]:
    out = desk.cli("cases", "list", "--format", "json")
    return [json.loads(x) for x in out.stdout.splitlines()]


def test_refused_for_good_marks_failed_and_tells_the_center(desk: Desk) -> None:
    staff = private_center(desk)
    customer = desk.customer("gone")
    desk.send(customer, "Жалоба", "Курьер не приехал, прошу разобраться.")
    desk.lab._smtp.handler.reject[customer] = "550 5.1.1 no such user"  # type: ignore[union-attr]
    try:
        assert desk.cli("once").returncode == 0
        again = desk.cli("once")
    finally:
        desk.lab._smtp.handler.reject.clear()  # type: ignore[union-attr]
    assert again.returncode == 0 and "0 mails sent" in again.stdout  # a 5xx is not retried
    assert desk.messages(customer) == []
    alerts = [m for m in desk.messages(staff["center"]) if m.subject == "feedbackd alert: failed"]
    assert len(alerts) == 1 and customer in alerts[0].text
    status = json.loads(desk.cli("status", "--format", "json").stdout)
    assert status["outbox_failed"] == 1 and status["state"] == "warning"


def test_bounce_of_our_ack_joins_the_case_tells_the_owner_and_quiets_the_address(
    desk: Desk,
) -> None:
    staff = private_center(desk)
    customer = desk.customer("bouncy")
    desk.send(customer, "Жалоба", "Курьер нагрубил, прошу разобраться.")
    assert desk.cli("once").returncode == 0
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
    assert desk.cli("once").returncode == 0
    [case] = cases(desk)
    shown = json.loads(desk.cli("cases", "show", case["id"], "--format", "json").stdout)
    bounce = [e for e in shown["events"] if e["what"] == "bounce"]
    assert bounce and bounce[0]["data"]["recipient"] == customer and bounce[0]["data"]["hard"]
    assert any(
        "bounced" in m.subject or "не доставлено" in m.subject
        for m in desk.messages(staff["support-lead"])
    )
    assert desk.folders()["Feedback/Bounces"] == 1
    # A hard-bounced address is not written to again: a new complaint gets no acknowledgment.
    desk.send(customer, "Ещё жалоба", "Снова курьер опоздал.")
    assert desk.cli("once").returncode == 0
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
    run = desk.cli("once")
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


# -- issue #14: who may change a case (items 1, 2, 4 and 13) --------------------------------


def case_show(desk: Desk, cid: str) -> dict:
    return json.loads(desk.cli("cases", "show", cid, "--format", "json").stdout)


def mail(sender: str, to: str, subject: str, body: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = email.utils.make_msgid(domain="hostile.test")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def answer_cc(notice_text: str) -> str:
    """The Cc of the answer link in an owner's notice, as the owner's mail client reads it."""
    found = re.search(r"mailto:[^?\s]+\?cc=([^&\s]+)", notice_text)
    assert found, notice_text
    return unquote(found.group(1))


def test_a_forged_answer_and_an_outsider_change_no_customers_case(desk: Desk) -> None:
    staff = private_center(desk)
    anna, mallory = desk.customer("anna"), desk.customer("mallory")
    first = mail(
        email.utils.formataddr(("Анна Иванова", anna), "utf-8"),
        desk.address,
        "Жалоба",
        "Курьер нагрубил и опоздал на пять часов, прошу разобраться.",
    )
    desk.lab.send(first.as_bytes(), anna, [desk.address])
    assert desk.cli("once").returncode == 0
    [case] = cases(desk)
    cid = case["id"]
    [notice] = desk.messages(staff["support-lead"])
    cc = answer_cc(notice.text)
    # Anyone may write the owner's From and the case id printed in the acknowledgment.
    forged = mail(
        staff["support-lead"],
        anna,
        f"Re: [{cid}] Жалоба",
        "Вопрос решён.",
        Cc=desk.address,
        In_Reply_To=first["Message-ID"],
    )
    desk.lab.deliver(forged.as_bytes(), desk.address)
    outsider = mail(mallory, desk.address, f"Re: [{cid}] Жалоба", "Я тоже жалуюсь на курьера.")
    desk.lab.send(outsider.as_bytes(), mallory, [desk.address])
    assert desk.cli("once").returncode == 0
    shown = case_show(desk, cid)
    assert shown["status"] == "open"  # not answered: the reminders go on
    assert "answered" not in [e["what"] for e in shown["events"]]
    assert any(e["what"] == "note" and e["data"].get("unproven") for e in shown["events"])
    told = [m for m in desk.messages(staff["support-lead"]) if "Не засчитано" in m.subject]
    assert len(told) == 1 and cc in told[0].text
    [theirs] = [c for c in cases(desk) if c["id"] != cid]  # the outsider's own case
    assert theirs["sender"] == mallory
    assert any(e["data"].get("linked") == cid for e in case_show(desk, theirs["id"])["events"])
    [ack] = desk.messages(mallory)
    assert "Анна" not in ack.text and anna not in ack.text and theirs["id"] in ack.subject
    assert len(desk.messages(anna)) == 1  # Anna got her acknowledgment, and nothing else
    # The owner's own answer, written from the notice's link, reaches the answer address.
    answer = mail(staff["support-lead"], anna, f"Re: [{cid}] Жалоба", "Приносим извинения.", Cc=cc)
    desk.lab.send(answer.as_bytes(), staff["support-lead"], [anna, cc])
    assert desk.cli("once").returncode == 0
    assert case_show(desk, cid)["status"] == "answered"


def test_a_flood_and_forged_commands_reach_the_owner_as_a_few_mails_and_one_summary(
    desk: Desk,
) -> None:
    staff = private_center(desk)
    flooder = desk.customer("flood")
    for n in range(8):
        raw = mail(flooder, desk.address, f"Жалоба {n}", "Курьер опоздал, прошу разобраться.")
        desk.lab.deliver(raw.as_bytes(), desk.address)
    now = datetime.now(UTC).replace(microsecond=0)
    assert desk.cli("once", "--now", now.isoformat()).returncode == 0
    assert len(cases(desk)) == 8 and len(desk.messages(flooder)) == 1
    notices = desk.messages(staff["support-lead"])
    assert len(notices) == 3  # the first few at once
    token = str(notices[0].headers["reply-to"][0])
    forged_to = re.sub(r"\.[a-z2-7]{16}@", "." + "a" * 16 + "@", token)
    for n in range(5):
        forged = mail(staff["support-lead"], forged_to, "Re", "close\n", Date=f"{n}")
        desk.lab.deliver(forged.as_bytes(), desk.address)
    assert desk.cli("once", "--now", (now + timedelta(minutes=1)).isoformat()).returncode == 0
    refusals = [
        m
        for m in desk.messages(staff["support-lead"])
        if "не выполнена" in m.subject or "not done" in m.subject
    ]
    assert len(refusals) == 3 and len(desk.messages(staff["support-lead"])) == 6
    later = now + timedelta(minutes=61)
    assert desk.cli("once", "--now", later.isoformat()).returncode == 0
    [summary] = [m for m in desk.messages(staff["support-lead"]) if "сводкой" in m.subject]
    assert summary.text.count(flooder) == 5 and summary.text.count("команда отклонена") == 2
    assert len(desk.messages(staff["support-lead"])) == 7


def test_a_replayed_command_does_not_act_again(desk: Desk) -> None:
    staff = private_center(desk)
    desk.send(desk.customer("anna"), "Жалоба", "Курьер опоздал, прошу разобраться.")
    assert desk.cli("once").returncode == 0
    [case] = cases(desk)
    [notice] = desk.messages(staff["support-lead"])
    token = str(notice.headers["reply-to"][0])
    close = mail(
        staff["support-lead"], token, "Re", "close\n", Date="Tue, 01 Dec 2026 10:00:00 +0300"
    )
    desk.lab.send(close.as_bytes(), staff["support-lead"], [token])
    assert desk.cli("once").returncode == 0
    reopen = mail(
        staff["support-lead"], token, "Re", "reopen\n", Date="Tue, 01 Dec 2026 10:05:00 +0300"
    )
    desk.lab.send(reopen.as_bytes(), staff["support-lead"], [token])
    assert desk.cli("once").returncode == 0
    assert case_show(desk, case["id"])["status"] == "open"
    close.replace_header("Message-ID", email.utils.make_msgid(domain="replay.test"))
    desk.lab.send(close.as_bytes(), staff["support-lead"], [token])  # the same mail again
    assert desk.cli("once").returncode == 0
    shown = case_show(desk, case["id"])
    assert shown["status"] == "open"
    assert [e["what"] for e in shown["events"]].count("closed") == 1
