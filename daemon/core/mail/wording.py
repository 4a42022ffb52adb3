"""How mail to people writes categories, moments and durations, in Russian and in English.

One place for the words, so an acknowledgment, a reminder and a digest say "3 дня" and
"4 March 2026, 18:00" the same way; the Russian plural needs its three forms.
"""

from __future__ import annotations

from datetime import datetime, timedelta

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


def format_moment(d: datetime, lang: str) -> str:
    """A due or received moment for people: `04.03.2026 18:00` / `4 March 2026, 18:00`."""
    if lang == "ru":
        return d.strftime("%d.%m.%Y %H:%M")
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}, {d:%H:%M}"


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
