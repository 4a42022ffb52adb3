"""A composed staff mail made owed mail: one place that turns an EmailMessage into an OutMail.

Every notice, reply, summary and thanks we compose becomes owed mail the same way (its own
Message-ID as the outbox key, the feedback address as a second recipient, the wire bytes), so
triage, the follow-ups and the throttle all call this one function.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from daemon.core.mail.compose import wire
from daemon.core.mail.notices import NoticeDesk
from daemon.core.records import OutMail, outmail


def owed(
    desk: NoticeDesk, msg: EmailMessage, kind: str, case_id: str | None, to: str, now: datetime
) -> OutMail:
    """A composed mail as owed; it also goes to the feedback address (the copy proves it went)."""
    return outmail(
        mail_id=str(msg["Message-ID"]),
        kind=kind,
        sender=desk.address,
        to=(to,),
        raw=wire(msg),
        now=now,
        case_id=case_id,
    )
