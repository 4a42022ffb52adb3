"""A case: its lifecycle table, typed states and events, aware times, and what "overdue" means."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from daemon.core import cases
from daemon.core.cases import (
    LIFECYCLE,
    Case,
    CaseStatus,
    Event,
    IllegalTransition,
    apply,
    is_overdue,
    open_case,
)
from daemon.errors import FeedbackdError

MSK = timezone(timedelta(hours=3))
KIRITIMATI = timezone(timedelta(hours=14))
RECEIVED = datetime(2026, 5, 11, 9, 0, tzinfo=MSK)
DUE = datetime(2026, 5, 12, 23, 59, 59, tzinfo=MSK)  # 20:59:59Z
LATE_EVENING = datetime(2026, 5, 12, 22, 30, tzinfo=UTC)  # 1.5 h after DUE

#: A case document as the store has always written it.
OLD_CASE = {
    "id": "FB-2026-000001",
    "category": "complaint",
    "owner": "support",
    "status": "open",
    "received": "2026-05-11T09:00:00+03:00",
    "due": "2026-05-12T23:59:59+03:00",
    "sender": "anna@customer.example",
    "sender_name": "Anna",
    "subject": "Broken",
    "message_id": "<m1@customer.example>",
    "language": "en",
    "rule": "complaint-en",
    "tags": ["delivery"],
    "thread": ["<m1@customer.example>", "<ack1@feedback.example>"],
    "events": [
        {
            "at": "2026-05-11T09:00:00+03:00",
            "who": "feedbackd",
            "what": "opened",
            "data": {"category": "complaint", "due": "2026-05-12T23:59:59+03:00"},
        },
        {"at": "2026-05-11T06:00:01+00:00", "who": "feedbackd", "what": "ack_sent", "data": {}},
    ],
}


def a_case(due: datetime = DUE) -> Case:
    return open_case(
        "FB-2026-000001",
        category="complaint",
        owner="support",
        received=RECEIVED,
        due=due,
        sender="anna@customer.example",
        sender_name="Anna",
        subject="Broken",
        message_id="<m1@customer.example>",
        language="en",
        rule="complaint-en",
    )


def test_states_are_the_store_strings() -> None:
    assert [s.value for s in CaseStatus] == ["open", "answered", "closed"]
    assert all(isinstance(k[0], CaseStatus) for k in LIFECYCLE)
    assert set(LIFECYCLE.values()) <= set(CaseStatus)


def test_every_event_of_the_table_is_a_known_kind() -> None:
    assert {what for _, what in LIFECYCLE} | {"opened"} == cases.EVENT_KINDS
    assert cases.event_kind("closed") == "closed"
    with pytest.raises(ValueError, match="unknown case event"):
        cases.event_kind("deleted")


def test_an_illegal_event_is_a_feedbackd_error_with_its_facts() -> None:
    closed = apply(a_case(), "closed", RECEIVED)
    with pytest.raises(IllegalTransition) as err:
        apply(closed, "answered", RECEIVED)
    assert isinstance(err.value, FeedbackdError)
    assert (err.value.case_id, err.value.state, err.value.event) == (
        "FB-2026-000001",
        "closed",
        "answered",
    )
    assert str(err.value) == "FB-2026-000001: cannot apply 'answered' to a case that is closed"


def test_a_naive_or_textual_time_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="due must carry its UTC offset"):
        a_case(due=datetime(2026, 5, 12, 23, 59, 59))
    with pytest.raises(ValueError, match="datetime"):
        replace(a_case(), received="2026-05-11T09:00:00+03:00")
    with pytest.raises(ValueError, match="offset"):
        apply(a_case(), "note", datetime(2026, 5, 12, 10, 0), text="x")
    with pytest.raises(ValueError, match="unknown case event"):
        Event(RECEIVED, "feedbackd", "deleted")  # type: ignore[arg-type]


def test_events_keep_aware_times_to_the_second() -> None:
    at = datetime(2026, 5, 12, 10, 0, 7, 654_321, tzinfo=UTC)
    case = apply(a_case(), "note", at, who="anna", text="called back")
    assert case.events[-1].at == at.replace(microsecond=0)
    assert case.events[-1].what == "note" and case.status is CaseStatus.OPEN
    assert case.events[0].at == RECEIVED and case.events[0].data["due"] == DUE.isoformat()


def test_an_old_document_loads_and_is_written_back_byte_for_byte() -> None:
    case = Case.from_doc(OLD_CASE)
    assert case.status is CaseStatus.OPEN
    assert case.due == datetime(2026, 5, 12, 20, 59, 59, tzinfo=UTC)
    assert case.events[1].at == datetime(2026, 5, 11, 6, 0, 1, tzinfo=UTC)
    assert case.tags == ("delivery",)
    assert json.dumps(case.to_doc()) == json.dumps(OLD_CASE)
    assert Case.from_doc(case.to_doc()) == case


def test_a_new_case_writes_the_strings_the_old_code_wrote() -> None:
    doc = a_case().to_doc()
    assert (doc["status"], doc["received"], doc["due"]) == (
        "open",
        "2026-05-11T09:00:00+03:00",
        "2026-05-12T23:59:59+03:00",
    )
    assert doc["events"][0]["at"] == "2026-05-11T09:00:00+03:00"
    assert type(doc["status"]) is str


@pytest.mark.parametrize("clock", [UTC, KIRITIMATI], ids=["utc", "+14:00"])
def test_overdue_compares_instants_whatever_the_offsets(clock) -> None:
    now = LATE_EVENING.astimezone(clock)
    assert is_overdue(a_case(), now)  # due 23:59:59+03:00 = 20:59:59Z, 1.5 h ago
    tomorrow = a_case(due=datetime(2026, 5, 13, 10, 0, tzinfo=MSK))  # 07:00Z, still ahead
    assert not is_overdue(tomorrow, now)
    assert not is_overdue(apply(a_case(), "answered", RECEIVED), now)
    assert not is_overdue(a_case(), DUE)  # at the due moment itself it is not yet overdue


def test_overdue_needs_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="offset"):
        is_overdue(a_case(), datetime(2026, 5, 12, 22, 30))


def test_a_document_shares_nothing_mutable_with_its_case() -> None:
    """to_doc (written out, no longer asdict) copies each event's data, as asdict did: a
    document changed by its reader leaves the case as it was."""
    case = Case.from_doc(json.loads(json.dumps(OLD_CASE)))
    doc = case.to_doc()
    doc["events"][0]["data"]["category"] = "changed"
    assert case.events[0].data["category"] == "complaint"
    assert json.dumps(case.to_doc()) == json.dumps(OLD_CASE)
