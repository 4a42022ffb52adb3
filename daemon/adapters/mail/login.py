"""Logging in, one function per protocol: every IMAP and SMTP login of feedbackd goes through
`imap_login` or `smtp_login`, so the daemon, the commands and the connection checks all speak
password or OAuth2 alike (FEEDBACKD_IMAP_AUTH / FEEDBACKD_SMTP_AUTH).

With OAuth2 the login is SASL XOAUTH2 with an access token from adapters/oauth2, renewed before
it expires. A server that refuses the token gets one more try with a fresh one (a token revoked
early, a clock that disagrees); a second refusal is AuthRefused, as a wrong password is. Both
return when the session should be logged in anew (the token's renewal time; None for a
password): Exchange Online ends a session whose token expired, so the caller reconnects first.

imap-tools' `MailBox.xoauth2` answers every server challenge with the token again, but a server
that refuses the token sends its reason as a challenge and waits for an empty line before its
NO (Dovecot, Gmail): so the XOAUTH2 exchange is done here the same way, answering that one with
an empty line.
"""

from __future__ import annotations

import imaplib
from datetime import datetime

import aiosmtplib
from imap_tools import BaseMailBox
from imap_tools.errors import MailboxLoginError

from daemon.adapters.oauth2 import tokens_for
from daemon.adapters.settings import Server
from daemon.core.oauth2 import AccessToken, renew_at, xoauth2
from daemon.errors import AuthRefused, TransientError

MAILBOX = "INBOX"


def imap_login(box: BaseMailBox, server: Server) -> datetime | None:
    """Log `box` in as `server.user` and select INBOX; AuthRefused if the server will not."""
    if server.auth != "oauth2" or server.oauth2 is None:
        try:
            box.login(server.user, server.password.reveal(), initial_folder=MAILBOX)
        except imaplib.IMAP4.abort:
            raise
        except (imaplib.IMAP4.error, MailboxLoginError):  # the server said NO
            raise AuthRefused(
                f"IMAP login as {server.user} refused by {server.host}: check "
                "FEEDBACKD_IMAP_USER and the password"
            ) from None
        return None
    if "AUTH=XOAUTH2" not in box.client.capabilities:
        raise AuthRefused(_not_offered("IMAP", server))
    tokens = tokens_for(server.oauth2)
    token = tokens.access_token()
    if not _imap_xoauth2(box, server.user, token):
        token = tokens.access_token(refused=token)
        if not _imap_xoauth2(box, server.user, token):
            raise AuthRefused(_refused("IMAP", server))
    box.folder.set(MAILBOX)
    return renew_at(token)


def _imap_xoauth2(box: BaseMailBox, user: str, token: AccessToken) -> bool:
    """One AUTHENTICATE XOAUTH2; False when the server said NO (the session stays usable)."""
    said: list[bytes] = []

    def respond(challenge: bytes) -> bytes:
        said.append(challenge)
        # The first answer is the token; a challenge after it is the server's refusal (a JSON
        # status), answered with an empty line so that it sends its NO.
        return xoauth2(user, token.value).encode() if len(said) == 1 else b""

    try:
        result = box.client.authenticate("XOAUTH2", respond)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error:
        return False
    box.login_result = result  # type: ignore[assignment]  # imap-tools declares it None
    return True


async def smtp_login(smtp: aiosmtplib.SMTP, server: Server) -> datetime | None:
    """Authenticate a connected SMTP client; AuthRefused if the server will not."""
    if server.auth != "oauth2" or server.oauth2 is None:
        if not server.user:
            return None
        await _smtp_password_login(smtp, server)
        return None
    if not smtp.server_auth_methods:
        await smtp.ehlo()
    if "xoauth2" not in smtp.server_auth_methods:
        raise AuthRefused(_not_offered("SMTP", server))
    tokens = tokens_for(server.oauth2)
    token = tokens.access_token()
    try:
        await smtp.auth_xoauth2(server.user, token.value)
    except aiosmtplib.SMTPAuthenticationError:
        token = tokens.access_token(refused=token)
        try:
            await smtp.auth_xoauth2(server.user, token.value)
        except aiosmtplib.SMTPAuthenticationError:
            raise AuthRefused(_refused("SMTP", server)) from None
    return renew_at(token)


async def _smtp_password_login(smtp: aiosmtplib.SMTP, server: Server) -> None:
    """A refusal (535, 534, 5.7.8, or no mechanism we share) is AuthRefused, a temporary one
    (454) TransientError, a broken connection stays what it is."""
    s = server
    try:
        await smtp.login(s.user, s.password.reveal())
    except aiosmtplib.SMTPAuthenticationError as exc:
        if exc.code < 500:
            raise TransientError(f"SMTP login at {s.host}: {exc.code} {exc.message}") from None
        raise AuthRefused(
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
        raise AuthRefused(
            f"SMTP login as {s.user} impossible at {s.host}:{s.port}: {exc} (offered: "
            f"{' '.join(offered).upper() or 'no AUTH'}); check FEEDBACKD_SMTP_TLS and "
            "FEEDBACKD_SMTP_PORT (most servers offer AUTH on 587 after STARTTLS)"
        ) from None


def _not_offered(kind: str, server: Server) -> str:
    return (
        f"{kind} server {server.host} does not offer AUTH XOAUTH2: set FEEDBACKD_{kind}_AUTH="
        "password, or check the host (Microsoft 365: outlook.office365.com, smtp.office365.com)"
    )


def _refused(kind: str, server: Server) -> str:
    return (
        f"{kind} XOAUTH2 login as {server.user} refused by {server.host}, also with a fresh "
        f"token: check FEEDBACKD_{kind}_USER, FEEDBACKD_OAUTH2_SCOPE and that the application "
        "may use this mailbox (docs/mailboxes.md)"
    )
