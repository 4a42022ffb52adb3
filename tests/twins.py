"""In-memory twins of the mail servers, so the service's order can be tested in milliseconds.

`MemoryMailbox` keeps the contract of daemon.adapters.mail.imap.Mailbox (the service's
MailboxPort): UIDs ascending per folder and never reused, a UIDVALIDITY, folders created on first
use (or refused, `refuse_folder`: a move there raises FolderUnavailable and moves nothing), a move
that takes exactly the UIDs named, a case-insensitive header search (none in a missing folder),
INTERNALDATE, and a fetch that reads a message over the size limit as its header plus the first
LARGE_HEAD bytes of its body. `RecordingSender` keeps the contract of
daemon.adapters.mail.smtp.Sender (SenderPort): one result per envelope, PermanentSendError for a
5xx, AuthRefused while its login is refused (`login_refusal`), TransientError otherwise,
`maybe_sent` when the transaction broke after the data went out; it
records every envelope, and delivers what it accepts for an address it serves into that address's
MemoryMailbox, as the real lab does (so our own copies come back to the INBOX).
`QueueingSender` answers the same but delivers later (after `delay` seconds, or when released),
as a queueing MTA such as Postfix does: its 250 means queued. The lab tests remain the proof on
real servers.

`Tripwire` counts the steps a cycle takes that touch the world and raises `Crash` at the N-th:
`Crash` is a BaseException, so like a SIGKILL nothing in the daemon catches it; what the store
did not commit is lost only if the test reopens the store from its file, which it does.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import TypeVar

from daemon.adapters.mail.imap import LARGE_HEAD, Fetched
from daemon.adapters.mail.smtp import Envelope
from daemon.core.folders import FolderUnavailable
from daemon.core.progress import Reporter, silent
from daemon.errors import AuthRefused, PermanentSendError, Throttled, TransientError
from daemon.service.ports import CycleHooks, MailboxPort, SenderPort

T = TypeVar("T")
_serial = itertools.count(1)


class Crash(BaseException):
    """The process died here (a test's SIGKILL): raised past every `except Exception`."""


class Tripwire:
    """Numbers every step it is told of; the `at`-th one raises Crash (None: never), and so does
    every step after it: a dead process commits, sends and moves nothing more (not even in the
    `finally` clauses that an exception would run)."""

    def __init__(self, at: int | None = None):
        self.at = at
        self.steps: list[str] = []
        self.crashed_at = ""
        self._lock = threading.Lock()

    def step(self, name: str) -> None:
        with self._lock:
            self.steps.append(name)
            if self.at is not None and len(self.steps) == self.at:
                self.crashed_at = name
            if self.crashed_at:
                raise Crash(f"step {self.at}: {self.crashed_at}")

    def around(self, name: str, func: Callable[..., T]) -> Callable[..., T]:
        """`func` with a step just before it and one just after it."""

        def armed(*args: object, **kwargs: object) -> T:
            self.step(f"{name}:before")
            result = func(*args, **kwargs)
            self.step(f"{name}:after")
            return result

        return armed


NO_TRIPWIRE = Tripwire()


class TrippingHooks:
    """CycleHooks whose every look-in is a step of the tripwire; never asks to stop unless told."""

    def __init__(self, tripwire: Tripwire, stop_after_commits: int | None = None):
        self.tripwire = tripwire
        self.commits = 0
        self.stop_after_commits = stop_after_commits

    def after_commit(self) -> None:
        self.commits += 1
        self.tripwire.step("hooks.after_commit")

    def stop_requested(self) -> bool:
        self.tripwire.step("hooks.stop_requested")
        return self.stop_after_commits is not None and self.commits >= self.stop_after_commits


@dataclass
class Stored:
    uid: int
    raw: bytes
    internaldate: datetime | None


@dataclass
class Folder:
    next_uid: int = 1
    messages: dict[int, Stored] = field(default_factory=dict)

    def add(self, raw: bytes, internaldate: datetime | None) -> int:
        uid = self.next_uid
        self.next_uid += 1
        self.messages[uid] = Stored(uid, raw, internaldate)
        return uid


class MemoryMailbox:
    """The feedback mailbox in memory, INBOX selected; safe to deliver into from another thread
    (the courier's worker delivers our copies while the cycle reads)."""

    def __init__(self, uidvalidity: int = 1, tripwire: Tripwire = NO_TRIPWIRE):
        self._uidvalidity = uidvalidity
        self.tripwire = tripwire
        self.folders: dict[str, Folder] = {"INBOX": Folder()}
        self.refused: dict[str, str] = {}  # folder -> why the server will not create it
        self._lock = threading.RLock()

    # -- the test's side: mail arriving, what is where -----------------------------------------

    def deliver(
        self, raw: bytes, internaldate: datetime | None = None, folder: str = "INBOX"
    ) -> int:
        """Mail arriving (LMTP, or an APPEND): a new UID in `folder`."""
        with self._lock:
            return self._folder(folder).add(raw, internaldate)

    def raws(self, folder: str = "INBOX") -> list[bytes]:
        with self._lock:
            box = self.folders.get(folder)
            return [m.raw for _, m in sorted(box.messages.items())] if box else []

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {name: len(f.messages) for name, f in self.folders.items()}

    def refuse_folder(self, folder: str, reason: str = "Invalid mailbox name") -> None:
        """The server will not create `folder` (as Courier refuses a `/` in a name)."""
        self.refused[folder] = reason

    def renumber(self, uidvalidity: int) -> None:
        """The server lost its UID state: a new UIDVALIDITY and fresh UIDs for INBOX."""
        with self._lock:
            old = sorted(self.folders["INBOX"].messages.values(), key=lambda m: m.uid)
            self._uidvalidity = uidvalidity
            self.folders["INBOX"] = Folder()
            for m in old:
                self.folders["INBOX"].add(m.raw, m.internaldate)

    # -- MailboxPort ----------------------------------------------------------------------------

    def uidvalidity(self) -> int:
        return self._uidvalidity

    def inbox_uids(self) -> list[int]:
        with self._lock:
            return sorted(self.folders["INBOX"].messages)

    def fetch(self, uids: list[int], max_size: int | None = None) -> list[Fetched]:
        self.tripwire.step("mailbox.fetch")
        out: list[Fetched] = []
        with self._lock:
            inbox = self.folders["INBOX"].messages
            for uid in sorted(set(uids)):
                m = inbox.get(uid)
                if m is None:
                    continue  # gone meanwhile: IMAP skips it without an error
                size = len(m.raw)
                if max_size and size > max_size:
                    out.append(Fetched(uid, _head_of(m.raw), size, m.internaldate, truncated=True))
                else:
                    out.append(Fetched(uid, m.raw, size, m.internaldate))
        return out

    def move(self, uids: list[int], folder: str) -> None:
        self.tripwire.step("mailbox.move:before")
        if uids:
            with self._lock:
                if folder in self.refused and folder not in self.folders:
                    raise FolderUnavailable(folder, folder, self.refused[folder])
                self._move("INBOX", uids, folder)
        self.tripwire.step("mailbox.move:after")

    def search_header(self, folder: str, name: str, value: str) -> list[int]:
        self.tripwire.step("mailbox.search_header")
        with self._lock:
            box = self.folders.get("INBOX" if folder.upper() == "INBOX" else folder)
            if box is None:
                return []  # a folder that does not exist holds nothing (and is not created)
            return [uid for uid, m in sorted(box.messages.items()) if _has(m.raw, name, value)]

    def count(self, folder: str) -> int:
        with self._lock:
            box = self.folders.get(folder)
            return len(box.messages) if box else 0

    def take_back(
        self, folder: str, message_ids: list[str] | None = None, progress: Reporter = silent
    ) -> int:
        with self._lock:
            box = self.folders.get(folder)
            if box is None:
                return 0
            if message_ids:
                uids = sorted(
                    {
                        uid
                        for uid, m in box.messages.items()
                        for mid in message_ids
                        if _has(m.raw, "Message-ID", mid)
                    }
                )
            else:
                uids = sorted(box.messages)
            shown = progress(len(uids), f"messages moved back from {folder}")
            self._move(folder, uids, "INBOX")
            shown.advance(len(uids))
            shown.close()
            return len(uids)

    def _folder(self, name: str) -> Folder:
        key = "INBOX" if name.upper() == "INBOX" else name
        return self.folders.setdefault(key, Folder())

    def _move(self, source: str, uids: list[int], target: str) -> None:
        src, dst = self._folder(source), self._folder(target)
        for uid in sorted(uids):
            m = src.messages.pop(uid, None)
            if m is not None:  # UID MOVE of a UID that is not there moves nothing
                dst.add(m.raw, m.internaldate)


def _head_of(raw: bytes) -> bytes:
    """BODY[HEADER] (with its blank line) + the first LARGE_HEAD bytes of BODY[TEXT]."""
    cut = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    if not cut:
        return raw
    i = min(cut)
    end = i + (4 if raw[i : i + 4] == b"\r\n\r\n" else 2)
    return raw[:end] + raw[end : end + LARGE_HEAD]


def _has(raw: bytes, name: str, value: str) -> bool:
    """IMAP SEARCH HEADER: a case-insensitive substring of any value of that header."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return any(value.lower() in str(v).lower() for v in msg.get_all(name, []))


@dataclass(frozen=True)
class Attempt:
    envelope: Envelope
    error: Exception | None  # what send_many answered for it

    @property
    def taken(self) -> bool:
        return self.error is None or getattr(self.error, "maybe_sent", False)


class RecordingSender:
    """A submission server that records every envelope and can be told to refuse or fail."""

    def __init__(
        self,
        mailboxes: dict[str, MemoryMailbox] | None = None,
        tripwire: Tripwire = NO_TRIPWIRE,
    ):
        self.mailboxes = dict(mailboxes or {})
        self.tripwire = tripwire
        self.attempts: list[Attempt] = []
        self.refused: dict[str, int] = {}  # address -> 5xx code, for good
        self._transient: list[bool] = []  # the next sends that fail for now (maybe_sent each)
        self.take_at_most: int | None = None  # then "450 4.7.0 rate limit" (a throttle)
        self.max_size: int | None = None  # a larger mail gets "552 5.3.4"
        self.login_refusal = ""  # while set, every send is AuthRefused: no mail reaches us
        self._lock = threading.Lock()

    def refuse(self, address: str, code: int = 550) -> None:
        """This recipient is refused for good from now on."""
        self.refused[address.lower()] = code

    def fail_next(self, times: int = 1, maybe_sent: bool = False) -> None:
        """The next `times` mails fail for now: before the data went out (nothing taken), or,
        with `maybe_sent`, after it did (the server took the mail but the reply was lost)."""
        self._transient += [maybe_sent] * times

    def send_many(self, envs: list[Envelope]) -> list[Exception | None]:
        self.tripwire.step("sender.send_many:before")
        results = [self._send_one(env) for env in envs]
        self.tripwire.step("sender.send_many:after")
        return results

    def _send_one(self, env: Envelope) -> Exception | None:
        with self._lock:
            error = self._outcome(env)
            self.attempts.append(Attempt(env, error))
        if error is None or getattr(error, "maybe_sent", False):
            for rcpt in env.recipients:
                if rcpt.lower() not in self.refused and rcpt in self.mailboxes:
                    self.mailboxes[rcpt].deliver(env.raw)
        return error

    def _outcome(self, env: Envelope) -> Exception | None:
        if self.login_refusal:
            return AuthRefused(self.login_refusal)
        if self.take_at_most is not None and len(self.sent) >= self.take_at_most:
            return Throttled("SMTP 450 4.7.0 rate limit exceeded")
        if self.max_size is not None and len(env.raw) > self.max_size:
            return PermanentSendError(552, "5.3.4 Message size exceeds fixed maximum")
        if self._transient:
            maybe_sent = self._transient.pop(0)
            return TransientError("SMTP 421 try again later", maybe_sent=maybe_sent)
        # The first recipient is the person the mail is for; a refused copy (the others) does
        # not stop the mail, as in the adapter.
        code = self.refused.get(env.recipients[0].lower())
        if code is not None:
            return PermanentSendError(code, f"<{env.recipients[0]}>: mailbox unavailable")
        return None

    # -- what the test asks -------------------------------------------------------------------

    @property
    def sent(self) -> list[Envelope]:
        """Every envelope the server took (for a maybe-sent failure: took, unbeknown to us)."""
        return [a.envelope for a in self.attempts if a.taken]

    def sent_to(self, address: str) -> list[email.message.Message]:
        """The mails taken for `address` as their first recipient, parsed."""
        return [
            email.message_from_bytes(e.raw, policy=email.policy.default)
            for e in self.sent
            if e.recipients[0].lower() == address.lower()
        ]


class QueueingSender:
    """A submission server that queues: it answers as `RecordingSender` does (its `server`
    records and decides), and delivers each accepted mail `delay` seconds later on a timer
    thread; with `delay=None` it holds everything until `release()` (a queue that is stuck)."""

    def __init__(self, mailboxes: dict[str, MemoryMailbox], delay: float | None = 0.3):
        self.server = RecordingSender()
        self.mailboxes = dict(mailboxes)
        self.delay = delay
        self.held: list[Envelope] = []
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    def send_many(self, envs: list[Envelope]) -> list[Exception | None]:
        results = self.server.send_many(envs)
        for env, error in zip(envs, results, strict=True):
            if error is None:
                if self.delay is None:
                    with self._lock:
                        self.held.append(env)
                else:
                    timer = threading.Timer(self.delay, self._deliver, (env,))
                    self._timers.append(timer)
                    timer.start()
        return results

    def release(self) -> None:
        """Deliver what is held (the stuck queue moves again)."""
        with self._lock:
            held, self.held = self.held, []
        for env in held:
            self._deliver(env)

    def drain(self) -> None:
        """Wait until every timed delivery is done."""
        for timer in self._timers:
            timer.join()

    def _deliver(self, env: Envelope) -> None:
        for rcpt in env.recipients:
            if rcpt in self.mailboxes:
                self.mailboxes[rcpt].deliver(env.raw)


def incoming(
    sender: str,
    subject: str,
    body: str,
    to: str = "feedback@example.test",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A mail as it arrives in the INBOX (what a customer, an owner or a robot writes)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or f"<{next(_serial)}.{sender}>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def _keeps_the_ports(
    mailbox: MemoryMailbox, sender: RecordingSender, hooks: TrippingHooks
) -> tuple[MailboxPort, SenderPort, CycleHooks]:
    """Never called: mypy checks here that the twins keep the contracts the service uses."""
    return mailbox, sender, hooks


def _queueing_keeps_the_port(sender: QueueingSender) -> SenderPort:
    return sender
