"""Composition: templates are sandboxed and strict; headers cannot be injected."""

from __future__ import annotations

import email.utils
import random
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from support import REPO

from daemon.adapters.config import load_templates
from daemon.core.mail.compose import (
    Rendered,
    Templates,
    build_mail,
    header_safe,
    seven_bit,
    verbatim_message,
    wire,
)
from daemon.errors import ConfigError

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CTX = {
    "case_id": "FB-2026-000007",
    "category": "complaint",
    "subject": "s",
    "customer_name": "Анна",
    "customer_email": "a@x",
    "owner_name": "Support",
    "due_date": "04.03.2026",
    "received_date": "02.03.2026",
    "center_name": "Центр",
    "feedback_address": "fb@x",
}


def test_shipped_templates_render_in_both_languages() -> None:
    t = load_templates(REPO / "templates")
    for name in ("ack_thanks", "ack_complaint", "ack_official", "ack_unclassified"):
        for lang in ("ru", "en"):
            r = t.render(name, lang, CTX)
            assert r.subject.startswith("[FB-2026-000007]")
            assert "FB-2026-000007" in r.text


def test_official_acknowledgment_states_the_due_date() -> None:
    r = load_templates(REPO / "templates").render("ack_official", "ru", CTX)
    assert "04.03.2026" in r.text


def test_customer_text_is_data_not_template_code() -> None:
    t = Templates({"t.en.j2": "Subject: {{ subject }}\n\n{{ customer_name }}\n"}, "mem")
    r = t.render("t", "en", {**CTX, "subject": "{{ 7*7 }}", "customer_name": "{% raw %}x"})
    assert r.subject == "{{ 7*7 }}"
    assert "{% raw %}x" in r.text


def test_undefined_variable_and_sandbox_escape_are_errors() -> None:
    t = Templates(
        {
            "u.en.j2": "Subject: x\n\n{{ no_such_thing }}\n",
            "s.en.j2": "Subject: x\n\n{{ ''.__class__.__mro__ }}\n",
        },
        "mem",
    )
    with pytest.raises(ConfigError, match="no_such_thing"):
        t.render("u", "en", CTX)
    with pytest.raises(ConfigError):
        t.render("s", "en", CTX)


def test_a_broken_template_is_refused_with_its_file_and_line() -> None:
    sources = {"ok.en.j2": "Subject: x\n\nfine\n", "bad.en.j2": "Subject: x\n\n{% if a %}\n"}
    with pytest.raises(ConfigError) as err:
        Templates(sources, "/etc/feedbackd/templates")
    assert str(err.value).startswith("/etc/feedbackd/templates/bad.en.j2:3: template syntax error")
    listed = Templates(sources, "/etc/feedbackd/templates", refuse_broken=False)
    assert list(listed.broken) == ["bad.en.j2"]
    assert listed.render("ok", "en", {}).text == "fine\n"


def test_the_body_keeps_its_trailing_newline_and_a_missing_language_falls_back() -> None:
    t = Templates({"t.ru.j2": "Subject: x\n\nтекст\n"}, "mem")
    assert t.render("t", "en", {}).text == "текст\n"
    with pytest.raises(ConfigError, match=r"mem/nope\.ru\.j2"):
        t.render("nope", "ru", {})


def test_header_injection_is_neutralised() -> None:
    evil = "Hi\r\nBcc: victim@x.test\r\n\r\nbody"
    msg = build_mail(
        sender="fb@x.test",
        sender_name="FB\nX-Evil: 1",
        to="a@x.test",
        rendered=Rendered(header_safe(evil), "text"),
        message_id="<1@x>",
        now=NOW,
        in_reply_to="<orig@x>\r\nBcc: v@x",
    )
    parsed = message_from_bytes(msg.as_bytes())
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Precedence"] == "auto_reply"
    assert parsed["X-Auto-Response-Suppress"] == "All"


def test_mail_is_kept_8bit_and_made_7bit_for_a_server_without_8bitmime() -> None:
    msg = build_mail(
        sender="fb@x.test",
        sender_name="Центр",
        to="a@x.test",
        rendered=Rendered("[FB-1] Спасибо", "Ваше обращение принято.\n"),
        message_id="<2@x>",
        now=NOW,
    )
    raw = wire(msg).encode("utf-8")
    assert "Ваше обращение принято.".encode() in raw  # readable 8-bit body, no base64
    seven = seven_bit(raw)
    assert seven.isascii()
    for data in (raw, seven):
        parsed = message_from_bytes(data, policy=default)
        assert parsed.get_content().replace("\r\n", "\n") == "Ваше обращение принято.\n"
        assert parsed["Subject"] == "[FB-1] Спасибо"


