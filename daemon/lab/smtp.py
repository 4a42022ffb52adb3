"""The lab's SMTP server: aiosmtpd with STARTTLS and AUTH required, delivering into Dovecot.

Its own module so that the mail lab's two servers read apart: this one only accepts, checks
AUTH and hands over (lab/lmtp.py); Dovecot's child process lives in lab/dovecot.py. aiosmtpd is
a test/demo dependency, imported here at the top: nothing in production imports the lab.
`LabHandler.reject` lets a test make the server refuse mail (e.g. 550) to exercise
permanent-failure handling; `reject_from` refuses a sender at MAIL FROM (a login that may not
send as that address).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import warnings
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from daemon.lab.lmtp import lmtp_deliver

# aiosmtpd 1.4 warns about its own internals on every AUTH; nothing for us to act on.
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
logging.getLogger("mail.log").addFilter(lambda record: "login_data" not in record.getMessage())


class LabHandler:
    def __init__(self, lmtp_socket: Path):
        self.lmtp_socket = lmtp_socket
        self.accepted = 0
        self.reject: dict[str, str] = {}  # recipient -> SMTP reply, e.g. "550 5.1.1 no such user"
        self.reject_from: dict[str, str] = {}  # sender -> SMTP reply, e.g. "553 5.7.1 not yours"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
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
        return "250 2.0.0 delivered"


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


def start_smtp_server(port: int, tls: ssl.SSLContext, password: str, lmtp_socket: Path) -> LabSMTP:
    handler = LabHandler(lmtp_socket)
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
