"""Settings from the environment: every mistake names the variable; secrets never show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.settings import (
    check_settings,
    load_settings,
    unknown_variables,
)
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


OAUTH = {
    **BASE,
    "FEEDBACKD_IMAP_AUTH": "oauth2",
    "FEEDBACKD_SMTP_AUTH": "oauth2",
    "FEEDBACKD_IMAP_PASSWORD": "",
    "FEEDBACKD_SMTP_PASSWORD": "",
    "FEEDBACKD_OAUTH2_TOKEN_URL": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
    "FEEDBACKD_OAUTH2_CLIENT_ID": "app-id",
    "FEEDBACKD_OAUTH2_REFRESH_TOKEN": "rt-configured-1",
}


def test_oauth2_needs_no_password_and_both_logins_share_one_client(tmp_path: Path) -> None:
    s = load_settings({**OAUTH, "FEEDBACKD_DB": str(tmp_path / "s.json")})
    assert (s.imap.auth, s.smtp.auth) == ("oauth2", "oauth2")
    assert s.imap.oauth2 is s.smtp.oauth2 is s.oauth2
    assert s.oauth2 is not None and s.oauth2.grant == "refresh_token"
    assert "rt-configured-1" in s.secrets  # taught to the log redactor
    assert "rt-configured-1" not in repr(s)


def test_password_stays_the_default_and_oauth2_is_read_only_when_used() -> None:
    s = load_settings({**BASE, "FEEDBACKD_OAUTH2_TOKEN_URL": "not a url"})
    assert s.imap.auth == "password" and s.oauth2 is None


def test_client_credentials_from_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("cs-from-file\n")
    env = {
        **OAUTH,
        "FEEDBACKD_SMTP_AUTH": "password",
        "FEEDBACKD_SMTP_PASSWORD": "smtp-pw",
        "FEEDBACKD_OAUTH2_REFRESH_TOKEN": "",
        "FEEDBACKD_OAUTH2_GRANT": "client_credentials",
        "FEEDBACKD_OAUTH2_CLIENT_SECRET_FILE": str(secret),
        "FEEDBACKD_OAUTH2_SCOPE": "https://outlook.office365.com/.default",
    }
    s = load_settings(env)
    assert s.oauth2 is not None and s.oauth2.client_secret.reveal() == "cs-from-file"
    assert s.smtp.oauth2 is None and s.imap.oauth2 is s.oauth2


def test_a_refresh_token_kept_by_authorize_is_enough(tmp_path: Path) -> None:
    db = tmp_path / "s.json"
    env = {**OAUTH, "FEEDBACKD_OAUTH2_REFRESH_TOKEN": "", "FEEDBACKD_DB": str(db)}
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert "feedbackd oauth2 authorize" in str(err.value)
    Path(f"{db}.oauth2").write_text('{"refresh_token": "rt-kept", "supersedes": ""}')
    assert load_settings(env).oauth2 is not None


@pytest.mark.parametrize(
    "change, variable",
    [
        ({"FEEDBACKD_IMAP_AUTH": "xoauth"}, "FEEDBACKD_IMAP_AUTH"),
        ({"FEEDBACKD_OAUTH2_TOKEN_URL": ""}, "FEEDBACKD_OAUTH2_TOKEN_URL"),
        ({"FEEDBACKD_OAUTH2_TOKEN_URL": "http://id.example/token"}, "FEEDBACKD_OAUTH2_TOKEN_URL"),
        ({"FEEDBACKD_OAUTH2_CLIENT_ID": ""}, "FEEDBACKD_OAUTH2_CLIENT_ID"),
        ({"FEEDBACKD_OAUTH2_GRANT": "password"}, "FEEDBACKD_OAUTH2_GRANT"),
        ({"FEEDBACKD_OAUTH2_GRANT": "client_credentials"}, "FEEDBACKD_OAUTH2_CLIENT_SECRET"),
        (
            {"FEEDBACKD_OAUTH2_GRANT": "client_credentials", "FEEDBACKD_OAUTH2_CLIENT_SECRET": "x"},
            "FEEDBACKD_OAUTH2_SCOPE",
        ),
        ({"FEEDBACKD_OAUTH2_CA_FILE": "/nonexistent/ca.pem"}, "FEEDBACKD_OAUTH2_CA_FILE"),
        (
            {"FEEDBACKD_OAUTH2_REFRESH_TOKEN": "", "FEEDBACKD_OAUTH2_REFRESH_TOKEN_FILE": "/nope"},
            "FEEDBACKD_OAUTH2_REFRESH_TOKEN_FILE",
        ),
    ],
)
def test_bad_oauth2_setting_names_the_variable(
    change: dict[str, str], variable: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({**OAUTH, "FEEDBACKD_DB": str(tmp_path / "s.json"), **change})
    assert variable in str(err.value)
    assert "rt-configured-1" not in str(err.value)


@pytest.mark.parametrize(
    "variable, value, allowed",
    [
        ("FEEDBACKD_IMAP_TLS", "ssl", "imaps"),
        ("FEEDBACKD_SMTP_TLS", "tls", "starttls"),
        ("FEEDBACKD_IMAP_PORT", "abc", "1 to 65535"),
        ("FEEDBACKD_SMTP_PORT", "0", "1 to 65535"),
        ("FEEDBACKD_IMAP_TLS_VERIFY", "false", "yes (the default) or no"),
        ("FEEDBACKD_LOG_LEVEL", "verbose", "debug, info, warning or error"),
        ("FEEDBACKD_POLL_INTERVAL", "5m", "1 to 300"),
        ("FEEDBACKD_POLL_INTERVAL", "0", "1 to 300"),
        ("FEEDBACKD_POLL_INTERVAL", "3600", "1 to 300"),
        ("FEEDBACKD_IMAP_HOST", "imaps://mail.example.com", "the name only"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_values_allowed(
    variable: str, value: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({**BASE, variable: value})
    [problem] = err.value.problems
    assert f"{variable}={value!r} is not valid" in problem.message or (
        variable in problem.message and "is not a host name" in problem.message
    )
    assert allowed in problem.message


def test_every_problem_is_told_at_once() -> None:
    bad = {"FEEDBACKD_IMAP_TLS": "ssl", "FEEDBACKD_SMTP_PORT": "abc", "FEEDBACKD_ADDRESS": ""}
    with pytest.raises(ConfigError) as err:
        load_settings({**BASE, **bad})
    told = " ".join(p.message for p in err.value.problems)
    assert len(err.value.problems) == 3
    assert all(name in told for name in bad)


def test_the_poll_interval_is_a_setting_with_a_default() -> None:
    assert load_settings(BASE).poll_interval == 30.0
    assert load_settings({**BASE, "FEEDBACKD_POLL_INTERVAL": "5"}).poll_interval == 5.0
    assert load_settings({"FEEDBACKD_POLL_INTERVAL": "5"}, need_servers=False).poll_interval == 5


def test_an_unknown_variable_is_a_warning_with_the_name_it_was_meant_to_be() -> None:
    s = load_settings({**BASE, "FEEDBACKD_IMAP_PROT": "143", "FEEDBACKD_COLOUR": "blue"})
    assert s.imap.port == 993  # the typo is not read...
    assert s.warnings == (  # ... and says so
        "settings: warning: unknown variable FEEDBACKD_COLOUR: feedbackd does not read it",
        "settings: warning: unknown variable FEEDBACKD_IMAP_PROT: did you mean "
        "FEEDBACKD_IMAP_PORT?",
    )
    assert unknown_variables(BASE) == []


def test_check_settings_collects_problems_and_warnings_without_raising() -> None:
    found = check_settings({**BASE, "FEEDBACKD_IMAP_TLS": "ssl", "FEEDBACKD_SMPT_HOST": "x"})
    assert found.settings is None
    [problem] = found.problems
    assert "FEEDBACKD_IMAP_TLS='ssl' is not valid" in problem.message
    assert found.warnings == [
        "settings: warning: unknown variable FEEDBACKD_SMPT_HOST: did you mean FEEDBACKD_SMTP_HOST?"
    ]


def test_check_settings_warns_of_a_password_only_the_service_can_see() -> None:
    """In a root shell there is no $CREDENTIALS_DIRECTORY: the unit's credential is not an error."""
    env = {k: v for k, v in BASE.items() if not k.endswith("_PASSWORD")}
    found = check_settings(env)
    assert found.problems == []
    assert found.settings is not None
    told = [w for w in found.warnings if "PASSWORD is not set here" in w]
    assert len(told) == 2
    assert told[0].startswith(
        "settings: warning: FEEDBACKD_IMAP_PASSWORD is not set here; the service needs it, "
        "from FEEDBACKD_IMAP_PASSWORD, FEEDBACKD_IMAP_PASSWORD_FILE or the systemd "
        "credential imap-password (the unit loads it from "
    )
    assert "FEEDBACKD_SMTP_PASSWORD" in told[1]
    with pytest.raises(ConfigError):  # the service itself still refuses to start without it
        load_settings(env)


