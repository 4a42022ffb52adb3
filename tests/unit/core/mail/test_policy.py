"""Each loop-protection rule on hand-made messages: raw bytes through `message.parse`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from daemon.core.mail.message import Message, parse
from daemon.core.mail.policy import (
    KINDS,
    SenderHistory,
    Verdict,
    reply_target,
    should_acknowledge,
    validate_policy_settings,
)
from daemon.core.rules import PolicySettings

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
OWN = frozenset({"feedback@company.example"})
SETTINGS = PolicySettings()


def mail(
    *headers: str,
    body: str = "Hello, your delivery was late again.\n",
    content_type: str = "text/plain; charset=utf-8",
    sender: str = "From: Anna Petrova <anna@customer.example>",
) -> Message:
    """A message from a person unless the extra headers say otherwise."""
    lines = [
        sender,
        "To: feedback@company.example",
        "Subject: late delivery",
        "Message-ID: <1@customer.example>",
        "Date: Mon, 10 Mar 2025 11:00:00 +0000",
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
        *headers,
    ]
    return parse(("\r\n".join(lines) + "\r\n\r\n" + body).encode())


def verdict(
    message: Message,
    history: SenderHistory | None = None,
    settings: PolicySettings = SETTINGS,
    now: datetime = NOW,
) -> Verdict:
    return should_acknowledge(message, history or SenderHistory(), now, settings, OWN)


def test_a_person_is_acknowledged_at_the_from_address() -> None:
    v = verdict(mail())
    assert v.acknowledge and v.kind == "person"
    assert v.reply_to == "anna@customer.example"
    assert v.reasons


def test_reply_to_is_honoured_for_a_person() -> None:
    v = verdict(mail("Reply-To: Anna at home <anna@home.example>"))
    assert v.acknowledge and v.reply_to == "anna@home.example"
    assert "Reply-To" in v.reasons[0]


def test_reply_to_our_own_or_a_noreply_address_falls_back_to_the_next_candidate() -> None:
    m = mail("Reply-To: feedback@company.example, no-reply@shop.example, anna@home.example")
    assert verdict(m).reply_to == "anna@home.example"
    m = mail("Reply-To: feedback@company.example")
    assert verdict(m).reply_to == "anna@customer.example"


def test_reply_to_is_ignored_on_automatic_mail() -> None:
    v = verdict(mail("Auto-Submitted: auto-replied", "Reply-To: victim@elsewhere.example"))
    assert not v.acknowledge and v.reply_to is None


@pytest.mark.parametrize(
    "value",
    ["auto-replied", "auto-generated", "auto-generated (failure)", "auto-notified", "AUTO-REPLIED"],
)
def test_auto_submitted_other_than_no_is_not_answered(value: str) -> None:
    v = verdict(mail(f"Auto-Submitted: {value}"))
    assert (v.acknowledge, v.kind) == (False, "auto_reply")
    assert any("Auto-Submitted" in r for r in v.reasons)


def test_auto_submitted_no_is_a_person() -> None:
    assert verdict(mail("Auto-Submitted: no")).acknowledge


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Precedence: bulk", "bulk"),
        ("Precedence: junk", "bulk"),
        ("Precedence: list", "list"),
        ("Precedence: auto_reply", "auto_reply"),
        ("Precedence: BULK", "bulk"),
        ("X-Precedence: bulk", "bulk"),
        ("X-Precedence: auto_reply", "auto_reply"),
    ],
)
def test_precedence(header: str, kind: str) -> None:
    v = verdict(mail(header))
    assert (v.acknowledge, v.kind) == (False, kind)


def test_unknown_precedence_is_not_evidence() -> None:
    assert verdict(mail("Precedence: first-class")).acknowledge


@pytest.mark.parametrize(
    "header",
    [
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "X-Autoreply-From: anna@customer.example",
        "X-Mail-Autoreply: 1",
        "X-Apple-Action: VACATION",
    ],
)
def test_autoresponder_headers(header: str) -> None:
    v = verdict(mail(header))
    assert (v.acknowledge, v.kind) == (False, "auto_reply")


def test_an_explicit_no_on_an_autoresponder_header_is_a_person() -> None:
    assert verdict(mail("X-Autoreply: no")).acknowledge


@pytest.mark.parametrize("value", ["All", "OOF", "AutoReply", "DR, OOF", "OOF, AutoReply, DR"])
def test_auto_response_suppress_is_obeyed(value: str) -> None:
    v = verdict(mail(f"X-Auto-Response-Suppress: {value}"))
    assert (v.acknowledge, v.kind) == (False, "auto_reply")


def test_auto_response_suppress_of_receipts_only_does_not_stop_an_ack() -> None:
    assert verdict(mail("X-Auto-Response-Suppress: DR, NDR, RN, NRN")).acknowledge


@pytest.mark.parametrize(
    "header",
    [
        "List-Id: Customers <customers.lists.example>",
        "List-Unsubscribe: <mailto:leave@lists.example>",
        "List-Post: <mailto:customers@lists.example>",
        "List-Help: <mailto:help@lists.example>",
        "Mailing-List: contact customers-help@lists.example; run by ezmlm",
        "X-Mailing-List: <customers@lists.example>",
    ],
)
def test_list_headers(header: str) -> None:
    v = verdict(mail(header))
    assert (v.acknowledge, v.kind) == (False, "list")


@pytest.mark.parametrize(
    "return_path",
    ["<>", "< >", "<MAILER-DAEMON@mx.example>", "<postmaster@mx.example>", "<MAILER-DAEMON>"],
)
def test_mail_system_return_paths(return_path: str) -> None:
    v = verdict(mail(f"Return-Path: {return_path}"))
    assert (v.acknowledge, v.kind) == (False, "bounce")


def test_an_ordinary_return_path_is_fine() -> None:
    assert verdict(mail("Return-Path: <anna@customer.example>")).acknowledge


@pytest.mark.parametrize(
    "return_path",
    [
        "<customers-request@lists.example>",
        "<owner-customers@lists.example>",
        "<LISTSERV@lists.example>",
        "<majordomo@lists.example>",
    ],
)
def test_list_software_return_paths_are_not_answered(return_path: str) -> None:
    """RFC 3834 §3.2, RFC 5230 §4.6: the envelope sender of list software, even when From and
    Reply-To look like a person's."""
    v = verdict(mail(f"Return-Path: {return_path}"))
    assert (v.acknowledge, v.kind) == (False, "list")
    assert return_path.strip("<>").lower() in " ".join(v.reasons)