def test_an_attached_message_the_stdlib_cannot_make_7bit_goes_as_a_file() -> None:
    """For a server without 8BITMIME: an attached original whose 8-bit Subject and body are in
    no known charset cannot be re-encoded; it travels as an application/octet-stream .eml,
    its bytes unchanged, and every line of the mail fits SMTP."""
    original = (
        "From: anna@customer.test\r\nSubject: Ваше сообщение не доставлено\r\n"
        "Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: 8bit\r\n"
        "\r\nМы не смогли доставить письмо.\r\n"
    ).encode()
    msg = build_mail(
        sender="fb@x.test",
        sender_name="Центр",
        to="owner@x.test",
        rendered=Rendered("[FB-1] Новое обращение", "Во вложении.\n"),
        message_id="<3@x>",
        now=NOW,
    )
    msg.make_mixed()
    msg.attach(verbatim_message(original, "FB-1.eml"))
    seven = seven_bit(wire(msg).encode("utf-8"))
    assert seven.isascii()
    lines = seven.split(b"\r\n")
    assert lines[-1] == b"" and all(len(x) <= 998 and b"\r" not in x for x in lines)
    parsed = message_from_bytes(seven, policy=default)
    [part] = list(parsed.iter_attachments())
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_filename() == "FB-1.eml"
    assert part.get_content() == original
    body = parsed.get_body(("plain",))
    assert body is not None and "Во вложении." in body.get_content()


@pytest.mark.parametrize(
    "name, subject",
    [
        ("Центр обратной связи", "[FB-1] Ваше обращение обращение принято"),
        ('Иванов, "Пётр" (отдел)', "Ответ: жалоба №5 — «доставка»  две   пробелы"),
        ("Plain Name", "Re: ascii only"),
        ("Ёлка", "Ё" * 400),  # one encoded word longer than a line: the stdlib's path
    ],
)
def test_headers_read_back_exactly_as_composed(name: str, subject: str) -> None:
    to = email.utils.formataddr((name, "a@x.test"))  # as every caller writes it
    msg = build_mail(
        sender="fb@x.test",
        sender_name=name,
        to=to,
        rendered=Rendered(subject, "text\n"),
        message_id="<3@x>",
        now=NOW,
    )
    raw = wire(msg).encode("utf-8")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    head = raw.split(b"\r\n\r\n")[0]
    assert head.isascii()
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["Subject"] == subject
    assert parsed["From"].addresses[0].display_name == name
    assert parsed["From"].addresses[0].addr_spec == "fb@x.test"
    assert parsed["To"].addresses[0].display_name == name
    assert parsed["To"].addresses[0].addr_spec == "a@x.test"


# -- the fast path writes the stdlib's bytes ----------------------------------------------------

FAST_TEXTS = [
    "Hello,\n\nyour case FB-1 is open.\n",
    "Здравствуйте, Анна!\n\nВаше обращение FB-2026-000007 зарегистрировано.\n--\nЦентр\n",
    "no final newline",
    "",
    "\n\n",
    "mixed\r\nline\rends\nhere\n",
    "a line of " + "x" * 990 + "\n",  # just within 998
    "a line of " + "x" * 1200 + "\n",  # over 998: the stdlib's QP/base64 path
    "кириллица " + "я" * 600 + "\n",  # over 998 octets in UTF-8
    "From the start\n>From quoted\n.\n..\n",
    "tab\tand form\x0cfeed and vt\x0b\n",
]


