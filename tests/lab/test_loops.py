"""Issue #5: no mail loops, no answers to robots, one daemon per store, no secret in a log.

Commands run in this process (`Desk.cli`) where a test is about what they do; the second
daemon is a process of its own.
"""

from __future__ import annotations

import email
import os
import stat
import time
from email.message import EmailMessage

from support import Desk


def vacation_round(desk: Desk, responder: str, answered: set[str], rfc3834: bool) -> int:
    """A vacation responder: answers every message in its INBOX once, like a naive robot."""
    replies = 0
    for msg in desk.messages(responder):
        mid = msg.headers.get("message-id", ("",))[0]
        if mid in answered:
            continue
        answered.add(mid)
        reply = EmailMessage()
        reply["From"], reply["To"] = responder, msg.from_
        reply["Subject"] = f"Re: {msg.subject}"
        reply["In-Reply-To"] = mid
        if rfc3834:
            reply["Auto-Submitted"] = "auto-replied"
        reply.set_content("I am on vacation until Monday.")
        desk.lab.send(reply.as_bytes(), responder, [msg.from_])
        replies += 1
    return replies


def exchange(desk: Desk, rfc3834: bool) -> tuple[int, int]:
    responder = desk.customer("vacation" + ("-rfc" if rfc3834 else "-naive"))
    desk.send(responder, "Question about my order", "Where is my parcel? Thanks.")
    answered: set[str] = set()
    robot_sent = 0
    for _ in range(4):  # bounded number of rounds; a loop would grow each round
        run = desk.cli("once")
        assert run.returncode == 0, run.stderr
        robot_sent += vacation_round(desk, responder, answered, rfc3834)
    return len(desk.messages(responder)), robot_sent


def test_naive_vacation_responder_gets_one_message_and_sends_one(desk: Desk) -> None:
    ours, theirs = exchange(desk, rfc3834=False)
    assert ours == 1  # our acknowledgment; its auto-reply is not answered again
    assert theirs == 1


def test_rfc3834_responder_is_never_answered(desk: Desk) -> None:
    responder = desk.customer("ooo")
    desk.send(
        responder,
        "Automatic reply: hello",
        "Out of office.",
        headers={"Auto-Submitted": "auto-replied"},
    )
    desk.send(
        desk.customer("list"),
        "[list] digest",
        "news",
        headers={"List-Id": "<news.example.test>", "Precedence": "list"},
    )
    desk.send(
        f"MAILER-DAEMON@{desk.customer('mta').split('@')[1]}",
        "Undelivered Mail",
        "This is the mail system. Your message could not be delivered.",
    )
    run = desk.cli("once")
    assert run.returncode == 0, run.stderr
    assert desk.messages(responder) == []
    assert desk.messages(desk.customer("list")) == []
    # Robots open no case: not one mail went out, not even an owner notice.
    assert desk.messages(desk.address, "Sent") == []
    assert desk.folders()["Feedback/Automatic"] == 3


def test_a_second_daemon_on_the_same_store_refuses_to_start(desk: Desk) -> None:
    first = desk.start()
    try:
        desk.wait_holding(first)
        second = desk.feedbackd("once")
        assert second.returncode == 75, second.stderr
        assert "another feedbackd" in second.stderr
        beside = desk.feedbackd("cases", "list")  # the CLI still works beside it
        assert beside.returncode == 0, beside.stderr
    finally:
        first.terminate()
        first.communicate(timeout=15)


def test_secrets_never_reach_the_logs_and_the_store_is_private(desk: Desk) -> None:
    desk.send(desk.customer("secret"), "Жалоба", "Курьер нагрубил, прошу разобраться.")
    run = desk.cli("--log-level", "DEBUG", "once")
    assert run.returncode == 0, run.stderr
    assert desk.lab.password not in run.stderr + run.stdout
    assert "DEBUG" in run.stderr or "INFO" in run.stderr
    assert stat.S_IMODE(os.stat(desk.db).st_mode) == 0o600


def test_untrusted_certificate_is_refused_unless_explicitly_allowed(desk: Desk) -> None:
    env = dict(desk.env)
    env.pop("FEEDBACKD_IMAP_CA_FILE")
    refused = desk.cli("once", env=env)
    assert refused.returncode == 78
    assert "FEEDBACKD_IMAP_CA_FILE" in refused.stderr
    allowed = desk.cli("once", env=dict(env, FEEDBACKD_IMAP_TLS_VERIFY="no"))
    assert allowed.returncode == 0, allowed.stderr


def test_acknowledgment_headers_follow_rfc3834(desk: Desk) -> None:
    customer = desk.customer("headers")
    mid = desk.send(customer, "Спасибо", "Спасибо за помощь!")
    assert desk.cli("once").returncode == 0
    [ack] = desk.messages(customer)
    raw = email.message_from_bytes(ack.obj.as_bytes())
    assert raw["Auto-Submitted"] == "auto-replied"
    assert raw["Precedence"] == "auto_reply"
    assert raw["X-Auto-Response-Suppress"] == "All"
    assert raw["In-Reply-To"] == mid and mid in raw["References"]


def test_failed_polls_alert_the_feedback_center_once(desk: Desk) -> None:
    center = desk.customer("center")
    desk.rules.write_text(desk.rules.read_text().replace("center@example.test", center))
    from daemon.lab.dovecot import free_port

    env = dict(desk.env, FEEDBACKD_IMAP_PORT=str(free_port()))  # nobody listens there
    proc = desk.start(env)
    try:
        for _ in range(150):  # three failed polls take ~3 s (backoff 1 s, 2 s)
            if desk.messages(center):
                break
            time.sleep(0.1)
        time.sleep(3)  # more failures follow; the alert must not repeat
        assert proc.poll() is None, "the daemon exited instead of retrying"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    alerts = desk.messages(center)
    assert [m.subject for m in alerts] == ["feedbackd alert: polls"], err
    assert alerts[0].headers["auto-submitted"] == ("auto-generated",)
    status = desk.cli("status", env=env)
    assert status.returncode == 2 and "failed polls in a row" in status.stdout
