"""Parse the deadlines' follow-ups of rules.yaml: a category's `reminders:` ladder and its
`escalate:`, and the `explanations:` section (an employee's term and its reminders).

One reminder-ladder parser serves categories and explanations alike, so a step means the same
wherever it is written; every problem is added to the `Report` with its line.
"""

from __future__ import annotations

from typing import Any

from daemon.core.rules.load_settings import term
from daemon.core.rules.model import Escalation, ExplanationSettings, ReminderStep
from daemon.core.rules.yamlsrc import Report, check_keys, expect_map, expect_seq, str_list


def parse_explanations(
    report: Report, node: Any, line: int, lines: dict[str, int]
) -> ExplanationSettings:
    """`explanations: {due: 3 working_days, reminders: [...]}`: the employee's term."""
    if node is None:
        return ExplanationSettings()
    m = expect_map(report, node, line, "explanations")
    if m is None:
        return ExplanationSettings()
    check_keys(report, m, ("due", "reminders"), "explanations")
    due = term(report, m.get("due", "3 working_days"), m.line_of("due"), "explanations.due")
    rungs = parse_reminders(
        report, m.get("reminders"), m.line_of("reminders"), "explanations", lines
    )
    return ExplanationSettings(due or ExplanationSettings().due, tuple(rungs))


def parse_reminders(
    report: Report, node: Any, line: int, cat: str, lines: dict[str, int]
) -> list[ReminderStep]:
    seq = expect_seq(report, node, line, f"{cat}.reminders") if node is not None else None
    out: list[ReminderStep] = []
    for item, item_line in zip(seq or [], getattr(seq, "lines", []), strict=False):
        r = expect_map(report, item, item_line, "a reminder")
        if r is None:
            continue
        kinds = ("at", "before", "on_due", "overdue_every")
        check_keys(report, r, kinds, "a reminder")
        if len([k for k in r if k in kinds]) != 1:
            report.add(
                r.line,
                "a reminder has exactly one of: at: 50% | before: 1 working_day | "
                "on_due: true | overdue_every: 1 working_day",
            )
            continue
        lines[f"reminder:{cat}:{len(out)}"] = r.line
        if "at" in r:
            text = str(r["at"]).strip()
            pct = text[:-1] if text.endswith("%") else ""
            if not pct.isdigit() or not 0 < int(pct) < 100:
                report.add(
                    r.line_of("at"),
                    f"at: '{r['at']}' must be a percentage of the term "
                    f"between 1% and 99%, e.g. 50%",
                )
                continue
            out.append(ReminderStep(at_fraction=int(pct) / 100))
        elif "on_due" in r:
            if r["on_due"] is not True:
                report.add(r.line_of("on_due"), "write 'on_due: true' or remove the step")
                continue
            out.append(ReminderStep(on_due=True))
        else:
            key = "before" if "before" in r else "overdue_every"
            t = term(report, r[key], r.line_of(key), f"{cat} reminder {key}")
            if t is not None:
                out.append(
                    ReminderStep(before=t) if key == "before" else ReminderStep(overdue_every=t)
                )
    return out


def parse_escalation(
    report: Report, node: Any, line: int, cat: str, lines: dict[str, int]
) -> Escalation | None:
    if node is None:
        return None
    m = expect_map(report, node, line, f"{cat}.escalate")
    if m is None:
        return None
    check_keys(report, m, ("after", "to"), f"{cat}.escalate")
    after = term(
        report, m.get("after", "1 working_day"), m.line_of("after"), f"{cat}.escalate.after"
    )
    targets = str_list(report, m.get("to", ["supervisor", "center"]), m.line_of("to"), "to")
    if after is None:
        return None
    lines[f"escalate:{cat}"] = m.line_of("to")
    return Escalation(after, tuple(t for t, _ in targets))
