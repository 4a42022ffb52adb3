"""What the method's clock duties cost each cycle on a large live store.

    python bench/bench_method.py                 # 10,000 closed cases
    python bench/bench_method.py --cases 50000

Every cycle looks for explanation requests and reminders owed (cases with an
`explanation_asked` event) and for closed cases to ask "was it solved?" (closed since the
feature first ran, not asked yet). Both choose their cases on the store's documents
(`Store.cases_with`) instead of building every case; the baseline is what building every
closed case costs (`Store.cases(CLOSED)`), measured in the same run.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.storage.store import Store
from daemon.core import cases
from daemon.service.duties import SOLVED_SINCE, queue_explanations, queue_solved_questions
from daemon.service.intake import Desk

NOW = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)


def store_of(n: int) -> Store:
    """N complaints closed with a verdict two days ago, one in a hundred with an explanation."""
    store = Store(None)
    for i in range(n):
        case = cases.open_case(
            cases.case_id(2026, i + 1),
            category="complaint",
            owner="support",
            received=NOW - timedelta(days=3),
            due=NOW - timedelta(days=1),
            sender=f"c{i}@customer.test",
            sender_name="",
            subject="Жалоба",
            message_id=f"<{i}@customer.test>",
            language="ru",
            rule="complaint",
        )
        case = cases.apply(case, "ack_sent", NOW - timedelta(days=3), message_id=f"<a{i}@fb>")
        if i % 100 == 0:
            due = (NOW + timedelta(days=2)).isoformat()
            case = cases.apply(case, "explanation_asked", NOW, employee="e@x.test", due=due)
            case = cases.apply(case, "explanation_sent", NOW, employee="e@x.test", key="request")
        case = cases.apply(case, "closed", NOW - timedelta(days=2), verdict="justified")
        store.put_case(case)
    store.set_meta_time(SOLVED_SINCE, NOW - timedelta(days=1))
    return store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    desk = Desk(
        store_of(args.cases),
        load_rulebook("rules.yaml"),
        load_templates("templates"),
        "feedback@example.test",
    )
    for name, run in (
        ("baseline: build every closed case", lambda: desk.store.cases(cases.CLOSED)),
        ("explanation requests and reminders", lambda: queue_explanations(desk, NOW)),
        ("'was it solved?' questions", lambda: queue_solved_questions(desk, NOW)),
    ):
        began = time.perf_counter()
        run()
        print(f"{name:40} {time.perf_counter() - began:7.3f} s  ({args.cases:,} closed cases)")


if __name__ == "__main__":
    main()
