"""Replies the method asked for: the employee's explanation, the customer's "was it solved?".

Triage asks here after the owner's commands and before a message would join its case as the
customer writing again. Both are answers to mail we sent, and each is trusted only as far as
it proves itself:

- an explanation counts only when it comes to the explanation address of the request (a token
  bound to the case and to that employee) from that employee's address, and an ask of theirs
  is on the case; anything else to that address is logged and dropped, and the forger is told
  nothing. The text goes into the case's trail and the owner gets it with the mail attached.
- an answer to "was it solved?" counts from a party to the case (the customer) while the
  question waits: "нет" reopens the case to its owner with the customer's words, free text and
  a low score go to the owner, "да" and a good score are recorded, "stop" is remembered for the
  address. No "added to your case" reply goes back: the customer answered a question.

Robots answer neither: an automatic reply to either is kept quietly.
"""

from __future__ import annotations

from datetime import datetime

from daemon.core import cases as lifecycle
from daemon.core.cases import Case
from daemon.core.explanations import outstanding
from daemon.core.followups import Followup, Level, LogLine, MetaValue, NewId
from daemon.core.mail.message import Message
from daemon.core.mail.method_mail import explanation_given, solved_answer
from daemon.core.mail.outgoing import owed
from daemon.core.mail.quoting import split
from daemon.core.mail.staff import NoticeDesk
from daemon.core.records import OutMail
from daemon.core.satisfaction import NO, OPT_OUT, SCORE, STOP, read_answer, waiting
from daemon.core.threads import CaseView, parties
from daemon.core.tokens import parse_explanation_address, valid_explanation

MAX_EXPLANATION = 4000


def explanation_reply(
    known: CaseView,
    desk: NoticeDesk,
    msg: Message,
    raw: bytes,
    now: datetime,
    automatic: bool,
    new_id: NewId,
) -> Followup | None:
    """Mail to an explanation address (None: it is not one)."""
    recipients = (
        *msg.to,
        *msg.cc,
        *msg.headers.get("delivered-to", ()),
        *msg.headers.get("x-original-to", ()),
    )
    found = parse_explanation_address(recipients, desk.address)
    if found is None:
        return None
    case_id, token = found
    if automatic:
        return Followup(case_id)
    case = known.case(case_id)
    sender = msg.from_addr.lower()
    asks = {a.employee: a for a in outstanding(case)} if case is not None else {}
    if (
        case is None
        or not valid_explanation(desk.secret, case_id, sender, token)
        or sender not in asks
    ):
        said = f"explanation refused from {msg.from_addr}: not the employee asked, or no token"
        return Followup(case_id, log=(LogLine(Level.WARNING, said, case_id),))
    late = asks[sender].due < now
    text = split(msg.text).said.strip()[:MAX_EXPLANATION]
    changed = lifecycle.apply(
        case,
        "explanation_given",
        now,
        who=sender,
        message_id=msg.message_id,
        employee=sender,
        text=text,
        late=late,
    )
    mid = new_id()
    notice = explanation_given(desk, changed, msg, raw, late=late, message_id=mid, now=now)
    owner = desk.book.owners.get(case.owner) or desk.book.owners[desk.book.center]
    mail = owed(desk, notice, "explanation_given", case.id, owner.email, now)
    line = LogLine(Level.INFO, f"explanation given by {sender}", case.id)
    return Followup(case.id, changed, (mail,), log=(line,))


def solved_reply(
    desk: NoticeDesk, case: Case, msg: Message, raw: bytes, now: datetime, new_id: NewId
) -> Followup | None:
    """The customer's answer to "was it solved?" (None: no question waits, or not theirs)."""
    if not waiting(case) or msg.from_addr.lower() not in parties(case):
        return None
    answer = read_answer(msg.text)
    changed = lifecycle.apply(
        case,
        "satisfaction",
        now,
        who=msg.from_addr,
        message_id=msg.message_id,
        answer=answer.kind,
        **({"score": answer.score} if answer.kind == SCORE else {}),
        text=answer.text,
    )
    meta: dict[str, MetaValue] = {}
    if answer.kind == STOP:
        meta[OPT_OUT + msg.from_addr.lower()] = now
    reopened = answer.kind == NO and changed.status is lifecycle.CLOSED
    if reopened:
        changed = lifecycle.apply(
            changed, "reopened", now, who=msg.from_addr, reason="the customer says not solved"
        )
    mail: tuple[OutMail, ...] = ()
    if answer.tells_owner:
        owner = desk.book.owners.get(case.owner) or desk.book.owners[desk.book.center]
        mid = new_id()
        notice = solved_answer(
            desk,
            changed,
            msg,
            raw,
            answer=answer.kind,
            score=answer.score,
            reopened=reopened,
            message_id=mid,
            now=now,
        )
        mail = (owed(desk, notice, "solved_answer", case.id, owner.email, now),)
    said = f"answer to 'was it solved?': {answer.kind}" + (" (reopened)" if reopened else "")
    return Followup(case.id, changed, mail, meta, (LogLine(Level.INFO, said, case.id),))
