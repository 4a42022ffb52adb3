"""The send rate and order: sliding windows over aware times, what a throttle reply is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.core.records import outmail
from daemon.core.sendrate import (
    Rate,
    Use,
    fits,
    is_throttle,
    is_too_big,
    opens_at,
    parse_rates,
    room,
    send_order,
    slowed,
)

T0 = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
MIN, DAY = timedelta(minutes=1), timedelta(days=1)


@pytest.mark.parametrize(
    "text, rates",
    [
        ("30/min,10000/day", (Rate(30, MIN), Rate(10000, DAY))),
        (" 5 / s ", (Rate(5, timedelta(seconds=1)),)),
        ("100/2s", (Rate(100, timedelta(seconds=2)),)),
        ("500/hour", (Rate(500, timedelta(hours=1)),)),
        ("", ()),
    ],
)
def test_rates_are_read_as_written(text: str, rates: tuple[Rate, ...]) -> None:
    assert parse_rates(text) == rates


@pytest.mark.parametrize("text", ["30", "30/minute", "abc/min", "0/min", "30/0min", "-1/s"])
def test_a_rate_that_cannot_be_read_says_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"30/min,10000/day|at least 1"):
        parse_rates(text)


def test_the_window_slides_rather_than_resetting_on_the_minute() -> None:
    rates = (Rate(4, MIN),)
    uses = [Use(T0, 2), Use(T0 + timedelta(seconds=30), 2)]
    assert room(rates, uses, T0 + timedelta(seconds=31)) == 0
    assert not fits(rates, uses, T0 + timedelta(seconds=59), 2)
    # The first use leaves the window a minute after it was made, not at the top of a minute.
    assert opens_at(rates, uses, T0 + timedelta(seconds=31), 2) == T0 + MIN
    assert fits(rates, uses, T0 + MIN, 2)
    assert room(rates, uses, T0 + MIN) == 2


def test_every_window_must_have_room_and_the_longest_wait_wins() -> None:
    rates = (Rate(30, MIN), Rate(10, DAY))
    uses = [Use(T0, 10)]
    assert room(rates, uses, T0 + timedelta(hours=1)) == 0
    assert opens_at(rates, uses, T0 + timedelta(hours=1), 2) == T0 + DAY


def test_a_mail_to_more_recipients_than_a_limit_goes_once_the_window_is_empty() -> None:
    rates = (Rate(1, MIN),)
    assert fits(rates, [], T0, 2)
    assert not fits(rates, [Use(T0, 1)], T0 + timedelta(seconds=1), 2)
    assert opens_at(rates, [Use(T0, 1)], T0 + timedelta(seconds=1), 2) == T0 + MIN


def test_no_rate_is_no_limit() -> None:
    assert room((), [Use(T0, 10**6)], T0) is None
    assert fits((), [Use(T0, 10**6)], T0, 10**6)


def test_slowed_halves_each_rate_and_keeps_one() -> None:
    assert slowed((Rate(30, MIN), Rate(1, DAY))) == (Rate(15, MIN), Rate(1, DAY))


def test_acknowledgments_go_first_then_notices_reminders_digests_oldest_first() -> None:
    def mail(kind: str, minutes: int) -> object:
        return outmail(
            mail_id=f"<{kind}{minutes}@x>",
            kind=kind,
            sender="fb@x.test",
            to=("a@x.test",),
            raw="",
            now=T0 + timedelta(minutes=minutes),
        )

    mails = [
        mail("digest", 0),
        mail("reminder", 1),
        mail("notice", 2),
        mail("ack", 5),
        mail("escalation", 0),
        mail("ack", 3),
        mail("something-new", 0),
    ]
    order = [m.id for m in send_order(mails)]  # type: ignore[attr-defined]
    assert order == [
        "<ack3@x>",
        "<ack5@x>",
        "<notice2@x>",
        "<escalation0@x>",
        "<reminder1@x>",
        "<digest0@x>",
        "<something-new0@x>",
    ]


@pytest.mark.parametrize(
    "code, text",
    [
        (421, "4.7.0 Try again later, closing connection."),  # Gmail
        (450, "4.7.0 rate limit exceeded"),
        (451, "4.3.0 local error"),
        (452, "4.5.3 Too many recipients"),
        (454, "4.7.0 Temporary authentication failure"),
        (550, "5.7.1 Daily user sending limit exceeded"),
        (550, "5.4.5 Daily user sending quota exceeded."),  # Gmail
        (554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"),  # M365
        (554, "5.7.0 Too many messages, please try again later"),
    ],
)
def test_replies_that_mean_slow_down(code: int, text: str) -> None:
    assert is_throttle(code, text)


@pytest.mark.parametrize(
    "code, text",
    [
        (550, "5.1.1 no such user"),
        (552, "5.2.2 mailbox full, quota exceeded"),
        (554, "5.7.1 Relay access denied"),
        (535, "5.7.8 Authentication credentials invalid"),
        (553, "5.1.8 sender address rejected"),
    ],
)
def test_replies_that_mean_no(code: int, text: str) -> None:
    assert not is_throttle(code, text)


def test_refusals_for_size() -> None:
    assert is_too_big(552, "5.3.4 Message size exceeds fixed maximum message size")
    assert is_too_big(554, "5.3.4 Message too big for system")
    assert is_too_big(550, "5.2.3 Message length exceeds administrative limit")
    assert not is_too_big(550, "5.1.1 no such user")
