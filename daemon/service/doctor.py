"""`feedbackd doctor`: the admin's "test connection" before going live.

Walks what the daemon will do with its servers, in order, with the daemon's own adapters (the
same TLS, the same login, the same folder layout), so that what passes here is what the
service meets: for IMAP and SMTP each, the name resolved, the port connected, TLS and the
login; then the IMAP server's capabilities, namespace and separator, its \\Sent folder, the
folders rules.yaml needs (mapped to the server's names) and whether IDLE works; and whether the
submission server takes mail from our address (MAIL FROM and RCPT TO ourselves, then RSET).

Read-only towards the mailbox: it creates no folder unless `create_folders` says so, and sends
nothing unless `send_test` names an address. Each problem is one line with what to change
(core/doctor says it); a step that fails ends that server's walk, since what follows needs it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from daemon.adapters.config import load_rulebook
from daemon.adapters.mail.imap import Mailbox
from daemon.adapters.mail.reach import Unreachable, connect, resolve
from daemon.adapters.mail.smtp import Envelope, Sender
from daemon.adapters.settings import Server, Settings
from daemon.core.doctor import (
    Diagnosis,
    Level,
    from_refused,
    moves,
    plan_folders,
    tls_mismatch,
    unreachable,
)
from daemon.core.folders import FolderUnavailable, Role
from daemon.core.mail.compose import Rendered, build_mail, new_message_id, wire
from daemon.core.rules import RuleBook
from daemon.core.triage import QUARANTINE, SENT
from daemon.errors import ConfigError, TransientError

TIMEOUT = 10.0  # seconds for each network step: a doctor answers in seconds, not minutes

IMAP, SMTP = "IMAP", "SMTP"


def diagnose(
    settings: Settings,
    now: datetime,
    send_test: str | None = None,
    create_folders: bool = False,
    timeout: float = TIMEOUT,
    book: RuleBook | None = None,
) -> Diagnosis:
    """Every check, in order; the findings say what was seen and what to fix. The rule book
    (for the folders) is read from the settings' rules file unless given."""
    found = Diagnosis()
    for warning in settings.warnings:
        found.add("settings", Level.NOTE, warning.removeprefix("settings: "))
    book = book or _rules(settings, found)
    folders = _folders_of(book) if book is not None else []
    if _reached(IMAP, settings.imap, found, timeout):
        _imap(settings, folders, create_folders, timeout, found)
    if _reached(SMTP, settings.smtp, found, timeout):
        _smtp(settings, send_test, now, timeout, found)
    return found


def _rules(settings: Settings, found: Diagnosis) -> RuleBook | None:
    try:
        return load_rulebook(settings.rules)
    except ConfigError as exc:
        found.add(
            "rules",
            Level.PROBLEM,
            f"{settings.rules} has {len(exc.problems)} problem(s), the first: "
            f"{exc.problems[0]}; run `feedbackd check` for all of them",
        )
        return None


def _folders_of(book: RuleBook) -> list[str]:
    """The folders the daemon files into: each category's, Quarantine, and Sent."""
    return [*(c.folder for c in book.categories.values()), QUARANTINE, SENT]


def _reached(kind: str, server: Server, found: Diagnosis, timeout: float) -> bool:
    """The name resolves and the port takes a connection; a finding either way."""
    try:
        addresses = resolve(server.host, server.port)
        address = connect(addresses, server.port, timeout)
    except Unreachable as exc:
        line = unreachable(kind, server.host, server.port, exc.reach, exc.detail, timeout)
        found.add(kind, Level.PROBLEM, line)
        return False
    shown = "" if address == server.host else f" ({address})"
    found.add(kind, Level.OK, f"connected to {server.host}:{server.port}{shown}")
    return True


def _imap(
    settings: Settings,
    folders: Iterable[str],
    create: bool,
    timeout: float,
    found: Diagnosis,
) -> None:
    s = settings.imap
    try:
        mailbox = Mailbox(s, timeout=timeout).connect()  # the daemon's own TLS and login
    except ConfigError as exc:  # a certificate, a refused login: the adapter's own line
        found.add(IMAP, Level.PROBLEM, "; ".join(p.message for p in exc.problems))
        return
    except TransientError as exc:
        found.add(IMAP, Level.PROBLEM, tls_mismatch(IMAP, s.tls, s.port, str(exc)))
        return
    try:
        found.add(IMAP, Level.OK, f"logged in as {s.user} ({_tls(s)})")
        found.add(IMAP, Level.NOTE, "capabilities: " + " ".join(sorted(mailbox.capabilities)))
        layout = mailbox.layout
        found.add(
            IMAP,
            Level.NOTE,
            f"namespace: prefix {layout.prefix!r}, separator {layout.separator!r}",
        )
        sent = layout.special.get(Role.SENT)
        if sent:
            found.add(IMAP, Level.OK, f"Sent folder: {sent!r} (marked \\Sent): our copies go there")
        else:
            found.add(
                IMAP,
                Level.NOTE,
                "no folder is marked \\Sent: our copies go to a folder 'Sent' of our own",
            )
        _folders(mailbox, folders, create, found)
        found.add(IMAP, *moves(mailbox.capabilities))
        _idle(mailbox, settings.poll_interval, found)
    finally:
        mailbox.close()