def test_check_settings_finds_the_credential_files_the_unit_loads(tmp_path: Path) -> None:
    env = {k: v for k, v in BASE.items() if not k.endswith("_PASSWORD")}
    env["FEEDBACKD_CONFIG_DIR"] = str(tmp_path)
    (tmp_path / "imap-password").write_text("secret\n")
    told = [w for w in check_settings(env).warnings if "PASSWORD is not set here" in w]
    assert len(told) == 1 and "FEEDBACKD_SMTP_PASSWORD" in told[0]
    assert str(tmp_path / "smtp-password") in told[0]


def test_check_settings_of_no_servers_at_all_is_a_note() -> None:
    found = check_settings({"FEEDBACKD_RULES": "/etc/feedbackd/rules.yaml"})
    assert (found.problems, found.settings) == ([], None)
    assert found.warnings[0].startswith("settings: note: no mail servers are set")


def test_a_command_that_must_log_in_reads_the_credential_files_the_unit_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`feedbackd doctor` or `reprocess` in a root shell: no $CREDENTIALS_DIRECTORY, the
    passwords in /etc/feedbackd/imap-password and smtp-password, as LoadCredential= names them;
    the variables still win over the files."""
    for name in [*os.environ]:
        if name.startswith("FEEDBACKD_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)
    env = {k: v for k, v in BASE.items() if not k.endswith("_PASSWORD")}
    (tmp_path / "feedbackd.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (tmp_path / "imap-password").write_text("imap-from-file\n")
    (tmp_path / "smtp-password").write_text("smtp-from-file\n")
    monkeypatch.setenv("FEEDBACKD_CONFIG_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.imap.password.reveal() == "imap-from-file"
    assert settings.smtp.password.reveal() == "smtp-from-file"
    monkeypatch.setenv("FEEDBACKD_IMAP_PASSWORD", "from-the-shell")
    assert load_settings().imap.password.reveal() == "from-the-shell"


def test_an_oauth2_secret_is_found_where_the_unit_loads_it_like_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [*os.environ]:
        if name.startswith("FEEDBACKD_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)
    env = {
        **OAUTH,
        "FEEDBACKD_OAUTH2_REFRESH_TOKEN": "",
        "FEEDBACKD_OAUTH2_GRANT": "client_credentials",
        "FEEDBACKD_OAUTH2_SCOPE": "https://outlook.office365.com/.default",
        "FEEDBACKD_DB": str(tmp_path / "s.json"),
    }
    (tmp_path / "feedbackd.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    monkeypatch.setenv("FEEDBACKD_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "FEEDBACKD_OAUTH2_CLIENT_SECRET is not set" in str(err.value)
    (tmp_path / "oauth2-client-secret").write_text("cs-beside-the-unit\n")
    settings = load_settings()
    assert settings.oauth2 is not None
    assert settings.oauth2.client_secret.reveal() == "cs-beside-the-unit"


def test_without_servers_the_other_settings_are_checked_all_the_same() -> None:
    found = check_settings({"FEEDBACKD_POLL_INTERVAL": "5m"})
    [problem] = found.problems
    assert "FEEDBACKD_POLL_INTERVAL='5m' is not valid" in problem.message


def test_a_variable_of_ours_that_is_no_setting_is_not_taken_for_a_typo() -> None:
    [warning] = unknown_variables({"FEEDBACKD_CORPUS": "/srv/corpus"})
    assert warning.endswith("FEEDBACKD_CORPUS: feedbackd does not read it")


def test_the_smtp_connections_are_a_setting_with_a_default() -> None:
    assert load_settings(BASE).smtp_connections == 4
    assert load_settings({**BASE, "FEEDBACKD_SMTP_CONNECTIONS": "8"}).smtp_connections == 8
    for bad in ("0", "33", "many"):
        with pytest.raises(ConfigError, match=r"FEEDBACKD_SMTP_CONNECTIONS.*1 to 32"):
            load_settings({**BASE, "FEEDBACKD_SMTP_CONNECTIONS": bad})
    assert not load_settings({**BASE, "FEEDBACKD_SMTP_CONNECTIONS": "8"}).warnings
