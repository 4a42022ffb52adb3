"""Raw RFC 5322 bytes in, a plain `Message` value out — whatever the sender's software did.

Mail as it arrives has broken encoded-words, 8-bit headers, wrong charsets, HTML-only bodies and
MIME trees that the stdlib only half understands. Everything downstream (rules, policy, cases,
templates) must work on clean Python strings, so every header and body is decoded here, once,
with fallbacks instead of exceptions. Only when the bytes are not a message at all does
`parse` raise `BadMessage`.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message as StdMessage
from email.policy import compat32

from daemon.errors import BadMessage

#: Largest body text kept for classification; rules never need more, and it bounds memory.
MAX_TEXT = 200_000
#: Most addresses read from one header (To, Cc, Reply-To); the rest are ignored, with a defect.
MAX_ADDRESSES = 500
#: Most characters of one address header parsed: room for MAX_ADDRESSES long addresses.
MAX_ADDRESS_TEXT = 100_000
#: Headers whose addresses are parsed from the raw value, before any encoded-word is decoded.
_ADDRESS_HEADERS = ("from", "to", "cc", "reply-to", "return-path")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Message:
    """A parsed message: every string decoded, every address lower-cased."""

    message_id: str  # with angle brackets, as in the header; "" when the sender gave none
    from_addr: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    subject: str
    text: str  # text/plain, or text extracted from HTML when there is no plain part
    date: datetime | None
    in_reply_to: str
    references: tuple[str, ...]
    return_path: str | None  # None: header absent; "": the null sender <>
    content_type: str
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lower-case names
    attachments: tuple[Attachment, ...] = ()
    part_types: tuple[str, ...] = ()  # every MIME part's type, not inside attached messages
    language: str = "en"
    size: int = 0
    defects: tuple[str, ...] = ()

    @property
    def sender_domain(self) -> str:
        return self.from_addr.rpartition("@")[2]

    def header(self, name: str) -> str:
        """First value of a header, decoded; "" when absent."""
        values = self.headers.get(name.lower(), ())
        return values[0] if values else ""

    def has_header(self, name: str) -> bool:
        return name.lower() in self.headers


def parse(raw: bytes) -> Message:
    """Parse raw bytes; raise BadMessage only when there is no usable message at all."""
    if not raw or not raw.strip():
        raise BadMessage("empty message")
    try:
        msg = email.message_from_bytes(raw, policy=compat32)
    except Exception as exc:  # the stdlib parser is lenient; this is truly unreadable
        raise BadMessage(f"unparseable MIME: {exc}") from exc
    headers, raw_addresses = _headers(msg)
    if not headers:
        raise BadMessage("no headers: not an RFC 5322 message")
    from_name, from_addr = _first_address(raw_addresses.get("from", ()))
    text, attachments, defects = _walk(msg)
    to, cc, reply_to = (
        _addresses(raw_addresses.get(h, ()), defects) for h in ("to", "cc", "reply-to")
    )
    subject = headers.get("subject", ("",))[0]
    return Message(
        message_id=_message_id(headers.get("message-id", ("",))[0]),
        from_addr=from_addr,
        from_name=from_name,
        to=to,
        cc=cc,
        reply_to=reply_to,
        subject=subject,
        text=text,
        date=_date(headers.get("date", ("",))[0]),
        in_reply_to=_message_id(headers.get("in-reply-to", ("",))[0]),
        references=tuple(re.findall(r"<[^<>\s]+>", " ".join(headers.get("references", ())))),
        return_path=_return_path(raw_addresses.get("return-path")),
        content_type=msg.get_content_type(),
        headers=headers,
        attachments=tuple(attachments),
        part_types=tuple(_part_types(msg)),
        language=detect_language(subject + "\n" + text[:5000]),
        size=len(raw),
        defects=tuple(defects),
    )


_HEAD_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^<>\s]+>)[ \t]*\r?$", re.I | re.M)


def message_id_of(raw: bytes) -> str:
    """The Message-ID read straight from the header block, "" when it is not plainly there.

    Most of a backlog's mail is our own copies, known by Message-ID: looking the id up before
    a full parse saves the parse. Anything unusual (folded, missing, repeated) gives "", and
    the caller parses."""
    end = _HEAD_END.search(raw)
    found = _MESSAGE_ID.findall(raw[: end.start()] if end else raw)
    return found[0].decode("ascii", "replace") if len(found) == 1 else ""


_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN = re.compile("[A-Za-z]")  # what `ch.isascii() and ch.isalpha()` is


def detect_language(text: str) -> str:
    """'ru' when Cyrillic letters dominate, else 'en' — enough to pick a template language."""
    cyr = len(_CYRILLIC.findall(text))
    lat = len(_LATIN.findall(text))
    return "ru" if cyr > 0 and cyr >= lat * 0.5 else "en"


def make_message(
    subject: str = "",
    body: str = "",
    from_addr: str = "customer@example.org",
    from_name: str = "",
    to: tuple[str, ...] = ("feedback@example.test",),
    cc: tuple[str, ...] = (),
    headers: dict[str, tuple[str, ...]] | None = None,
    attachments: tuple[Attachment, ...] = (),
    language: str | None = None,
) -> Message:
    """A Message from plain fields, no MIME: rules.yaml examples, tests and benchmarks write
    messages this way, and get the same shape `parse` returns (lower-cased addresses,
    lower-cased header names, a detected language)."""
    return Message(
        message_id="<example@feedbackd>",
        from_addr=from_addr.lower(),
        from_name=from_name,
        to=tuple(a.lower() for a in to),
        cc=tuple(a.lower() for a in cc),
        reply_to=(),
        subject=subject,
        text=body,
        date=None,
        in_reply_to="",
        references=(),
        return_path=None,
        content_type="text/plain",
        headers={k.lower(): v for k, v in (headers or {}).items()},
        attachments=attachments,
        language=language or detect_language(subject + "\n" + body[:5000]),
        size=len(subject) + len(body),
    )


def decode_header(value: object) -> str:
    """Decode RFC 2047 words, tolerate raw 8-bit and broken encodings, fold whitespace."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = str(value)
    s = str(value)
    if any("\udc80" <= c <= "\udcff" for c in s):  # raw 8-bit header bytes
        s = _decode_bytes(s.encode("ascii", "surrogateescape"), None)
    try:
        parts = email.header.decode_header(s)
        out = []
        for chunk, charset in parts:
            if isinstance(chunk, bytes):
                out.append(_decode_bytes(chunk, charset))
            else:
                out.append(chunk)
        s = "".join(out)
    except Exception:  # noqa: BLE001, S110 - an undecodable encoded-word: keep the raw text
        pass
    return " ".join(s.replace("\x00", "").split())


