"""`feedbackd status` counts a case as overdue by the instant it fell due, not by its text.

A case due at 23:59:59+03:00 checked at 22:30Z is 1.5 h overdue; compared as ISO strings it was
not counted, and against a +14:00 clock a case still hours ahead was counted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from daemon.adapters.storage.status_file import PollState
from daemon.adapters.storage.store import Store
from daemon.core.cases import apply, open_case
from daemon.service.health import WARNING, assess

MSK = timezone(timedelta(hours=3))
KIRITIMATI = timezone(timedelta(hours=14))
NOW = datetime(2026, 5, 12, 22, 30, tzinfo=UTC)


def put_case(store: Store, due: datetime) -> str:
    received = due - timedelta(days=2)
    case = open_case(
        store.next_case_id(2026),
        category="complaint",
        owner="support",
        received=received,
        due=due,
        sender="a@x.test",
        sender_name="A",
        subject="s",
        message_id=f"<{due.isoformat()}@x>",
        language="en",
        rule="r",
    )
    store.put_case(case)
    return case.id


@pytest.mark.parametrize("clock", [UTC, KIRITIMATI], ids=["utc", "+14:00"])
def test_assess_counts_overdue_cases_by_the_instant(clock) -> None:
    store = Store(None)
    put_case(store, datetime(2026, 5, 12, 23, 59, 59, tzinfo=MSK))  # 20:59:59Z: overdue
    put_case(store, datetime(2026, 5, 13, 10, 0, tzinfo=MSK))  # 07:00Z tomorrow: not yet
    answered = put_case(store, datetime(2026, 5, 12, 12, 0, tzinfo=MSK))
    store.update_case(answered, lambda c: apply(c, "answered", NOW - timedelta(days=1)))
    now = NOW.astimezone(clock)
    health = assess(store, PollState(last_success=now.isoformat(timespec="seconds")), now)
    assert (health.open_cases, health.overdue_cases) == (2, 1)
    assert health.level == WARNING and "1 cases overdue" in health.problems
