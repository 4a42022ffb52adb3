"""The scheduled digest: the period report as one mail to the feedback center and management.

Pure: the caller (the daemon's scheduler, or `feedbackd digest`) passes `now`, the cases and
the rule book, and gets back a complete `EmailMessage` to queue. The `digest:` section was
parsed and checked with the rest of rules.yaml, so `feedbackd check` sees it. The mail is
multipart/alternative — a plain-text part for terminals and text-only clients, and an HTML
part whose chart is a table (no images, no script), so it reads the same in every client. It
is marked `Auto-Submitted: auto-generated` (RFC 3834) so that out-of-office robots of the
recipients do not answer it.

rules.yaml:

    digest:
      every: weekly                # daily | weekly (the previous complete day / ISO week)
      at: "08:00"                  # local time of sending, in settings.timezone
      to: [center, boss@company.example]   # owner keys or addresses
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from zoneinfo import ZoneInfo

from daemon.core.mail.compose import header_safe, new_message_id
from daemon.core.mail.wording import zone_label
from daemon.core.report.figures import Report
from daemon.core.report.html import render_html
from daemon.core.report.layout import period_title
from daemon.core.report.text import render_table
from daemon.core.rules import DIGEST_EVERY, DigestSettings, RuleBook

EVERY = DIGEST_EVERY
DIGEST_HEADERS = {
    "Auto-Submitted": "auto-generated",
    "Precedence": "bulk",
    "X-Auto-Response-Suppress": "All",
}
BAR_WIDTH = 40


def digest_settings(book: RuleBook) -> DigestSettings | None:
    """The book's `digest:` section, checked when the book was loaded; None when absent."""
    return book.digest


def digest_recipients(to: Sequence[str], book: RuleBook) -> tuple[str, ...]:
    """Owner keys become their addresses; addresses stay; duplicates go."""
    out = [book.owners[x].email if x in book.owners else x for x in to]
    return tuple(dict.fromkeys(header_safe(a) for a in out if a))


def digest_period(now: datetime, every: str, tz: str) -> tuple[date, date]:
    """The previous complete day, or the previous complete ISO week (Monday–Sunday), in `tz`.

    A digest run on Monday 09:00 covers last Monday..Sunday whatever the hour, so a late or
    repeated run reports the same period and nothing falls between two digests.
    """
    if every not in EVERY:
        raise ValueError(f"every must be daily or weekly, not {every!r}")
    zone = ZoneInfo(tz)
    today = (now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)).date()
    if every == "daily":
        day = today - timedelta(days=1)
        return day, day
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def text_chart(counts: Mapping[str, int]) -> list[str]:
    """The category chart for the plain-text part: bars of '#', scaled to the largest."""
    if not counts:
        return ["(no cases)"]
    top = max(counts.values()) or 1
    width = max(len(k) for k in counts)
    return [
        f"{k.ljust(width)}  {'#' * max(1 if n else 0, round(BAR_WIDTH * n / top))} {n}"
        for k, n in counts.items()
    ]


def overdue_text(report: Report, owners: Mapping[str, str]) -> list[str]:
    lines = [f"Overdue now: {len(report.overdue_cases)}"]
    for ln in report.overdue_cases:
        lines.append(
            f"  {ln.id}  {ln.category:12}  due {ln.due:%Y-%m-%d %H:%M} {zone_label(ln.due, 'en')}  "
            f"owner {owners.get(ln.owner, ln.owner)} ({ln.owner})"
        )
    return lines


def explanations_text(report: Report) -> list[str]:
    """The employees' written explanations still awaited, overdue ones marked."""
    lines = [f"Explanations outstanding: {len(report.outstanding_explanations)}"]
    for x in report.outstanding_explanations:
        late = "  OVERDUE" if x.overdue else ""
        lines.append(f"  {x.case_id}  {x.employee}  due {x.due:%Y-%m-%d %H:%M}{late}")
    return lines


def owner_names(book: RuleBook) -> dict[str, str]:
    return {key: o.name or key for key, o in book.owners.items()}


def digest_subject(report: Report) -> str:
    if report.start == report.end:
        return f"Feedback digest {report.start.isoformat()}"
    return f"Feedback digest {period_title(report)}"


def compose_digest(
    report: Report,
    book: RuleBook,
    now: datetime,
    sender: str,
    recipients: Sequence[str],
    by: str = "category",
) -> EmailMessage:
    """The digest mail: text/plain (chart, overdue list, full table) + text/html alternative."""
    if not recipients:
        raise ValueError("a digest needs at least one recipient")
    names = owner_names(book)
    counts = {k: t.count for k, t in report.by["category"].items()}
    text = "\n".join(
        [
            digest_subject(report),
            "",
            "Cases per category",
            *text_chart(counts),
            "",
            *overdue_text(report, names),
            "",
            *explanations_text(report),
            "",
            render_table(report, by, names),
        ]
    )
    msg = EmailMessage(policy=SMTP)
    msg["From"] = email.utils.formataddr(("feedbackd", header_safe(sender)))
    msg["To"] = ", ".join(header_safe(r) for r in recipients)
    msg["Subject"] = digest_subject(report)
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = new_message_id(sender.rpartition("@")[2])
    for k, v in DIGEST_HEADERS.items():
        msg[k] = v
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(render_html(report, by, names), subtype="html", charset="utf-8")
    return msg
