"""Whether to acknowledge a message: RFC 3834 and loop protection, as a pure function.

A feedback address receives bounces, out-of-office replies, list traffic, newsletters and other
robots' mail alongside people's. An acknowledgment sent to a robot is at best noise and at worst
the first turn of a mail loop, so `should_acknowledge` answers people only. It reads headers and
MIME structure from a parsed `Message`, the sender's recent history that the caller keeps in its
store, and `now`; it does no I/O and never reads the clock, so `feedbackd classify` can explain
exactly what the daemon would do.

Evidence is split on purpose: markers that robots set and people's mail programs do not
(Auto-Submitted, Precedence, List-*, a null return path, report MIME types) suppress the
acknowledgment on their own; markers that also appear on people's mail (Feedback-ID, an X-Loop
not naming us, X-MS-Exchange-Inbox-Rules-Loop, subject words like "Automatic reply") are
ignored. Each decision is listed in docs/loop-protection.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from daemon.core.mail.message import Message
from daemon.core.rules.model import PolicySettings  # the pure shapes; daemon.rules re-exports them

#: Verdict kinds, most specific first: when several markers are present, the earliest kind wins
#: and every marker still appears in `reasons`.
KINDS = (
    "own",
    "no_sender",
    "report",
    "bounce",
    "auto_reply",
    "list",
    "bulk",
    "spam",
    "noreply",
    "hard_bounced",
    "rate_limited",
    "person",
)


@dataclass(frozen=True)
class SenderHistory:
    """What the store knows about the address we would write to (see `reply_target`).

    `acks` are the times we acknowledged that address, any order, at least the last
    `ack_interval` or one hour, whichever is longer. `hard_bounce_until` is set after a
    permanent bounce of one of our mails to it (see daemon.bounces) and ends its quiet period.
    """

    acks: tuple[datetime, ...] = ()
    hard_bounce_until: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """The decision and why; `reply_to` is the address to answer, None when we stay silent."""

    acknowledge: bool
    kind: str
    reasons: tuple[str, ...]
    reply_to: str | None = None


@dataclass(frozen=True)
class Marker:
    kind: str
    reason: str


def should_acknowledge(
    message: Message,
    history: SenderHistory,
    now: datetime,
    settings: PolicySettings,
    own_addresses: frozenset[str],
) -> Verdict:
    """Acknowledge a person at most once per interval; never a robot, a list or ourselves.

    Naive datetimes are taken as UTC so that a store which lost the zone cannot crash the loop.
    """
    markers = automatic_markers(message, settings, own_addresses)
    if markers:
        kind = min((m.kind for m in markers), key=KINDS.index)
        return Verdict(False, kind, tuple(m.reason for m in markers))
    target = reply_target(message, settings, own_addresses)
    assert target is not None  # automatic_markers reports no_sender otherwise
    now = _aware(now)
    if history.hard_bounce_until is not None and now < _aware(history.hard_bounce_until):
        until = _aware(history.hard_bounce_until)
        return Verdict(
            False,
            "hard_bounced",
            (f"mail to {target} bounced permanently; quiet until {until:%Y-%m-%d %H:%M} UTC",),
        )
    limited = _rate_limit(history, now, settings)
    if limited:
        return Verdict(False, "rate_limited", (limited,))
    via = "Reply-To" if target != message.from_addr else "From"
    return Verdict(
        True, "person", (f"no automatic-mail marker; answering {target} ({via})",), target
    )


def automatic_markers(
    message: Message, settings: PolicySettings, own_addresses: frozenset[str]
) -> tuple[Marker, ...]:
    """Every reason found in the message itself not to answer it (history aside)."""
    own = _own_set(settings, own_addresses)
    found: list[Marker] = []
    found += _own_markers(message, own)
    found += _report_markers(message)
    found += _sender_markers(message, settings)
    found += _bounce_text_markers(message)
    found += _auto_reply_markers(message)
    found += _list_and_bulk_markers(message)
    found += _spam_markers(message)
    if reply_target(message, settings, own_addresses) is None and not found:
        found.append(Marker("no_sender", "no valid From or Reply-To address to answer"))
    return tuple(found)


def reply_target(
    message: Message, settings: PolicySettings, own_addresses: frozenset[str]
) -> str | None:
    """The address an acknowledgment would go to, and the key of the sender's history.

    The first Reply-To address that is neither ours nor a no-reply address, else From.
    Reply-To is where a person asks to be answered (web forms, shared mailboxes); `should_
    acknowledge` never answers automatic mail at all, so a forged Reply-To on it is moot.
    """
    own = _own_set(settings, own_addresses)
    for addr in message.reply_to:
        if _valid_address(addr) and not _is_own(addr, own) and not _noreply(addr, settings):
            return addr
    return message.from_addr if _valid_address(message.from_addr) else None


def validate_policy_settings(settings: PolicySettings) -> list[str]:
    """Problems in the policy settings, one sentence each, for `feedbackd check`."""
    problems = []
    for pattern in settings.noreply_patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(f"noreply pattern {pattern!r} is not a valid regular expression: {exc}")
    if settings.ack_interval < timedelta(0):
        problems.append("ack_interval must not be negative")
    if settings.ack_burst_per_hour < 1:
        problems.append("ack_burst_per_hour must be at least 1, or nobody is ever acknowledged")
    return problems


# --- markers ------------------------------------------------------------------------------

#: Local parts of mail systems' own senders (RFC 5321 postmaster, MAILER-DAEMON, variants).
_DAEMON_LOCALPART = re.compile(r"^(mailer-?daemon|post_?master)$", re.I)
#: The same names anywhere in a From header that holds no valid address.
_DAEMON_WORD = re.compile(r"(^|[^a-z])(mailer-?daemon|post_?master)([^a-z]|$)", re.I)
#: Envelope senders of list software (RFC 3834 §3.2, RFC 5230 §4.6): `*-request`, `owner-*`,
#: LISTSERV, Majordomo. Only the Return-Path: a person may well write from `owner-relations@`.
_LIST_ENVELOPE = re.compile(r"^(.+-request|owner-.+|listserv|majordomo)$", re.I)
#: Display names MTAs give their bounces; no person is called that.
_MTA_NAMES = re.compile(
    r"^\s*(mail delivery (sub)?system|mail delivery service|mailer[- ]daemon)"
    r"\s*$",
    re.I,
)
#: Subjects of bounces, anchored: "Fwd: Returned mail" is a person forwarding one.
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliver(ed|able)\b|returned mail\b|mail delivery failed|failure notice\b"
    r"|delivery (status notification|failure|has failed|notification)\b|non-?deliver"
    r"|message (not delivered|delivery failure)|warning: could not send"
    r"|недоставленное сообщение|сообщение не доставлено)",
    re.I,
)
#: Wording of mail software in a bounce body.
_BOUNCE_BODY = re.compile(
    r"created automatically by mail delivery software|could not be delivered to one or more"
    r"|could not be delivered to the following|permanent fatal errors|failed recipients"
    r"|following (recipients?|addresses) (had|failed)"
    r"|delivery to the following recipients? (failed|has failed)|user unknown"
    r"|mailbox unavailable|no such user|unrouteable address|recipient address rejected"
    r"|this is the mail system at host|host or domain name not found"
    r"|smtp error from remote mail server|remote host said: 5\d\d",
    re.I,
)
_SUPPRESS = {"all", "oof", "autoreply"}
_PRECEDENCE = {"bulk": "bulk", "junk": "bulk", "list": "list", "auto_reply": "auto_reply"}
_NEGATIVE = {"no", "false", "0", "off"}
#: Headers that only autoresponders set; any value but an explicit "no" counts.
_AUTORESPONDER_HEADERS: tuple[str, ...] = ("x-autoreply", "x-autorespond", "x-autoreply-from")
_AUTORESPONDER_HEADERS += ("x-mail-autoreply", "x-autoresponse", "x-autoresponder")
#: X-Loop values that name no address but say "this went round": set by autoresponder scripts.
_BARE_LOOP = {"yes", "true", "1"}
#: List headers besides RFC 2369/2919 List-*: ezmlm, older lists, fml.
_LIST_HEADERS = ("mailing-list", "x-mailing-list", "x-ml-name", "x-mlserver")


def _own_markers(message: Message, own: frozenset[str]) -> list[Marker]:
    out = []
    if _is_own(message.from_addr, own):
        out.append(Marker("own", f"From {message.from_addr} is one of our own addresses"))
    if message.return_path and _is_own(message.return_path, own):
        out.append(Marker("own", f"return path {message.return_path} is one of our own addresses"))
    for value in message.headers.get("x-loop", ()):
        if any(_is_own(a, own) for a in re.findall(r"[^\s<>,;\"']+@[^\s<>,;\"']+", value.lower())):
            out.append(Marker("own", f"X-Loop: {value} names our own address"))
    return out


def _report_markers(message: Message) -> list[Marker]:
    out = []
    if message.content_type == "multipart/report":
        ctype = message.header("content-type").lower()
        m = re.search(r"report-type\s*=\s*\"?([\w.-]+)", ctype)
        rtype = m.group(1) if m else ""
        if rtype == "feedback-report":
            out.append(Marker("report", "abuse feedback report (multipart/report; ARF)"))
        elif rtype == "disposition-notification":
            out.append(Marker("report", "read receipt (multipart/report; MDN)"))
        else:
            out.append(
                Marker(
                    "bounce",
                    f"delivery report (multipart/report; report-type={rtype or 'missing'})",
                )
            )
    elif "message/delivery-status" in message.part_types:
        out.append(Marker("bounce", "delivery status part (message/delivery-status)"))
    elif "message/feedback-report" in message.part_types:
        out.append(Marker("report", "abuse feedback report part (message/feedback-report)"))
    return out


def _sender_markers(message: Message, settings: PolicySettings) -> list[Marker]:
    out = []
    rp = message.return_path
    if rp == "":
        out.append(Marker("bounce", "null return path <> (bounces and automatic mail only)"))
    elif rp is not None and _DAEMON_LOCALPART.match(_localpart(rp)):
        out.append(Marker("bounce", f"return path {rp} is a mail system"))
    elif rp is not None and _LIST_ENVELOPE.match(_localpart(rp)):
        out.append(Marker("list", f"return path {rp} is list software's (RFC 3834 §3.2)"))
    if _DAEMON_LOCALPART.match(_localpart(message.from_addr)):
        out.append(Marker("bounce", f"From {message.from_addr} is a mail system"))
    elif _MTA_NAMES.match(message.from_name):
        out.append(Marker("bounce", f'From name "{message.from_name}" is a mail system\'s'))
    elif message.from_addr and _noreply(message.from_addr, settings):
        out.append(Marker("noreply", f"From {message.from_addr} is a no-reply address"))
    elif not _valid_address(message.from_addr) and _DAEMON_WORD.search(message.header("from")):
        # `MAILER-DAEMON <>`, `<Postmaster\@host@relay>`: no address to read, but the name of
        # a mail system — a bounce, not a person without a sender.
        shown = message.header("from")[:60]
        out.append(Marker("bounce", f"From {shown!r} names a mail system (no valid address)"))
    return out


def _bounce_text_markers(message: Message) -> list[Marker]:
    """Bounces from mail systems that send neither a DSN nor a mail-system sender.

    A bounce subject alone is weak evidence (a customer may well write about an undeliverable
    parcel), so it counts only together with wording that mail software uses in the body.
    """
    subject = _BOUNCE_SUBJECT.match(message.subject)
    if not subject:
        return []
    body = _BOUNCE_BODY.search(message.text[:20_000])
    if not body:
        return []
    return [
        Marker("bounce", f'bounce subject "{message.subject[:60]}" and body text "{body.group(0)}"')
    ]


def _auto_reply_markers(message: Message) -> list[Marker]:
    out = []
    for value in message.headers.get("auto-submitted", ()):
        token = re.split(r"[\s;(]", value.strip().lower(), maxsplit=1)[0]
        if token != "no":
            out.append(Marker("auto_reply", f"Auto-Submitted: {value} (RFC 3834)"))
    for value in message.headers.get("x-autosubmitted", ()):
        if value.strip().lower() not in _NEGATIVE:
            out.append(Marker("auto_reply", f"X-AutoSubmitted: {value} (autoresponder)"))
    for value in message.headers.get("x-autogenerated", ()):
        if value.strip().lower() == "reply":
            out.append(Marker("auto_reply", f"X-Autogenerated: {value} (autoresponder)"))
    if "x-cron-env" in message.headers:
        out.append(Marker("auto_reply", "X-Cron-Env: the output of a cron job"))
    for value in message.headers.get("x-loop", ()):
        if value.strip().lower() in _BARE_LOOP:
            out.append(Marker("auto_reply", f"X-Loop: {value} (an autoresponder's loop mark)"))
    for value in message.headers.get("x-auto-response-suppress", ()):
        tokens = {t for t in re.split(r"[\s,;]+", value.lower()) if t}
        if tokens & _SUPPRESS:
            out.append(
                Marker(
                    "auto_reply",
                    f"X-Auto-Response-Suppress: {value} (the sender asks for no automatic replies)",
                )
            )
    for name in _AUTORESPONDER_HEADERS:
        for value in message.headers.get(name, ()):
            if value.strip().lower() not in _NEGATIVE:
                out.append(Marker("auto_reply", f"{_title(name)}: {value} (autoresponder)"))
    if message.header("x-apple-action").lower() == "vacation":
        out.append(Marker("auto_reply", "X-Apple-Action: VACATION (iCloud vacation reply)"))
    return out


#: Verdict headers of the receiving server's spam filter (SpamAssassin, Rspamd): only "yes".
_SPAM_HEADERS = ("x-spam-flag", "x-spam-status", "x-spam")


def _spam_markers(message: Message) -> list[Marker]:
    """The server's spam filter said yes. Its score alone is not read: filters differ in scale;
    the verdict is what the admin already trusts for the rest of the mailbox."""
    for name in _SPAM_HEADERS:
        for value in message.headers.get(name, ()):
            if value.strip().lower().startswith("yes"):
                return [Marker("spam", f"{_title(name)}: {value.strip()[:40]} (the spam filter's)")]
    return []


def _list_and_bulk_markers(message: Message) -> list[Marker]:
    out = []
    list_headers = sorted(n for n in message.headers if n.startswith("list-") or n in _LIST_HEADERS)
    if list_headers:
        names = ", ".join(_title(n) for n in list_headers)
        out.append(Marker("list", f"mailing-list headers: {names} (RFC 2369/2919)"))
    for name in ("precedence", "x-precedence"):
        for value in message.headers.get(name, ()):
            kind = _PRECEDENCE.get(value.strip().lower())
            if kind:
                out.append(Marker(kind, f"{_title(name)}: {value}"))
    return out


# --- history --------------------------------------------------------------------------------


def _rate_limit(history: SenderHistory, now: datetime, settings: PolicySettings) -> str | None:
    """Why this address may not get another acknowledgment yet, or None.

    An ack stamped in the future (the clock went back) counts as recent: silence is the safe
    side of a clock error.
    """
    acks = sorted((_aware(t) for t in history.acks), reverse=True)
    recent = [t for t in acks if now - t < settings.ack_interval]
    if recent:
        return (
            f"already acknowledged at {recent[0].astimezone(UTC):%Y-%m-%d %H:%M} UTC,"
            f" less than {_span(settings.ack_interval)} ago"
        )
    last_hour = [t for t in acks if now - t < timedelta(hours=1)]
    if len(last_hour) >= settings.ack_burst_per_hour:
        return (
            f"{len(last_hour)} acknowledgments in the last hour "
            f"(limit {settings.ack_burst_per_hour})"
        )
    return None


# --- helpers --------------------------------------------------------------------------------

_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"  # letters, digits, inner hyphens; Unicode allowed (RFC 6532)
_ADDRESS = re.compile(rf"^[^\s\x00-\x1f\x7f@<>(),;:\"\[\]\\\ufffd]+@(?:{_LABEL}\.)*{_LABEL}$")


def _valid_address(addr: str) -> bool:
    """A plain local@domain we can put in a To header without quoting or injection risk.

    U+FFFD means the parser could not decode the address: we cannot answer what we cannot read.
    """
    return bool(addr) and _ADDRESS.match(addr) is not None and ".." not in addr


def _localpart(addr: str) -> str:
    return addr.partition("@")[0].strip().lower()


def _canonical(addr: str) -> str:
    """Lower-case, '+tag' dropped: feedback+x@ is still feedback@."""
    local, at, domain = addr.strip().lower().partition("@")
    return local.partition("+")[0] + at + domain


def _own_set(settings: PolicySettings, own_addresses: frozenset[str]) -> frozenset[str]:
    return frozenset(_canonical(a) for a in (*own_addresses, *settings.own_addresses) if a)


def _is_own(addr: str, own: frozenset[str]) -> bool:
    return bool(addr) and _canonical(addr) in own


@lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.I) for p in patterns)


def _noreply(addr: str, settings: PolicySettings) -> bool:
    return any(p.search(addr) for p in _compiled(tuple(settings.noreply_patterns)))


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _title(header: str) -> str:
    return "-".join(w.capitalize() for w in header.split("-"))


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} days"
