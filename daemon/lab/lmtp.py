"""Delivery into the lab's Dovecot over its LMTP socket, as a real MTA would hand mail over.

Its own module because two sides need it: the lab's SMTP server delivers every mail it accepts
this way, and `MailLab.deliver` puts a test message straight into a mailbox with it. Neither
side has to import the other.
"""

from __future__ import annotations

import smtplib
from pathlib import Path


def lmtp_deliver(socket_path: Path, raw: bytes, sender: str, recipients: list[str]) -> None:
    """One LMTP transaction for all recipients, as an MTA delivers. LMTP answers DATA once per
    accepted recipient (RFC 2033 4.2); smtplib reads only the first, so the rest are read
    here — every one must be 2xx."""
    with smtplib.LMTP(str(socket_path)) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        code, reply = lmtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        for rcpt in recipients:
            code, reply = lmtp.rcpt(rcpt)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({rcpt: (code, reply)})
        replies = [lmtp.data(raw)] + [lmtp.getreply() for _ in recipients[1:]]
        for rcpt, (code, reply) in zip(recipients, replies, strict=True):
            if code != 250:
                raise smtplib.SMTPDataError(code, f"{rcpt}: {reply!r}")
