"""Reports: figures from cases, rendered as text, CSV, JSON, HTML and the digest mail.

The facade the CLI and the service use: `build_report` counts (figures.py), `render` lays the
result out in one of FORMATS. The dispatcher lives here, above both renderers, so that neither
renderer needs the other: text.py (table, CSV, JSON) and html.py both take their rows and titles
from layout.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from daemon.core.report.breakdowns import BREAKDOWNS
from daemon.core.report.figures import Report, build_report
from daemon.core.report.html import render_html
from daemon.core.report.text import ROW_CSV, render_csv, render_json, render_rows_csv, render_table

FORMATS = ("table", "csv", "json", "html")

__all__ = ["BREAKDOWNS", "FORMATS", "Report", "build_report", "render"]


def render(
    report: Report,
    fmt: str,
    by: str = "category",
    owners: Mapping[str, str] | None = None,
    teams: Mapping[str, str] | None = None,
) -> str:
    """One entry point for the CLI: `fmt` is one of FORMATS. `owners` names owner keys and
    employees' addresses; `teams` gives an employee's team (the CSV by employee shows it).
    CSV by employee, team or cause is one row per key (HR's sheet), else the long form."""
    if fmt == "table":
        return render_table(report, by, owners)
    if fmt == "csv":
        if by in ROW_CSV:
            return render_rows_csv(report, by, owners, teams)
        return render_csv(report, by)
    if fmt == "json":
        return render_json(report, by)
    if fmt == "html":
        return render_html(report, by, owners)
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
