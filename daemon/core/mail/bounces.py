"""Recognise a bounce of one of our mails and read what it says: which mail, which address, how bad.

When an acknowledgment or owner notice cannot be delivered, the mail system returns it. The
daemon must not answer that bounce (daemon.policy sees to that) but should learn from it: a
permanent failure puts the address in a quiet period, and the case it belongs to is found by the
original Message-ID. RFC 3464 delivery reports say all this in fields; many mail systems still
send free text instead, so both are read, the fields first.

`parse` keeps no MIME parts, so this module reads the raw bytes with the stdlib parser itself.
Pure and total: any input gives a `Bounce` or None, never an exception.
"""

from __future__ import annotations

import email
import email.utils
import re
from dataclasses import dataclass
from email.message import Message as StdMessage
from email.policy import compat32

from daemon.core.mail.message import decode_header


@dataclass(frozen=True)
class Bounce:
    """What a bounce says; "" or None where it does not say.

    `hard` is True for a permanent failure (5.x.x, Action: failed), False for a transient one
    (4.x.x, Action: delayed), None when the bounce does not tell. `source` is "dsn" when the
    facts come from an RFC 3464 report and "text" when read from a mail system's free text.
    """

    original_message_id: str
    recipient: str
    hard: bool | None
    status: str
    diagnostic: str
    source: str


def detect_bounce(raw: bytes) -> Bounce | None:
    """The bounce in `raw`, or None when `raw` is not a bounce (or cannot be read at all).

    A bounce whose bytes defeat the stdlib parser is reported as None: the policy still keeps
    us from answering it, and nothing else depends on reading it.
    """
    try:
        return _detect(raw)
    except Exception:  # noqa: BLE001 - a parser bug on hostile input must not stop the mailbox
        return None


def _detect(raw: bytes) -> Bounce | None:
    if not raw:
        return None
    msg = email.message_from_bytes(raw, policy=compat32)
    parts = _Parts()
    _collect(msg, parts, depth=0)
    fields = _dsn_recipient(parts.dsn) if parts.dsn is not None else {}
    if parts.dsn is None and not _looks_like_bounce(msg, parts.text):
        return None
    text = parts.text[:50_000]
    # Original-Recipient is the address as we wrote it; Final-Recipient may be a rewritten alias.
    recipient = _address(fields.get("original-recipient", "")) or _address(
        fields.get("final-recipient", "")
    )
    source = "dsn" if recipient or fields.get("status") else "text"
    failed = _header(msg, "x-failed-recipients")
    if not recipient:
        recipient = _address(failed) or _recipient_from_text(text, msg)
    status = _status(fields.get("status", "")) or _status(fields.get("diagnostic-code", ""))
    diagnostic = " ".join(fields.get("diagnostic-code", "").split())
    if not status:
        status, line = _status_from_text(text, recipient)
        diagnostic = diagnostic or line
    hard = _hardness(status, fields.get("action", ""), text)
    return Bounce(_original_id(msg, parts), recipient, hard, status, diagnostic[:300], source)


class _Parts:
    """The parts of a bounce that matter, found without entering the returned message."""

    def __init__(self) -> None:
        self.dsn: StdMessage | None = None
        self.original: StdMessage | None = None  # message/rfc822
        self.original_headers: str = ""  # text/rfc822-headers
        self.text: str = ""  # the human-readable explanation


def _collect(part: StdMessage, found: _Parts, depth: int) -> None:
    if depth > 20:
        return
    ctype = part.get_content_type()
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        found.dsn = found.dsn or part
    elif ctype in ("message/rfc822", "message/global"):
        payload = part.get_payload()
        if (
            isinstance(payload, list)
            and payload
            and isinstance(payload[0], StdMessage)
            and found.original is None
        ):
            found.original = payload[0]
        elif isinstance(payload, str) and not found.original_headers:
            found.original_headers = payload  # a returned message the parser left as text
    elif ctype == "text/rfc822-headers":
        found.original_headers = found.original_headers or _text(part)
    elif part.is_multipart():
        for sub in part.get_payload() or ():
            if isinstance(sub, StdMessage):
                _collect(sub, found, depth + 1)
    elif ctype.startswith("text/") and not found.text:
        found.text = _text(part)
        if ctype == "text/html":
            found.text = re.sub(r"<[^>]+>", " ", found.text)


