"""Sending while reading: the SMTP transactions of one batch overlap the next batch's intake.

Draining a backlog costs two kinds of time: our own CPU (parse, classify, compose) and waiting
for the servers (SMTP replies, deliveries). Done one after the other, each waits for the
other; here a batch's mail is handed to one worker thread and the cycle reads, decides and
files the next batch meanwhile. Nothing about safety changes: `outbox.begin` marks the mail
`sending` durably before the hand-over, and only the cycle's thread touches the store — the
worker only talks SMTP, and its results are recorded by `outbox.finish` on the cycle's thread.
At most one batch is in flight, and `settle` waits for it before anything that needs the mail
gone out (our copies read in the next pass, the end of a cycle).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from daemon.adapters.store import OutMail, Store
from daemon.core.rules.model import PolicySettings
from daemon.service.outbox import Delivery, begin, envelopes, finish
from daemon.service.ports import MailboxPort, SenderPort


class Courier:
    def __init__(self, store: Store, sender: SenderPort, policy: PolicySettings):
        self.store = store
        self.sender = sender
        self.policy = policy
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedbackd-smtp")
        self._inflight: tuple[list[OutMail], datetime, Future[list[Exception | None]]] | None = None

    def dispatch(self, mailbox: MailboxPort | None, now: datetime) -> Delivery:
        """Record the batch in flight (if any), then start sending all mail now due."""
        stats = self.settle()
        batch = begin(self.store, mailbox, now, self.policy, stats)
        if batch:
            self._inflight = (
                batch,
                now,
                self._worker.submit(self.sender.send_many, envelopes(batch)),
            )
        return stats

    def settle(self) -> Delivery:
        """Wait for the batch in flight and record what the server said."""
        stats = Delivery()
        if self._inflight is not None:
            batch, now, future = self._inflight
            self._inflight = None
            finish(self.store, batch, future.result(), now, self.policy, stats)
        return stats

    def close(self) -> None:
        """Record the last batch; the worker thread ends even if that fails (a store that
        cannot commit, the cycle dying), or every failed cycle would leave a thread behind."""
        try:
            self.settle()
        finally:
            self._worker.shutdown(wait=True)
