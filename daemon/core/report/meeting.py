"""The meeting digest's body: what management and front-line staff look at, in their language.

The method reviews complaints and thanks at meetings, to find causes, decide bonuses and
change processes, so the digest leads with what a meeting asks: how the period compares with
the one before, the top causes, the justified complaints, what is overdue (with its subject and
sender, so people know which case it is), whose explanations are awaited, and a few thanks in
the customer's own words. Every list is capped ("и ещё N" / "and N more"): a large store's
digest stays a mail of a few dozen kilobytes, and the whole picture is `feedbackd report`.

The words are the admin's (templates/digest.LANG.yaml, handed in as DigestWords, see
daemon.core.mail.digest_words); the layout is here, one function per part. The HTML is built
for mail clients, not browsers: tables for layout, every style inline (Outlook ignores <style>
and classes, Gmail drops them in places), no image, no script; the bar charts are table cells
sized in percent, which every client draws. Every value that came from a case (subjects,
senders, quotes) is escaped: customer text is data, never markup — and so are the admin's
words: an `<` in digest.LANG.yaml is shown, not parsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from daemon.core.mail.digest_words import DigestWords
from daemon.core.mail.wording import zone_label
from daemon.core.report.breakdowns import Tally
from daemon.core.report.case_lines import CaseLine, ExplanationLine
from daemon.core.report.figures import Report

#: Lines of each list shown; the rest is counted ("and N more").
CAP = 10
#: Causes in the chart, thanks quoted.
TOP_CAUSES = 5
QUOTES = 3
BAR = 30  # width of the text part's longest bar, in characters

COLORS = {"official": "#c0392b", "complaint": "#e67e22", "thanks": "#27ae60"}
OTHER = "#2980b9"
FONT = "font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222222"
CELL = "padding:4px 8px;border-bottom:1px solid #dddddd;text-align:left;vertical-align:top"
HEAD = CELL + ";background-color:#f2f2f2;font-weight:bold"
H3 = "margin:16px 0 4px 0;font-size:16px"


@dataclass(frozen=True)
class Section:
    """One part of the digest, the same for the text and the HTML part."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    more: int = 0  # rows left out
    chart: tuple[tuple[str, int, str], ...] = ()  # (label, value, colour) as bars


def _capped(
    rows: Sequence[tuple[str, ...]], cap: int = CAP
) -> tuple[tuple[tuple[str, ...], ...], int]:
    return tuple(rows[:cap]), max(0, len(rows) - cap)


def _change(now: float | None, before: float | None, unit: str = "") -> str:
    if now is None or before is None:
        return "–"
    delta = round(now - before, 1)
    if delta == int(delta):
        delta = int(delta)
    return f"{'+' if delta > 0 else ''}{delta}{unit}" if delta else "0"


def _stamp(dt: datetime, language: str = "en") -> str:
    """A due time on the admin's clock, labelled with its zone (`MSK` / `МСК`)."""
    return f"{dt:%Y-%m-%d %H:%M} {zone_label(dt, language)}"


