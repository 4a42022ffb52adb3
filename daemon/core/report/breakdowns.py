"""The report's breakdowns: each case of the period counted under its category, owner, rule,
tags, cause, employees and teams, with how its deadline went.

One `Tally` per key, built by one function (`_add`), so every breakdown counts a case the
same way; the period's totals and lists stay in daemon.core.report.figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from daemon.core.cases import Case
from daemon.core.report.case_lines import CaseLine
from daemon.core.satisfaction import SATISFIED_FROM

BREAKDOWNS = ("category", "owner", "rule", "tag", "cause", "employee", "team")


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


@dataclass(frozen=True)
class Breakdowns:
    """One pass over the period's cases: a tally per key of every breakdown, the period's
    overall tally, and the thank-you and complaint counts the report ranks."""

    by: dict[str, dict[str, Tally]]
    overall: Tally
    thanks_owner: Counter[str]
    thanks_recipient: Counter[str]
    thanks_tag: Counter[str]
    complaint_rule: Counter[str]
    complaint_tag: Counter[str]


def count_breakdowns(
    in_period: list[tuple[Case, CaseLine]],
    now: datetime,
    forward: Mapping[str, tuple[str, ...]],
    team_of: Mapping[str, str],
) -> Breakdowns:
    """Count every case of the period under each of its keys, in the period's order."""
    by: dict[str, dict[str, Tally]] = {name: {} for name in BREAKDOWNS}
    overall: dict[str, Tally] = {}
    thanks_owner: Counter[str] = Counter()
    thanks_recipient: Counter[str] = Counter()
    thanks_tag: Counter[str] = Counter()
    complaint_rule: Counter[str] = Counter()
    complaint_tag: Counter[str] = Counter()
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
        if line.category == "thanks":
            thanks_owner[line.owner] += 1
            for key in dict.fromkeys((line.owner, *forward.get(line.category, ()))):
                thanks_recipient[key] += 1
            thanks_tag.update(dict.fromkeys(case.tags, 1))
        elif line.category == "complaint":
            complaint_rule[line.rule] += 1
            complaint_tag.update(dict.fromkeys(case.tags, 1))
    return Breakdowns(
        by,
        overall.get("all", Tally()),
        thanks_owner,
        thanks_recipient,
        thanks_tag,
        complaint_rule,
        complaint_tag,
    )
