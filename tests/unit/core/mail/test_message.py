"""The parser: clean values from real-world mail, and never an exception it did not mean."""

from __future__ import annotations

import pytest
from support import CORPUS

from daemon.core.mail.message import detect_language, html_to_text, parse
from daemon.errors import BadMessage


def test_encoded_headers_charsets_and_addresses() -> None:
    raw = (
        b"From: =?koi8-r?B?6dfBzg==?= <Ivan@Example.TEST>\r\n"
        b"To: a@x.test, B <b@x.test>\r\n"
        b"Subject: =?utf-8?B?0J/RgNC10YLQtdC90LfQuNGP?=\r\n"
        b"Message-ID: <abc@x>\r\nIn-Reply-To: <prev@x>\r\nReferences: <r1@x> <prev@x>\r\n"
        b"Content-Type: text/plain; charset=windows-1251\r\n\r\n"
    ) + "Добрый день".encode("cp1251")
    m = parse(raw)
    assert m.from_addr == "ivan@example.test" and m.from_name == "Иван"
    assert m.sender_domain == "example.test"
    assert m.to == ("a@x.test", "b@x.test")
    assert m.subject == "Претензия"
    assert m.text == "Добрый день"
    assert (m.message_id, m.in_reply_to, m.references) == (
        "<abc@x>",
        "<prev@x>",
        ("<r1@x>", "<prev@x>"),
    )
    assert m.language == "ru"


def test_html_only_body_becomes_text() -> None:
    raw = (
        b"From: a@x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><style>p{}</style><p>Thank&nbsp;you!</p><br>Bye</html>"
    )
    m = parse(raw)
    assert "Thank you!" in m.text and "Bye" in m.text and "p{}" not in m.text
    assert html_to_text("<b>a</b><br>b") == "a\nb"


def test_attachments_are_listed_not_read_as_text() -> None:
    raw = (
        b"From: a@x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b'--B\r\nContent-Type: application/pdf; name="claim.pdf"\r\n'
        b'Content-Disposition: attachment; filename="claim.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--B--\r\n"
    )
    m = parse(raw)
    assert m.text.strip() == "hello"
    assert [(a.filename, a.content_type) for a in m.attachments] == [
        ("claim.pdf", "application/pdf")
    ]


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\x00\x01\x02 this is no mail at all\r\n"])
def test_no_message_at_all_is_bad_message(raw: bytes) -> None:
    with pytest.raises(BadMessage):
        parse(raw)


@pytest.mark.corpus
def test_language() -> None:
    assert detect_language("Спасибо за помощь, Иван") == "ru"
    assert detect_language("Thanks a lot") == "en"
    assert detect_language("") == "en"


def test_every_corpus_message_parses_or_is_rejected_cleanly() -> None:
    eml = CORPUS / "eml"
    if not eml.is_dir():
        pytest.skip(f"corpus not found at {eml} (set FEEDBACKD_CORPUS)")
    parsed = rejected = 0
    for path in sorted(
        p for p in eml.rglob("*") if p.is_file() and p.suffix not in (".csv", ".md")
    ):
        try:
            m = parse(path.read_bytes())
        except BadMessage:
            rejected += 1
            continue
        assert isinstance(m.subject, str) and isinstance(m.text, str)
        assert "\n" not in m.subject and "\r" not in m.subject
        parsed += 1
    assert parsed > 1300, (parsed, rejected)


def test_message_id_is_read_from_the_header_block_only_when_plain() -> None:
    from daemon.core.mail.message import message_id_of

    assert message_id_of(b"From: a@x\r\nMessage-ID: <a1@x.test>\r\n\r\nbody") == "<a1@x.test>"
    assert message_id_of(b"message-id:<a1@x.test>\n\nbody") == "<a1@x.test>"
    # In the body, folded, repeated or absent: "" (the caller parses the whole message).
    assert message_id_of(b"From: a@x\r\n\r\nMessage-ID: <b@x.test>\r\n") == ""
    assert message_id_of(b"Message-ID:\r\n <c@x.test>\r\n\r\n") == ""
    assert message_id_of(b"Message-ID: <d@x>\r\nMessage-ID: <e@x>\r\n\r\n") == ""
    assert message_id_of(b"Subject: x\r\n\r\n") == ""
