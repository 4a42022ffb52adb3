"""OAuth2 on the real lab (issue #15): the feedback mailbox logs in to Dovecot (oauth2 passdb)
and to the lab SMTP server with SASL XOAUTH2 only, every token checked at the lab's own
authorization server on loopback HTTPS, whose access tokens live a few seconds and whose
refresh tokens rotate on every use (the one presented never works again).

The three-message flow runs on this flavour too (tests/lab/test_flow.py, `oauth2`); here:
tokens expiring under `run`, the rotated refresh token across a restart, client_credentials,
a revoked consent, `feedbackd oauth2 authorize` (device flow, browser sign-in), a token
refused at login, and no secret in any log. The refused login comes last: Dovecot then delays
later logins from 127.0.0.1 for seconds (its auth penalty), longer than a lab token lives.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import REPO, Desk

from daemon.lab.dovecot import OAUTH2_LIFETIME, MailLab
from daemon.lab.oauth2 import TokenLab

THANKS = ("Спасибо!", "Спасибо за быструю доставку, всё отлично, благодарю команду!")


@pytest.fixture
def oauth_desk(labs: object, tmp_path: Path) -> Desk:
    return Desk(labs["oauth2"], tmp_path)  # type: ignore[index]  # conftest's Labs


def server(desk: Desk) -> TokenLab:
    assert desk.lab.oauth is not None
    return desk.lab.oauth


def used_by(desk: Desk) -> list[str]:
    """The access tokens of this desk's mailbox that a server checked at a login, in order."""
    oauth = server(desk)
    with oauth.lock:
        return [
            t
            for t in dict.fromkeys(oauth.record.introspected)
            if t in oauth.access and oauth.access[t].user == desk.address
        ]


def presented_by(desk: Desk) -> list[str]:
    oauth = server(desk)
    client = desk.env["FEEDBACKD_OAUTH2_CLIENT_ID"]
    with oauth.lock:
        return [
            t
            for t in oauth.record.presented
            if t in oauth.refresh and oauth.refresh[t].client_id == client
        ]


def wait_for(found: object, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds:.0f} s")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return err


def test_run_acknowledges_five_messages_across_token_expiries(oauth_desk: Desk) -> None:
    desk = oauth_desk
    configured = desk.env["FEEDBACKD_OAUTH2_REFRESH_TOKEN"]
    proc = desk.start(dict(desk.env, FEEDBACKD_LOG_LEVEL="DEBUG"))
    customers = [desk.customer(f"five{i}") for i in range(5)]
    try:
        for customer in customers:
            desk.send(customer, *THANKS)
            wait_for(lambda c=customer: desk.messages(c))  # type: ignore[misc]
            time.sleep(OAUTH2_LIFETIME / 3)  # five messages span several token lifetimes
        assert proc.poll() is None, "the daemon exited"
    finally:
        err = stop(proc)
    for customer in customers:
        assert len(desk.messages(customer)) == 1, customer
    # At least two expiries: three or more access tokens, each refresh with a new refresh
    # token, none presented twice.
    print(f"\n{len(used_by(desk))} access tokens used, {len(presented_by(desk))} refreshes")
    assert len(used_by(desk)) >= 3, used_by(desk)
    presented = presented_by(desk)
    assert len(presented) >= 3 and len(set(presented)) == len(presented)
    assert presented[0] == configured
    # No token or secret in the log, not even at DEBUG.
    oauth = server(desk)
    with oauth.lock:
        tokens = [*oauth.access, *oauth.refresh]
    for secret in (*tokens, desk.env["FEEDBACKD_OAUTH2_CLIENT_SECRET"]):
        assert secret not in err
    assert "OAuth2" in err  # the rotation is told, without the token


