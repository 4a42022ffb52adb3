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
from typing import Any
from zoneinfo import ZoneInfo

from daemon.core.cases import CLOSED, LIFECYCLE, OPEN, Case, CaseStatus, Event, overdue
from daemon.core.explanations import asks
from daemon.core.satisfaction import SATISFIED_FROM

BREAKDOWNS = ("category", "owner", "rule", "tag", "cause", "employee", "team")
P90 = 90


@dataclass(frozen=True)
class Tally:
    """Cases of one key (a category, owner, rule or tag) and how their deadline went."""

    count: int = 0
    on_time: int = 0  # first answer at or before due
    late: int = 0  # first answer after due
    overdue: int = 0  # no answer by `now`, due before `now`
    justified: int = 0  # the verdict of its last close with one: justified
    unjustified: int = 0
    asked_solved: int = 0  # the customer was asked "was it solved?"
    answered_solved: int = 0  # … and answered yes, no or a score
    satisfied: int = 0  # … yes, or a score of 4 or 5
    explanations_asked: int = 0  # employees asked for a written explanation
    explanations_given: int = 0
    explanations_overdue: int = 0  # asked, not given, past due at `now`
    thanks: int = 0  # thank-you cases; by employee: those crediting the employee

    @property
    def on_time_pct(self) -> float | None:
        """on_time / (on_time + late + overdue) * 100, as the report's headline rate."""
        judged = self.on_time + self.late + self.overdue
        return round(100 * self.on_time / judged, 1) if judged else None

    @property
    def satisfaction_pct(self) -> float | None:
        """satisfied / answered * 100, None when nobody answered."""
        if not self.answered_solved:
            return None
        return round(100 * self.satisfied / self.answered_solved, 1)


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
    verdict: str = ""  # justified | unjustified | "" (no close with a verdict by `now`)
    cause: str = ""
    remedy: str = ""
    solved: str = ""  # "" not asked | asked | yes | no | score | text | stop
    score: int | None = None
    explanations: tuple[ExplanationLine, ...] = ()
    credited: tuple[str, ...] = ()  # employees a thank-you named (`credited` events)
    credit_teams: tuple[str, ...] = ()  # their teams, and those of names several share
    employees: tuple[str, ...] = ()  # the employees its last close with a verdict named
    sender: str = ""
    quote: str = ""  # the customer's first words, for a thank-you quoted in the digest


@dataclass(frozen=True)
class ExplanationLine:
    """One employee's explanation of one case, as of `now`."""

    case_id: str
    employee: str
    asked: datetime
    due: datetime
    given: datetime | None
    overdue: bool


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
    justified: int = 0  # cases received in the period whose verdict is justified
    unjustified: int = 0
    satisfaction: Tally = Tally()  # the period's cases: asked, answered, satisfied
    explanations: tuple[ExplanationLine, ...] = ()  # asked for the period's cases
    outstanding_explanations: tuple[ExplanationLine, ...] = ()  # not given at `now`, any case
    justified_cases: tuple[CaseLine, ...] = ()  # the period's cases closed as justified
    thanks_cases: tuple[CaseLine, ...] = ()  # the period's thank-you letters, in order
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
    extra = _method(case, now, zone)
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
            **extra,
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
        **extra,
    )


