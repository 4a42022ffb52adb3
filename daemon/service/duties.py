"""Timed duties: what the clock, not the mailbox, asks of the daemon.

The scheduled digest and the daily move of old records to the archive run here (reminders and
escalations join them, and the method's mail: the employees' explanation requests with their
reminders, and "was it solved?" to the customer of a closed case). Each duty is keyed by its
period in the store's meta table (or recorded on its case) in the same commit as the mail it
queues, so it happens once however often the daemon restarts, and a daemon that was down
catches up at its next tick. Time is an argument: `once --now` previews next week's duties
with the same code. History (mail from before the first run) is
closed on arrival, so it gets no reminder or escalation, and the digest leaves it out; the
digest's first period starts on the day of the first cycle, never in a week before it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon.adapters.storage.archive import all_cases, archive, retention, sent_mail
from daemon.core import cases as lifecycle
from daemon.core.automatic import automatic_counts
from daemon.core.explanations import REQUEST, due_mail
from daemon.core.mail.compose import new_message_id, wire
from daemon.core.mail.method_mail import (
    complaint_part,
    employee,
    explanation_request,
    solved_question,
)
from daemon.core.mail.notices import escalation_mail, reminder_mail
from daemon.core.records import outmail
from daemon.core.reminders import CaseClock, plan_reminders
from daemon.core.report.digest import (
    compose_digest,
    digest_period,
    digest_recipients,
    digest_settings,
    employee_teams,
    previous_period,
)
from daemon.core.report.figures import build_report
from daemon.core.satisfaction import may_ask
from daemon.service.casework import queue
from daemon.service.intake import Desk

log = logging.getLogger("feedbackd.duties")
#: The store's meta key of the first cycle's moment (written by service/cycle's first run).
FIRST_CYCLE = "first_cycle_at"
#: The store's meta key of the moment "was it solved?" was first on: closes before it are not
#: asked, so an upgrade never mails the customers of cases closed weeks ago.
SOLVED_SINCE = "solved_questions_since"


def run_duties(desk: Desk, db: Path | None, now: datetime) -> list[str]:
    """Do whatever is due at `now`; returns a line per duty done."""
    done = queue_reminders(desk, now)
    done += queue_explanations(desk, db, now)
    done += queue_solved_questions(desk, now)
    if (line := queue_digest(desk, db, now)) is not None:
        done.append(line)
    if (
        db is not None
        and not desk.store.read_only
        and (line := archive_daily(desk, db, now)) is not None
    ):
        done.append(line)
    desk.store.commit()
    return done


def queue_reminders(desk: Desk, now: datetime) -> list[str]:
    """The reminder ladder and escalations of every open case: each rung once, within working
    hours, recorded on the case with its key in the same commit as its mails."""
    done = []
    for case in desk.store.cases(lifecycle.OPEN):
        category = desk.book.categories.get(case.category)
        if category is None or not (category.reminders or category.escalate):
            continue
        sent = {
            str(e.data.get("key")) for e in case.events if e.what in ("reminder_sent", "escalated")
        }
        clock = CaseClock(case.received, case.due, case.owner, case.status)
        notice = next(
            (str(e.data.get("message_id", "")) for e in case.events if e.what == "owner_notified"),
            "",
        )
        rungs = plan_reminders(clock, category, desk.book, sent, now, desk.calendar)
        for rung in rungs:
            compose = escalation_mail if rung.kind == "escalate" else reminder_mail
            for key in rung.recipients:
                owner = desk.book.owners.get(key)
                if owner is None:
                    continue
                mid = new_message_id(desk.domain)
                mail = compose(
                    desk.notices, case, rung, owner, message_id=mid, now=now, in_reply_to=notice
                )
                queue(desk.store, desk.notices, mail, rung.kind, case.id, owner.email, now)
            case = lifecycle.apply(
                case,
                "escalated" if rung.kind == "escalate" else "reminder_sent",
                now,
                key=rung.key,
                to=list(rung.recipients),
            )
            done.append(f"{rung.kind} {rung.key} for {case.id} to {', '.join(rung.recipients)}")
            log.info(
                "%s %s to %s",
                rung.kind,
                rung.key,
                ", ".join(rung.recipients),
                extra={"case": case.id},
            )
        if rungs:
            desk.store.put_case(case)
    return done


def queue_explanations(desk: Desk, db: Path | None, now: datetime) -> list[str]:
    """The employees' explanation requests and their reminders: each once, recorded on the
    case in the same commit as the mail (daemon.core.explanations)."""
    done = []
    for case in desk.store.cases_with("explanation_asked"):
        owed_mail = due_mail(case, desk.book, desk.calendar, now)
        notice = next(
            (str(e.data.get("message_id", "")) for e in case.events if e.what == "owner_notified"),
            "",
        )
        for item in owed_mail:
            to = employee(case, desk.notices, item.ask.employee)
            sent = sent_mail(desk.store, db, notice) if notice else None
            original = complaint_part(sent, case.id) if sent else None
            mid = new_message_id(desk.domain)
            mail = explanation_request(
                desk.notices,
                case,
                to,
                due=item.ask.due,
                step=item.kind,
                note=item.note,
                original=original if item.kind == REQUEST else None,
                message_id=mid,
                now=now,
                in_reply_to=item.ask.request_id,
            )
            kind = "explanation_request" if item.kind == REQUEST else "explanation_reminder"
            queue(desk.store, desk.notices, mail, kind, case.id, to.email, now)
            case = lifecycle.apply(
                case,
                "explanation_sent" if item.kind == REQUEST else "explanation_reminded",
                now,
                employee=item.ask.employee,
                key=item.key,
                message_id=mid,
            )
            done.append(f"explanation {item.key} for {case.id} to {item.ask.employee}")
            log.info("explanation %s to %s", item.key, item.ask.employee, extra={"case": case.id})
        if owed_mail:
            desk.store.put_case(case)
    return done


def queue_solved_questions(desk: Desk, now: datetime) -> list[str]:
    """Ask "was it solved?" of the customer of each case closed since the feature first ran, once
    per case (daemon.core.satisfaction says who may be asked)."""
    since = desk.store.meta_time(SOLVED_SINCE)
    if since is None:
        desk.store.set_meta_time(SOLVED_SINCE, now)  # closes from before today are not asked
        return []
    done = []
    closed = desk.store.cases_with(
        "closed", without="satisfaction_asked", status=lifecycle.CLOSED, since=since
    )
    for case in closed:
        if not may_ask(case, desk.book, desk.store.meta_time, since, now):
            continue
        ack = next(
            (str(e.data.get("message_id", "")) for e in case.events if e.what == "ack_sent"), ""
        )
        mid = new_message_id(desk.domain)
        mail = solved_question(
            desk.notices, case, case.sender, message_id=mid, now=now, in_reply_to=ack
        )
        queue(desk.store, desk.notices, mail, "solved_question", case.id, case.sender, now)
        case = lifecycle.apply(case, "satisfaction_asked", now, message_id=mid, to=case.sender)
        desk.store.put_case(case)
        done.append(f"asked whether {case.id} was solved")
        log.info("asked the customer whether it was solved", extra={"case": case.id})
    return done


def queue_digest(desk: Desk, db: Path | None, now: datetime) -> str | None:
    settings = digest_settings(desk.book)
    if settings is None:
        return None
    tz = ZoneInfo(desk.book.timezone)
    local = now.astimezone(tz)
    if local.time() < settings.at or (
        settings.every == "weekly" and local.weekday() != 0 and not _missed_week(desk, local)
    ):
        return None
    start, end = digest_period(now, settings.every, desk.book.timezone)
    key = f"digest:{start}:{end}"
    if desk.store.meta_time(key) is not None:
        return None
    if (began := desk.store.meta_time(FIRST_CYCLE)) is not None:  # none before the daemon
        first_day = began.astimezone(tz).date()
        if end < first_day:
            return None
        start = max(start, first_day)
    cases = all_cases(desk.store, db) if db is not None else desk.store.cases()
    book, teams = desk.book, employee_teams(desk.book)
    forward = {name: cat.forward_to for name, cat in book.categories.items()}
    counts = automatic_counts({d["key"]: d["value"] for d in desk.store.docs("meta")})
    cases = list(cases)
    report = build_report(
        cases, start, end, now, book.timezone, forward, False, teams, automatic=counts
    )
    before = previous_period(start, end)
    previous = build_report(
        cases, *before, now, book.timezone, forward, False, teams, automatic=counts
    )
    to = digest_recipients(settings.to or (book.center,), book)
    words = desk.templates.digest
    msg = compose_digest(report, book, now, desk.address, to, previous=previous, words=words)
    desk.store.put_outmail(
        outmail(
            mail_id=str(msg["Message-ID"]),
            kind="digest",
            sender=desk.address,
            to=to,
            raw=wire(msg),
            now=now,
        )
    )
    desk.store.set_meta_time(key, now)
    log.info("digest %s – %s queued for %s", start, end, ", ".join(to))
    return f"digest {start} – {end} to {', '.join(to)}"


def _missed_week(desk: Desk, local: datetime) -> bool:
    """A weekly digest whose Monday passed while the daemon was down still goes out."""
    monday = (local - timedelta(days=local.weekday())).date()
    start = monday - timedelta(days=7)
    return desk.store.meta_time(f"digest:{start}:{start + timedelta(days=6)}") is None


def archive_daily(desk: Desk, db: Path, now: datetime) -> str | None:
    day = now.date()
    if desk.store.meta_day("archived_on") == day:
        return None
    moved = archive(desk.store, db, now, retention(desk.book.policy))
    desk.store.set_meta_day("archived_on", day)
    if moved:
        log.info("moved %d old records to the archive", moved)
    return f"archive: {moved} records moved" if moved else None
