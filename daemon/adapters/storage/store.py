"""The store: cases, the ingest ledger and the outbox, in TinyDB, durable at every instant.

Why not TinyDB's JSONStorage as is: it rewrites the file in place, so a crash mid-write leaves
half a file, and every single insert rewrites the whole file. Here the documents live in memory;
`commit()` — once per batch of messages — appends the changed documents to a journal and fsyncs
it. Now and then the journal is folded into the TinyDB snapshot, written to a temp file that is
fsynced, renamed over the old one with `os.replace`, and whose folder is fsynced. A crash at any
instant leaves the previous commit or the new one, never a mixture; a commit costs the size of
its change, not of the store. Old records move to the archive (archive.py), so the live store
stays small however long the daemon runs.

`Store(None)` is the in-memory twin used by unit tests; both run the same code.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from daemon.adapters.storage.files import StorePaths, atomic_write
from daemon.adapters.storage.store_disk import (
    DurableStorage,
    check_store_path,
    journal_line,
    refuse_damage,
    scan_journal,
    snapshot_chunks,
)
from daemon.adapters.storage.store_index import StoreIndex
from daemon.core.cases import Case, CaseStatus, case_id
from daemon.core.records import LedgerEntry, OutMail, OutState, optional_moment, parse_stamp, stamp
from daemon.errors import EX_TEMPFAIL, TransientError

log = logging.getLogger("feedbackd.store")


class StoreWriteError(TransientError):
    """A commit could not be written (the disk is full, say): nothing of it was kept, the store
    in memory is again what is on disk, and the next cycle takes the same mail anew."""

    exit_code = EX_TEMPFAIL


_TABLES = ("cases", "ledger", "outbox", "meta")
JOURNAL_MIN = 1 << 20  # bytes of journal before a snapshot is due, at the least
#: The key of a document in its table (the ledger's is "UIDVALIDITY:UID", as LedgerEntry.key).
_KEYS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "cases": lambda d: str(d["id"]),
    "ledger": lambda d: f"{d['uidvalidity']}:{d['uid']}",
    "outbox": lambda d: str(d["id"]),
    "meta": lambda d: str(d["key"]),
}


class Store:
    """Reads come from memory; writes are buffered until `commit()` makes them durable."""

    def __init__(self, path: str | Path | None, read_only: bool = False):
        self.read_only = read_only  # a preview: writes stay in memory, commit() keeps them there
        self.path = str(path) if path else None
        if self.path:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            check_store_path(Path(self.path))
        self._load()

    def _load(self) -> None:
        """Everything in memory, from the snapshot and the journal on disk."""
        # An own symlink is followed: the snapshot is rewritten where the store really lies.
        real = os.path.realpath(self.path) if self.path else None
        self._db = TinyDB(real, storage=DurableStorage)
        self._cases: dict[str, dict[str, Any]] = {}
        self._ledger: dict[str, dict[str, Any]] = {}
        self._outbox: dict[str, dict[str, Any]] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._dirty: dict[str, set[str]] = {t: set() for t in _TABLES}
        self._gone: dict[str, set[str]] = {t: set() for t in _TABLES}  # removed, not committed
        # The documents as the snapshot was parsed (fresh dicts, owned by no one else): taken
        # as they are, not through TinyDB's tables, which copied each one twice on the way.
        tables = self._db.storage.read() or {}
        for name, target in self._sources().items():
            for stored in tables.get(name, {}).values():
                target[_KEYS[name](stored)] = stored
        self._torn_at: int | None = None
        self._release_snapshot()
        self._replay()
        self._index = StoreIndex.build(self._sources())  # from the documents, every load
        self._by_mid: dict[str, str] = {}  # Message-ID -> ledger key
        for key, doc in self._ledger.items():
            if doc["message_id"]:
                self._by_mid.setdefault(doc["message_id"], key)
        self._acks: dict[str, list[str]] = {}  # recipient -> times we acknowledged them
        for doc in self._outbox.values():
            self._index_ack(doc)
        self._thread: dict[str, str] = {}  # Message-ID (theirs or ours) -> case id
        for doc in self._cases.values():
            for mid in doc.get("thread", ()):
                self._thread[mid] = doc["id"]

    # -- reads --------------------------------------------------------------------------------

    def ledger(self, uidvalidity: int, uid: int) -> LedgerEntry | None:
        doc = self._ledger.get(f"{uidvalidity}:{uid}")
        return LedgerEntry.from_doc(doc) if doc else None

    def ledger_by_message_id(self, message_id: str) -> LedgerEntry | None:
        key = self._by_mid.get(message_id) if message_id else None
        return LedgerEntry.from_doc(self._ledger[key]) if key else None

    def known_uids(self, uidvalidity: int) -> set[int]:
        return set(self._index.uids(uidvalidity))

    def unseen(self, uidvalidity: int, uids: list[int]) -> list[int]:
        """The UIDs of `uids` the ledger does not know, in their order: what a cycle takes in.
        Costs the length of `uids`, not of the ledger."""
        known = self._index.uids(uidvalidity)
        return [uid for uid in uids if uid not in known]

    def unfiled(self, uidvalidity: int) -> list[LedgerEntry]:
        return [LedgerEntry.from_doc(self._ledger[k]) for k in self._index.unfiled(uidvalidity)]

    def ledger_entries(self) -> list[LedgerEntry]:
        return [LedgerEntry.from_doc(d) for d in self._ledger.values()]

    def case(self, cid: str) -> Case | None:
        doc = self._cases.get(cid)
        return Case.from_doc(doc) if doc else None

    def case_for_message_id(self, message_id: str) -> Case | None:
        cid = self._thread.get(message_id)
        return self.case(cid) if cid else None

    def cases(self, *statuses: CaseStatus) -> list[Case]:
        """All live cases, or those in these states (filtered before they are built)."""
        if not statuses:
            return [Case.from_doc(d) for d in self._cases.values()]
        return [Case.from_doc(self._cases[k]) for k in self._index.with_status(statuses)]

    def cases_with(
        self,
        event: str,
        *,
        without: str = "",
        status: CaseStatus | None = None,
        since: datetime | None = None,
    ) -> list[Case]:
        """Live cases with an `event` in their trail and none `without` (in `status`, the last
        `event` at or after `since`), chosen on the documents before any case is built: a
        clock duty that looks for a few cases each cycle must not build every case there is."""
        out = []
        for doc in self._cases.values():
            if status is not None and doc["status"] != status:
                continue
            whats = [e["what"] for e in doc.get("events", ())]
            if event not in whats or (without and without in whats):
                continue
            if since is not None:
                last = next(e for e in reversed(doc["events"]) if e["what"] == event)
                if parse_stamp(last["at"], f"{doc.get('id')} {event}") < since:
                    continue
            out.append(Case.from_doc(doc))
        return out

    def outbox(self, *states: OutState) -> list[OutMail]:
        """All live mail, or the mail in these states (from the index: the cost follows the
        mail in those states, not the outbox)."""
        if not states:
            return [OutMail.from_doc(d) for d in self._outbox.values()]
        return [OutMail.from_doc(self._outbox[k]) for k in self._index.in_states(states)]

    def sent_with_text(self) -> list[OutMail]:
        """Sent mail that still holds its text: what `archive.shed_sent_text` moves out."""
        return [OutMail.from_doc(self._outbox[k]) for k in self._index.sent_texts()]

    def outmail(self, mail_id: str) -> OutMail | None:
        doc = self._outbox.get(mail_id)
        return OutMail.from_doc(doc) if doc else None

    def ack_times(self, recipient: str) -> list[datetime]:
        """When we acknowledged this address (the policy's rate limits read these)."""
        return [parse_stamp(t, "acknowledgment time") for t in self._acks.get(recipient, ())]

    def meta(self, key: str, default: Any = None) -> Any:
        doc = self._meta.get(key)
        return doc["value"] if doc else default

    def meta_time(self, key: str) -> datetime | None:
        """A time kept in the meta table (when an alert last went out, when mail last came),
        parsed as the records parse theirs, so callers compare instants, never ISO text.
        None when the key was never set or holds "" ("not yet", the format's empty value);
        `meta(key) is None` tells the two apart where that matters."""
        value = self.meta(key)
        return parse_stamp(value, f"meta {key}") if value else None

    def meta_day(self, key: str) -> date | None:
        """A calendar day kept in the meta table ("YYYY-MM-DD"), e.g. the last archive run."""
        value = self.meta(key)
        return date.fromisoformat(value) if value else None

    # -- writes (buffered until commit) ---------------------------------------------------------

    def next_case_id(self, year: int) -> str:
        n = int(self.meta(f"case_seq:{year}", 0)) + 1
        self.set_meta(f"case_seq:{year}", n)
        return case_id(year, n)

    def set_meta(self, key: str, value: Any) -> None:
        self._put("meta", key, {"key": key, "value": value}, self._meta)

    def set_meta_time(self, key: str, at: datetime | None) -> None:
        """Keep a time under `key`, written as every time in the store is written
        (`isoformat(timespec="seconds")`, with its offset; None as ""). A naive time is refused
        here, not when a later reader compares it with an aware one."""
        self.set_meta(key, stamp(optional_moment(at, f"meta {key}")))

    def set_meta_day(self, key: str, day: date) -> None:
        """Keep a calendar day; a datetime is refused (its isoformat is not a day)."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"meta {key} must be a date, not {day!r}")
        self.set_meta(key, day.isoformat())

    def put_case(self, case: Case) -> None:
        self._put("cases", case.id, case.to_doc(), self._cases)
        for mid in case.thread:
            self._thread[mid] = case.id

    def update_case(self, cid: str, change: Callable[[Case], Case]) -> Case:
        """The one write path of a case mutation: read the case, apply a pure change (e.g.
        `lambda c: cases.apply(c, "closed", now)`), buffer the result for the next commit.
        A change that raises leaves the store as it was; KeyError if there is no such case."""
        case = self.case(cid)
        if case is None:
            raise KeyError(f"no case {cid}")
        new = change(case)
        if new.id != cid:
            raise ValueError(f"a change of {cid} returned the case {new.id}")
        self.put_case(new)
        return new

    def put_ledger(self, entry: LedgerEntry) -> None:
        self._put("ledger", entry.key, entry.to_doc(), self._ledger)
        if entry.message_id:
            self._by_mid.setdefault(entry.message_id, entry.key)

    def put_outmail(self, mail: OutMail) -> None:
        doc = mail.to_doc()
        if mail.id not in self._outbox:
            self._index_ack(doc)
        self._put("outbox", mail.id, doc, self._outbox)
        if mail.case_id:
            self._thread.setdefault(mail.id, mail.case_id)

    def update_outmail(self, mail: OutMail, **changes: Any) -> OutMail:
        new = replace(mail, **changes)
        self.put_outmail(new)
        return new

    def _index_ack(self, doc: dict[str, Any]) -> None:
        if doc["kind"] == "ack" and doc["recipients"]:
            self._acks.setdefault(doc["recipients"][0], []).append(doc["created"])

    def _put(
        self, table: str, key: str, doc: dict[str, Any], target: dict[str, dict[str, Any]]
    ) -> None:
        self._index.put(table, key, target.get(key), doc)
        target[key] = doc
        self._dirty[table].add(key)
        self._gone[table].discard(key)

    def remove(self, table: str, keys: list[str]) -> None:
        """Drop documents from the live store (the archive keeps them); buffered like writes."""
        target = self._sources()[table]
        for key in keys:
            doc = target.pop(key, None)
            if doc is None:
                continue
            self._dirty[table].discard(key)
            self._gone[table].add(key)
            self._index.drop(table, key, doc)
            if table == "cases":
                for mid in doc.get("thread", ()):
                    self._thread.pop(mid, None)
            elif table == "ledger" and self._by_mid.get(doc["message_id"]) == key:
                del self._by_mid[doc["message_id"]]
            elif table == "outbox":
                self._thread.pop(key, None)
                times = self._acks.get(doc["recipients"][0] if doc["recipients"] else "", [])
                if doc["kind"] == "ack" and doc["created"] in times:
                    times.remove(doc["created"])

    def docs(self, table: str) -> list[dict[str, Any]]:
        """Raw documents of a table, for archiving."""
        return [dict(d) for d in self._sources()[table].values()]

    @property
    def pending(self) -> bool:
        return any(self._dirty.values()) or any(self._gone.values())

    def commit(self) -> None:
        """Make every buffered write durable at once: one journal append + fsync per batch.

        The journal holds whole documents, so replaying it over the snapshot is idempotent; when
        it outgrows the snapshot, the snapshot is rewritten (atomically) and the journal emptied.
        The cost of a commit follows the size of the change, not of the store."""
        if not self.pending or self.read_only:
            return
        if not self.path:
            for changes in (*self._dirty.values(), *self._gone.values()):
                changes.clear()
            return
        sources = self._sources()
        lines = [journal_line(t, k, None) for t, ks in self._gone.items() for k in ks]
        lines += [journal_line(t, k, sources[t][k]) for t, ks in self._dirty.items() for k in ks]
        try:
            self._append(lines)
        except OSError as exc:
            self._load()  # memory is what is on disk again: nothing unwritten is sent or moved
            raise StoreWriteError(
                f"the store {self.path} could not be written ({exc.strerror or exc}): this "
                f"batch was not kept; make room in {Path(self.path).parent}, it is taken "
                "again by itself"
            ) from exc
        for changes in (*self._dirty.values(), *self._gone.values()):
            changes.clear()

    def _append(self, lines: list[str]) -> None:
        """One commit: the journal grows by whole lines, or (on an error) not at all."""
        assert self.path
        if not os.path.exists(self.path):
            self.snapshot()  # the first commit writes the snapshot itself
            return
        if self._torn_at is not None:
            os.truncate(self.journal, self._torn_at)
            self._torn_at = None
        fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            before = os.fstat(fd).st_size
            # Unbuffered: a buffered file would write what it still holds when it is closed,
            # after the truncation below, and leave the torn end of this commit in the journal.
            rest = memoryview(("\n".join(lines) + "\n").encode("utf-8"))
            try:
                while rest:
                    rest = rest[os.write(fd, rest) :]
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, before)  # no half commit for the next one to append behind
                raise
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size > max(JOURNAL_MIN, os.path.getsize(self.path)):
            try:
                self.snapshot()
            except OSError as exc:  # the commit is durable in the journal; fold it later
                log.warning("the store's snapshot was not rewritten (retried later): %s", exc)

    @property
    def journal(self) -> str:
        assert self.path, "the in-memory twin keeps no journal"
        return str(StorePaths(Path(self.path)).journal)

    def snapshot(self) -> None:
        """Write every live document to the TinyDB file (atomically), then empty the journal.
        Streamed document by document (store_disk.snapshot_chunks): folding a large store no
        longer holds it twice in memory, as TinyDB's tables and as one JSON string per table."""
        if not self.path or self.read_only:
            return
        atomic_write(os.path.realpath(self.path), snapshot_chunks(self._sources()))
        if os.path.exists(self.journal):  # a crash before this only means a longer replay
            fd = os.open(self.journal, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _release_snapshot(self) -> None:
        """The live documents are held once, in this class: TinyDB's copy, read on load, is
        dropped (the snapshot is written from this class's documents)."""
        storage = self._db.storage
        if isinstance(storage, DurableStorage) and self.path:
            storage._data = None
            self._db.clear_cache()

    def _replay(self) -> None:
        """The commits since the snapshot. A torn last line is a commit that never completed
        (the next commit cuts it off); a bad line before the end is damage: refused, the file
        kept as it is for `feedbackd store check|repair`, never truncated behind it."""
        if not self.path or not os.path.exists(self.journal):
            return
        scan = scan_journal(Path(self.journal))
        refuse_damage(Path(self.journal), scan)
        sources = self._sources()
        for record in scan.records:
            if record.doc is None:
                sources[record.table].pop(record.key, None)
            else:
                sources[record.table][record.key] = record.doc
        self._torn_at = scan.torn_at

    def _sources(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            "cases": self._cases,
            "ledger": self._ledger,
            "outbox": self._outbox,
            "meta": self._meta,
        }

    def close(self) -> None:
        self.commit()
        self._db.close()

    @classmethod
    def preview(cls, path: str | Path) -> Store:
        """The store as it is, for a dry run: nothing will be written back."""
        return cls(path if Path(path).exists() else None, read_only=True)
