"""The SMTP adapter in a process of its own, so that a backlog's replies are not queued behind
the intake for the interpreter's lock.

While a batch is in flight, the cycle parses, classifies and composes the next one. In one
process the Sender's event loop waits for the GIL after every SMTP reply, and a backlog drained
at ~0.75 of what the same servers take (docs/performance.md). Here the same `Sender` runs in a
child process; the parent's worker thread only waits on a pipe, which releases the lock.

The child is spawned (not forked: the daemon has threads, and a fork copies their locks), once,
when the service first needs a sender, and lives until `close`. Results cross the pipe as plain
tuples, not pickled exceptions: unpickling an exception calls its class with `args` only, which
would drop `maybe_sent` and `tried`. A child that dies (killed, out of memory) loses nothing:
every mail of the batch it held comes back TransientError with `maybe_sent`, so the outbox looks
for our copy in Sent before it sends again, and the next batch starts a new child.

Only for password logins: an OAuth2 login refreshes a token the IMAP side refreshes too, and a
provider that rotates refresh tokens would see two processes each spend the other's.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from multiprocessing.connection import Connection
from typing import Any

from daemon.adapters.mail.smtp import TIMEOUT, Envelope, Sender
from daemon.adapters.settings import SMTP_CONNECTIONS, Server
from daemon.errors import AuthRefused, ConfigError, PermanentSendError, Throttled, TransientError

#: Seconds `close` waits for the child to say QUIT to the server before it is stopped.
CLOSE_WAIT = 5.0

Wire = tuple[Any, ...] | None


def to_wire(result: Exception | None) -> Wire:
    """A send result as plain values (the order of the checks: most specific class first)."""
    if result is None:
        return None
    if isinstance(result, PermanentSendError):
        return ("permanent", result.code, result.reason)
    if isinstance(result, Throttled):
        return ("throttled", str(result), result.tried)
    if isinstance(result, AuthRefused):
        return ("auth", result.problems)
    if isinstance(result, TransientError):
        return ("transient", str(result), result.maybe_sent)
    if isinstance(result, ConfigError):
        return ("config", result.problems)
    return ("transient", f"{type(result).__name__}: {result}", True)


def from_wire(wire: Wire) -> Exception | None:
    if wire is None:
        return None
    kind = wire[0]
    if kind == "permanent":
        return PermanentSendError(wire[1], wire[2])
    if kind == "throttled":
        return Throttled(wire[1], tried=wire[2])
    if kind == "auth":
        return AuthRefused(wire[1])
    if kind == "config":
        return ConfigError(wire[1])
    return TransientError(wire[1], maybe_sent=wire[2])


def _serve(pipe: Connection, server: Server, timeout: float, connections: int) -> None:
    """The child: send what the parent hands over until it says stop or goes away. A stop
    request (systemd's SIGTERM goes to every process of the unit, a terminal's Ctrl-C to the
    whole group) is the parent's to act on: it finishes its cycle, then closes us."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sender = Sender(server, timeout=timeout, connections=connections)
    try:
        while True:
            try:
                envs = pipe.recv()
            except EOFError:
                return  # the parent is gone
            if envs is None:
                return
            results = [to_wire(r) for r in sender.send_many(envs)]
            try:
                pipe.send((results, sender.login_refused))
            except BrokenPipeError:
                return  # the parent died with the batch in flight; it will look in Sent
    finally:
        sender.close()


class ProcessSender:
    """A `Sender` in a child process, with the same `send_many` and `login_refused`."""

    def __init__(
        self, server: Server, timeout: float = TIMEOUT, connections: int = SMTP_CONNECTIONS
    ):
        self.server = server
        self.timeout = timeout
        self.connections = connections
        #: As Sender.login_refused: None before any login, "" accepted, else the refusal.
        self.login_refused: str | None = None
        self._child: Any = None  # multiprocessing's SpawnProcess
        self._pipe: Connection | None = None

    def _start(self) -> Connection:
        if self._pipe is not None and self._child is not None and self._child.is_alive():
            return self._pipe
        self._stop()
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        child = context.Process(
            target=_serve,
            args=(theirs, self.server, self.timeout, self.connections),
            name="feedbackd-smtp",
            daemon=True,  # never outlives the daemon, whatever ends it
        )
        child.start()
        theirs.close()
        self._child, self._pipe = child, ours
        return ours

    def send_many(self, envs: list[Envelope]) -> list[Exception | None]:
        """Send several mails from the child; one result per mail, in order."""
        if not envs:
            return []
        pipe = self._start()
        try:
            pipe.send(envs)
            wires, self.login_refused = pipe.recv()
        except (EOFError, OSError) as exc:
            code = self._child.exitcode if self._child is not None else None
            self._stop()
            said = f"the sending process ended (exit status {code}) with the batch in hand"
            return [TransientError(f"{said}: {exc or 'no reply'}", maybe_sent=True) for _ in envs]
        return [from_wire(w) for w in wires]

    def _stop(self) -> None:
        pipe, child = self._pipe, self._child
        self._pipe = self._child = None
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.send(None)
            pipe.close()
        if child is not None:
            child.join(CLOSE_WAIT)
            if child.is_alive():
                child.kill()
                child.join(CLOSE_WAIT)

    def close(self) -> None:
        """Let the child QUIT its connections and end; stopped if it does not within CLOSE_WAIT."""
        self._stop()
