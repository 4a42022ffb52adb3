"""How often an owner is mailed about one source: the first few at once, the rest in one summary.

A flood of 500 mails from one address opened 500 cases and mailed the owner 500 notices, and
every forged command drew a refusal to the owner whose From it borrowed. An owner who gets
hundreds of mails an hour stops reading them, and a forger learns he can bury the real notice.
So per owner and per hour (a window that starts with the first mail), each *source* — the
address a mail came from, or "refusals" for refused commands — gets `LIMIT` mails of its own.
What comes after is held: listed in one summary per owner per window, queued at once to go
out when the window ends, and rewritten (the same Message-ID) with every line held until then.
One source flooding never holds back the notices of another. The cases themselves are opened
and kept as ever; only the mail about them waits.

Pure: the window is a document in the store's meta (`notice_window:<owner address>`), and
`now` and fresh Message-IDs are arguments.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from daemon.core.mail.compose import build_mail, header_safe
from daemon.core.mail.outgoing import owed
from daemon.core.mail.staff import STAFF_HEADERS, NoticeDesk, builtin
from daemon.core.mail.wording import format_moment
from daemon.core.records import OutMail, parse_stamp, stamp
from daemon.core.rules import Owner

#: Mails one source may cause one owner per window before the rest are held for the summary.
LIMIT = 3
WINDOW = timedelta(hours=1)
SHOWN = 100  # lines a summary lists; the rest are counted
REFUSALS = "refusals"  # the source of refused commands, whatever From they carried


@dataclass(frozen=True)
class SummaryLine:
    """One mail an owner was not sent one by one, as the hourly summary lists it."""

    at: datetime
    what: str  # notice | joined | refusal | unproven
    case_id: str
    source: str  # the address it came from
    subject: str


def summary_notice(
    desk: NoticeDesk,
    to: Owner,
    lines: tuple[SummaryLine, ...],
    *,
    until: datetime,
    message_id: str,
    now: datetime,
    more: int = 0,
) -> EmailMessage:
    """The hourly summary of what an owner was not mailed one by one (core/throttle)."""
    center = desk.book.owners.get(desk.book.center)
    items = [
        {
            "at": format_moment(line.at, to.language, desk.book.timezone),
            "what": line.what,
            "case_id": line.case_id,
            "source": header_safe(line.source),
            "subject": header_safe(line.subject)[:120],
        }
        for line in lines
    ]
    ctx: dict[str, Any] = {
        "recipient_name": to.name,
        "center_name": center.name if center else desk.address,
        "feedback_address": desk.address,
        "items": items,
        "count": len(lines) + more,
        "more": more,
        "until": format_moment(until, to.language, desk.book.timezone),
    }
    ctx["lines"] = "\n".join(
        f"{i['at']}  {i['case_id']}  {i['what']}  {i['source']}: {i['subject']}" for i in items
    )
    rendered = builtin(desk, "notice_summary", ctx, BUILTIN) or desk.templates.render(
        "notice_summary", to.language, ctx
    )
    return build_mail(
        sender=desk.address,
        sender_name=ctx["center_name"],
        to=email.utils.formataddr((header_safe(to.name), to.email)),
        rendered=rendered,
        message_id=message_id,
        now=now,
        automatic=False,
        extra_headers=STAFF_HEADERS | {"Reply-To": center.email if center else desk.address},
    )


#: The summary's wording for a template folder that has no `notice_summary` yet.
BUILTIN = {
    "notice_summary": (
        "feedbackd: {count} more mails for you, in one summary",
        "{recipient_name}, {count} more mails came within the hour after the first few from the "
        "same source; they are not sent one by one (`feedbackd cases list` shows the cases).\n\n"
        "{lines}\n\n--\n{center_name}\n",
    )
}


class Meta(Protocol):
    def meta(self, key: str) -> Any: ...


@dataclass(frozen=True)
class Window:
    """One owner's hour: what each source was sent, what was held, the summary's id."""

    start: datetime
    sent: Mapping[str, int] = field(default_factory=dict)
    held: tuple[SummaryLine, ...] = ()  # the first SHOWN of them
    more: int = 0  # held beyond those: counted, not listed (a flood stays linear)
    summary_id: str = ""

    @property
    def end(self) -> datetime:
        return self.start + WINDOW

    def to_doc(self) -> dict[str, Any]:
        return {
            "start": stamp(self.start),
            "sent": dict(self.sent),
            "held": [
                {
                    "at": stamp(h.at),
                    "what": h.what,
                    "case_id": h.case_id,
                    "source": h.source,
                    "subject": h.subject,
                }
                for h in self.held
            ],
            "summary_id": self.summary_id,
            "more": self.more,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Window:
        held = tuple(
            SummaryLine(
                parse_stamp(h["at"], "held notice"),
                h["what"],
                h["case_id"],
                h["source"],
                h["subject"],
            )
            for h in doc.get("held", ())
        )
        start = parse_stamp(doc["start"], "notice window")
        summary_id, more = str(doc.get("summary_id", "")), int(doc.get("more", 0))
        return cls(start, dict(doc.get("sent", {})), held, more=more, summary_id=summary_id)


def window_key(owner: Owner) -> str:
    return f"notice_window:{owner.email.lower()}"


def current(known: Meta, owner: Owner, now: datetime) -> Window:
    """The owner's window at `now`: the one in the store, or a new one if it ended."""
    doc = known.meta(window_key(owner))
    window = Window.from_doc(doc) if isinstance(doc, Mapping) else None
    return window if window is not None and now < window.end else Window(now)


@dataclass(frozen=True)
class Told:
    """The mail to queue for one owner mail (itself, or the summary it joined), the window as
    it becomes, and the Message-ID the case's event names (None: held for the summary)."""

    mail: OutMail
    meta: Mapping[str, Any]
    message_id: str | None


def tell(
    known: Meta,
    desk: NoticeDesk,
    owner: Owner,
    line: SummaryLine,
    compose: Callable[[str], EmailMessage],
    *,
    kind: str,
    now: datetime,
    new_id: Callable[[], str],
) -> Told:
    """Send `compose(message_id)` to `owner` now, or hold `line` for the window's summary."""
    window = current(known, owner, now)
    source = line.source.lower()
    count = window.sent.get(source, 0)
    if count < LIMIT:
        mid = new_id()
        mail = owed(desk, compose(mid), kind, line.case_id, owner.email, now)
        window = replace(window, sent={**window.sent, source: count + 1})
        return Told(mail, {window_key(owner): window.to_doc()}, mid)
    summary_id = window.summary_id or new_id()
    if len(window.held) < SHOWN:
        window = replace(window, held=(*window.held, line), summary_id=summary_id)
    else:
        window = replace(window, more=window.more + 1, summary_id=summary_id)
    summary = summary_notice(
        desk,
        owner,
        window.held,
        more=window.more,
        until=window.end,
        message_id=window.summary_id,
        now=now,
    )
    mail = replace(owed(desk, summary, "summary", None, owner.email, now), next_try=window.end)
    return Told(mail, {window_key(owner): window.to_doc()}, None)