def test_after_a_restart_the_rotated_refresh_token_is_used_and_the_old_never_again(
    oauth_desk: Desk,
) -> None:
    desk = oauth_desk
    configured = desk.env["FEEDBACKD_OAUTH2_REFRESH_TOKEN"]
    desk.send(desk.customer("first"), *THANKS)
    assert desk.feedbackd("once").returncode == 0
    kept = Path(f"{desk.db}.oauth2")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert configured not in kept.read_text()
    desk.send(desk.customer("second"), *THANKS)
    again = desk.feedbackd("once")  # a new process: only the file knows the rotated token
    assert again.returncode == 0, again.stderr
    assert len(desk.messages(desk.customer("second"))) == 1
    presented = presented_by(desk)
    assert presented.count(configured) == 1, "the superseded refresh token was sent again"
    assert len(presented) == 2 and len(set(presented)) == 2
    assert server(desk).live_refresh_tokens(desk.address)  # the chain goes on


def test_client_credentials_needs_no_refresh_token(oauth_desk: Desk) -> None:
    desk = oauth_desk
    env = {k: v for k, v in desk.env.items() if k != "FEEDBACKD_OAUTH2_REFRESH_TOKEN"}
    env.update(desk.lab.oauth2_env(desk.address, grant="client_credentials"))
    customer = desk.customer("app")
    desk.send(customer, *THANKS)
    done = desk.feedbackd("once", env=env)
    assert done.returncode == 0, done.stderr
    assert len(desk.messages(customer)) == 1
    assert presented_by(desk) == []  # no refresh token in this grant
    assert "client_credentials" in server(desk).record.grants
    assert used_by(desk)


def test_a_revoked_consent_is_one_clear_line_status_critical_and_an_alert(
    oauth_desk: Desk,
) -> None:
    """The running daemon retries, but never sends the dead refresh token again (a new consent
    is taken up without a restart: tests/unit/adapters/test_oauth2.py)."""
    desk = oauth_desk
    center = desk.customer("center")
    desk.rules.write_text(desk.rules.read_text().replace("center@example.test", center))
    # Sending with a password here, so the alert can go out while the consent is revoked.
    env = dict(desk.env, FEEDBACKD_SMTP_AUTH="password", FEEDBACKD_SMTP_PASSWORD=MailLab.password)
    assert desk.feedbackd("once", env=env).returncode == 0
    server(desk).revoke_user(desk.address)

    once = desk.feedbackd("once", env=env)
    assert once.returncode == 78
    [line] = once.stderr.strip().splitlines()
    assert "invalid_grant" in line and "feedbackd oauth2 authorize" in line, line
    dead = presented_by(desk)[-1]

    proc = desk.start(env)
    try:
        wait_for(lambda: desk.messages(center), 30)
        assert proc.poll() is None, "the daemon exited instead of retrying"
        status = desk.feedbackd("status", env=env)
    finally:
        err = stop(proc)
    assert err.count("retrying in") >= 3
    assert presented_by(desk).count(dead) == 2  # by `once`, and by the daemon only once
    assert status.returncode == 2, status.stdout
    assert "invalid_grant" in status.stdout
    alerts = desk.messages(center)
    assert [m.subject for m in alerts] == ["feedbackd alert: auth"], err
    assert "oauth2 authorize" in alerts[0].text
    told = [ln for ln in err.splitlines() if "invalid_grant" in ln]
    assert told and all("Traceback" not in ln for ln in told)


def read_line(proc: subprocess.Popen[str], containing: str, seconds: float = 20) -> str:
    """The first line of the command's output with `containing`; the command is killed when
    none comes within `seconds` (lines are read one by one: a select on the pipe would not see
    lines already buffered)."""
    assert proc.stdout is not None
    watchdog = threading.Timer(seconds, proc.kill)
    watchdog.start()
    try:
        for line in iter(proc.stdout.readline, ""):
            if containing in line:
                return line
    finally:
        watchdog.cancel()
    raise AssertionError(f"no line with {containing!r}")


