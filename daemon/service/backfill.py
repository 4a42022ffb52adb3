"""`feedbackd import --before DATE`: old mail taken in as history, on demand.

A first run decides by itself what mail is old (service/cycle's backfill horizon). An admin who
finds more history later — a second mailbox merged in, a folder moved back to INBOX, a daemon
first run with `first_run: triage` — takes it in the same way: every INBOX message received
before DATE that the ledger has not seen goes through the same triage with the history path
(`first_run: history`, horizon DATE), is recorded in the same batches and commits, and is filed
like any other message. Nobody is mailed; newer messages stay in INBOX for the daemon.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from daemon.core.progress import Reporter, silent
from daemon.core.rules import FirstRun, RuleBook
from daemon.service.cycle import BATCH, file_messages
from daemon.service.intake import Desk, intake
from daemon.service.ports import MailboxPort


@dataclass
class ImportReport:
    seen: int = 0  # INBOX messages the ledger had not seen
    outcomes: Counter[str] = field(default_factory=Counter)
    newer: int = 0  # received on or after DATE (or with no date): left for the daemon
    filed: int = 0

    def summary(self) -> str:
        taken = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())) or "none"
        return (
            f"{self.seen} message(s) not seen before: {taken}; {self.newer} newer left in "
            f"INBOX for the daemon; {self.filed} filed"
        )


def as_history(book: RuleBook) -> RuleBook:
    """The rules with `first_run: history`, whatever the file says: import means history."""
    return replace(book, policy=replace(book.policy, first_run=FirstRun.HISTORY))


def import_history(
    desk: Desk,
    mailbox: MailboxPort,
    before: datetime,
    now: datetime,
    progress: Reporter = silent,
    move: bool = True,
) -> ImportReport:
    """Take INBOX mail received before `before` as history; the caller holds the store lock.
    `desk.book` should be `as_history(book)` (the CLI builds it so). Without `move` (a dry
    run, on a preview store) nothing is filed."""
    desk.backfill_before = before
    store, report = desk.store, ImportReport()
    uidvalidity = mailbox.uidvalidity()
    new = store.unseen(uidvalidity, mailbox.inbox_uids())
    report.seen = len(new)
    shown = progress(len(new), "messages imported")
    try:
        for i in range(0, len(new), BATCH):
            for fetched in mailbox.fetch(new[i : i + BATCH], desk.book.policy.max_message_size):
                shown.advance()
                if fetched.internaldate is None or fetched.internaldate >= before:
                    report.newer += 1
                    continue
                report.outcomes[intake(desk, uidvalidity, fetched, now).outcome] += 1
            store.commit()
            if move:
                report.filed += file_messages(store, mailbox, uidvalidity)
    finally:
        shown.close()
    return report
