"""The period review: cases in, figures out. Pure — no clock, no store, no rendering.

Feedback is reviewed at meetings and at the end of each period, and the figures feed bonuses
and process changes, so every figure has one written definition (docs/reports.md) and one
place that computes it: here. The CLI table, CSV, JSON, HTML and the digest mail only render a
`Report`; they never count. Time is an argument: the same cases and the same `now` always
give the same report, and a case's state is replayed from its events up to `now`, so a report
"as of last Monday" is what it would have said last Monday.

Callers pass every case they have (live store and archive alike): the period filter is here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from daemon.core.cases import CLOSED, LIFECYCLE, OPEN, Case, CaseStatus, Event, overdue

BREAKDOWNS = ("category", "owner", "rule", "tag")
P90 = 90


@dataclass(frozen=True)
class Tally:
    """Cases of one key (a category, owner, rule or tag) and how their deadline went."""

    count: int = 0
    on_time: int = 0  # first answer at or before due
    late: int = 0  # first answer after due
    overdue: int = 0  # no answer by `now`, due before `now`


@dataclass(frozen=True)
class Timing:
    """A duration distribution in seconds; median and p90 by nearest rank, None when empty."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class CaseLine:
    """One case as a list shows it: its state and owner as of `now`."""

    id: str
    category: str
    owner: str
    status: CaseStatus
    received: datetime
    due: datetime
    answered: datetime | None
    closed: datetime | None
    on_time: bool | None  # None: no answer yet, or history (never judged)
    rule: str
    subject: str
    history: bool = False  # imported history: counted, never judged on its deadline


@dataclass(frozen=True)
class Report:
    start: date
    end: date  # inclusive
    now: datetime
    tz: str
    total: int
    by: dict[str, dict[str, Tally]]  # "category" | "owner" | "rule" | "tag" -> key -> tally
    on_time: int
    late: int
    overdue_unanswered: int  # received in the period, unanswered, past due
    pending: int  # received in the period, unanswered, not yet due
    history: int  # received in the period, imported as history: never judged
    on_time_pct: float | None  # on_time / (on_time + late + overdue_unanswered) * 100
    first_response: Timing
    resolution: Timing
    open_cases: tuple[CaseLine, ...]  # snapshot at `now`, any received date
    overdue_cases: tuple[CaseLine, ...]  # snapshot at `now`, any received date
    thanks_by_owner: dict[str, int]
    thanks_by_recipient: dict[str, int]  # owner plus the category's forward_to
    thanks_by_tag: dict[str, int]
    complaint_rules: dict[str, int]
    complaint_tags: dict[str, int]
    official: tuple[CaseLine, ...]  # official letters received in the period
    automatic: int = 0  # robots' mail and `case: none` matches received in the period: no case


