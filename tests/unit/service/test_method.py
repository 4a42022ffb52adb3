"""The feedback center's method on the twins: a close with its outcome, the employee's
explanation, and "was it solved?" — through mail commands and the cycle, in milliseconds.

The lab's tests/lab/test_method.py proves the same through Dovecot and the CLI.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

from twins import MemoryMailbox, RecordingSender, incoming

from daemon.adapters.storage.store import Store
from daemon.core.cases import Case
from daemon.core.mail.compose import Templates
from daemon.core.report.figures import build_report
from daemon.core.report.text import report_doc
from daemon.core.rules import RuleBook
from daemon.core.satisfaction import read_answer
from daemon.service.case_changes import apply_request
from daemon.service.cycle import run_cycle
from daemon.service.intake import Desk

FB = "feedback@example.test"
OWNER = "support-lead@example.test"
EMPLOYEE = "olga@staff.example.test"
NOW = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Moscow
COMPLAINT = ("Жалоба на доставку", "Курьер нагрубил и опоздал на пять часов, прошу разобраться.")


class Center:
    """A store, a mailbox and a sender with the shipped rules; `cycle` runs feedbackd once."""

    def __init__(self, book: RuleBook, templates: Templates):
        self.book, self.templates = book, templates
        self.mailbox = MemoryMailbox()
        self.sender = RecordingSender({FB: self.mailbox})
        self.store = Store(None)
        self.now = NOW

    def cycle(self, hours: float = 0) -> None:
        self.now += timedelta(hours=hours)
        desk = Desk(self.store, self.book, self.templates, FB)
        run_cycle(desk, self.mailbox, self.sender, self.now)

    def write(self, raw: bytes) -> None:
        self.mailbox.deliver(raw, self.now)

    def case(self) -> Case:
        [case] = [c for c in self.store.cases() if c.category == "complaint"]
        return case

    def report(self) -> dict[str, Any]:
        """`report --format json` of today, as of now."""
        cases = self.store.cases()
        return report_doc(build_report(cases, NOW.date(), NOW.date(), self.now, self.book.timezone))

    def to(self, address: str) -> list[Message]:
        return self.sender.sent_to(address)

    def command(self, line: str) -> Message:
        """The owner replies to the latest feedbackd mail about the case with `line`."""
        notice = self.to(OWNER)[-1]
        self.write(incoming(OWNER, f"Re: {notice['Subject']}", line + "\n", to=notice["Reply-To"]))
        self.cycle(0.1)
        return self.to(OWNER)[-1]


def complaint_from(center: Center, customer: str) -> Case:
    center.write(incoming(customer, *COMPLAINT))
    center.cycle()
    return center.case()


def text(mail: Message) -> str:
    body = mail.get_body(("plain",))  # type: ignore[attr-defined]
    return str(body.get_content()) if body is not None else ""


def events(case: Case) -> list[str]:
    return [e.what for e in case.events]


def test_close_by_mail_with_verdict_cause_and_remedy(book: RuleBook, templates: Templates) -> None:
    center = Center(book, templates)
    cid = complaint_from(center, "anna@customer.test").id
    refused = center.command("close justified cause=weather")
    assert "не выполнена" in refused["Subject"]
    assert "delivery" in text(refused)  # the refusal lists the allowed causes
    assert center.case().status == "open"
    too_much = center.command("закрыть обоснована причина=доставка средство=возврат")
    assert "serious" in text(too_much) and center.case().status == "open"

    done = center.command("закрыть обоснована причина=доставка средство=сертификат")
    assert "Команда выполнена" in done["Subject"], done.get_content()
    case = center.case()
    closed = next(e for e in case.events if e.what == "closed")
    assert closed.data == {
        "message_id": closed.data["message_id"],
        "verdict": "justified",
        "cause": "delivery",
        "remedy": "certificate",
        "remedy_kind": "present",
        "employees": [],
        "complexity": "simple",
    }
    doc = center.report()
    assert doc["by"]["category"]["complaint"]["justified"] == 1
    assert doc["by"]["category"]["complaint"]["unjustified"] == 0
    assert doc["by"]["cause"]["delivery"]["justified"] == 1
    assert cid == case.id


def test_a_verdict_can_be_required_and_the_cli_refuses_without_it(
    book: RuleBook, templates: Templates
) -> None:
    strict = replace(
        book,
        categories={
            **book.categories,
            "complaint": replace(book.categories["complaint"], verdict_required=True),
        },
    )
    center = Center(strict, templates)
    cid = complaint_from(center, "bob@customer.test").id
    refused = center.command("close")
    assert "justified" in text(refused) and center.case().status == "open"
    said = apply_request(center.store, strict, {"case": cid, "action": "close"}, center.now)
    assert not said.ok and "verdict" in said.message
    unknown = {"case": cid, "action": "close", "verdict": "unjustified", "remedy": "yacht"}
    said = apply_request(center.store, strict, unknown, center.now)
    assert not said.ok and "apology" in said.message
    ok = {
        "case": cid,
        "action": "close",
        "verdict": "unjustified",
        "employees": ["Olga@Staff.Example.test"],
    }
    said = apply_request(center.store, strict, ok, center.now)
    assert said.ok, said.message
    closed = center.case().events[-1]
    assert (closed.data["verdict"], closed.data["employees"]) == ("unjustified", [EMPLOYEE])


def test_an_explanation_asked_reminded_once_and_given(book: RuleBook, templates: Templates) -> None:
    center = Center(book, templates)
    complaint_from(center, "ivan@customer.test")
    reply = center.command(f"explain {EMPLOYEE}")
    assert "Команда выполнена" in reply["Subject"]
    [request] = center.to(EMPLOYEE)
    assert "explain." in request["Reply-To"]
    assert request["Reply-To"] != center.to(OWNER)[0]["Reply-To"]  # no command token
    assert any(p.get_content_type() == "message/rfc822" for p in request.walk())  # the complaint
    center.cycle(1)
    assert len(center.to(EMPLOYEE)) == 1  # the request once, however often the clock ticks
    center.cycle(48)  # Thursday 10:00: one working day before the due moment
    center.cycle(1)
    assert len(center.to(EMPLOYEE)) == 2  # reminded once
    # Someone else writing to the explanation address is not the employee's explanation.
    center.write(incoming("mallory@x.test", "Re", "Я всё объясню.", to=request["Reply-To"]))
    center.cycle(0.1)
    assert "explanation_given" not in events(center.case())
    center.write(
        incoming(
            EMPLOYEE,
            f"Re: {request['Subject']}",
            "Курьер попал в пробку, клиенту не позвонил. Больше не повторится.",
            to=request["Reply-To"],
            headers={"In-Reply-To": request["Message-ID"]},
        )
    )
    center.cycle(0.1)
    case = center.case()
    given = next(e for e in case.events if e.what == "explanation_given")
    assert given.data["employee"] == EMPLOYEE and "пробку" in given.data["text"]
    assert "пробку" in text(center.to(OWNER)[-1])  # the owner is told
    assert "reply_joined" not in events(case)
    center.cycle(72)
    assert len(center.to(EMPLOYEE)) == 2  # no reminder once it is given
    doc = center.report()
    tally = doc["by"]["category"]["complaint"]
    assert (tally["explanations_asked"], tally["explanations_given"]) == (1, 1)


def test_closing_asks_once_and_no_reopens(book: RuleBook, templates: Templates) -> None:
    center = Center(book, templates)
    customer = "pavel@customer.test"
    complaint_from(center, customer)
    center.command("close unjustified")
    asked = [m for m in center.to(customer) if "решить" in text(m)]
    assert len(asked) == 1
    assert asked[0]["Auto-Submitted"] == "auto-generated"
    center.write(
        incoming(
            customer,
            f"Re: {asked[0]['Subject']}",
            "Нет, ничего не решено, курьер так и не приехал.",
            headers={"In-Reply-To": asked[0]["Message-ID"]},
        )
    )
    center.cycle(0.1)
    case = center.case()
    assert case.status == "open" and events(case)[-2:] == ["satisfaction", "reopened"]
    assert "ничего не решено" in text(center.to(OWNER)[-1])
    center.command("close justified cause=delivery")
    center.cycle(1)
    assert len([m for m in center.to(customer) if "решить" in text(m)]) == 1


def test_yes_records_satisfaction_and_robots_are_never_asked(
    book: RuleBook, templates: Templates
) -> None:
    center = Center(book, templates)
    customer = "vera@customer.test"
    complaint_from(center, customer)
    center.command("close justified cause=quality remedy=apology")
    [asked] = [m for m in center.to(customer) if "решить" in text(m)]
    owner_mail = len(center.to(OWNER))
    center.write(
        incoming(
            customer, "Re: вопрос", "Да, спасибо!", headers={"In-Reply-To": asked["Message-ID"]}
        )
    )
    center.cycle(0.1)
    case = center.case()
    assert case.status == "closed" and case.events[-1].data["answer"] == "yes"
    assert len(center.to(OWNER)) == owner_mail  # nothing for the owner to do
    doc = center.report()
    assert doc["by"]["category"]["complaint"]["satisfied"] == 1
    assert doc["satisfaction"]["rate_pct"] == 100.0


def test_answers_are_read() -> None:
    assert read_answer("Нет, ничего не решено").kind == "no"
    assert read_answer("да, спасибо\n\n> Удалось ли решить ваш вопрос?").kind == "yes"
    assert read_answer("Yes").kind == "yes"
    assert (read_answer("4").kind, read_answer("4").score) == ("score", 4)
    assert read_answer("отписаться").kind == "stop"
    assert read_answer("Вопрос решён не до конца, жду звонка").kind == "text"
    assert read_answer("Всё ещё не решено").kind == "no"
    assert read_answer("Нет проблем, всё решили").kind == "yes"
    # a yes with a reservation goes to the owner as the customer's words, not as satisfied
    assert read_answer("Да, но счёт так и не пересчитали").kind == "text"
    assert read_answer("Yes, but the refund never arrived").kind == "text"
    assert read_answer("Yes, thank you, all good").kind == "yes"


def test_an_english_customer_is_asked_in_english_and_a_score_is_read(
    book: RuleBook, templates: Templates
) -> None:
    center = Center(book, templates)
    customer = "beth@customer.test"
    center.write(incoming(customer, "Late delivery", "The courier was late and rude. Awful."))
    center.cycle()
    center.command("close justified cause=staff")
    [asked] = [m for m in center.to(customer) if "solved" in m["Subject"]]
    assert "Was your issue solved?" in text(asked)
    center.write(incoming(customer, "Re", "2 - meh", headers={"In-Reply-To": asked["Message-ID"]}))
    center.cycle(0.1)
    case = center.case()
    assert (case.events[-1].data["answer"], case.events[-1].data["score"]) == ("score", 2)
    assert case.status == "closed" and "2 - meh" in text(center.to(OWNER)[-1])


def test_english_speaking_staff_get_their_mail_in_english(
    book: RuleBook, templates: Templates
) -> None:
    owners = {k: replace(o, language="en") for k, o in book.owners.items()}
    center = Center(replace(book, owners=owners), templates)
    customer = "kate@customer.test"
    complaint_from(center, customer)
    center.command(f"explain {EMPLOYEE}")
    [request] = center.to(EMPLOYEE)
    assert "Your written explanation" in request["Subject"]
    center.write(incoming(EMPLOYEE, "Re", "I was stuck in traffic.", to=request["Reply-To"]))
    center.cycle(0.1)
    assert "Explanation from" in center.to(OWNER)[-1]["Subject"]
    done = center.command("close unjustified")
    assert "Outcome: unjustified" in text(done)
    [asked] = [m for m in center.to(customer) if "решить" in text(m)]
    center.write(incoming(customer, "Re", "нет", headers={"In-Reply-To": asked["Message-ID"]}))
    center.cycle(0.1)
    told = center.to(OWNER)[-1]
    assert "not solved" in told["Subject"] and "open again" in text(told)
