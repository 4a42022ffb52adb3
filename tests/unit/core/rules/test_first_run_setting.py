"""`policy.first_run`: history by default, each choice read, a bad one named with its line, and
the one contradiction with `backfill_acknowledge` refused."""

from __future__ import annotations

import pytest
from support import REPO

from daemon.adapters.morphology import default_lemmatizer
from daemon.core.rules import FirstRun, build

SHIPPED = (REPO / "rules.yaml").read_text(encoding="utf-8")
LINE = next(i for i, ln in enumerate(SHIPPED.splitlines(), 1) if "first_run:" in ln)


def test_the_shipped_rules_say_history() -> None:
    built = build(SHIPPED, "rules.yaml", default_lemmatizer())
    assert built.book is not None and built.book.policy.first_run is FirstRun.HISTORY


@pytest.mark.parametrize("mode", list(FirstRun))
def test_each_choice_is_read(mode: FirstRun) -> None:
    text = SHIPPED.replace("first_run: history", f"first_run: {mode.value}")
    built = build(text, "rules.yaml", default_lemmatizer())
    assert built.book is not None and built.book.policy.first_run is mode


def test_a_bad_choice_is_named_with_its_file_and_line() -> None:
    built = build(
        SHIPPED.replace("first_run: history", "first_run: import"),
        "rules.yaml",
        default_lemmatizer(),
    )
    [problem] = built.report.problems
    assert problem.line == LINE
    assert "first_run: 'import' is not one of history | triage | skip" in str(problem)


def test_acknowledging_old_mail_needs_first_run_triage() -> None:
    text = SHIPPED.replace("backfill_acknowledge: false", "backfill_acknowledge: true")
    [problem] = build(text, "rules.yaml", default_lemmatizer()).report.problems
    assert "set first_run: triage, or backfill_acknowledge: false" in str(problem)
    fine = text.replace("first_run: history", "first_run: triage")
    assert build(fine, "rules.yaml", default_lemmatizer()).report.problems == []