def parse_time(text: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 from an event's data, in the admin's zone; a time without offset is taken there."""
    dt = datetime.fromisoformat(text)
    return dt.astimezone(zone) if dt.tzinfo else dt.replace(tzinfo=zone)


def nearest_rank(values: list[float], pct: float) -> float | None:
    """The smallest value with at least pct% of the values at or below it (nearest rank).

    Chosen because it always returns an observed duration (no interpolated half-seconds) and
    is easy to recompute by hand at a meeting: sort, take position ceil(pct/100 * n).
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def timing(values: list[float]) -> Timing:
    return Timing(len(values), nearest_rank(values, 50), nearest_rank(values, P90))


def _event_time(event: Event, zone: ZoneInfo) -> datetime:
    """When the answer went out: an "answered" event may carry `data["answered_at"]` (or
    `data["at"]`) — the Date of the owner's reply, when the daemon noticed it later than it was
    sent. Any other event happened at its `at`."""
    if event.what == "answered":
        for key in ("answered_at", "at"):
            when = event.data.get(key)
            if isinstance(when, str) and when:
                return parse_time(when, zone)
    return event.at.astimezone(zone)


def case_line(case: Case, now: datetime, zone: ZoneInfo) -> CaseLine:
    """Replay the case's events up to `now`: status, owner, first answer, last close."""
    status, owner = OPEN, case.owner
    first_answer = first_close = last_close = None
    if any(e.what == "reassigned" for e in case.events):  # replay owners from the first one
        opened = next((e.data.get("owner") for e in case.events if e.what == "opened"), None)
        owner = opened if isinstance(opened, str) and opened else owner
    for event in case.events:
        if event.at > now:
            continue
        status = LIFECYCLE.get((status, event.what), status)
        when = _event_time(event, zone)
        if event.what == "reassigned" and event.data.get("owner"):
            owner = str(event.data["owner"])
        elif event.what == "answered" and first_answer is None:
            first_answer = when
        elif event.what == "closed":
            first_close = first_close or when
            last_close = when
    answered = first_answer or first_close
    due = case.due.astimezone(zone)
    imported = next((e for e in case.events if e.what == "imported"), None)
    if imported is not None:  # history: the daemon never had it, so nothing to judge
        closed = imported.at.astimezone(zone) if status == CLOSED else None
        return CaseLine(
            case.id,
            case.category,
            owner,
            status,
            case.received.astimezone(zone),
            due,
            None,
            closed,
            None,
            case.rule,
            case.subject,
            history=True,
        )
    return CaseLine(
        id=case.id,
        category=case.category,
        owner=owner,
        status=status,
        received=case.received.astimezone(zone),
        due=due,
        answered=answered,
        closed=last_close if status == CLOSED else None,
        on_time=None if answered is None else answered <= due,
        rule=case.rule,
        subject=case.subject,
    )


def _ranked(counter: Counter[str]) -> dict[str, int]:
    """Most frequent first, then by name, so every renderer lists the same order."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _add(table: dict[str, Tally], key: str, line: CaseLine, now: datetime) -> None:
    t = table.get(key, Tally())
    table[key] = Tally(
        t.count + 1,
        t.on_time + (line.on_time is True),
        t.late + (line.on_time is False),
        t.overdue + (line.answered is None and line.due < now and not line.history),
    )


def build_report(
    cases: Iterable[Case],
    start: date,
    end: date,
    now: datetime,
    tz: str,
    forward_to: Mapping[str, Iterable[str]] | None = None,
    history: bool = True,
    automatic: Mapping[date, int] | None = None,
) -> Report:
    """Every figure of the period review; see docs/reports.md for each definition.

    `forward_to` maps a category to the owner keys that also hear its thanks (rules.yaml
    `categories.thanks.forward_to`); pass `{name: cat.forward_to for ...}` from the rule book.
    History cases (imported, `imported` event) are counted unless `history` is False (the
    digest: what the daemon handled), and never judged on time, late, overdue or pending.
    `automatic` counts, per day, the mail that opened no case (daemon.core.triage's robots and
    `case: none`); it is never in `total` nor in any category.
    """
    zone = ZoneInfo(tz)
    now = now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)
    forward = {k: tuple(v) for k, v in (forward_to or {}).items()}
    all_lines: list[tuple[Case, CaseLine]] = []
    for case in cases:
        line = case_line(case, now, zone)
        if line.received <= now and (history or not line.history):
            all_lines.append((case, line))
    in_period = [(c, ln) for c, ln in all_lines if start <= ln.received.date() <= end]

    by: dict[str, dict[str, Tally]] = {name: {} for name in BREAKDOWNS}
    thanks_owner: Counter[str] = Counter()
    thanks_recipient: Counter[str] = Counter()
    thanks_tag: Counter[str] = Counter()
    complaint_rule: Counter[str] = Counter()
    complaint_tag: Counter[str] = Counter()
    responses: list[float] = []
    resolutions: list[float] = []
    for case, line in in_period:
        _add(by["category"], line.category, line, now)
        _add(by["owner"], line.owner, line, now)
        _add(by["rule"], line.rule, line, now)
        for tag in dict.fromkeys(case.tags):
            _add(by["tag"], tag, line, now)
        if line.answered is not None:  # never for history: its times say nothing of ours
            responses.append((line.answered - line.received).total_seconds())
        if line.closed is not None and not line.history:
            resolutions.append((line.closed - line.received).total_seconds())
        if line.category == "thanks":
            thanks_owner[line.owner] += 1
            for key in dict.fromkeys((line.owner, *forward.get(line.category, ()))):
                thanks_recipient[key] += 1
            thanks_tag.update(dict.fromkeys(case.tags, 1))
        elif line.category == "complaint":
            complaint_rule[line.rule] += 1
            complaint_tag.update(dict.fromkeys(case.tags, 1))

    lines = [ln for _, ln in in_period]
    on_time = sum(ln.on_time is True for ln in lines)
    late = sum(ln.on_time is False for ln in lines)
    judged_lines = [ln for ln in lines if not ln.history]
    overdue_unanswered = sum(ln.answered is None and ln.due < now for ln in judged_lines)
    judged = on_time + late + overdue_unanswered
    open_now = sorted(
        (ln for _, ln in all_lines if ln.status == OPEN), key=lambda ln: (ln.due, ln.id)
    )
    return Report(
        start=start,
        end=end,
        now=now,
        tz=tz,
        total=len(lines),
        by={
            name: dict(sorted(t.items(), key=lambda kv: (-kv[1].count, kv[0])))
            for name, t in by.items()
        },
        on_time=on_time,
        late=late,
        overdue_unanswered=overdue_unanswered,
        pending=sum(ln.answered is None and ln.due >= now for ln in judged_lines),
        history=len(lines) - len(judged_lines),
        on_time_pct=round(100 * on_time / judged, 1) if judged else None,
        first_response=timing(responses),
        resolution=timing(resolutions),
        open_cases=tuple(open_now),
        overdue_cases=tuple(ln for ln in open_now if overdue(ln.status, ln.due, now)),
        thanks_by_owner=_ranked(thanks_owner),
        thanks_by_recipient=_ranked(thanks_recipient),
        thanks_by_tag=_ranked(thanks_tag),
        complaint_rules=_ranked(complaint_rule),
        complaint_tags=_ranked(complaint_tag),
        automatic=sum(n for day, n in (automatic or {}).items() if start <= day <= end),
        official=tuple(
            sorted(
                (ln for ln in lines if ln.category == "official"),
                key=lambda ln: (ln.received, ln.id),
            )
        ),
    )
