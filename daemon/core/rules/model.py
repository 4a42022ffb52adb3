"""The values a loaded rules.yaml turns into: plain frozen dataclasses, no behaviour.

They live apart from the loader so that the daemon, the deadline code and the templates can
import the shapes without importing YAML. A rule holds its compiled `Condition` and a decision
its `Reason`s, so this module imports the matchers (they import nothing back: the graph reads
model -> conditions -> textmatch). `daemon.core.rules` re-exports every name here; that is the
public import path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from enum import StrEnum

from daemon.core.mail.message import Message
from daemon.core.rules.conditions import Condition, Reason
from daemon.core.rules.morphology import Lemmatizer
from daemon.core.rules.textmatch import Negation

UNCLASSIFIED = "unclassified"
#: The languages an owner may speak and every template comes in; the first is the fallback.
LANGUAGES = ("ru", "en")

#: Units a term may be written in; rules.yaml accepts the singular too ("1 working_day").
TERM_UNITS = ("calendar_days", "working_days", "working_hours")


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
    verdict_required: bool = False  # `verdict: required`: a close must say justified or not
    complexity: str = ""  # the level its cases start at ("": the lowest of `complexity:`)
    ask_solved: bool = False  # after closing, ask the customer once whether it was solved


#: The kinds of remedy a catalogue entry may be (rules.yaml `remedies:`).
REMEDY_KINDS = ("apology", "present", "compensation")
#: The complexity levels when rules.yaml names none, lowest first.
COMPLEXITY_LEVELS = ("simple", "medium", "serious")


@dataclass(frozen=True)
class Cause:
    """rules.yaml `causes: {delivery: [доставка, курьер]}`: a cause and the words for it."""

    key: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Remedy:
    """rules.yaml `remedies: {certificate: {kind: present, from: medium, aliases: [...]}}`:
    what may be given to an unhappy customer, agreed in advance, from a complexity level on."""

    key: str
    kind: str  # apology | present | compensation
    from_level: str  # the lowest complexity level it may be given at
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExplanationSettings:
    """rules.yaml `explanations: {due: 3 working_days, reminders: [...]}`: how long an
    employee has for a written explanation, and the reminder rungs before and after."""

    due: Term = Term(3, "working_days")
    reminders: tuple[ReminderStep, ...] = ()


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


class FirstRun(StrEnum):
    """What the very first cycle does with mail older than `backfill_older_than` (rules.yaml
    `policy.first_run`); `feedbackd import --before` takes the `history` path on demand."""

    HISTORY = "history"  # closed history cases: classified and counted, nobody is mailed
    TRIAGE = "triage"  # open cases with owner notices, for the feedback center to sort
    SKIP = "skip"  # recorded in the ledger and filed, no case


@dataclass(frozen=True)
class PolicySettings:
    """RFC 3834 and loop protection knobs (rules.yaml `policy:`)."""

    ack_interval: timedelta = timedelta(hours=24)  # at most one ack per sender per interval
    ack_burst_per_hour: int = 3
    noreply_patterns: tuple[str, ...] = (
        r"^(mailer-daemon|postmaster|bounces?)([+\-.].*)?@",
        r"(^|[-._+])(no-?reply|do-?not-?reply|donotreply)([-._+].*)?@",
    )
    own_addresses: tuple[str, ...] = ()
    hard_bounce_quiet: timedelta = timedelta(days=30)
    backfill_older_than: timedelta = timedelta(days=7)
    backfill_acknowledge: bool = False
    first_run: FirstRun = FirstRun.HISTORY
    max_message_size: int = 25 * 1024 * 1024  # larger: headers and text only, no attachments
    retry_first: timedelta = timedelta(seconds=30)  # SMTP retry backoff, doubling ...
    retry_max: timedelta = timedelta(hours=1)  # ... up to this
    # A mail whose send was interrupted is sent again only if our own copy has not arrived
    # within this time (a relay may deliver that copy a little late).
    resend_grace: timedelta = timedelta(minutes=5)
    # Retention: what leaves the live store for the archive (STORE.archive/), and when.
    keep_closed: timedelta = timedelta(days=90)  # closed cases, after closing
    keep_sent: timedelta = timedelta(days=30)  # sent or failed mail
    keep_ledger: timedelta = timedelta(days=30)  # records of filed messages
    alert_silence: timedelta = timedelta(days=3)  # no mail at all this long: alert the center


#: How often a digest may be sent: the previous complete day, or the previous ISO week.
DIGEST_EVERY = ("daily", "weekly")


@dataclass(frozen=True)
class DigestSettings:
    """rules.yaml `digest:`: how often the period report is mailed, at what local time, to whom."""

    every: str = "weekly"  # daily | weekly
    at: time = time(8, 0)
    to: tuple[str, ...] = ()  # owner keys or addresses, as written
    language: str = ""  # ru | en; "" when not set: the feedback center owner's language


@dataclass(frozen=True)
class LearningSettings:
    """rules.yaml `learning:`: when the model learned from the center's corrections may decide
    a message no rule decided (daemon.core.learning). Absent: it learns, but never decides."""

    min_confidence: float = 0.75  # probability of its best category, 0.5 .. 1 (docs/rules.md)
    min_examples: int = 30  # lessons (of at least two categories) before it decides anything


@dataclass(frozen=True)
class Owner:
    key: str
    name: str
    email: str
    language: str = "ru"
    supervisor: str | None = None


@dataclass(frozen=True)
class Employee:
    """rules.yaml `employees:`: a person customers may thank by name (daemon.core.credits).

    `forms` are the names as written in the file ("Ольга", "Ольга Петрова", "Olga"); `keys`
    are the same forms as word-form keys (lemmas when the book was built with a lemmatizer),
    so "Ольге" and "Ольгу" in a letter meet the form "Ольга" without listing endings.
    """

    address: str
    name: str
    team: str  # an owner key
    manager: str | None = None  # an owner key or another employee's address
    forms: tuple[str, ...] = ()
    keys: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Decision:
    category: str
    rule: str
    owner: str
    tags: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    opens_case: bool = True  # False: the rule said `case: none` (filed as automatic, no case)


@dataclass(frozen=True)
class Rule:
    """One named rule: when `when` holds, the message gets `category` (and owner, tags)."""

    name: str
    category: str
    when: Condition
    owner: str | None = None
    tags: tuple[str, ...] = ()
    line: int | None = None
    opens_case: bool = True  # rules.yaml `case: none`: what it matches opens no case


@dataclass(frozen=True)
class Example:
    """A test message written inside rules.yaml and the category it must get."""

    message: Message
    expect: str
    expect_rule: str | None = None
    line: int | None = None


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
    precedence: tuple[str, ...] = ()  # categories, highest first
    negation: Negation = field(default_factory=Negation)
    examples: tuple[Example, ...] = ()
    digest: DigestSettings | None = None  # None: the section is absent, no digest is sent
    complexity: tuple[str, ...] = COMPLEXITY_LEVELS  # lowest first
    causes: dict[str, Cause] = field(default_factory=dict)
    remedies: dict[str, Remedy] = field(default_factory=dict)
    explanations: ExplanationSettings = ExplanationSettings()
    employees: dict[str, Employee] = field(default_factory=dict)  # by lower-case address
    learning: LearningSettings | None = None  # None: the learned model never decides
    #: `rules` sorted by (category precedence, file order): the first that matches decides.
    ordered_rules: tuple[Rule, ...] = ()
    #: The word-form keys the `lemmas:` matchers use (None: built without dictionaries); any
    #: other reader of lemmas (a learned model) takes them from here, to see the same keys.
    lemmatizer: Lemmatizer | None = None
