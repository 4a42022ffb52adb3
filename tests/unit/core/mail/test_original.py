"""A staff mail without its attachment: the text kept, the note added, the headers the same."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from daemon.core.mail.compose import wire
from daemon.core.mail.original import attach_original, without_attachments


def notice(with_original: bool) -> str:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"], msg["To"], msg["Subject"] = "fb@x.test", "owner@x.test", "[FB-1] Новое обращение"
    msg["Message-ID"] = "<n1@x.test>"
    msg.set_content("Вам назначено обращение FB-1.\n", charset="utf-8")
    if with_original:
        raw = b"From: c@y.test\r\nSubject: big\r\n\r\n" + b"x" * 5000 + b"\r\n"
        part = attach_original(raw, 10**6, "FB-1")
        msg.add_attachment(part)
    return wire(msg)


def test_the_text_stays_the_attachment_goes_and_the_note_says_where_it_is() -> None:
    slim = without_attachments(notice(True), "Исходное письмо: FB-1, Feedback/Complaints")
    assert slim is not None
    msg = email.message_from_bytes(slim.encode(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert list(msg.iter_attachments()) == [] and not msg.is_multipart()
    assert msg["Message-ID"] == "<n1@x.test>" and "FB-1" in str(msg["Subject"])
    body = msg.get_content()
    assert "Вам назначено обращение FB-1." in body
    assert body.rstrip().endswith("Исходное письмо: FB-1, Feedback/Complaints")
    assert len(slim) < len(notice(True)) // 2


def test_a_mail_with_nothing_attached_is_not_made_again() -> None:
    assert without_attachments(notice(False), "note") is None
