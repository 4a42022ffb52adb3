"""Automatic mail in the period review: counted per day, apart from the cases."""

from __future__ import annotations

from datetime import UTC, date, datetime

from daemon.core.automatic import automatic_counts
from daemon.core.report import build_report, render

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_automatic_mail_is_counted_in_its_period_and_in_no_category() -> None:
    meta = {
        "automatic:2026-03-01": 4,
        "automatic:2026-03-05": 2,
        "automatic:2026-02-27": 9,
        "automatic:not-a-day": 1,
        "case_seq:2026": 17,
    }
    counts = automatic_counts(meta)
    assert counts == {date(2026, 3, 1): 4, date(2026, 3, 5): 2, date(2026, 2, 27): 9}
    report = build_report([], date(2026, 3, 1), date(2026, 3, 9), NOW, "UTC", automatic=counts)
    assert report.automatic == 6 and report.total == 0 and report.by["category"] == {}
    assert "automatic mail, no case" in render(report, "table", "category", {})
    assert '"automatic": 6' in render(report, "json", "category", {})
