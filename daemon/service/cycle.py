"""One cycle over the mailbox, as named passes in the order that loses nothing.

`PASSES` is that order, run one after the other, with a look at the stop request between them:

1. `recover_owed_mail`: send what a crash left owed (or sending: our copy says whether it went).
2. `file_unfiled`: move the originals recorded but not yet filed into their folders.
3. `intake_new`: read the INBOX in batches. Each batch: intake (decide + buffer) -> commit
   (durable) -> send its mail (on the courier's thread, so an acknowledgment does not wait for
   the filing) -> file the originals -> commit -> the next batch. The text of the mail that
   went out moves to the archive, so a backlog's mail does not pile up in memory. A second
   read takes what arrived meanwhile, notably the copies of the mail just sent to our own
   address, so that a cycle leaves the INBOX settled; a last look counts the backlog left. A
   submission server that queues (Postfix, Exchange) answers before our copies are in the
   INBOX, so before the second read the cycle waits for the copies on their way (core/copies),
   at most COPY_WAIT; the backlog's count says how many of it those copies may be, and the gap
   alert leaves them out. A stop request is honoured between batches.
4. `timed_duties`: reminders, escalations, the digest, the archive (each keyed by its period).
5. `send_owed`: send what the duties queued, and see it through.
6. `count_quarantine`: how many messages wait in the Quarantine folder.

Every pass is idempotent, so a crash anywhere repeats only idempotent steps on restart: the
ledger knows every UID it has seen, the outbox knows every mail it owes and whether it may
already have gone, and filing a message twice is a no-op. A folder the server will not create
(or cannot spell) leaves its messages in INBOX, unfiled, with one log line and an alert to the
feedback center (at most every ALERT_EVERY); the other folders are filed and the cycle goes
on, and every cycle tries that folder again. Without a sender the cycle is a dry
run: passes that send or move do nothing, and the INBOX is read once.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from daemon.adapters.storage.archive import shed_sent_text
from daemon.adapters.storage.store import Store
from daemon.core.copies import copies_on_their_way, unexplained
from daemon.core.folders import FolderUnavailable
from daemon.core.progress import Progress, Reporter, Silent
from daemon.core.records import OutMail, OutState
from daemon.service.alerts import ALERT_EVERY, queue_alert
from daemon.service.duties import FIRST_CYCLE, run_duties
from daemon.service.intake import QUARANTINE, Desk, intake
from daemon.service.outbox import Courier
from daemon.service.pacing import Pacer
from daemon.service.ports import NO_HOOKS, CycleHooks, MailboxPort, SenderPort
from daemon.service.progress import reporter

log = logging.getLogger("feedbackd.cycle")

BATCH = 100  # messages per commit: one file write per batch, not per message
#: The first batch of a backlog larger than BATCH; each next one twice the last, up to BATCH.
#: The first mail goes out once this many are decided, not a whole BATCH: the SMTP thread
#: sends while the cycle takes the next, larger batch (a batch takes about half as long to
#: decide as to send). Up to BATCH messages stay one batch, so a burst's acknowledgments all
#: go before any of its staff mail (send_order within a batch).
FIRST_BATCH = 10
LOOKS = 3  # reads of the INBOX with a sender: two intakes (the 2nd takes our copies), one count
COPY_WAIT = 5.0  # seconds a cycle waits for copies a queueing server still holds (Postfix: <0.5)
COPY_POLL = 0.1  # how often it looks meanwhile


@dataclass
class CycleReport:
    new: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    filed: int = 0
    remaining: int = 0  # INBOX messages left unprocessed (the backlog) when the cycle ended
    on_their_way: int = 0  # copies of our mail that may still be queued when it ended
    quarantine: int = 0  # messages waiting in the Quarantine folder
    duties: list[str] = field(default_factory=list)  # timed duties done (digest, archive, ...)
    login_refused: str = ""  # the SMTP server refused our login: the mail waits (outbox)

    def summary(self) -> str:
        """One line that says what its numbers are: messages by what they turned out to be,
        then the mail that went out and the originals filed."""
        taken = [
            _count(self.outcomes[kind], *words)
            for kind, words in OUTCOME_WORDS.items()
            if self.outcomes.get(kind)
        ]
        head = f"{self.new} new message{'' if self.new == 1 else 's'}"
        sent = [_count(self.sent, "mail sent", "mails sent"), f"{self.filed} filed"]
        if self.deferred and self.login_refused:
            sent.append(f"{self.deferred} waiting: the SMTP server refuses our login")
        elif self.deferred:
            sent.append(f"{self.deferred} deferred")
        if self.failed:
            sent.append(f"{self.failed} failed")
        return f"{head}{': ' + ', '.join(taken) if taken else ''}; {', '.join(sent)}"

    @property
    def gap(self) -> int:
        """The backlog that no copy of ours on its way explains: what the gap alert reports."""
        return unexplained(self.remaining, self.on_their_way)


#: How the summary names each outcome, singular and plural.
OUTCOME_WORDS = {
    "case": ("new case", "new cases"),
    "joined": ("joined its case", "joined their cases"),
    "own": ("our own copy", "our own copies"),
    "command": ("owner command", "owner commands"),
    "explanation": ("employee's explanation", "employees' explanations"),
    "bounce": ("bounce of our mail", "bounces of our mail"),
    "automatic": ("automatic mail, no case", "automatic mails, no case"),
    "duplicate": ("duplicate", "duplicates"),
    "history": ("history case", "history cases"),
    "skipped": ("old message skipped", "old messages skipped"),
    "quarantined": ("quarantined", "quarantined"),
}


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass
class Cycle:
    """What every pass of one cycle works on; `courier` is None in a dry run."""

    desk: Desk
    mailbox: MailboxPort
    courier: Courier | None
    now: datetime
    hooks: CycleHooks
    db: Path | None
    uidvalidity: int
    report: CycleReport = field(default_factory=CycleReport)
    stopped: bool = False
    alerted: set[str] = field(default_factory=set)  # folder problems told in this cycle
    progress: Reporter = field(default_factory=lambda: reporter(least=BATCH))

    def stop_requested(self) -> bool:
        """Asked once, remembered: a stop seen inside a pass also ends the passes after it."""
        self.stopped = self.stopped or self.hooks.stop_requested()
        return self.stopped


def run_cycle(
    desk: Desk,
    mailbox: MailboxPort,
    sender: SenderPort | None,
    now: datetime,
    hooks: CycleHooks | None = None,
    db: Path | None = None,
    progress: Reporter | None = None,
    pacer: Pacer | None = None,
) -> CycleReport:
    """One cycle. Without a sender it is a dry run: decide everything, send and move nothing.
    A backlog of more than a batch (a first run) reports its progress (service/progress).
    `pacer` carries the send rate from cycle to cycle (the service keeps one)."""
    courier = Courier(desk.store, sender, desk.book.policy, pacer) if sender is not None else None
    try:
        uidvalidity = mailbox.uidvalidity()
        desk.backfill_before = backfill_horizon(desk, now)
        cycle = Cycle(desk, mailbox, courier, now, hooks or NO_HOOKS, db, uidvalidity)
        if progress is not None:
            cycle.progress = progress
        for i, step in enumerate(PASSES):
            if i and cycle.stop_requested():
                break  # SIGTERM: the pass in hand is done; the rest waits for the restart
            step(cycle)
        return cycle.report
    finally:
        if courier is not None:
            courier.close()


def recover_owed_mail(cycle: Cycle) -> None:
    """Whatever a crash left owed goes out first (a mail maybe sent is looked for first)."""
    _send(cycle, wait=True)


def file_unfiled(cycle: Cycle) -> None:
    """Originals a crash left recorded but unmoved go to their folders."""
    if cycle.courier is not None:
        _file(cycle)


def intake_new(cycle: Cycle) -> None:
    """Every message the ledger has not seen, in batches; then again for what came meanwhile."""
    report = cycle.report
    listed = 0  # the highest UID the last look saw: a copy arriving after it comes above it
    for look in range(LOOKS if cycle.courier is not None else 1):
        if 0 < look < LOOKS - 1:
            _await_copies(cycle, listed)
        uids = cycle.mailbox.inbox_uids()
        listed = max(uids, default=listed)
        new = cycle.desk.store.unseen(cycle.uidvalidity, uids)
        report.remaining = len(new)
        if not new or look == LOOKS - 1:
            if new:
                report.on_their_way = len(_copies_on_their_way(cycle))
            return
        report.new += len(new)
        shown = cycle.progress(len(new), "messages taken in") if look == 0 else Silent()
        try:
            for batch in _batches(new):
                if cycle.stop_requested():
                    _send(cycle, wait=True)
                    return  # the batch in hand is done; the rest waits for the restart
                _batch(cycle, batch, shown)
        finally:
            shown.close()
        _send(cycle, wait=True)  # our copies, for the next look


def _batches(uids: list[int]) -> Iterator[list[int]]:
    """`uids` in one batch when they fit in BATCH, else in batches of FIRST_BATCH, twice
    that, ... up to BATCH each."""
    start, size = 0, FIRST_BATCH if len(uids) > BATCH else BATCH
    while start < len(uids):
        step = max(1, min(BATCH, size))
        yield uids[start : start + step]
        start, size = start + step, size * 2


def _copies_on_their_way(cycle: Cycle, own: bool = False) -> list[OutMail]:
    """Our mail whose copy may still be in the submission server's queue (core/copies); with
    `own`, only the mail this cycle handed over."""
    store = cycle.desk.store
    return copies_on_their_way(
        store.outbox(OutState.SENT, OutState.SENDING),
        _TakenIn(store),
        cycle.now,
        cycle.desk.book.policy.resend_grace,
        since=cycle.now if own else None,
    )


class _TakenIn:
    """The Message-IDs the ledger has taken in, as a container: looked up, never listed."""

    def __init__(self, store: Store):
        self.store = store

    def __contains__(self, message_id: object) -> bool:
        return (
            isinstance(message_id, str) and self.store.ledger_by_message_id(message_id) is not None
        )


def _await_copies(cycle: Cycle, listed: int) -> None:
    """Wait (at most COPY_WAIT) until as many messages have come in above `listed` as copies
    of ours are on their way, so that the next look takes them in and files them in Sent.
    A server that answers only once the mail is delivered has them there already; a cycle
    that sent nothing waits for nothing, and none waits for an earlier cycle's copies."""
    awaited = len(_copies_on_their_way(cycle, own=True)) if cycle.report.sent else 0
    deadline = time.monotonic() + COPY_WAIT
    while awaited and not cycle.stop_requested():
        arrived = sum(1 for uid in cycle.mailbox.inbox_uids() if uid > listed)
        if arrived >= awaited or time.monotonic() >= deadline:
            return
        time.sleep(COPY_POLL)