def test_mailer_daemon_return_path_under_a_persons_from_is_not_answered() -> None:
    v = verdict(mail("Return-Path: <mailer-daemon@mx.customer.example>"))
    assert (v.acknowledge, v.kind) == (False, "bounce")


@pytest.mark.parametrize(
    "return_path", ["<feedback@company.example>", "<Feedback+case-7@Company.Example>"]
)
def test_our_own_return_path_is_not_answered(return_path: str) -> None:
    """Mail that left through us and came back (a forward, a redirect) is ours, whatever From."""
    v = verdict(mail(f"Return-Path: {return_path}"))
    assert (v.acknowledge, v.kind) == (False, "own")


@pytest.mark.parametrize(
    "header",
    [
        "X-Autoresponse: yes",
        "X-Autoresponder: vacation",
        "X-Autogenerated: Reply",
        "X-AutoSubmitted: auto-replied",
        "X-Cron-Env: <SHELL=/bin/sh>",
        "X-Loop: yes",
    ],
)
def test_autoresponder_and_cron_headers_are_not_answered(header: str) -> None:
    v = verdict(mail(header))
    assert (v.acknowledge, v.kind) == (False, "auto_reply")
    assert header.split(":")[0] in " ".join(v.reasons)


@pytest.mark.parametrize(
    "header",
    [
        "X-Autoresponse: no",
        "X-AutoSubmitted: no",
        "X-Autogenerated: Forward",
        "X-Loop: anna@customer.example",
        "Return-Path: <owner@customer.example>",
        "Return-Path: <requests@customer.example>",
    ],
)
def test_the_same_headers_on_a_persons_mail_are_answered(header: str) -> None:
    """A forwarding rule (X-Autogenerated: Forward, procmail's X-Loop with an address) and a
    person called owner@ or requests@ are still people."""
    assert verdict(mail(header)).acknowledge


@pytest.mark.parametrize(
    "sender",
    [
        "From: MAILER-DAEMON@mx.example",
        "From: Mail Delivery System <mx@mx.example>",
        "From: Postmaster <postmaster@mx.example>",
    ],
)
def test_mail_system_senders(sender: str) -> None:
    v = verdict(mail(sender=sender))
    assert (v.acknowledge, v.kind) == (False, "bounce")


