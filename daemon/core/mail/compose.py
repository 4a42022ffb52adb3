"""Mail composition: admin templates + case facts -> a complete RFC 5322 message.

Customer text is only ever template *data*: templates run in a sandbox with StrictUndefined (a
typo in a template is an error, not a silent blank), and every value that ends up in a header is
stripped of CR/LF so a crafted subject cannot inject headers. Automatic mail carries the RFC 3834
markers so that other robots do not answer it. Every mail must cross SMTP: lines of at most
998 octets, CRLF only (`smtp_lines`); what we attach is checked and re-encoded to fit.

No file I/O: the templates come in as text (daemon.adapters.config reads the folder). The one
thing drawn from outside is randomness, `uuid4`, for Message-IDs and attachment placeholders.
"""

from __future__ import annotations

import base64
import email
import email.utils
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.policy import SMTP, EmailPolicy
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from daemon.core.mail.digest_words import DigestWords, parse_digest_words
from daemon.core.rules.model import LANGUAGES
from daemon.errors import ConfigError, Problem

if TYPE_CHECKING:
    from jinja2 import BaseLoader

AUTO_HEADERS = {
    "Auto-Submitted": "auto-replied",
    "Precedence": "auto_reply",
    "X-Auto-Response-Suppress": "All",
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


def header_safe(value: str) -> str:
    """One line, no control characters: safe to put into any header."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value).strip()


class Templates:
    """The admin's templates, compiled once from their sources, rendered in a sandbox.

    The sources are text handed in (daemon.adapters.config reads the folder), so editing a
    file on disk changes nothing until the next reload (SIGHUP), and a broken edit is refused
    there, keeping these templates. `label` (the folder) names the files in problems and in
    render tracebacks. `feedbackd check` builds its templates through this very class, with
    `refuse_broken=False` to list every syntax error instead of refusing at the first set.
    `digest` holds the texts of the folder's `digest.LANG.yaml`, the digest's words
    (daemon.core.mail.digest_words), refused at load like a broken template.
    """

    def __init__(
        self,
        sources: Mapping[str, str],
        label: str,
        *,
        refuse_broken: bool = True,
        digest: Mapping[str, str] | None = None,
    ):
        # Jinja is imported by the commands that load templates, not by every command line.
        from jinja2 import StrictUndefined, TemplateSyntaxError
        from jinja2.sandbox import SandboxedEnvironment

        self.sources = dict(sources)
        self.label = label
        self.env = SandboxedEnvironment(
            loader=_sources(self.sources, self.where),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )
        #: Template name -> its syntax error; such a template is never rendered.
        self.broken: dict[str, Problem] = {}
        for name in self.sources:
            try:
                self.env.get_template(name)
            except TemplateSyntaxError as exc:
                self.broken[name] = Problem(
                    self.where(name), exc.lineno, f"template syntax error: {exc.message}"
                )
        #: Language -> the digest's words, from its file (compose_digest says a language
        #: without one in the built-in English); the problems of those files.
        self.digest: dict[str, DigestWords] = {}
        self.digest_problems: list[Problem] = []
        for filename, text in (digest or {}).items():
            language = filename.removeprefix("digest.").removesuffix(".yaml")
            words, problems = parse_digest_words(text, self.where(filename), language)
            self.digest[language] = words
            self.digest_problems += problems
        if refuse_broken and (self.broken or self.digest_problems):
            raise ConfigError([*self.broken.values(), *self.digest_problems])

    def where(self, filename: str) -> str:
        """The path of a template as problems show it."""
        return f"{self.label}/{filename}"

    def render(self, name: str, language: str, context: dict[str, Any]) -> Rendered:
        """Render NAME.LANG.j2 ("Subject: …", blank line, body); fall back to the other language."""
        from jinja2 import TemplateError

        lang = language if language in LANGUAGES else LANGUAGES[0]
        candidates = [f"{name}.{lang}.j2"] + [f"{name}.{x}.j2" for x in LANGUAGES if x != lang]
        for filename in candidates:
            if filename in self.sources:
                try:
                    out = self.env.get_template(filename).render(**context)
                except TemplateError as exc:
                    line = getattr(exc, "lineno", None)
                    raise ConfigError(
                        [Problem(self.where(filename), line, f"template error: {exc}")]
                    ) from None
                return split_subject(out, filename)
        raise ConfigError(
            [
                Problem(
                    self.where(candidates[0]),
                    None,
                    "template not found: create it or fix `template:` in rules.yaml",
                )
            ]
        )


def _sources(sources: Mapping[str, str], where: Callable[[str], str]) -> BaseLoader:
    """Templates from memory, each under its file's path, so that a render error's traceback
    points at the template file and line (Jinja's DictLoader would say `<template>`)."""
    from jinja2 import BaseLoader, Environment, TemplateNotFound

    class Sources(BaseLoader):
        def get_source(
            self, environment: Environment, template: str
        ) -> tuple[str, str, Callable[[], bool]]:
            if template not in sources:
                raise TemplateNotFound(template)
            return sources[template], where(template), lambda: True

    return Sources()


def split_subject(out: str, filename: str) -> Rendered:
    head, _, body = out.lstrip("\n").partition("\n")
    if not head.lower().startswith("subject:"):
        raise ConfigError([Problem(filename, 1, "a template must start with 'Subject: …'")])
    return Rendered(header_safe(head[len("subject:") :]), body.lstrip("\n"))


def wire(msg: EmailMessage) -> str:
    """The mail as the outbox keeps it: UTF-8 text, bodies 8-bit as composed.

    `as_string()` would re-encode every 8-bit part to base64 on a deep copy of the whole
    message (most of the cost of composing); the sender declares BODY=8BITMIME instead and
    falls back to `seven_bit` for a server that lacks it. Verbatim parts go in here.
    The mail we compose (text, or mixed with attachments) is written by `_flat`, the same
    bytes as `as_bytes()` without its per-part policy clones and header re-parsing; any other
    shape goes through `as_bytes()`."""
    out = _flat(msg, msg.policy) if isinstance(msg.policy, EmailPolicy) else None
    if out is None:
        out = msg.as_bytes()
    for part in msg.walk():
        if (v := getattr(part, "verbatim", None)) is not None:
            out = out.replace(v[0], v[1], 1)
    return out.decode("utf-8")


_NLCRE = re.compile(r"\r\n|\r|\n")
#: The types `_flat` writes as the stdlib's BytesGenerator does; any other goes through it.
_FLAT_TYPES = ("text/plain", "message/rfc822", "multipart/mixed")


def stored_header(msg: Message, name: str) -> Any:
    """The first `name` header's value as stored (a str, or the header object the policy made),
    without the parse that `msg[name]` does on every read; None when it is absent."""
    name = name.lower()
    return next((v for k, v in msg.raw_items() if k.lower() == name), None)


def _content_type(msg: Message) -> str | None:
    """The stored Content-Type's type, lowercased, without parsing the header again; None
    when it is absent or not plainly `type/subtype` (`_flat` then leaves the mail alone)."""
    value = stored_header(msg, "Content-Type")
    if value is None:
        return None
    ctype = getattr(value, "content_type", None)
    if not isinstance(ctype, str):
        ctype = str(value).split(";", 1)[0].strip().lower()
    return ctype if ctype in _FLAT_TYPES else None


def _flat(msg: Message, policy: EmailPolicy) -> bytes | None:
    """`msg.as_bytes()` for the shapes we compose, or None for any other (the caller uses
    `as_bytes()` then). It does what email.generator.BytesGenerator does for them — headers
    folded by the message's policy, text bodies with their line ends made the policy's, a
    message/rfc822 part's text payload as it is, parts joined by a boundary made (and set on
    the message) the same way — without a policy clone and a Content-Type parse per part.
    tests/unit/core/mail/test_compose.py holds the bytes equal to `as_bytes()`."""
    ctype = _content_type(msg)
    payload = msg._payload  # type: ignore[attr-defined]  # what the generator reads too
    if ctype is None or msg.preamble is not None or msg.epilogue is not None:
        return None
    nl = policy.linesep
    if ctype == "multipart/mixed":
        if not isinstance(payload, list) or not payload:
            return None
        texts = []
        for part in payload:
            text = _flat(part, policy) if isinstance(part, Message) else None
            if text is None:
                return None
            texts.append(text)
        boundary = msg.get_boundary()
        if not boundary:
            boundary = BytesGenerator._make_boundary(nl.encode("ascii").join(texts))  # type: ignore[attr-defined]
            msg.set_boundary(boundary)
        sep = f"{nl}--{boundary}{nl}".encode("ascii")
        body = f"--{boundary}{nl}".encode("ascii") + sep.join(texts)
        body += f"{nl}--{boundary}--{nl}".encode("ascii")
    elif not isinstance(payload, str):
        return None
    elif ctype == "message/rfc822":
        body = payload.encode("ascii")
    else:
        body = _NLCRE.sub(nl, payload).encode("ascii", "surrogateescape")
    head = b"".join(policy.fold_binary(h, v) for h, v in msg.raw_items())
    return head + nl.encode("ascii") + body


class LineTooLong(ValueError):
    """Bytes that cannot cross SMTP as they are: a line over 998 octets or a bare CR."""


def smtp_lines(raw: bytes) -> bool:
    """Whether `raw` consists of CRLF-ended lines that SMTP carries: at most 998 octets each
    (RFC 5321 §4.5.3.1.6, RFC 5322 §2.1.1; a server answers "500 Line too long") and no bare CR
    or LF, which is no line end on the wire and which servers refuse or rewrite."""
    lines = raw.split(b"\r\n")
    return lines[-1] == b"" and all(
        len(line) <= MAX_LINE and b"\r" not in line and b"\n" not in line for line in lines
    )


def verbatim_message(raw: bytes, filename: str) -> EmailMessage:
    """A message/rfc822 attachment holding `raw` (UTF-8 or ASCII) byte for byte.

    The stdlib would parse the message and write it out again, which costs more than the rest
    of the mail and may alter what the sender wrote; `wire` puts the bytes in place of a
    placeholder instead. Line ends become CRLF; a line SMTP cannot carry raises LineTooLong
    (the caller re-encodes the message, see `reencoded`, or attaches it as a file)."""
    raw = _LINE_END.sub(b"\r\n", raw)
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    if not smtp_lines(raw):
        raise LineTooLong(f"{filename}: a line over {MAX_LINE} octets or a bare CR")
    text = raw.decode("utf-8")  # UnicodeDecodeError: the caller attaches it some other way
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = "message/rfc822"
    part["Content-Transfer-Encoding"] = "7bit" if text.isascii() else "8bit"
    part["Content-Disposition"] = f'attachment; filename="{header_safe(filename)}"'
    placeholder = f"feedbackd-verbatim-{uuid.uuid4().hex}\r\n"
    part.set_payload(placeholder)
    part.verbatim = (placeholder.encode(), raw)  # type: ignore[attr-defined]
    return part


def reencoded(raw: bytes) -> bytes:
    """The message parsed and written again, fit for SMTP: 8-bit text parts re-encoded as
    base64/QP, a part with a line over 998 octets as base64, bare CRs made CRLF, long header
    lines folded. Raises UnicodeError, LookupError or LineTooLong (with ValueError, TypeError
    from the stdlib) when the mail cannot be written so: a charset Python does not know, 8-bit
    text that is not in its declared charset, a damaged part, a header that will not fold."""
    msg = email.message_from_bytes(raw, policy=SMTP)
    for part in msg.walk():
        if not part.is_multipart() and _has_long_line(part.get_payload()):
            data = part.get_payload(decode=True)  # decoding notes any damage in `defects`
            if part.defects or not isinstance(data, bytes):  # re-encoding would lose bytes
                raise LineTooLong("a damaged part with a line over 998 octets")
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "base64"
            part.set_payload(base64.encodebytes(data).decode("ascii"))
    out = msg.as_string().encode("utf-8", "surrogateescape")
    if not smtp_lines(out):
        raise LineTooLong("a header line over 998 octets that does not fold")
    return out


def seven_bit(raw: bytes) -> bytes:
    """For a server without 8BITMIME (RFC 6152): our mail with its 8-bit text parts re-encoded
    as base64/QP (`reencoded`). An attached message that cannot be re-encoded (a broken charset,
    an unfoldable header) goes as an application/octet-stream .eml file, its bytes unchanged."""
    try:
        return reencoded(raw)
    except (UnicodeError, LookupError, ValueError, TypeError):
        pass
    msg = email.message_from_bytes(raw, policy=SMTP)
    for part in [p for p in msg.walk() if p.get_content_type() == "message/rfc822"]:
        inner = part.get_payload(0)
        if not isinstance(inner, Message):
            continue
        data = inner.as_bytes(policy=_AS_READ)
        name = part.get_filename() or "original.eml"
        part.set_content(
            data, "application", "octet-stream", disposition="attachment", filename=name
        )
    return reencoded(msg.as_bytes(policy=_AS_READ))


def _has_long_line(payload: object) -> bool:
    return isinstance(payload, str) and any(
        len(line) > MAX_LINE for line in _ANY_LINE_END.split(payload)
    )


MAX_LINE = 998  # octets in a line of mail, CRLF not counted (RFC 5322 §2.1.1)
_LINE_END = re.compile(rb"\r?\n")
_ANY_LINE_END = re.compile(r"\r\n|\r|\n")
#: Writes a parsed message back as it was read: headers as in the source, 8-bit bytes as such.
_AS_READ = SMTP.clone(refold_source="none", cte_type="8bit")


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{domain or 'feedbackd.invalid'}>"


class _Plain(EmailPolicy):
    """The SMTP policy, except that a header value already in wire form (ASCII, one line that
    fits) is stored as given instead of being parsed into a header object and folded again.

    Parsing and refolding our own headers was a third of the cost of composing a mail, and
    the stdlib folder drops the space between some non-ASCII words when it wraps them (a
    Cyrillic subject loses about one space in seven): `encode_words` writes one encoded word
    on one line up to RFC 5322's 998 characters instead. Anything else — non-ASCII, too long —
    takes the stdlib's path. A header read back (`msg["To"]`) is parsed then, as usual."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if (
            isinstance(value, str)
            and value.isascii()
            and "\r" not in value
            and "\n" not in value
            and (limit := self.max_line_length) is not None
            and len(name) + len(value) + 2 <= limit
        ):
            return (name, value)
        return super().header_store_parse(name, value)

    def header_max_count(self, name: str) -> int | None:
        """The stdlib's answer, looked up once per header name: its registry builds a new
        header class on every lookup, and every header set asks (a third of setting one)."""
        return _max_count(self.header_factory, name.lower())


@lru_cache(maxsize=512)
def _max_count(factory: Any, name: str) -> int | None:
    return cast(int | None, factory[name].max_count)


WIRE = _Plain(linesep="\r\n", max_line_length=998)


def encode_words(value: str) -> str:
    """RFC 2047: ASCII words stay readable; from the first non-ASCII word on, one encoded word."""
    if value.isascii():
        return value
    words = value.split(" ")
    first = next(i for i, w in enumerate(words) if not w.isascii())
    tail = " ".join(words[first:])
    encoded = "=?utf-8?b?" + base64.b64encode(tail.encode("utf-8")).decode("ascii") + "?="
    return " ".join([*words[:first], encoded])


def encode_address(value: str) -> str:
    """A "Name <addr>" whose name is not ASCII, with the name encoded (the address never is)."""
    if value.isascii():
        return value
    name, addr = email.utils.parseaddr(value)
    if not addr or not addr.isascii():
        return value  # an internationalised address: the stdlib's path (SMTPUTF8)
    return email.utils.formataddr((name, addr), charset="utf-8")


def build_mail(
    *,
    sender: str,
    sender_name: str,
    to: str,
    rendered: Rendered,
    message_id: str,
    now: datetime,
    in_reply_to: str = "",
    references: tuple[str, ...] = (),
    automatic: bool = True,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    # Headers are encoded here (RFC 2047) and stored as written: see `_Plain`.
    msg = EmailMessage(policy=WIRE)
    msg["From"] = email.utils.formataddr((header_safe(sender_name), sender), charset="utf-8")
    msg["To"] = encode_address(header_safe(to))
    msg["Subject"] = encode_words(header_safe(rendered.subject))
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = header_safe(in_reply_to)
    refs = [header_safe(r) for r in references if r]
    if in_reply_to and in_reply_to not in refs:
        refs.append(header_safe(in_reply_to))
    if refs:
        msg["References"] = " ".join(refs[-20:])
    if automatic:
        for k, v in AUTO_HEADERS.items():
            msg[k] = v
    for k, v in (extra_headers or {}).items():
        msg[k] = header_safe(v)
    _set_text(msg, rendered.text)
    return msg


def _set_text(msg: EmailMessage, text: str) -> None:
    """`msg.set_content(text, charset="utf-8")`, the same headers and payload, without the
    content manager's header parsing, for text whose lines fit the policy (7bit when ASCII,
    else 8bit, as the stdlib chooses then); longer lines take the stdlib's path (QP/base64)."""
    lines = text.encode("utf-8").splitlines()
    limit = msg.policy.max_line_length
    if limit is None or any(len(line) > limit for line in lines) or "Content-Type" in msg:
        msg.set_content(text, charset="utf-8")
        return
    body = b"\n".join(lines) + b"\n"
    msg["Content-Type"] = 'text/plain; charset="utf-8"'
    msg["Content-Transfer-Encoding"] = "7bit" if body.isascii() else "8bit"
    if "MIME-Version" not in msg:
        msg["MIME-Version"] = "1.0"
    msg.set_payload(body.decode("ascii", "surrogateescape"))
