"""Triage on plain values: the plan for each outcome, read from an in-memory view.

No Store, no mailbox: the view is a few dicts that `absorb` fills from a plan, as the service's
`apply` fills the store. The shipped rules and templates; Message-IDs are numbered, not random,
so a plan is the same every time.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import itertools
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from support import REPO
from twins import incoming

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.morphology import default_lemmatizer
from daemon.core.cases import Case, CaseStatus
from daemon.core.deadlines import due_at
from daemon.core.followups import Level
from daemon.core.mail.compose import Templates
from daemon.core.mail.message import Message
from daemon.core.mail.staff import NoticeDesk
from daemon.core.records import LedgerEntry, OutMail
from daemon.core.rules import Decision, FirstRun, Rule, RuleBook, build
from daemon.core.tokens import case_token, command_address
from daemon.core.triage import AUTOMATIC_FOLDER, Arrival, Frame, Outcome, Plan, triage
from daemon.core.workdays import calendar_for

FB = "feedback@example.test"
OWNER = "support-lead@example.test"  # owns complaints in the shipped rules
ANNA = "anna@customer.test"
NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)  # a Tuesday, 08:00 in Moscow
SECRET = bytes(32)
COMPLAINT = ("Жалоба", "Курьер нагрубил и опоздал на пять часов, прошу разобраться.")


class View:
    """What triage may know, in dicts; `absorb` records a plan as the store would."""

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.threads: dict[str, str] = {}
        self.mail: dict[str, OutMail] = {}
        self.ledger: dict[str, LedgerEntry] = {}
        self.acks: dict[str, list[datetime]] = {}
        self.marks: dict[str, Any] = {}

    def case(self, cid: str) -> Case | None:
        return self.cases.get(cid)

    def case_for_message_id(self, message_id: str) -> Case | None:
        cid = self.threads.get(message_id)
        return self.cases.get(cid) if cid else None

    def outmail(self, mail_id: str) -> OutMail | None:
        return self.mail.get(mail_id)

    def ledger_by_message_id(self, message_id: str) -> LedgerEntry | None:
        return self.ledger.get(message_id) if message_id else None

    def ack_times(self, recipient: str) -> list[datetime]:
        return self.acks.get(recipient, [])

    def meta(self, key: str) -> Any:
        return self.marks.get(key)

    def meta_time(self, key: str) -> datetime | None:
        value = self.marks.get(key)
        return value if isinstance(value, datetime) else None

    def absorb(self, plan: Plan) -> None:
        if plan.ledger.message_id:
            self.ledger.setdefault(plan.ledger.message_id, plan.ledger)
        for case in plan.cases:
            self.cases[case.id] = case
            self.threads.update(dict.fromkeys(case.thread, case.id))
        for mail in plan.mail:
            self.mail[mail.id] = mail
            if mail.case_id:
                self.threads.setdefault(mail.id, mail.case_id)
            if mail.kind == "ack" and mail.created is not None:
                self.acks.setdefault(mail.recipients[0], []).append(mail.created)
        self.marks.update(plan.meta)


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return load_rulebook(REPO / "rules.yaml")


@pytest.fixture(scope="module")
def notices(book: RuleBook) -> NoticeDesk:
    return NoticeDesk(load_templates(REPO / "templates"), book, FB, SECRET)


@pytest.fixture
def frame(notices: NoticeDesk) -> Frame:
    ids = (f"<{n}@example.test>" for n in itertools.count(1))
    return Frame(notices, calendar_for(notices.book), ids.__next__)


class Desk:
    """Hands triage one message after another, remembering each plan in the view."""

    def __init__(self, frame: Frame, view: View | None = None):
        self.frame, self.view, self.uid = frame, view or View(), 0

    def take(self, raw: bytes, *, internaldate: datetime = NOW, truncated: bool = False) -> Plan:
        self.uid += 1
        plan = triage(
            Arrival(7, self.uid, raw, internaldate, truncated), self.frame, self.view, NOW
        )
        self.view.absorb(plan)
        return plan


def kinds(plan: Plan) -> list[tuple[str, str]]:
    return [(m.kind, m.recipients[0]) for m in plan.mail]


def events(case: Case) -> list[str]:
    return [e.what for e in case.events]


def test_a_new_message_plans_a_case_its_acknowledgment_and_the_owner_notice(
    frame: Frame,
) -> None:
    plan = Desk(frame).take(incoming(ANNA, *COMPLAINT))
    assert plan.outcome is Outcome.CASE
    [case] = plan.cases
    assert (case.id, case.category, case.owner, case.sender) == (
        "FB-2026-000001",
        "complaint",
        "support",
        ANNA,
    )
    assert events(case) == ["opened", "ack_sent", "owner_notified"]
    assert kinds(plan) == [("ack", ANNA), ("notice", OWNER)]
    assert all(m.recipients[-1] == FB for m in plan.mail)  # our copy proves it went
    assert (plan.ledger.outcome, plan.ledger.folder, plan.ledger.case_id) == (
        "case",
        "Feedback/Complaints",
        case.id,
    )
    assert not plan.ledger.filed  # filed by the cycle after the commit
    assert {k: plan.meta[k] for k in ("case_seq:2026", "last_mail_at")} == {
        "case_seq:2026": 1,
        "last_mail_at": NOW,
    }
    words = f"words:{case.id}"  # kept for the lesson a later correction teaches
    assert set(plan.meta) == {"case_seq:2026", "last_mail_at", f"notice_window:{OWNER}", words}
    assert "жалоба" in plan.meta[words]["words"]  # type: ignore[index]
    [line] = plan.log
    assert line.level is Level.INFO and line.case_id == case.id
    assert line.text == "opened: complaint by rule complaint-ru"


def test_the_next_case_takes_the_next_number(frame: Frame) -> None:
    view = View()
    view.marks["case_seq:2026"] = 41
    plan = Desk(frame, view).take(incoming(ANNA, *COMPLAINT))
    assert plan.case_id == "FB-2026-000042" and plan.meta["case_seq:2026"] == 42


def test_a_duplicate_plans_only_a_ledger_entry(frame: Frame) -> None:
    desk = Desk(frame)
    raw = incoming(ANNA, *COMPLAINT)
    first = desk.take(raw)
    again = desk.take(raw)  # the same message under a new UID
    assert again.outcome is Outcome.DUPLICATE
    assert again.cases == () and again.mail == () and again.log == ()
    assert set(again.meta) == {"last_mail_at"}
    assert (again.ledger.folder, again.ledger.case_id, again.ledger.reason) == (
        "Feedback/Complaints",
        first.case_id,
        "same Message-ID as 7:1",
    )


def test_a_reply_in_the_thread_plans_an_event_on_the_existing_case_and_no_new_case(
    frame: Frame,
) -> None:
    desk = Desk(frame)
    first = desk.take(incoming(ANNA, *COMPLAINT))
    [ack] = [m.id for m in first.mail if m.kind == "ack"]
    reply = incoming(ANNA, "Re: Жалоба", "Добавлю: заказ № 5521.", headers={"In-Reply-To": ack})
    plan = desk.take(reply)
    assert plan.outcome is Outcome.JOINED and plan.case_id == first.case_id
    [case] = plan.cases
    assert case.id == first.case_id and events(case)[-1] == "reply_joined"
    assert "case_seq:2026" not in plan.meta  # no new case number
    assert kinds(plan) == [("joined", OWNER)]  # the customer was acknowledged a moment ago
    assert plan.ledger.folder == "Feedback/Complaints"
    assert [line.text for line in plan.log] == [f"joined from {ANNA}"]


def test_a_customer_writing_again_is_told_it_joined_the_case_once_a_day(frame: Frame) -> None:
    old = first_run(frame, FirstRun.TRIAGE, NOW)  # the case was opened without an ack
    desk = Desk(old)
    first = desk.take(incoming(ANNA, *COMPLAINT), internaldate=NOW - timedelta(days=1))
    subject = f"Re: [{first.case_id}] Жалоба"  # the case id in the subject finds the case
    plan = desk.take(incoming(ANNA, subject, "Ещё одно."))
    assert plan.outcome is Outcome.JOINED
    assert kinds(plan) == [("joined", OWNER), ("ack", ANNA)]
    assert events(plan.cases[0])[-2:] == ["reply_joined", "added_notice"]
    day_key = f"added:{first.case_id}:2026-03-03"
    assert plan.meta[day_key] == NOW
    desk.view.acks.clear()  # even with no rate limit in the way, the day's mark holds
    again = desk.take(incoming(ANNA, subject, "И ещё."))
    assert kinds(again) == [("joined", OWNER)]  # the owner hears every time
    assert day_key not in again.meta


def test_an_automatic_reply_in_the_thread_plans_no_mail(frame: Frame) -> None:
    desk = Desk(frame)
    first = desk.take(incoming(ANNA, *COMPLAINT))
    [ack] = [m.id for m in first.mail if m.kind == "ack"]
    away = incoming(
        ANNA,
        "Автоответ",
        "Я в отпуске.",
        headers={"In-Reply-To": ack, "Auto-Submitted": "auto-replied"},
    )
    plan = desk.take(away)
    assert plan.outcome is Outcome.JOINED and plan.mail == ()
    [case] = plan.cases
    assert case.events[-1].what == "note"
    assert case.events[-1].data["text"] == "automatic reply (auto_reply)"


def test_a_robots_mail_opens_no_case_sends_nothing_and_is_counted(frame: Frame) -> None:
    robot = incoming(
        "robot@customer.test", "Automatic reply", "I am away.", headers={"Precedence": "bulk"}
    )
    plan = Desk(frame).take(robot)
    assert plan.outcome is Outcome.AUTOMATIC
    assert plan.cases == () and plan.mail == ()
    assert plan.ledger.folder == AUTOMATIC_FOLDER and plan.ledger.case_id is None
    assert plan.ledger.reason.startswith("bulk: Precedence: bulk")
    [day] = [k for k in plan.meta if k.startswith("automatic:")]
    assert plan.meta[day] == 1


def test_a_no_reply_sender_still_opens_a_case_without_acknowledgment(frame: Frame) -> None:
    """A web form relays a customer from a no-reply address: a person wrote, the center sees it."""
    form = incoming("no-reply@shop.test", "Жалоба", "Заказ не доставлен, верните деньги.")
    plan = Desk(frame).take(form)
    assert plan.outcome is Outcome.CASE
    assert [kind for kind, _ in kinds(plan)] == ["notice"]  # its owner is told, it is not
    assert plan.cases[0].events[1].what == "ack_skipped"
    assert plan.log[0].text.endswith("(not acknowledged: noreply)")


def test_a_staff_answer_in_the_thread_marks_the_case_answered(frame: Frame) -> None:
    desk = Desk(frame)
    first = desk.take(incoming(ANNA, *COMPLAINT))
    cc = answer_cc(first)  # the Cc of the notice's answer link
    answer = incoming(
        OWNER,
        "Re: Жалоба",
        "Разобрались.",
        to=ANNA,
        headers={"Cc": cc, "In-Reply-To": first.ledger.message_id},
    )
    plan = desk.take(answer)
    assert plan.outcome is Outcome.JOINED and plan.mail == ()
    [case] = plan.cases
    assert case.status is CaseStatus.ANSWERED and case.events[-1].what == "answered"


def first_run(frame: Frame, mode: FirstRun, before: datetime) -> Frame:
    """The frame of a first run whose rules say `first_run: mode`, with this horizon."""
    book = frame.book
    policy = replace(book.policy, first_run=mode)
    notices = replace(frame.notices, book=replace(book, policy=policy))
    return replace(frame, notices=notices, backfill_before=before)


def test_with_first_run_triage_an_old_message_plans_an_open_case_without_an_ack(
    frame: Frame,
) -> None:
    first_run_frame = first_run(frame, FirstRun.TRIAGE, NOW - timedelta(days=3))
    plan = Desk(first_run_frame).take(
        incoming(ANNA, *COMPLAINT), internaldate=NOW - timedelta(days=30)
    )
    assert plan.outcome is Outcome.CASE
    [case] = plan.cases
    assert case.received == NOW - timedelta(days=30)  # its age is the server's, not ours
    skipped = case.events[1]
    assert skipped.what == "ack_skipped"
    assert skipped.data["reasons"] == ["older than the first run's backfill horizon"]
    assert kinds(plan) == [("notice", OWNER)]


def test_with_first_run_history_old_mail_is_a_closed_history_case_and_nobody_is_mailed(
    frame: Frame,
) -> None:
    desk = Desk(first_run(frame, FirstRun.HISTORY, NOW - timedelta(days=7)))
    plan = desk.take(incoming(ANNA, *COMPLAINT), internaldate=NOW - timedelta(days=30))
    assert plan.outcome is Outcome.HISTORY and plan.mail == () and plan.log == ()
    [case] = plan.cases
    assert (case.category, case.owner, case.status) == ("complaint", "support", CaseStatus.CLOSED)
    assert events(case) == ["opened", "imported"]
    assert case.received == NOW - timedelta(days=30)
    assert plan.ledger.folder == "Feedback/Complaints" and plan.meta["case_seq:2026"] == 1
    # The old customer's second mail in the same thread joins it, quietly.
    again = incoming(ANNA, "Re: Жалоба", "Напоминаю.", headers={"In-Reply-To": case.message_id})
    joined = desk.take(again, internaldate=NOW - timedelta(days=29))
    assert joined.outcome is Outcome.JOINED and joined.mail == ()
    assert joined.cases[0].status is CaseStatus.CLOSED
    # Mail newer than the horizon is new mail: acknowledged, its owner told.
    fresh = desk.take(incoming("bob@customer.test", *COMPLAINT), internaldate=NOW)
    assert fresh.outcome is Outcome.CASE and kinds(fresh) == [
        ("ack", "bob@customer.test"),
        ("notice", OWNER),
    ]


def test_with_first_run_history_an_old_bounce_is_automatic_mail_not_a_history_case(
    frame: Frame,
) -> None:
    """A year of old bounces must not become a year of history complaints in the reports."""
    desk = Desk(first_run(frame, FirstRun.HISTORY, NOW - timedelta(days=7)))
    bounce = incoming(
        "MAILER-DAEMON@mx.customer.test",
        "Undelivered Mail Returned to Sender",
        "This is the mail system. Your message could not be delivered: user unknown.",
    )
    plan = desk.take(bounce, internaldate=NOW - timedelta(days=30))
    assert plan.outcome is Outcome.AUTOMATIC and plan.cases == () and plan.mail == ()
    assert plan.ledger.folder == AUTOMATIC_FOLDER
    assert plan.meta[f"automatic:{(NOW - timedelta(days=30)).date()}"] == 1


def test_with_first_run_history_an_old_command_is_not_obeyed_nor_answered(frame: Frame) -> None:
    desk = Desk(first_run(frame, FirstRun.HISTORY, NOW - timedelta(days=7)))
    token = command_address(FB, "FB-2026-000001", case_token(SECRET, "FB-2026-000001"))
    old = incoming(OWNER, "close", "close", to=token)
    plan = desk.take(old, internaldate=NOW - timedelta(days=30))
    assert plan.outcome is Outcome.HISTORY and plan.mail == ()


def test_with_first_run_skip_old_mail_is_filed_with_no_case(frame: Frame) -> None:
    desk = Desk(first_run(frame, FirstRun.SKIP, NOW - timedelta(days=7)))
    plan = desk.take(incoming(ANNA, *COMPLAINT), internaldate=NOW - timedelta(days=30))
    assert plan.outcome is Outcome.SKIPPED
    assert plan.cases == () and plan.mail == () and plan.case_id is None
    assert plan.ledger.folder == "Feedback/Complaints"
    assert "first_run: skip" in plan.reason


def test_an_address_acknowledged_a_moment_ago_is_not_acknowledged_again(frame: Frame) -> None:
    view = View()
    view.acks[ANNA] = [NOW - timedelta(minutes=5)]
    plan = Desk(frame, view).take(incoming(ANNA, *COMPLAINT))
    assert plan.outcome is Outcome.CASE and kinds(plan) == [("notice", OWNER)]
    assert plan.cases[0].events[1].what == "ack_skipped"


def test_our_own_copy_plans_a_ledger_entry_in_sent_and_touches_nothing_else(
    frame: Frame,
) -> None:
    desk = Desk(frame)
    first = desk.take(incoming(ANNA, *COMPLAINT))
    for mail in first.mail:
        plan = desk.take(mail.raw.encode())
        assert plan.outcome is Outcome.OWN
        assert (plan.ledger.folder, plan.ledger.case_id) == ("Sent", first.case_id)
        assert plan.cases == () and plan.mail == () and plan.meta == {}  # not "last mail"


def test_no_mail_at_all_plans_a_quarantine(frame: Frame) -> None:
    plan = Desk(frame).take(b"\x00\x01\x02 this is no mail at all\r\n")
    assert plan.outcome is Outcome.QUARANTINED and plan.reason
    assert (plan.ledger.folder, plan.cases, plan.mail) == ("Quarantine", (), ())
    [line] = plan.log
    assert line.level is Level.WARNING and line.text.startswith("uid 1 quarantined: ")


def test_the_owner_closing_by_mail_plans_the_change_and_a_reply(frame: Frame) -> None:
    desk = Desk(frame)
    cid = desk.take(incoming(ANNA, *COMPLAINT)).case_id or ""
    token = command_address(FB, cid, case_token(SECRET, cid))
    plan = desk.take(incoming(OWNER, "Re: notice", "close\n", to=token))
    assert plan.outcome is Outcome.COMMAND and plan.case_id == cid
    [case] = plan.cases
    assert case.status is CaseStatus.CLOSED
    assert kinds(plan) == [("command_reply", OWNER)]
    assert plan.ledger.folder == "Feedback/Commands"
    assert plan.log[0].topic == "feedbackd.casework"


def test_a_forged_command_changes_nothing_and_answers_nobody(frame: Frame) -> None:
    desk = Desk(frame)
    cid = desk.take(incoming(ANNA, *COMPLAINT)).case_id or ""
    forged = command_address(FB, cid, "a" * len(case_token(SECRET, cid)))
    plan = desk.take(incoming("mallory@customer.test", "close", "close\n", to=forged))
    assert plan.outcome is Outcome.COMMAND and plan.case_id == cid
    assert plan.cases == () and plan.mail == ()
    assert plan.log[0].level is Level.WARNING


def test_a_bounce_of_our_acknowledgment_plans_the_event_the_quiet_and_the_notice(
    frame: Frame,
) -> None:
    desk = Desk(frame)
    first = desk.take(incoming(ANNA, *COMPLAINT))
    [ack] = [m.id for m in first.mail if m.kind == "ack"]
    plan = desk.take(dsn(ack))
    assert plan.outcome is Outcome.BOUNCE and plan.case_id == first.case_id
    [case] = plan.cases
    assert case.events[-1].what == "bounce" and case.events[-1].data["hard"]
    assert kinds(plan) == [("bounce_notice", OWNER)]
    quiet = frame.book.policy.hard_bounce_quiet
    assert plan.meta[f"hard_bounce:{ANNA}"] == NOW + quiet
    later = desk.take(incoming(ANNA, "Ещё жалоба", "Снова курьер опоздал."))
    assert later.outcome is Outcome.CASE and ("ack", ANNA) not in kinds(later)


def test_the_classifier_is_an_argument(frame: Frame) -> None:
    def official(msg: Message, book: RuleBook) -> Decision:
        return Decision("official", "pinned", "legal")

    plan = Desk(replace(frame, classify=official)).take(incoming(ANNA, *COMPLAINT))
    [case] = plan.cases
    assert (case.category, case.rule) == ("official", "pinned")


def test_a_truncated_message_says_so_in_the_ledger(frame: Frame) -> None:
    plan = Desk(frame).take(incoming(ANNA, *COMPLAINT), truncated=True)
    assert plan.outcome is Outcome.CASE and "size limit" in plan.reason


def test_the_same_message_gets_the_same_decisions(notices: NoticeDesk) -> None:
    raw = incoming(ANNA, *COMPLAINT)

    def decided() -> Plan:
        ids = (f"<{n}@x.test>" for n in itertools.count(1))
        plan = Desk(Frame(notices, calendar_for(notices.book), ids.__next__)).take(raw)
        return replace(plan, mail=tuple(replace(m, raw="") for m in plan.mail))  # MIME boundaries

    assert decided() == decided()


def dsn(original: str) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.customer.test\r\nTo: {FB}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        "Message-ID: <dsn1@mx.customer.test>\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.test\r\n\r\n"
        f"Final-Recipient: rfc822; {ANNA}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original}\r\nTo: {ANNA}\r\nSubject: ack\r\n\r\n--B--\r\n"
    ).encode()


THANKS = ("Спасибо!", "Огромное спасибо курьеру Ивану за быструю и вежливую доставку!")


def test_thanks_to_a_team_that_owns_the_case_is_one_mail_not_a_notice_beside_it(
    frame: Frame,
) -> None:
    plan = Desk(frame).take(incoming(ANNA, *THANKS))
    [case] = plan.cases
    assert case.category == "thanks" and case.owner == "team"
    team = frame.notices.book.owners["team"].email
    assert kinds(plan) == [("ack", ANNA), ("thanks", team)]
    # the thanks' first words are kept for the digest to quote
    assert events(case) == [
        "opened",
        "ack_sent",
        "owner_notified",
        "thanks_forwarded",
        "thanks_quoted",
    ]


def test_thanks_for_a_team_that_does_not_own_the_case_still_tell_the_owner(frame: Frame) -> None:
    book = frame.notices.book
    thanks = replace(book.categories["thanks"], owner="center")

    def ownerless(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        return tuple(replace(r, owner=None) if r.category == "thanks" else r for r in rules)

    other = replace(
        book,
        categories={**book.categories, "thanks": thanks},
        rules=ownerless(book.rules),
        ordered_rules=ownerless(book.ordered_rules),
    )
    plan = Desk(replace(frame, notices=replace(frame.notices, book=other))).take(
        incoming(ANNA, *THANKS)
    )
    [case] = plan.cases
    center, team = other.owners["center"].email, other.owners["team"].email
    assert case.owner == "center"
    assert kinds(plan) == [("ack", ANNA), ("notice", center), ("thanks", team)]


# -- who may change a case (issue #14: items 1, 2, 4 and 13) --------------------------------

MALLORY = "mallory@evil.test"


def text_of(raw: str) -> str:
    """The text a person reads in one of our mails (its own parts, not the attached original)."""
    msg = email.message_from_bytes(
        raw.encode("utf-8", "surrogateescape"), policy=email.policy.default
    )
    return "\n".join(
        str(part.get_content())
        for part in msg.walk()
        if part.get_content_type() == "text/plain" and not part.get_filename()
    )


def notice_of(plan: Plan) -> str:
    [notice] = [m.raw for m in plan.mail if m.kind == "notice"]
    return text_of(notice)


def answer_cc(plan: Plan) -> str:
    """The Cc of the answer link in the owner's notice, as the owner's mail client reads it."""
    found = re.search(r"mailto:[^?\s]+\?cc=([^&\s]+)", notice_of(plan))
    assert found is not None
    return unquote(found.group(1))


def test_a_forged_owner_answer_is_a_note_and_the_real_owner_is_told(frame: Frame) -> None:
    desk = Desk(frame)
    first = desk.take(incoming(ANNA, *COMPLAINT))
    forged = incoming(
        OWNER,  # anyone can write this From; the case id is in every acknowledgment
        f"Re: [{first.case_id}] Жалоба",
        "Разобрались.",
        to=ANNA,
        headers={"Cc": FB, "In-Reply-To": first.ledger.message_id},
    )
    plan = desk.take(forged)
    assert plan.outcome is Outcome.JOINED and plan.case_id == first.case_id
    [case] = plan.cases
    assert case.status is CaseStatus.OPEN  # the reminders go on
    assert case.events[-1].what == "note" and case.events[-1].data["unproven"] is True
    assert kinds(plan) == [("unproven", OWNER)]  # the owner in rules.yaml, not the From
    assert plan.log[0].level is Level.WARNING


def test_the_answer_address_of_the_notice_proves_the_answer_and_only_for_its_case(
    frame: Frame,
) -> None:
    desk = Desk(frame)
    first = desk.take(incoming(ANNA, *COMPLAINT))
    other = desk.take(incoming("boris@customer.test", *COMPLAINT))
    cc = answer_cc(first)
    assert cc.startswith("feedback+answer.") and cc != FB
    wrong = incoming(  # in the thread of Boris's case, with Anna's case's answer address
        OWNER, "Re: Жалоба", "Ответ.", headers={"Cc": cc, "In-Reply-To": other.ledger.message_id}
    )
    plan = desk.take(wrong)
    assert plan.case_id == other.case_id and plan.cases[0].status is CaseStatus.OPEN
    right = incoming(OWNER, "Re: Жалоба", "Разобрались.", to=ANNA, headers={"Cc": cc})
    plan = desk.take(right)  # the answer address alone finds the case
    assert plan.case_id == first.case_id and plan.cases[0].status is CaseStatus.ANSWERED
    assert plan.mail == ()


def test_an_outsider_naming_a_case_opens_a_case_of_its_own_and_learns_no_name(
    frame: Frame,
) -> None:
    desk = Desk(frame)
    anna = email.utils.formataddr(("Анна Иванова", ANNA), charset="utf-8")
    first = desk.take(incoming(anna, *COMPLAINT, message_id="<anna-1@customer.test>"))
    cid = first.case_id or ""
    by_subject = incoming(MALLORY, f"Re: [{cid}] Жалоба", "Я тоже жалуюсь.")
    plan = desk.take(by_subject)
    assert plan.outcome is Outcome.CASE and plan.case_id != cid
    mine, theirs = plan.cases
    assert (mine.sender, theirs.id) == (MALLORY, cid)
    assert [e.data["linked"] for e in mine.events if e.what == "note"] == [cid]
    assert theirs.events[-1].data["linked"] == mine.id and theirs.sender == ANNA
    [ack] = [m for m in plan.mail if m.kind == "ack"]
    assert ack.recipients[0] == MALLORY
    assert "Анна" not in text_of(ack.raw) and ANNA not in ack.raw
    assert cid in notice_of(plan)  # linked for the owner
    # Her own thread, not ours: In-Reply-To her Message-ID proves nothing either.
    quoted = incoming(MALLORY, "Re", "Ещё.", headers={"In-Reply-To": first.ledger.message_id})
    assert desk.take(quoted).outcome is Outcome.CASE
    assert len(desk.view.cases[cid].events) == len(theirs.events) + 1  # one more link note


def test_a_reply_to_our_mail_joins_but_only_a_party_is_told_so(frame: Frame) -> None:
    desk = Desk(frame)
    first = desk.take(incoming(ANNA, *COMPLAINT))
    [ack] = [m.id for m in first.mail if m.kind == "ack"]
    desk.view.acks.clear()
    colleague = incoming("olga@customer.test", "Re", "Подтверждаю.", headers={"In-Reply-To": ack})
    plan = desk.take(colleague)
    assert plan.outcome is Outcome.JOINED and plan.case_id == first.case_id
    assert kinds(plan) == [("joined", OWNER)]  # no "added" note naming Anna's case to Olga
    again = desk.take(incoming("olga@customer.test", f"[{first.case_id}]", "И ещё."))
    assert again.outcome is Outcome.JOINED  # she is a party now


def command_mail(cid: str, text: str, date: str, sender: str = OWNER) -> bytes:
    to = command_address(FB, cid, case_token(SECRET, cid))
    return incoming(sender, "Re: notice", text, to=to, headers={"Date": date})


def test_a_replayed_command_under_a_new_message_id_does_not_act_again(frame: Frame) -> None:
    desk = Desk(frame)
    cid = desk.take(incoming(ANNA, *COMPLAINT)).case_id or ""
    close = command_mail(cid, "close\n", "Tue, 03 Mar 2026 08:00:00 +0300")
    assert desk.take(close).cases[0].status is CaseStatus.CLOSED
    desk.take(command_mail(cid, "reopen\n", "Tue, 03 Mar 2026 08:05:00 +0300"))
    replay = close.replace(b"Message-ID: <", b"Message-ID: <replayed.")
    plan = desk.take(replay)
    assert plan.outcome is Outcome.COMMAND and plan.cases == ()
    assert desk.view.cases[cid].status is CaseStatus.OPEN
    assert "replayed" in plan.log[0].text
    later = desk.take(command_mail(cid, "close\n", "Tue, 03 Mar 2026 08:10:00 +0300"))
    assert later.cases[0].status is CaseStatus.CLOSED  # the owner closing again still works


def held(view: View, owner: str) -> list[OutMail]:
    return [m for m in view.mail.values() if m.kind == "summary" and m.recipients[0] == owner]


def test_forged_commands_give_the_owner_a_few_refusals_then_one_summary(frame: Frame) -> None:
    desk = Desk(frame)
    cid = desk.take(incoming(ANNA, *COMPLAINT)).case_id or ""
    forged = command_address(FB, cid, "a" * 16)
    for n in range(10):
        desk.take(incoming(OWNER, "Re", "close\n", to=forged, headers={"Date": f"{n}"}))
    replies = [m for m in desk.view.mail.values() if m.kind == "command_reply"]
    assert len(replies) == 3 and all(m.recipients[0] == OWNER for m in replies)
    [summary] = held(desk.view, OWNER)
    assert summary.next_try == NOW + timedelta(hours=1)  # at the end of the owner's hour
    assert text_of(summary.raw).count("команда отклонена") == 7


def test_a_flood_from_one_address_tells_the_owner_a_few_times_then_sums_up(frame: Frame) -> None:
    desk = Desk(frame)
    for n in range(20):
        desk.take(incoming(MALLORY, f"Жалоба {n}", COMPLAINT[1]))
    mail = list(desk.view.mail.values())
    assert [m.kind for m in mail].count("ack") == 1  # the acknowledgment limit holds
    assert [m.kind for m in mail].count("notice") == 3
    [summary] = held(desk.view, OWNER)
    assert text_of(summary.raw).count(MALLORY) == 17
    notified = [c.events[-1] for c in desk.view.cases.values()]
    assert sum("summary" in e.data for e in notified) == 17
    # Another customer in the same hour is told at once: one flood hides nobody else.
    plan = desk.take(incoming(ANNA, *COMPLAINT))
    assert ("notice", OWNER) in kinds(plan)


def test_a_template_folder_from_before_the_summary_still_gets_one(frame: Frame) -> None:
    templates = frame.notices.templates
    older = {
        name: text
        for name, text in templates.sources.items()
        if not name.startswith(("notice_summary.", "unproven_answer."))
    }
    notices = replace(frame.notices, templates=Templates(older, templates.label))
    desk = Desk(replace(frame, notices=notices))
    first = desk.take(incoming(ANNA, *COMPLAINT))
    for n in range(4):
        desk.take(incoming(MALLORY, f"Жалоба {n}", COMPLAINT[1]))
    [summary] = held(desk.view, OWNER)
    assert "1 more mails" in text_of(summary.raw) and MALLORY in text_of(summary.raw)
    forged = incoming(OWNER, f"Re: [{first.case_id}]", "Ответ.", to=ANNA, headers={"Cc": FB})
    assert "Not counted" in desk.take(forged).mail[0].raw


def test_a_summary_lists_a_hundred_lines_and_counts_the_rest(frame: Frame) -> None:
    desk = Desk(frame)
    for n in range(3 + 100 + 5):
        desk.take(incoming(MALLORY, f"Жалоба {n}", COMPLAINT[1]))
    [summary] = held(desk.view, OWNER)
    text = text_of(summary.raw)
    assert text.count(MALLORY) == 100 and "ещё 5" in text
    subject = email.message_from_string(summary.raw, policy=email.policy.default)["Subject"]
    assert "105" in subject
    assert len(desk.view.marks[f"notice_window:{OWNER}"]["held"]) == 100  # the store stays small


#: Sarcasm the rules still take for thanks ("Спасибо, конечно, но заказ так и не пришёл" is a
#: complaint by the problem-report rules now): the center corrects it.
THANKS_WITH_A_PROBLEM = ("Спасибо", "Спасибо вам огромное за такой сервис, три часа ожидания.")


def test_category_by_mail_moves_a_thanks_to_complaint_and_corrects_the_ack_once(
    frame: Frame,
) -> None:
    """'Спасибо за добрые слова' went to a complaint: the center moves it, the customer gets
    one correction, the case its complaint owner and a due date from when it was received."""
    desk = Desk(frame)
    first = desk.take(incoming(ANNA, *THANKS_WITH_A_PROBLEM))
    [case] = first.cases
    assert case.category == "thanks" and ("ack", ANNA) in kinds(first)
    center = frame.book.owners["center"].email
    cid = case.id
    move = command_mail(cid, "категория жалоба\n", "Tue, 03 Mar 2026 09:00 +0300", center)
    plan = desk.take(move)
    assert plan.outcome is Outcome.COMMAND
    [moved] = plan.cases
    assert (moved.category, moved.owner) == ("complaint", "support")
    complaint = frame.book.categories["complaint"].deadline
    assert moved.due == due_at(case.received, complaint, frame.calendar).at
    reclassified = next(e for e in moved.events if e.what == "reclassified")
    assert reclassified.who == "center"
    assert (reclassified.data["from"], reclassified.data["to"]) == ("thanks", "complaint")
    assert [k for k, _ in kinds(plan)] == ["command_reply", "ack"]
    correction = next(m for m in plan.mail if m.kind == "ack")
    assert ANNA in correction.recipients
    head = email.message_from_string(correction.raw, policy=email.policy.default)
    assert "Уточнение" in str(head["Subject"]) and f"[{cid}]" in str(head["Subject"])
    assert "ответ на ваше письмо был ошибочным" in text_of(correction.raw)
    assert "вы сообщаете о проблеме" in text_of(correction.raw)
    back = desk.take(command_mail(cid, "category thanks\n", "Tue, 03 Mar 2026 09:10 +0300", center))
    again = desk.take(
        command_mail(cid, "category complaint\n", "Tue, 03 Mar 2026 09:20 +0300", center)
    )
    assert back.cases[0].category == "thanks" and again.cases[0].category == "complaint"
    assert [m.kind for m in (*back.mail, *again.mail)] == ["command_reply", "command_reply"]


def test_category_by_mail_is_refused_for_an_unknown_category_and_from_a_stranger(
    frame: Frame,
) -> None:
    desk = Desk(frame)
    cid = desk.take(incoming(ANNA, *COMPLAINT)).case_id or ""
    bad = desk.take(command_mail(cid, "category praise\n", "Tue, 03 Mar 2026 09:00 +0300"))
    assert bad.cases == () and [k for k, _ in kinds(bad)] == ["command_reply"]
    stranger = desk.take(
        command_mail(cid, "category thanks\n", "Tue, 03 Mar 2026 09:05 +0300", ANNA)
    )
    assert stranger.cases == () and stranger.mail == ()  # reasons go to staff, not to forgers


def test_a_case_none_rule_files_what_it_matches_as_automatic(notices: NoticeDesk) -> None:
    """The admin's own rule: the shop's order robot writes from a person-looking address with
    no automatic headers; `case: none` keeps it out of the cases, before any category rule."""
    text = (REPO / "rules.yaml").read_text(encoding="utf-8")
    robot_rule = (
        "rules:\n  - name: order-robot\n    case: none\n"
        "    when: {in: from, regex: '^orders@shop\\.test$'}\n"
    )
    built = build(text.replace("rules:\n", robot_rule, 1), "rules.yaml", default_lemmatizer())
    book = built.require()
    ids = (f"<{n}@example.test>" for n in itertools.count(1))
    frame = Frame(replace(notices, book=book), calendar_for(book), ids.__next__)
    plan = Desk(frame).take(incoming("orders@shop.test", "Жалоба", "Заказ 17 не доставлен."))
    assert plan.outcome is Outcome.AUTOMATIC
    assert plan.cases == () and plan.mail == ()
    assert plan.ledger.folder == AUTOMATIC_FOLDER
    assert plan.ledger.reason == "rule: rule order-robot: case: none"
    person = Desk(frame).take(incoming(ANNA, "Жалоба", "Заказ 17 не доставлен."))
    assert person.outcome is Outcome.CASE
