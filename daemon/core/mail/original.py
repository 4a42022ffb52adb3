"""The customer's original, attached to staff mail so the owner can open it and quote it.

Byte for byte where it can be (message/rfc822, 8-bit); a legacy 8-bit charset, or a line SMTP
would refuse (over 998 octets: "500 Line too long", and the owner never hears of the case), gets
its parts re-encoded; what still cannot travel so goes as an application/octet-stream .eml
file, base64; over the cap, the headers only (the outbox keeps mail as text, and a 40 MB
attachment must not ride on every reminder).
"""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import SMTP

from daemon.core.mail.compose import LineTooLong, reencoded, verbatim_message

MAX_ATTACHMENT = 10 * 1024 * 1024  # bytes of the original attached in full; above: headers only


def attach_original(raw: bytes, cap: int, case_id: str) -> EmailMessage:
    """The original as a message/rfc822 part, so the owner can open and quote it; 8-bit mail
    in a legacy charset or with lines SMTP cannot carry re-encoded, and what still cannot
    travel so as an .eml file (the outbox keeps mail as text); over `cap`, its headers only."""
    if len(raw) <= cap:
        try:
            return verbatim_message(raw, f"{case_id}.eml")
        except (UnicodeDecodeError, LineTooLong):  # legacy 8-bit text, lines SMTP refuses
            pass
        try:
            return verbatim_message(reencoded(raw), f"{case_id}.eml")
        except (UnicodeError, ValueError, TypeError, LookupError):  # LineTooLong among them
            part = EmailMessage(policy=SMTP)
            part.set_content(
                raw,
                maintype="application",
                subtype="octet-stream",
                disposition="attachment",
                filename=f"{case_id}.eml",
            )
            return part
    part = EmailMessage(policy=SMTP)
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    part.set_content(
        head.decode("utf-8", "replace") + "\n",
        subtype="rfc822-headers",
        disposition="attachment",
        filename=f"{case_id}-headers.txt",
    )
    return part


def attached_whole(part: EmailMessage) -> bool:
    return part.get_content_type() in ("message/rfc822", "application/octet-stream")


def without_attachments(raw: str, note: str) -> str | None:
    """The mail again with its text only and `note` below it: what is sent when the server
    refused the mail for its size (the original attached made it too big). Same headers, so the
    same Message-ID (the first attempt was refused: no copy of it exists). None when the mail
    has no attachment to leave out, so a mail too big by itself is not tried forever."""
    msg = email.message_from_bytes(raw.encode("utf-8"), policy=SMTP)  # bytes: 8-bit text
    assert isinstance(msg, EmailMessage)
    parts = [p for p in msg.walk() if p is not msg]
    if not any(p.is_attachment() or p.get_content_type() == "message/rfc822" for p in parts):
        return None
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    slim = EmailMessage(policy=SMTP)
    for name, value in msg.items():
        if name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"):
            slim[name] = value
    slim.set_content(f"{str(text).rstrip()}\n\n{note}\n", charset="utf-8", cte="8bit")
    return slim.as_bytes().decode("utf-8")
