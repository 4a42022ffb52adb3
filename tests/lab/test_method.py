"""Issue #18 on the lab: a complaint closed with its outcome by the owner's mail command, the
employee's written explanation (asked, reminded once, given), and "was it solved?" — asked
once, "нет" reopening, "да" recorded — through Dovecot, SMTP and the CLI.

The commands run in this process (`Desk.cli`): these tests are about what the commands and
cycles do, not about the process.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from support import Desk

MSK = ZoneInfo("Europe/Moscow")
COMPLAINT = ("Жалоба на доставку", "Курьер опоздал на пять часов и нагрубил. Прошу разобраться.")


def private_staff(desk: Desk) -> dict[str, str]:
    """Owner addresses of this test's own, so other tests' mail does not mix in."""
    domain = f"staff{desk.customer_n}.test"
    desk.rules.write_text(desk.rules.read_text().replace("@example.test", f"@{domain}"))
    return {k: f"{k}@{domain}" for k in ("center", "support-lead", "legal", "team")}


def show(desk: Desk, cid: str) -> dict:
    out = desk.cli("cases", "show", cid, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def report(desk: Desk, now: datetime) -> dict:
    day = now.date().isoformat()
    out = desk.cli("report", "--from", "2020-01-01", "--to", day, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def once(desk: Desk, now: datetime | None = None) -> None:
    run = desk.cli("once", *(("--now", now.isoformat()) if now else ()))
    assert run.returncode == 0, run.stderr


def reply(desk: Desk, sender: str, to: str, text: str, **headers: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, "Re: feedbackd"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    desk.lab.send(msg.as_bytes(), sender, [to])


def questions(desk: Desk, customer: str) -> list:
    return [m for m in desk.messages(customer) if "решить" in m.text]


def test_close_with_outcome_by_mail_then_was_it_solved(desk: Desk) -> None:
    staff = private_staff(desk)
    anna, boris = desk.customer("anna"), desk.customer("boris")
    desk.send(anna, *COMPLAINT)
    desk.send(boris, "Посылка", "Посылку повредили, коробка разбита, прошу компенсацию.")
    once(desk)
    ids = {
        c["sender"]: c["id"]
        for c in map(json.loads, desk.cli("cases", "list", "--format", "json").stdout.splitlines())
    }
    notice = next(m for m in desk.messages(staff["support-lead"]) if ids[anna] in m.subject)

    # The owner closes Anna's complaint from the mailbox, with verdict, cause and remedy.
    reply(
        desk,
        staff["support-lead"],
        notice.reply_to[0],
        "close justified cause=delivery remedy=certificate\n\n> the notice",
    )
    once(desk)
    case = show(desk, ids[anna])
    assert case["status"] == "closed"
    closed = next(e for e in case["events"] if e["what"] == "closed")
    assert closed["who"] == "support"
    assert (closed["data"]["verdict"], closed["data"]["cause"], closed["data"]["remedy"]) == (
        "justified",
        "delivery",
        "certificate",
    )
    card = desk.cli("cases", "show", ids[anna]).stdout
    assert "verdict=justified" in card and "cause=delivery" in card  # the audit trail
    [asked] = questions(desk, anna)  # one follow-up, in the customer's thread
    assert asked.headers["auto-submitted"] == ("auto-generated",)

    # Boris's case is closed from the CLI, unjustified; he answers "нет": it reopens.
    out = desk.cli("cases", "close", ids[boris], "--verdict", "unjustified", "--cause", "качество")
    assert out.returncode == 0, out.stderr
    wrong = desk.cli("cases", "close", ids[boris], "--verdict", "justified", "--cause", "x")
    assert wrong.returncode == 1 and "delivery" in wrong.stderr  # lists the allowed causes
    once(desk)
    [asked_boris] = questions(desk, boris)
    reply(
        desk,
        boris,
        desk.address,
        "Нет, ничего не решено.",
        In_Reply_To=asked_boris.headers["message-id"][0],
    )
    reply(desk, anna, desk.address, "Да, спасибо!", In_Reply_To=asked.headers["message-id"][0])
    once(desk)
    assert show(desk, ids[boris])["status"] == "open"
    assert any("ничего не решено" in m.text for m in desk.messages(staff["support-lead"]))
    anna_case = show(desk, ids[anna])
    assert anna_case["status"] == "closed"
    assert anna_case["events"][-1]["what"] == "satisfaction"
    assert anna_case["events"][-1]["data"]["answer"] == "yes"

    # Closed a second time: no second follow-up.
    out = desk.cli("cases", "close", ids[boris], "--verdict", "justified")
    assert out.returncode == 0, out.stderr
    once(desk)
    assert len(questions(desk, boris)) == 1

    figures = report(desk, datetime.now(MSK))
    complaint = figures["by"]["category"]["complaint"]
    assert (complaint["justified"], complaint["unjustified"]) == (2, 0)  # Boris's last verdict
    assert (complaint["asked_solved"], complaint["answered_solved"]) == (2, 2)
    assert complaint["satisfied"] == 1 and complaint["satisfaction_pct"] == 50.0
    assert figures["by"]["cause"]["delivery"]["justified"] == 1


def test_an_explanation_asked_reminded_once_and_given(desk: Desk) -> None:
    staff = private_staff(desk)
    employee = f"olga@staff{desk.customer_n}.test"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = desk.customer("ivan"), desk.address, COMPLAINT[0]
    msg["Message-ID"] = f"<explain-{desk.customer_n}@customer.test>"
    msg.set_content(COMPLAINT[1])
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=MSK)
    with desk.lab.mailbox(desk.address) as mb:
        mb.append(msg.as_bytes(), "INBOX", dt=monday)
    once(desk, monday)
    [notice] = desk.messages(staff["support-lead"])
    reply(desk, staff["support-lead"], notice.reply_to[0], f"explain {employee}")
    once(desk, monday + timedelta(minutes=5))
    [request] = desk.messages(employee)
    assert "explain." in request.reply_to[0]
    assert any(a.content_type == "message/rfc822" for a in request.attachments) or (
        "message/rfc822" in request.obj.as_string()
    )  # the complaint as it arrived
    for hours in (24, 48, 50):  # due Thursday 23:59; "1 working day before": Wednesday 09:00
        once(desk, monday + timedelta(hours=hours))
    mails = desk.messages(employee)
    assert len(mails) == 2, [m.subject for m in mails]  # the request and one reminder

    reply(desk, employee, request.reply_to[0], "Курьер попал в пробку и не предупредил клиента.")
    once(desk, monday + timedelta(hours=51))
    cid = notice.subject.split("]")[0].lstrip("[")
    case = show(desk, cid)
    given = next(e for e in case["events"] if e["what"] == "explanation_given")
    assert given["data"]["employee"] == employee and "пробку" in given["data"]["text"]
    assert any("пробку" in m.text for m in desk.messages(staff["support-lead"]))
    figures = report(desk, monday + timedelta(hours=51))
    tally = figures["by"]["category"]["complaint"]
    assert (tally["explanations_asked"], tally["explanations_given"]) == (1, 1)
    status = desk.cli("status", "--format", "json")
    assert json.loads(status.stdout)["explanations_outstanding"] == 0
