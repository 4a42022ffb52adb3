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
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from daemon.core.cases import OPEN, Case, overdue
from daemon.core.report.breakdowns import Tally, count_breakdowns
from daemon.core.report.case_lines import CaseLine, ExplanationLine, case_line

P90 = 90


@dataclass(frozen=True)
class Timing:
    """A duration distribution in seconds; median and p90 by nearest rank, None when empty."""

    count: int
    median: float | None
    p90: float | None


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
    satisfaction: Tally = field(
        default_factory=Tally
    )  # the period's cases: asked, answered, satisfied
    explanations: tuple[ExplanationLine, ...] = ()  # asked for the period's cases
    outstanding_explanations: tuple[ExplanationLine, ...] = ()  # not given at `now`, any case
    justified_cases: tuple[CaseLine, ...] = ()  # the period's cases closed as justified
    thanks_cases: tuple[CaseLine, ...] = ()  # the period's thank-you letters, in order
    automatic: int = 0  # robots' mail and `case: none` matches received in the period: no case


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


def _ranked(counter: Counter[str]) -> dict[str, int]:
    """Most frequent first, then by name, so every renderer lists the same order."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


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

    counted = count_breakdowns(in_period, now, forward, team_of)
    responses: list[float] = []
    resolutions: list[float] = []
    for _, line in in_period:
        if line.answered is not None:  # never for history: its times say nothing of ours
            responses.append((line.answered - line.received).total_seconds())
        if line.closed is not None and not line.history:
            resolutions.append((line.closed - line.received).total_seconds())

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
            for name, t in counted.by.items()
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
        thanks_by_owner=_ranked(counted.thanks_owner),
        thanks_by_recipient=_ranked(counted.thanks_recipient),
        thanks_by_tag=_ranked(counted.thanks_tag),
        complaint_rules=_ranked(counted.complaint_rule),
        complaint_tags=_ranked(counted.complaint_tag),
        automatic=sum(n for day, n in (automatic or {}).items() if start <= day <= end),
        official=tuple(
            sorted(
                (ln for ln in lines if ln.category == "official"),
                key=lambda ln: (ln.received, ln.id),
            )
        ),
        justified=sum(ln.verdict == "justified" for ln in lines),
        unjustified=sum(ln.verdict == "unjustified" for ln in lines),
        satisfaction=counted.overall,
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
