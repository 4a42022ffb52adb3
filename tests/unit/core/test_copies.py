"""Our own copies on their way back: which may still be queued, and what is a gap then."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from daemon.core.copies import copies_on_their_way, unexplained
from daemon.core.records import OutMail, OutState, outmail

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
GRACE = timedelta(minutes=5)
US = "feedback@example.test"


def mail(n: int, state: OutState = OutState.SENT, ago: timedelta = timedelta(0)) -> OutMail:
    queued = outmail(
        mail_id=f"<{n}@example.test>",
        kind="ack",
        sender=US,
        to=[f"customer{n}@example.test"],
        raw="Subject: x\r\n\r\nbody\r\n",
        now=NOW - ago - timedelta(seconds=1),
    )
    at = NOW - ago
    if state == OutState.SENT:
        return replace(queued, state=state, attempted_at=at, sent_at=at)
    if state == OutState.SENDING:
        return replace(queued, state=state, attempted_at=at)
    return queued if state == OutState.QUEUED else replace(queued, state=state)


def ids(found: list[OutMail]) -> list[str]:
    return [m.id for m in found]


def test_mail_just_sent_whose_copy_has_not_been_taken_in_is_on_its_way() -> None:
    sent = [mail(1), mail(2, ago=timedelta(minutes=4))]
    assert ids(copies_on_their_way(sent, set(), NOW, GRACE)) == [
        "<1@example.test>",
        "<2@example.test>",
    ]


def test_a_copy_the_ledger_has_taken_in_is_not_waited_for() -> None:
    sent = [mail(1), mail(2)]
    assert ids(copies_on_their_way(sent, {"<1@example.test>"}, NOW, GRACE)) == ["<2@example.test>"]


def test_a_copy_still_missing_after_the_grace_is_no_longer_on_its_way() -> None:
    assert copies_on_their_way([mail(1, ago=GRACE)], set(), NOW, GRACE) == []
    assert copies_on_their_way([mail(1, ago=GRACE + timedelta(hours=1))], set(), NOW, GRACE) == []


def test_a_mail_maybe_sent_may_bring_its_copy_but_queued_or_refused_mail_does_not() -> None:
    sent = [mail(1, OutState.SENDING), mail(2, OutState.QUEUED), mail(3, OutState.FAILED)]
    assert ids(copies_on_their_way(sent, set(), NOW, GRACE)) == ["<1@example.test>"]


def test_a_mail_without_a_copy_to_us_brings_none_back() -> None:
    theirs = replace(mail(1), recipients=("customer1@example.test",))
    assert copies_on_their_way([theirs], set(), NOW, GRACE) == []


def test_the_copy_is_matched_whatever_the_case_of_our_address() -> None:
    shouting = replace(mail(1), recipients=("customer1@example.test", US.upper()))
    assert ids(copies_on_their_way([shouting], set(), NOW, GRACE)) == ["<1@example.test>"]


def test_since_keeps_only_the_mail_handed_over_from_then_on() -> None:
    sent = [mail(1), mail(2, ago=timedelta(seconds=1)), mail(3, OutState.SENDING)]
    # The store keeps whole seconds: a cycle that began at NOW + 0.4 s sent its mail "at NOW".
    assert ids(copies_on_their_way(sent, set(), NOW, GRACE, since=NOW)) == [
        "<1@example.test>",
        "<3@example.test>",
    ]
    assert ids(
        copies_on_their_way(sent, set(), NOW, GRACE, since=NOW.replace(microsecond=400_000))
    ) == [
        "<1@example.test>",
        "<3@example.test>",
    ]


def test_unknown_messages_that_copies_on_their_way_explain_are_no_gap() -> None:
    assert unexplained(unknown=3, on_their_way=3) == 0
    assert unexplained(unknown=2, on_their_way=6) == 0
    assert unexplained(unknown=0, on_their_way=0) == 0


def test_unknown_messages_beyond_the_copies_on_their_way_are_a_gap() -> None:
    assert unexplained(unknown=4, on_their_way=3) == 1
    assert unexplained(unknown=2, on_their_way=0) == 2
