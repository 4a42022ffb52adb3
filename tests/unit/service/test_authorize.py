"""The device flow of `feedbackd oauth2 authorize` on a scripted endpoint: the interval the
endpoint asks for, slower on slow_down, one clear refusal for a declined or expired sign-in."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from daemon.adapters.settings import OAuth2Settings, Secret
from daemon.errors import AuthRefused, ConfigError
from daemon.service.authorize import authorize

START = {
    "device_code": "dc",
    "user_code": "WXYZ-1234",
    "verification_uri": "https://id/act",
    "interval": 2,
    "expires_in": 600,
}


def settings(tmp_path: Path, grant: str = "refresh_token") -> OAuth2Settings:
    return OAuth2Settings(
        "https://id.example/token",
        "app",
        Secret(""),
        grant,
        Secret(""),
        "mail",
        None,
        tmp_path / "store.json",
    )


class Script:
    def __init__(self, *polls: dict[str, object]) -> None:
        self.polls = list(polls)
        self.slept: list[float] = []
        self.t = 0.0

    def post(self, url: str, body: bytes, ca: str | None) -> tuple[int, bytes]:
        if url.endswith("/device"):
            return 200, json.dumps(START).encode()
        answer = self.polls.pop(0)
        return (400 if "error" in answer else 200), json.dumps(answer).encode()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    def run(self, tmp_path: Path, shown: list[str] | None = None) -> Path:
        return authorize(
            settings(tmp_path),
            "https://id.example/device",
            (shown if shown is not None else []).append,
            post=self.post,
            sleep=self.sleep,
            clock=lambda: self.t,
        )


def test_pending_then_slow_down_then_done_keeps_the_token(tmp_path: Path) -> None:
    script = Script(
        {"error": "authorization_pending"},
        {"error": "slow_down"},
        {"access_token": "at", "refresh_token": "rt-first", "expires_in": 3600},
    )
    shown: list[str] = []
    kept = script.run(tmp_path, shown)
    assert script.slept == [2, 2, 7]  # the endpoint's interval, +5 s after slow_down
    assert "https://id/act" in shown[0] and "WXYZ-1234" in shown[0]
    assert "rt-first" in kept.read_text()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


@pytest.mark.parametrize("error", ["access_denied", "expired_token"])
def test_a_declined_or_expired_sign_in_keeps_nothing(tmp_path: Path, error: str) -> None:
    with pytest.raises(AuthRefused) as refused:
        Script({"error": "authorization_pending"}, {"error": error}).run(tmp_path)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "store.json.oauth2").exists()


def test_the_code_expires_on_our_clock_too(tmp_path: Path) -> None:
    script = Script(*[{"error": "authorization_pending"}] * 400)
    with pytest.raises(AuthRefused, match="expired"):
        script.run(tmp_path)
    assert sum(script.slept) <= START["expires_in"] + START["interval"]  # type: ignore[operator]


def test_no_refresh_token_says_what_to_ask_for(tmp_path: Path) -> None:
    with pytest.raises(AuthRefused, match="offline_access"):
        Script({"access_token": "at", "expires_in": 3600}).run(tmp_path)


def test_client_credentials_needs_no_authorization(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="client_credentials"):
        authorize(settings(tmp_path, "client_credentials"), "", print)
