"""The mail of the feedback center's method: the employee's explanation, asked and given, and
"was it solved?" to the customer with its answer told to the owner. Pure composition.

Kept apart from `notices` (the case's everyday mail) but built the same way: the admin's
templates in the recipient's language, customer text as data only, `[CASE-ID]` in every
subject. The explanation request goes to an employee who may not command the case, so its
Reply-To is the employee's own explanation address (daemon.core.tokens), never the command
address, and it carries the complaint as it arrived when the owner's notice still holds it.
The question to the customer is `Auto-Submitted: auto-generated` and asks robots not to answer
(`X-Auto-Response-Suppress`), so an out-of-office never answers it.
"""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from email.message import EmailMessage, Message
from typing import Any

from daemon.core.cases import Case
from daemon.core.mail.compose import build_mail, header_safe
from daemon.core.mail.message import Message as Parsed
from daemon.core.mail.original import MAX_ATTACHMENT, attach_original, attached_whole
from daemon.core.mail.staff import (
    NoticeDesk,
    _center_name,
    _owner,
    _quote,
    _render,
    _staff_context,
    _staff_mail,
    base_context,
)
from daemon.core.mail.wording import format_moment
from daemon.core.records import OutMail
from daemon.core.rules import Owner
from daemon.core.tokens import explanation_address

QUESTION_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


def employee(case: Case, desk: NoticeDesk, address: str) -> Owner:
    """The employee as a recipient: an owner by that address, else the address itself, in the
    language of the case owner (who asked)."""
    known = next((o for o in desk.book.owners.values() if o.email == address.lower()), None)
    if known is not None:
        return known
    lang = _owner(desk, case.owner).language
    return Owner(address.lower(), address.lower(), address.lower(), lang)


def complaint_part(notice: OutMail | None, case_id: str) -> EmailMessage | None:
    """The customer's original as the owner's new-case notice carried it, if the outbox still
    holds that notice (sent mail is kept `keep_sent`); None otherwise."""
    if notice is None:
        return None
    msg = email.message_from_string(notice.raw, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                data = inner.as_bytes(policy=email.policy.SMTP.clone(cte_type="8bit"))
                return attach_original(data, MAX_ATTACHMENT, case_id)
    return None


def explanation_request(
    desk: NoticeDesk,
    case: Case,
    to: Owner,
    *,
    due: datetime,
    step: str,
    note: str,
    original: EmailMessage | None,
    message_id: str,
    now: datetime,
    in_reply_to: str = "",
) -> EmailMessage:
    """The request for a written explanation (`step` request), or a reminder of it."""
    ctx = _staff_context(desk, case, to, now) | {
        "explanation_due": format_moment(due, to.language, desk.book.timezone),
        "explanation_address": explanation_address(desk.address, desk.secret, case.id, to.email),
        "step": step,
        "note": note,
        "original_attached": original is not None and attached_whole(original),
        "customer_email": "",
        "answer_link": "",
        "answer_address": "",
    }
    msg = _staff_mail(
        desk, case, to, "explanation_request", ctx, message_id, now, in_reply_to, part=original
    )
    msg.replace_header("Reply-To", ctx["explanation_address"])
    return msg


def explanation_given(
    desk: NoticeDesk,
    case: Case,
    reply: Parsed,
    raw: bytes,
    *,
    late: bool,
    message_id: str,
    now: datetime,
) -> EmailMessage:
    """The employee's explanation, quoted and attached, to the case owner."""
    facts = {"employee": reply.from_addr, "late": late}
    return _to_owner(desk, case, reply, raw, "explanation_given", facts, message_id, now)


def solved_question(
    desk: NoticeDesk, case: Case, to: str, *, message_id: str, now: datetime, in_reply_to: str
) -> EmailMessage:
    """The question "was it solved?" to the customer, in the case's language and thread."""
    ctx = base_context(desk, case, case.language)
    rendered = _render(desk, "solved_question", case.language, ctx, case.id)
    return build_mail(
        sender=desk.address,
        sender_name=_center_name(desk),
        to=to,
        rendered=rendered,
        message_id=message_id,
        now=now,
        in_reply_to=in_reply_to,
        automatic=False,
        extra_headers=QUESTION_HEADERS | {"X-Feedbackd-Case": case.id},
    )


def solved_answer(
    desk: NoticeDesk,
    case: Case,
    reply: Parsed,
    raw: bytes,
    *,
    answer: str,
    score: int | None,
    reopened: bool,
    message_id: str,
    now: datetime,
) -> EmailMessage:
    """The customer's answer to "was it solved?" (no, a low score, free text), to the owner."""
    facts = {
        "answer": answer,
        "score": score or 0,
        "reopened": reopened,
        "new_subject": header_safe(reply.subject)[:200],
    }
    return _to_owner(desk, case, reply, raw, "solved_answer", facts, message_id, now)


def _to_owner(
    desk: NoticeDesk,
    case: Case,
    reply: Parsed,
    raw: bytes,
    template: str,
    facts: dict[str, Any],
    message_id: str,
    now: datetime,
) -> EmailMessage:
    """A reply someone sent us about the case, quoted and attached, to its owner."""
    to = _owner(desk, case.owner)
    part = attach_original(raw, desk.max_attachment, case.id)
    ctx = (
        _staff_context(desk, case, to, now)
        | _quote(reply.text)
        | facts
        | {"original_attached": attached_whole(part)}
    )
    return _staff_mail(desk, case, to, template, ctx, message_id, now, part=part)
