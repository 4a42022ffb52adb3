"""Issue #5: servers go away and come back; the daemon waits, never exits, loses nothing."""

from __future__ import annotations

import contextlib
import imaplib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from support import REPO, LogLines, started_lab

from daemon.lab.dovecot import MailLab

FEEDBACK = "feedback@outage.test"


@pytest.fixture
def own_lab() -> Iterator[MailLab]:
    """A lab of its own: this test stops its servers, which must not disturb other tests."""
    lab = started_lab()
    yield lab
    lab.stop()


def mail(sender: str, n: int) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, FEEDBACK, f"Спасибо {n}"
    m["Message-ID"] = f"<outage-{n}@customer.test>"
    m.set_content("Спасибо за отличный сервис!")
    return m.as_bytes()


def acks(lab: MailLab, user: str) -> int:
    with lab.mailbox(user) as mb:
        return len(list(mb.fetch(mark_seen=False, headers_only=True)))


def wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 5)):
        if predicate():
            return True
        time.sleep(0.2)
    return False


def inbox(lab: MailLab) -> int:
    with lab.mailbox(FEEDBACK) as mb:
        return int(mb.folder.status("INBOX", ["MESSAGES"])["MESSAGES"])


def test_imap_and_smtp_outages_during_a_run(own_lab: MailLab, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    shipped = re.sub(r"(?ms)^digest:\n(  .*?\n)+", "", (REPO / "rules.yaml").read_text())
    rules.write_text(
        shipped.replace("retry_first: 30s", "retry_first: 1s").replace(
            "retry_max: 1h", "retry_max: 2s"
        )
    )
    env = dict(
        os.environ, **own_lab.env(FEEDBACK, tmp_path / "store.json"), FEEDBACKD_RULES=str(rules)
    )
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "daemon", "run"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = LogLines(proc)
    try:
        assert wait_for(lambda: log.count(" started: ") == 1, 20), log.lines
        own_lab.deliver(mail("a@customer.test", 1), FEEDBACK)
        assert wait_for(lambda: acks(own_lab, "a@customer.test") == 1, 10)

        # IMAP down: the daemon backs off and waits; nothing arrives meanwhile (the MTA queues).
        # Two failed reconnects, the second after a longer pause, show the backoff (a fixed
        # sleep of 8 s proved less and cost the next retry's 8 s more).
        trouble = log.count("mail server trouble")
        own_lab.stop_imap()
        assert wait_for(lambda: log.count("mail server trouble") >= trouble + 2, 20), log.lines
        assert proc.poll() is None, "the daemon exited while IMAP was down"
        assert log.count("mail server trouble, retrying in 2s") >= 1, log.lines  # backed off
        own_lab.start_imap()
        own_lab.deliver(mail("b@customer.test", 2), FEEDBACK)
        assert wait_for(lambda: acks(own_lab, "b@customer.test") == 1, 20)

        # SMTP down: mail is taken in and filed; acknowledgments wait in the outbox. Filed
        # (moved out of INBOX) means their acknowledgments were tried: a move comes after the
        # send.
        own_lab.stop_smtp()
        own_lab.deliver(mail("c@customer.test", 3), FEEDBACK)
        own_lab.deliver(mail("d@customer.test", 4), FEEDBACK)
        assert wait_for(lambda: inbox(own_lab) == 0, 20)
        assert proc.poll() is None, "the daemon exited while SMTP was down"
        assert acks(own_lab, "c@customer.test") == 0
        own_lab.start_smtp()
        assert wait_for(
            lambda: acks(own_lab, "c@customer.test") == 1 and acks(own_lab, "d@customer.test") == 1,
            20,
        )
        time.sleep(2)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    err = log.text()
    assert proc.returncode == 0, err
    for user in ("a", "b", "c", "d"):
        assert acks(own_lab, f"{user}@customer.test") == 1, f"{user}: not exactly one ack"
    listing = subprocess.run(
        [sys.executable, "-m", "daemon", "cases", "list", "--format", "json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert len(listing.stdout.splitlines()) == 4
    with own_lab.mailbox(FEEDBACK) as mb:
        left = mb.folder.status("INBOX", ["MESSAGES"])["MESSAGES"]
    assert left == 0, err
    assert "retrying" in err or "will retry" in err


def test_stopping_imap_ends_the_sessions_of_its_clients_too(own_lab: MailLab) -> None:
    """The lab's outage is the server's: a client idling on it is told at once, as by a server
    that goes down, not ten seconds later by an imap process that outlived its master."""
    client = imaplib.IMAP4_SSL("127.0.0.1", own_lab.ports.imaps, ssl_context=own_lab.ssl_context())
    client.login("idler@outage.test", own_lab.password)
    client.select("INBOX")
    client.send(b"A1 IDLE\r\n")
    assert client.readline().startswith(b"+")
    started = time.monotonic()
    own_lab.stop_imap()
    client.sock.settimeout(20)
    with contextlib.suppress(OSError):  # a reset ends it as well as a clean close
        while client.sock.recv(4096):  # until the server closes the connection
            pass
    assert time.monotonic() - started < 3, "the session outlived the server"
