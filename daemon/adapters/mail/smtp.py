"""The SMTP adapter: hand finished mails to the submission server, say what went wrong and how.

aiosmtplib is async and the daemon's loop is not, so this keeps its own event loop and a few
open connections (sending a backlog over one connection at a time would leave the server idle
between replies). Outcomes are split the way the outbox needs them: a 5xx is permanent
(PermanentSendError: mark failed, tell the feedback center), a login the server refuses is
AuthRefused (a person must fix the password: the mail waits, nothing is failed), everything
else is transient (TransientError: back off and retry).

A refused login is not tried again at once: after a refusal the Sender answers with the same
AuthRefused, without a word to the server, for LOGIN_BACKOFF seconds (doubling up to
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

import aiosmtplib

from daemon.adapters.mail.tls import certificate_refused, tls_context
from daemon.adapters.settings import Server
from daemon.core.mail.compose import seven_bit
from daemon.errors import AuthRefused, ConfigError, PermanentSendError, TransientError

TIMEOUT = 30.0
CONNECTIONS = 4
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
    def __init__(self, server: Server, timeout: float = TIMEOUT, connections: int = CONNECTIONS):
        self.server = server
        self.timeout = timeout
        self.connections = connections
        self._loop = asyncio.new_event_loop()
        self._pool: list[aiosmtplib.SMTP] = []
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

        async def worker(slot: int) -> None:
            while not queue.empty():
                i = queue.get_nowait()
                results[i] = await self._send_one(slot, envs[i])

        n = max(1, min(self.connections, len(envs)))
        await asyncio.gather(*(worker(slot) for slot in range(n)))
        return results

    async def _connection(self, slot: int) -> aiosmtplib.SMTP:
        """A connected, logged-in client for `slot`; AuthRefused when the server will not have
        our login (or, within the backoff after a refusal, without asking it again)."""
        while len(self._pool) <= slot:
            self._pool.append(self._new_client())
        smtp = self._pool[slot]
        if smtp.is_connected:
            return smtp
        async with self._login_lock:
            if self._refused is not None and time.monotonic() < self._retry_login_at:
                raise self._refused
            s = self.server
            try:
                await smtp.connect()
            except ssl.SSLCertVerificationError as exc:
                smtp.close()
                raise ConfigError(certificate_refused("SMTP", s, exc)) from None
            if s.user:
                await self._login(smtp)
        return smtp

    async def _login(self, smtp: aiosmtplib.SMTP) -> None:
        """Log in; a refusal (535, 534, 5.7.8, or no mechanism we share) is AuthRefused, a
        temporary one (454) TransientError, a broken connection stays what it is."""
        s = self.server
        try:
            await smtp.login(s.user, s.password.reveal())
        except aiosmtplib.SMTPAuthenticationError as exc:
            smtp.close()
            if exc.code < 500:
                raise TransientError(f"SMTP login at {s.host}: {exc.code} {exc.message}") from None
            raise self._refuse(
                f"SMTP login as {s.user} refused by {s.host}:{s.port} ({exc.code} "
                f"{exc.message}): check FEEDBACKD_SMTP_USER and the password"
            ) from None
        except (
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError,
            aiosmtplib.SMTPResponseException,  # EHLO refused: not about our login
        ):
            raise
        except aiosmtplib.SMTPException as exc:  # AUTH not offered, or no mechanism we share
            offered = smtp.server_auth_methods
            smtp.close()
            raise self._refuse(
                f"SMTP login as {s.user} impossible at {s.host}:{s.port}: {exc} (offered: "
                f"{' '.join(offered).upper() or 'no AUTH'}); check FEEDBACKD_SMTP_TLS and "
                "FEEDBACKD_SMTP_PORT (most servers offer AUTH on 587 after STARTTLS)"
            ) from None
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
        try:
            smtp = await self._connection(slot)
        except ConfigError as exc:
            return exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            self._drop(slot)
            return TransientError(f"SMTP {self.server.host}:{self.server.port}: {exc}")
        raw, options = env.raw, []
        if not raw.isascii():
            if smtp.supports_extension("8bitmime"):
                options.append("BODY=8BITMIME")
            else:
                raw = seven_bit(raw)
        try:
            errors, _ = await smtp.sendmail(
                env.sender, list(env.recipients), raw, mail_options=options
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                return PermanentSendError(codes[0], "; ".join(r.message for r in exc.recipients))
            return TransientError(f"recipients refused for now: {exc}")
        except aiosmtplib.SMTPResponseException as exc:  # an explicit refusal: nothing was taken
            if 500 <= exc.code < 600:
                return PermanentSendError(exc.code, exc.message)
            return TransientError(f"SMTP {exc.code} {exc.message}")
        except UnicodeEncodeError:
            return PermanentSendError(
                553, "a non-ASCII address needs SMTPUTF8, which the server did not offer"
            )
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            # Broken off mid-transaction: the server may or may not have taken the mail.
            self._drop(slot)
            return TransientError(
                f"SMTP {self.server.host}:{self.server.port}: {exc}", maybe_sent=True
            )
        # The first recipient is the person the mail is for (the others are our own copy):
        # if the server refused that one, the mail did not go out, whatever else it took.
        refused = errors.get(env.recipients[0]) if errors else None
        if refused is not None:
            code, msg = refused
            return PermanentSendError(code, msg) if 500 <= code < 600 else TransientError(msg)
        return None

    def _drop(self, slot: int) -> None:
        if slot < len(self._pool):
            with contextlib.suppress(Exception):  # it is already broken; only forget it
                self._pool[slot].close()
            self._pool[slot] = self._new_client()
