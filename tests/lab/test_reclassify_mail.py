"""On the real Dovecot and SMTP: the center's `категория жалоба` by mail moves a thanks that
was a complaint and writes the customer one correction; robots' mail is filed in
Feedback/Automatic with no case and nothing sent.

The commands run in this process (`Desk.cli`): these tests are about what the commands and
cycles do, not about the process.
"""

from __future__ import annotations

import json
from email.message import EmailMessage

from support import Desk

from daemon.adapters.storage.store import Store
from daemon.core.tokens import case_token, command_address

#: Sarcasm the rules still take for thanks (the problem-report rules read "Спасибо, конечно, но
#: заказ так и не пришёл" as a complaint by now): the center corrects it.
THANKS_WITH_A_PROBLEM = "Спасибо вам огромное за такой сервис, три часа ожидания."


def command(desk: Desk, sender: str, case_id: str, text: str) -> None:
    secret = bytes.fromhex(Store.preview(desk.db).meta("command_secret"))
    to = command_address(desk.address, case_id, case_token(secret, case_id))
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, f"Re: [{case_id}]"
    msg.set_content(text)
    desk.lab.send(msg.as_bytes(), sender, [to])


def test_category_by_mail_corrects_the_acknowledgment_once(desk: Desk) -> None:
    center = desk.customer("center")
    desk.rules.write_text(desk.rules.read_text().replace("center@example.test", center))
    customer = desk.customer("fix")
    first = desk.send(customer, "Спасибо", THANKS_WITH_A_PROBLEM)
    assert desk.cli("once").returncode == 0
    [ack] = desk.messages(customer)
    assert "Спасибо за добрые слова" in ack.subject
    [listed] = desk.cli("cases", "list", "--format", "json").stdout.splitlines()
    cid = json.loads(listed)["id"]

    command(desk, center, cid, "категория жалоба")
    run = desk.cli("once")
    assert run.returncode == 0, run.stderr
    case = json.loads(desk.cli("cases", "show", cid, "--format", "json").stdout)
    assert (case["category"], case["owner"]) == ("complaint", "support")
    assert [e["what"] for e in case["events"]][-2:] == ["reclassified", "ack_corrected"]
    ack, fix = desk.messages(customer)
    assert fix.subject == f"[{cid}] Уточнение к нашему ответу"
    assert "ответ на ваше письмо был ошибочным" in fix.text
    assert fix.headers["in-reply-to"][0] == first
    assert fix.headers["auto-submitted"][0] == "auto-replied"
    [reply] = [m for m in desk.messages(center) if "Команда выполнена" in m.subject]
    assert "Категория обращения: жалоба" in reply.text

    command(desk, center, cid, "category thanks")
    assert desk.cli("once").returncode == 0
    command(desk, center, cid, "category complaint")
    assert desk.cli("once").returncode == 0
    assert len(desk.messages(customer)) == 2  # once per case, however often it moves
    case = json.loads(desk.cli("cases", "show", cid, "--format", "json").stdout)
    assert [e["what"] for e in case["events"]].count("reclassified") == 3


def test_robots_mail_is_filed_in_automatic_opens_no_case_and_is_counted(desk: Desk) -> None:
    desk.send(
        "MAILER-DAEMON <>",
        "Undelivered Mail Returned to Sender",
        "This is the mail system at host mx.example.test.\n\nI'm sorry to have to inform you "
        "that your message could not be delivered to one or more recipients.\n\n"
        "<someone@else.test>: host mx.else.test said: 550 5.1.1 User unknown",
    )
    newsletter = desk.customer("news")
    desk.send(
        newsletter,
        "Weekly deals",
        "Our prices are broken! Complaint-free shopping, act now.",
        headers={"List-Id": "<deals.shop.test>", "List-Unsubscribe": "<mailto:u@shop.test>"},
    )
    run = desk.cli("once")
    assert run.returncode == 0, run.stderr
    folders = desk.folders()
    assert folders["Feedback/Automatic"] == 2 and folders["INBOX"] == 0
    assert desk.cli("cases", "list", "--format", "json").stdout == ""
    assert desk.messages(newsletter) == []
    assert "Feedback/Complaints" not in folders or folders["Feedback/Complaints"] == 0
    report = desk.cli("report", "--from", "2000-01-01", "--to", "2100-01-01", "--format", "json")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["automatic"] == 2 and doc["total"] == 0


def test_cases_reclassify_from_the_command_line_queues_the_correction(desk: Desk) -> None:
    customer = desk.customer("clifix")
    desk.send(customer, "Спасибо", THANKS_WITH_A_PROBLEM)
    assert desk.cli("once").returncode == 0
    [listed] = desk.cli("cases", "list", "--format", "json").stdout.splitlines()
    cid = json.loads(listed)["id"]
    moved = desk.cli("cases", "reclassify", cid, "complaint", "--by", "olga")
    assert moved.returncode == 0, moved.stderr
    assert "reclassified thanks -> complaint (owner support" in moved.stdout
    assert "a corrected acknowledgment is queued" in moved.stdout
    again = desk.cli("cases", "reclassify", cid, "complaint")
    assert again.returncode == 1 and "already complaint" in again.stderr
    assert desk.cli("once").returncode == 0
    assert [m.subject.split("] ")[1] for m in desk.messages(customer)] == [
        "Спасибо за добрые слова",
        "Уточнение к нашему ответу",
    ]
    case = json.loads(desk.cli("cases", "show", cid, "--format", "json").stdout)
    event = next(e for e in case["events"] if e["what"] == "reclassified")
    assert event["who"] == "cli:olga" and event["data"]["from"] == "thanks"