@pytest.mark.parametrize("text", FAST_TEXTS)
@pytest.mark.parametrize("attach", [False, True])
def test_composed_mail_is_byte_for_byte_what_the_stdlib_writes(text: str, attach: bool) -> None:
    """build_mail sets the text part without the content manager, and wire writes our shapes
    without the generator: the bytes must be exactly those of set_content + as_bytes(), with
    the same boundary (the same random draw) for a notice with the original attached."""

    kw = {
        "sender": "fb@example.test",
        "sender_name": "Центр обратной связи",
        "to": "Анна Петрова <anna@example.org>",
        "message_id": "<m1@example.test>",
        "now": NOW,
        "in_reply_to": "<orig@example.org>",
        "references": ("<a@x>",),
        "extra_headers": {"X-Feedbackd-Case": "FB-2026-000007"},
    }
    original = "Subject: hi\r\nFrom: a@example.org\r\n\r\nПривет\r\n".encode()

    def compose(fast: bool) -> str:
        random.seed(7)
        if fast:
            msg = build_mail(rendered=Rendered("Тема письма", text), **kw)  # type: ignore[arg-type]
        else:
            msg = build_mail(rendered=Rendered("Тема письма", "x"), **kw)  # type: ignore[arg-type]
            for name in ("Content-Type", "Content-Transfer-Encoding", "MIME-Version"):
                del msg[name]
            msg.set_content(text, charset="utf-8")
        if attach:
            msg.make_mixed()
            part = verbatim_message(original, "FB-2026-000007.eml")
            msg.attach(part)
        if fast:
            return wire(msg)
        out = msg.as_bytes()
        for p in msg.walk():
            if (v := getattr(p, "verbatim", None)) is not None:
                out = out.replace(v[0], v[1], 1)
        return out.decode("utf-8")

    def unplaced(out: str) -> str:  # the placeholder is a fresh uuid each time
        return re.sub(r"feedbackd-verbatim-[0-9a-f]+", "P", out)

    fast, slow = compose(True), compose(False)
    assert unplaced(fast) == unplaced(slow)
    assert ("multipart/mixed" in fast) == attach
    assert message_from_bytes(fast.encode("utf-8"), policy=default).get_body() is not None


def test_wire_leaves_other_shapes_to_the_stdlib() -> None:
    """A shape the fast writer does not know (here multipart/alternative) is written by
    as_bytes(), unchanged."""

    def make() -> EmailMessage:
        msg = build_mail(
            sender="fb@example.test",
            sender_name="C",
            to="a@example.org",
            rendered=Rendered("s", "plain text\n"),
            message_id="<m2@example.test>",
            now=NOW,
        )
        msg.add_alternative("<p>html</p>", subtype="html")
        return msg

    a, b = make(), make()
    random.seed(3)
    fast = wire(a).encode("utf-8")
    random.seed(3)
    assert fast == b.as_bytes()


def test_our_shapes_are_written_without_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    """An acknowledgment and a notice with the original attached do not go through
    as_bytes(): the generator was half the cost of composing a backlog's mail."""
    msg = build_mail(
        sender="fb@example.test",
        sender_name="Центр",
        to="a@example.org",
        rendered=Rendered("Тема", "Текст\n"),
        message_id="<m3@example.test>",
        now=NOW,
    )
    notice = build_mail(
        sender="fb@example.test",
        sender_name="C",
        to="o@example.test",
        rendered=Rendered("s", "see attached\n"),
        message_id="<m4@example.test>",
        now=NOW,
        automatic=False,
    )
    notice.make_mixed()
    notice.attach(verbatim_message(b"Subject: x\r\n\r\nbody\r\n", "FB-1.eml"))

    def refuse(*a: object, **k: object) -> bytes:
        raise AssertionError("as_bytes() called")

    monkeypatch.setattr(EmailMessage, "as_bytes", refuse)
    assert "Текст" in wire(msg)
    assert "\r\n\r\nbody\r\n" in wire(notice)


@pytest.mark.parametrize(
    "mid", ["<abc@example.test>", "<a.b+c@x>", "<x@[127.0.0.1]>", "<a b@x>", "<ü@x>", "no-brackets"]
)
def test_the_message_id_of_a_composed_mail_is_what_the_header_parse_gives(mid: str) -> None:
    from daemon.core.mail.outgoing import message_id

    msg = build_mail(
        sender="fb@example.test",
        sender_name="C",
        to="a@example.org",
        rendered=Rendered("s", "t\n"),
        message_id=mid,
        now=NOW,
    )
    assert message_id(msg) == str(msg["Message-ID"])


def test_a_header_counted_once_is_still_refused_twice() -> None:
    """The cached header_max_count answers as the stdlib's: a second To is refused."""
    msg = build_mail(
        sender="fb@example.test",
        sender_name="C",
        to="a@example.org",
        rendered=Rendered("s", "t\n"),
        message_id="<m@x>",
        now=NOW,
    )
    with pytest.raises(ValueError, match="at most 1 To"):
        msg["To"] = "b@example.org"
    msg["Received"] = "from a"
    msg["Received"] = "from b"  # any number
