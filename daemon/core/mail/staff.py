"""How every mail to staff about a case is put together: the desk it is composed at, the
variables every template gets, the headers, and the built-in wording of newer templates.

One assembly for all staff mail, so each kind (daemon.core.mail.notices, method_mail) gets the
same `Reply-To` token address, `Auto-Submitted` headers and `[CASE-ID]` subject without
repeating them; an owner dropped from rules.yaml falls back to the feedback center here.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from daemon.core.cases import Case
from daemon.core.mail.compose import (
    Rendered,
    Templates,
    build_mail,
    header_safe,
)
from daemon.core.mail.original import MAX_ATTACHMENT
from daemon.core.mail.wording import CATEGORY_LABELS, format_duration, format_moment
from daemon.core.rules import Owner, RuleBook
from daemon.core.tokens import answer_address, case_token, command_address

QUOTE_LINES = 60


STAFF_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


@dataclass(frozen=True)
class NoticeDesk:
    """What composing staff mail needs; build once per cycle, like `intake.Desk`."""

    templates: Templates
    book: RuleBook
    address: str  # the feedback address: From of every mail, base of the token address
    secret: bytes = field(repr=False)  # the command-token secret; never logged
    max_attachment: int = MAX_ATTACHMENT

    def reply_address(self, case_id: str) -> str:
        return command_address(self.address, case_id, case_token(self.secret, case_id))

    def answer_address(self, case_id: str) -> str:
        """What an owner's answer to the customer has in Cc, so that it counts as the answer."""
        return answer_address(self.address, self.secret, case_id)


#: A template this release added, for a folder `feedbackd init` wrote before it existed.
BUILTIN = {
    "unproven_answer": (
        "[{case_id}] Not counted as the answer: {new_subject}",
        "A mail from {claimed_from} in the thread of case {case_id} did not have the case's "
        "answer address {answer_address} in Cc, so it was kept only as a note: the case is "
        "still {status}. If you answered, send the answer again with that address in Cc, or "
        "close the case with the close command.\n\n--\n{center_name}\n",
    ),
    "explanation_request": (
        "[{case_id}] Your written explanation, please: {subject}",
        "{recipient_name}, {owner_name}, who owns case {case_id}, asks for your written "
        "explanation by {explanation_due}. Reply to this mail without changing the recipient; "
        "your answer is attached to the case.\n{note}\n\n--\n{center_name}\n",
    ),
    "explanation_given": (
        "[{case_id}] Explanation from {employee}: {subject}",
        "{recipient_name}, {employee} sent a written explanation of case {case_id}:\n\n"
        "{quoted}\n\n--\n{center_name}\n",
    ),
    "solved_question": (
        "[{case_id}] Was your issue solved?",
        'Your case {case_id} has been closed. Was your issue solved? Please reply "yes" or '
        '"no". Not to be asked again: reply "stop".\n\n--\n{center_name}\n',
    ),
    "solved_answer": (
        '[{case_id}] The customer answered "was it solved?": {subject}',
        "{recipient_name}, the customer of case {case_id} answered:\n\n{quoted}\n\n"
        "--\n{center_name}\n",
    ),
}


# -- context ---------------------------------------------------------------------------------


def base_context(desk: NoticeDesk, case: Case, lang: str) -> dict[str, Any]:
    """What every mail about a case may say: the acknowledgment's variables and more."""
    owner = desk.book.owners.get(case.owner)
    return {
        "case_id": case.id,
        "category": case.category,
        "category_label": CATEGORY_LABELS.get(lang, {}).get(case.category, case.category),
        "subject": _short(case.subject),
        "customer_name": _short(case.sender_name),
        "customer_email": case.sender,
        "owner_key": case.owner,
        "owner_name": owner.name if owner else case.owner,
        "status": case.status,
        "due_date": format_moment(case.due, lang, desk.book.timezone),
        "received_date": format_moment(case.received, lang, desk.book.timezone),
        "center_name": _center_name(desk),
        "feedback_address": desk.address,
    }


def _staff_context(desk: NoticeDesk, case: Case, to: Owner, now: datetime) -> dict[str, Any]:
    ctx = base_context(desk, case, to.language)
    left = case.due - now
    overdue = left < timedelta(0)
    reply_subject = f"Re: [{case.id}] {ctx['subject']}"
    link = (
        (
            f"mailto:{quote(case.sender, safe='@')}"
            f"?cc={quote(desk.answer_address(case.id), safe='@+')}"
            f"&subject={quote(reply_subject)}"
        )
        if case.sender
        else ""
    )
    return ctx | {
        "answer_address": desk.answer_address(case.id),
        "recipient_name": to.name,
        "overdue": overdue,
        "time_left": "" if overdue else format_duration(left, to.language),
        "overdue_by": format_duration(-left, to.language) if overdue else "",
        "answer_link": link,
    }


def _short(value: str, limit: int = 200) -> str:
    """A header-safe one-liner, capped so a subject built from it stays well inside 998."""
    value = header_safe(value)
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _quote(text: str) -> dict[str, Any]:
    lines = text.strip("\n").split("\n") if text.strip() else []
    shown = [("> " + line).rstrip() for line in lines[:QUOTE_LINES]]
    return {"quoted": "\n".join(shown), "more_lines": max(0, len(lines) - QUOTE_LINES)}


# -- assembly --------------------------------------------------------------------------------


def _staff_mail(
    desk: NoticeDesk,
    case: Case,
    to: Owner,
    template: str,
    ctx: dict[str, Any],
    message_id: str,
    now: datetime,
    in_reply_to: str = "",
    part: EmailMessage | None = None,
) -> EmailMessage:
    rendered = _render(desk, template, to.language, ctx, case.id)
    extra = STAFF_HEADERS | {"Reply-To": desk.reply_address(case.id), "X-Feedbackd-Case": case.id}
    msg = build_mail(
        sender=desk.address,
        sender_name=ctx["center_name"],
        to=email.utils.formataddr((header_safe(to.name), to.email)),
        rendered=rendered,
        message_id=message_id,
        now=now,
        in_reply_to=in_reply_to,
        automatic=False,
        extra_headers=extra,
    )
    if part is not None:
        msg.make_mixed()
        msg.attach(part)
    return msg


def builtin(
    desk: NoticeDesk, name: str, ctx: dict[str, Any], wording: Mapping[str, tuple[str, str]]
) -> Rendered | None:
    """The built-in `wording` of a template the admin's folder does not have (yet): mail must
    not stop at an upgrade because the folder `feedbackd init` wrote lacks a new template."""
    if name not in wording or any(f.startswith(name + ".") for f in desk.templates.sources):
        return None
    subject, text = wording[name]
    return Rendered(header_safe(subject.format(**ctx)), text.format(**ctx))


def _render(desk: NoticeDesk, name: str, lang: str, ctx: dict[str, Any], case_id: str) -> Rendered:
    rendered = builtin(desk, name, ctx, BUILTIN) or desk.templates.render(name, lang, ctx)
    if f"[{case_id}]" in rendered.subject:
        return rendered
    return Rendered(f"[{case_id}] {rendered.subject}".strip(), rendered.text)


def _owner(desk: NoticeDesk, key: str) -> Owner:
    """The case owner; an owner dropped from rules.yaml falls back to the feedback center."""
    return desk.book.owners.get(key) or desk.book.owners[desk.book.center]


def _center_name(desk: NoticeDesk) -> str:
    center = desk.book.owners.get(desk.book.center)
    return center.name if center else desk.address
