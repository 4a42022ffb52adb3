"""The scheduled digest: the meeting's mail to the feedback center and management.

Pure: the caller (the daemon's scheduler, or `feedbackd digest`) passes `now`, the cases and
the rule book, and gets back a complete `EmailMessage` to queue. The `digest:` section was
parsed and checked with the rest of rules.yaml, so `feedbackd check` sees it. The mail is
multipart/alternative — a plain-text part for terminals and text-only clients, and an HTML
part whose chart is a table (no images, no script), so it reads the same in every client. It
is marked `Auto-Submitted: auto-generated` (RFC 3834) so that out-of-office robots of the
recipients do not answer it. How it is laid out is daemon.core.report.meeting; what it says,
in the admin's language, is the template folder's `digest.LANG.yaml` (handed in with the
templates); the previous period's report beside this one gives the change.

rules.yaml:

    digest:
      every: weekly                # daily | weekly (the previous complete day / ISO week)
      at: "08:00"                  # local time of sending, in settings.timezone
      to: [center, boss@company.example]   # owner keys or addresses
      language: ru                 # the LANG of templates/digest.LANG.yaml
                                   # (default: the feedback center owner's language)
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from zoneinfo import ZoneInfo

from daemon.core.mail.compose import header_safe, new_message_id
from daemon.core.mail.digest_words import BUILT_IN, DigestWords
from daemon.core.report import meeting
from daemon.core.report.figures import Report
from daemon.core.report.layout import period_title
from daemon.core.rules import DIGEST_EVERY, DigestSettings, RuleBook

EVERY = DIGEST_EVERY
DIGEST_HEADERS = {
    "Auto-Submitted": "auto-generated",
    "Precedence": "bulk",
    "X-Auto-Response-Suppress": "All",
}


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


def owner_names(book: RuleBook) -> dict[str, str]:
    """Owner keys and employees' addresses to the names people know them by."""
    people = {address: p.name or address for address, p in book.employees.items()}
    return {key: o.name or key for key, o in book.owners.items()} | people


def employee_teams(book: RuleBook) -> dict[str, str]:
    """rules.yaml `employees:`: each employee's address to their team's owner key."""
    return {address: person.team for address, person in book.employees.items()}


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before `start..end`: the digest's comparison."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def digest_language(book: RuleBook) -> str:
    """`digest.language`, else the feedback center owner's language (the admin's)."""
    if book.digest is not None and book.digest.language:
        return book.digest.language
    center = book.owners.get(book.center)
    return center.language if center and center.language else "en"


def digest_subject(report: Report, words: DigestWords = BUILT_IN) -> str:
    period = report.start.isoformat() if report.start == report.end else period_title(report)
    return words["subject"].format(period=period)


def compose_digest(
    report: Report,
    book: RuleBook,
    now: datetime,
    sender: str,
    recipients: Sequence[str],
    previous: Report | None = None,
    language: str | None = None,
    *,
    words: Mapping[str, DigestWords],
) -> EmailMessage:
    """The digest mail: text/plain + text/html alternative, the same parts in both, in
    `language` (default: digest_language) with its `words` (Templates.digest: language ->
    the words of its file; a language without a file is said in the built-in English).
    `previous` (the report of previous_period) gives the change against the period before;
    without it the change reads "–"."""
    if not recipients:
        raise ValueError("a digest needs at least one recipient")
    w = words.get(language or digest_language(book), BUILT_IN)
    names = owner_names(book)
    parts = meeting.sections(report, previous, w, names)
    subject = digest_subject(report, w)
    subtitle = w["as_of"].format(now=report.now.strftime("%Y-%m-%d %H:%M"), tz=report.tz)
    footer = w["footer"].format(start=report.start.isoformat(), end=report.end.isoformat())
    text = meeting.render_text(subject, subtitle, parts, w, footer)
    html = meeting.render_html(subject, subtitle, parts, w, footer)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = email.utils.formataddr(("feedbackd", header_safe(sender)))
    msg["To"] = ", ".join(header_safe(r) for r in recipients)
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = new_message_id(sender.rpartition("@")[2])
    for k, v in DIGEST_HEADERS.items():
        msg[k] = v
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg
