"""Settings from the environment: every mistake names the variable; secrets never show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.settings import load_settings
from daemon.errors import ConfigError

BASE = {
    "FEEDBACKD_IMAP_HOST": "imap.example.com",
    "FEEDBACKD_IMAP_USER": "fb",
    "FEEDBACKD_IMAP_PASSWORD": "imap-pw-123",
    "FEEDBACKD_SMTP_HOST": "smtp.example.com",
    "FEEDBACKD_SMTP_USER": "fb",
    "FEEDBACKD_SMTP_PASSWORD": "smtp-pw-456",
    "FEEDBACKD_ADDRESS": "feedback@example.com",
}


def test_defaults() -> None:
    s = load_settings(BASE)
    assert (s.imap.port, s.imap.tls) == (993, "imaps")
    assert (s.smtp.port, s.smtp.tls) == (587, "starttls")
    assert s.rules == REPO / "rules.yaml"
    assert s.templates == REPO / "templates"


@pytest.mark.parametrize(
    "change, variable",
    [
        ({"FEEDBACKD_IMAP_HOST": ""}, "FEEDBACKD_IMAP_HOST"),
        ({"FEEDBACKD_SMTP_PORT": "99999"}, "FEEDBACKD_SMTP_PORT"),
        ({"FEEDBACKD_IMAP_TLS": "ssl"}, "FEEDBACKD_IMAP_TLS"),
        ({"FEEDBACKD_SMTP_TLS": "plain"}, "FEEDBACKD_SMTP_TLS"),
        ({"FEEDBACKD_ADDRESS": "nobody"}, "FEEDBACKD_ADDRESS"),
        ({"FEEDBACKD_IMAP_PASSWORD": ""}, "FEEDBACKD_IMAP_PASSWORD"),
        (
            {"FEEDBACKD_SMTP_PASSWORD_FILE": "/nonexistent/pw", "FEEDBACKD_SMTP_PASSWORD": ""},
            "FEEDBACKD_SMTP_PASSWORD_FILE",
        ),
        ({"FEEDBACKD_IMAP_CA_FILE": "/nonexistent/ca.pem"}, "FEEDBACKD_IMAP_CA_FILE"),
    ],
)
def test_bad_setting_names_the_variable(change: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({**BASE, **change})
    assert variable in str(err.value)


def test_plain_is_allowed_on_loopback_only() -> None:
    s = load_settings({**BASE, "FEEDBACKD_IMAP_HOST": "127.0.0.1", "FEEDBACKD_IMAP_TLS": "plain"})
    assert (s.imap.tls, s.imap.port) == ("plain", 143)


def test_password_file_and_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / "imap-password").write_text("from-credential\n")
    pw = tmp_path / "smtp.pw"
    pw.write_text("from-file\n")
    env = {
        **BASE,
        "FEEDBACKD_IMAP_PASSWORD": "",
        "FEEDBACKD_SMTP_PASSWORD": "",
        "CREDENTIALS_DIRECTORY": str(tmp_path),
        "FEEDBACKD_SMTP_PASSWORD_FILE": str(pw),
    }
    s = load_settings(env)
    assert s.imap.password.reveal() == "from-credential"
    assert s.smtp.password.reveal() == "from-file"


def test_passwords_never_in_repr() -> None:
    s = load_settings(BASE)
    text = repr(s) + str(s.imap) + str(s.smtp.password)
    assert "imap-pw-123" not in text and "smtp-pw-456" not in text


def test_cli_exits_78_with_one_line_naming_the_variable() -> None:
    env = {"PATH": "/usr/bin:/bin", **BASE, "FEEDBACKD_IMAP_HOST": ""}
    out = subprocess.run(
        [sys.executable, "-m", "daemon", "once"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 78
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "FEEDBACKD_IMAP_HOST" in lines[0]
    assert "imap-pw-123" not in out.stderr


def test_smtp_rate_is_read_and_a_bad_one_names_the_variable() -> None:
    from daemon.core.sendrate import parse_rates

    assert load_settings(BASE).smtp_rate == ()
    rates = load_settings(dict(BASE, FEEDBACKD_SMTP_RATE="30/min,10000/day")).smtp_rate
    assert rates == parse_rates("30/min,10000/day")
    with pytest.raises(ConfigError, match=r"FEEDBACKD_SMTP_RATE='30/minute' is not valid.*30/min"):
        load_settings(dict(BASE, FEEDBACKD_SMTP_RATE="30/minute"))
