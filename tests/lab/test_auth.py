"""A refused login on the real Dovecot: a person must fix the password, so `once` says so and
exits 78, while the running service keeps retrying with backoff and mails the feedback center
an `auth` alert (the password may be fixed on the server's side). A login the lab's SMTP server
refuses is the same kind of thing: one line, `status` critical, the mail waiting in the outbox
until the password is fixed, and no second failed login within the backoff."""

from __future__ import annotations

import time
from typing import Any

import pytest
from support import Desk

from daemon.adapters.mail.smtp import Envelope, Sender
from daemon.adapters.settings import load_settings
from daemon.errors import AuthRefused
from daemon.lab import smtp as lab_smtp


def test_once_with_a_wrong_password_exits_78_with_one_line(desk: Desk) -> None:
    done = desk.feedbackd("once", env=dict(desk.env, FEEDBACKD_IMAP_PASSWORD="wrong"))
    assert done.returncode == 78, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "IMAP login as" in line and "refused" in line and "wrong" not in line


def test_run_with_a_wrong_password_retries_and_alerts_auth_once(desk: Desk) -> None:
    center = desk.customer("center")
    desk.rules.write_text(desk.rules.read_text().replace("center@example.test", center))
    env = dict(desk.env, FEEDBACKD_IMAP_PASSWORD="wrong")
    proc = desk.start(env)
    try:
        for _ in range(150):  # three refused logins take ~3 s (backoff 1 s, 2 s)
            if desk.messages(center):
                break
            time.sleep(0.1)
        time.sleep(3)  # more refusals follow; the alert must not repeat
        assert proc.poll() is None, "the daemon exited instead of retrying"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    alerts = desk.messages(center)
    assert [m.subject for m in alerts] == ["feedbackd alert: auth"], err
    assert "refuses our login" in alerts[0].text


def test_a_refused_smtp_login_is_one_line_status_critical_and_the_mail_waits_for_the_fix(
    desk: Desk,
) -> None:
    """Issue #15: a wrong SMTP password read as `0 sent, 3 deferred`, exit 0, status OK."""
    center = desk.customer("center")
    desk.rules.write_text(desk.rules.read_text().replace("center@example.test", center))
    customers = [desk.customer(f"smtp{i}") for i in range(2)]
    for customer in customers:
        desk.send(customer, "Broken parcel", "My order arrived broken. I want a refund.")
    wrong = dict(desk.env, FEEDBACKD_SMTP_PASSWORD="not-the-password")

    first = desk.feedbackd("once", env=wrong)
    assert first.returncode == 78, first.stderr
    # One line says what is wrong and what to do (the alert's own log line quotes it).
    [told] = [ln for ln in first.stderr.splitlines() if "login as" in ln and "alert" not in ln]
    assert "SMTP login as" in told and "refused" in told and "535" in told, told
    assert "FEEDBACKD_SMTP_USER and the password" in told and "wait in the outbox" in told
    assert "not-the-password" not in first.stderr + first.stdout
    assert "0 mails sent, 2 filed, 4 waiting: the SMTP server refuses our login" in first.stdout
    status = desk.feedbackd("status", env=wrong)
    assert status.returncode == 2, status.stdout
    assert "SMTP login as" in status.stdout
    assert [desk.messages(c) for c in customers] == [[], []]

    fixed = desk.feedbackd("once")
    assert fixed.returncode == 0, fixed.stderr
    assert [len(desk.messages(c)) for c in customers] == [1, 1]  # nothing dropped, sent once
    alerts = [m.subject for m in desk.messages(center) if m.subject.startswith("feedbackd alert")]
    assert alerts == ["feedbackd alert: smtp-auth"]  # queued meanwhile, it went out with them
    after = desk.feedbackd("status")
    assert "SMTP login" not in after.stdout and after.returncode != 2, after.stdout


def test_a_refused_smtp_login_is_not_tried_again_at_once(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Providers lock an account after a run of failed logins: a batch over several
    connections costs one failed login, and the next batch, within the backoff, none."""
    tried: list[str] = []
    check = lab_smtp._Auth.__call__

    def counted(self: lab_smtp._Auth, *args: Any) -> Any:
        tried.append(args[-2])  # the mechanism
        return check(self, *args)

    monkeypatch.setattr(lab_smtp._Auth, "__call__", counted)
    settings = load_settings(dict(desk.env, FEEDBACKD_SMTP_PASSWORD="not-the-password"))
    sender = Sender(settings.smtp)
    mail = Envelope(desk.address, (desk.customer("x"),), b"Subject: x\r\n\r\nx\r\n")
    try:
        first = sender.send_many([mail] * 6)
        logins = len(tried)
        again = sender.send_many([mail] * 6)
    finally:
        sender.close()
    assert all(isinstance(r, AuthRefused) for r in first + again)
    assert 1 <= logins <= 2  # one login: aiosmtplib tries LOGIN, then PLAIN
    assert len(tried) == logins  # none in the second batch
    assert sender.login_refused and "535" in sender.login_refused