def timed_duties(cycle: Cycle) -> None:
    """Reminders, escalations, digest and archive: each keyed by its period, so done once."""
    cycle.report.duties = run_duties(cycle.desk, cycle.db, cycle.now)


def send_owed(cycle: Cycle) -> None:
    """The mail the duties queued goes out before the cycle ends."""
    _send(cycle, wait=True)


def count_quarantine(cycle: Cycle) -> None:
    cycle.report.quarantine = cycle.mailbox.count(QUARANTINE)


#: The cycle, in order (see the module docstring for why this order).
PASSES: tuple[Callable[[Cycle], None], ...] = (
    recover_owed_mail,
    file_unfiled,
    intake_new,
    timed_duties,
    send_owed,
    count_quarantine,
)


def backfill_horizon(desk: Desk, now: datetime) -> datetime | None:
    """On a mailbox never seen before, mail older than the horizon is recorded, not answered.

    The horizon is fixed (durably) by the very first cycle, so a crash during the first backlog
    does not turn the rest of it into acknowledgments; what older mail becomes is the rules'
    `first_run` (history, triage or skip). The first cycle's moment is kept too: the digest
    reports nothing from before it."""
    store = desk.store
    if store.meta("backfill_before") is None:  # never decided ("" is decided: no horizon)
        first_run = not store.ledger_entries()
        horizon = now - desk.book.policy.backfill_older_than if first_run else None
        store.set_meta_time("backfill_before", horizon)
        if first_run:
            store.set_meta_time(FIRST_CYCLE, now)
        store.commit()
    return store.meta_time("backfill_before")


