"""One cycle over the mailbox, in the order that loses nothing.

For each batch of new messages: intake (decide + buffer) -> commit (durable) -> file the
originals into their folders -> commit -> send the outbox (on the courier's thread, while the
next batch is read). A crash anywhere repeats only idempotent steps on restart: the ledger
knows every UID it has seen, the outbox knows every mail it owes and whether it may already
have gone, and filing a message twice is a no-op.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from daemon.adapters.imap import Mailbox
from daemon.adapters.smtp import Sender
from daemon.adapters.store import Store
from daemon.service.alerts import queue_alert
from daemon.service.courier import Courier
from daemon.service.duties import run_duties
from daemon.service.intake import QUARANTINE, Desk, intake

log = logging.getLogger("feedbackd.cycle")

BATCH = 100  # messages per commit: one file write per batch, not per message


@dataclass
class CycleReport:
    new: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    filed: int = 0
    remaining: int = 0  # INBOX messages left unprocessed (the backlog) when the cycle ended
    quarantine: int = 0  # messages waiting in the Quarantine folder
    duties: list[str] = field(default_factory=list)  # timed duties done (digest, archive, ...)

    def summary(self) -> str:
        parts = [f"{self.new} new"] + [f"{n} {k}" for k, n in sorted(self.outcomes.items())]
        parts += [f"{self.sent} sent", f"{self.filed} filed"]
        if self.deferred:
            parts.append(f"{self.deferred} deferred")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return ", ".join(parts)


def run_cycle(
    desk: Desk,
    mailbox: Mailbox,
    sender: Sender | None,
    now: datetime,
    hooks: CycleHooks | None = None,
    db: Path | None = None,
) -> CycleReport:
    """One cycle. Without a sender it is a dry run: decide everything, send and move nothing."""
    courier = Courier(desk.store, sender, desk.book.policy) if sender is not None else None
    try:
        return _cycle(desk, mailbox, courier, now, hooks, db)
    finally:
        if courier is not None:
            courier.close()


def _cycle(
    desk: Desk,
    mailbox: Mailbox,
    courier: Courier | None,
    now: datetime,
    hooks: CycleHooks | None,
    db: Path | None,
) -> CycleReport:
    report = CycleReport()
    store = desk.store
    uidvalidity = mailbox.uidvalidity()
    desk.backfill_before = backfill_horizon(desk, now)
    # Whatever a crash left half done: mail owed, originals not yet filed.
    _send(desk, mailbox, courier, now, report, wait=True)
    if courier is not None:
        report.filed += file_messages(store, mailbox, uidvalidity)

    # Further passes pick up what arrived meanwhile, notably the copies of the mail we just
    # sent to our own address, so that a cycle leaves the INBOX settled.
    for _ in range(3 if courier is not None else 1):
        known = store.known_uids(uidvalidity)
        new = [uid for uid in mailbox.inbox_uids() if uid not in known]
        report.remaining = len(new)
        if not new or _ == 2:
            break
        report.new += len(new)
        for i in range(0, len(new), BATCH):
            if hooks and hooks.stop_requested():
                _send(desk, mailbox, courier, now, report, wait=True)
                return report  # SIGTERM: the batch in hand is done; the rest waits for restart
            _batch(desk, mailbox, courier, uidvalidity, new[i : i + BATCH], now, report, hooks)
        _send(desk, mailbox, courier, now, report, wait=True)  # our copies, for the next pass
    report.duties = run_duties(desk, db, now)
    _send(desk, mailbox, courier, now, report, wait=True)
    report.quarantine = mailbox.count(QUARANTINE)
    return report


def backfill_horizon(desk: Desk, now: datetime) -> datetime | None:
    """On a mailbox never seen before, mail older than the horizon is recorded, not answered.

    The horizon is fixed (durably) by the very first cycle, so a crash during the first backlog
    does not turn the rest of it into acknowledgments."""
    store = desk.store
    horizon = store.meta("backfill_before")
    if horizon is None:
        first_run = not store.ledger_entries()
        horizon = (now - desk.book.policy.backfill_older_than).isoformat() if first_run else ""
        store.set_meta("backfill_before", horizon)
        store.commit()
    return datetime.fromisoformat(horizon) if horizon else None


def _batch(
    desk: Desk,
    mailbox: Mailbox,
    courier: Courier | None,
    uidvalidity: int,
    uids: list[int],
    now: datetime,
    report: CycleReport,
    hooks: CycleHooks | None,
) -> None:
    store = desk.store
    for fetched in mailbox.fetch(uids, desk.book.policy.max_message_size):
        result = intake(desk, uidvalidity, fetched, now)
        report.outcomes[result.outcome] += 1
    store.commit()
    if hooks:
        hooks.after_commit()
    if courier is not None:
        report.filed += file_messages(store, mailbox, uidvalidity)
    _send(desk, mailbox, courier, now, report)  # goes out while the next batch is read


class CycleHooks:
    """Points where tests and the service loop look in (watchdog, stop requests)."""

    def after_commit(self) -> None:
        pass

    def stop_requested(self) -> bool:
        return False


def _send(
    desk: Desk,
    mailbox: Mailbox,
    courier: Courier | None,
    now: datetime,
    report: CycleReport,
    wait: bool = False,
) -> None:
    """Start sending what is due; with `wait`, also see it through."""
    if courier is None:
        return
    d = courier.dispatch(mailbox, now)
    if wait:
        d = d + courier.settle()
    for mail in d.gave_up:  # the feedback center hears of every mail refused for good
        if mail.kind != "alert":
            queue_alert(
                desk.store,
                desk.book,
                desk.address,
                f"failed {mail.id}",
                f"the {mail.kind} to {mail.recipients[0]} (case {mail.case_id or '-'}) "
                f"was refused for good: {mail.error}",
                now,
            )
    if d.gave_up:
        desk.store.commit()
    report.sent += d.sent
    report.deferred += d.deferred
    report.failed += d.failed


def file_messages(store: Store, mailbox: Mailbox, uidvalidity: int) -> int:
    """Move every recorded but unfiled message to its folder, then record that it was moved."""
    pending = store.unfiled(uidvalidity)
    if not pending:
        return 0
    by_folder: dict[str, list[int]] = defaultdict(list)
    for entry in pending:
        by_folder[entry.folder].append(entry.uid)
    for folder, uids in by_folder.items():
        mailbox.move(sorted(uids), folder)
    for entry in pending:
        store.put_ledger(replace(entry, filed=True))
    store.commit()
    return len(pending)
