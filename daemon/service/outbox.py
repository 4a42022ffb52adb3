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

Order and pace: the mail due goes in `send_order` (acknowledgments to customers first, then
what owners act on, reminders, digests), one priority after the other, so a burst of staff
mail never delays a customer's acknowledgment. The `Pacer` (service/pacing) keeps the batch
within FEEDBACKD_SMTP_RATE: what does not fit now waits, in the outbox, until the window opens
(its `next_try`, which also wakes the loop). A throttling reply (`Throttled`) pauses sending
and halves the rate for a while; the mail refused so, and the mail not offered after it, goes
back to queued without counting as an attempt or as a use of the rate. A notice refused for
its size is sent again without its attachment, saying where the original is.
"""

from __future__ import annotations

import logging
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from daemon.adapters.mail.smtp import Envelope
from daemon.adapters.storage.store import Store
from daemon.core.mail.original import without_attachments
from daemon.core.records import PENDING, OutMail, OutState
from daemon.core.rules.model import PolicySettings
from daemon.core.sendrate import is_too_big, priority, send_order
from daemon.errors import AuthRefused, PermanentSendError, Throttled
from daemon.service.pacing import Pacer
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
    """The mail due at `now`, in the order it is to go (`send_order`)."""
    return send_order(m for m in store.outbox(*PENDING) if m.due(now))


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
    pacer: Pacer | None = None,
) -> Delivery:
    """Send every mail that is due, now: `begin`, the SMTP transactions, `finish`."""
    stats = Delivery()
    pacer = pacer or Pacer()
    batch = begin(store, mailbox, now, policy, stats, pacer)
    if batch:
        finish(store, batch, send_in_order(sender, batch), now, policy, stats, pacer)
    return stats


def begin(
    store: Store,
    mailbox: MailboxPort | None,
    now: datetime,
    policy: PolicySettings,
    stats: Delivery,
    pacer: Pacer | None = None,
) -> list[OutMail]:
    """Pick the mail that is due and mark it `sending`, durably, before any byte goes out.

    A mail an earlier attempt may have sent is looked for first (our copy), so it is never
    sent twice. The mail goes in `send_order`; from the first mail the pacer holds back, the
    rest waits too (so nothing overtakes an acknowledgment), until the window opens. The
    caller sends the batch (now, or while it reads the next messages) and hands the results to
    `finish`."""
    batch: list[OutMail] = []
    pacer = pacer or Pacer()
    held_until: datetime | None = None
    held = 0
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
        if held_until is None:
            held_until = pacer.admit(mail, pacer.now(now))
        if held_until is not None:  # over the rate, or the server asked us to wait
            store.update_outmail(mail, next_try=held_until)
            stats.deferred += 1
            held += 1
            continue
        batch.append(
            store.update_outmail(
                mail, state=OutState.SENDING, attempts=mail.attempts + 1, attempted_at=now
            )
        )
    store.commit()  # "sending" is durable before any byte goes to the SMTP server
    if held_until is not None:
        log.info(
            "%d mail(s) wait until %s to keep within the SMTP server's rate",
            held,
            held_until.isoformat(timespec="seconds"),
        )
    return batch


def send_in_order(sender: SenderPort, batch: list[OutMail]) -> list[Exception | None]:
    """Send a batch (in `send_order`) one priority after the other: acknowledgments are taken
    before any staff mail is offered, and after a throttling reply nothing more is offered."""
    results: list[Exception | None] = []
    for _, group in groupby(batch, key=lambda m: priority(m.kind)):
        mails = list(group)
        stop = next((r for r in results if isinstance(r, Throttled)), None)
        if stop is not None:
            results += [Throttled(f"not offered: {stop}", tried=False) for _ in mails]
        else:
            results += sender.send_many(envelopes(mails))
    return results


def envelopes(batch: list[OutMail]) -> list[Envelope]:
    return [Envelope(m.sender, m.recipients, m.raw.encode("utf-8")) for m in batch]


def finish(
    store: Store,
    batch: list[OutMail],
    results: list[Exception | None],
    now: datetime,
    policy: PolicySettings,
    stats: Delivery,
    pacer: Pacer | None = None,
) -> None:
    """Record what the SMTP server said about each mail of a batch `begin` started."""
    pacer = pacer or Pacer()
    resume: datetime | None = None
    if any(isinstance(e, Throttled) for e in results):
        resume = pacer.throttled(pacer.now(now), lambda n: backoff(n, policy))
        log.warning(
            "the SMTP server asked us to slow down; sending again at %s, at half the rate "
            "for a while",
            resume.isoformat(timespec="seconds"),
        )
    elif any(e is None for e in results):
        pacer.went_well()
    for mail, error in zip(batch, results, strict=False):
        if error is not None and not getattr(error, "maybe_sent", False):
            pacer.release(mail)  # not taken: it does not count against the rate
        if isinstance(error, Throttled):
            # Not an attempt: the server did not look at the mail, it asked us to wait.
            _not_attempted(store, mail, error, resume)
            stats.deferred += 1
        elif isinstance(error, PermanentSendError) and (slim := slimmed(store, mail, error)):
            store.update_outmail(
                mail,
                raw=slim,
                state=OutState.QUEUED,
                attempted_at=None,
                error=str(error),
                next_try=now,
            )
            stats.deferred += 1
            log.warning(
                "the %s to %s was refused for its size (%s); sending it again without the "
                "attachment",
                mail.kind,
                mail.recipients[0],
                error,
                extra={"case": mail.case_id},
            )
        elif error is None:
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
            _not_attempted(store, mail, error, None)
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


def slimmed(store: Store, mail: OutMail, error: PermanentSendError) -> str | None:
    """A staff mail refused for its size, again without the attachment and with a line saying
    where the original is (the case and the folder it is filed in); None when that is not the
    refusal, the mail is a customer's acknowledgment or about no case, or there is no
    attachment to leave out."""
    if mail.kind == "ack" or mail.case_id is None or not is_too_big(error.code, error.reason):
        return None
    folders = sorted({e.folder for e in store.ledger_entries() if e.case_id == mail.case_id})
    where = ", ".join(folders) or "INBOX"
    case = mail.case_id
    note = (
        f"The original message made this mail too large for the mail server, so it is not "
        f"attached: it is case {case}, filed in {where} in the {mail.sender} mailbox.\n"
        f"Исходное письмо сделало это уведомление слишком большим для почтового сервера, "
        f"поэтому оно не приложено: это обращение {case}, письмо лежит в папке {where} "
        f"ящика {mail.sender}."
    )
    return without_attachments(mail.raw, note)


#: Seconds the cycle's thread may hold the GIL while a batch is in flight (Python's default
#: is 5 ms). Each SMTP reply wakes the worker thread, which then waits for the GIL while the
#: cycle decides the next batch; at 5 ms a wait per reply, the worker sent a backlog's mail at
#: 0.6 of the rate it has alone (docs/performance.md).
SWITCH_INTERVAL = 0.0005


class Courier:
    """Sends one batch on a worker thread while the cycle reads the next (module docstring).
    While a batch is in flight the interpreter's switch interval is SWITCH_INTERVAL at most,
    so the worker's SMTP replies are not held up by the cycle's deciding; `settle` puts the
    interval back."""

    def __init__(
        self,
        store: Store,
        sender: SenderPort,
        policy: PolicySettings,
        pacer: Pacer | None = None,
    ):
        self.store = store
        self.sender = sender
        self.policy = policy
        self.pacer = pacer or Pacer()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedbackd-smtp")
        self._inflight: tuple[list[OutMail], datetime, Future[list[Exception | None]]] | None = None
        self._switch: float | None = None  # the interval to put back once the batch is in

    def dispatch(self, mailbox: MailboxPort | None, now: datetime) -> Delivery:
        """Record the batch in flight (if any), then start sending all mail now due."""
        stats = self.settle()
        batch = begin(self.store, mailbox, now, self.policy, stats, self.pacer)
        if batch:
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL))
            self._inflight = (
                batch,
                now,
                self._worker.submit(send_in_order, self.sender, batch),
            )
        return stats

    def settle(self) -> Delivery:
        """Wait for the batch in flight and record what the server said."""
        stats = Delivery()
        if self._inflight is not None:
            batch, now, future = self._inflight
            self._inflight = None
            try:
                results = future.result()
            finally:
                if self._switch is not None:
                    sys.setswitchinterval(self._switch)
                    self._switch = None
            finish(self.store, batch, results, now, self.policy, stats, self.pacer)
        return stats

    def close(self) -> None:
        """Record the last batch; the worker thread ends even if that fails (a store that
        cannot commit, the cycle dying), or every failed cycle would leave a thread behind."""
        try:
            self.settle()
        finally:
            self._worker.shutdown(wait=True)


def _not_attempted(
    store: Store, mail: OutMail, error: Exception, next_try: datetime | None
) -> None:
    """Queued again as it was before this try, which does not count as an attempt: the server
    never looked at the mail (it asked us to wait, or refused our login)."""
    store.update_outmail(
        mail,
        state=OutState.QUEUED,
        attempts=max(0, mail.attempts - 1),
        attempted_at=None,
        error=str(error),
        next_try=next_try,
    )