def _text(part: StdMessage) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("latin-1", "replace")


# --- is it a bounce? ------------------------------------------------------------------------

_DAEMON = re.compile(r"^(mailer-?daemon|post_?master|mdaemon)(@|$)", re.I)
_MTA_NAME = re.compile(r"mail delivery (sub)?system|mail delivery service|mailer-daemon", re.I)
_SUBJECT = re.compile(
    r"^\s*(undeliver|returned mail|mail delivery fail|failure notice|delivery (status|failure|"
    r"has failed|notification|report)|non-?deliver|message (not delivered|delivery failure)"
    r"|warning: could not send|delayed mail|mail system error|недоставленное|не доставлено)",
    re.I,
)
_FAILURE_TEXT = re.compile(
    r"could not be delivered|permanent(ly)? (fatal )?error|failed recipients|user unknown"
    r"|no such user|mailbox (unavailable|not found|full)|delivery (to the following|has failed"
    r"|failed)|undeliverable|recipient address rejected|unrouteable address|does not exist"
    r"|was not delivered|returning message to sender|mail delivery software|not yet been delivered",
    re.I,
)


def _looks_like_bounce(msg: StdMessage, text: str) -> bool:
    """A bounce without an RFC 3464 part: a mail system's sender, or bounce subject and text."""
    if _header(msg, "x-failed-recipients"):
        return True
    name, sender = email.utils.parseaddr(_header(msg, "from"))
    _, return_path = email.utils.parseaddr(_header(msg, "return-path"))
    mta = bool(_DAEMON.match(sender) or _DAEMON.match(return_path) or _MTA_NAME.search(name))
    null_return_path = _header(msg, "return-path").replace(" ", "") == "<>"
    subject = bool(_SUBJECT.match(_header(msg, "subject")))
    failure = bool(_FAILURE_TEXT.search(text[:20_000]))
    if mta:  # a mail system writes to a sender only about that sender's mail
        return True
    return (null_return_path or subject) and failure


# --- RFC 3464 fields ------------------------------------------------------------------------


def _dsn_recipient(part: StdMessage) -> dict[str, str]:
    """Fields of the per-recipient block that best describes the failure, lower-case names."""
    blocks = _dsn_blocks(part)
    recipients = [b for b in blocks if "final-recipient" in b or "original-recipient" in b]
    for pick in (
        lambda b: b.get("action", "").lower().startswith("failed"),
        lambda b: _status(b.get("status", "")).startswith("5"),
        lambda b: True,
    ):
        for block in recipients:
            if pick(block):
                return block
    return {}


def _dsn_blocks(part: StdMessage) -> list[dict[str, str]]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        return [
            {str(k).lower(): decode_header(v) for k, v in b.items()}
            for b in payload
            if isinstance(b, StdMessage)
        ]
    text = _text(part)  # left as text, base64-encoded, or CR-only line ends
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = []
    for chunk in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for m in re.finditer(r"^([A-Za-z-]+):[ \t]*(.*(?:\n[ \t]+.*)*)", chunk, re.M):
            fields.setdefault(m.group(1).lower(), " ".join(m.group(2).split()))
        if fields:
            blocks.append(fields)
    return blocks


# --- free text ------------------------------------------------------------------------------

_ADDR = r"[^\s<>()\[\]\"',;:@]+@[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}"
_BRACKETED = re.compile(rf"^\s*<({_ADDR})>\s*:?", re.M)  # qmail, Postfix, sendmail lists
_ANY_ADDR = re.compile(_ADDR)
_QUOTED_HEADER = re.compile(
    r"^[ \t>]*(to|from|cc|reply-to|sender|subject|sent|date|message-id)[ \t]*:.*$", re.M | re.I
)
_ENHANCED = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.\-:/])([45][0-5]\d)(?![\d.:/])")
_SMTP_CONTEXT = re.compile(r"smtp|said|error|reply|response|rcpt|mailbox|user|recipient", re.I)
_HARD_WORDS = re.compile(
    r"permanent|fatal|user unknown|unknown user|no such (user|address|mailbox)|does not exist"
    r"|invalid (recipient|address|user|mailbox)|not a valid|unrouteable|host (or domain name )?"
    r"not found|account (has been )?disabled|no mailbox",
    re.I,
)
_SOFT_WORDS = re.compile(
    r"temporar|delayed|will (continue to )?(retry|be retried)|still (trying|being retried)"
    r"|not yet been delivered|try again later|over quota|quota exceeded|mailbox (is )?full",
    re.I,
)


