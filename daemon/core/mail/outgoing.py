"""A composed staff mail made owed mail: one place that turns an EmailMessage into an OutMail.

Every notice, reply, summary and thanks we compose becomes owed mail the same way (its own
Message-ID as the outbox key, the feedback address as a second recipient, the wire bytes), so
triage, the follow-ups and the throttle all call this one function; `customer_ack` is the one
way an acknowledgment to a customer is addressed (triage's first one, reclassify's correction).
"""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage

from daemon.core.mail.compose import Rendered, build_mail, stored_header, wire
from daemon.core.mail.staff import NoticeDesk
from daemon.core.records import OutMail, outmail


def owed(
    desk: NoticeDesk, msg: EmailMessage, kind: str, case_id: str | None, to: str, now: datetime
) -> OutMail:
    """A composed mail as owed; it also goes to the feedback address (the copy proves it went)."""
    return outmail(
        mail_id=message_id(msg),
        kind=kind,
        sender=desk.address,
        to=(to,),
        raw=wire(msg),
        now=now,
        case_id=case_id,
    )


_PLAIN_ID = re.compile(r"<[!-;=?-~]+>")  # printable ASCII, no space, no < or > inside


def message_id(msg: EmailMessage) -> str:
    """`str(msg["Message-ID"])`, without parsing the header again when it is stored as we set
    it (ASCII, one line: see compose._Plain), which is what that parse gives back."""
    value = stored_header(msg, "Message-ID")
    if type(value) is str and _PLAIN_ID.fullmatch(value):
        return value
    return str(msg["Message-ID"])


def customer_ack(
    desk: NoticeDesk,
    rendered: Rendered,
    case_id: str,
    to: str,
    *,
    message_id: str,
    now: datetime,
    in_reply_to: str,
    references: tuple[str, ...],
) -> OutMail:
    """An acknowledgment to a customer (the first one, or its correction), from the center's
    name, in the customer's thread, owed as kind `ack` (the rate limits count it)."""
    book = desk.book
    mail = build_mail(
        sender=desk.address,
        sender_name=book.owners[book.center].name,
        to=to,
        rendered=rendered,
        message_id=message_id,
        now=now,
        in_reply_to=in_reply_to,
        references=references,
    )
    return owed(desk, mail, "ack", case_id, to, now)
