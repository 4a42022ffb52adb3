"""A refused login on the real Dovecot: a person must fix the password, so `once` says so and
exits 78, while the running service keeps retrying with backoff and mails the feedback center
an `auth` alert (the password may be fixed on the server's side)."""

from __future__ import annotations

import time

from support import Desk


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