def _decode_bytes(data: bytes, charset: str | None) -> str:
    for cs in (charset, "utf-8", "cp1251", "koi8-r", "latin-1"):
        if not cs or cs.lower() in ("unknown-8bit", "x-unknown"):
            continue
        try:
            return data.decode(_charset_alias(cs))
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1", "replace")


def _charset_alias(cs: str) -> str:
    cs = cs.strip().strip('"').lower()
    return {
        "utf8": "utf-8",
        "windows-1251": "cp1251",
        "ks_c_5601-1987": "euc-kr",
        "x-user-defined": "latin-1",
    }.get(cs, cs)


def _headers(msg: StdMessage) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Every header decoded, and the address headers' raw values (see `_address_text`)."""
    out: dict[str, list[str]] = {}
    raw: dict[str, list[str]] = {}
    for name, value in msg.raw_items():  # raw: keeps 8-bit (RFC 6532) bytes decodable
        key = str(name).strip().lower()
        if not key:
            continue
        out.setdefault(key, []).append(decode_header(value))
        if key in _ADDRESS_HEADERS:
            raw.setdefault(key, []).append(_address_text(value))
    return {k: tuple(v) for k, v in out.items()}, {k: tuple(v) for k, v in raw.items()}


#: A quoted string (kept as it is) or an encoded-word outside one (RFC 2047 §2).
_QUOTED_OR_WORD = re.compile(r'"(?:[^"\\]|\\.)*"|=\?[^?\s"]+\?[bBqQ]\?[^?\s"]*\?=')


def _address_text(value: object) -> str:
    """An address header as sent, unfolded, each encoded-word shut inside a quoted string.

    RFC 2047 §5: an encoded-word may stand only in a display name, and is decoded after the
    addresses are parsed. Quoting every encoded-word first keeps whatever it hides (a comma,
    an @, "x: victim@example.net,") inside the display name, never an address of its own.
    Raw 8-bit bytes (RFC 6532) are read as text; that is a charset, not an encoded-word."""
    s = str(value)[:MAX_ADDRESS_TEXT]
    if any("\udc80" <= c <= "\udcff" for c in s):
        s = _decode_bytes(s.encode("ascii", "surrogateescape"), None)
    s = re.sub(r"[\r\n\x00]", "", s)
    return _QUOTED_OR_WORD.sub(lambda m: m[0] if m[0][0] == '"' else f'"{m[0]}"', s)


