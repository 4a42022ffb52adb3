"""Case changes asked for from the command line: close (with its outcome), reopen, reassign,
note, answer, explain, credit (a thank-you to an employee, where its name was unclear),
reclassify.

One write path either way: when no daemon runs, `feedbackd cases ...` takes the store lock and
calls `apply_request` itself; when one runs, the request travels through the spool
(adapters/spool.py) and the daemon calls the same `apply_request` in `serve`. So a change means
the same thing, is checked the same way and is refused with the same sentence in both cases.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from daemon.adapters.storage import spool
from daemon.adapters.storage.spool import Outcome
from daemon.adapters.storage.store import Store
from daemon.core import cases as lifecycle
from daemon.core.explanations import explanation_due, outstanding
from daemon.core.mail.compose import new_message_id
from daemon.core.mail.staff import NoticeDesk
from daemon.core.outcomes import Refusal, asked_from, settle
from daemon.core.reclassify import first_ack_id, reclassify
from daemon.core.rules import RuleBook
from daemon.core.workdays import calendar_for
from daemon.service.learning import learn_from_cases

#: The bulk action: every case received before a day (and of a category) closed at once.
CLOSE_ALL = "close_all"
#: Moving a case to another category (daemon.core.reclassify): owner, due, maybe a correction.
RECLASSIFY = "reclassify"
ACTIONS: dict[str, lifecycle.EventKind] = {
    "close": "closed",
    "reopen": "reopened",
    "reassign": "reassigned",
    "note": "note",
    "answer": "answered",
    "explain": "explanation_asked",
    "credit": "credited",
}


def apply_request(
    store: Store,
    book: RuleBook,
    req: dict[str, Any],
    now: datetime,
    notices: NoticeDesk | None = None,
) -> Outcome:
    """Validate and apply one request; the caller commits. `notices` (templates and our
    address) is what a reclassification needs to write the customer a correction."""
    if req.get("action") == CLOSE_ALL:
        return close_all(store, book, req, now)
    case = store.case(str(req.get("case", "")))
    if case is None:
        return Outcome(False, f"no case {req.get('case')}")
    action = str(req.get("action", ""))
    if action == RECLASSIFY:
        return _reclassify(store, book, case, req, now, notices)
    if action not in ACTIONS:
        known = ", ".join((*ACTIONS, RECLASSIFY))
        return Outcome(False, f"unknown action {action!r}: use one of {known}")
    data: dict[str, Any] = {}
    if action == "reassign":
        owner = str(req.get("owner", ""))
        if owner not in book.owners:
            return Outcome(
                False, f"unknown owner {owner!r}: use one of {', '.join(sorted(book.owners))}"
            )
        data["owner"] = owner
    if action == "note":
        data["text"] = str(req.get("text", ""))[:2000]
    if action == "answer":
        data["answered_at"] = now.isoformat(timespec="seconds")
    if action == "close":
        asked = asked_from(
            str(req.get("verdict") or ""),
            str(req.get("cause") or ""),
            str(req.get("remedy") or ""),
            [str(e) for e in req.get("employees") or ()],
            str(req.get("complexity") or ""),
        )
        settled = settle(asked, case, book)
        if isinstance(settled, Refusal):
            return Outcome(False, settled.say("en"))
        data.update(settled)
    if action == "explain":
        employee = str(req.get("employee") or "").strip().lower()
        if "@" not in employee:
            return Outcome(False, f"--employee {employee!r} is not an e-mail address")
        if employee in {a.employee for a in outstanding(case)}:
            return Outcome(False, f"{case.id}: an explanation was asked of {employee} already")
        due = explanation_due(book, calendar_for(book), now)
        data |= {"employee": employee, "due": due.isoformat()}
    if action == "credit":
        address = str(req.get("employee") or "").strip().lower()
        person = book.employees.get(address)
        if person is None:
            known = ", ".join(sorted(book.employees)) or "none: add employees: to rules.yaml"
            return Outcome(False, f"{address!r} is not in employees:; use one of {known}")
        if case.category != "thanks":
            return Outcome(False, f"{case.id} is a {case.category}, not a thank-you")
        if any(e.what == "credited" and e.data.get("employee") == address for e in case.events):
            return Outcome(False, f"{case.id}: {address} is credited already")
        data |= {"employee": address, "team": person.team, "name": person.name}
    try:
        new = lifecycle.apply(case, ACTIONS[action], now, who=str(req.get("who", "cli")), **data)
    except lifecycle.IllegalTransition as exc:
        return Outcome(False, str(exc))
    store.put_case(new)
    learn_from_cases(store, (new,))
    said = "".join(f", {k} {v}" for k, v in data.items() if k in ("verdict", "cause", "remedy"))
    if action == "explain":
        said = f", of {data['employee']}, due {data['due']}"
    if action == "credit":
        said = f" to {data['name']} <{data['employee']}>"
    return Outcome(
        True, f"{case.id}: {ACTIONS[action]}{said} (now {new.status}, owner {new.owner})"
    )


def _reclassify(
    store: Store,
    book: RuleBook,
    case: lifecycle.Case,
    req: dict[str, Any],
    now: datetime,
    notices: NoticeDesk | None,
) -> Outcome:
    """The case to `req["category"]`; the correction, if owed, is queued in the same commit."""
    if notices is None:
        return Outcome(False, "reclassify needs the templates and the feedback address")
    desk = NoticeDesk(notices.templates, book, notices.address, notices.secret)
    ack = first_ack_id(case)
    done = reclassify(
        case,
        str(req.get("category", "")),
        desk,
        calendar_for(book),
        now,
        who=str(req.get("who", "cli")),
        new_id=new_message_id(desk.address.rpartition("@")[2]),
        first_ack=store.outmail(ack) if ack else None,
        quiet_until=store.meta_time(f"hard_bounce:{case.sender.lower()}"),
    )
    if done.case is None or done.refused:
        return Outcome(False, done.refused)
    store.put_case(done.case)
    for mail in done.mail:
        store.put_outmail(mail)
    learn_from_cases(store, (done.case,))
    told = (
        "a corrected acknowledgment is queued"
        if done.mail
        else f"no corrected acknowledgment: {done.why_no_correction}"
    )
    return Outcome(
        True,
        f"{case.id}: reclassified {case.category} -> {done.case.category} (owner "
        f"{done.case.owner}, due {done.case.due.isoformat(timespec='minutes')}); {told}",
    )


def close_all(store: Store, book: RuleBook, req: dict[str, Any], now: datetime) -> Outcome:
    """Close every case not yet closed (open or answered) received before `req["before"]`
    (a day in the rules' timezone), of `req["category"]` if given: an event per case, one
    commit (the caller's), so a cleanup after `first_run: triage` is one step to undo or audit."""
    try:
        before = date.fromisoformat(str(req.get("before", "")))
    except ValueError:
        return Outcome(False, f"--before {req.get('before')!r} is not a day like 2026-01-31")
    category = req.get("category") or None
    if category is not None and category not in book.categories:
        known = ", ".join(sorted(book.categories))
        return Outcome(False, f"unknown category {category!r}: use one of {known}")
    zone, who = ZoneInfo(book.timezone), str(req.get("who", "cli"))
    reason = f"bulk close: received before {before}"
    closed = 0
    for case in store.cases():
        if case.status is lifecycle.CLOSED or case.received.astimezone(zone).date() >= before:
            continue
        if category is not None and case.category != category:
            continue
        store.put_case(lifecycle.apply(case, "closed", now, who=who, reason=reason))
        closed += 1
    which = f" of category {category}" if category else ""
    return Outcome(True, f"closed {closed} case(s){which} received before {before}")


def serve(
    store: Store, book: RuleBook, db: Path, now: datetime, notices: NoticeDesk | None = None
) -> int:
    """Apply every request waiting in the spool (the daemon's side); returns how many."""
    return spool.serve(db, lambda req: apply_request(store, book, req, now, notices), store.commit)
