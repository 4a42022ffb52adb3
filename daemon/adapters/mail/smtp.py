"""The SMTP adapter: hand finished mails to the submission server, say what went wrong and how.

aiosmtplib is async and the daemon's loop is not, so this keeps its own event loop and a few
open connections (sending a backlog over one connection at a time would leave the server idle
between replies). Outcomes are split the way the outbox needs them: a 5xx is permanent
(PermanentSendError: mark failed, tell the feedback center), a reply that means "slow down"
(core/sendrate.is_throttle: 421, 450-452, 4.7.x, a 5xx naming a limit) is Throttled (pause, and
nothing more is offered in this batch), everything else is transient (TransientError: back off
and retry).

The transaction is done in its steps (MAIL, each RCPT, DATA) so that a failure says how far it
got. A pooled connection the server has closed meanwhile (restarted, idled out) breaks on its
first command: before DATA nothing can have been taken, so the mail is tried again at once on a
fresh connection, never held as "maybe sent"; only a break once DATA has begun is ambiguous
(`maybe_sent`). When the person the mail is for is refused at RCPT, the transaction is reset
before DATA: our own evidence copy would otherwise be delivered and filed in Sent, looking like
a mail that went out.

A login the server refuses is AuthRefused (a person must fix the password: the mail waits,
nothing is failed). It is not tried again at once: after a refusal the Sender answers with the
same AuthRefused, without a word to the server, for LOGIN_BACKOFF seconds (doubling up to
LOGIN_BACKOFF_MAX), because providers lock an account after a run of failed logins (and a
new process, e.g. a restart after the password was fixed, tries at once). Logins are made
one at a time, so a batch over several connections costs one failed login, not one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosmtplib

from daemon.adapters.mail.login import smtp_login
from daemon.adapters.mail.tls import certificate_refused, tls_context
from daemon.adapters.settings import SMTP_CONNECTIONS, Server
from daemon.core.mail.compose import seven_bit
from daemon.core.sendrate import is_throttle
from daemon.errors import AuthRefused, ConfigError, PermanentSendError, Throttled, TransientError

TIMEOUT = 30.0
LOGIN_BACKOFF = 60.0  # seconds before a refused login is tried again, doubling ...
LOGIN_BACKOFF_MAX = 1800.0  # ... up to this


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: tuple[str, ...]
    raw: bytes


@dataclass(frozen=True)
class Probe:
    """What a submission server said to `Sender.probe`: its EHLO extensions, and whether it
    takes mail from (and to) our address."""

    extensions: tuple[str, ...]
    refused_at: str = ""  # "MAIL FROM" or "RCPT TO" when refused there, else ""
    said: str = ""  # the refusal's reply


class Sender:
    def __init__(
        self, server: Server, timeout: float = TIMEOUT, connections: int = SMTP_CONNECTIONS
    ):
        self.server = server
        self.timeout = timeout
        self.connections = connections
        self._loop = asyncio.new_event_loop()
        self._pool: list[aiosmtplib.SMTP] = []
        self._fresh: set[int] = set()  # slots whose connection has carried no mail yet
        self._renew_at: dict[int, datetime | None] = {}  # slot -> when its login is due
        self._login_lock = asyncio.Lock()
        #: What the server said to our last login: None before any, "" when it accepted us,
        #: else the refusal as one line (the service shows it in `status` and alerts on it).
        self.login_refused: str | None = None
        self._refused: AuthRefused | None = None
        self._refusals = 0
        self._retry_login_at = 0.0

    def close(self) -> None:
        for smtp in self._pool:
            # QUIT is a courtesy on the way out: a connection that cannot say it is just closed.
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(smtp.quit())
        self._pool.clear()
        self._loop.close()

    def send(self, env: Envelope) -> None:
        """Send one mail; raise PermanentSendError (5xx) or TransientError."""
        result = self.send_many([env])[0]
        if result is not None:
            raise result

    def probe(self, address: str) -> Probe:
        """Log in as the daemon does, then MAIL FROM and RCPT TO our own `address`, and RSET:
        whether the server would take our mail, with nothing sent. Raises AuthRefused,
        ConfigError (a certificate) or TransientError, as sending would."""
        return self._loop.run_until_complete(self._probe(address))

    async def _probe(self, address: str) -> Probe:
        try:
            smtp = await self._connection(0)
        except ConfigError:
            raise
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            self._drop(0)
            raise TransientError(f"SMTP {self.server.host}:{self.server.port}: {exc}") from None
        extensions = tuple(
            sorted(f"{k} {v}".strip().upper() for k, v in smtp.esmtp_extensions.items())
        )
        stage = "MAIL FROM"
        try:
            await smtp.mail(address)
            stage = "RCPT TO"
            await smtp.rcpt(address)
        except aiosmtplib.SMTPResponseException as exc:
            return Probe(extensions, stage, f"{exc.code} {exc.message}")
        finally:
            with contextlib.suppress(Exception):  # a server that hung up owes us no RSET
                await smtp.rset()
        return Probe(extensions)

    def send_many(self, envs: list[Envelope]) -> list[Exception | None]:
        """Send several mails over parallel connections; one result per mail, in order."""
        return self._loop.run_until_complete(self._send_all(envs))

    async def _send_all(self, envs: list[Envelope]) -> list[Exception | None]:
        results: list[Exception | None] = [None] * len(envs)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(envs)):
            queue.put_nowait(i)

        slow_down: list[Throttled] = []

        async def worker(slot: int) -> None:
            while not queue.empty():
                i = queue.get_nowait()
                if slow_down:  # the server asked us to wait: offer it nothing more now
                    results[i] = Throttled(f"not offered: {slow_down[0]}", tried=False)
                    continue
                results[i] = await self._send_one(slot, envs[i])
                if isinstance(results[i], Throttled):
                    slow_down.append(results[i])  # type: ignore[arg-type]

        n = max(1, min(self.connections, len(envs)))
        await asyncio.gather(*(worker(slot) for slot in range(n)))
        return results

    async def _connection(self, slot: int) -> aiosmtplib.SMTP:
        """A connected, logged-in client for `slot`; AuthRefused when the server will not have
        our login (or, within the backoff after a refusal, without asking it again)."""
        while len(self._pool) <= slot:
            self._pool.append(self._new_client())
        smtp = self._pool[slot]
        renew = self._renew_at.get(slot)
        if smtp.is_connected and renew is not None and datetime.now(UTC) >= renew:
            # The token this session logged in with is due: Exchange Online would end it.
            with contextlib.suppress(Exception):
                await smtp.quit()
            smtp.close()
        if smtp.is_connected:
            return smtp
        async with self._login_lock:
            if self._refused is not None and time.monotonic() < self._retry_login_at:
                raise self._refused
            s = self.server
            self._fresh.add(slot)
            try:
                await smtp.connect()
            except ssl.SSLCertVerificationError as exc:
                smtp.close()
                raise ConfigError(certificate_refused("SMTP", s, exc)) from None
            await self._login(smtp, slot)
        return smtp

    async def _login(self, smtp: aiosmtplib.SMTP, slot: int) -> None:
        """Log in through the one SMTP login (adapters/mail/login: password or XOAUTH2); a
        refusal is remembered with its backoff, a connection not logged in is never kept."""
        try:
            self._renew_at[slot] = await smtp_login(smtp, self.server)
        except AuthRefused as exc:
            smtp.close()
            raise self._refuse("; ".join(p.message for p in exc.problems)) from None
        except BaseException:
            smtp.close()
            raise
        self.login_refused = ""
        self._refused = None
        self._refusals = 0

    def _refuse(self, line: str) -> AuthRefused:
        """Remember a refused login, and until when not to try again."""
        self._refusals += 1
        wait = min(LOGIN_BACKOFF_MAX, LOGIN_BACKOFF * 2 ** min(10, self._refusals - 1))
        self._retry_login_at = time.monotonic() + wait
        self._refused = AuthRefused(line)
        self.login_refused = line
        return self._refused

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.server
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=self.timeout,
            use_tls=s.tls == "imaps",
            start_tls=s.tls == "starttls",
            tls_context=tls_context(s) if s.tls != "plain" else None,
        )

    async def _send_one(self, slot: int, env: Envelope) -> Exception | None:
        """One mail; a pooled connection found broken before DATA is replaced and tried once
        more at once (module docstring)."""
        while True:
            try:
                smtp = await self._connection(slot)
            except ConfigError as exc:
                return exc
            except aiosmtplib.SMTPResponseException as exc:  # e.g. a 421 greeting
                self._drop(slot)
                if is_throttle(exc.code, exc.message):
                    return Throttled(f"SMTP {exc.code} {exc.message}")
                return TransientError(f"SMTP {self.server.host}:{self.server.port}: {exc}")
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                self._drop(slot)
                return TransientError(f"SMTP {self.server.host}:{self.server.port}: {exc}")
            pooled = slot not in self._fresh
            self._fresh.discard(slot)
            try:
                return await self._transaction(smtp, env)
            except _BrokenBeforeData as exc:
                self._drop(slot)
                if pooled:
                    continue  # the server closed an idle connection: a fresh one, at once
                return TransientError(
                    f"SMTP {self.server.host}:{self.server.port}: {exc.__cause__}"
                )

    async def _transaction(self, smtp: aiosmtplib.SMTP, env: Envelope) -> Exception | None:
        """MAIL, RCPT for each recipient, DATA; raises _BrokenBeforeData when the connection
        broke before DATA (nothing was taken)."""
        raw, options = env.raw, []
        if not raw.isascii():
            if smtp.supports_extension("8bitmime"):
                options.append("BODY=8BITMIME")
            else:
                raw = seven_bit(raw)
        refused: dict[str, aiosmtplib.SMTPResponseException] = {}
        try:
            await smtp.mail(env.sender, options=options)
            for rcpt in env.recipients:
                try:
                    await smtp.rcpt(rcpt)
                except aiosmtplib.SMTPRecipientRefused as exc:
                    refused[rcpt] = exc
                    if rcpt == env.recipients[0]:
                        break  # the mail is for this one: no DATA, so no copy of ours either
            if env.recipients[0] in refused or len(refused) == len(env.recipients):
                await self._reset(smtp)
                first = refused[env.recipients[0]]
                return _rcpt_refusal(first.code, first.message)
        except UnicodeEncodeError:
            await self._reset(smtp)
            return PermanentSendError(
                553, "a non-ASCII address needs SMTPUTF8, which the server did not offer"
            )
        except aiosmtplib.SMTPResponseException as exc:  # an explicit refusal: nothing taken
            await self._reset(smtp)
            return _refusal(exc.code, exc.message)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise _BrokenBeforeData(str(exc)) from exc
        try:
            await smtp.data(raw)
        except aiosmtplib.SMTPResponseException as exc:  # refused at DATA or the final dot
            await self._reset(smtp)
            return _refusal(exc.code, exc.message)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            # Broken off once DATA began: the server may or may not have taken the mail.
            smtp.close()
            return TransientError(
                f"SMTP {self.server.host}:{self.server.port}: {exc}", maybe_sent=True
            )
        return None

    @staticmethod
    async def _reset(smtp: aiosmtplib.SMTP) -> None:
        """RSET after a refusal, so the connection can carry the next mail; one that cannot
        say it is closed (the pool reconnects it)."""
        if not smtp.is_connected:
            return
        try:
            await smtp.rset()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            smtp.close()

    def _drop(self, slot: int) -> None:
        if slot < len(self._pool):
            with contextlib.suppress(Exception):  # it is already broken; only forget it
                self._pool[slot].close()
            self._pool[slot] = self._new_client()


class _BrokenBeforeData(Exception):
    """The connection broke before DATA: the server cannot have taken the mail."""


def _refusal(code: int, message: str) -> Exception:
    """What a refusal means for the outbox: slow down, try later, or give up."""
    if is_throttle(code, message):
        return Throttled(f"SMTP {code} {message}")
    if 500 <= code < 600:
        return PermanentSendError(code, message)
    return TransientError(f"SMTP {code} {message}")


def _rcpt_refusal(code: int, message: str) -> Exception:
    """A refused recipient: a plain 450/451 there is about that mailbox (greylisting, busy),
    not our rate; only a reply that names a limit (or 421, 452, 4.7.x) is a throttle."""
    if code in (450, 451) and not is_throttle(0, message) and not _names_limit(message):
        return TransientError(f"recipient refused for now: {code} {message}")
    return _refusal(code, message)


def _names_limit(message: str) -> bool:
    text = message.lower()
    return any(word in text for word in ("rate", "limit", "too many", "throttl"))
