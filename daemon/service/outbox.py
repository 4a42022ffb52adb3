"""The outbox: every mail we owe is recorded before it is sent, and sent at most once.

A mail goes queued -> sending -> sent | failed. `sending` is written durably before the SMTP
transaction. Each mail also goes to the feedback address itself, so after a crash a mail left in
`sending` is looked up by Message-ID in the mailbox: found means it went out (mark sent), absent
means the transaction never completed (send again). Transient failures back off exponentially;
a 5xx marks the mail failed. A login the SMTP server refuses is no fault of the mail: it goes
back to the queue without counting as an attempt, and `Delivery.login_refused` carries the
one line the service shows (`status` critical, an alert) until the login works.

Sending while reading (`Courier`): a batch's SMTP transactions overlap the next batch's intake.
Draining a backlog costs our own CPU (parse, classify, compose) and waiting for the servers;
done one after the other, each waits for the other, so a batch's mail goes to one worker thread
while the cycle reads, decides and files the next batch. Safety is unchanged: `begin` marks the
mail `sending` durably before the hand-over, only the cycle's thread touches the store (the
worker only talks SMTP, and `finish` records its results on the cycle's thread), at most one
batch is in flight, and `settle` waits for it before anything that needs the mail gone out.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from daemon.adapters.mail.smtp import Envelope
from daemon.adapters.storage.store import Store
from daemon.core.records import PENDING, OutMail, OutState
from daemon.core.rules.model import PolicySettings
from daemon.errors import AuthRefused, PermanentSendError
from daemon.service.ports import MailboxPort, SenderPort

log = logging.getLogger("feedbackd.outbox")

SEARCH_FOLDERS = ("INBOX", "Sent")


@dataclass
class Delivery:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    gave_up: list[OutMail] = field(default_factory=list)  # refused for good (5xx) just now
    login_refused: str = ""  # the SMTP server refused our login: what it said, what to fix

    def __add__(self, other: Delivery) -> Delivery:
        return Delivery(
            self.sent + other.sent,
            self.deferred + other.deferred,
            self.failed + other.failed,
            self.gave_up + other.gave_up,
            other.login_refused or self.login_refused,
        )


def backoff(attempts: int, policy: PolicySettings) -> timedelta:
    return min(policy.retry_max, policy.retry_first * (1 << min(30, max(0, attempts - 1))))


def due_mail(store: Store, now: datetime) -> list[OutMail]:
    return [m for m in store.outbox(*PENDING) if m.due(now)]


def next_due(store: Store) -> datetime | None:
    """When the earliest mail still owed is to be tried again (the service wakes up then):
    the earliest instant, whatever offset each time was written with."""
    times = [m.next_try for m in store.outbox(*PENDING) if m.next_try is not None]
    return min(times) if times else None


def went_out(mailbox: MailboxPort, mail: OutMail) -> bool:
    """Did an earlier attempt reach the server? Its copy to our own address says so."""
    return any(mailbox.search_header(folder, "Message-ID", mail.id) for folder in SEARCH_FOLDERS)


def deliver(
    store: Store,
    mailbox: MailboxPort | None,
    sender: SenderPort,
    now: datetime,
    policy: PolicySettings,
) -> Delivery:
    """Send every mail that is due, now: `begin`, the SMTP transactions, `finish`."""
    stats = Delivery()
    batch = begin(store, mailbox, now, policy, stats)
    if batch:
        finish(store, batch, sender.send_many(envelopes(batch)), now, policy, stats)
    return stats


def begin(
    store: Store,
    mailbox: MailboxPort | None,
    now: datetime,
    policy: PolicySettings,
    stats: Delivery,
) -> list[OutMail]:
    """Pick the mail that is due and mark it `sending`, durably, before any byte goes out.

    A mail an earlier attempt may have sent is looked for first (our copy), so it is never
    sent twice. The caller sends the batch (now, or while it reads the next messages) and
    hands the results to `finish`."""
    batch: list[OutMail] = []
    for mail in due_mail(store, now):
        if mail.state == OutState.SENDING and mail.attempted_at is not None:
            if mailbox is None:  # IMAP is down: cannot look for our copy, so do not resend yet
                continue
            if went_out(mailbox, mail):
                store.update_outmail(mail, state=OutState.SENT, sent_at=now)
                stats.sent += 1
                continue
            settle = mail.attempted_at + policy.resend_grace
            if settle > now:  # our copy may still be on its way: look again later
                store.update_outmail(mail, next_try=settle)
                stats.deferred += 1
                continue
        batch.append(
            store.update_outmail(
                mail, state=OutState.SENDING, attempts=mail.attempts + 1, attempted_at=now
            )
        )
    store.commit()  # "sending" is durable before any byte goes to the SMTP server
    return batch


def envelopes(batch: list[OutMail]) -> list[Envelope]:
    return [Envelope(m.sender, m.recipients, m.raw.encode("utf-8")) for m in batch]


def finish(
    store: Store,
    batch: list[OutMail],
    results: list[Exception | None],
    now: datetime,
    policy: PolicySettings,
    stats: Delivery,
) -> None:
    """Record what the SMTP server said about each mail of a batch `begin` started."""
    for mail, error in zip(batch, results, strict=False):
        if error is None:
            store.update_outmail(mail, state=OutState.SENT, sent_at=now, error="")
            stats.sent += 1
            log.info(
                "sent %s %s to %s",
                mail.kind,
                mail.id,
                mail.recipients[0],
                extra={"case": mail.case_id},
            )
        elif isinstance(error, PermanentSendError):
            stats.gave_up.append(
                store.update_outmail(mail, state=OutState.FAILED, error=str(error))
            )
            stats.failed += 1
            log.error(
                "gave up on %s to %s: %s",
                mail.kind,
                mail.recipients[0],
                error,
                extra={"case": mail.case_id},
            )
        elif isinstance(error, AuthRefused):
            # Nothing reached the server: queued again as it was, not an attempt of this mail,
            # and due at once, so a run after the password is fixed sends it. The Sender keeps
            # retries of the login itself apart (its own backoff, no failed login each cycle).
            store.update_outmail(
                mail,
                state=OutState.QUEUED,
                attempts=max(0, mail.attempts - 1),
                attempted_at=None,
                error=str(error),
                next_try=None,
            )
            stats.deferred += 1
            stats.login_refused = "; ".join(p.message for p in error.problems)
            log.debug("%s waits for the SMTP login: %s", mail.id, error)
        else:
            retry = now + backoff(mail.attempts, policy)
            if getattr(error, "maybe_sent", False):
                # Stays "sending": the server may have taken it; the next attempt looks for
                # our copy first.
                store.update_outmail(mail, error=str(error), next_try=retry)
            else:
                store.update_outmail(
                    mail, state=OutState.QUEUED, attempted_at=None, error=str(error), next_try=retry
                )
            stats.deferred += 1
            log.warning(
                "will retry %s to %s at %s: %s",
                mail.kind,
                mail.recipients[0],
                retry.isoformat(timespec="seconds"),
                error,
                extra={"case": mail.case_id},
            )
    store.commit()


class Courier:
    """Sends one batch on a worker thread while the cycle reads the next (module docstring)."""

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