@pytest.mark.parametrize(
    "addr",
    [
        "no-reply@shop.example",
        "noreply@shop.example",
        "do-not-reply@bank.example",
        "donotreply@bank.example",
        "NoReply+orders@shop.example",
        "bounces-1234@esp.example",
    ],
)
def test_noreply_senders(addr: str) -> None:
    v = verdict(mail(sender=f"From: Shop <{addr}>"))
    assert (v.acknowledge, v.kind) == (False, "noreply")


def test_noreply_patterns_come_from_settings() -> None:
    settings = dataclasses.replace(SETTINGS, noreply_patterns=(r"^robot@",))
    assert not verdict(mail(sender="From: robot@shop.example"), settings=settings).acknowledge
    assert verdict(mail(sender="From: no-reply@shop.example"), settings=settings).acknowledge


def test_a_person_named_like_a_robot_is_still_a_person() -> None:
    # "reply" and "bounce" inside a longer local part do not match the anchored pattern.
    assert verdict(mail(sender="From: replyguy@customer.example")).acknowledge
    assert verdict(mail(sender="From: bouncer.anna@customer.example")).acknowledge


@pytest.mark.parametrize(
    "sender",
    [
        "From: feedback@company.example",
        "From: FEEDBACK@Company.Example",
        "From: feedback+case-12@company.example",
    ],
)
def test_our_own_address_is_never_answered(sender: str) -> None:
    v = verdict(mail(sender=sender))
    assert (v.acknowledge, v.kind) == (False, "own")


def test_own_addresses_from_settings_count_too() -> None:
    settings = dataclasses.replace(SETTINGS, own_addresses=("support@company.example",))
    v = verdict(mail(sender="From: support@company.example"), settings=settings)
    assert (v.acknowledge, v.kind) == (False, "own")


def test_x_loop_naming_us_is_a_loop() -> None:
    v = verdict(mail("X-Loop: feedback@company.example"))
    assert (v.acknowledge, v.kind) == (False, "own")


DSN_BODY = (
    "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
    "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
    "Final-Recipient: rfc822; x@y.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n"
)


@pytest.mark.parametrize(
    ("report_type", "kind"),
    [
        ("delivery-status", "bounce"),
        ("feedback-report", "report"),
        ("disposition-notification", "report"),
        ("something-new", "bounce"),
    ],
)
def test_multipart_report(report_type: str, kind: str) -> None:
    ctype = f'multipart/report; report-type={report_type}; boundary="B"'
    v = verdict(mail(content_type=ctype, body=DSN_BODY))
    assert (v.acknowledge, v.kind) == (False, kind)