def sections(
    report: Report,
    previous: Report | None,
    w: DigestWords,
    names: Mapping[str, str],
) -> list[Section]:
    """Every part of the digest, in order, capped, in the words of `w`."""
    language = w.language

    def count(r: Report | None, category: str) -> int | None:
        return None if r is None else r.by["category"].get(category, Tally()).count

    def row(label: str, now: float | None, before: float | None, unit: str = "") -> tuple[str, ...]:
        shown = "–" if now is None else f"{now:g}{unit}"
        prior = "–" if before is None else f"{before:g}{unit}"
        return (label, shown, prior, _change(now, before, unit))

    p = previous
    headline = (
        row(w["received"], report.total, p.total if p else None),
        *(row(w[c], count(report, c), count(p, c)) for c in ("thanks", "complaint", "official")),
        row(w["justified"], report.justified, p.justified if p else None),
        row(w["unjustified"], report.unjustified, p.unjustified if p else None),
        row(w["on_time"], report.on_time_pct, p.on_time_pct if p else None, "%"),
        row(w["overdue_now"], len(report.overdue_cases), None),
        row(w["explanations_waiting"], len(report.outstanding_explanations), None),
    )
    if report.automatic or (p and p.automatic):  # robots' mail, no case: shown when there was
        headline += (row(w["automatic"], report.automatic, p.automatic if p else None),)
    out = [Section("", (w["figure"], w["this"], w["before"], w["change"]), headline)]
    chart = tuple(
        (w.category(k), t.count, COLORS.get(k, OTHER)) for k, t in report.by["category"].items()
    )
    out.append(Section(w["by_category"], (), (), chart=chart))
    causes = list(report.by["cause"].items())
    out.append(
        Section(
            w["causes"],
            (),
            (),
            max(0, len(causes) - TOP_CAUSES),
            tuple((k, t.count, COLORS["complaint"]) for k, t in causes[:TOP_CAUSES]),
        )
    )
    justified = [
        (
            ln.id,
            ln.subject,
            ln.cause or "–",
            ln.remedy or "–",
            ", ".join(names.get(e, e) for e in ln.employees) or "–",
        )
        for ln in report.justified_cases
    ]
    rows, more = _capped(justified)
    header = (w["case"], w["subject_col"], w["cause"], w["remedy"], w["employees"])
    out.append(Section(w["justified_list"], header, rows, more))
    overdue = [
        (ln.id, ln.subject, ln.sender, names.get(ln.owner, ln.owner), _stamp(ln.due, language))
        for ln in report.overdue_cases
    ]
    rows, more = _capped(overdue)
    header = (w["case"], w["subject_col"], w["sender"], w["owner"], w["due"])
    out.append(Section(w["overdue_list"], header, rows, more))
    waiting = [_explanation(x, names, w, language) for x in report.outstanding_explanations]
    rows, more = _capped(waiting)
    out.append(Section(w["explanations_list"], (w["case"], w["employee"], w["due"]), rows, more))
    people = [
        (names.get(k, k), str(t.thanks)) for k, t in report.by["employee"].items() if t.thanks
    ]
    people.sort(key=lambda r: (-int(r[1]), r[0]))
    rows, more = _capped(people)
    out.append(Section(w["thanks_people"], (w["employee"], w["count"]), rows, more))
    teams = [(names.get(k, k), str(t.thanks)) for k, t in report.by["team"].items() if t.thanks]
    teams.sort(key=lambda r: (-int(r[1]), r[0]))
    rows, more = _capped(teams)
    out.append(Section(w["thanks_teams"], (w["team"], w["count"]), rows, more))
    quoted = [_quote(ln, names) for ln in report.thanks_cases if ln.quote]
    rows, more = _capped(quoted, QUOTES)
    out.append(Section(w["quotes"], (), rows, more))
    return out


def _explanation(
    x: ExplanationLine, names: Mapping[str, str], w: DigestWords, language: str
) -> tuple[str, ...]:
    late = f" ({w['late']})" if x.overdue else ""
    return (x.case_id, names.get(x.employee, x.employee), _stamp(x.due, language) + late)


def _quote(ln: CaseLine, names: Mapping[str, str]) -> tuple[str, ...]:
    who = ", ".join(names.get(e, e) for e in ln.credited)
    return (f"«{ln.quote}»", f"{ln.id}" + (f" — {who}" if who else ""))


# -- text ------------------------------------------------------------------------------------


def render_text(
    title: str, subtitle: str, parts: list[Section], w: DigestWords, footer: str
) -> str:
    out = [title, subtitle, ""]
    for part in parts:
        if part.title:
            out += [part.title, "-" * len(part.title)]
        if part.chart:
            top = max((n for _, n, _ in part.chart), default=0) or 1
            width = max(len(k) for k, _, _ in part.chart)
            out += [
                f"{k.ljust(width)}  {'#' * max(1 if n else 0, round(BAR * n / top))} {n}"
                for k, n, _ in part.chart
            ]
        elif part.header:
            out += _aligned(part.header, part.rows) if part.rows else [w["none"]]
        elif part.rows:  # quotes
            out += [f"{q}\n    {who}" for q, who in part.rows]
        else:
            out.append(w["none"])
        if part.more:
            out.append(w["more"].format(n=part.more))
        out.append("")
    out.append(footer)
    return "\n".join(out) + "\n"


