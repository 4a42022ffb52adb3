"""Where to connect and with what secret: read from the environment, checked before anything runs.

Connection settings never live in rules.yaml (that file is business logic an admin edits and
shares). Which files and variables apply is found by `configdir` (the discovery order: --config,
FEEDBACKD_CONFIG_DIR, /etc/feedbackd, the packaged defaults; the folder's feedbackd.env beneath
the environment), so the service and every command read the same ones.

This is the one place every FEEDBACKD_* variable is read and checked (`VARIABLES` names them
all): the daemon, `feedbackd check` and `feedbackd doctor` use the same reader, so what `check`
passes is what the service starts with. Every problem names the variable and the values it
may take, all of them at once, and ends the process with exit 78 so systemd does not
restart-loop on a typo. A FEEDBACKD_* variable nobody reads (FEEDBACKD_IMAP_PROT) is a warning
with the name it was probably meant to be: a typo must not silently fall back to a default.
Passwords are wrapped in `Secret`, whose repr and str never show the value, so they cannot
leak through logs, reprs or tracebacks.

`FEEDBACKD_IMAP_AUTH` / `FEEDBACKD_SMTP_AUTH` choose between a password and OAuth2 (SASL
XOAUTH2, what Microsoft 365 and Gmail take); the OAuth2 client is read once (`OAuth2Settings`)
and shared by both logins, since one token serves IMAP and SMTP.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from daemon.adapters.configdir import (
    SYSTEM_DIR,
    Environment,
    config_dir,
    environment,
    store_path,
)
from daemon.adapters.storage.files import StorePaths
from daemon.core.sendrate import Rate, parse_rates
from daemon.errors import ConfigError, Problem

TLS_MODES = ("imaps", "starttls", "plain")
AUTH_MODES = ("password", "oauth2")
GRANTS = ("refresh_token", "client_credentials")
DEFAULT_PORTS = {
    ("IMAP", "imaps"): 993,
    ("IMAP", "starttls"): 143,
    ("IMAP", "plain"): 143,
    ("SMTP", "imaps"): 465,
    ("SMTP", "starttls"): 587,
    ("SMTP", "plain"): 25,
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
#: Seconds between cycles on a server without IDLE: the default, and the range allowed. The top
#: keeps two missed polls inside `feedbackd status`'s 10 minutes before "no recent poll".
POLL_INTERVAL = 30
POLL_RANGE = (1, 300)
#: Parallel SMTP connections a batch of mail is sent over: the default, and the range allowed.
#: Four keep a submission server busy between its replies; more send a backlog faster on a
#: fast server, but providers cap the connections one mailbox may hold open at once (over the
#: cap they refuse the login or answer 421), so more is the admin's choice (docs/mailboxes.md).
SMTP_CONNECTIONS = 4
SMTP_CONNECTIONS_RANGE = (1, 32)
PREFIX = "FEEDBACKD_"
_SERVER_KEYS = (
    "HOST",
    "PORT",
    "USER",
    "PASSWORD",
    "PASSWORD_FILE",
    "TLS",
    "CA_FILE",
    "TLS_VERIFY",
    "AUTH",
)
_OAUTH2_KEYS = (
    "TOKEN_URL",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CLIENT_SECRET_FILE",
    "GRANT",
    "REFRESH_TOKEN",
    "REFRESH_TOKEN_FILE",
    "SCOPE",
    "CA_FILE",
)
#: Every variable feedbackd reads. systemd/feedbackd.env.example documents each of them (a test
#: holds the two together); any other FEEDBACKD_* name is a warning.
VARIABLES: tuple[str, ...] = (
    *(f"{PREFIX}{kind}_{key}" for kind in ("IMAP", "SMTP") for key in _SERVER_KEYS),
    *(f"{PREFIX}OAUTH2_{key}" for key in _OAUTH2_KEYS),
    f"{PREFIX}ADDRESS",
    f"{PREFIX}POLL_INTERVAL",
    f"{PREFIX}SMTP_RATE",
    f"{PREFIX}SMTP_CONNECTIONS",
    f"{PREFIX}CONFIG_DIR",
    f"{PREFIX}DB",
    f"{PREFIX}RULES",
    f"{PREFIX}TEMPLATES",
    f"{PREFIX}LOG_LEVEL",
)


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
    auth: str = "password"  # password | oauth2 (FEEDBACKD_*_AUTH)
    oauth2: OAuth2Settings | None = None  # the client, when auth is oauth2

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)


@dataclass(frozen=True)
class OAuth2Settings:
    """The OAuth2 client both logins use (FEEDBACKD_OAUTH2_*). `refresh_token` is the one the
    admin configured ("" when `feedbackd oauth2 authorize` stored one instead); a rotated one
    lives in the state folder (adapters/oauth2), beside the store `db`."""

    token_url: str
    client_id: str
    client_secret: Secret
    grant: str  # refresh_token | client_credentials
    refresh_token: Secret
    scope: str
    ca_file: str | None
    db: Path

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(x.reveal() for x in (self.client_secret, self.refresh_token) if x.reveal())


@dataclass(frozen=True)
class Settings:
    imap: Server
    smtp: Server
    address: str
    db: Path
    rules: Path
    templates: Path
    log_level: str = "INFO"
    poll_interval: float = float(POLL_INTERVAL)  # seconds between cycles without IDLE
    warnings: tuple[str, ...] = field(default=(), compare=False)  # e.g. unknown variables
    smtp_rate: tuple[Rate, ...] = ()  # FEEDBACKD_SMTP_RATE: recipients per window; () no limit
    smtp_connections: int = SMTP_CONNECTIONS  # FEEDBACKD_SMTP_CONNECTIONS
    oauth2: OAuth2Settings | None = None  # set when either login is oauth2

    @property
    def secrets(self) -> tuple[str, ...]:
        found = [s.password.reveal() for s in (self.imap, self.smtp) if s.password.reveal()]
        return (*found, *(self.oauth2.secrets if self.oauth2 else ()))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(env: Mapping[str, str] | None = None, need_servers: bool = True) -> Settings:
    """Read FEEDBACKD_* variables; raise ConfigError naming every bad variable.

    Without `env`: the process environment over the configuration folder's feedbackd.env.
    `need_servers=False` is for the commands that only work on the store and the rules: the
    servers' variables are then not read at all.
    """
    if env is not None:
        return _settings(env, need_servers)
    found = environment()
    return _told_unread(found, lambda: _settings(found.values, need_servers))


def _told_unread(found: Environment, read: Callable[[], Settings]) -> Settings:
    """`read()`, its ConfigError completed with the env file it could not read (if any)."""
    try:
        return read()
    except ConfigError as exc:
        if found.unread is None:
            raise
        hint = Problem(
            str(found.config.env_file),
            None,
            f"was not read ({found.unread}): run the command as a user who may read it",
        )
        raise ConfigError([*exc.problems, hint]) from None


@dataclass(frozen=True)
class SettingsCheck:
    """What `feedbackd check` says about the settings: problems (exit 78) and warnings."""

    problems: list[Problem]
    warnings: list[str]
    settings: Settings | None  # None when there are problems


def check_settings(env: Mapping[str, str] | None = None) -> SettingsCheck:
    """The settings as the service would read them, for `check` and `doctor`: every problem at
    once, and warnings that do not stop the daemon.

    Two things differ from the service's own start, both because a shell is not the unit: a
    password that is not visible here is a warning when the service gets it as a systemd
    credential (the shell has no $CREDENTIALS_DIRECTORY), and a configuration that sets no
    server at all (the packaged defaults, a rules-only check) is a note, not a failure.
    """
    warnings: list[str] = []
    if env is None:
        found = environment()
        values: Mapping[str, str] = found.values
        if found.unread is not None:
            warnings.append(
                f"{found.config.env_file}: warning: was not read ({found.unread}): run the "
                "command as a user who may read it"
            )
    else:
        values = env
    warnings += unknown_variables(values)
    if not any(values.get(f"{PREFIX}{k}") for k in ("IMAP_HOST", "SMTP_HOST", "ADDRESS")):
        warnings.append(
            "settings: note: no mail servers are set (FEEDBACKD_IMAP_HOST, FEEDBACKD_SMTP_HOST, "
            "FEEDBACKD_ADDRESS); the daemon needs them: see feedbackd.env"
        )
        try:  # the rest is checked all the same (FEEDBACKD_POLL_INTERVAL, _LOG_LEVEL)
            _settings(values, need_servers=False)
        except ConfigError as exc:
            return SettingsCheck(exc.problems, warnings, None)
        return SettingsCheck([], warnings, None)
    shown = dict(values)
    folder = config_dir(values)
    for kind in ("IMAP", "SMTP"):
        p = f"{PREFIX}{kind}_"
        if _password_source(values, p, kind) is not None:
            continue
        shown[p + "PASSWORD"] = "(given to the service by systemd)"
        # The unit's LoadCredential= reads it from the configuration folder (/etc/feedbackd).
        name = f"{kind.lower()}-password"
        credential = folder.credential(name) or SYSTEM_DIR / name
        warnings.append(
            f"settings: warning: {p}PASSWORD is not set here; the service needs it, "
            f"from {p}PASSWORD, {p}PASSWORD_FILE or the systemd credential "
            f"{kind.lower()}-password (the unit loads it from {credential})"
        )
    try:
        settings = _settings(shown, need_servers=True)
    except ConfigError as exc:
        return SettingsCheck(exc.problems, warnings, None)
    return SettingsCheck([], warnings, settings)


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    """One warning per FEEDBACKD_* variable that feedbackd does not read, with the name it is
    closest to: a typo (FEEDBACKD_IMAP_PROT) would otherwise leave the default in force."""
    out = []
    for name in sorted(n for n in env if n.startswith(PREFIX) and n not in VARIABLES):
        # Compared without the prefix every name shares, or all would look alike.
        known = [v.removeprefix(PREFIX) for v in VARIABLES]
        close = difflib.get_close_matches(name.removeprefix(PREFIX), known, n=1, cutoff=0.75)
        meant = f": did you mean {PREFIX}{close[0]}?" if close else ": feedbackd does not read it"
        out.append(f"settings: warning: unknown variable {name}{meant}")
    return out


def _settings(env: Mapping[str, str], need_servers: bool) -> Settings:
    r = _Reader(env)
    blank = Server("", 0, "", Secret(""), "plain", None)
    imap = _server(r, "IMAP") if need_servers else blank
    smtp = _server(r, "SMTP") if need_servers else blank
    address = r.get("ADDRESS").lower()
    if need_servers and ("@" not in address or " " in address):
        r.problem(
            f"{PREFIX}ADDRESS is not set to an email address: set it to the "
            "feedback address customers write to, e.g. feedback@company.example",
        )
    level = r.choice("LOG_LEVEL", LOG_LEVELS, "INFO", upper=True)
    poll = r.number("POLL_INTERVAL", POLL_INTERVAL, POLL_RANGE, "seconds between polls")
    connections = r.number(
        "SMTP_CONNECTIONS", SMTP_CONNECTIONS, SMTP_CONNECTIONS_RANGE, "parallel SMTP connections"
    )
    rates: tuple[Rate, ...] = ()
    db = store_path(env)
    oauth2 = None
    try:
        rates = smtp_rate(env)
        if need_servers and "oauth2" in (imap.auth, smtp.auth):
            oauth2 = oauth2_settings(env, db)
            imap = replace(imap, oauth2=oauth2) if imap.auth == "oauth2" else imap
            smtp = replace(smtp, oauth2=oauth2) if smtp.auth == "oauth2" else smtp
    except ConfigError as exc:
        r.problems += exc.problems
    if r.problems:
        raise ConfigError(r.problems)
    return Settings(
        imap=imap,
        smtp=smtp,
        address=address,
        db=db,
        rules=Path(rules_file(env=env)),
        templates=Path(templates_dir(env=env)),
        log_level=level,
        poll_interval=float(poll),
        warnings=tuple(unknown_variables(env)),
        smtp_rate=rates,
        smtp_connections=connections,
        oauth2=oauth2,
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


def oauth2_settings(
    env: Mapping[str, str], db: Path, need_refresh_token: bool = True
) -> OAuth2Settings:
    """The FEEDBACKD_OAUTH2_* client; ConfigError naming the variable and what to set.

    `need_refresh_token=False` for `feedbackd oauth2 authorize`, which obtains the first one."""
    p = "FEEDBACKD_OAUTH2_"
    url = env.get(p + "TOKEN_URL", "").strip()
    if not url:
        raise ConfigError(
            f"{p}TOKEN_URL is not set: set it to the token endpoint, e.g. "
            "https://login.microsoftonline.com/TENANT/oauth2/v2.0/token or "
            "https://oauth2.googleapis.com/token"
        )
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"{p}TOKEN_URL={url} is not an https:// URL: tokens and secrets must not cross "
            "the network in clear; set the endpoint's https:// address"
        )
    client_id = env.get(p + "CLIENT_ID", "").strip()
    if not client_id:
        raise ConfigError(
            f"{p}CLIENT_ID is not set: set it to the application (client) id of the app "
            "registered at the provider"
        )
    grant = (env.get(p + "GRANT") or "refresh_token").strip().lower()
    if grant not in GRANTS:
        raise ConfigError(
            f"{p}GRANT={grant!r} is not valid: set refresh_token (the default; a user's "
            "consent, see `feedbackd oauth2 authorize`) or client_credentials"
        )
    secret = _secret(env, p + "CLIENT_SECRET", "oauth2-client-secret", required=False)
    if grant == "client_credentials" and not secret.reveal():
        raise ConfigError(
            f"{p}CLIENT_SECRET is not set: the client_credentials grant needs the client "
            f"secret; set {p}CLIENT_SECRET or {p}CLIENT_SECRET_FILE"
        )
    refresh = Secret("")
    if grant == "refresh_token":
        refresh = _secret(env, p + "REFRESH_TOKEN", "oauth2-refresh-token", required=False)
        missing = not refresh.reveal() and not StorePaths(db).oauth2.exists()
        if missing and need_refresh_token:
            raise ConfigError(
                f"{p}REFRESH_TOKEN is not set: run `feedbackd oauth2 authorize` once to obtain "
                f"and keep one, or set {p}REFRESH_TOKEN or {p}REFRESH_TOKEN_FILE"
            )
    scope = " ".join(env.get(p + "SCOPE", "").split())
    if grant == "client_credentials" and not scope:
        raise ConfigError(
            f"{p}SCOPE is not set: the client_credentials grant needs it, e.g. "
            "https://outlook.office365.com/.default for Microsoft 365"
        )
    ca = env.get(p + "CA_FILE") or None
    if ca and not os.path.isfile(ca):
        raise ConfigError(f"{p}CA_FILE={ca} does not exist: point it at a PEM file or unset it")
    return OAuth2Settings(url, client_id, secret, grant, refresh, scope, ca, db)


def _secret_source(env: Mapping[str, str], var: str, credential: str) -> str | None:
    """Where the secret VAR comes from: VAR itself, the file VAR_FILE names, systemd's
    credential `credential`, or — for a command beside the service, `--instance` too — the file
    the unit's LoadCredential= reads it from; None when nowhere."""
    if env.get(var):
        return var
    if env.get(var + "_FILE"):
        return env[var + "_FILE"]
    if env.get("CREDENTIALS_DIRECTORY"):  # systemd LoadCredential=
        cand = Path(env["CREDENTIALS_DIRECTORY"]) / credential
        if cand.exists():
            return str(cand)
    given = config_dir(env).credential(credential)
    if given is not None and given.exists():
        return str(given)
    return None


