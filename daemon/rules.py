"""The admin's rules.yaml, compiled once into a `RuleBook`, and `classify` — message in, decision out.

Pure: no I/O besides reading the rule file in `load_rulebook`. The daemon, `feedbackd classify`
and `feedbackd check` all call the same `classify`, so what an admin tests is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, Problem
from .message import Message

UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class Term:
    """A response term: `amount` of `unit` (calendar_days | working_days | working_hours)."""

    amount: int
    unit: str = "calendar_days"


@dataclass(frozen=True)
class ReminderStep:
    """One rung of a reminder ladder. Exactly one of the fields is set.

    rules.yaml: `- at: 50%` | `- before: 1 working_day` | `- on_due: true` |
    `- overdue_every: 1 working_day`.
    """

    at_fraction: float | None = None  # 0.5 for "50%" of the term
    before: Term | None = None  # this long before the due time
    on_due: bool = False
    overdue_every: Term | None = None  # repeat while overdue


@dataclass(frozen=True)
class Escalation:
    """rules.yaml `escalate: {after: 1 working_day, to: [supervisor, center]}` — after due."""

    after: Term
    to: tuple[str, ...] = ("supervisor", "center")


@dataclass(frozen=True)
class Category:
    name: str
    owner: str
    deadline: Term
    template: str
    folder: str
    acknowledge: bool = True
    reminders: tuple[ReminderStep, ...] = ()
    escalate: Escalation | None = None
    forward_to: tuple[str, ...] = ()  # owner keys that receive thanks


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(9, 0)
    end: time = time(18, 0)


@dataclass(frozen=True)
class CalendarSettings:
    """Production calendar: the country's official one plus the admin's overrides."""

    country: str = "RU"
    extra_holidays: tuple[date, ...] = ()
    extra_working_days: tuple[date, ...] = ()


@dataclass(frozen=True)
class PolicySettings:
    """RFC 3834 and loop protection knobs (rules.yaml `policy:`)."""

    ack_interval: timedelta = timedelta(hours=24)  # at most one ack per sender per interval
    ack_burst_per_hour: int = 3
    noreply_patterns: tuple[str, ...] = (
        r"^(no-?reply|do-?not-?reply|donotreply|mailer-daemon|postmaster|bounces?)([+\-.].*)?@",
    )
    own_addresses: tuple[str, ...] = ()
    hard_bounce_quiet: timedelta = timedelta(days=30)
    backfill_older_than: timedelta = timedelta(days=7)
    backfill_acknowledge: bool = False
    max_message_size: int = 25 * 1024 * 1024


@dataclass(frozen=True)
class Owner:
    key: str
    name: str
    email: str
    language: str = "ru"
    supervisor: str | None = None


@dataclass(frozen=True)
class Reason:
    """Why a rule matched: which field, which matcher, what text."""

    field: str
    matcher: str
    matched: str


@dataclass(frozen=True)
class Decision:
    category: str
    rule: str
    owner: str
    tags: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    words: tuple[str, ...]
    owner: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleBook:
    source: str
    categories: dict[str, Category]
    owners: dict[str, Owner]
    rules: tuple[Rule, ...]
    center: str  # owner key of the feedback center
    timezone: str = "Europe/Moscow"
    working_hours: WorkingHours = WorkingHours()
    calendar: CalendarSettings = CalendarSettings()
    policy: PolicySettings = PolicySettings()
    extra: dict[str, Any] = field(default_factory=dict)  # sections owned by later features


def load_rulebook(path: str | Path) -> RuleBook:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([Problem(str(path), None, f"cannot read the rules file: {exc.strerror}")])
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ConfigError([Problem(str(path), None if line is None else line + 1,
                                   f"YAML syntax error: {exc}")])
    owners = {k: Owner(k, v["name"], v["email"], v.get("language", "ru"), v.get("supervisor"))
              for k, v in data["owners"].items()}
    categories = {
        k: Category(k, v["owner"], Term(int(v["deadline"]["amount"]), v["deadline"]["unit"]),
                    v["template"], v["folder"], bool(v.get("acknowledge", True)))
        for k, v in data["categories"].items()
    }
    rules = tuple(Rule(r["name"], r["category"], tuple(w.lower() for w in r["words"]),
                       r.get("owner"), tuple(r.get("tags", ())))
                  for r in data.get("rules", ()))
    settings = data.get("settings", {})
    return RuleBook(str(path), categories, owners, rules, settings.get("center", "center"),
                    settings.get("timezone", "Europe/Moscow"))


def classify(message: Message, book: RuleBook) -> Decision:
    haystack = f"{message.subject}\n{message.text}".lower()
    for rule in book.rules:
        for word in rule.words:
            if word in haystack:
                cat = book.categories[rule.category]
                return Decision(rule.category, rule.name, rule.owner or cat.owner, rule.tags,
                                (Reason("subject+body", "words", word),))
    cat = book.categories[UNCLASSIFIED]
    return Decision(UNCLASSIFIED, "(no rule matched)", cat.owner)
