"""Where to connect and with what secret: read from the environment, checked before anything runs.

Connection settings never live in rules.yaml (that file is business logic an admin edits and
shares). Which files and variables apply is found by `configdir` (the discovery order: --config,
FEEDBACKD_CONFIG_DIR, /etc/feedbackd, the packaged defaults; the folder's feedbackd.env beneath
the environment), so the service and every command read the same ones. Every problem names
the variable and what to set, and ends the process with exit 78 so systemd does not
restart-loop on a typo. Passwords are wrapped in `Secret`, whose repr and str
never show the value, so they cannot leak through logs, reprs or tracebacks.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from daemon.adapters.configdir import config_dir, environment, store_path
from daemon.core.sendrate import Rate, parse_rates
from daemon.errors import ConfigError, Problem

TLS_MODES = ("imaps", "starttls", "plain")
DEFAULT_PORTS = {
    ("IMAP", "imaps"): 993,
    ("IMAP", "starttls"): 143,
    ("IMAP", "plain"): 143,
    ("SMTP", "imaps"): 465,
    ("SMTP", "starttls"): 587,
    ("SMTP", "plain"): 25,
}


class Secret:
    """A password that prints as '***'. Call `reveal()` only where it is handed to a server."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: Secret
    tls: str  # imaps | starttls | plain
    ca_file: str | None
    verify: bool = True  # certificate checks; off only by FEEDBACKD_*_TLS_VERIFY=no

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)


@dataclass(frozen=True)
class Settings:
    imap: Server
    smtp: Server
    address: str
    db: Path
    rules: Path
    templates: Path
    log_level: str = "INFO"
    smtp_rate: tuple[Rate, ...] = ()  # FEEDBACKD_SMTP_RATE: recipients per window; () no limit

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s.password.reveal() for s in (self.imap, self.smtp) if s.password.reveal())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(env: Mapping[str, str] | None = None, need_servers: bool = True) -> Settings:
    """Read FEEDBACKD_* variables; raise ConfigError naming the first bad variable.

    Without `env`: the process environment over the configuration folder's feedbackd.env.
    """
    if env is not None:
        return _settings(env, need_servers)
    found = environment()
    try:
        return _settings(found.values, need_servers)
    except ConfigError as exc:
        if found.unread is None:
            raise
        hint = Problem(
            str(found.config.env_file),
            None,
            f"was not read ({found.unread}): run the command as a user who may read it",
        )
        raise ConfigError([*exc.problems, hint]) from None


def _settings(env: Mapping[str, str], need_servers: bool) -> Settings:
    blank = Server("", 0, "", Secret(""), "plain", None)
    imap = _server(env, "IMAP") if need_servers else blank
    smtp = _server(env, "SMTP") if need_servers else blank
    address = env.get("FEEDBACKD_ADDRESS", "").strip().lower()
    if need_servers and ("@" not in address or " " in address):
        raise ConfigError(
            "FEEDBACKD_ADDRESS is not set to an email address: set it to the "
            "feedback address customers write to, e.g. feedback@company.example"
        )
    return Settings(
        imap=imap,
        smtp=smtp,
        address=address,
        db=store_path(env),
        rules=Path(rules_file(env=env)),
        templates=Path(templates_dir(env=env)),
        log_level=(env.get("FEEDBACKD_LOG_LEVEL") or "INFO").upper(),
        smtp_rate=smtp_rate(env),
    )


def smtp_rate(env: Mapping[str, str]) -> tuple[Rate, ...]:
    """FEEDBACKD_SMTP_RATE, e.g. `30/min,10000/day`: recipients (our own copy included) the
    submission server takes from this mailbox in any such window (docs/mailboxes.md)."""
    text = env.get("FEEDBACKD_SMTP_RATE", "")
    try:
        return parse_rates(text)
    except ValueError as exc:
        raise ConfigError(
            f"FEEDBACKD_SMTP_RATE={text!r} is not valid: {exc}; or unset it for no limit"
        ) from None


def rules_file(given: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The rule book to read: `--rules`, else FEEDBACKD_RULES, else the configuration folder's.

    Kept as the admin wrote it (not normalised), so messages name the file the same way.
    """
    if given:
        return given
    env = environment().values if env is None else env
    return env.get("FEEDBACKD_RULES") or str(config_dir(env).path / "rules.yaml")


def templates_dir(given: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The templates folder: `--templates`, else FEEDBACKD_TEMPLATES, else the folder's own."""
    if given:
        return given
    env = environment().values if env is None else env
    return env.get("FEEDBACKD_TEMPLATES") or str(config_dir(env).path / "templates")


def _server(env: Mapping[str, str], kind: str) -> Server:
    p = f"FEEDBACKD_{kind}_"
    host = env.get(p + "HOST", "").strip()
    if not host:
        raise ConfigError(f"{p}HOST is not set: set it to the {kind} server's host name")
    tls = (env.get(p + "TLS") or ("imaps" if kind == "IMAP" else "starttls")).strip().lower()
    if tls not in TLS_MODES:
        raise ConfigError(f"{p}TLS={tls!r} is not valid: set it to imaps, starttls or plain")
    if tls == "plain" and not is_loopback(host):
        raise ConfigError(
            f"{p}TLS=plain is refused for {host}: passwords would cross the "
            "network in clear; set imaps or starttls (plain is for loopback only)"
        )
    port_text = env.get(p + "PORT") or str(DEFAULT_PORTS[kind, tls])
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"{p}PORT={port_text!r} is not a port number: set 1..65535")
    user = env.get(p + "USER", "").strip()
    if not user:
        raise ConfigError(f"{p}USER is not set: set it to the {kind} login name")
    ca = env.get(p + "CA_FILE") or None
    if ca and not os.path.isfile(ca):
        raise ConfigError(f"{p}CA_FILE={ca} does not exist: point it at a PEM file or unset it")
    verify_text = (env.get(p + "TLS_VERIFY") or "yes").strip().lower()
    if verify_text not in ("yes", "no"):
        raise ConfigError(
            f"{p}TLS_VERIFY={verify_text!r} is not valid: set yes (the default) "
            "or no (accept any certificate: only for a test server)"
        )
    return Server(
        host, int(port_text), user, _password(env, p, kind), tls, ca, verify_text == "yes"
    )


def _password(env: Mapping[str, str], p: str, kind: str) -> Secret:
    if env.get(p + "PASSWORD"):
        return Secret(env[p + "PASSWORD"])
    path = env.get(p + "PASSWORD_FILE")
    if not path and env.get("CREDENTIALS_DIRECTORY"):  # systemd LoadCredential=
        cand = Path(env["CREDENTIALS_DIRECTORY"]) / f"{kind.lower()}-password"
        path = str(cand) if cand.exists() else None
    if not path:  # a command beside the service: the file the unit's LoadCredential= reads
        given = config_dir(env).credential(kind.lower())
        path = str(given) if given is not None and given.exists() else None
    if not path:
        where = config_dir(env).credential(kind.lower())
        raise ConfigError(
            f"{p}PASSWORD is not set: set {p}PASSWORD, or {p}PASSWORD_FILE to a "
            f"file holding it, or LoadCredential={kind.lower()}-password:… in the unit"
            + (f", or write it to {where}" if where is not None else "")
        )
    try:
        return Secret(Path(path).read_text(encoding="utf-8").rstrip("\r\n"))
    except OSError as exc:
        raise ConfigError(
            f"{p}PASSWORD_FILE={path} cannot be read ({exc.strerror}): "
            "fix the path or its permissions"
        ) from None