def _recipient_from_text(text: str, msg: StdMessage) -> str:
    """The failed address in a free-text bounce: a bracketed address on its own line first,
    else the first address in the explanation that is not a party to the bounce itself."""
    explanation = re.split(
        r"^-+ ?(original|returned|message text|undelivered) ", text, maxsplit=1, flags=re.M | re.I
    )[0]
    parties = {(_address(_header(msg, n)) or "") for n in ("from", "to", "return-path")}
    # Quoted header lines ("To: list@...", "From: ...") name the original's parties, not the
    # failed recipient.
    explanation = _QUOTED_HEADER.sub("", explanation)
    for source in (_BRACKETED.findall(explanation), _ANY_ADDR.findall(explanation)):
        for addr in source:
            addr = _address(addr)
            if addr not in parties and not _DAEMON.match(addr):
                return addr
    return ""


def _status_from_text(text: str, recipient: str) -> tuple[str, str]:
    """An enhanced status code, else an SMTP reply code, preferring lines about the recipient."""
    lines = [ln.strip() for ln in text[:20_000].splitlines() if ln.strip()]
    about = [ln for ln in lines if recipient and recipient in ln.lower()]
    for group in (about, lines):
        for ln in group:
            m = _ENHANCED.search(ln)
            if m:
                return m.group(1), ln
    for group in (about, lines):
        for ln in group:
            m = _SMTP_CODE.search(ln)
            if m and _SMTP_CONTEXT.search(ln):
                return m.group(1), ln
    return "", ""


def _hardness(status: str, action: str, text: str) -> bool | None:
    if status[:1] == "5":
        return True
    if status[:1] == "4":
        return False
    action = action.strip().lower()
    if action.startswith("failed"):
        return True
    if action.startswith("delayed"):
        return False
    sample = text[:20_000]
    soft, hard = _SOFT_WORDS.search(sample), _HARD_WORDS.search(sample)
    if hard and not soft:
        return True
    if soft and not hard:
        return False
    return None


# --- the original message -------------------------------------------------------------------

_MSGID = re.compile(r"<[^<>\s]+@[^<>\s]+>")


def _original_id(msg: StdMessage, parts: _Parts) -> str:
    """Message-ID of the returned mail: attached copy, attached headers, quoted headers,
    then In-Reply-To / References of the bounce (some mail systems thread bounces)."""
    if parts.original is not None:
        found = _MSGID.search(_header(parts.original, "message-id"))
        if found:
            return found.group(0)
    quoted = parts.original_headers + "\n" + parts.text
    m = re.search(r"^[ \t>]*Message-ID:[ \t]*\n?[ \t]*(<[^<>\s]+@[^<>\s]+>)", quoted, re.M | re.I)
    if m:
        return m.group(1)
    found = _MSGID.search(_header(msg, "in-reply-to"))
    if found:
        return found.group(0)
    refs = _MSGID.findall(_header(msg, "references"))
    return refs[-1] if refs else ""


# --- small helpers --------------------------------------------------------------------------


def _header(msg: StdMessage, name: str) -> str:
    try:
        return decode_header(msg.get(name, ""))
    except Exception:  # noqa: BLE001 - a header the parser half-read
        return ""


def _address(value: str) -> str:
    """The address in 'rfc822; <a@b>' or 'Name <a@b>', lower-case; "" when there is none."""
    value = value.split(";", 1)[1] if ";" in value else value
    m = _ANY_ADDR.search(value)
    if not m:
        return ""
    addr = m.group(0).lower().rstrip(".")
    return addr[5:] if addr.startswith("smtp=") else addr  # Exchange "dda:SMTP=a@b"


def _status(value: str) -> str:
    m = _ENHANCED.search(value)
    if m:
        return m.group(1)
    m = re.search(r"(?<!\d)([245]\d\d)(?!\d)", value)
    return m.group(1) if m else ""
