"""Retention: the live store holds open and recent work; history lives in append-only archives.

TinyDB keeps a whole table in memory and rewrites its file on every commit, so a store that
grew forever would slow every cycle and every restart. Closed cases older than the retention
period, sent mail and filed ledger entries older than theirs move to STORE.archive/*.jsonl —
one JSON document per line, appended and fsynced *before* they leave the live store, so a crash
in between leaves a duplicate line (readers keep the last), never a gap. Reports read both.
`purge` removes personal data from archived cases and keeps everything that is counted.

Sent mail's text (`raw`, most of the live store's bytes: an owner notice carries the original)
is needed only until the mail is sent: nothing reads or resends a sent mail. So `shed_sent_text`,
run by the cycle after every batch's mail went out, appends each sent mail whole to the archive
and then keeps it in the live store without its text (`raw` ""); when the mail itself is
archived later, that whole line is already there and no second line is written. A 10k backlog
no longer leaves 150 MB of mail text live (and in memory) for `keep_sent`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from daemon.adapters.storage.files import StorePaths, atomic_write
from daemon.adapters.storage.store import Store
from daemon.core.cases import CLOSED, Case
from daemon.core.learning import WORDS_KEY
from daemon.core.progress import Progress, Reporter, Silent, silent
from daemon.core.records import OutMail, aware, parse_optional_stamp, parse_stamp
from daemon.core.rules.model import PolicySettings

log = logging.getLogger("feedbackd.archive")

PERSONAL = ("sender", "sender_name", "subject")
PURGED = "(purged)"


@dataclass(frozen=True)
class Retention:
    closed_cases: timedelta = timedelta(days=90)  # after the case was closed
    sent_mail: timedelta = timedelta(days=30)  # after it was sent (or failed)
    ledger: timedelta = timedelta(days=30)  # after the message was filed


@contextmanager
def _locked(db: Path) -> Iterator[None]:
    """The daemon appends while `purge` rewrites: one at a time."""
    folder = StorePaths(db).archive
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _append(path: Path, docs: list[dict[str, Any]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        for doc in docs:
            f.write(_line(doc))
        f.flush()
        os.fsync(f.fileno())


def _line(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def retention(policy: PolicySettings) -> Retention:
    return Retention(policy.keep_closed, policy.keep_sent, policy.keep_ledger)


def _older(text: str, cut: datetime, what: str) -> bool:
    """Is the stamp before the cut-off instant? Compared as instants: stamps carry whatever
    offset they were written with (the mail server's, UTC), and as text `01:00+03:00` sorts
    after `23:00+00:00` of the day before although it is an hour earlier. A record without a
    time (written by a test, or before times were kept) is old: it was always archived."""
    at = parse_optional_stamp(text, what)
    return at is None or at < cut


def shed_sent_text(store: Store, db: Path, now: datetime) -> int:
    """Move the text of mail already sent out of the live store (module docstring); returns
    how many mails. The whole mail is in the archive, fsynced, before its text leaves the
    store; a crash in between only writes its line twice. An archive that cannot be written
    (a full disk) keeps the text live, for the next try: the mail went out, nothing waits on
    this, so it must not stop the cycle."""
    mails = [] if store.read_only else store.sent_with_text()
    if not mails:
        return 0
    try:
        with _locked(db):
            _append(StorePaths(db).archive / f"outbox-{now:%Y}.jsonl", [m.to_doc() for m in mails])
    except OSError as exc:
        log.warning("sent mail's text stays in the store for now (archive: %s)", exc)
        return 0
    for mail in mails:
        store.update_outmail(mail, raw="")
    store.commit()
    return len(mails)


def sent_mail(store: Store, db: Path | None, message_id: str) -> OutMail | None:
    """Our mail `message_id` with its text: from the live store, or, once its text went to the
    archive (shed_sent_text), from there. For the rare reader of an old mail's text (the
    complaint attached to an employee's explanation request): a scan of the year files."""
    mail = store.outmail(message_id)
    if mail is None or mail.raw or db is None:
        return mail
    for path in sorted(StorePaths(db).archive.glob("outbox-*.jsonl"), reverse=True):
        for doc in _lines(path):
            if doc.get("id") == message_id and doc.get("raw"):
                return replace(mail, raw=str(doc["raw"]))
    return mail


def _shed(doc: dict[str, Any]) -> bool:
    """Sent mail whose text already went to the archive, whole (shed_sent_text)."""
    return doc["state"] == "sent" and not doc["raw"]


def archive(store: Store, db: Path, now: datetime, keep: Retention = Retention()) -> int:
    """Move what is old out of the live store; returns how many documents moved."""
    moved = 0
    now = aware(now, "now")
    old_cases = [
        d
        for d in store.docs("cases")
        if d["status"] == CLOSED
        and d["events"]
        and _older(d["events"][-1]["at"], now - keep.closed_cases, f"{d['id']} event")
    ]
    old_mail = [
        d
        for d in store.docs("outbox")
        if d["state"] in ("sent", "failed")
        and _older(d["sent_at"] or d["created"], now - keep.sent_mail, f"mail {d['id']}")
    ]
    old_ledger = [
        d
        for d in store.docs("ledger")
        if d["filed"] and _older(d["at"], now - keep.ledger, "ledger at")
    ]
    for table, docs, key in (
        ("cases", old_cases, lambda d: d["id"]),
        ("outbox", old_mail, lambda d: d["id"]),
        ("ledger", old_ledger, lambda d: f"{d['uidvalidity']}:{d['uid']}"),
    ):
        if not docs:
            continue
        whole = [d for d in docs if table != "outbox" or not _shed(d)]  # shed: archived already
        if whole:
            with _locked(db):
                _append(StorePaths(db).archive / f"{table}-{now:%Y}.jsonl", whole)
        store.remove(table, [key(d) for d in docs])
        moved += len(docs)
    # A case's words wait for the lesson its correction would teach; an archived case is
    # corrected no more, and its words are not kept (nor archived: `purge` could not blank them).
    store.remove("meta", [WORDS_KEY.format(d["id"]) for d in old_cases])
    store.commit()
    if moved:
        store.snapshot()  # a smaller live store now: rewrite the snapshot, empty the journal
    return moved


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _case_files(db: Path) -> list[Path]:
    return sorted(StorePaths(db).archive.glob("cases-*.jsonl"))


def _count_lines(paths: list[Path]) -> int:
    """Lines in the archive files, counted in bytes before they are parsed: the total a
    progress report needs costs a fraction of the reading it announces."""
    total = 0
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                total += chunk.count(b"\n")
    return total


def archived_cases(db: Path, progress: Reporter = silent) -> list[Case]:
    """Every archived case once (the last copy wins: a crash may have written one twice)."""
    files = _case_files(db)
    shown = progress(_count_lines(files), "archived cases read", "case") if files else Silent()
    found: dict[str, dict[str, Any]] = {}
    try:
        for path in files:
            for doc in _lines(path):
                found[doc["id"]] = doc
                shown.advance()
    finally:
        shown.close()
    return [Case.from_doc(d) for d in found.values()]


def all_cases(store: Store, db: Path, progress: Reporter = silent) -> list[Case]:
    """Live and archived cases, for reports (a case is live or archived, never both)."""
    live = {c.id: c for c in store.cases()}
    return list(live.values()) + [c for c in archived_cases(db, progress) if c.id not in live]


def purge(db: Path, before: date, tz: str | tzinfo, progress: Reporter = silent) -> int:
    """Blank names, addresses, subjects and message texts of archived cases received before
    the day `before`; counts, categories, owners, rules and dates stay for the reports.

    The day is a calendar day in `tz`, the rules' timezone: the same day a report puts the
    case in, so "before 2026-01-01" purges exactly the cases the reports up to 2025 count.
    (It used to be the date written in the stamp, in whichever offset the stamp carried —
    the same day only while every stamp was written in the rules' timezone.)"""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    with _locked(db):
        return _purge(db, before, zone, progress)


def _purge(db: Path, before: date, zone: tzinfo, progress: Reporter) -> int:
    purged = 0
    files = _case_files(db)
    shown = progress(_count_lines(files), "archived cases looked at", "case") if files else Silent()
    try:
        for path in files:
            purged += _purge_file(path, before, zone, shown)
    finally:
        shown.close()
    return purged


def _purge_file(path: Path, before: date, zone: tzinfo, shown: Progress) -> int:
    purged = 0
    docs = list(_lines(path))
    for doc in docs:
        shown.advance()
        received = parse_stamp(doc["received"], f"{doc['id']} received")
        if received.astimezone(zone).date() < before and doc["sender"] != PURGED:
            for key in PERSONAL:
                doc[key] = PURGED
            for event in doc["events"]:
                for k in ("text", "diagnostic", "recipient"):
                    if k in event["data"]:
                        event["data"][k] = PURGED
            purged += 1
    atomic_write(path, (_line(doc) for doc in docs))  # personal data: owner-only
    return purged
