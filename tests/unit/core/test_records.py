"""The store's record types: aware times inside, the old strings in their documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from daemon.core.records import LedgerEntry, OutMail, OutState, outmail, parse_stamp, stamp

MSK = timezone(timedelta(hours=3))
KIRITIMATI = timezone(timedelta(hours=14))
NOW = datetime(2026, 5, 12, 22, 30, tzinfo=UTC)

#: Documents exactly as the store has always written them (before the record types had times).
OLD_MAIL = {
    "id": "<ack1@feedback.example>",
    "case_id": "FB-2026-000001",
    "kind": "ack",
    "sender": "feedback@feedback.example",
    "recipients": ["anna@customer.example", "feedback@feedback.example"],
    "raw": "Subject: x\r\n\r\nbody\r\n",
    "state": "queued",
    "attempts": 1,
    "next_try": "2026-05-12T23:59:59+03:00",
    "error": "421 try later",
    "created": "2026-05-12T20:00:00+00:00",
    "sent_at": "",
    "attempted_at": "2026-05-12T20:59:00+00:00",
}
OLD_LEDGER = {
    "uidvalidity": 7,
    "uid": 42,
    "message_id": "<m1@customer.example>",
    "outcome": "case",
    "folder": "Feedback/Complaints",
    "filed": True,
    "case_id": "FB-2026-000001",
    "reason": "",
    "at": "2026-05-12T20:00:00+00:00",
}


def test_documents_round_trip_key_for_key_and_byte_for_byte() -> None:
    mail = OutMail.from_doc(OLD_MAIL)
    assert mail.next_try == datetime(2026, 5, 12, 20, 59, 59, tzinfo=UTC)
    assert mail.sent_at is None and mail.state is OutState.QUEUED
    assert json.dumps(mail.to_doc()) == json.dumps(OLD_MAIL)
    entry = LedgerEntry.from_doc(OLD_LEDGER)
    assert entry.at == datetime(2026, 5, 12, 20, tzinfo=UTC)
    assert json.dumps(entry.to_doc()) == json.dumps(OLD_LEDGER)
    unstamped = LedgerEntry.from_doc(OLD_LEDGER | {"at": ""})
    assert unstamped.at is None and unstamped.to_doc()["at"] == ""


@pytest.mark.parametrize(
    "build",
    [
        lambda t: OutMail("<x@y>", None, "ack", "f@y", ("a@y",), "raw", next_try=t),
        lambda t: OutMail("<x@y>", None, "ack", "f@y", ("a@y",), "raw", created=t),
        lambda t: OutMail("<x@y>", None, "ack", "f@y", ("a@y",), "raw", sent_at=t),
        lambda t: OutMail("<x@y>", None, "ack", "f@y", ("a@y",), "raw", attempted_at=t),
        lambda t: LedgerEntry(1, 1, "<m@y>", "case", "F", False, at=t),
        lambda t: outmail(mail_id="<x@y>", kind="ack", sender="f@y", to=("a@y",), raw="", now=t),
    ],
)
def test_a_naive_time_or_a_string_is_refused_where_it_enters(build) -> None:
    with pytest.raises(ValueError, match="offset"):
        build(datetime(2026, 5, 12, 22, 30))
    with pytest.raises(ValueError, match="datetime"):
        build("2026-05-12T22:30:00+00:00")


def test_a_document_time_without_offset_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="mail next_try"):
        OutMail.from_doc(OLD_MAIL | {"next_try": "2026-05-12T23:59:59"})
    with pytest.raises(ValueError, match="not an ISO 8601"):
        parse_stamp("yesterday", "x")


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError):
        OutMail.from_doc(OLD_MAIL | {"state": "lost"})


def test_times_are_kept_to_the_second_as_the_documents_always_were() -> None:
    t = datetime(2026, 5, 12, 22, 30, 5, 999_999, tzinfo=MSK)
    entry = LedgerEntry(1, 1, "", "case", "F", False, at=t)
    assert entry.at == t.replace(microsecond=0)
    assert stamp(entry.at) == "2026-05-12T22:30:05+03:00"
    assert stamp(None) == ""


def test_the_factory_copies_the_feedback_address_and_is_due_at_once() -> None:
    t = datetime(2026, 5, 12, 22, 30, 5, 123, tzinfo=UTC)
    mail = outmail(
        mail_id="<n@f.example>",
        kind="notice",
        sender="feedback@f.example",
        to=("owner@f.example",),
        raw="raw",
        now=t,
        case_id="FB-2026-000001",
    )
    assert mail.recipients == ("owner@f.example", "feedback@f.example")
    assert mail.created == mail.next_try == t.replace(microsecond=0)
    assert (mail.state, mail.attempts, mail.case_id) == (OutState.QUEUED, 0, "FB-2026-000001")
    assert mail.due(t)
    assert mail.to_doc()["created"] == "2026-05-12T22:30:05+00:00"


@pytest.mark.parametrize("clock", [UTC, KIRITIMATI], ids=["utc", "+14:00"])
def test_a_mail_is_due_by_the_instant_not_by_the_text(clock) -> None:
    now = NOW.astimezone(clock)  # 22:30Z, 1.5 h after the retry time below
    retry = OutMail.from_doc(OLD_MAIL)  # next_try 23:59:59+03:00 = 20:59:59Z
    assert retry.due(now)
    later = OutMail.from_doc(OLD_MAIL | {"next_try": "2026-05-13T10:00:00+03:00"})  # 07:00Z
    assert not later.due(now)
    assert not OutMail.from_doc(OLD_MAIL | {"state": "sent"}).due(now)
