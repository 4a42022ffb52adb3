"""Renderers of a `Report` for terminals and machines: aligned text table, CSV, JSON.

They only lay out what `figures` computed — no counting here — so the CLI, a
spreadsheet and the digest mail can never disagree. `by` chooses the breakdown shown first
(the one the meeting is about); the others follow in a fixed order. Durations are seconds in
CSV/JSON (machines) and "2d 3h 05m" in the table (people).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from daemon.core.report.breakdowns import Tally
from daemon.core.report.case_lines import CaseLine, ExplanationLine
from daemon.core.report.figures import Report, Timing
from daemon.core.report.layout import (
    BREAKDOWN_COLUMNS,
    CASE_HEADER,
    EXPLANATION_HEADER,
    breakdown_order,
    breakdown_rows,
    case_rows,
    count_rows,
    counts_sections,
    explanation_rows,
    period_title,
    stamp,
    summary_rows,
)


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return [fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def render_table(
    report: Report, by: str = "category", owners: Mapping[str, str] | None = None
) -> str:
    """Aligned plain text: the CLI default and the digest's text/plain part."""
    names = owners or {}
    out = [f"Feedback report {period_title(report)} ({report.tz}), as of {stamp(report.now)}", ""]
    out += _aligned(["FIGURE", "VALUE"], [list(r) for r in summary_rows(report)])
    for name in breakdown_order(by):
        out += ["", f"By {name}"]
        out += _aligned([name.upper(), *BREAKDOWN_COLUMNS], breakdown_rows(report, name, names))
    for title, counts, is_owner in counts_sections(report):
        out += ["", title.capitalize()]
        out += (
            _aligned(["KEY", "COUNT"], count_rows(counts, is_owner, names))
            if counts
            else ["(none)"]
        )
    for title, lines in (
        ("Overdue now", report.overdue_cases),
        ("Open now", report.open_cases),
        ("Official letters received", report.official),
    ):
        out += ["", f"{title} ({len(lines)})"]
        out += _aligned(CASE_HEADER, case_rows(lines, names)) if lines else ["(none)"]
    waiting = report.outstanding_explanations
    out += ["", f"Explanations outstanding ({len(waiting)})"]
    out += _aligned(EXPLANATION_HEADER, explanation_rows(waiting)) if waiting else ["(none)"]
    return "\n".join(out) + "\n"


def _line_doc(ln: CaseLine) -> dict[str, Any]:
    return {
        "id": ln.id,
        "category": ln.category,
        "owner": ln.owner,
        "status": ln.status,
        "received": ln.received.isoformat(),
        "due": ln.due.isoformat(),
        "answered": ln.answered.isoformat() if ln.answered else None,
        "closed": ln.closed.isoformat() if ln.closed else None,
        "on_time": ln.on_time,
        "rule": ln.rule,
        "subject": ln.subject,
        "verdict": ln.verdict or None,
        "cause": ln.cause or None,
        "remedy": ln.remedy or None,
        "solved": ln.solved or None,
    }


def _timing_doc(t: Timing) -> dict[str, Any]:
    return {"count": t.count, "median_seconds": t.median, "p90_seconds": t.p90}


def _tally_doc(t: Tally) -> dict[str, Any]:
    return {
        "count": t.count,
        "on_time": t.on_time,
        "late": t.late,
        "overdue": t.overdue,
        "justified": t.justified,
        "unjustified": t.unjustified,
        "asked_solved": t.asked_solved,
        "answered_solved": t.answered_solved,
        "satisfied": t.satisfied,
        "satisfaction_pct": t.satisfaction_pct,
        "explanations_asked": t.explanations_asked,
        "explanations_given": t.explanations_given,
        "explanations_overdue": t.explanations_overdue,
        "thanks": t.thanks,
        "on_time_pct": t.on_time_pct,
    }


def _explanation_doc(x: ExplanationLine) -> dict[str, Any]:
    return {
        "case": x.case_id,
        "employee": x.employee,
        "asked": x.asked.isoformat(),
        "due": x.due.isoformat(),
        "given": x.given.isoformat() if x.given else None,
        "overdue": x.overdue,
    }


