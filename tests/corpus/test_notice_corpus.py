"""Every owner notice is deliverable: composed for each message of the shared real-world corpus.

The notice attaches the customer's original. An SMTP server refuses a line over 998 octets
(RFC 5321 §4.5.3.1.6, "500 Line too long"), and a bare CR or LF is no line end on the wire, so
the wire bytes of every notice — as sent with 8BITMIME and as made 7-bit for a server without
it — must consist of CRLF-ended lines of at most 998 octets. The corpus is read in place from
../shared/corpus/eml (or $FEEDBACKD_CORPUS/eml); hundreds of its messages have longer lines
(base64 not wrapped, long HTML, old Mac CR line ends).
"""

from __future__ import annotations

import csv
import email
from datetime import UTC, datetime, timedelta
from email.policy import default
from functools import lru_cache

import pytest
from support import CORPUS as CORPUS_ROOT
from support import REPO

from daemon.adapters.config import load_templates
from daemon.core import cases
from daemon.core.mail.compose import seven_bit, wire
from daemon.core.mail.message import parse
from daemon.core.mail.notices import owner_notice
from daemon.core.mail.staff import NoticeDesk
from daemon.core.rules import Owner, RuleBook
from daemon.errors import BadMessage

CORPUS = CORPUS_ROOT / "eml"

pytestmark = pytest.mark.skipif(
    not (CORPUS / "MANIFEST.csv").is_file(),
    reason=f"real-world corpus not found at {CORPUS} (set FEEDBACKD_CORPUS to the corpus folder)",
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BOOK = RuleBook(
    source="test",
    categories={},
    center="center",
    owners={"center": Owner("center", "Feedback Center", "center@company.example", "en")},
    rules=(),
)


@lru_cache(maxsize=1)
def desk() -> NoticeDesk:
    return NoticeDesk(load_templates(REPO / "templates"), BOOK, "feedback@company.example", b"s")


def paths() -> list[str]:
    with open(CORPUS / "MANIFEST.csv", newline="", encoding="utf-8") as f:
        return [row["path"] for row in csv.DictReader(f)]


def bad_lines(raw: bytes) -> list[str]:
    """Why these bytes could not cross SMTP: lines too long, bare CR or LF, no final CRLF."""
    lines = raw.split(b"\r\n")
    problems = [f"line {i + 1}: {len(x)} octets" for i, x in enumerate(lines) if len(x) > 998]
    problems += [f"line {i + 1}: bare CR" for i, x in enumerate(lines) if b"\r" in x]
    problems += [f"line {i + 1}: bare LF" for i, x in enumerate(lines) if b"\n" in x]
    if lines[-1] != b"":
        problems.append("no CRLF at the end")
    return problems


def notice_wire(path: str) -> bytes | None:
    """The owner notice for one corpus message as the outbox keeps it; None: quarantined."""
    raw = (CORPUS / path).read_bytes()
    try:
        msg = parse(raw)
    except BadMessage:
        return None
    case = cases.open_case(
        "FB-2026-000001",
        category="general",
        owner="center",
        received=NOW,
        due=NOW + timedelta(days=10),
        sender=msg.from_addr,
        sender_name=msg.from_name,
        subject=msg.subject,
        message_id=msg.message_id,
        language="en",
        rule="r1",
    )
    mail = owner_notice(desk(), case, msg, raw, message_id="<n@company.example>", now=NOW)
    return wire(mail).encode("utf-8")


def test_every_owner_notice_of_the_corpus_has_smtp_lines_only() -> None:
    refused: dict[str, list[str]] = {}
    composed = 0
    for path in paths():
        out = notice_wire(path)
        if out is None:
            continue
        composed += 1
        for label, data in (("8bit", out), ("7bit", seven_bit(out))):
            if problems := bad_lines(data):
                refused[f"{path} ({label})"] = problems[:3]
    assert composed > 1000, "the corpus lost its messages; is FEEDBACKD_CORPUS right?"
    assert refused == {}


def test_an_original_that_cannot_travel_as_is_still_reaches_the_owner_whole() -> None:
    """Re-encoded or as an .eml file, the attachment is there and carries the original's words."""
    for path in ("flanker/long-links.eml", "sisimai-set-of-emails/mac/lhost-aol-01.eml"):
        out = notice_wire(path)
        assert out is not None
        notice = email.message_from_bytes(out, policy=default)
        [part] = list(notice.iter_attachments())
        assert part.get_content_type() in ("message/rfc822", "application/octet-stream")
        assert part.get_filename() == "FB-2026-000001.eml"