def _batch(cycle: Cycle, uids: list[int], shown: Progress) -> None:
    desk, report = cycle.desk, cycle.report
    for fetched in cycle.mailbox.fetch(uids, desk.book.policy.max_message_size):
        result = intake(desk, cycle.uidvalidity, fetched, cycle.now)
        report.outcomes[result.outcome] += 1
        shown.advance()
    desk.store.commit()
    cycle.hooks.after_commit()
    _send(cycle)  # goes out while the originals are filed and the next batch is read
    if cycle.courier is not None:
        _file(cycle)


def _send(cycle: Cycle, wait: bool = False) -> None:
    """Start sending what is due; with `wait`, also see it through."""
    courier, desk, now = cycle.courier, cycle.desk, cycle.now
    if courier is None:
        return
    d = courier.settle()  # what the batch in flight got (dispatch would settle it first too)
    if not (d.login_refused or cycle.report.login_refused):
        d = d + courier.dispatch(cycle.mailbox, now)
        if wait:
            d = d + courier.settle()
    # else the SMTP server refused our login in this cycle: the mail waits for the next one,
    # not tried and counted again at every pass.
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
    cycle.report.sent += d.sent
    cycle.report.deferred += d.deferred
    cycle.report.failed += d.failed
    cycle.report.login_refused = d.login_refused or cycle.report.login_refused
    if cycle.db is not None:  # the text of mail that went out moves to the archive
        shed_sent_text(desk.store, cycle.db, now)


