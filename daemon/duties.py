"""Timed duties: what the clock, not the mailbox, asks of the daemon.

The scheduled digest and the daily move of old records to the archive run here (reminders and
escalations join them). Each duty is keyed by its period in the store's meta table and recorded
in the same commit as the mail it queues, so it happens once however often the daemon restarts,
and a daemon that was down catches up at its next tick. Time is an argument: `once --now`
previews next week's duties with the same code.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from .archive import all_cases, archive, retention
from .digest import compose_digest, digest_period, digest_recipients, digest_settings
from .intake import Desk
from .report import build_report
from .store import OutMail

log = logging.getLogger("feedbackd.duties")


def run_duties(desk: Desk, db: Path | None, now: datetime) -> list[str]:
    """Do whatever is due at `now`; returns a line per duty done."""
    done = []
    if (line := queue_digest(desk, db, now)) is not None:
        done.append(line)
    if db is not None and not desk.store.read_only:
        if (line := archive_daily(desk, db, now)) is not None:
            done.append(line)
    desk.store.commit()
    return done


def queue_digest(desk: Desk, db: Path | None, now: datetime) -> str | None:
    settings = digest_settings(desk.book)
    if settings is None:
        return None
    tz = ZoneInfo(desk.book.timezone)
    local = now.astimezone(tz)
    if local.time() < settings.at or (settings.every == "weekly" and local.weekday() != 0
                                      and not _missed_week(desk, local)):
        return None
    start, end = digest_period(now, settings.every, desk.book.timezone)
    key = f"digest:{start}:{end}"
    if desk.store.meta(key):
        return None
    cases = all_cases(desk.store, db) if db is not None else desk.store.cases()
    report = build_report(cases, start, end, now, desk.book.timezone)
    to = digest_recipients(settings.to or (desk.book.center,), desk.book)
    msg = compose_digest(report, desk.book, now, desk.address, to)
    desk.store.put_outmail(OutMail(
        id=str(msg["Message-ID"]), case_id=None, kind="digest", sender=desk.address,
        recipients=to + (desk.address,), raw=msg.as_string(),
        created=now.isoformat(timespec="seconds"), next_try=now.isoformat(timespec="seconds")))
    desk.store.set_meta(key, now.isoformat(timespec="seconds"))
    log.info("digest %s – %s queued for %s", start, end, ", ".join(to))
    return f"digest {start} – {end} to {', '.join(to)}"


def _missed_week(desk: Desk, local: datetime) -> bool:
    """A weekly digest whose Monday passed while the daemon was down still goes out."""
    monday = (local - timedelta(days=local.weekday())).date()
    start = monday - timedelta(days=7)
    return not desk.store.meta(f"digest:{start}:{start + timedelta(days=6)}")


def archive_daily(desk: Desk, db: Path, now: datetime) -> str | None:
    day = now.date().isoformat()
    if desk.store.meta("archived_on") == day:
        return None
    moved = archive(desk.store, db, now, retention(desk.book.policy))
    desk.store.set_meta("archived_on", day)
    if moved:
        log.info("moved %d old records to the archive", moved)
    return f"archive: {moved} records moved" if moved else None
