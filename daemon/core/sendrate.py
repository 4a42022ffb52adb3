"""How fast and in what order owed mail may go: pure decisions over what was sent and when.

Submission servers cap a mailbox: Microsoft 365 at 30 messages a minute and 10,000 recipients
a day, Google Workspace at 10,000 recipients a day (2,000 messages), Yandex at a few hundred a
day (docs/mailboxes.md). Over the cap they answer 4xx (or a 5.7.x / 5.4.5 that names the
limit) or block the mailbox for a day, so the outbox keeps under the admin's
`FEEDBACKD_SMTP_RATE` itself. The windows are sliding (what counts is any 60 s or 24 h, as the
providers count), recipients are what is counted (our own evidence copy is a recipient, and the
providers count it), and the time is an argument: the service owns the clock and the waiting.

When the server throttles us anyway, the rate is halved for a while (`slowed`); which replies
mean "slow down" rather than "no" is `is_throttle`. The order is `send_order`: a customer's
acknowledgment never waits behind staff mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.core.records import OutMail

UNITS = {
    "s": timedelta(seconds=1),
    "sec": timedelta(seconds=1),
    "min": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "h": timedelta(hours=1),
    "day": timedelta(days=1),
    "d": timedelta(days=1),
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Rate:
    """At most `count` recipients in any `per`."""

    count: int
    per: timedelta

    def __str__(self) -> str:
        return f"{self.count}/{self.per.total_seconds():g}s"


def parse_rates(text: str) -> tuple[Rate, ...]:
    """`30/min,10000/day` (units s, min, hour, day; `5/10s` too); "" is no limit.

    ValueError says which part is wrong and what is meant instead."""
    rates: list[Rate] = []
    for part in (p for p in text.split(",") if p.strip()):
        m = _RATE.match(part.lower())
        if m is None or m.group(3) not in UNITS:
            raise ValueError(
                f"{part.strip()!r} is not a rate: write COUNT/UNIT with a unit of s, min, "
                "hour or day, several separated by commas, e.g. 30/min,10000/day"
            )
        count, times = int(m.group(1)), int(m.group(2) or 1)
        if count < 1 or times < 1:
            raise ValueError(f"{part.strip()!r}: the count and the period must be at least 1")
        rates.append(Rate(count, UNITS[m.group(3)] * times))
    return tuple(rates)


@dataclass(frozen=True)
class Use:
    """Recipients handed to the server at one moment (a mail accepted, or maybe accepted)."""

    at: datetime
    recipients: int


def _used(rate: Rate, uses: Sequence[Use], now: datetime) -> list[Use]:
    start = now - rate.per
    return [u for u in uses if start < u.at <= now]


def room(rates: Sequence[Rate], uses: Sequence[Use], now: datetime) -> int | None:
    """How many recipients may go at `now`; None without a limit."""
    if not rates:
        return None
    return max(0, min(r.count - sum(u.recipients for u in _used(r, uses, now)) for r in rates))


def fits(rates: Sequence[Rate], uses: Sequence[Use], now: datetime, need: int) -> bool:
    """May a mail to `need` recipients go at `now`? A mail to more recipients than a limit
    allows goes when that window is empty (else it would never go)."""
    for r in rates:
        used = sum(u.recipients for u in _used(r, uses, now))
        if used + need > r.count and used > 0:
            return False
    return True


def opens_at(rates: Sequence[Rate], uses: Sequence[Use], now: datetime, need: int) -> datetime:
    """The earliest moment from `now` on when a mail to `need` recipients fits."""
    when = now
    for r in rates:
        used = sorted(_used(r, uses, now), key=lambda u: u.at)
        total = sum(u.recipients for u in used)
        for u in used:
            if total + need <= r.count or total == 0:
                break
            total -= u.recipients
            when = max(when, u.at + r.per)
    return when


def slowed(rates: Sequence[Rate]) -> tuple[Rate, ...]:
    """The rates at half (at least one recipient each): what we keep to after a throttle.
    Without a configured rate there is nothing to halve: the pause after a throttle is all."""
    return tuple(Rate(max(1, r.count // 2), r.per) for r in rates)


#: The order owed mail goes in: customers first, then what the owners act on, then the rest.
PRIORITY = {
    "ack": 0,
    "command_reply": 1,
    "notice": 2,
    "joined": 2,
    "unproven": 2,
    "bounce_notice": 2,
    "alert": 2,
    "thanks": 3,
    "summary": 3,
    "reminder": 4,
    "escalation": 4,
    "digest": 5,
}
LOWEST = max(PRIORITY.values()) + 1


def priority(kind: str) -> int:
    return PRIORITY.get(kind, LOWEST)


def send_order(mails: Iterable[OutMail]) -> list[OutMail]:
    """Acknowledgments first, then owner notices, reminders, digests; oldest first in each."""
    return sorted(mails, key=lambda m: (priority(m.kind), m.created or m.next_try or _EPOCH, m.id))


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_LIMIT_WORDS = re.compile(r"rate|limit|too many|try again later|throttl", re.IGNORECASE)


def enhanced_status(message: str) -> tuple[int, int, int] | None:
    """The RFC 3463 status at the start of a reply's text (`4.7.0`), if it has one."""
    m = _ENHANCED.search(message[:40])
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def is_throttle(code: int, message: str) -> bool:
    """Does this reply mean "slower, later" rather than "no"?

    421 (closing, try later), 450/451/452 (busy, local error, too many recipients), any 4.7.x,
    and the 5xx that providers use for a limit: 5.7.x naming a rate or limit, Gmail's
    `5.4.5 Daily user sending limit exceeded`, Microsoft's `5.2.0
    ...SubmissionQuotaExceededException`. A 5xx about a full mailbox ("quota") stays final."""
    status = enhanced_status(message)
    if code in (421, 450, 451, 452):
        return True
    if status is not None and status[0] == 4 and status[1] == 7:
        return True
    if 500 <= code < 600:
        if "submissionquotaexceeded" in message.lower():
            return True
        if status is not None and (status[1], status[0]) in ((7, 5), (4, 5)):
            return bool(_LIMIT_WORDS.search(message)) or (
                status[1] == 4 and "quota" in message.lower()
            )
    return False


def is_too_big(code: int, message: str) -> bool:
    """A refusal for size: 552 (RFC 5321), 5.3.4 (message too big for the system), 5.2.3
    (message length exceeds the administrative limit)."""
    status = enhanced_status(message)
    return code == 552 or status in ((5, 3, 4), (5, 2, 3))
