"""Staff notices and the short customer notice: structure, tokens, language, no injection."""

from __future__ import annotations

import base64
import email
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.config import load_templates
from daemon.core import cases
from daemon.core.mail.compose import wire
from daemon.core.mail.message import Message, parse
from daemon.core.mail.notices import (
    added_to_case_notice,
    command_reply,
    escalation_mail,
    joined_notice_to_owner,
    owner_notice,
    reminder_mail,
    thanks_forward,
    thanks_recipients,
)
from daemon.core.mail.staff import NoticeDesk, base_context
from daemon.core.mail.wording import format_duration
from daemon.core.owner_commands import authorize, parse_command
from daemon.core.reminders import Reminder
from daemon.core.rules import Category, Owner, Rule, RuleBook, Term
from daemon.core.tokens import parse_command_address, valid_token

MSK = timezone(timedelta(hours=3))
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=MSK)
FB = "feedback@company.example"
SECRET = b"test secret"
THANKS = Category(
    "thanks", "center", Term(3, "working_days"), "ack_thanks", "F/Thanks", forward_to=("team",)
)
BOOK = RuleBook(
    source="test",
    categories={"thanks": THANKS},
    center="center",
    owners={
        "center": Owner("center", "Центр обратной связи", "center@company.example", "ru"),
        "legal": Owner("legal", "Юристы", "legal@company.example", "ru", "center"),
        "support": Owner("support", "Support Lead", "support@company.example", "en", "center"),
        "team": Owner("team", "Service Team", "team@company.example", "ru", "center"),
        "ivanov": Owner("ivanov", "Иван Иванов", "ivanov@company.example", "ru", "team"),
    },
    rules=(
        Rule("praise-ivanov", "thanks", None, owner="ivanov"),  # type: ignore[arg-type]
        Rule("thanks-words", "thanks", None),
    ),  # type: ignore[arg-type]
)
DESK = NoticeDesk(load_templates(REPO / "templates"), BOOK, FB, SECRET)


