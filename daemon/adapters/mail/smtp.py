"""The SMTP adapter: hand finished mails to the submission server, say what went wrong and how.

aiosmtplib is async and the daemon's loop is not, so this keeps its own event loop and a few
open connections (sending a backlog over one connection at a time would leave the server idle
between replies). Outcomes are split the way the outbox needs them: a 5xx is permanent
(PermanentSendError: mark failed, tell the feedback center), everything else is transient
(TransientError: back off and retry).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosmtplib

from daemon.adapters.mail.login import smtp_login
from daemon.adapters.mail.tls import tls_context
from daemon.adapters.settings import Server
from daemon.core.mail.compose import seven_bit
from daemon.errors import ConfigError, PermanentSendError, TransientError

TIMEOUT = 30.0
CONNECTIONS = 4


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: tuple[str, ...]
    raw: bytes


class Sender:
    def __init__(self, server: Server, timeout: float = TIMEOUT, connections: int = CONNECTIONS):
        self.server = server
        self.timeout = timeout
        self.connections = connections
        self._loop = asyncio.new_event_loop()
        self._pool: list[aiosmtplib.SMTP] = []
        self._renew_at: dict[int, datetime | None] = {}  # slot -> when its login is due

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
        while len(self._pool) <= slot:
            self._pool.append(self._new_client())
        smtp = self._pool[slot]
        renew = self._renew_at.get(slot)
        if smtp.is_connected and renew is not None and datetime.now(UTC) >= renew:
            # The token this session logged in with is due: Exchange Online would end it.
            with contextlib.suppress(Exception):
                await smtp.quit()
            smtp.close()
        if not smtp.is_connected:
            await smtp.connect()
            try:
                self._renew_at[slot] = await smtp_login(smtp, self.server)
            except BaseException:  # never keep a connection that is not logged in
                smtp.close()
                raise
        return smtp

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
