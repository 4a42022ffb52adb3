"""Every mail feedbackd writes about a case other than the acknowledgment. Pure composition.

A case has exactly one owner, so the owner must learn everything without asking anyone: the
new-case notice carries the category, the due date, the customer's words quoted and the
original attached (so the answer can quote it), and how to answer and close. Reminders,
escalations and "the customer wrote again" carry the same instructions, because that mail is
often the one the owner acts on.

Staff mail has `Reply-To` set to the case's token address (`daemon.tokens`), so "Reply" +
"close" is a command the daemon can trust; the token is never put into mail to a customer, nor
into a reply to a command from an address that may not command the case. Staff mail is
`Auto-Submitted: auto-generated`, so vacation responders stay quiet. Every subject carries
`[CASE-ID]`, even if an admin's template forgets it. Customer text is template data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from daemon.core.cases import Case
from daemon.core.mail.compose import (
    build_mail,
    header_safe,
)
from daemon.core.mail.message import Message
from daemon.core.mail.original import attach_original, attached_whole
from daemon.core.mail.staff import (
    NoticeDesk,
    _center_name,
    _owner,
    _quote,
    _render,
    _short,
    _staff_context,
    _staff_mail,
    base_context,
)
from daemon.core.mail.wording import CATEGORY_LABELS
from daemon.core.owner_commands import Authorization, Command, commanders
from daemon.core.reminders import Reminder
from daemon.core.rules import Owner, RuleBook


def owner_notice(
    desk: NoticeDesk,
    case: Case,
    original: Message,
    raw: bytes,
    *,
    message_id: str,
    now: datetime,
    linked_case: str = "",
) -> EmailMessage:
    """The new-case notice to the case owner, the customer's original attached. `linked_case`:
    a case the message named but could not join (it came from someone else)."""
    to = _owner(desk, case.owner)
    part = attach_original(raw, desk.max_attachment, case.id)
    ctx = (
        _staff_context(desk, case, to, now)
        | _quote(original.text)
        | {"original_attached": attached_whole(part), "linked_case": linked_case}
    )
    return _staff_mail(desk, case, to, "notice_owner", ctx, message_id, now, part=part)


def reminder_mail(
    desk: NoticeDesk,
    case: Case,
    reminder: Reminder,
    to: Owner,
    *,
    message_id: str,
    now: datetime,
    in_reply_to: str = "",
) -> EmailMessage:
    """One rung of the ladder (remind | due | overdue) to one recipient, in their language."""
    ctx = _staff_context(desk, case, to, now) | {"step": reminder.kind, "note": reminder.note}
    return _staff_mail(desk, case, to, "reminder", ctx, message_id, now, in_reply_to)


def escalation_mail(
    desk: NoticeDesk,
    case: Case,
    reminder: Reminder,
    to: Owner,
    *,
    message_id: str,
    now: datetime,
    in_reply_to: str = "",
) -> EmailMessage:
    """The overdue case, to a supervisor or the center; says who else was told."""
    others = [desk.book.owners[k].name for k in reminder.recipients if k in desk.book.owners]
    ctx = _staff_context(desk, case, to, now) | {
        "note": reminder.note,
        "escalated_to": ", ".join(others),
    }
    return _staff_mail(desk, case, to, "escalation", ctx, message_id, now, in_reply_to)


def joined_notice_to_owner(
    desk: NoticeDesk,
    case: Case,
    new: Message,
    raw: bytes,
    *,
    message_id: str,
    now: datetime,
    in_reply_to: str = "",
) -> EmailMessage:
    """The customer wrote again: the new message quoted and attached, to the case owner."""
    to = _owner(desk, case.owner)
    part = attach_original(raw, desk.max_attachment, case.id)
    ctx = (
        _staff_context(desk, case, to, now)
        | _quote(new.text)
        | {"new_subject": _short(new.subject), "original_attached": attached_whole(part)}
    )
    return _staff_mail(desk, case, to, "joined", ctx, message_id, now, in_reply_to, part=part)


def bounce_notice(
    desk: NoticeDesk,
    case: Case,
    bounce_raw: bytes,
    *,
    recipient: str,
    status: str,
    hard: bool | None,
    diagnostic: str,
    message_id: str,
    now: datetime,
) -> EmailMessage:
    """One of our mails about the case bounced: the owner must reach the customer otherwise."""
    to = _owner(desk, case.owner)
    part = attach_original(bounce_raw, desk.max_attachment, case.id)
    ctx = _staff_context(desk, case, to, now) | {
        "bounced_to": recipient or "?",
        "bounce_status": status or "?",
        "hard": bool(hard),
        "diagnostic": _short(diagnostic),
    }
    return _staff_mail(desk, case, to, "bounce", ctx, message_id, now, part=part)


def thanks_forward(
    desk: NoticeDesk,
    case: Case,
    original: Message,
    to: Owner,
    *,
    message_id: str,
    now: datetime,
    thanked_name: str = "",
) -> EmailMessage:
    """A customer's thanks passed to the team or employee; replies go to the center's people,
    not to the token address, because a team member cannot (and need not) command the case.
    `thanked_name`: the employee the thanks names, when `to` is their manager."""
    ctx = (
        _staff_context(desk, case, to, now)
        | _quote(original.text)
        | {"customer_email": "", "answer_link": "", "answer_address": ""}
        | {"thanked_name": _short(thanked_name)}
    )  # the team gets the words, not the address
    center = desk.book.owners.get(desk.book.center)
    msg = _staff_mail(desk, case, to, "thanks_forward", ctx, message_id, now)
    msg.replace_header("Reply-To", center.email if center else desk.address)
    return msg


def added_to_case_notice(
    desk: NoticeDesk, case: Case, new: Message, to: str, *, message_id: str, now: datetime
) -> EmailMessage:
    """The short "added to your case" reply to a customer, in the case's language. `to` is the
    policy's reply target; how often to send it (once a day at most) is the caller's rule."""
    ctx = base_context(desk, case, case.language)
    rendered = _render(desk, "added", case.language, ctx, case.id)
    return build_mail(
        sender=desk.address,
        sender_name=ctx["center_name"],
        to=to,
        rendered=rendered,
        message_id=message_id,
        now=now,
        in_reply_to=new.message_id,
        references=new.references,
    )


def command_reply(
    desk: NoticeDesk,
    case_id: str,
    case: Case | None,
    command_mail: Message,
    command: Command | None,
    auth: Authorization,
    *,
    message_id: str,
    now: datetime,
) -> EmailMessage:
    """The answer to a command: what changed, or why nothing did. Always goes to the From —
    never to a Reply-To a forger chose — and carries the token only if that From may command
    the case (`case` is the case after the command was applied, when there is one)."""
    lang = auth.language
    new_owner = desk.book.owners.get(auth.data.get("owner", ""))
    ctx = {
        "case_id": case_id,
        "subject": _short(case.subject) if case else "",
        "status": case.status if case else "",
        "accepted": auth.allowed,
        "reason": auth.reason,
        "event": auth.event,
        "command_line": header_safe(command.line)[:80] if command else "",
        "new_owner_name": new_owner.name if new_owner else "",
        "note_text": auth.data.get("text", ""),
        "category_label": CATEGORY_LABELS.get(lang, {}).get(case.category, case.category)
        if case
        else "",
        "outcome": outcome_line(auth.data) if auth.event == "closed" else "",
        "employee": auth.data.get("employee", ""),
        "center_name": _center_name(desk),
        "feedback_address": desk.address,
    }
    rendered = _render(desk, "command_reply", lang, ctx, case_id)
    extra = {"X-Feedbackd-Case": case_id}
    if case is not None and command_mail.from_addr.lower() in commanders(case, desk.book):
        extra["Reply-To"] = desk.reply_address(case_id)
    return build_mail(
        sender=desk.address,
        sender_name=_center_name(desk),
        to=command_mail.from_addr,
        rendered=rendered,
        message_id=message_id,
        now=now,
        in_reply_to=command_mail.message_id,
        references=command_mail.references,
        extra_headers=extra,
    )


def unproven_answer_notice(
    desk: NoticeDesk, case: Case, claimed: Message, *, message_id: str, now: datetime
) -> EmailMessage:
    """A mail in the case's thread with a staff From that did not come to the answer address:
    recorded as a note, and the real owner (not the From) is told why it did not count."""
    to = _owner(desk, case.owner)
    ctx = _staff_context(desk, case, to, now) | {
        "claimed_from": claimed.from_addr,
        "new_subject": _short(claimed.subject),
    }
    return _staff_mail(desk, case, to, "unproven_answer", ctx, message_id, now)


def outcome_line(data: Mapping[str, Any]) -> str:
    """`justified, cause delivery, remedy certificate`: a close's outcome in one line."""
    parts = [str(data["verdict"])] if data.get("verdict") else []
    parts += [f"{k} {data[k]}" for k in ("cause", "remedy") if data.get(k)]
    if data.get("employees"):
        parts.append("employees " + ", ".join(map(str, data["employees"])))
    return ", ".join(parts)


def thanks_recipients(case: Case, book: RuleBook) -> tuple[Owner, ...]:
    """Who earned the thanks: the owner a matching rule named, else the category's
    `forward_to`; unknown keys are skipped (`feedbackd check` reports them)."""
    rule = next((r for r in book.rules if r.name == case.rule), None)
    category = book.categories.get(case.category)
    keys = (rule.owner,) if rule and rule.owner else (category.forward_to if category else ())
    return tuple(book.owners[k] for k in dict.fromkeys(keys) if k in book.owners)