def raw_mail(
    subject: str = "Претензия по заказу 42",
    body: str = "Верните деньги.\nclose\n",
    sender: str = "Анна Петрова <anna@customer.test>",
    mid: str = "<m1@customer.test>",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = FB
    msg["Subject"] = subject
    msg["Message-ID"] = mid
    msg.set_content(body)
    return msg.as_bytes()


def new_case(
    msg: Message,
    owner: str = "legal",
    category: str = "official",
    rule: str = "r1",
    language: str = "ru",
) -> cases.Case:
    return cases.open_case(
        "FB-2026-000001",
        category=category,
        owner=owner,
        received=NOW,
        due=NOW + timedelta(days=10),
        sender=msg.from_addr,
        sender_name=msg.from_name,
        subject=msg.subject,
        message_id=msg.message_id,
        language=language,
        rule=rule,
    )


def reparse(mail: EmailMessage) -> EmailMessage:
    """What the recipient sees: the mail as the outbox sends it, parsed back."""
    raw = wire(mail).encode("utf-8")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    return email.message_from_bytes(raw, policy=default)


def body(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def assert_token_reply_to(mail: EmailMessage) -> None:
    found = parse_command_address([str(mail["Reply-To"])], FB)
    assert found is not None and found[0] == "FB-2026-000001"
    assert valid_token(SECRET, *found)


def test_owner_notice_structure() -> None:
    raw = raw_mail()
    msg = parse(raw)
    mail = reparse(
        owner_notice(DESK, new_case(msg), msg, raw, message_id="<n1@company.example>", now=NOW)
    )
    assert mail.get_content_type() == "multipart/mixed"
    assert mail["Subject"].startswith("[FB-2026-000001] ")
    assert "Претензия по заказу 42" in mail["Subject"]
    assert mail["To"].addresses[0].addr_spec == "legal@company.example"
    assert mail["From"].addresses[0].addr_spec == FB
    assert mail["From"].addresses[0].display_name == "Центр обратной связи"
    assert mail["Message-ID"] == "<n1@company.example>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert_token_reply_to(mail)
    text = body(mail)
    assert "> Верните деньги.\n> close" in text
    assert "12.03.2026 10:00" in text and "официальное обращение" in text
    answer_to = DESK.answer_address("FB-2026-000001")  # the copy that proves the answer
    assert "close" in text and "reassign" in text and f"в копию {answer_to}" in text
    attached = [p for p in mail.iter_attachments() if p.get_content_type() == "message/rfc822"]
    assert len(attached) == 1
    original = attached[0].get_content()
    assert original["Message-ID"] == "<m1@customer.test>"
    assert original["Subject"] == "Претензия по заказу 42"
    assert "Верните деньги." in original.get_content()


def test_the_original_is_attached_byte_for_byte() -> None:
    # Odd folding, bare LFs and a line that looks like a MIME boundary: nothing is rewritten.
    raw = (
        b"From: anna@customer.test\nSubject: =?utf-8?b?0J/RgNC+0LHQu9C10LzQsA==?=\n"
        b"X-Odd:   spaced\n\tfolded\nMessage-ID: <v@customer.test>\n"
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        + "Проблема\n--feedbackd-verbatim-x\nконец\n".encode()
    )
    msg = parse(raw)
    out = wire(owner_notice(DESK, new_case(msg), msg, raw, message_id="<n@x>", now=NOW))
    assert raw.replace(b"\n", b"\r\n") in out.encode("utf-8")
    mail = email.message_from_bytes(out.encode("utf-8"), policy=default)
    [part] = list(mail.iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    assert part["Content-Transfer-Encoding"] == "8bit"
    assert part.get_content()["X-Odd"] is not None
    assert "конец" in part.get_content().get_content()
    assert not re.search(r"feedbackd-verbatim-[0-9a-f]{32}", out)  # the placeholder is gone


def test_long_text_is_quoted_in_part_and_the_rest_is_pointed_to() -> None:
    raw = raw_mail(body="".join(f"line {i}\n" for i in range(100)))
    msg = parse(raw)
    text = body(
        reparse(
            owner_notice(
                DESK, new_case(msg, owner="support"), msg, raw, message_id="<n@x>", now=NOW
            )
        )
    )
    assert "> line 59" in text and "> line 60" not in text
    assert "40 more lines" in text


def test_an_oversized_original_is_attached_as_headers_only_and_the_notice_says_so() -> None:
    raw = raw_mail(body="x" * 5000)
    msg = parse(raw)
    small = NoticeDesk(DESK.templates, BOOK, FB, SECRET, max_attachment=1000)
    mail = reparse(
        owner_notice(small, new_case(msg, owner="support"), msg, raw, message_id="<n@x>", now=NOW)
    )
    types = [p.get_content_type() for p in mail.iter_attachments()]
    assert types == ["text/rfc822-headers"]
    headers = next(mail.iter_attachments()).get_content()
    assert "Message-ID: <m1@customer.test>" in headers and "xxxx" not in headers
    assert "too large to attach" in body(mail)


def long_line_original(part_head: bytes, part_body: bytes) -> bytes:
    """A customer's mail: a short text and one more part as the sender's program wrote it."""
    return (
        b"From: anna@customer.test\r\nTo: feedback@company.example\r\nSubject: photo\r\n"
        b"Message-ID: <long@customer.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment.\r\n"
        b"--b1\r\n" + part_head + b"\r\n\r\n" + part_body + b"\r\n--b1--\r\n"
    )


LONG_PARTS = {
    # One base64 line of 4,000 characters, as some webmail and scripts write attachments.
    "base64": (
        "application/pdf",
        b"Content-Type: application/pdf; name=scan.pdf\r\nContent-Transfer-Encoding: base64",
        base64.b64encode(bytes(range(256)) * 12)[:4000],
    ),
    # HTML written on one line of 5,000 characters, 7bit.
    "html": (
        "text/html",
        b"Content-Type: text/html; charset=utf-8",
        b"<html><body>" + b"<p>too late again</p>" * 240 + b"</body></html>",
    ),
}


@pytest.mark.parametrize("kind", sorted(LONG_PARTS))
def test_an_original_with_a_line_over_998_octets_is_reencoded_and_deliverable(kind: str) -> None:
    ctype, head, data = LONG_PARTS[kind]
    assert max(len(x) for x in data.split(b"\r\n")) > 998
    raw = long_line_original(head, data)
    msg = parse(raw)
    mail = reparse(owner_notice(DESK, new_case(msg), msg, raw, message_id="<n@x>", now=NOW))
    [part] = list(mail.iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    original = part.get_content()
    assert original["Message-ID"] == "<long@customer.test>"
    [inner] = [p for p in original.walk() if p.get_content_type() == ctype]
    decoded = base64.b64decode(data) if kind == "base64" else data
    assert inner.get_payload(decode=True) == decoded  # what the sender sent, line for line


def test_an_original_that_cannot_be_reencoded_is_attached_as_an_eml_file() -> None:
    """A long base64 line that is damaged (cut one character short): decoding and encoding it
    again would change it, so the original goes as application/octet-stream, base64, every
    byte kept."""
    raw = long_line_original(
        b"Content-Type: application/pdf; name=scan.pdf\r\nContent-Transfer-Encoding: base64",
        base64.b64encode(b"%PDF-1.4 " * 300)[:-1],
    )
    msg = parse(raw)
    mail = reparse(owner_notice(DESK, new_case(msg), msg, raw, message_id="<n@x>", now=NOW))
    [part] = list(mail.iter_attachments())
    assert part.get_content_type() == "application/octet-stream"
    assert part["Content-Transfer-Encoding"] == "base64"
    assert part.get_filename() == "FB-2026-000001.eml"
    assert part.get_content() == raw


def test_an_8bit_original_in_a_legacy_charset_is_attached_and_serialisable() -> None:
    raw = (
        b"From: anna@customer.test\r\nSubject: =?koi8-r?b?8NLF1MXO2snR?=\r\n"
        b"Message-ID: <k@customer.test>\r\nContent-Type: text/plain; charset=koi8-r\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "Плохо\r\n".encode("koi8-r")
    )
    msg = parse(raw)
    mail = reparse(owner_notice(DESK, new_case(msg), msg, raw, message_id="<n@x>", now=NOW))
    original = next(mail.iter_attachments()).get_content()
    assert original["Subject"] == "Претензия"
    assert "Плохо" in original.get_content()


def test_no_header_injection_from_a_hostile_subject_or_name() -> None:
    raw = raw_mail()
    msg = parse(raw)
    case = new_case(msg)
    import dataclasses

    case = dataclasses.replace(
        case,
        subject="Hi\r\nBcc: victim@evil.test\r\nX-Evil: 1",
        sender_name="Eve\nReply-To: eve@evil.test",
    )
    for mail in (
        owner_notice(DESK, case, msg, raw, message_id="<n@x>", now=NOW),
        added_to_case_notice(DESK, case, msg, "anna@customer.test", message_id="<a@x>", now=NOW),
    ):
        parsed = reparse(mail)
        assert parsed["Bcc"] is None and parsed["X-Evil"] is None
        assert len(parsed.get_all("Reply-To") or []) <= 1
        assert "\n" not in parsed["Subject"]
    notice = reparse(owner_notice(DESK, case, msg, raw, message_id="<n@x>", now=NOW))
    assert "Hi Bcc: victim@evil.test X-Evil: 1" in notice["Subject"]  # text, on one line


@pytest.mark.parametrize(
    "subject",
    [
        "срок Новое test жалоба a обращение обращение обращение — обращение",
        "— ответ: a клиент обращение",
        "(претензия) срок — (претензия) срок",
    ],
)
def test_a_cyrillic_subject_keeps_every_space(subject: str) -> None:
    raw = raw_mail(subject=subject)
    msg = parse(raw)
    for owner in ("legal", "support"):
        mail = owner_notice(DESK, new_case(msg, owner), msg, raw, message_id="<n@x>", now=NOW)
        assert reparse(mail)["Subject"].endswith(f": {subject}")
    added = added_to_case_notice(
        DESK, new_case(msg), msg, "a@customer.test", message_id="<a@x>", now=NOW
    )
    assert reparse(added)["Subject"] == "[FB-2026-000001] Ваше письмо добавлено к обращению"


def test_staff_language_follows_the_owner() -> None:
    raw = raw_mail()
    msg = parse(raw)
    ru = reparse(
        owner_notice(DESK, new_case(msg, owner="legal"), msg, raw, message_id="<1@x>", now=NOW)
    )
    en = reparse(
        owner_notice(DESK, new_case(msg, owner="support"), msg, raw, message_id="<2@x>", now=NOW)
    )
    assert "Новое обращение" in ru["Subject"] and "Ответить нужно до" in body(ru)
    assert "New case" in en["Subject"] and "12 March 2026, 10:00" in body(en)


def test_reminder_steps_and_the_time_left_or_overdue() -> None:
    raw = raw_mail()
    msg = parse(raw)
    case = new_case(msg)
    due = NOW + timedelta(days=10)
    owner = BOOK.owners["legal"]
    expect = {
        "remind": (NOW + timedelta(days=5), "Напоминание", "осталось 5 дней"),
        "due": (due - timedelta(hours=2), "Срок ответа сегодня", "осталось 2 часа"),
        "overdue": (due + timedelta(days=1, hours=3), "Просрочено", "просрочка — 1 день 3 часа"),
    }
    for kind, (at, subject, phrase) in expect.items():
        mail = reparse(
            reminder_mail(
                DESK,
                case,
                Reminder(kind, kind, at, at, ("legal",), ""),
                owner,
                message_id="<r@x>",
                now=at,
                in_reply_to="<n1@x>",
            )
        )
        assert mail["Subject"].startswith(f"[FB-2026-000001] {subject}")
        assert phrase in body(mail)
        assert mail["In-Reply-To"] == "<n1@x>"
        assert_token_reply_to(mail)


def test_escalation_says_whose_case_how_late_and_who_was_told() -> None:
    raw = raw_mail()
    msg = parse(raw)
    at = NOW + timedelta(days=12)
    reminder = Reminder("escalate", "escalate", at, at, ("center", "support"), "overdue")
    mail = reparse(
        escalation_mail(
            DESK,
            new_case(msg, owner="legal"),
            reminder,
            BOOK.owners["support"],
            message_id="<e@x>",
            now=at,
        )
    )
    text = body(mail)
    assert "Escalation" in mail["Subject"] and "[FB-2026-000001]" in mail["Subject"]
    assert "owned by Юристы" in text and "overdue by 2 days" in text
    assert "Центр обратной связи, Support Lead" in text
    assert mail["To"].addresses[0].addr_spec == "support@company.example"
    assert_token_reply_to(mail)


def test_joined_notice_quotes_and_attaches_the_new_message() -> None:
    first = parse(raw_mail())
    raw = raw_mail(
        subject="Re: [FB-2026-000001] Претензия", body="Жду ответа!\n", mid="<m2@customer.test>"
    )
    new = parse(raw)
    case = cases.apply(
        cases.apply(new_case(first), "closed", NOW), "reply_joined", NOW, message_id=new.message_id
    )
    mail = reparse(joined_notice_to_owner(DESK, case, new, raw, message_id="<j@x>", now=NOW))
    text = body(mail)
    assert "> Жду ответа!" in text and "снова написал" in text and "reopen" in text
    original = next(mail.iter_attachments()).get_content()
    assert original["Message-ID"] == "<m2@customer.test>"
    assert_token_reply_to(mail)


def test_added_notice_is_a_short_auto_reply_without_any_token() -> None:
    raw = raw_mail(mid="<m2@customer.test>")
    new = parse(raw)
    case = new_case(new, language="en")
    mail = added_to_case_notice(DESK, case, new, "anna@customer.test", message_id="<a@x>", now=NOW)
    parsed = reparse(mail)
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["In-Reply-To"] == "<m2@customer.test>"
    assert "<m2@customer.test>" in parsed["References"]
    assert parsed["Reply-To"] is None and parsed["To"] == "anna@customer.test"
    assert "added to case FB-2026-000001" in body(parsed)  # the case language, not the owner's
    assert "+FB-2026-000001." not in wire(mail)


def test_thanks_forward_quotes_the_words_but_not_the_address() -> None:
    raw = raw_mail(subject="Спасибо!", body="Иван очень помог.\n")
    msg = parse(raw)
    case = new_case(msg, owner="center", category="thanks", rule="thanks-words")
    mail = thanks_forward(DESK, case, msg, BOOK.owners["team"], message_id="<t@x>", now=NOW)
    parsed = reparse(mail)
    assert "> Иван очень помог." in body(parsed) and "Анна Петрова" in body(parsed)
    assert "anna@customer.test" not in wire(mail)
    assert parsed["Reply-To"] == "center@company.example"
    assert parsed["Subject"].startswith("[FB-2026-000001] ")


def test_thanks_go_to_the_employee_a_rule_names_else_to_forward_to() -> None:
    msg = parse(raw_mail())
    named = new_case(msg, owner="ivanov", category="thanks", rule="praise-ivanov")
    general = new_case(msg, owner="center", category="thanks", rule="thanks-words")
    assert [o.key for o in thanks_recipients(named, BOOK)] == ["ivanov"]
    assert [o.key for o in thanks_recipients(general, BOOK)] == ["team"]
    assert thanks_recipients(new_case(msg, category="official"), BOOK) == ()


def command_mail(sender: str, text: str, reply_to: str = "") -> Message:
    msg = EmailMessage()
    msg["From"] = sender
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = "Re: [FB-2026-000001] x"
    msg["Message-ID"] = "<cmd@company.example>"
    msg.set_content(text)
    return parse(msg.as_bytes())


def test_accepted_command_reply_goes_to_the_sender_with_the_token() -> None:
    case = new_case(parse(raw_mail()), owner="support")
    cm = command_mail("support@company.example", "close")
    cmd = parse_command(cm.text)
    auth = authorize(cmd, case, cm.from_addr, True, BOOK)
    closed = cases.apply(case, auth.event, NOW, who=auth.actor)
    mail = reparse(command_reply(DESK, case.id, closed, cm, cmd, auth, message_id="<c@x>", now=NOW))
    assert mail["To"] == "support@company.example"
    assert mail["In-Reply-To"] == "<cmd@company.example>"
    assert "Command done" in mail["Subject"] and "The case is closed." in body(mail)
    assert_token_reply_to(mail)


def test_rejected_command_from_a_stranger_gets_the_reason_and_never_the_token() -> None:
    case = new_case(parse(raw_mail()))
    cm = command_mail("mallory@evil.test", "close", reply_to="drop@evil.test")
    cmd = parse_command(cm.text)
    auth = authorize(cmd, case, cm.from_addr, True, BOOK)
    mail = command_reply(DESK, case.id, case, cm, cmd, auth, message_id="<c@x>", now=NOW)
    parsed = reparse(mail)
    assert parsed["To"] == "mallory@evil.test"  # the From, not the Reply-To it asked for
    assert "не выполнена" in parsed["Subject"] and auth.reason in body(parsed)
    assert parsed["Reply-To"] is None and "+FB-2026-000001." not in wire(mail)


def test_a_template_without_the_case_id_still_gets_it_in_the_subject(tmp_path: Path) -> None:
    for f in (REPO / "templates").glob("*.j2"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "added.en.j2").write_text("Subject: Thanks\n\nAdded.\n")
    desk = NoticeDesk(load_templates(tmp_path), BOOK, FB, SECRET)
    msg = parse(raw_mail())
    mail = added_to_case_notice(
        desk, new_case(msg, language="en"), msg, "a@customer.test", message_id="<a@x>", now=NOW
    )
    assert mail["Subject"] == "[FB-2026-000001] Thanks"


def test_secret_is_not_in_the_desk_repr() -> None:
    assert "test secret" not in repr(DESK)


@pytest.mark.parametrize(
    "minutes, ru, en",
    [
        (1, "1 минута", "1 minute"),
        (45, "45 минут", "45 minutes"),
        (60, "1 час", "1 hour"),
        (3 * 60, "3 часа", "3 hours"),
        (1440 + 60, "1 день 1 час", "1 day 1 hour"),
        (2 * 1440, "2 дня", "2 days"),
        (11 * 1440 + 5 * 60, "11 дней 5 часов", "11 days 5 hours"),
        (21 * 1440 + 22 * 60, "21 день 22 часа", "21 days 22 hours"),
    ],
)
def test_durations_read_naturally(minutes: int, ru: str, en: str) -> None:
    assert format_duration(timedelta(minutes=minutes), "ru") == ru
    assert format_duration(timedelta(minutes=minutes), "en") == en


# -- moments on the admin's clock ------------------------------------------------------------


def case_received_in_utc(language: str, owner: str = "legal") -> cases.Case:
    """The case of the report: the server stamped the mail in UTC, the deadline came out on
    the admin's clock (+03:00)."""
    return cases.open_case(
        "FB-2026-000001",
        category="official",
        owner=owner,
        received=datetime(2026, 12, 1, 20, 7, tzinfo=UTC),
        due=datetime(2026, 12, 11, 23, 59, 59, tzinfo=MSK),
        sender="anna@customer.test",
        sender_name="Анна Петрова",
        subject="Претензия",
        message_id="<m1@customer.test>",
        language=language,
        rule="r1",
    )


@pytest.mark.parametrize(
    ("language", "received", "due"),
    [
        ("ru", "получено 01.12.2026 23:07 МСК", "не позднее 11.12.2026 23:59 МСК"),
        (
            "en",
            "received on 1 December 2026, 23:07 MSK",
            "no later than 11 December 2026, 23:59 MSK",
        ),
    ],
)
def test_the_official_acknowledgment_shows_both_moments_on_the_admins_labelled_clock(
    language: str, received: str, due: str
) -> None:
    case = case_received_in_utc(language)
    ack = DESK.templates.render("ack_official", language, base_context(DESK, case, language))
    text = " ".join(ack.text.split())
    assert received in text and due in text
    assert "20:07" not in text  # the server's UTC reading is never shown unlabelled


def test_staff_mail_shows_moments_in_the_rules_timezone_whatever_the_recipient() -> None:
    book = replace(BOOK, timezone="Asia/Yekaterinburg")  # +05:00, no letter abbreviation
    desk = replace(DESK, book=book)
    raw = raw_mail()
    msg = parse(raw)
    case = case_received_in_utc("ru", owner="support")  # an English-speaking owner
    text = body(reparse(owner_notice(desk, case, msg, raw, message_id="<n@x>", now=NOW)))
    assert "Due:         12 December 2026, 01:59 UTC+5" in text
    assert "Received:    2 December 2026, 01:07 UTC+5" in text
