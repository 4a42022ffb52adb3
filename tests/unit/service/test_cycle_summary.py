"""The cycle's one-line summary says what its numbers are (the admin reads it in the journal)."""

from __future__ import annotations

from daemon.service.cycle import CycleReport


def test_the_summary_names_what_each_number_counts() -> None:
    report = CycleReport(new=23, sent=6, filed=23)
    report.outcomes["case"] += 3
    report.outcomes["own"] += 20
    assert (
        report.summary()
        == "23 new messages: 3 new cases, 20 our own copies; 6 mails sent, 23 filed"
    )


def test_a_quiet_cycle_and_the_singulars_read_as_english() -> None:
    assert CycleReport().summary() == "0 new messages; 0 mails sent, 0 filed"
    report = CycleReport(new=1, sent=1, filed=1, deferred=2)
    report.outcomes["joined"] += 1
    assert report.summary() == "1 new message: 1 joined its case; 1 mail sent, 1 filed, 2 deferred"
