"""detect_bounce on hand-made bounces: RFC 3464 reports, free-text bounces, and non-bounces."""

from __future__ import annotations

import pytest

from daemon.core.mail.bounces import Bounce, _detect, detect_bounce

OUR_ID = "<ack-42.1741600000@company.example>"


def dsn(
    status: str = "5.1.1",
    action: str = "failed",
    returned: str = "rfc822",
    extra_fields: str = "",
    rcpt: str = "anna@customer.example",
) -> bytes:
    original = (
        f"From: feedback@company.example\r\nTo: {rcpt}\r\n"
        f"Subject: [case 42] we received your message\r\nMessage-ID: {OUR_ID}\r\n"
    )
    if returned == "rfc822":
        tail = f"Content-Type: message/rfc822\r\n\r\n{original}\r\nThank you.\r\n"
    else:
        tail = f"Content-Type: text/rfc822-headers\r\n\r\n{original}"
    return (
        "Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.company.example>\r\n"
        "To: feedback@company.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.company.example\r\n\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\n{extra_fields}Action: {action}\r\n"
        f"Status: {status}\r\nDiagnostic-Code: smtp; 550 {status} User unknown\r\n\r\n"
        f"--B\r\n{tail}--B--\r\n"
    ).encode()


def test_rfc3464_permanent_failure() -> None:
    b = detect_bounce(dsn())
    assert b == Bounce(
        OUR_ID, "anna@customer.example", True, "5.1.1", "smtp; 550 5.1.1 User unknown", "dsn"
    )


def test_rfc3464_delay_is_soft() -> None:
    b = detect_bounce(dsn(status="4.4.1", action="delayed"))
    assert b is not None and b.hard is False and b.status == "4.4.1"


def test_a_4xx_failure_after_retries_is_soft_the_address_may_be_fine() -> None:
    b = detect_bounce(dsn(status="4.4.7", action="failed"))
    assert b is not None and b.hard is False


def test_original_id_from_rfc822_headers_part() -> None:
    b = detect_bounce(dsn(returned="headers"))
    assert b is not None and b.original_message_id == OUR_ID


def test_original_recipient_is_preferred_to_a_rewritten_final_recipient() -> None:
    raw = dsn(
        rcpt="anna.p@mailhost.customer.example",
        extra_fields="Original-Recipient: rfc822; anna@customer.example\r\n",
    )
    b = detect_bounce(raw)
    assert b is not None and b.recipient == "anna@customer.example"


def test_exim_free_text_bounce_with_x_failed_recipients() -> None:
    raw = (
        b"Return-Path: <>\r\nFrom: Mail Delivery System <Mailer-Daemon@mx.example>\r\n"
        b"To: feedback@company.example\r\nX-Failed-Recipients: anna@customer.example\r\n"
        b"Subject: Mail delivery failed: returning message to sender\r\n\r\n"
        b"This message was created automatically by mail delivery software.\r\n\r\n"
        b"  anna@customer.example\r\n    SMTP error from remote mail server after RCPT "
        b"TO:<anna@customer.example>:\r\n    550 5.1.1 No such user here\r\n\r\n"
        b"------ This is a copy of the message, including all the headers. ------\r\n"
        b"Message-ID: " + OUR_ID.encode() + b"\r\nSubject: [case 42]\r\n\r\nThanks\r\n"
    )
    b = detect_bounce(raw)
    assert b is not None
    assert (b.recipient, b.hard, b.status, b.source) == (
        "anna@customer.example",
        True,
        "5.1.1",
        "text",
    )
    assert b.original_message_id == OUR_ID


def test_qmail_style_bounce() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example\r\nTo: feedback@company.example\r\n"
        b"Subject: failure notice\r\n\r\nHi. This is the qmail-send program at mx.\r\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        b"This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        b"<anna@customer.example>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n"
    )
    b = detect_bounce(raw)
    assert b is not None
    assert (b.recipient, b.hard, b.status) == ("anna@customer.example", True, "5.1.1")
    assert b.original_message_id == ""


def test_in_reply_to_is_the_last_resort_for_the_original() -> None:
    raw = (
        b"From: postmaster@mx.example\r\nIn-Reply-To: " + OUR_ID.encode() + b"\r\n"
        b"Subject: Undeliverable\r\n\r\nDelivery failed: mailbox unavailable.\r\n"
    )
    b = detect_bounce(raw)
    assert b is not None and b.original_message_id == OUR_ID and b.recipient == ""
    assert b.hard is None  # the text gives no code and no clear wording


def test_words_decide_when_no_code_is_given() -> None:
    base = (
        b"From: MAILER-DAEMON@mx.example\r\nSubject: Delivery failure\r\n\r\n"
        b"<anna@customer.example>: "
    )
    hard = detect_bounce(base + b"user unknown, permanent error\r\n")
    soft = detect_bounce(base + b"temporary problem, we will retry for 5 days\r\n")
    assert hard is not None and hard.hard is True
    assert soft is not None and soft.hard is False


@pytest.mark.parametrize(
    "raw",
    [
        # a person
        b"From: anna@customer.example\r\nSubject: hello\r\n\r\nMy parcel is undeliverable.\r\n",
        # an out-of-office reply: automatic, but not a bounce
        b"Return-Path: <>\r\nFrom: anna@customer.example\r\nAuto-Submitted: auto-replied\r\n"
        b"Subject: Automatic reply: [case 42]\r\n\r\nI am away until Monday.\r\n",
        # a read receipt
        b"From: anna@customer.example\r\nContent-Type: multipart/report; "
        b"report-type=disposition-notification; boundary=B\r\n\r\n--B\r\n"
        b"Content-Type: message/disposition-notification\r\n\r\n"
        b"Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--B--\r\n",
    ],
)
def test_not_a_bounce(raw: bytes) -> None:
    assert detect_bounce(raw) is None


def test_a_person_forwarding_a_bounce_is_not_a_bounce() -> None:
    inner = dsn().decode()
    raw = (
        "From: anna@customer.example\r\nSubject: Fwd: Undelivered Mail Returned to Sender\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="F"\r\n\r\n'
        "--F\r\nContent-Type: text/plain\r\n\r\nWhy did my mail bounce?\r\n"
        f"--F\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--F--\r\n"
    ).encode()
    assert detect_bounce(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe",
        b"\r\n\r\n\r\n",
        b"Content-Type: multipart/report\r\n\r\n--",
        b"From: MAILER-DAEMON\r\nContent-Type: message/delivery-status\r\n\r\n\xff\xfe:::\r\n",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" + b"--a\r\nContent-Type: "
        b"multipart/mixed; boundary=a\r\n\r\n" * 500,
        b"From: MAILER-DAEMON@x\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n\xff",
    ],
)
def test_hostile_input_is_read_without_the_safety_net(raw: bytes) -> None:
    # `_detect` is detect_bounce without its catch-all: the code itself must cope.
    result = _detect(raw)
    assert result is None or isinstance(result, Bounce)
    assert detect_bounce(raw) == result
