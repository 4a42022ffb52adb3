"""Renderers of a `Report`: aligned text table, CSV, JSON (HTML lives in `report_html`).

They only lay out what `daemon.report` computed — no counting here — so the CLI, a
spreadsheet and the digest mail can never disagree. `by` chooses the breakdown shown first
(the one the meeting is about); the others follow in a fixed order. Durations are seconds in
CSV/JSON (machines) and "2d 3h 05m" in the table (people).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from daemon.core.report.figures import BREAKDOWNS, CaseLine, Report, Tally, Timing

FORMATS = ("table", "csv", "json", "html")


def breakdown_order(by: str) -> tuple[str, ...]:
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}: choose one of {', '.join(BREAKDOWNS)}")
    return (by,) + tuple(b for b in BREAKDOWNS if b != by)


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
        ("on time", pct(report.on_time_pct)),
        ("first response, median", duration(report.first_response.median)),
        ("first response, p90", duration(report.first_response.p90)),
        ("resolution, median", duration(report.resolution.median)),
        ("resolution, p90", duration(report.resolution.p90)),
        ("open now", str(len(report.open_cases))),
        ("overdue now", str(len(report.overdue_cases))),
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


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    return [fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def case_rows(lines: tuple[CaseLine, ...], owners: Mapping[str, str]) -> list[list[str]]:
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


CASE_HEADER = ["ID", "CATEGORY", "OWNER", "STATUS", "RECEIVED", "DUE", "ANSWERED"]


def render_table(
    report: Report, by: str = "category", owners: Mapping[str, str] | None = None
) -> str:
    """Aligned plain text: the CLI default and the digest's text/plain part."""
    names = owners or {}
    out = [f"Feedback report {period_title(report)} ({report.tz}), as of {stamp(report.now)}", ""]
    out += _aligned(["FIGURE", "VALUE"], [list(r) for r in summary_rows(report)])
    for name in breakdown_order(by):
        rows = [
            [
                names.get(k, k) if name == "owner" else k,
                str(t.count),
                str(t.on_time),
                str(t.late),
                str(t.overdue),
            ]
            for k, t in report.by[name].items()
        ]
        out += ["", f"By {name}"]
        out += _aligned([name.upper(), "CASES", "ON TIME", "LATE", "OVERDUE"], rows)
    for title, counts, is_owner in counts_sections(report):
        out += ["", title.capitalize()]
        out += (
            _aligned(
                ["KEY", "COUNT"],
                [[names.get(k, k) if is_owner else k, str(v)] for k, v in counts.items()],
            )
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
    }


def _timing_doc(t: Timing) -> dict[str, Any]:
    return {"count": t.count, "median_seconds": t.median, "p90_seconds": t.p90}


def _tally_doc(t: Tally) -> dict[str, int]:
    return {"count": t.count, "on_time": t.on_time, "late": t.late, "overdue": t.overdue}


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
        "on_time_pct": report.on_time_pct,
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


def render_csv(report: Report, by: str = "category") -> str:
    """Long ("tidy") CSV — section,key,metric,value — one file a spreadsheet can pivot."""
    doc = report_doc(report, by)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "metric", "value"])
    for k, v in doc["period"].items():
        w.writerow(["period", "", k, v])
    for k in ("total", "on_time", "late", "overdue_unanswered", "pending", "on_time_pct"):
        w.writerow(["summary", "", k, "" if doc[k] is None else doc[k]])
    for section in ("first_response", "resolution"):
        for k, v in doc[section].items():
            w.writerow([section, "", k, "" if v is None else v])
    for name, table in doc["by"].items():
        for key, tally in table.items():
            for metric, v in tally.items():
                w.writerow([f"by_{name}", key, metric, v])
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


def render(
    report: Report, fmt: str, by: str = "category", owners: Mapping[str, str] | None = None
) -> str:
    """One entry point for the CLI: `fmt` is one of FORMATS."""
    if fmt == "table":
        return render_table(report, by, owners)
    if fmt == "csv":
        return render_csv(report, by)
    if fmt == "json":
        return render_json(report, by)
    if fmt == "html":
        from daemon.core.report.html import render_html

        return render_html(report, by, owners)
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