def test_bounce_wording_in_subject_and_body_together_is_a_bounce() -> None:
    m = parse(
        b"From: gateway@mx.example\r\nTo: feedback@company.example\r\n"
        b"Subject: Returned mail: see transcript for details\r\n\r\n"
        b"----- The following addresses had permanent fatal errors -----\r\n<x@y>\r\n"
    )
    v = verdict(m)
    assert (v.acknowledge, v.kind) == (False, "bounce")


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Undeliverable parcel", "Your courier says my parcel is undeliverable. Why?"),
        ("Fwd: Returned mail: see transcript for details", "> User unknown\nWhat does this mean?"),
        ("Hello", "Your newsletter said: user unknown. Please fix my account."),
    ],
)
def test_bounce_words_alone_do_not_silence_a_person(subject: str, body: str) -> None:
    m = parse(f"From: anna@customer.example\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode())
    assert verdict(m).acknowledge


@pytest.mark.parametrize(
    "header",
    [
        "Feedback-ID: 1.us-west-2.abc=:AmazonSES",  # Amazon WorkMail users' ordinary mail has it
        "X-Loop: procmail@customer.example",  # a person's own forwarding rule
        "X-MS-Exchange-Inbox-Rules-Loop: anna@customer.example",  # a redirect rule, not a robot
        "X-Mailer: Amazon WorkMail",
    ],
)
def test_weak_markers_do_not_silence_a_person(header: str) -> None:
    assert verdict(mail(header)).acknowledge


def test_automatic_reply_subject_alone_is_not_evidence() -> None:
    m = mail(body="I am back now; about my order 123 ...")
    m = dataclasses.replace(m, subject="Automatic reply: your order")
    assert verdict(m).acknowledge


@pytest.mark.parametrize(
    "sender", ["From: undisclosed", "From: Anna <anna at customer>", "From: <@customer.example>"]
)
def test_no_usable_sender(sender: str) -> None:
    v = verdict(mail(sender=sender))
    assert (v.acknowledge, v.kind, v.reply_to) == (False, "no_sender", None)


def test_missing_from_header() -> None:
    v = verdict(parse(b"To: feedback@company.example\r\nSubject: hi\r\n\r\nbody\r\n"))
    assert v.kind == "no_sender"


def test_an_address_that_could_inject_headers_is_not_answered() -> None:
    m = dataclasses.replace(mail(), from_addr="anna@customer.example\r\nbcc: x@y.example")
    assert verdict(m).kind == "no_sender"


def test_every_marker_is_explained_and_the_most_specific_kind_wins() -> None:
    v = verdict(mail("Return-Path: <>", "Auto-Submitted: auto-replied", "Precedence: bulk"))
    assert v.kind == "bounce"
    assert len(v.reasons) == 3
    assert v.kind in KINDS


# --- history -----------------------------------------------------------------------------------


def test_one_ack_per_interval() -> None:
    recent = SenderHistory(acks=(NOW - timedelta(hours=23),))
    v = verdict(mail(), recent)
    assert (v.acknowledge, v.kind, v.reply_to) == (False, "rate_limited", None)
    assert verdict(mail(), SenderHistory(acks=(NOW - timedelta(hours=25),))).acknowledge


def test_ack_interval_comes_from_settings() -> None:
    settings = dataclasses.replace(SETTINGS, ack_interval=timedelta(hours=2))
    history = SenderHistory(acks=(NOW - timedelta(hours=3),))
    assert verdict(mail(), history, settings).acknowledge
    assert not verdict(mail(), history).acknowledge


def test_burst_cap_per_hour() -> None:
    settings = dataclasses.replace(SETTINGS, ack_interval=timedelta(0), ack_burst_per_hour=3)
    three = SenderHistory(acks=tuple(NOW - timedelta(minutes=m) for m in (5, 20, 59)))
    v = verdict(mail(), three, settings)
    assert (v.acknowledge, v.kind) == (False, "rate_limited")
    assert "3 acknowledgments in the last hour" in v.reasons[0]
    two = SenderHistory(
        acks=(NOW - timedelta(minutes=5), NOW - timedelta(minutes=20), NOW - timedelta(minutes=61))
    )
    assert verdict(mail(), two, settings).acknowledge


def test_an_ack_stamped_in_the_future_counts_as_recent() -> None:
    history = SenderHistory(acks=(NOW + timedelta(hours=2),))
    assert verdict(mail(), history).kind == "rate_limited"


def test_naive_timestamps_are_taken_as_utc() -> None:
    history = SenderHistory(acks=(datetime(2025, 3, 10, 11, 0),))
    assert verdict(mail(), history).kind == "rate_limited"


def test_hard_bounced_address_waits_for_its_quiet_period() -> None:
    quiet = SenderHistory(hard_bounce_until=NOW + timedelta(days=3))
    v = verdict(mail(), quiet)
    assert (v.acknowledge, v.kind) == (False, "hard_bounced")
    over = SenderHistory(hard_bounce_until=NOW - timedelta(seconds=1))
    assert verdict(mail(), over).acknowledge


def test_robot_kinds_win_over_history_kinds() -> None:
    history = SenderHistory(acks=(NOW,), hard_bounce_until=NOW + timedelta(days=1))
    assert verdict(mail("Precedence: bulk"), history).kind == "bulk"
    assert verdict(mail(), history).kind == "hard_bounced"


def test_reply_target_is_the_history_key() -> None:
    m = mail("Reply-To: anna@home.example")
    assert reply_target(m, SETTINGS, OWN) == "anna@home.example"
    assert reply_target(mail(sender="From: nobody"), SETTINGS, OWN) is None


def test_verdict_is_frozen() -> None:
    v = verdict(mail())
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.acknowledge = False  # type: ignore[misc]


def test_validate_policy_settings() -> None:
    assert validate_policy_settings(SETTINGS) == []
    bad = dataclasses.replace(
        SETTINGS,
        noreply_patterns=("(unclosed",),
        ack_burst_per_hour=0,
        ack_interval=timedelta(hours=-1),
    )
    problems = validate_policy_settings(bad)
    assert len(problems) == 3
    assert "(unclosed" in problems[0]
