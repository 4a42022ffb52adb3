"""Issue #4 on the lab: the reminder ladder over simulated days, answers, commands, threads.

The commands run in this process (`Desk.cli`): these tests are about what the cycles decide
and send, not about the process; its start-up would be most of their time (60 cycles).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from support import Desk

MSK = ZoneInfo("Europe/Moscow")
CLAIM = (
    "Претензия",
    "ПРЕТЕНЗИЯ. В соответствии с Законом «О защите прав потребителей» "
    "требую вернуть деньги за товар в течение 10 дней, иначе обращусь в суд.",
)


def private_staff(desk: Desk) -> dict[str, str]:
    """Owner addresses of this test's own, so other tests' mail does not mix in."""
    domain = f"staff{desk.customer_n}.test"
    desk.rules.write_text(desk.rules.read_text().replace("@example.test", f"@{domain}"))
    return {k: f"{k}@{domain}" for k in ("center", "support-lead", "legal", "team")}


def case_doc(desk: Desk) -> dict:
    out = desk.cli("cases", "list", "--format", "json")
    return json.loads(out.stdout.splitlines()[-1])


def show(desk: Desk, cid: str) -> dict:
    return json.loads(desk.cli("cases", "show", cid, "--format", "json").stdout)


def test_reminder_ladder_over_simulated_days(desk: Desk) -> None:
    staff = private_staff(desk)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = desk.customer("claimant"), desk.address, CLAIM[0]
    msg["Message-ID"] = "<claim-ladder@customer.test>"
    msg.set_content(CLAIM[1])
    received = datetime(2025, 4, 28, 10, 0, tzinfo=MSK)
    with desk.lab.mailbox(desk.address) as mb:
        mb.append(msg.as_bytes(), "INBOX", dt=received)
    day = received
    for _ in range(20):  # 28 April .. 17 May, cycles at 10:00, 17:00 and 19:00 (after hours)
        for hour in (10, 17, 19):
            run = desk.cli("once", "--now", day.replace(hour=hour).isoformat())
            assert run.returncode == 0, run.stderr
        if day.date().isoformat() == "2025-05-15":
            cid = case_doc(desk)["id"]
            assert desk.cli("cases", "close", cid).returncode == 0
        day += timedelta(days=1)
    case = show(desk, case_doc(desk)["id"])
    assert case["due"].startswith("2025-05-12T23:59:59")
    rungs = [
        (e["at"], e["what"], e["data"]["key"])
        for e in case["events"]
        if e["what"] in ("reminder_sent", "escalated")
    ]
    keys = [k for _, _, k in rungs]
    assert len(keys) == len(set(keys)), "a rung was sent twice"
    closed_at = next(e["at"] for e in case["events"] if e["what"] == "closed")
    assert all(at < closed_at for at, _, _ in rungs), "reminders after closing"
    assert all(datetime.fromisoformat(at).astimezone(MSK).hour < 18 for at, _, _ in rungs)
    assert {"at:50%", "before:2wd", "due", "escalate"} <= set(keys), rungs
    # Days off are skipped: nothing on the May holidays 1-4 and 8-11 (art. 112 moves).
    days = {datetime.fromisoformat(at).astimezone(MSK).date().isoformat() for at, _, _ in rungs}
    assert not days & {
        "2025-05-01",
        "2025-05-02",
        "2025-05-03",
        "2025-05-04",
        "2025-05-08",
        "2025-05-09",
        "2025-05-10",
        "2025-05-11",
    }
    owner_mails = [m for m in desk.messages(staff["legal"]) if "[" in m.subject]
    reminders_to_legal = sum(1 for _, what, _ in rungs if what == "reminder_sent")
    assert len(owner_mails) == 1 + reminders_to_legal  # the new-case notice + each rung once
    escalations = [m for m in desk.messages(staff["center"]) if case["id"] in m.subject]
    assert len(escalations) == 1  # the escalation, once
    alerts = [m.subject for m in desk.messages(staff["center"]) if "alert" in m.subject]
    assert alerts == ["feedbackd alert: silence"]  # no mail for days: said once, not daily


def test_answer_commands_and_threads(desk: Desk) -> None:
    staff = private_staff(desk)
    customer = desk.customer("thread")
    original = desk.send(
        customer,
        "Жалоба на доставку",
        "Курьер опоздал на пять часов и нагрубил. Прошу разобраться.",
    )
    assert desk.cli("once").returncode == 0
    cid = case_doc(desk)["id"]
    [notice] = desk.messages(staff["support-lead"])
    token_address = notice.reply_to[0]
    assert token_address.startswith(desk.address.split("@")[0] + "+" + cid)
    assert (
        any(a.content_type == "message/rfc822" for a in notice.attachments)
        or "message/rfc822" in notice.obj.as_string()
    )

    # The customer writes again: the same case, the owner told, no second acknowledgment.
    [ack] = desk.messages(customer)
    desk.send(
        customer,
        f"Re: {ack.subject}",
        "Добавлю: заказ № 5521.",
        headers={"In-Reply-To": ack.headers["message-id"][0]},
    )
    assert desk.cli("once").returncode == 0
    assert (
        len(
            json.loads(
                "["
                + ",".join(desk.cli("cases", "list", "--format", "json").stdout.splitlines())
                + "]"
            )
        )
        == 1
    )
    assert len(desk.messages(customer)) == 1
    assert any("5521" in m.text for m in desk.messages(staff["support-lead"]))

    # A forged command: right token, a customer's From. Refused, and the forger hears nothing.
    desk.send(customer, "Re: notice", "close\n", headers={"Cc": token_address})
    # A command from the owner without the token: refused, with the reason.
    desk.send(staff["support-lead"], "Re: notice", "close\n")
    assert desk.cli("once").returncode == 0
    assert show(desk, cid)["status"] == "open"

    # The owner answers the customer with the case's answer address (the notice's link) in Cc.
    answer_cc = unquote(re.search(r"\?cc=([^&\s]+)", notice.text).group(1))  # type: ignore[union-attr]
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Cc"] = staff["support-lead"], customer, answer_cc
    reply["Subject"], reply["In-Reply-To"] = "Re: Жалоба на доставку", original
    reply.set_content("Приносим извинения, курьер наказан, стоимость доставки возвращена.")
    desk.lab.send(reply.as_bytes(), staff["support-lead"], [customer, answer_cc])
    assert desk.cli("once").returncode == 0
    case = show(desk, cid)
    assert case["status"] == "answered"
    answered = next(e for e in case["events"] if e["what"] == "answered")
    assert answered["who"] == staff["support-lead"] and answered["data"]["answered_at"]

    # The owner closes it by mail, through the token address of the notice.
    command = EmailMessage()
    command["From"], command["To"], command["Subject"] = staff["support-lead"], token_address, "Re"
    command.set_content("close\n\n> quoted notice text")
    desk.lab.send(command.as_bytes(), staff["support-lead"], [token_address])
    assert desk.cli("once").returncode == 0
    case = show(desk, cid)
    assert case["status"] == "closed"
    assert [e["who"] for e in case["events"] if e["what"] == "closed"] == ["support"]
    replies = [m.subject for m in desk.messages(staff["support-lead"])]
    assert len(replies) >= 3  # notice, joined notice, refusal and confirmation among them
