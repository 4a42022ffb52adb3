"""`feedbackd doctor` against the real lab: every flavour passes, each kind of mistake is one line.

The doctor must tell the truth about the servers the daemon will meet, so it runs on every
lab flavour (the Sent folder, the separator and prefix, IDLE or not, as each server has them)
and must change nothing there: no folder made, no mail delivered, unless asked. Each mistake an
admin makes (a wrong password, a closed port, a host name that does not exist, a certificate
from a CA we do not know, a From the server will not take) is exactly one PROBLEM line with the
variable to change, and exit 78. The walk runs in-process (`diagnose`) where only its findings
matter, and as the command where the exit status and the printing are the point.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import REPO, Desk

from daemon.adapters.config import load_rulebook
from daemon.adapters.settings import load_settings
from daemon.core.doctor import Diagnosis, Level
from daemon.core.rules import RuleBook
from daemon.lab.dovecot import free_port
from daemon.service.doctor import diagnose

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> RuleBook:
    """The shipped rules (a Desk's are the same less the digest: the same folders), once."""
    return load_rulebook(REPO / "rules.yaml")


def doctor(desk: Desk, book: RuleBook, **options: object) -> Diagnosis:
    change = {k: str(v) for k, v in options.items() if k.startswith("FEEDBACKD_")}
    rest = {k: v for k, v in options.items() if not k.startswith("FEEDBACKD_")}
    settings = load_settings({**desk.env, **change})
    return diagnose(settings, NOW, timeout=5.0, book=book, **rest)  # type: ignore[arg-type]


def texts(found: Diagnosis, level: Level, topic: str = "") -> list[str]:
    return [f.text for f in found.findings if f.level is level and f.topic.startswith(topic)]


def test_every_flavour_passes_and_is_described_as_it_is(
    flavoured_desk: Desk, book: RuleBook
) -> None:
    desk = flavoured_desk
    name = desk.lab.folder
    before = desk.folders()
    found = doctor(desk, book)
    out = "\n".join(map(str, found.findings))
    assert (found.problems, found.exit_code) == ([], 0), out
    flavour = desk.lab.flavour
    assert f"namespace: prefix {flavour.prefix!r}, separator {flavour.separator!r}" in out
    assert f"Sent folder: {name('Sent')!r} (marked \\Sent)" in out
    assert f"folder Feedback/Thanks: would create {name('Feedback/Thanks')!r}" in out
    if flavour.capability:  # minimal: no IDLE announced
        assert "no IDLE: feedbackd polls every 30 s (FEEDBACKD_POLL_INTERVAL)" in out
        assert "filing: no MOVE, no UIDPLUS" in out
    else:
        assert "IDLE works" in out and "filing: UID MOVE" in out
    assert f"accepts our From <{desk.address}>" in out
    # Read-only: no folder made, nothing delivered (RCPT to ourselves was followed by RSET).
    assert desk.folders() == before
    assert desk.messages(desk.address) == []


def test_create_folders_makes_them_in_the_servers_layout(
    labs: object, tmp_path: Path, book: RuleBook
) -> None:
    desk = Desk(labs["maildir-dots"], tmp_path)  # type: ignore[index]  # conftest's Labs
    found = doctor(desk, book, create_folders=True)
    assert found.problems == []
    assert "folder Feedback/Thanks: created 'INBOX.Feedback.Thanks'" in texts(found, Level.OK)
    assert "INBOX.Feedback.Thanks" in desk.folders()
    again = doctor(desk, book)
    assert "folder Feedback/Thanks: 'INBOX.Feedback.Thanks' exists" in texts(again, Level.OK)


def test_a_folder_the_server_refuses_to_create_is_one_line(desk: Desk) -> None:
    rules = desk.rules.read_text(encoding="utf-8")
    long = "Feedback/" + "x" * 300  # "Mailbox name too long"
    desk.rules.write_text(rules.replace("folder: Feedback/Complaints", f"folder: {long}"))
    found = doctor(desk, load_rulebook(desk.rules), create_folders=True)
    [line] = [f.text for f in found.problems]
    assert line.startswith(f"cannot use folder '{long}'") and "Mailbox name too long" in line
    assert line.endswith("change the folder's name in rules.yaml")
    assert "folder Feedback/Thanks: created 'Feedback/Thanks'" in texts(found, Level.OK)


def test_send_test_sends_one_real_mail(desk: Desk, book: RuleBook) -> None:
    admin = desk.customer("admin")
    found = doctor(desk, book, send_test=admin)
    assert found.problems == []
    [mail] = desk.messages(admin)
    assert mail.subject == "feedbackd test mail" and mail.from_ == desk.address
    assert desk.messages(desk.address) == []  # no copy of ours: it is no daemon mail


def test_a_closed_smtp_port_is_one_line(desk: Desk, book: RuleBook) -> None:
    found = doctor(desk, book, FEEDBACKD_SMTP_PORT=free_port())
    [line] = [f.text for f in found.problems]
    assert "refused the connection (nothing listens there)" in line
    assert "FEEDBACKD_SMTP_PORT" in line
    assert texts(found, Level.OK, "IMAP")  # IMAP is fine and says so


def test_a_host_name_that_does_not_exist_is_one_line(desk: Desk, book: RuleBook) -> None:
    """RFC 6761: a name under .invalid never resolves, and is never asked of a DNS server."""
    found = doctor(desk, book, FEEDBACKD_IMAP_HOST="imap.feedback.invalid")
    [line] = [f.text for f in found.problems]
    assert line.startswith("IMAP host imap.feedback.invalid is not found in DNS")
    assert line.endswith("check FEEDBACKD_IMAP_HOST for a typo")


def test_an_untrusted_certificate_is_one_line_naming_the_ca_setting(
    desk: Desk, book: RuleBook
) -> None:
    found = doctor(desk, book, FEEDBACKD_IMAP_CA_FILE="", FEEDBACKD_SMTP_CA_FILE="")
    lines = [f.text for f in found.problems]
    assert len(lines) == 2, lines
    imap, smtp = lines
    assert "certificate not trusted (self-signed certificate)" in imap
    assert imap.endswith("set FEEDBACKD_IMAP_CA_FILE to the CA that signed it")
    assert smtp.endswith("set FEEDBACKD_SMTP_CA_FILE to the CA that signed it")


def test_a_from_the_server_refuses_is_one_line(desk: Desk, book: RuleBook) -> None:
    handler = desk.lab._smtp.handler  # type: ignore[union-attr]
    handler.reject_from[desk.address] = "553 5.7.1 Sender address rejected: not owned by user"
    try:
        found = doctor(desk, book)
    finally:
        handler.reject_from.clear()
    [line] = [f.text for f in found.problems]
    assert f"SMTP refuses our From <{desk.address}> (MAIL FROM: 553 5.7.1" in line
    assert "FEEDBACKD_ADDRESS" in line


def test_a_wrong_imap_password_is_one_line_and_exit_78(desk: Desk) -> None:
    """Through the command: the printed line and the exit status. Last in this file: Dovecot
    slows the logins from an address for a while after a failed one."""
    done = desk.feedbackd("doctor", env=dict(desk.env, FEEDBACKD_IMAP_PASSWORD="not-it-at-all"))
    assert done.returncode == 78, done.stdout + done.stderr
    [line] = [ln for ln in done.stdout.splitlines() if "PROBLEM" in ln]
    assert line.startswith("IMAP ") and "IMAP login as" in line and "refused" in line
    assert "FEEDBACKD_IMAP_USER and the password" in line
    assert "not-it-at-all" not in done.stdout + done.stderr
    assert f"accepts our From <{desk.address}>" in done.stdout  # SMTP is still checked