def report_doc(report: Report, by: str = "category") -> dict[str, Any]:
    """The report as plain JSON-able data; breakdowns keyed in `--by` order."""
    return {
        "period": {
            "from": report.start.isoformat(),
            "to": report.end.isoformat(),
            "timezone": report.tz,
            "now": report.now.isoformat(),
        },
        "total": report.total,
        "on_time": report.on_time,
        "late": report.late,
        "overdue_unanswered": report.overdue_unanswered,
        "pending": report.pending,
        "history": report.history,
        "automatic": report.automatic,
        "on_time_pct": report.on_time_pct,
        "justified": report.justified,
        "unjustified": report.unjustified,
        "satisfaction": {
            "asked": report.satisfaction.asked_solved,
            "answered": report.satisfaction.answered_solved,
            "satisfied": report.satisfaction.satisfied,
            "rate_pct": report.satisfaction.satisfaction_pct,
        },
        "explanations": {
            "asked": len(report.explanations),
            "given": sum(x.given is not None for x in report.explanations),
            "overdue": sum(x.overdue for x in report.explanations),
            "outstanding": [_explanation_doc(x) for x in report.outstanding_explanations],
        },
        "first_response": _timing_doc(report.first_response),
        "resolution": _timing_doc(report.resolution),
        "by": {
            name: {k: _tally_doc(t) for k, t in report.by[name].items()}
            for name in breakdown_order(by)
        },
        "thanks_by_owner": report.thanks_by_owner,
        "thanks_by_recipient": report.thanks_by_recipient,
        "thanks_by_tag": report.thanks_by_tag,
        "complaint_rules": report.complaint_rules,
        "complaint_tags": report.complaint_tags,
        "open": [_line_doc(ln) for ln in report.open_cases],
        "overdue": [_line_doc(ln) for ln in report.overdue_cases],
        "official": [_line_doc(ln) for ln in report.official],
    }


def render_json(report: Report, by: str = "category") -> str:
    return json.dumps(report_doc(report, by), ensure_ascii=False, indent=2) + "\n"


#: `--by` values whose CSV is one row per key (for HR and bonuses), not the long form.
ROW_CSV = ("employee", "team", "cause")
#: The columns of that CSV; their names and order are a contract with the spreadsheets
#: that read them (docs/reports.md): add at the end, never rename.
ROW_COLUMNS = (
    "key",
    "name",
    "team",
    "cases",
    "thanks",
    "justified",
    "unjustified",
    "explanations_asked",
    "explanations_given",
    "explanations_overdue",
    "on_time",
    "late",
    "overdue",
    "on_time_pct",
    "asked_solved",
    "satisfied",
    "satisfaction_pct",
)


def render_rows_csv(
    report: Report,
    by: str,
    names: Mapping[str, str] | None = None,
    teams: Mapping[str, str] | None = None,
) -> str:
    """One row per employee, team or cause under ROW_COLUMNS; an empty cell for no rate."""
    names, teams = names or {}, teams or {}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ROW_COLUMNS)
    for key, t in report.by[by].items():
        doc = _tally_doc(t) | {"cases": t.count, "asked_solved": t.asked_solved}
        row = {"key": key, "name": names.get(key, ""), "team": teams.get(key, "")} | doc
        w.writerow(["" if row[c] is None else row[c] for c in ROW_COLUMNS])
    return buf.getvalue()


def render_csv(report: Report, by: str = "category") -> str:
    """Long ("tidy") CSV — section,key,metric,value — one file a spreadsheet can pivot."""
    doc = report_doc(report, by)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "metric", "value"])
    for k, v in doc["period"].items():
        w.writerow(["period", "", k, v])
    for k in (
        "total",
        "on_time",
        "late",
        "overdue_unanswered",
        "pending",
        "history",
        "justified",
        "unjustified",
        "automatic",
    ):
        w.writerow(["summary", "", k, doc[k]])
    for k, v in doc["satisfaction"].items():
        w.writerow(["satisfaction", "", k, "" if v is None else v])
    for k in ("asked", "given", "overdue"):
        w.writerow(["explanations", "", k, doc["explanations"][k]])
    for k in ("on_time_pct",):
        w.writerow(["summary", "", k, "" if doc[k] is None else doc[k]])
    for section in ("first_response", "resolution"):
        for k, v in doc[section].items():
            w.writerow([section, "", k, "" if v is None else v])
    for name, table in doc["by"].items():
        for key, tally in table.items():
            for metric, v in tally.items():
                w.writerow([f"by_{name}", key, metric, "" if v is None else v])
    for section in (
        "thanks_by_owner",
        "thanks_by_recipient",
        "thanks_by_tag",
        "complaint_rules",
        "complaint_tags",
    ):
        for key, v in doc[section].items():
            w.writerow([section, key, "count", v])
    for section in ("overdue", "open", "official"):
        for line in doc[section]:
            for metric in ("category", "owner", "status", "received", "due", "answered", "on_time"):
                v = line[metric]
                w.writerow([section, line["id"], metric, "" if v is None else v])
    return buf.getvalue()
