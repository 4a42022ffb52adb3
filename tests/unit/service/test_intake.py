"""Intake, the single write path for new mail: every outcome, through the public `intake(...)`.

On the shipped rules and templates with a memory store; the assertions read what intake left
in the store (cases, ledger, outbox), not how it got there.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from twins import incoming

from daemon.adapters.mail.imap import Fetched
from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.rules import RuleBook
from daemon.core.tokens import case_token, command_address
from daemon.errors import ConfigError
from daemon.service import intake as intake_module
from daemon.service.casework import command_secret
from daemon.service.intake import Desk, intake

FB = "feedback@example.test"
OWNER = "support-lead@example.test"  # owns complaints in the shipped rules
NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)  # a Tuesday, 08:00 in Moscow
COMPLAINT = ("Жалоба", "Курьер нагрубил и опоздал на пять часов, прошу разобраться.")


@pytest.fixture
def desk(book: RuleBook, templates: Templates) -> Desk:
    return Desk(Store(None), book, templates, FB)


class Inbox:
    """Hands intake one message after another under fresh UIDs, as a mailbox would."""

    def __init__(self, desk: Desk, uidvalidity: int = 7):
        self.desk = desk
        self.uidvalidity = uidvalidity
        self.uid = 0

    def take(self, raw: bytes, truncated: bool = False) -> intake_module.Intake:
        self.uid += 1
        fetched = Fetched(self.uid, raw, len(raw), NOW, truncated)
        return intake(self.desk, self.uidvalidity, fetched, NOW)

    def folder(self) -> str:
        entry = self.desk.store.ledger(self.uidvalidity, self.uid)
        assert entry is not None
        return entry.folder


def mails_to(store: Store, address: str, kind: str | None = None) -> list[str]:
    return [
        m.id
        for m in store.outbox()
        if m.recipients[0] == address and (kind is None or m.kind == kind)
    ]


def test_a_customer_message_opens_a_case_with_one_acknowledgment_and_an_owner_notice(
    desk: Desk,
) -> None:
    inbox = Inbox(desk)
    result = inbox.take(incoming("anna@customer.test", *COMPLAINT))
    assert result.outcome == "case" and result.case_id
    case = desk.store.case(result.case_id)
    assert case is not None
    assert (case.sender, case.category, case.owner, case.status) == (
        "anna@customer.test",
        "complaint",
        "support",
        "open",
    )
    [ack] = mails_to(desk.store, "anna@customer.test", "ack")
    ours = desk.store.outmail(ack)
    assert ours is not None and ours.recipients == ("anna@customer.test", FB)  # our copy
    assert len(mails_to(desk.store, OWNER, "notice")) == 1
    assert inbox.folder() == "Feedback/Complaints"
    assert desk.store.unfiled(7)  # recorded now, moved by the cycle after the commit


def test_the_customer_writing_again_joins_the_case_without_a_second_acknowledgment(
    desk: Desk,
) -> None:
    inbox = Inbox(desk)
    first = inbox.take(incoming("anna@customer.test", *COMPLAINT))
    [ack] = mails_to(desk.store, "anna@customer.test")
    again = inbox.take(
        incoming(
            "anna@customer.test",
            "Re: Жалоба",
            "Добавлю: заказ № 5521.",
            headers={"In-Reply-To": ack},
        )
    )
    assert again.outcome == "joined" and again.case_id == first.case_id
    assert len(desk.store.cases()) == 1
    assert mails_to(desk.store, "anna@customer.test") == [ack]  # acknowledged once a day
    case = desk.store.case(first.case_id or "")
    assert case is not None and "reply_joined" in [e.what for e in case.events]
    assert inbox.folder() == "Feedback/Complaints"


def test_the_owner_closing_by_mail_is_a_command_not_a_case(desk: Desk) -> None:
    inbox = Inbox(desk)
    cid = inbox.take(incoming("anna@customer.test", *COMPLAINT)).case_id or ""
    token = command_address(FB, cid, case_token(command_secret(desk.store), cid))
    result = inbox.take(incoming(OWNER, "Re: notice", "close\n", to=token))
    assert result.outcome == "command" and result.case_id == cid
    case = desk.store.case(cid)
    assert case is not None and case.status == "closed"
    assert len(desk.store.cases()) == 1
    assert len(mails_to(desk.store, OWNER, "command_reply")) == 1
    assert inbox.folder() == "Feedback/Commands"


def test_the_same_message_under_a_new_uid_is_a_duplicate(desk: Desk) -> None:
    raw = incoming("anna@customer.test", *COMPLAINT)
    first = Inbox(desk, uidvalidity=111).take(raw)
    mails = len(desk.store.outbox())
    renumbered = Inbox(desk, uidvalidity=222)  # the server lost its UIDs
    again = renumbered.take(raw)
    assert again.outcome == "duplicate" and again.case_id == first.case_id
    assert len(desk.store.cases()) == 1 and len(desk.store.outbox()) == mails
    assert renumbered.folder() == "Feedback/Complaints"


def test_our_own_copy_is_recognised_and_filed_in_sent(desk: Desk) -> None:
    inbox = Inbox(desk)
    inbox.take(incoming("anna@customer.test", *COMPLAINT))
    cases = len(desk.store.cases())
    for mail in desk.store.outbox():  # each copy as the server delivers it to us
        assert inbox.take(mail.raw.encode()).outcome == "own"
        assert inbox.folder() == "Sent"
    assert len(desk.store.cases()) == cases


def test_a_bounce_of_our_acknowledgment_joins_the_case_and_quiets_the_address(
    desk: Desk,
) -> None:
    inbox = Inbox(desk)
    cid = inbox.take(incoming("anna@customer.test", *COMPLAINT)).case_id or ""
    [ack] = mails_to(desk.store, "anna@customer.test")
    dsn = (
        f"From: MAILER-DAEMON@mx.customer.test\r\nTo: {FB}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        "Message-ID: <dsn1@mx.customer.test>\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.test\r\n\r\n"
        "Final-Recipient: rfc822; anna@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {ack}\r\nTo: anna@customer.test\r\nSubject: ack\r\n\r\n--B--\r\n"
    ).encode()
    result = inbox.take(dsn)
    assert result.outcome == "bounce" and result.case_id == cid
    assert inbox.folder() == "Feedback/Bounces"
    case = desk.store.case(cid)
    assert case is not None
    [bounce] = [e for e in case.events if e.what == "bounce"]
    assert bounce.data["recipient"] == "anna@customer.test" and bounce.data["hard"]
    assert len(mails_to(desk.store, OWNER, "bounce_notice")) == 1
    # The address is quiet now: a new complaint from it is not acknowledged.
    later = inbox.take(incoming("anna@customer.test", "Ещё жалоба", "Снова курьер опоздал."))
    assert later.outcome == "case"
    assert mails_to(desk.store, "anna@customer.test") == [ack]


def test_a_robot_opens_no_case_and_is_never_answered(desk: Desk) -> None:
    inbox = Inbox(desk)
    result = inbox.take(
        incoming(
            "robot@customer.test",
            "Automatic reply",
            "I am away.",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    assert result.outcome == "automatic" and result.case_id is None
    assert inbox.folder() == "Feedback/Automatic"
    assert desk.store.cases() == [] and desk.store.outbox() == []
    assert mails_to(desk.store, "robot@customer.test") == []


def test_a_message_that_is_no_mail_is_quarantined(desk: Desk) -> None:
    inbox = Inbox(desk)
    result = inbox.take(b"\x00\x01\x02 this is no mail at all\r\n")
    assert result.outcome == "quarantined" and result.reason
    assert inbox.folder() == "Quarantine"
    assert desk.store.cases() == [] and desk.store.outbox() == []


def test_a_message_that_trips_an_internal_error_is_quarantined_not_raised(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("a bug in the rules engine")

    monkeypatch.setattr(intake_module, "classify", broken)
    inbox = Inbox(desk)
    result = inbox.take(incoming("anna@customer.test", *COMPLAINT))
    assert result.outcome == "quarantined"
    assert result.reason == "internal error: RuntimeError: a bug in the rules engine"
    assert inbox.folder() == "Quarantine"
    assert desk.store.cases() == [] and desk.store.outbox() == []


def test_a_config_error_is_not_quarantined_the_message_waits_for_the_fix(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise ConfigError("templates/ack_complaint.ru.j2: undefined variable")

    monkeypatch.setattr(intake_module, "classify", broken)
    inbox = Inbox(desk)
    with pytest.raises(ConfigError):
        inbox.take(incoming("anna@customer.test", *COMPLAINT))
    assert desk.store.ledger(7, inbox.uid) is None  # not recorded: read again after the fix


def test_a_message_over_the_size_limit_is_handled_and_says_so(desk: Desk) -> None:
    inbox = Inbox(desk)
    result = inbox.take(incoming("anna@customer.test", *COMPLAINT), truncated=True)
    assert result.outcome == "case"
    entry = desk.store.ledger(7, inbox.uid)
    assert entry is not None and "size limit" in entry.reason


def test_a_config_error_after_the_acknowledgment_was_composed_leaves_nothing_owed(
    book: RuleBook, templates: Templates
) -> None:
    # The owner's notice is composed after the acknowledgment; if its template is broken the
    # message waits in INBOX, so nothing decided for it may reach the store: an acknowledgment
    # left queued would be committed (and sent) with the next commit, and a second one after
    # the fix, when the message is taken again.
    broken = "Subject: [{{ case_id }}]\n\n{{ no_such_variable }}\n"
    sources = templates.sources | {f"notice_owner.{lang}.j2": broken for lang in ("ru", "en")}
    desk = Desk(Store(None), book, Templates(sources, templates.label), FB)
    inbox = Inbox(desk)
    with pytest.raises(ConfigError):
        inbox.take(incoming("anna@customer.test", *COMPLAINT))
    assert desk.store.outbox() == [] and desk.store.cases() == []
    assert desk.store.ledger(7, inbox.uid) is None
    assert desk.store.meta(f"case_seq:{NOW.year}") is None  # no case number spent on it


def test_the_log_says_an_acknowledged_case_was_acknowledged(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="feedbackd.intake"):
        Inbox(desk).take(incoming("anna@customer.test", *COMPLAINT))
    [opened] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("opened:")]
    assert "not acknowledged" not in opened, opened


def test_the_log_says_why_a_case_was_not_acknowledged(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    form = incoming("no-reply@shop.test", "Жалоба", "Заказ не доставлен.")
    with caplog.at_level(logging.INFO, logger="feedbackd.intake"):
        Inbox(desk).take(form)
    [opened] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("opened:")]
    assert opened.endswith("(not acknowledged: noreply)"), opened


def test_the_marks_intake_leaves_are_the_strings_the_store_always_held(desk: Desk) -> None:
    inbox = Inbox(desk)
    cid = inbox.take(incoming("anna@customer.test", *COMPLAINT)).case_id
    assert desk.store.meta("last_mail_at") == "2026-03-03T05:00:00+00:00"
    assert desk.store.meta("case_seq:2026") == 1
    desk.store.remove("outbox", [m.id for m in desk.store.outbox()])  # no rate limit in the way
    subject = f"Re: [{cid}] Жалоба"
    assert inbox.take(incoming("anna@customer.test", subject, "Ещё.")).outcome == "joined"
    assert desk.store.meta(f"added:{cid}:2026-03-03") == "2026-03-03T05:00:00+00:00"
