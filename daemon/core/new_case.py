"""What a new case gets the moment it opens: its record (numbered by the caller, due by its
category's deadline), the customer's acknowledgment, the owner's notice, and the thanks to
whoever earned them.

Triage (daemon.core.triage) decides that a message is a new case and whether it is
acknowledged; this module composes what follows from that, and writes nothing either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage

from daemon.core import cases as lifecycle
from daemon.core.cases import Case
from daemon.core.credit_mail import credit_addresses, credit_thanks
from daemon.core.credits import Credit, credit
from daemon.core.deadlines import due_at
from daemon.core.followups import MetaValue
from daemon.core.frame import Frame, Known
from daemon.core.mail.message import Message
from daemon.core.mail.notices import owner_notice, thanks_forward, thanks_recipients
from daemon.core.mail.outgoing import customer_ack, owed
from daemon.core.mail.policy import Verdict
from daemon.core.mail.staff import base_context
from daemon.core.records import OutMail
from daemon.core.rules import Decision
from daemon.core.throttle import SummaryLine, tell


def skip_reasons(category_acks: bool, verdict: Verdict, backfill: bool) -> tuple[str, ...]:
    if backfill:
        return ("older than the first run's backfill horizon",)
    if not category_acks:
        return ("the category is set not to acknowledge",)
    return verdict.reasons or (verdict.kind,)


def open_case(frame: Frame, msg: Message, decision: Decision, received: datetime, cid: str) -> Case:
    category = frame.book.categories[decision.category]
    return lifecycle.open_case(
        cid,
        category=decision.category,
        owner=decision.owner,
        received=received,
        due=due_at(received, category.deadline, frame.calendar).at,
        sender=msg.from_addr,
        sender_name=msg.from_name,
        subject=msg.subject,
        message_id=msg.message_id,
        language=msg.language,
        rule=decision.rule,
        tags=decision.tags,
    )


def acknowledgment(frame: Frame, msg: Message, case: Case, to: str, now: datetime) -> OutMail:
    """The customer's acknowledgment, in their language, in their thread."""
    book = frame.book
    rendered = frame.notices.templates.render(
        book.categories[case.category].template,
        msg.language,
        base_context(frame.notices, case, case.language),
    )
    return customer_ack(
        frame.notices,
        rendered,
        case.id,
        to,
        message_id=frame.new_id(),
        now=now,
        in_reply_to=msg.message_id,
        references=msg.references,
    )


def on_open(
    frame: Frame,
    known: Known,
    case: Case,
    msg: Message,
    raw: bytes,
    now: datetime,
    claimed: Case | None = None,
    automatic: bool = False,
) -> tuple[Case, tuple[OutMail, ...], Mapping[str, MetaValue]]:
    """A new case: its owner is told (original attached; after the first few from one sender
    in an hour, in the hourly summary); thanks go to whoever earned them: the team, and the
    employees the customer named (daemon.core.credits) with their managers, one mail per
    address. A robot's "thank you" credits nobody.

    An owner who also earned the thanks gets one mail, the thanks, not a new-case notice beside
    it: two mails for one thank-you teach people to ignore the second (its Reply-To still takes
    commands, like every staff mail)."""
    desk, mail = frame.notices, []
    marks: dict[str, MetaValue] = {}
    owner = desk.book.owners.get(case.owner)
    teams = thanks_recipients(case, desk.book) if case.category == "thanks" else ()
    thanked = {team.email.lower() for team in teams}
    found = Credit()
    if case.category == "thanks" and not automatic:
        found = credit(f"{msg.subject}\n{msg.text}", desk.book)
    if owner is not None and owner.email.lower() not in thanked | credit_addresses(
        found, desk.book
    ):
        new, linked = case, claimed.id if claimed else ""

        def notice(mid: str) -> EmailMessage:
            return owner_notice(desk, new, msg, raw, message_id=mid, now=now, linked_case=linked)

        line = SummaryLine(now, "notice", case.id, msg.from_addr, msg.subject)
        told = tell(known, desk, owner, line, notice, kind="notice", now=now, new_id=frame.new_id)
        mail.append(told.mail)
        marks.update(told.meta)
        sent = {"message_id": told.message_id} if told.message_id else {"summary": told.mail.id}
        case = lifecycle.apply(case, "owner_notified", now, to=owner.key, **sent)
    for team in teams:
        mid = frame.new_id()
        thanks = thanks_forward(desk, case, msg, team, message_id=mid, now=now)
        mail.append(owed(desk, thanks, "thanks", case.id, team.email, now))
        if owner is not None and team.email.lower() == owner.email.lower():
            case = lifecycle.apply(case, "owner_notified", now, message_id=mid, to=owner.key)
        case = lifecycle.apply(case, "thanks_forwarded", now, message_id=mid, to=team.key)
    if case.category == "thanks" and not automatic:
        case, forwards = credit_thanks(frame, case, msg, now, thanked, found)
        mail.extend(forwards)
    return case, tuple(mail), marks