def authorize(desk: Desk, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daemon",
            "oauth2",
            "authorize",
            "--device-url",
            server(desk).url + "/device",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_authorize_runs_the_device_flow_and_the_daemon_uses_its_token(oauth_desk: Desk) -> None:
    desk = oauth_desk
    env = {k: v for k, v in desk.env.items() if k != "FEEDBACKD_OAUTH2_REFRESH_TOKEN"}
    refused = desk.feedbackd("once", env=env)
    assert refused.returncode == 78 and "oauth2 authorize" in refused.stderr

    proc = authorize(desk, env)
    shown = read_line(proc, "enter the code")
    code = shown.split()[-1]
    time.sleep(1.5)  # a poll or two answered authorization_pending
    server(desk).approve(code, desk.address)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Signed in" in out
    kept = Path(f"{desk.db}.oauth2")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600

    customer = desk.customer("device")
    desk.send(customer, *THANKS)
    done = desk.feedbackd("once", env=env)
    assert done.returncode == 0, done.stderr
    assert len(desk.messages(customer)) == 1


def test_authorize_declined_keeps_nothing(oauth_desk: Desk) -> None:
    desk = oauth_desk
    env = {k: v for k, v in desk.env.items() if k != "FEEDBACKD_OAUTH2_REFRESH_TOKEN"}
    proc = authorize(desk, env)
    code = read_line(proc, "enter the code").split()[-1]
    server(desk).deny(code)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 78
    [line] = err.strip().splitlines()
    assert "access_denied" in line
    assert not os.path.exists(f"{desk.db}.oauth2")


@pytest.mark.parametrize("answer", ["redirect", "pasted"])
def test_authorize_in_a_browser_caught_on_loopback_or_pasted(oauth_desk: Desk, answer: str) -> None:
    """Google's way (its device flow offers no mail scope): a browser signs in and is sent
    back to this host; where that browser runs elsewhere, the admin pastes the address."""
    import urllib.request

    desk = oauth_desk
    env = {k: v for k, v in desk.env.items() if k != "FEEDBACKD_OAUTH2_REFRESH_TOKEN"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daemon",
            "oauth2",
            "authorize",
            "--browser",
            "--auth-url",
            server(desk).url + "/authorize",
        ],
        env=env,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = read_line(proc, server(desk).url + "/authorize").strip()
    assert "code_challenge_method=S256" in url
    back = server(desk).sign_in(url, desk.address)
    if answer == "redirect":
        with urllib.request.urlopen(back, timeout=10) as page:  # the browser follows it
            assert b"signed in" in page.read()
        out, err = proc.communicate(timeout=30)
    else:
        out, err = proc.communicate(back + "\n", timeout=30)
    assert proc.returncode == 0, err
    assert "Signed in" in out and "code-" not in out + err
    customer = desk.customer(f"browser-{answer}")
    desk.send(customer, *THANKS)
    done = desk.feedbackd("once", env=env)
    assert done.returncode == 0, done.stderr
    assert len(desk.messages(customer)) == 1


def test_a_token_refused_at_login_is_renewed_and_the_login_tried_once_more(
    oauth_desk: Desk,
) -> None:
    """A token revoked before its time (an admin's "sign out everywhere", a clock that
    disagrees): the server's refusal gets one more login with a fresh token, IMAP and SMTP.

    Tokens live 30 s here: after a refused login Dovecot delays the next one from the same
    address by seconds (its auth penalty), longer than the lab's usual token lifetime."""
    from daemon.adapters.mail.imap import Mailbox
    from daemon.adapters.mail.smtp import Envelope, Sender
    from daemon.adapters.settings import load_settings

    desk = oauth_desk
    settings = load_settings({k: v for k, v in desk.env.items() if k.startswith("FEEDBACKD_")})
    lifetime, server(desk).lifetime = server(desk).lifetime, 30.0
    try:
        Mailbox(settings.imap).connect().close()
        [first] = used_by(desk)
        server(desk).revoke(first)  # still cached by this process as good for seconds

        mailbox = Mailbox(settings.imap).connect()
        mailbox.close()
        sender = Sender(settings.smtp)
        try:
            mail = b"Subject: ping\r\n\r\nping\r\n"
            sent = sender.send_many([Envelope(desk.address, (desk.customer("ping"),), mail)])
            assert sent == [None]
        finally:
            sender.close()
    finally:
        server(desk).lifetime = lifetime
    used = used_by(desk)
    assert len(used) == 2 and used[0] == first  # refused once, then one fresh token for both
    assert len(desk.messages(desk.customer("ping"))) == 1
