"""TLS for IMAP and SMTP alike, and the adapters' independence from each other."""

from __future__ import annotations

import ast
import ssl

from support import REPO

from daemon.adapters.mail.imap import Mailbox
from daemon.adapters.mail.tls import certificate_refused, tls_context
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


def refusal(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    exc.verify_code, exc.verify_message = code, message
    return exc


def test_a_refused_certificate_says_what_to_change_for_its_reason() -> None:
    s = Server("mail.example.com", 993, "u", Secret("p"), "imaps", None)
    mismatch = "Hostname mismatch, certificate is not valid for 'mail.example.com'."
    wrong_name = certificate_refused("IMAP", s, refusal(62, mismatch))
    assert wrong_name.startswith("IMAP mail.example.com:993: the certificate is not for ")
    assert wrong_name.endswith("set FEEDBACKD_IMAP_HOST to a name the certificate carries")
    unknown = certificate_refused("SMTP", s, refusal(18, "self-signed certificate"))
    assert unknown == (
        "SMTP mail.example.com:993: certificate not trusted (self-signed certificate): set "
        "FEEDBACKD_SMTP_CA_FILE to the CA that signed it"
    )
    assert "expired" in certificate_refused("IMAP", s, refusal(10, "certificate has expired"))
