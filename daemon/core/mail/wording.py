"""How mail to people writes categories, moments and durations, in Russian and in English.

One place for the words, so an acknowledgment, a reminder and a digest say "3 дня" and
"4 March 2026, 18:00 MSK" the same way; the Russian plural needs its three forms.

A moment in mail is always shown on the admin's wall clock (rules.yaml `settings.timezone`,
the zone the deadlines are computed in) and always says which clock that is: the store keeps
a received time as the mail server wrote it (often UTC) and a due time in the admin's zone,
and a letter that prints both must not make the reader guess.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

CATEGORY_LABELS = {
    "ru": {
        "thanks": "благодарность",
        "complaint": "жалоба",
        "official": "официальное обращение (претензия)",
        "unclassified": "не классифицировано (нужен разбор)",
    },
    "en": {
        "thanks": "thanks",
        "complaint": "complaint",
        "official": "official letter / claim",
        "unclassified": "unclassified (needs triage)",
    },
}
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


#: Letter abbreviations as Russian readers know them; others are shown as the zone data has them.
_RU_ZONE_NAMES = {"MSK": "МСК"}


def format_moment(d: datetime, lang: str, zone: str | tzinfo) -> str:
    """A due or received moment for people, on the admin's clock and labelled with it:
    `04.03.2026 18:00 МСК` / `4 March 2026, 18:00 MSK`. `zone` is the rules' timezone (an IANA
    name such as "Europe/Moscow", or a tzinfo); `d` must be aware, whatever its offset."""
    local = in_zone(d, zone)
    label = zone_label(local, lang)
    if lang == "ru":
        return f"{local:%d.%m.%Y %H:%M} {label}"
    return f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year}, {local:%H:%M} {label}"


def in_zone(d: datetime, zone: str | tzinfo) -> datetime:
    """`d` on the wall clock of `zone`; a naive `d` is refused, it names no instant."""
    if d.tzinfo is None or d.utcoffset() is None:
        raise ValueError(f"a moment for mail must carry its UTC offset, not {d.isoformat()}")
    return d.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone)


def zone_label(local: datetime, lang: str) -> str:
    """The zone of an aware `local` as people write it: its letter abbreviation where the zone
    data has one (`MSK`, in Russian `МСК`; `CET`, `EST`), else its offset (`UTC+5`, `UTC-3:30`)."""
    name = local.tzname() or ""
    if name.isalpha():
        return _RU_ZONE_NAMES.get(name, name) if lang == "ru" else name
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    if not minutes:
        return "UTC"
    return f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")


def format_duration(span: timedelta, lang: str) -> str:
    """`2 дня 3 часа` / `2 days 3 hours`: days and hours, or minutes under an hour."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [(days, "day"), (hours, "hour")] if minutes >= 60 else [(mins, "minute")]
    words = [_count(n, unit, lang) for n, unit in parts if n or unit == "minute"]
    return " ".join(words)


_RU_FORMS = {
    "day": ("день", "дня", "дней"),
    "hour": ("час", "часа", "часов"),
    "minute": ("минута", "минуты", "минут"),
}


def _count(n: int, unit: str, lang: str) -> str:
    if lang != "ru":
        return f"{n} {unit}{'' if n == 1 else 's'}"
    one, few, many = _RU_FORMS[unit]
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} {one}"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} {few}"
    return f"{n} {many}"
