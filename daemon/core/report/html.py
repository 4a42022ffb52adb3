"""The report as one self-contained HTML page that mail clients display as it is.

Mail clients strip scripts, block remote images and often drop `<style>` blocks, so
everything here is inline: styles sit on each element (plus `bgcolor`/`width` attributes for
the clients that ignore CSS), and the chart of cases per category is an HTML table whose bar
cells are sized in percent. Every value from a case (ids, owners, rules, tags) is escaped —
customer-facing data is text, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from daemon.core.report.case_lines import CaseLine
from daemon.core.report.figures import Report
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

COLORS = {
    "official": "#c0392b",
    "complaint": "#e67e22",
    "thanks": "#27ae60",
    "unclassified": "#7f8c8d",
}
OTHER_COLOR = "#2980b9"
FONT = "font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222"
CELL = "padding:3px 8px;border-bottom:1px solid #ddd;text-align:left"
HEAD = CELL + ";background:#f2f2f2;font-weight:bold"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f'<th style="{HEAD}">{escape(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{CELL}">{escape(c)}</td>' for c in r) + "</tr>" for r in rows
    )
    return (
        f'<table cellpadding="0" cellspacing="0" style="border-collapse:collapse;'
        f'margin:4px 0 16px 0"><tr>{head}</tr>{body}</table>'
    )


def bar_chart(counts: Mapping[str, int], title: str = "Cases per category") -> str:
    """Horizontal bars as table cells: no images, no script, shown by every mail client."""
    top = max(counts.values(), default=0)
    rows = []
    for key, n in counts.items():
        width = max(1, round(100 * n / top)) if top and n else 0
        color = COLORS.get(key, OTHER_COLOR)
        bar = (
            '<table width="100%" cellpadding="0" cellspacing="0" style="width:100%"><tr>'
            + (
                f'<td width="{width}%" bgcolor="{color}" style="width:{width}%;'
                f'background:{color};height:16px;font-size:1px;line-height:1px">&nbsp;</td>'
                if width
                else ""
            )
            + (
                f'<td width="{100 - width}%" style="width:{100 - width}%">&nbsp;</td>'
                if width < 100
                else ""
            )
            + "</tr></table>"
        )
        rows.append(
            f'<tr><td style="{CELL};white-space:nowrap">{escape(key)}</td>'
            f'<td style="{CELL};width:320px" width="320">{bar}</td>'
            f'<td style="{CELL};text-align:right">{n}</td></tr>'
        )
    if not rows:
        rows.append(f'<tr><td style="{CELL}" colspan="3">no cases</td></tr>')
    return (
        f'<table class="chart" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;margin:4px 0 16px 0" summary="{escape(title)}">'
        f'<tr><th style="{HEAD}" colspan="3">{escape(title)}</th></tr>{"".join(rows)}'
        f"</table>"
    )


def _cases(title: str, lines: tuple[CaseLine, ...], owners: Mapping[str, str]) -> str:
    h = f'<h3 style="margin:12px 0 4px 0">{escape(title)} ({len(lines)})</h3>'
    return h + (_table(CASE_HEADER, case_rows(lines, owners)) if lines else "<p>none</p>")


def render_html(
    report: Report, by: str = "category", owners: Mapping[str, str] | None = None
) -> str:
    """A complete HTML document; the digest's text/html part and `report --format html`."""
    names = owners or {}
    title = f"Feedback report {period_title(report)}"
    parts = [
        f'<h2 style="margin:0 0 4px 0">{escape(title)}</h2>',
        (
            f'<p style="margin:0 0 12px 0;color:#666">{escape(report.tz)}, as of '
            f"{escape(stamp(report.now))}</p>"
        ),
        bar_chart({k: t.count for k, t in report.by["category"].items()}),
        _table(["Figure", "Value"], [list(r) for r in summary_rows(report)]),
        _cases("Overdue now", report.overdue_cases, names),
        f'<h3 style="margin:12px 0 4px 0">Explanations outstanding '
        f"({len(report.outstanding_explanations)})</h3>",
        _table(
            [c.capitalize() for c in EXPLANATION_HEADER],
            explanation_rows(report.outstanding_explanations),
        )
        if report.outstanding_explanations
        else "<p>none</p>",
    ]
    for name in breakdown_order(by):
        header = [name.capitalize(), *(c.capitalize() for c in BREAKDOWN_COLUMNS)]
        parts.append(f'<h3 style="margin:12px 0 4px 0">By {escape(name)}</h3>')
        parts.append(_table(header, breakdown_rows(report, name, names)))
    for sec_title, counts, is_owner in counts_sections(report):
        parts.append(f'<h3 style="margin:12px 0 4px 0">{escape(sec_title.capitalize())}</h3>')
        parts.append(
            _table(["Key", "Count"], count_rows(counts, is_owner, names))
            if counts
            else "<p>none</p>"
        )
    parts.append(_cases("Official letters received", report.official, names))
    parts.append(_cases("Open now", report.open_cases, names))
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        f'<body style="{FONT};margin:0;padding:16px">{"".join(parts)}</body></html>\n'
    )
