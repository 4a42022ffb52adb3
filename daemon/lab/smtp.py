"""The lab's SMTP server: aiosmtpd with STARTTLS and AUTH required, delivering into Dovecot.

Its own module so that the mail lab's two servers read apart: this one only accepts, checks
AUTH and hands over (lab/lmtp.py); Dovecot's child process lives in lab/dovecot.py. aiosmtpd is
a test/demo dependency, imported here at the top: nothing in production imports the lab.
`LabHandler.reject` lets a test make the server refuse mail (e.g. 550) to exercise
permanent-failure handling; `reject_from` refuses a sender at MAIL FROM (a login that may not
send as that address). The other knobs play what real submission servers do:
`limit` (at most N messages in any window of W seconds, then `limit_reply`, a 450 4.7.0 or a
421 that also closes the connection, as providers throttle), `drop_at_mail` (close the next N
connections at MAIL FROM, as a server that restarted or idled a connection out),
`drop_after_data` (take the message, then close before the reply: the ambiguous case), `max_size`
(refuse a larger message with 552 5.3.4). `received` lists every message taken, in order.
With an OAuth2 endpoint (`start_smtp_server(oauth2=...)`) it also takes AUTH XOAUTH2, as
Microsoft 365 and Gmail do.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email
import json
import logging
import ssl
import time
import urllib.request
import warnings
from collections import deque
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from daemon.core.oauth2 import parse_xoauth2, xoauth2_error
from daemon.lab.lmtp import lmtp_deliver

# aiosmtpd 1.4 warns about its own internals on every AUTH; nothing for us to act on.
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
logging.getLogger("mail.log").addFilter(lambda record: "login_data" not in record.getMessage())


@dataclass(frozen=True)
class Received:
    """One message the server took: its Message-ID and envelope recipients."""

    message_id: str
    recipients: tuple[str, ...]


class LabHandler:
    def __init__(self, lmtp_socket: Path):
        self.lmtp_socket = lmtp_socket
        self.accepted = 0
        self.reject: dict[str, str] = {}  # recipient -> SMTP reply, e.g. "550 5.1.1 no such user"
        self.limit: tuple[int, float] | None = None  # (messages, seconds) in any such window
        self.limit_reply = "450 4.7.0 rate limit exceeded, try again later"
        self.drop_at_mail = 0  # close this many of the next connections at MAIL FROM
        self.drop_after_data = 0  # take this many next messages, then close without a reply
        self.max_size: int | None = None  # octets; a larger message gets 552 5.3.4
        self.received: list[Received] = []
        self.reject_from: dict[str, str] = {}  # sender -> SMTP reply, e.g. "553 5.7.1 not yours"
        self.throttled = 0  # replies of `limit_reply` given
        self._taken: deque[float] = deque()  # monotonic times of messages taken, for `limit`

    def settle(self) -> None:
        """Every knob back to "take everything" (tests that set one call this when done)."""
        self.reject.clear()
        self.reject_from.clear()
        self.limit, self.drop_at_mail, self.max_size = None, 0, None
        self.drop_after_data = 0
        self._taken.clear()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.drop_at_mail > 0:
            self.drop_at_mail -= 1
            server.transport.close()  # no reply: the client reads EOF, as from a restart
            return "421 4.3.2 closing"
        reply = self.reject_from.get(address.lower())
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.reject.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        if self.max_size is not None and len(data) > self.max_size:
            return "552 5.3.4 Message size exceeds fixed maximum message size"
        if self.limit is not None:
            count, window = self.limit
            now = time.monotonic()
            while self._taken and self._taken[0] <= now - window:
                self._taken.popleft()
            if len(self._taken) >= count:
                self.throttled += 1
                if self.limit_reply.startswith("421"):
                    asyncio.get_running_loop().call_later(0.05, server.transport.close)
                return self.limit_reply
            self._taken.append(now)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                None,
                lmtp_deliver,
                self.lmtp_socket,
                data,
                envelope.mail_from,
                list(envelope.rcpt_tos),
            )
        except Exception as exc:  # noqa: BLE001  # Dovecot down: a 4xx, the client retries
            return f"451 4.3.0 local delivery failed: {exc}"
        self.accepted += 1
        head = email.message_from_bytes(data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
        self.received.append(Received(str(head.get("Message-ID", "")), tuple(envelope.rcpt_tos)))
        if self.drop_after_data > 0:  # taken, but the client never hears so: ambiguous
            self.drop_after_data -= 1
            server.transport.close()
        return "250 2.0.0 delivered"


class OAuthLabHandler(LabHandler):
    """Also offers AUTH XOAUTH2, each token checked at the lab's introspection endpoint over
    HTTPS (as Dovecot's oauth2 passdb checks it); a refused token gets the JSON challenge real
    servers send, then 535 after the client's empty line."""

    def __init__(self, lmtp_socket: Path, introspection_url: str, ca_file: Path):
        super().__init__(lmtp_socket)
        self.introspection_url = introspection_url
        self.ca_file = ca_file

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        if len(args) == 2:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, handled=False)
        else:
            answer = await server.challenge_auth("")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=True)
            blob = answer
        user, token = parse_xoauth2(blob)
        active = False
        if user and token:
            check = partial(self._active, user, token)
            active = await asyncio.get_running_loop().run_in_executor(None, check)
        if active:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        await server.challenge_auth(xoauth2_error("mail"), encode_to_b64=False)
        return AuthResult(success=False, handled=False)

    def _active(self, user: str, token: str) -> bool:  # in an executor: urllib blocks
        context = ssl.create_default_context(cafile=str(self.ca_file))
        request = urllib.request.Request(
            self.introspection_url, data=urlencode({"token": token}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            found = json.loads(answer.read())
        return bool(found.get("active")) and found.get("username") == user


class _Auth:
    def __init__(self, password: str):
        self.password = password.encode()

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and auth_data.password == self.password:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


class LabSMTP:
    def __init__(self, controller: Controller, handler: LabHandler):
        self.controller = controller
        self.handler = handler

    def stop(self) -> None:
        self.controller.stop()


def start_smtp_server(
    port: int,
    tls: ssl.SSLContext,
    password: str,
    lmtp_socket: Path,
    oauth2: tuple[str, Path] | None = None,
) -> LabSMTP:
    """`oauth2`: (introspection URL, CA file) to accept AUTH XOAUTH2 besides PLAIN and LOGIN."""
    handler = (
        OAuthLabHandler(lmtp_socket, *oauth2) if oauth2 is not None else LabHandler(lmtp_socket)
    )
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        authenticator=_Auth(password),
        auth_require_tls=True,
        auth_exclude_mechanism=["CRAM-MD5"],
        ready_timeout=10,
    )
    controller.start()
    return LabSMTP(controller, handler)