def _parsed(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """(display name decoded, address lower-cased) of every address in the raw values."""
    return [
        (decode_header(name).strip(), addr.strip().lower())
        for name, addr in email.utils.getaddresses(list(values))
    ]


def _addresses(values: tuple[str, ...], defects: list[str]) -> tuple[str, ...]:
    """Distinct addresses in order, at most MAX_ADDRESSES (a dict keeps the removal linear)."""
    values, cut = _budget(values)
    found: dict[str, None] = {}
    for _, addr in _parsed(values):
        if addr:
            found[addr] = None
            if len(found) > MAX_ADDRESSES:
                cut = True
                break
    if cut:
        defects.append("TooManyAddresses")
        # the last one read may be cut in half by the text limit; the cap drops it anyway
        return tuple(found)[: min(len(found) - 1, MAX_ADDRESSES)]
    return tuple(found)


def _budget(values: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """The values that fit MAX_ADDRESS_TEXT together (the last one cut), and whether any was."""
    kept: list[str] = []
    room = MAX_ADDRESS_TEXT
    for value in values:
        if len(value) >= room:
            kept.append(value[:room])
            return tuple(kept), True
        kept.append(value)
        room -= len(value)
    return tuple(kept), False


def _first_address(values: tuple[str, ...]) -> tuple[str, str]:
    for name, addr in _parsed(_budget(values)[0]):
        if addr:
            return name, addr
    return "", ""


def _message_id(value: str) -> str:
    m = re.search(r"<[^<>\s]+>", value)
    if m:
        return m.group(0)
    value = value.strip()
    return f"<{value}>" if value and " " not in value else ""


def _return_path(values: tuple[str, ...] | None) -> str | None:
    if values is None:
        return None
    value = values[0].strip()
    if value in ("<>", ""):
        return ""
    _, addr = email.utils.parseaddr(value)
    return addr.lower()


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _walk(msg: StdMessage) -> tuple[str, list[Attachment], list[str]]:
    plain: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    defects = [type(d).__name__ for d in msg.defects]
    parts = msg.walk() if msg.is_multipart() else iter([msg])
    for part in parts:
        defects.extend(type(d).__name__ for d in part.defects)
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = decode_header(part.get_filename() or part.get_param("name") or "")
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        try:
            decoded = part.get_payload(decode=True)  # bytes or None: the part is not multipart
            payload = decoded if isinstance(decoded, bytes) else b""
        except Exception:  # noqa: BLE001 - any decoder failure on hostile bytes is a defect
            payload = b""
            defects.append("PayloadDecodeError")
        if filename or disposition == "attachment" or not ctype.startswith("text/"):
            if ctype != "message/rfc822" or filename:
                attachments.append(Attachment(filename, ctype, len(payload)))
            if not ctype.startswith("text/") or filename:
                continue
        if ctype == "text/plain":
            plain.append(_decode_bytes(payload, _charset(part)))
        elif ctype == "text/html":
            htmls.append(html_to_text(_decode_bytes(payload, _charset(part))))
    text = "\n".join(plain) if any(p.strip() for p in plain) else "\n".join(htmls)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text[:MAX_TEXT], attachments, defects


def _part_types(msg: StdMessage, depth: int = 0) -> list[str]:
    """Types of the MIME tree; an attached message/* counts as one part (its insides are the
    original mail, e.g. in a bounce, not this message's structure)."""
    out = [msg.get_content_type()]
    if depth < 20 and msg.is_multipart() and not msg.get_content_type().startswith("message/"):
        for part in msg.get_payload():
            if isinstance(part, StdMessage):
                out.extend(_part_types(part, depth + 1))
    return out


def _charset(part: StdMessage) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:  # noqa: BLE001 - a charset parameter that is not even a string
        return None


_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", re.I)


def html_to_text(markup: str) -> str:
    """Readable text from HTML: scripts and styles dropped, block ends become line breaks."""
    markup = _TAGS.sub(" ", markup)
    markup = _BREAKS.sub("\n", markup)
    markup = re.sub(r"<[^>]+>", " ", markup)
    text = html.unescape(markup)
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()