def _folders(mailbox: Mailbox, folders: Iterable[str], create: bool, found: Diagnosis) -> None:
    for plan in plan_folders(folders, mailbox.layout, set(mailbox.folders)):
        if plan.problem:
            found.add(IMAP, Level.PROBLEM, plan.problem)
        elif plan.exists:
            found.add(IMAP, Level.OK, f"folder {plan.folder}: {plan.server_name!r} exists")
        elif not create:
            found.add(
                IMAP,
                Level.NOTE,
                f"folder {plan.folder}: would create {plan.server_name!r} when first needed "
                "(--create-folders creates it now)",
            )
        else:
            try:
                mailbox.ensure_folder(plan.folder)  # the daemon's own CREATE
            except FolderUnavailable as exc:
                found.add(IMAP, Level.PROBLEM, str(exc))
            else:
                found.add(IMAP, Level.OK, f"folder {plan.folder}: created {plan.server_name!r}")


def _idle(mailbox: Mailbox, poll_interval: float, found: Diagnosis) -> None:
    """IDLE issued and its continuation received, then DONE: seconds, not the 29 minutes."""
    if not mailbox.has_idle:
        found.add(
            IMAP,
            Level.NOTE,
            f"no IDLE: feedbackd polls every {poll_interval:g} s (FEEDBACKD_POLL_INTERVAL)",
        )
        return
    began = time.monotonic()
    try:
        mailbox.idle_start()
        mailbox.idle_stop()
    except Exception as exc:  # noqa: BLE001 - any refusal of IDLE is the finding itself
        found.add(
            IMAP,
            Level.PROBLEM,
            f"the server announces IDLE but refused it ({exc}): ask its admin, feedbackd "
            "relies on what the server announces",
        )
        return
    found.add(IMAP, Level.OK, f"IDLE works (answered in {time.monotonic() - began:.2f} s)")


def _smtp(
    settings: Settings, send_test: str | None, now: datetime, timeout: float, found: Diagnosis
) -> None:
    s = settings.smtp
    sender = Sender(s, timeout=timeout, connections=1)
    try:
        try:
            probe = sender.probe(settings.address)  # the daemon's own TLS and login
        except ConfigError as exc:  # a refused login or certificate: the adapter's own line
            found.add(SMTP, Level.PROBLEM, "; ".join(p.message for p in exc.problems))
            return
        except TransientError as exc:
            found.add(SMTP, Level.PROBLEM, tls_mismatch(SMTP, s.tls, s.port, str(exc)))
            return
        found.add(SMTP, Level.OK, f"logged in as {s.user} ({_tls(s)})")
        found.add(SMTP, Level.NOTE, "extensions: " + ", ".join(probe.extensions))
        if probe.refused_at:
            found.add(
                SMTP, Level.PROBLEM, from_refused(settings.address, probe.refused_at, probe.said)
            )
            return
        found.add(
            SMTP,
            Level.OK,
            f"accepts our From <{settings.address}> (MAIL FROM and RCPT TO ourselves, then "
            "RSET: nothing sent)",
        )
        if send_test:
            _send_test(sender, settings.address, send_test, now, found)
    finally:
        sender.close()


def _send_test(sender: Sender, address: str, to: str, now: datetime, found: Diagnosis) -> None:
    mid = new_message_id(address.rpartition("@")[2])
    text = (
        f"This is a test mail from feedbackd on {address} (`feedbackd doctor --send-test`).\n"
        "It shows that the submission server takes and delivers our mail. Nothing to do.\n"
    )
    msg = build_mail(
        sender=address,
        sender_name="feedbackd",
        to=to,
        rendered=Rendered("feedbackd test mail", text),
        message_id=mid,
        now=now,
        automatic=False,
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    try:
        sender.send(Envelope(address, (to,), wire(msg).encode("utf-8")))
    except Exception as exc:  # noqa: BLE001 - PermanentSendError or TransientError: the finding
        found.add(SMTP, Level.PROBLEM, f"the test mail to {to} was not taken: {exc}")
        return
    found.add(SMTP, Level.OK, f"test mail sent to {to} (Message-ID {mid})")


def _tls(server: Server) -> str:
    if server.tls == "plain":
        return "no TLS: loopback"
    checked = "certificate verified" if server.verify else "certificate NOT checked"
    return f"{server.tls}, {checked}"