def _aligned(header: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> list[str]:
    cut = [tuple(c if len(c) <= 60 else c[:59] + "…" for c in r) for r in rows]
    widths = [max(len(r[i]) for r in [header, *cut]) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(wd) for c, wd in zip(row, widths, strict=True)).rstrip()

    return [fmt(header), fmt(tuple("-" * wd for wd in widths)), *(fmt(r) for r in cut)]


# -- html ------------------------------------------------------------------------------------


def render_html(
    title: str, subtitle: str, parts: list[Section], w: DigestWords, footer: str
) -> str:
    body = [
        f'<h2 style="margin:0 0 4px 0;font-size:20px">{escape(title)}</h2>',
        f'<p style="margin:0 0 12px 0;color:#666666">{escape(subtitle)}</p>',
    ]
    for part in parts:
        if part.title:
            body.append(f'<h3 style="{H3}">{escape(part.title)}</h3>')
        if part.chart:
            body.append(_bars(part.chart))
        elif part.header:
            body.append(_table(part.header, part.rows) if part.rows else _p(w["none"]))
        elif part.rows:
            body.extend(
                f'<p style="margin:4px 0 8px 0"><i>{escape(q)}</i><br>'
                f'<span style="color:#666666">{escape(who)}</span></p>'
                for q, who in part.rows
            )
        else:
            body.append(_p(w["none"]))
        if part.more:
            body.append(_p(w["more"].format(n=part.more), "color:#666666"))
    body.append(_p(footer, "color:#666666;font-size:12px;margin-top:16px"))
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(w.language)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        f'<body style="margin:0;padding:0">'
        f'<table width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="{FONT}"><tr><td style="padding:16px;{FONT}">{"".join(body)}'
        f"</td></tr></table></body></html>\n"
    )


def _p(text: str, style: str = "") -> str:
    return f'<p style="margin:4px 0 8px 0;{style}">{escape(text)}</p>'


def _table(header: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> str:
    head = "".join(f'<th align="left" style="{HEAD}">{escape(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{CELL}">{escape(c)}</td>' for c in r) + "</tr>" for r in rows
    )
    return (
        '<table cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;margin:4px 0 8px 0"><tr>{head}</tr>{body}</table>'
    )


def _bars(chart: tuple[tuple[str, int, str], ...]) -> str:
    """Horizontal bars as table cells sized in percent (with `width`/`bgcolor` attributes for
    the clients that drop CSS): no image to block, no script to strip."""
    top = max((n for _, n, _ in chart), default=0)
    rows = []
    for label, n, color in chart:
        width = max(1, round(100 * n / top)) if top and n else 0
        filled = (
            f'<td width="{width}%" bgcolor="{color}" style="width:{width}%;'
            f'background-color:{color};height:14px;font-size:1px;line-height:1px">&nbsp;</td>'
            if width
            else ""
        )
        rest = (
            f'<td width="{100 - width}%" style="font-size:1px">&nbsp;</td>' if width < 100 else ""
        )
        rows.append(
            f'<tr><td style="{CELL};white-space:nowrap">{escape(label)}</td>'
            f'<td width="300" style="{CELL};width:300px">'
            f'<table width="100%" cellpadding="0" cellspacing="0" border="0"><tr>{filled}{rest}'
            f"</tr></table></td>"
            f'<td align="right" style="{CELL};text-align:right">{n}</td></tr>'
        )
    return (
        '<table cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;margin:4px 0 8px 0">{"".join(rows)}</table>'
    )
