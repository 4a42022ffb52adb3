"""Reclassification: a person moves a case to its right category, and the customer hears the
right thing. Pure: the case, the book, the calendar and `now` in; the case and its mail out.

`feedbackd cases reclassify ID CATEGORY` and the mail command `category complaint` /
`категория жалоба` both come here, so they mean the same. The case takes the new category's
owner (its `owner:` in rules.yaml, else the center) and a due date computed again from the
moment it was RECEIVED under the new category's term: a complaint found among the thanks two
days late is due when a complaint received then would be, not two days later. The trail gets a
`reclassified` event (from, to, owner, due, who).

The customer gets a corrected acknowledgment (template `ack_corrected`) when the first one said
the wrong thing — "Спасибо за добрые слова" sent to a complaint — and only then:

- an acknowledgment was sent for the case (so the loop protection let it through once: a robot,
  a list or a no-reply sender never got one and never gets a correction either);
- its template differs from the new category's, and the new category acknowledges at all;
- no correction was sent for the case before (once per case, however often it moves);
- the case is not closed, not imported history, and the address is not in a hard bounce's
  quiet period.

It goes to the address the first acknowledgment went to, in the customer's thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from daemon.core import cases as lifecycle
from daemon.core.cases import Case
from daemon.core.deadlines import due_at
from daemon.core.mail.outgoing import customer_ack
from daemon.core.mail.staff import NoticeDesk, base_context, builtin
from daemon.core.records import OutMail
from daemon.core.workdays import WorkCalendar

CORRECTED = "ack_corrected"
#: The correction's wording when the admin's templates folder predates it (see notices.builtin).
BUILTIN = {
    CORRECTED: (
        "[{case_id}] A correction to our reply",
        "Hello,\n\nOur previous automatic reply to your message was wrong, and we apologise. "
        "Your message is registered as: {category_label}. It is with {owner_name}; we will get "
        "back to you by {due_date}.\n\nYour case number: {case_id}. To add to it, simply reply "
        "to this mail.\n\n--\n{center_name}\n{feedback_address}\n",
    ),
}


@dataclass(frozen=True)
class Reclassified:
    """The outcome: the case as it becomes and the correction owed (or why nothing changed)."""

    case: Case | None
    mail: tuple[OutMail, ...] = ()
    refused: str = ""  # a sentence for the person who asked; empty when it was done
    why_no_correction: str = ""

    @property
    def done(self) -> bool:
        return self.case is not None and not self.refused


def reclassify(
    case: Case,
    category: str,
    desk: NoticeDesk,
    calendar: WorkCalendar,
    now: datetime,
    *,
    who: str,
    new_id: str,
    first_ack: OutMail | None = None,
    quiet_until: datetime | None = None,
) -> Reclassified:
    """Move `case` to `category`. `first_ack`: the acknowledgment we sent for it (looked up by
    the caller from the `ack_sent` event); `quiet_until`: a hard bounce's quiet period for the
    customer's address; `new_id`: the Message-ID the correction would get."""
    book = desk.book
    if category not in book.categories:
        known = ", ".join(sorted(book.categories))
        return Reclassified(None, refused=f"unknown category {category!r}: use one of {known}")
    if category == case.category:
        return Reclassified(None, refused=f"{case.id} is already {category}")
    old = book.categories.get(case.category)
    new = book.categories[category]
    owner = new.owner or book.center
    due = due_at(case.received, new.deadline, calendar).at
    moved = lifecycle.apply(
        case,
        "reclassified",
        now,
        who=who,
        **{"from": case.category, "to": category, "owner": owner, "due": due.isoformat()},
    )
    why = _no_correction(case, old.template if old else "", new.template, new.acknowledge)
    if not why and first_ack is None:
        why = "the first acknowledgment is no longer in the outbox"
    if not why and quiet_until is not None and quiet_until > now:
        why = "the address bounced hard; quiet until " + quiet_until.isoformat()
    if why or first_ack is None:
        return Reclassified(moved, why_no_correction=why)
    to = customer_of(first_ack, desk.address)
    if not to:
        return Reclassified(moved, why_no_correction="the first acknowledgment had no recipient")
    mail = _correction(desk, moved, to, first_ack.id, new_id, now)
    moved = lifecycle.apply(moved, "ack_corrected", now, message_id=new_id, to=to)
    return Reclassified(moved, (mail,))


def _no_correction(case: Case, old_template: str, new_template: str, acknowledges: bool) -> str:
    """Why the customer is not written to again (empty: a correction is owed)."""
    kinds = {e.what for e in case.events}
    if lifecycle.is_history(case):
        return "imported history: nobody is mailed"
    if "ack_sent" not in kinds:
        return "no acknowledgment was sent for it"
    if "ack_corrected" in kinds:
        return "a correction was sent for it already (once per case)"
    if case.status is lifecycle.CLOSED:
        return "the case is closed"
    if not acknowledges:
        return "the new category is set not to acknowledge"
    if old_template == new_template:
        return "the first acknowledgment said the same"
    return ""


def first_ack_id(case: Case) -> str | None:
    """The Message-ID of the acknowledgment sent for `case`, from its trail."""
    sent = next((e for e in case.events if e.what == "ack_sent"), None)
    return str(sent.data.get("message_id") or "") or None if sent else None


def customer_of(ack: OutMail, ours: str) -> str:
    """Whom an acknowledgment went to: its recipient that is not our own copy."""
    return next((r for r in ack.recipients if r.lower() != ours.lower()), "")


def _correction(
    desk: NoticeDesk, case: Case, to: str, first: str, mid: str, now: datetime
) -> OutMail:
    ctx = base_context(desk, case, case.language)
    rendered = builtin(desk, CORRECTED, ctx, BUILTIN) or desk.templates.render(
        CORRECTED, case.language, ctx
    )
    return customer_ack(
        desk,
        rendered,
        case.id,
        to,
        message_id=mid,
        now=now,
        in_reply_to=case.message_id,
        references=tuple(m for m in (case.message_id, first) if m),
    )
