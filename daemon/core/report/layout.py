"""What every renderer of a `Report` shows, and in which order: labels, rows and titles.

The text table, the HTML page (and so the digest mail) lay out the same figures; taking their
rows from one place means a figure added, renamed or reordered here changes everywhere at once,
and neither renderer has to import the other to stay in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from daemon.core.report.breakdowns import BREAKDOWNS, Tally
from daemon.core.report.case_lines import CaseLine, ExplanationLine
from daemon.core.report.figures import Report

CASE_HEADER = ["ID", "CATEGORY", "OWNER", "STATUS", "RECEIVED", "DUE", "ANSWERED"]
BREAKDOWN_COLUMNS = [
    "CASES",
    "ON TIME",
    "LATE",
    "OVERDUE",
    "ON TIME %",
    "THANKS",
    "JUSTIFIED",
    "UNJUSTIFIED",
    "EXPLAINED",
    "SOLVED",
]
#: Breakdowns whose keys are people or teams: shown by name where the book has one.
NAMED = ("owner", "team", "employee")
EXPLANATION_HEADER = ["CASE", "EMPLOYEE", "ASKED", "DUE", "OVERDUE"]


def breakdown_order(by: str) -> tuple[str, ...]:
    """`by` first (the breakdown the meeting is about), then the others in a fixed order."""
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}: choose one of {', '.join(BREAKDOWNS)}")
    return (by, *(b for b in BREAKDOWNS if b != by))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    return f"{days}d {hours}h {mins:02d}m" if days else f"{hours}h {mins:02d}m"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def stamp(dt: datetime | None) -> str:
    return "-" if dt is None else dt.strftime("%Y-%m-%d %H:%M")


def period_title(report: Report) -> str:
    return f"{report.start.isoformat()} – {report.end.isoformat()}"


def summary_rows(report: Report) -> list[tuple[str, str]]:
    """The headline figures, labelled, in the order every renderer shows them."""
    return [
        ("cases received", str(report.total)),
        ("answered on time", str(report.on_time)),
        ("answered late", str(report.late)),
        ("unanswered, overdue", str(report.overdue_unanswered)),
        ("unanswered, not yet due", str(report.pending)),
        ("history, not judged", str(report.history)),
        ("automatic mail, no case", str(report.automatic)),
        ("on time", pct(report.on_time_pct)),
        ("first response, median", duration(report.first_response.median)),
        ("first response, p90", duration(report.first_response.p90)),
        ("resolution, median", duration(report.resolution.median)),
        ("resolution, p90", duration(report.resolution.p90)),
        ("open now", str(len(report.open_cases))),
        ("overdue now", str(len(report.overdue_cases))),
        ("justified", str(report.justified)),
        ("unjustified", str(report.unjustified)),
        ("asked whether solved", str(report.satisfaction.asked_solved)),
        ("solved, of answers", pct(report.satisfaction.satisfaction_pct)),
        ("explanations asked", str(len(report.explanations))),
        ("explanations given", str(sum(x.given is not None for x in report.explanations))),
        ("explanations waiting", str(len(report.outstanding_explanations))),
    ]


def breakdown_rows(report: Report, name: str, owners: Mapping[str, str]) -> list[list[str]]:
    """One row per key of breakdown `name`, in BREAKDOWN_COLUMNS order; owners by name."""
    return [
        [
            owners.get(k, k) if name in NAMED else k,
            str(t.count),
            str(t.on_time),
            str(t.late),
            str(t.overdue),
            pct(t.on_time_pct),
            str(t.thanks),
            str(t.justified),
            str(t.unjustified),
            explained(t),
            pct(t.satisfaction_pct),
        ]
        for k, t in report.by[name].items()
    ]


def explained(t: Tally) -> str:
    """Explanations given of those asked, and how many are overdue: "1/2, 1 overdue"."""
    if not t.explanations_asked:
        return "-"
    late = f", {t.explanations_overdue} overdue" if t.explanations_overdue else ""
    return f"{t.explanations_given}/{t.explanations_asked}{late}"


def explanation_rows(lines: tuple[ExplanationLine, ...]) -> list[list[str]]:
    """Rows under EXPLANATION_HEADER: the explanations not given yet."""
    return [
        [x.case_id, x.employee, stamp(x.asked), stamp(x.due), "yes" if x.overdue else "no"]
        for x in lines
    ]


def counts_sections(report: Report) -> list[tuple[str, dict[str, int], bool]]:
    """(title, counts, keys are owner keys) for the thanks and complaint-topic sections."""
    return [
        ("thanks by owner", report.thanks_by_owner, True),
        ("thanks by recipient (owner + forward_to)", report.thanks_by_recipient, True),
        ("thanks by tag", report.thanks_by_tag, False),
        ("complaint topics by rule", report.complaint_rules, False),
        ("complaint topics by tag", report.complaint_tags, False),
    ]


def count_rows(
    counts: dict[str, int], is_owner: bool, owners: Mapping[str, str]
) -> list[list[str]]:
    return [[owners.get(k, k) if is_owner else k, str(v)] for k, v in counts.items()]


def case_rows(lines: tuple[CaseLine, ...], owners: Mapping[str, str]) -> list[list[str]]:
    """Rows under CASE_HEADER."""
    return [
        [
            ln.id,
            ln.category,
            owners.get(ln.owner, ln.owner),
            ln.status,
            stamp(ln.received),
            stamp(ln.due),
            stamp(ln.answered),
        ]
        for ln in lines
    ]