#: A folder the mailbox refused, and how many messages stay in INBOX for it.
Refusal = tuple[FolderUnavailable, int]


def file_messages(
    store: Store, mailbox: MailboxPort, uidvalidity: int, refused: list[Refusal] | None = None
) -> int:
    """Move every recorded but unfiled message to its folder, then record that it was moved.

    A folder the mailbox refuses keeps its messages where they are (unfiled: tried again);
    each refusal is added to `refused` when the caller wants to tell someone."""
    pending = store.unfiled(uidvalidity)
    if not pending:
        return 0
    by_folder: dict[str, list[int]] = defaultdict(list)
    for entry in pending:
        by_folder[entry.folder].append(entry.uid)
    moved: set[str] = set()
    for folder, uids in by_folder.items():
        try:
            mailbox.move(sorted(uids), folder)
        except FolderUnavailable as exc:
            if refused is not None:
                refused.append((exc, len(uids)))
            continue
        moved.add(folder)
    filed = [entry for entry in pending if entry.folder in moved]
    for entry in filed:
        store.put_ledger(replace(entry, filed=True))
    store.commit()
    return len(filed)


def _file(cycle: Cycle) -> None:
    """File what is owed; say once (and mail the center) which folder the server refused."""
    desk = cycle.desk
    refused: list[Refusal] = []
    cycle.report.filed += file_messages(desk.store, cycle.mailbox, cycle.uidvalidity, refused)
    for exc, count in refused:
        kind = f"folder {exc.folder}"
        if kind in cycle.alerted:
            continue
        cycle.alerted.add(kind)
        log.error("%s; %d messages stay in INBOX", exc, count)
        last = desk.store.meta_time(f"alert:{kind}")
        if last is None or last <= cycle.now - ALERT_EVERY:
            queue_alert(
                desk.store,
                desk.book,
                desk.address,
                kind,
                f"{exc} ({count} messages stay in INBOX until it can be made)",
                cycle.now,
            )
            desk.store.commit()
