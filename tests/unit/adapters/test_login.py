"""The one login function per protocol, on fakes: XOAUTH2's refusal challenge answered with an
empty line, one more try with a fresh token, then AuthRefused; a password login unchanged."""

from __future__ import annotations

import asyncio
import imaplib
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from daemon.adapters import oauth2 as oauth2_adapter
from daemon.adapters.mail.login import imap_login, smtp_login
from daemon.adapters.settings import OAuth2Settings, Secret, Server
from daemon.core.oauth2 import AccessToken
from daemon.errors import AuthRefused


class FakeTokens:
    def __init__(self) -> None:
        self.n = 0
        self.refused: list[str] = []

    def access_token(self, refused: AccessToken | None = None) -> AccessToken:
        if refused is not None:
            self.refused.append(refused.value)
        self.n += 1
        return AccessToken(f"at-{self.n}")


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> FakeTokens:
    fake = FakeTokens()
    monkeypatch.setattr("daemon.adapters.mail.login.tokens_for", lambda settings: fake)
    return fake


def server(tmp_path: Path) -> Server:
    client = OAuth2Settings(
        "https://id/token",
        "app",
        Secret(""),
        "refresh_token",
        Secret("rt"),
        "",
        None,
        tmp_path / "s.json",
    )
    return Server(
        "mail.example", 993, "fb@example.test", Secret(""), "imaps", None, True, "oauth2", client
    )


class FakeClient:
    """imaplib's authenticate: the server's first challenge is empty; a refused token gets a
    JSON challenge whose answer must be empty, then NO."""

    capabilities = ("IMAP4REV1", "AUTH=PLAIN", "AUTH=XOAUTH2")

    def __init__(self, good: set[str]) -> None:
        self.good = good
        self.answers: list[bytes] = []

    def authenticate(self, mechanism: str, callback: Any) -> tuple[str, list[bytes]]:
        first = callback(b"")
        self.answers.append(first)
        if any(f"Bearer {t}".encode() in first for t in self.good):
            return "OK", [b"Logged in"]
        self.answers.append(callback(b'{"status":"401"}'))
        raise imaplib.IMAP4.error("AUTHENTICATIONFAILED")


class FakeBox:
    def __init__(self, good: set[str]) -> None:
        self.client = FakeClient(good)
        self.selected = ""
        self.login_result: Any = None
        outer = self

        class Folder:
            def set(self, name: str) -> None:
                outer.selected = name

        self.folder = Folder()


def test_imap_refusal_is_answered_with_an_empty_line_and_tried_once_more(
    tokens: FakeTokens, tmp_path: Path
) -> None:
    box = FakeBox(good={"at-2"})
    renew = imap_login(box, server(tmp_path))  # type: ignore[arg-type]
    assert renew is None  # a token without expiry: no session renewal
    assert box.client.answers[1] == b""  # the refusal's challenge
    assert tokens.refused == ["at-1"] and box.selected == "INBOX"


def test_imap_refused_twice_is_auth_refused_without_the_token(
    tokens: FakeTokens, tmp_path: Path
) -> None:
    with pytest.raises(AuthRefused) as refused:
        imap_login(FakeBox(good=set()), server(tmp_path))  # type: ignore[arg-type]
    assert "at-" not in str(refused.value) and "fresh token" in str(refused.value)


class FakeSMTP:
    def __init__(self, good: set[str]) -> None:
        self.good = good
        self.tried: list[str] = []
        self.server_auth_methods = ["plain", "login", "xoauth2"]

    async def auth_xoauth2(self, user: str, token: str) -> None:
        self.tried.append(token)
        if token not in self.good:
            raise aiosmtplib.SMTPAuthenticationError(535, "5.7.8 token refused")


def test_smtp_refused_token_is_renewed_once(tokens: FakeTokens, tmp_path: Path) -> None:
    smtp = FakeSMTP(good={"at-2"})
    asyncio.run(smtp_login(smtp, server(tmp_path)))  # type: ignore[arg-type]
    assert smtp.tried == ["at-1", "at-2"]
    with pytest.raises(AuthRefused):
        asyncio.run(smtp_login(FakeSMTP(good=set()), server(tmp_path)))  # type: ignore[arg-type]


def test_the_module_shares_one_token_keeper_per_client(tmp_path: Path) -> None:
    client = server(tmp_path).oauth2
    assert client is not None
    assert oauth2_adapter.tokens_for(client) is oauth2_adapter.tokens_for(client)


def test_a_server_without_xoauth2_is_told_before_any_token_is_asked_for(
    tokens: FakeTokens, tmp_path: Path
) -> None:
    box = FakeBox(good={"at-1"})
    box.client.capabilities = ("IMAP4REV1", "AUTH=PLAIN")  # type: ignore[misc]
    with pytest.raises(AuthRefused, match="does not offer AUTH XOAUTH2"):
        imap_login(box, server(tmp_path))  # type: ignore[arg-type]
    smtp = FakeSMTP(good={"at-1"})
    smtp.server_auth_methods = ["plain"]
    with pytest.raises(AuthRefused, match="FEEDBACKD_SMTP_AUTH"):
        asyncio.run(smtp_login(smtp, server(tmp_path)))  # type: ignore[arg-type]
    assert tokens.n == 0