def _method(case: Case, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """What the method recorded on the case by `now`: the last verdict, the answer to "was it
    solved?", the explanations (daemon.core.explanations, daemon.core.satisfaction)."""
    seen = [e for e in case.events if e.at <= now]
    closes = [e for e in seen if e.what == "closed" and e.data.get("verdict")]
    verdict = closes[-1] if closes else None
    solved, score = "", None
    if any(e.what == "satisfaction_asked" for e in seen):
        answer = next((e for e in reversed(seen) if e.what == "satisfaction"), None)
        solved = str(answer.data.get("answer", "")) if answer else "asked"
        score = answer.data.get("score") if answer else None
    credits = [e for e in seen if e.what == "credited" and e.data.get("employee")]
    teams = [
        str(e.data.get("team") or "") for e in seen if e.what in ("credited", "credit_unclear")
    ]
    named = verdict.data.get("employees") if verdict else None
    lines = tuple(
        ExplanationLine(
            case.id,
            ask.employee,
            ask.asked_at.astimezone(zone),
            ask.due.astimezone(zone),
            ask.given_at.astimezone(zone) if ask.given_at and ask.given_at <= now else None,
            (ask.given_at is None or ask.given_at > now) and ask.due < now,
        )
        for ask in asks(case)
        if ask.asked_at <= now
    )
    return {
        "verdict": str(verdict.data["verdict"]) if verdict else "",
        "cause": str(verdict.data.get("cause", "")) if verdict else "",
        "remedy": str(verdict.data.get("remedy", "")) if verdict else "",
        "solved": solved,
        "score": score if isinstance(score, int) else None,
        "explanations": lines,
        "credited": tuple(dict.fromkeys(str(e.data["employee"]).lower() for e in credits)),
        "credit_teams": tuple(dict.fromkeys(t for t in teams if t)),
        "employees": tuple(
            dict.fromkeys(str(a).lower() for a in named if a) if isinstance(named, list) else ()
        ),
        "sender": case.sender,
        "quote": next(
            (str(e.data.get("text", "")) for e in reversed(seen) if e.what == "thanks_quoted"), ""
        ),
    }


def _ranked(counter: Counter[str]) -> dict[str, int]:
    """Most frequent first, then by name, so every renderer lists the same order."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _add(
    table: dict[str, Tally], key: str, line: CaseLine, now: datetime, thanks: bool | None = None
) -> None:
    """Count `line` under `key`; `thanks` (default: a thank-you case) counts it as thanks."""
    t = table.get(key, Tally())
    answered = line.solved in ("yes", "no", "score")
    table[key] = Tally(
        t.count + 1,
        t.on_time + (line.on_time is True),
        t.late + (line.on_time is False),
        t.overdue + (line.answered is None and line.due < now and not line.history),
        t.justified + (line.verdict == "justified"),
        t.unjustified + (line.verdict == "unjustified"),
        t.asked_solved + (line.solved != ""),
        t.answered_solved + answered,
        t.satisfied + (line.solved == "yes" or (line.score or 0) >= SATISFIED_FROM),
        t.explanations_asked + len(line.explanations),
        t.explanations_given + sum(x.given is not None for x in line.explanations),
        t.explanations_overdue + sum(x.overdue for x in line.explanations),
        t.thanks + (line.category == "thanks" if thanks is None else thanks),
    )


def _people(line: CaseLine) -> tuple[str, ...]:
    """The employees a case concerns: credited, named at its close, asked to explain."""
    asked = (x.employee.lower() for x in line.explanations)
    return tuple(dict.fromkeys((*line.credited, *line.employees, *asked)))


def _teams(
    line: CaseLine, people: tuple[str, ...], teams: Mapping[str, str], forward: tuple[str, ...]
) -> tuple[str, ...]:
    """The teams (owner keys) a case counts for: its employees' teams and those a thank-you's
    unclear name settled on; without either, its owner (plus `forward_to` for thanks)."""
    found = [*(teams[p] for p in people if p in teams), *line.credit_teams]
    if found:
        return tuple(dict.fromkeys(found))
    return tuple(dict.fromkeys((line.owner, *forward)))


def build_report(
    cases: Iterable[Case],
    start: date,
    end: date,
    now: datetime,
    tz: str,
    forward_to: Mapping[str, Iterable[str]] | None = None,
    history: bool = True,
    teams: Mapping[str, str] | None = None,
    automatic: Mapping[date, int] | None = None,
) -> Report:
    """Every figure of the period review; see docs/reports.md for each definition.

    `forward_to` maps a category to the owner keys that also hear its thanks (rules.yaml
    `categories.thanks.forward_to`); pass `{name: cat.forward_to for ...}` from the rule book.
    History cases (imported, `imported` event) are counted unless `history` is False (the
    digest: what the daemon handled), and never judged on time, late, overdue or pending.
    `teams` maps an employee's address to their team (rules.yaml `employees:`), for the
    `employee` and `team` breakdowns.
    `automatic` counts, per day, the mail that opened no case (daemon.core.triage's robots and
    `case: none`); it is never in `total` nor in any category.
    """
    team_of = {k.lower(): v for k, v in (teams or {}).items()}
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
    overall: dict[str, Tally] = {}
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
        if line.cause:
            _add(by["cause"], line.cause, line, now)
        people = _people(line)
        for person in people:
            _add(by["employee"], person, line, now, person in line.credited)
        ahead = forward.get(line.category, ()) if line.category == "thanks" else ()
        for team in _teams(line, people, team_of, ahead):
            _add(by["team"], team, line, now)
        _add(overall, "all", line, now)
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
        justified=sum(ln.verdict == "justified" for ln in lines),
        unjustified=sum(ln.verdict == "unjustified" for ln in lines),
        satisfaction=overall.get("all", Tally()),
        explanations=tuple(x for ln in lines for x in ln.explanations),
        justified_cases=tuple(
            sorted((ln for ln in lines if ln.verdict == "justified"), key=lambda ln: ln.received)
        ),
        thanks_cases=tuple(
            sorted((ln for ln in lines if ln.category == "thanks"), key=lambda ln: ln.received)
        ),
        outstanding_explanations=tuple(
            sorted(
                (x for _, ln in all_lines for x in ln.explanations if x.given is None),
                key=lambda x: (x.due, x.case_id, x.employee),
            )
        ),
    )
