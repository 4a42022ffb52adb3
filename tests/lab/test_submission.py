"""The lab's Postfix is a real submission server: STARTTLS before AUTH, AUTH (checked by
Dovecot) before anything is accepted, so the flow tests on the `postfix` flavour prove what
they claim. That the daemon's mail really goes through it: test_flow.py (its Received line).
"""

from __future__ import annotations

import smtplib

import pytest

from daemon.lab import MailLab


@pytest.fixture
def postfix_lab(labs: object) -> MailLab:
    return labs["postfix"]  # type: ignore[index, no-any-return]  # conftest's Labs


def test_postfix_wants_starttls_before_auth_and_auth_before_mail(postfix_lab: MailLab) -> None:
    port = postfix_lab.ports.submission
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")  # offered only after STARTTLS
        assert smtp.mail("feedback@example.test")[0] == 530  # "Must issue a STARTTLS first"
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.starttls(context=postfix_lab.ssl_context())
        smtp.ehlo()
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("feedback@example.test", ["anna@example.test"], b"Subject: x\r\n\r\n.")
    # A wrong password is not tried here: Dovecot would slow every later login from 127.0.0.1
    # for ~30 s (its auth penalty), and the flow tests on this lab log in next.
