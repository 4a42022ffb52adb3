"""The store's two files as they lie on disk: read strictly, damage told apart from a torn tail.

Why a module of its own: the store (store.py) must never take a damaged file for a smaller
store. A snapshot that is empty or not JSON, or a journal with a bad line before its end, would
otherwise lose the case numbering, the command secret or every commit after the bad line. Here
each file is read once, strictly, into values; the store refuses damage with a `StoreDamaged`
(exit 78: a person must act, systemd must not restart-loop), and `feedbackd store check|repair`
use the same reading to report the damage and to keep every readable record.

Only a torn *tail* of the journal is expected: a commit is one append ending in a newline, so a
crash mid-append leaves bytes after the last newline. Those are cut by the next commit; any
other bad line is damage.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from daemon.adapters.storage.files import StorePaths, atomic_write
from daemon.errors import ConfigError, Problem

TABLES = ("cases", "ledger", "outbox", "meta")
CHECK_HINT = "run `feedbackd store check`, then `feedbackd store repair`"


class StoreDamaged(ConfigError):
    """A store file that cannot be read as it is; a person decides (backup, repair)."""

    def __init__(self, path: Path, message: str, line: int | None = None):
        self.path = path
        super().__init__([Problem(str(path), line, message)])


def check_store_path(path: Path) -> None:
    """Refuse a store path that is a symlink to a file someone else owns (or to nothing):
    whoever owns the target could read or swap the store, command secret included."""
    if not path.is_symlink():
        return
    try:
        owner = path.stat().st_uid
    except FileNotFoundError:
        raise StoreDamaged(
            path,
            f"the store is a symlink to {os.readlink(path)}, which does not exist: "
            "point it at the store or remove the link",
        ) from None
    if owner != os.geteuid():
        raise StoreDamaged(
            path,
            f"the store is a symlink to {os.path.realpath(path)}, owned by uid {owner}, not by "
            f"this user (uid {os.geteuid()}): make the store a file of this user",
        )


def read_snapshot(path: Path, new_store: bool = False) -> dict[str, Any] | None:
    """The snapshot's tables, or None when there is no snapshot (a new store).

    An empty (0-byte) file is refused unless `new_store`: taken as empty, it would silently
    restart the case numbering and make a new command secret."""
    if not path.exists():
        return None
    raw = path.read_bytes()
    if not raw.strip():
        if new_store:
            return None
        raise StoreDamaged(
            path,
            f"the store is empty ({len(raw)} bytes): its cases, case numbering and command "
            "secret would be lost; restore it from a backup, or start anew with "
            "`feedbackd store repair --new-store`",
        )
    try:
        data = json.loads(raw.decode("utf-8"))  # strict UTF-8: a bad byte is damage, told
    except UnicodeDecodeError as exc:
        raise StoreDamaged(
            path, f"the store is damaged (not UTF-8 at byte {exc.start}): restore it from a backup"
        ) from None
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(raw.rstrip()) - 1 or exc.msg.startswith("Unterminated")
        raise StoreDamaged(
            path,
            f"the store is damaged ({'truncated' if cut else 'not JSON'}: {exc.msg} at byte "
            f"{exc.pos} of {len(raw)}): restore it from a backup",
        ) from None
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise StoreDamaged(
            path, "the store is damaged (not a table of tables): restore it from a backup"
        )
    return data


class DurableStorage(Storage):
    """TinyDB's view of the snapshot, read strictly, for loading; the store writes the file
    itself (`snapshot_chunks`). path=None: memory only."""

    def __init__(self, path: str | None = None):
        self.path = path
        self._data = read_snapshot(Path(path)) if path else None

    def read(self) -> dict[str, Any] | None:
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        self._data = data

    def close(self) -> None:
        pass


#: Characters of snapshot text written at once: large enough for few syscalls, small enough
#: that the snapshot never exists as one string (a 10k backlog's outbox was 100+ MB of it).
CHUNK = 1 << 16


def snapshot_chunks(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Iterator[str]:
    """The snapshot file's text, as TinyDB writes it (`{"table":{"1":{...},"2":...},...}`, empty
    tables left out), document by document: byte for byte what `DurableStorage.flush` wrote from
    TinyDB's tables, without TinyDB's copy of every document nor one string per table."""
    parts: list[str] = ["{"]
    size = 0
    first_table = True
    for name, docs in tables.items():
        if not docs:
            continue
        parts.append(("" if first_table else ",") + json.dumps(name) + ":{")
        first_table = False
        for i, doc in enumerate(docs.values(), 1):
            text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
            parts.append(f'{"," if i > 1 else ""}"{i}":{text}')
            size += len(text)
            if size >= CHUNK:
                yield "".join(parts)
                parts, size = [], 0
        parts.append("}")
    parts.append("}")
    yield "".join(parts)


def journal_line(table: str, key: str, doc: dict[str, Any] | None) -> str:
    """One document of a commit as the journal holds it (None: removed)."""
    return json.dumps({"t": table, "k": key, "d": doc}, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Record:
    """One document of one commit: `doc` None means the document was removed."""

    line: int
    table: str
    key: str
    doc: dict[str, Any] | None


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str
    text: str  # the start of the line, for the report


@dataclass
class JournalScan:
    """What the journal holds: its readable records, its bad lines, where a torn tail starts."""

    records: list[Record] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    torn_at: int | None = None  # byte offset of an unfinished last commit
    lines: int = 0


def scan_journal(path: Path) -> JournalScan:
    scan = JournalScan()
    if not path.exists():
        return scan
    offset = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            scan.lines = n
            if not raw.endswith(b"\n"):
                scan.torn_at = offset  # the last commit's append never finished
                break
            offset += len(raw)
            if raw.strip():
                _parse(n, raw, scan)
    return scan


def _parse(n: int, raw: bytes, scan: JournalScan) -> None:
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        entry = json.loads(raw)
    except ValueError as exc:
        scan.bad.append(BadLine(n, f"not JSON: {exc}", text[:120]))
        return
    ok = (
        isinstance(entry, dict)
        and entry.get("t") in TABLES
        and isinstance(entry.get("k"), str)
        and (entry.get("d") is None or isinstance(entry.get("d"), dict))
    )
    if not ok:
        scan.bad.append(BadLine(n, "not a store record", text[:120]))
        return
    scan.records.append(Record(n, entry["t"], entry["k"], entry["d"]))


def refuse_damage(journal: Path, scan: JournalScan) -> None:
    """Stop with one clear line when the journal is damaged before its end."""
    if scan.bad:
        first = scan.bad[0]
        raise StoreDamaged(
            journal,
            f"the journal is damaged ({first.reason[:60]}; {len(scan.bad)} bad line(s) of "
            f"{scan.lines}) and is kept as it is, so no later commit is lost: {CHECK_HINT}",
            first.line,
        )


def check(db: Path) -> tuple[bool, list[str]]:
    """`feedbackd store check`: whether the store opens as it is, and what was found."""
    lines: list[str] = []
    ok = True
    try:
        check_store_path(db)
        data = read_snapshot(db)
        counts = ", ".join(f"{len(t)} {n}" for n, t in (data or {}).items()) or "no documents"
        found = f"a snapshot of {counts}" if data is not None else "no snapshot yet"
        lines.append(f"{db}: {found}")
    except StoreDamaged as exc:
        ok = False
        lines += [str(p) for p in exc.problems]
    journal = StorePaths(db).journal
    scan = scan_journal(journal)
    lines.append(f"{journal}: {len(scan.records)} readable record(s) in {scan.lines} line(s)")
    for bad in scan.bad:
        ok = False
        lines.append(f"{journal}:{bad.line}: {bad.reason}: {bad.text!r}")
    if scan.torn_at is not None:
        lines.append(f"{journal}:{scan.lines}: a torn last commit (cut by the next commit)")
    if scan.bad:
        lines.append("run `feedbackd store repair` to keep every readable record")
    return ok, lines


def repair(db: Path, now: datetime, new_store: bool = False) -> list[str]:
    """`feedbackd store repair`: keep every readable record of the journal, drop its bad
    lines, keep the damaged journal beside it and write a report. With `new_store`, an empty
    snapshot is set aside and the store starts anew from what the journal holds.

    The caller holds the store's lock. Returns the report's lines (also written to a file)."""
    check_store_path(db)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    report = [f"feedbackd store repair of {db} at {now.isoformat(timespec='seconds')}"]
    if db.exists() and read_snapshot(db, new_store) is None:  # empty, and told to start anew
        aside = db.with_name(f"{db.name}.empty-{stamp}")
        os.replace(db, aside)
        report.append(f"the empty snapshot was moved to {aside}; the store starts anew")
    else:
        read_snapshot(db)  # a damaged snapshot is not guessed at: restore it from a backup
    journal = StorePaths(db).journal
    scan = scan_journal(journal)
    if not scan.bad and scan.torn_at is None:
        report.append(f"{journal}: {len(scan.records)} record(s), no damage: nothing to repair")
        return _write_report(db, stamp, report)
    kept = journal.with_name(f"{journal.name}.damaged-{stamp}")
    try:
        os.link(journal, kept)  # the damaged file stays, whole, for whoever investigates
    except OSError:  # a filesystem without hard links: a copy, owner-only like the original
        atomic_write(kept, journal.read_bytes())
    good = (journal_line(r.table, r.key, r.doc) + "\n" for r in scan.records)
    atomic_write(journal, good)
    report.append(
        f"{journal}: kept {len(scan.records)} readable record(s); the damaged journal "
        f"is kept as {kept}"
    )
    report += [f"dropped line {b.line} ({b.reason}): {b.text!r}" for b in scan.bad]
    if scan.torn_at is not None:
        report.append(f"dropped line {scan.lines}: a torn last commit that never completed")
    return _write_report(db, stamp, report)


def _write_report(db: Path, stamp: str, report: list[str]) -> list[str]:
    path = db.with_name(f"{db.name}.repair-{stamp}.txt")
    report.append(f"this report: {path}")
    atomic_write(path, "\n".join(report) + "\n")  # personal data: owner-only
    return report
