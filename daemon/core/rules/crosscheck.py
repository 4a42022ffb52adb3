"""Cross-field checks of a rule book, one sentence each, in one place.

Each section of rules.yaml can be valid on its own and still contradict another: a category
owned by nobody, a supervisor chain that loops, a reminder "3 days before" a 2-day deadline.
These are caught here, after all sections are read, so the admin gets them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from daemon.core.rules.classify import NO_RULE
from daemon.core.rules.model import (
    Category,
    DigestSettings,
    Example,
    FirstRun,
    Owner,
    PolicySettings,
    Rule,
    Term,
    WorkingHours,
)
from daemon.core.rules.yamlsrc import Report, suggest


@dataclass(frozen=True)
class Sections:
    """The sections of one rules.yaml as read on their own, before they are checked together."""

    center: str | None
    owners: dict[str, Owner]
    categories: dict[str, Category]
    rules: list[Rule]
    precedence: list[str]
    examples: list[Example]
    hours: WorkingHours
    digest: DigestSettings | None = None
    #: Where things are: "category:x", "owner:x", "rule:x:category", "digest:to" ...
    lines: dict[str, int] = field(default_factory=dict)


def cross_check(report: Report, sections: Sections) -> None:
    """Add a problem, one sentence each, for every contradiction between sections."""
    lines, center, owners = sections.lines, sections.center, sections.owners
    categories, rules, precedence = sections.categories, sections.rules, sections.precedence

    def unknown_owner(key: str) -> str:
        return (
            f"'{key}' is not an owner{suggest(key, owners)}"
            if owners
            else f"'{key}' is not an owner; add it under 'owners:'"
        )

    if center is not None and center not in owners:
        report.add(lines.get("center"), f"settings.center: {unknown_owner(center)}")
    for key, owner in owners.items():
        if owner.supervisor is not None and owner.supervisor not in owners:
            report.add(
                lines.get(f"supervisor:{key}"),
                f"supervisor of '{key}': {unknown_owner(owner.supervisor)}",
            )
    _supervisor_cycles(report, lines, owners)
    for name, cat in categories.items():
        if cat.owner and cat.owner not in owners:
            report.add(
                lines.get(f"category:{name}:owner"),
                f"owner of category '{name}': {unknown_owner(cat.owner)}",
            )
        for key in cat.forward_to:
            if key not in owners:
                report.add(
                    lines.get(f"forward:{name}:{key}"),
                    f"forward_to of '{name}': {unknown_owner(key)}",
                )
        _reminders(report, lines, name, cat, sections.hours)
        if cat.escalate is not None:
            for target in cat.escalate.to:
                if target not in ("supervisor", "center") and target not in owners:
                    report.add(
                        lines.get(f"escalate:{name}"),
                        f"escalate.to of '{name}': "
                        f"'{target}' is neither 'supervisor', 'center' nor an owner",
                    )
            boss = owners.get(cat.owner)
            if cat.escalate.to == ("supervisor",) and boss and boss.supervisor is None:
                report.add(
                    lines.get(f"escalate:{name}"),
                    f"'{name}' escalates only to the "
                    f"supervisor, but its owner '{cat.owner}' has none; add a "
                    f"supervisor or 'center' to escalate.to",
                )
    ranks = set(precedence)
    for name in precedence:
        if categories and name not in categories:
            report.add(
                lines.get("precedence"),
                f"precedence names '{name}', which is not a category{suggest(name, categories)}",
            )
    for rule in rules:
        if categories and rule.category not in categories:
            report.add(
                lines.get(f"rule:{rule.name}:category"),
                f"rule '{rule.name}': category "
                f"'{rule.category}' does not exist{suggest(rule.category, categories)}",
            )
        elif rule.category not in ranks and rule.opens_case:
            report.add(
                lines.get(f"rule:{rule.name}:category"),
                f"rule '{rule.name}' sets "
                f"'{rule.category}', which is missing from 'precedence:'; add it there",
            )
        if rule.owner is not None and rule.owner not in owners:
            report.add(
                lines.get(f"rule:{rule.name}:owner"),
                f"rule '{rule.name}': {unknown_owner(rule.owner)}",
            )
    rule_names = {r.name for r in rules}
    for ex in sections.examples:
        if categories and ex.expect not in categories:
            report.add(
                ex.line,
                f"example expects '{ex.expect}', which is not a category"
                f"{suggest(ex.expect, categories)}",
            )
        if ex.expect_rule is not None and ex.expect_rule not in rule_names | {NO_RULE}:
            report.add(
                ex.line,
                f"example expects rule '{ex.expect_rule}', which does not exist"
                f"{suggest(ex.expect_rule, rule_names)}",
            )

    if sections.digest is not None:
        for item in sections.digest.to:
            if "@" not in item and item not in owners:
                report.add(
                    lines.get("digest:to"),
                    f"digest.to: {item!r} is neither an owner key in `owners:` nor an address",
                )


def first_run_conflicts(report: Report, policy: PolicySettings, line: int | None) -> None:
    """`backfill_acknowledge: true` answers the old mail of a first run; only `first_run: triage`
    answers anything of it (history and skip mail nobody), so any other pairing contradicts."""
    if policy.backfill_acknowledge and policy.first_run is not FirstRun.TRIAGE:
        report.add(
            line,
            f"policy.backfill_acknowledge is true but policy.first_run is "
            f"{policy.first_run.value}, which never acknowledges old mail: set first_run: "
            f"triage, or backfill_acknowledge: false",
        )


def _supervisor_cycles(report: Report, lines: dict[str, int], owners: dict[str, Owner]) -> None:
    reported: set[str] = set()
    for start in owners:
        chain, key = [], start
        while key in owners and key not in chain:
            chain.append(key)
            key = owners[key].supervisor  # type: ignore[assignment]
        if key in chain and key not in reported:
            loop = chain[chain.index(key) :]
            reported.update(loop)
            report.add(
                lines.get(f"supervisor:{key}"),
                "supervisors form a loop: "
                + " → ".join([*loop, key])
                + "; escalation would never reach the top",
            )


def _hours(term: Term, hours: WorkingHours) -> float:
    """A term in working hours, roughly, just to compare terms written in different units."""
    day = (hours.end.hour * 60 + hours.end.minute - hours.start.hour * 60 - hours.start.minute) / 60
    day = day if day > 0 else 9.0  # contradictory hours are reported elsewhere
    per_unit = {"working_hours": 1.0, "working_days": day, "calendar_days": day * 5 / 7}
    return term.amount * per_unit[term.unit]


def _reminders(
    report: Report, lines: dict[str, int], name: str, cat: Category, hours: WorkingHours
) -> None:
    for i, step in enumerate(cat.reminders):
        if step.before is not None and _hours(step.before, hours) >= _hours(cat.deadline, hours):
            report.add(
                lines.get(f"reminder:{name}:{i}"),
                f"reminder 'before: {step.before.amount} {step.before.unit}' is not "
                f"shorter than the {cat.deadline.amount} {cat.deadline.unit} deadline "
                f"of '{name}', so it would fire before the case even opens",
            )
