"""TLS for IMAP and SMTP alike, and the adapters' independence from each other."""

from __future__ import annotations

import ast
import ssl

from support import REPO

from daemon.adapters.mail.imap import Mailbox
from daemon.adapters.mail.tls import tls_context
from daemon.adapters.settings import Secret, Server


def server(verify: bool = True) -> Server:
    return Server("127.0.0.1", 1, "u", Secret("p"), "starttls", None, verify)


def test_certificates_are_checked_unless_explicitly_turned_off() -> None:
    strict = tls_context(server())
    assert strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    lax = tls_context(server(verify=False))
    assert lax.verify_mode == ssl.CERT_NONE and not lax.check_hostname


def test_the_smtp_adapter_does_not_import_the_imap_adapter() -> None:
    tree = ast.parse((REPO / "daemon/adapters/mail/smtp.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "daemon.adapters.mail.tls" in imported
    assert "daemon.adapters.mail.imap" not in imported


def test_a_mailbox_says_whether_it_is_connected() -> None:
    box = Mailbox(server())
    assert not box.is_connected
    box.close()  # closing what never opened is harmless
    assert not box.is_connected
