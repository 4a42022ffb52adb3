"""The token keeper on a fake endpoint: renewal, rotation kept on disk across a restart, the old
refresh token never sent again, refusals told apart, no token in any log line."""

from __future__ import annotations

import json
import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from daemon.adapters.logs import redact
from daemon.adapters.oauth2 import Tokens
from daemon.adapters.settings import OAuth2Settings, Secret
from daemon.core.oauth2 import Kept, fingerprint
from daemon.errors import AuthRefused, TransientError


class Endpoint:
    """A rotating token endpoint: each refresh token works once."""

    def __init__(self, first: str = "rt-0") -> None:
        self.live = {first}
        self.sent: list[dict[str, str]] = []
        self.n = 0
        self.down = False

    def __call__(self, url: str, body: bytes, ca: str | None) -> tuple[int, bytes]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self.sent.append(form)
        if self.down:
            return 503, b'{"error": "temporarily_unavailable"}'
        self.n += 1
        if form["grant_type"] == "refresh_token":
            if form["refresh_token"] not in self.live:
                return 400, b'{"error": "invalid_grant", "error_description": "revoked"}'
            self.live.discard(form["refresh_token"])
            new = f"rt-{self.n}"
            self.live.add(new)
            answer = {"access_token": f"at-{self.n}", "expires_in": 60, "refresh_token": new}
        else:
            answer = {"access_token": f"at-{self.n}", "expires_in": 60}
        return 200, json.dumps(answer).encode()

    def presented(self) -> list[str]:
        return [f["refresh_token"] for f in self.sent if "refresh_token" in f]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def settings(tmp_path: Path, refresh: str = "rt-0", grant: str = "refresh_token") -> OAuth2Settings:
    return OAuth2Settings(
        "https://id.example/token",
        "app",
        Secret("client-secret"),
        grant,
        Secret(refresh),
        "mail",
        None,
        tmp_path / "store.json",
    )


def test_a_token_is_reused_until_due_then_renewed(tmp_path: Path) -> None:
    endpoint, clock = Endpoint(), Clock()
    tokens = Tokens(settings(tmp_path), clock, endpoint)
    first = tokens.access_token()
    assert tokens.access_token() is first and len(endpoint.sent) == 1
    clock.now += timedelta(seconds=45)  # 60 s token: due 15 s before expiry
    second = tokens.access_token()
    assert second.value != first.value and len(endpoint.sent) == 2


def test_a_refused_token_is_replaced_once(tmp_path: Path) -> None:
    endpoint = Endpoint()
    tokens = Tokens(settings(tmp_path), Clock(), endpoint)
    first = tokens.access_token()
    fresh = tokens.access_token(refused=first)
    assert fresh.value != first.value
    assert tokens.access_token(refused=first) is fresh  # another thread already renewed it


def test_the_rotated_token_is_kept_0600_and_survives_a_restart(tmp_path: Path) -> None:
    endpoint = Endpoint("rt-0")
    Tokens(settings(tmp_path), Clock(), endpoint).access_token()
    kept = tmp_path / "store.json.oauth2"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert "rt-1" in kept.read_text() and "rt-0" not in kept.read_text()
    # A new process with the same configuration: the kept token, not the configured one.
    Tokens(settings(tmp_path), Clock(), endpoint).access_token()
    assert endpoint.presented() == ["rt-0", "rt-1"]


def test_another_process_rotating_meanwhile_is_seen_before_the_next_refresh(
    tmp_path: Path,
) -> None:
    endpoint, clock = Endpoint(), Clock()
    daemon = Tokens(settings(tmp_path), clock, endpoint)
    daemon.access_token()
    Tokens(settings(tmp_path), clock, endpoint).access_token()  # `feedbackd reprocess`
    clock.now += timedelta(minutes=5)
    daemon.access_token()  # reads the file again: presents rt-2, not its own rt-1
    assert endpoint.presented() == ["rt-0", "rt-1", "rt-2"]


def test_a_refresh_token_the_admin_configures_later_wins(tmp_path: Path) -> None:
    endpoint = Endpoint()
    Tokens(settings(tmp_path), Clock(), endpoint).access_token()
    endpoint.live.add("rt-admin")
    Tokens(settings(tmp_path, refresh="rt-admin"), Clock(), endpoint).access_token()
    assert endpoint.presented()[-1] == "rt-admin"


def test_a_revoked_refresh_token_is_auth_refused_in_one_line(tmp_path: Path) -> None:
    endpoint = Endpoint("rt-other")
    with pytest.raises(AuthRefused) as refused:
        Tokens(settings(tmp_path, refresh="rt-0"), Clock(), endpoint).access_token()
    line = str(refused.value)
    assert "\n" not in line
    assert "invalid_grant" in line and "feedbackd oauth2 authorize" in line
    assert "rt-0" not in line
    assert not (tmp_path / "store.json.oauth2").exists()


def test_a_dead_refresh_token_is_not_sent_again_until_another_is_current(
    tmp_path: Path,
) -> None:
    endpoint = Endpoint("rt-other")
    tokens = Tokens(settings(tmp_path, refresh="rt-0"), Clock(), endpoint)
    for _ in range(3):  # the daemon's retries
        with pytest.raises(AuthRefused, match="invalid_grant"):
            tokens.access_token()
    assert endpoint.presented() == ["rt-0"]
    # `feedbackd oauth2 authorize` keeps a new one: the running daemon takes it at once.
    tokens.keep(Kept("rt-other", fingerprint("rt-0")))
    assert tokens.access_token().value
    assert endpoint.presented() == ["rt-0", "rt-other"]


def test_an_endpoint_that_is_down_is_transient(tmp_path: Path) -> None:
    endpoint = Endpoint()
    endpoint.down = True
    with pytest.raises(TransientError):
        Tokens(settings(tmp_path), Clock(), endpoint).access_token()


def test_client_credentials_sends_no_refresh_token_and_keeps_nothing(tmp_path: Path) -> None:
    endpoint = Endpoint()
    token = Tokens(settings(tmp_path, "", "client_credentials"), Clock(), endpoint).access_token()
    assert token.value and endpoint.presented() == []
    assert endpoint.sent[0]["client_secret"] == "client-secret"
    assert not (tmp_path / "store.json.oauth2").exists()


def test_no_token_reaches_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    endpoint, clock = Endpoint(), Clock()
    tokens = Tokens(settings(tmp_path), clock, endpoint)
    with caplog.at_level(logging.DEBUG, logger="feedbackd"):
        first = tokens.access_token()
        clock.now += timedelta(minutes=5)
        second = tokens.access_token()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "rotated" in text
    for secret in (first.value, second.value, "rt-1", "rt-2", "rt-0", "client-secret"):
        assert secret not in text
    # and the redactor knows every token it handed out, for any line that might quote one
    assert redact(f"token {second.value} and rt-2") == "token *** and ***"