def _secret(env: Mapping[str, str], var: str, credential: str, required: bool = True) -> Secret:
    """A password or an OAuth2 secret (`_secret_source` says from where); "" when it is not
    required and set nowhere."""
    if env.get(var):
        return Secret(env[var])
    path = _secret_source(env, var, credential)
    if not path:
        if not required:
            return Secret("")
        where = config_dir(env).credential(credential)
        raise ConfigError(
            f"{var} is not set: set {var}, or {var}_FILE to a "
            f"file holding it, or LoadCredential={credential}:… in the unit"
            + (f", or write it to {where}" if where is not None else "")
        )
    try:
        return Secret(Path(path).read_text(encoding="utf-8").rstrip("\r\n"))
    except OSError as exc:
        raise ConfigError(
            f"{var}_FILE={path} cannot be read ({exc.strerror}): fix the path or its permissions"
        ) from None


class _Reader:
    """Reads FEEDBACKD_* variables and collects every problem, so all are told at once."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.problems: list[Problem] = []

    def problem(self, message: str) -> None:
        """`message` names the variable and what to set."""
        self.problems.append(Problem("settings", None, message))

    def get(self, key: str) -> str:
        return self.env.get(PREFIX + key, "").strip()

    def choice(
        self, key: str, allowed: tuple[str, ...], default: str, upper: bool = False, hint: str = ""
    ) -> str:
        """One of `allowed` (compared without case); the default when unset or wrong. `hint`
        says what each value means, where the names alone do not."""
        text = self.get(key) or default
        value = text.upper() if upper else text.lower()
        if value in allowed:
            return value
        shown = hint or "set " + ", ".join(a.lower() for a in allowed[:-1])
        if not hint:
            shown += f" or {allowed[-1].lower()}"
        self.problem(f"{PREFIX}{key}={text!r} is not valid: {shown}")
        return default

    def number(self, key: str, default: int, bounds: tuple[int, int], what: str) -> int:
        """A whole number within `bounds`; the default when unset or wrong."""
        text = self.get(key)
        if not text:
            return default
        low, high = bounds
        if not text.isdigit() or not low <= int(text) <= high:
            self.problem(
                f"{PREFIX}{key}={text!r} is not valid: set {what}, a whole number from "
                f"{low} to {high} (default {default})",
            )
            return default
        return int(text)


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


def _server(r: _Reader, kind: str) -> Server:
    k = f"{kind}_"
    p = PREFIX + k
    host = r.get(k + "HOST")
    if not host:
        r.problem(f"{p}HOST is not set: set it to the {kind} server's host name")
    elif "://" in host or "/" in host or " " in host:
        r.problem(
            f"{p}HOST={host!r} is not a host name: write the name only "
            "(mail.example.com), the port and TLS have their own settings",
        )
    tls = r.choice(
        k + "TLS",
        TLS_MODES,
        "imaps" if kind == "IMAP" else "starttls",
        hint="set imaps (TLS from the first byte; what 'ssl' means elsewhere), starttls "
        "(a plain connection upgraded to TLS) or plain (loopback only)",
    )
    if tls == "plain" and host and not is_loopback(host):
        r.problem(
            f"{p}TLS=plain is refused for {host}: passwords would cross the "
            "network in clear; set imaps or starttls (plain is for loopback only)",
        )
    port = r.number(k + "PORT", DEFAULT_PORTS[kind, tls], (1, 65535), "a port number")
    user = r.get(k + "USER")
    if not user:
        r.problem(f"{p}USER is not set: set it to the {kind} login name")
    ca = r.get(k + "CA_FILE") or None
    if ca and not os.path.isfile(ca):
        r.problem(f"{p}CA_FILE={ca} does not exist: point it at a PEM file or unset it")
    verify = r.choice(
        k + "TLS_VERIFY",
        ("yes", "no"),
        "yes",
        hint="set yes (the default) or no (accept any certificate: only for a test server)",
    )
    auth = r.choice(
        k + "AUTH",
        AUTH_MODES,
        "password",
        hint="set password (the default) or oauth2 (Microsoft 365, Google Workspace; see "
        "docs/mailboxes.md)",
    )
    password = Secret("")
    if auth == "password":
        try:
            password = _password(r.env, p, kind)
        except ConfigError as exc:
            r.problems += exc.problems
    return Server(host, port, user, password, tls, ca, verify == "yes", auth)


def _password_source(env: Mapping[str, str], p: str, kind: str) -> str | None:
    """Where the password comes from: the variable, a file, the systemd credential, the file
    the unit's credential is read from, or None."""
    return _secret_source(env, p + "PASSWORD", f"{kind.lower()}-password")


def _password(env: Mapping[str, str], p: str, kind: str) -> Secret:
    return _secret(env, p + "PASSWORD", f"{kind.lower()}-password")
